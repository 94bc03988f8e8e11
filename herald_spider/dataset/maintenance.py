"""Changes that replace files: compaction and rewriting the rows of refreshed articles.

Both run under the dataset lock and produce a new table version swapped in atomically
(:mod:`herald_spider.dataset.tables`), so the ``articles`` table always holds one row per article.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from herald_spider.dataset.files import file_batches, parquet_files, write_batches
from herald_spider.dataset.schema import ARTICLES, SCHEMA_VERSION, TABLES, to_table
from herald_spider.dataset.tables import DEFAULT_GRACE_SECONDS, ensure_table, keep, replace_version, snapshot

logger = logging.getLogger(__name__)

#: Rows per compacted file and at most per row group (a row group also holds at most
#: ``files.ROW_GROUP_BYTES``): large enough for fast scans, small enough that a reader's memory
#: stays bounded.
COMPACT_FILE_ROWS = 1_000_000
COMPACT_ROW_GROUP_ROWS = 100_000
#: Key columns are read in larger batches than rows: they are small.
_KEY_BATCH_BYTES = 8 << 20
_VERSION_KEY = b"herald_spider.schema_version"

Progress = Callable[[int], None]


def file_schema_version(path: Path) -> str | None:
    metadata = pq.read_schema(path).metadata or {}
    value = metadata.get(_VERSION_KEY)
    return value.decode() if value else None


def needs_compaction(dataset_dir: Path, table: str, max_files: int) -> bool:
    """More than ``max_files`` files, or a file written with an older schema version."""
    files = parquet_files(snapshot(dataset_dir / table))
    return len(files) > max_files or any(file_schema_version(p) != SCHEMA_VERSION for p in files)


def table_rows(files: Iterable[Path]) -> int:
    """The rows of ``files``, from their footers."""
    return sum(pq.ParquetFile(path).metadata.num_rows for path in files)


def _winners(files: list[Path], schema: pa.Schema, keys: tuple[str, ...], progress: Progress | None) -> Any:
    """The positions (in file order, then row order) of the last row of each key, ascending.

    Only the key columns are read, and the last row of each key is found by a stable sort of
    the keys (a run of equal keys ends with its last row): the keys, their positions and one
    sorted copy, for a million articles about 120 MB less at the peak than the hash
    aggregation this replaced.
    """
    parts = []
    for path in files:
        for batch in file_batches(path, schema, keys, batch_bytes=_KEY_BATCH_BYTES):
            parts.append(batch)
            if progress:
                progress(batch.num_rows)
    if not parts:
        return np.empty(0, np.int64)
    table = pa.Table.from_batches(parts, schema=parts[0].schema)
    del parts
    order = pc.sort_indices(table, sort_keys=[(k, "ascending") for k in keys])  # stable
    ordered = table.take(order).combine_chunks()
    del table
    # The last row of a run of equal keys: the next sorted row differs in a key, or there is
    # none. Two nulls are the same key, as in a group-by.
    last = np.zeros(len(order), bool)
    last[-1] = True
    for key in keys:
        column = ordered.column(key)
        head, tail = column.slice(0, len(order) - 1), column.slice(1)
        same = pc.or_kleene(pc.equal(head, tail), pc.and_(pc.is_null(head), pc.is_null(tail)))
        last[:-1] |= ~pc.fill_null(same, False).to_numpy(zero_copy_only=False)
    return np.sort(order.to_numpy()[last])


def _kept(
    files: list[Path], schema: pa.Schema, winners: Any, progress: Progress | None
) -> Iterator[pa.RecordBatch]:
    """The rows of ``files`` whose position is in ``winners`` (every row when it is None), a
    bounded batch at a time."""
    offset = 0
    for path in files:
        for batch in file_batches(path, schema):
            end = offset + batch.num_rows
            if winners is None:
                yield batch
            else:
                lo, hi = np.searchsorted(winners, [offset, end])
                if hi - lo == batch.num_rows:
                    yield batch
                elif hi > lo:
                    yield batch.take(pa.array(winners[lo:hi] - offset))
            offset = end
            if progress:
                progress(batch.num_rows)


class _Chunks:
    """A stream of batches cut into runs of at most ``limit`` rows (one output file each)."""

    def __init__(self, batches: Iterator[pa.RecordBatch]) -> None:
        self.batches = batches
        self.head: pa.RecordBatch | None = None

    def more(self) -> bool:
        while self.head is None or not self.head.num_rows:
            self.head = next(self.batches, None)
            if self.head is None:
                return False
        return True

    def take(self, limit: int) -> Iterator[pa.RecordBatch]:
        left = limit
        while left and self.more():
            assert self.head is not None
            batch, self.head = self.head.slice(0, left), self.head.slice(left)
            left -= batch.num_rows
            yield batch


@dataclass(frozen=True)
class Compacted:
    table: str
    files_before: int
    files_after: int
    rows_before: int
    rows_after: int


def compaction_work(dataset_dir: Path, table: str) -> int:
    """How many rows :func:`compact_table` reads (the ``progress`` total): a keyed table is read
    twice, its keys then its rows."""
    rows = table_rows(parquet_files(snapshot(dataset_dir / table)))
    return rows * 2 if TABLES[table][1] else rows


def compact_table(
    dataset_dir: Path,
    table: str,
    *,
    file_rows: int = COMPACT_FILE_ROWS,
    grace: float = DEFAULT_GRACE_SECONDS,
    progress: Progress | None = None,
) -> Compacted:
    """Rewrite a table's files into few large zstd files with one row per key; swap atomically.

    Streams: a first pass reads only the key columns and finds the last row of each key (in
    file order, then row order); a second reads each file a bounded batch at a time and writes
    the rows that won through one writer per output file, a row group of bounded bytes at a
    time. A table without a key is copied batch by batch. Memory is bounded by the keys, not by
    the rows. ``progress(n)`` is called with the rows of each batch read
    (:func:`compaction_work` is the total).
    """
    schema, keys = TABLES[table]
    ensure_table(dataset_dir, table)
    result: dict[str, int] = {}

    def build(current: Path, new: Path) -> None:
        files = parquet_files(current)
        winners = _winners(files, schema, keys, progress) if keys else None
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        chunks = _Chunks(_kept(files, schema, winners, progress))
        written = rows = 0
        while chunks.more():
            written += 1
            rows += write_batches(
                new,
                chunks.take(file_rows),
                schema,
                f"compact-{stamp}-{written:05d}",
                row_group_rows=COMPACT_ROW_GROUP_ROWS,
            )[1]
        result.update(files_before=len(files), files_after=written, rows_before=table_rows(files))
        result["rows_after"] = rows

    replace_version(dataset_dir, table, build, grace=grace)
    done = Compacted(table, **result)
    logger.info(
        "Compacted %s: %d files (%d rows) into %d files (%d rows)",
        table,
        done.files_before,
        done.rows_before,
        done.files_after,
        done.rows_after,
    )
    return done


# --- refreshed articles -----------------------------------------------------------------


def _changed(stored: Mapping[str, Any], fetched: Mapping[str, Any]) -> bool:
    return bool(
        stored.get("content_hash") != fetched.get("content_hash")
        or stored.get("updated_at") != fetched.get("updated_at")
    )


@dataclass
class Refreshed:
    """What applying a crawl's refetched articles did."""

    revised: list[dict[str, Any]]
    unchanged: int
    #: Stored versions that were not yet in ``article_revisions`` (rows of schema version 1).
    earlier: list[dict[str, Any]]


