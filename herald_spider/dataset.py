"""The Parquet dataset on disk: which article IDs it holds, and atomic writes of new files.

Layout: ``<HERALD_DATASET_DIR>/articles/part-<crawl_id>-<seq>.parquet``, flat (no hive
directories, so no reader turns a partition key into a column of another type). A file is
written under a hidden temporary name and renamed into place, so a reader never sees a
half-written file; readers skip names that start with ``.``.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from herald_spider.schema import ARTICLES
from herald_spider.tables import fsync_dir

ARTICLES_DIR = "articles"
COMPRESSION = "zstd"


def new_crawl_id(now: datetime | None = None) -> str:
    """A sortable, unique crawl ID: UTC start time plus a random suffix.

    >>> new_crawl_id(datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC))[:17]
    '20260102T030405Z-'
    """
    now = now or datetime.now(UTC)
    return f"{now.astimezone(UTC):%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}"


def parquet_files(table_dir: Path) -> list[Path]:
    """The visible Parquet files of a table directory, sorted by name."""
    if not table_dir.is_dir():
        return []
    return sorted(p for p in table_dir.glob("*.parquet") if not p.name.startswith((".", "_")))


def write_table(table_dir: Path, table: pa.Table, name: str, *, row_group_size: int = 50_000) -> Path:
    """Write ``table`` as ``<table_dir>/<name>.parquet`` through a temporary file and a rename."""
    table_dir.mkdir(parents=True, exist_ok=True)
    final = table_dir / f"{name}.parquet"
    temporary = table_dir / f".{name}.parquet.tmp"
    pq.write_table(
        table,
        temporary,
        compression=COMPRESSION,
        row_group_size=row_group_size,
        use_dictionary=["section", "subsection", "section_path", "distributor", "crawl_id"],
    )
    with open(temporary, "rb") as handle:
        os.fsync(handle.fileno())
    os.replace(temporary, final)
    fsync_dir(table_dir)
    return final


def remove_stale_temporaries(table_dir: Path) -> list[Path]:
    """Delete temporary files a killed writer left behind; return what was removed."""
    removed = []
    for path in table_dir.glob(".*.parquet.tmp") if table_dir.is_dir() else []:
        path.unlink(missing_ok=True)
        removed.append(path)
    return removed


def read_articles(dataset_dir: Path, columns: Iterable[str] | None = None) -> pa.Table:
    """The whole ``articles`` table with the declared schema (for tests and tools).

    Reads the version the table's symlink points at now, so a swap while reading changes nothing.
    """
    files = parquet_files((dataset_dir / ARTICLES_DIR).resolve())
    if not files:
        return ARTICLES.empty_table()
    dataset = ds.dataset([str(p) for p in files], schema=ARTICLES, format="parquet")
    return dataset.to_table(columns=list(columns) if columns else None)


class RowBuffer:
    """Rows bound for one table: held as Arrow chunks, written as one file per batch.

    Python objects cost several times their Arrow size, so every ``chunk_rows`` rows move
    into Arrow; a file ``part-<crawl_id>-<seq>.parquet`` is written every ``batch_rows`` rows
    and on :meth:`flush`, so a long crawl holds at most one batch. Rows are held as columns
    until then: one list per column, not one dict per row.
    """

    def __init__(
        self, table_dir: Path, schema: pa.Schema, crawl_id: str, batch_rows: int, chunk_rows: int = 500
    ) -> None:
        self.table_dir = table_dir
        self.schema = schema
        self.crawl_id = crawl_id
        self.batch_rows = max(1, batch_rows)
        self.chunk_rows = max(1, min(chunk_rows, self.batch_rows))
        self.columns: dict[str, list[Any]] = {name: [] for name in schema.names}
        self.pending = 0  # rows in self.columns
        self.chunks: list[pa.Table] = []
        self.buffered = 0
        self.sequence = 0

    def __len__(self) -> int:
        return self.buffered

    def append(self, row: Mapping[str, Any]) -> tuple[Path, int] | None:
        """Buffer a row (keys not in the schema are ignored); when a batch is full, write it
        and return (file, rows)."""
        for name, column in self.columns.items():
            column.append(row.get(name))
        return self._added(1)

    def extend(self, rows: int, columns: Mapping[str, list[Any]]) -> list[tuple[Path, int]]:
        """Buffer ``rows`` rows given as columns (a column left out is null); return the
        batches this wrote, as :meth:`append` does."""
        written = []
        start = 0
        while start < rows:
            take = min(rows - start, self.batch_rows - self.buffered)
            for name, column in self.columns.items():
                values = columns.get(name)
                column.extend(values[start : start + take] if values is not None else [None] * take)
            start += take
            if (batch := self._added(take)) is not None:
                written.append(batch)
        return written

    def _added(self, rows: int) -> tuple[Path, int] | None:
        self.pending += rows
        self.buffered += rows
        if self.pending >= self.chunk_rows:
            self._to_arrow()
        return self.flush() if self.buffered >= self.batch_rows else None

    def _to_arrow(self) -> None:
        self.chunks.append(pa.Table.from_pydict(self.columns, schema=self.schema))
        self.columns = {name: [] for name in self.schema.names}
        self.pending = 0

    def flush(self) -> tuple[Path, int] | None:
        """Write what is buffered as one file; None when nothing is."""
        if not self.buffered:
            return None
        if self.pending:
            self._to_arrow()
        table = pa.concat_tables(self.chunks) if len(self.chunks) > 1 else self.chunks[0]
        self.sequence += 1
        path = write_table(self.table_dir, table, f"part-{self.crawl_id}-{self.sequence:05d}")
        self.chunks, self.buffered = [], 0
        return path, table.num_rows
