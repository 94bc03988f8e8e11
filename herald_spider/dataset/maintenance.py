"""Changes that replace files: compaction and rewriting the rows of refreshed articles.

Both run under the dataset lock and produce a new table version swapped in atomically
(:mod:`herald_spider.dataset.tables`), so the ``articles`` table always holds one row per article.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from herald_spider.dataset.files import parquet_files, write_table
from herald_spider.dataset.schema import SCHEMA_VERSION, TABLES, to_table
from herald_spider.dataset.tables import DEFAULT_GRACE_SECONDS, ensure_table, keep, replace_version, snapshot

logger = logging.getLogger(__name__)

#: Rows per compacted file and per row group: large enough for fast scans, small enough that
#: a reader's memory stays bounded.
COMPACT_FILE_ROWS = 1_000_000
COMPACT_ROW_GROUP_ROWS = 100_000
_VERSION_KEY = b"herald_spider.schema_version"

Progress = Callable[[int], None]


def read_table(
    table_dir: Path, table: str, files: list[Path] | None = None, columns: list[str] | None = None
) -> pa.Table:
    """Every row of a table (or of ``files``) with its declared schema; missing columns are null."""
    schema = TABLES[table][0]
    files = parquet_files(snapshot(table_dir)) if files is None else files
    if not files:
        empty = schema.empty_table()
        return empty.select(columns) if columns else empty
    return ds.dataset([str(p) for p in files], schema=schema, format="parquet").to_table(columns=columns)


def file_schema_version(path: Path) -> str | None:
    metadata = pq.read_schema(path).metadata or {}
    value = metadata.get(_VERSION_KEY)
    return value.decode() if value else None


def needs_compaction(dataset_dir: Path, table: str, max_files: int) -> bool:
    """More than ``max_files`` files, or a file written with an older schema version."""
    files = parquet_files(snapshot(dataset_dir / table))
    return len(files) > max_files or any(file_schema_version(p) != SCHEMA_VERSION for p in files)


def _last_per_key(table: pa.Table, keys: tuple[str, ...]) -> pa.Table:
    """One row per key, the last one in file order (files sort oldest first)."""
    if not keys or table.num_rows == 0:
        return table
    indexed = table.append_column("__row", pa.array(range(table.num_rows), pa.int64()))
    last = indexed.group_by(list(keys), use_threads=False).aggregate([("__row", "max")])
    rows = last["__row_max"]
    return table.take(pc.take(rows, pc.sort_indices(rows)))


@dataclass(frozen=True)
class Compacted:
    table: str
    files_before: int
    files_after: int
    rows_before: int
    rows_after: int


def compact_table(
    dataset_dir: Path,
    table: str,
    *,
    file_rows: int = COMPACT_FILE_ROWS,
    grace: float = DEFAULT_GRACE_SECONDS,
    progress: Progress | None = None,
) -> Compacted:
    """Rewrite a table's files into few large zstd files with one row per key; swap atomically.

    ``progress(n)`` is called after each input file is read and each output file written.
    """
    schema, keys = TABLES[table]
    ensure_table(dataset_dir, table)
    result: dict[str, int] = {}

    def build(current: Path, new: Path) -> None:
        files = parquet_files(current)
        parts = []
        for path in files:
            parts.append(read_table(current, table, [path]))
            if progress:
                progress(1)
        merged = pa.concat_tables(parts) if parts else schema.empty_table()
        rows = _last_per_key(merged, keys)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        written = 0
        for offset in range(0, rows.num_rows, file_rows):
            written += 1
            chunk = rows.slice(offset, file_rows)
            write_table(new, chunk, f"compact-{stamp}-{written:05d}", row_group_size=COMPACT_ROW_GROUP_ROWS)
            if progress:
                progress(1)
        result.update(files_before=len(files), files_after=written, rows_before=merged.num_rows)
        result["rows_after"] = rows.num_rows

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
    """
    outcome = Refreshed(revised=[], unchanged=0, earlier=[])
    if not fetched:
        return outcome
    wanted = pa.array(list(fetched), pa.string())

    def build(current: Path, new: Path) -> None:
        for path in parquet_files(current):
            ids = pq.read_table(path, columns=["article_id"])["article_id"]
            if not pc.any(pc.is_in(ids, value_set=wanted)).as_py():
                keep(path, new)
                continue
            rows = read_table(current, "articles", [path]).to_pylist()
            write_table(new, to_table(_rewrite(rows, fetched, outcome)), path.stem)

    replace_version(dataset_dir, "articles", build, grace=grace)
    return outcome


def _rewrite(
    rows: Iterable[dict[str, Any]], fetched: Mapping[str, Mapping[str, Any]], outcome: Refreshed
) -> list[dict[str, Any]]:
    kept = []
    for row in rows:
        new = fetched.get(row["article_id"])
        if new is None:
            kept.append(row)
            continue
        merged, changed = merge_refetched(row, new)
        if changed:
            outcome.revised.append(merged)
            if row.get("revision") is None:
                outcome.earlier.append({**row, "revision": 1, "first_seen_at": merged["first_seen_at"]})
        else:
            outcome.unchanged += 1
        kept.append(merged)
    return kept