def merge_refetched(stored: Mapping[str, Any], fetched: Mapping[str, Any]) -> tuple[dict[str, Any], bool]:
    """The row to keep for an article fetched again, and whether its content changed.

    >>> from datetime import datetime, timezone
    >>> t0, t1 = datetime(2025, 1, 1, tzinfo=timezone.utc), datetime(2025, 1, 2, tzinfo=timezone.utc)
    >>> old = {"article_id": "A", "content_hash": "h1", "updated_at": None, "revision": 1,
    ...        "first_seen_at": t0, "last_seen_at": t0, "fetched_at": t0}
    >>> row, changed = merge_refetched(old, {**old, "fetched_at": t1})
    >>> changed, row["revision"], row["last_seen_at"] == t1, row["fetched_at"] == t0
    (False, 1, True, True)
    >>> row, changed = merge_refetched(old, {**old, "content_hash": "h2", "fetched_at": t1})
    >>> changed, row["revision"], row["first_seen_at"] == t0, row["fetched_at"] == t1
    (True, 2, True, True)
    """
    first_seen = stored.get("first_seen_at") or stored.get("fetched_at")
    revision = stored.get("revision") or 1
    if _changed(stored, fetched):
        row = dict(fetched)
        row.update(revision=revision + 1, first_seen_at=first_seen, last_seen_at=fetched.get("fetched_at"))
        return row, True
    row = dict(stored)
    row.update(revision=revision, first_seen_at=first_seen, last_seen_at=fetched.get("fetched_at"))
    return row, False


def apply_refetched(
    dataset_dir: Path, fetched: Mapping[str, Mapping[str, Any]], *, grace: float = DEFAULT_GRACE_SECONDS
) -> Refreshed:
    """Replace the stored rows of refetched articles in place, in one atomic version swap.

    Only the files holding those articles are rewritten (same names, so a reader that listed
    the old version still finds them); every other file is hard-linked into the new version.
    A file is rewritten a bounded batch at a time, and only the refetched rows of a batch become
    Python objects, so memory does not grow with the size of the file.
    """
    outcome = Refreshed(revised=[], unchanged=0, earlier=[])
    if not fetched:
        return outcome
    wanted = pa.array(list(fetched), pa.string())

    def build(current: Path, new: Path) -> None:
        for path in parquet_files(current):
            if not _holds_any(path, wanted):
                keep(path, new)
                continue
            batches = (_rewrite(batch, wanted, fetched, outcome) for batch in file_batches(path, ARTICLES))
            write_batches(new, batches, ARTICLES, path.stem, row_group_rows=COMPACT_ROW_GROUP_ROWS)

    replace_version(dataset_dir, "articles", build, grace=grace)
    return outcome


def _holds_any(path: Path, wanted: pa.Array) -> bool:
    for batch in file_batches(path, ARTICLES, ["article_id"], batch_bytes=_KEY_BATCH_BYTES):
        if pc.any(pc.is_in(batch.column(0), value_set=wanted)).as_py():
            return True
    return False


def _rewrite(
    batch: pa.RecordBatch, wanted: pa.Array, fetched: Mapping[str, Mapping[str, Any]], outcome: Refreshed
) -> pa.RecordBatch:
    """``batch`` with its rows of refetched articles merged with what was fetched (same order)."""
    hits = pc.fill_null(pc.is_in(batch.column("article_id"), value_set=wanted), False).to_numpy(
        zero_copy_only=False
    )
    if not hits.any():
        return batch
    positions = np.flatnonzero(hits)
    merged = []
    for row in batch.take(pa.array(positions)).to_pylist():
        new = fetched[row["article_id"]]
        row_now, changed = merge_refetched(row, new)
        if changed:
            outcome.revised.append(row_now)
            if row.get("revision") is None:
                outcome.earlier.append({**row, "revision": 1, "first_seen_at": row_now["first_seen_at"]})
        else:
            outcome.unchanged += 1
        merged.append(row_now)
    others = np.flatnonzero(~hits)
    combined = pa.concat_tables([pa.Table.from_batches([batch.take(pa.array(others))]), to_table(merged)])
    order = np.argsort(np.concatenate([others, positions]), kind="stable")
    return combined.take(pa.array(order)).combine_chunks().to_batches()[0]
