"""The Parquet dataset on disk: which article IDs it holds, and atomic writes of new files.

Layout: ``<HERALD_DATASET_DIR>/articles/part-<crawl_id>-<seq>.parquet``, flat (no hive
directories, so no reader turns a partition key into a column of another type). A file is
written under a hidden temporary name and renamed into place, so a reader never sees a
half-written file; readers skip names that start with ``.``.
"""

from __future__ import annotations

import contextlib
import errno
import os
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from herald_spider.dataset.schema import TABLES
from herald_spider.dataset.tables import fsync_dir, is_table_file, snapshot

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
    return sorted(p for p in table_dir.glob("*.parquet") if is_table_file(p))


#: How every Parquet file of the dataset is written. Dictionary encoding for the columns
#: that repeat a few values: in ``links``, ``from_url`` is the same for all of a page's rows,
#: which also makes those files smaller and quicker to write than plain strings compressed.
WRITE_OPTIONS: dict[str, Any] = {
    "compression": COMPRESSION,
    "use_dictionary": [
        # articles (crawl_id: every table)
        "section",
        "subsection",
        "section_path",
        "distributor",
        "crawl_id",
        # links
        "from_url",
        "kind",
    ],
}


#: The allocator a crawl's row groups are encoded with: the C library's. pyarrow's default
#: (mimalloc in its Linux wheels) kept the transient buffers of every row group it encoded,
#: and a crawl encodes one every few thousand rows: at 20 000 articles the crawl peaked 16 to
#: 20 MB higher with it (257 and 261 MB against 241 twice), for the same CPU time.
CRAWL_MEMORY_POOL = pa.system_memory_pool()


def tool_memory_pool() -> pa.MemoryPool:
    """The allocator ``herald-dataset`` reads and rewrites tables with: jemalloc where pyarrow
    has it.

    It gives freed memory back to the system, where pyarrow's default (mimalloc in its Linux
    wheels) kept what every row group read had used: in the runs at 1 000 000 articles
    (``benchmarks/dataset.py``) ``compact`` peaked at 325 to 375 MB with it against 384 to 385
    without, ``validate`` at 292 to 316 against 328. An ``ARROW_DEFAULT_MEMORY_POOL`` set in the
    environment is left to decide.
    """
    if os.environ.get("ARROW_DEFAULT_MEMORY_POOL"):
        return pa.default_memory_pool()
    try:
        return pa.jemalloc_memory_pool()
    except NotImplementedError:  # a build without jemalloc
        return pa.default_memory_pool()


class WriteFailed(OSError):
    """A file of the dataset could not be written (no space, read-only, gone): what it held is
    not stored, and nothing that was stored before is touched."""

    def __init__(self, path: Path, rows: int, cause: OSError) -> None:
        super().__init__(cause.errno, f"Could not write {path} ({rows} rows): {cause.strerror or cause}")
        self.path = path
        self.rows = rows

    def __str__(self) -> str:
        return str(self.strerror)  # the sentence, without OSError's "[Errno 28]" in front


def write_table(table_dir: Path, table: pa.Table, name: str, *, row_group_size: int = 50_000) -> Path:
    """Write ``table`` as ``<table_dir>/<name>.parquet`` through a temporary file and a rename."""
    rows = table.num_rows
    return _write(table_dir, name, lambda: rows, lambda handle: _parquet(handle, table, row_group_size))


def _parquet(handle: Any, table: pa.Table, row_group_size: int) -> None:
    pq.write_table(table, handle, row_group_size=row_group_size, **WRITE_OPTIONS)


def write_bytes(table_dir: Path, data: Any, name: str, rows: int = 0) -> Path:
    """Write a whole Parquet file already encoded in memory, as :func:`write_table` does."""
    return _write(table_dir, name, lambda: rows, lambda handle: handle.write(data))


#: A row group written from a stream of batches holds about this many bytes of decoded rows at
#: most (and at most ``row_group_rows`` rows): 100 000 rows of 3 KB bodies would be 300 MB.
ROW_GROUP_BYTES = 32 << 20


def write_batches(
    table_dir: Path,
    batches: Iterable[pa.RecordBatch],
    schema: pa.Schema,
    name: str,
    *,
    row_group_rows: int = 100_000,
    row_group_bytes: int | None = None,
) -> tuple[Path, int]:
    """Write a stream of batches of ``schema`` as one file, as :func:`write_table` does; return
    the file and its rows.

    Only one row group's batches are held at a time: a group is written when it reaches
    ``row_group_rows`` rows or ``row_group_bytes`` bytes (:data:`ROW_GROUP_BYTES`), so memory
    stays bounded whatever the size of the file.
    """
    written = [0]
    group_bytes = row_group_bytes or ROW_GROUP_BYTES

    def fill(handle: Any) -> None:
        with pq.ParquetWriter(handle, schema, **WRITE_OPTIONS) as writer:
            group: list[pa.RecordBatch] = []
            rows = size = 0
            for batch in batches:
                if not batch.num_rows:
                    continue
                group.append(batch)
                rows, size = rows + batch.num_rows, size + batch.nbytes
                if rows >= row_group_rows or size >= group_bytes:
                    writer.write_table(pa.Table.from_batches(group, schema), row_group_size=row_group_rows)
                    written[0] += rows
                    group, rows, size = [], 0, 0
            if group:
                writer.write_table(pa.Table.from_batches(group, schema), row_group_size=row_group_rows)
                written[0] += rows

    return _write(table_dir, name, lambda: written[0], fill), written[0]


#: Decoded bytes of a batch read from a file (:func:`file_batches`), about.
BATCH_BYTES = 8 << 20


def file_batches(
    path: Path, schema: pa.Schema, columns: Iterable[str] | None = None, *, batch_bytes: int | None = None
) -> Iterator[pa.RecordBatch]:
    """The rows of one Parquet file of a table, a batch of about ``batch_bytes`` decoded bytes
    (:data:`BATCH_BYTES`) at a time, with the declared types of ``schema`` (a column that a
    file of an older schema version lacks reads as null). Only ``columns`` are read, when given.

    The file is read without pre-buffering, so a batch holds only its own row group's pages.
    """
    wanted = schema if columns is None else pa.schema([schema.field(c) for c in columns])
    parquet = pq.ParquetFile(path, pre_buffer=False)
    present = set(parquet.schema_arrow.names)
    read = [f.name for f in wanted if f.name in present]
    size = batch_rows(parquet.metadata, read, batch_bytes or BATCH_BYTES)
    for batch in parquet.iter_batches(batch_size=size, columns=read, use_threads=False):
        arrays = []
        for field in wanted:
            if field.name not in present:
                arrays.append(pa.nulls(batch.num_rows, field.type))
                continue
            column = batch.column(field.name)
            arrays.append(column if column.type == field.type else column.cast(field.type))
        yield pa.RecordBatch.from_arrays(arrays, schema=wanted)


def batch_rows(metadata: pq.FileMetaData, columns: list[str], batch_bytes: int) -> int:
    """Rows per batch so that a batch of ``columns`` holds about ``batch_bytes`` decoded bytes
    (from the sizes in the file's footer), between 256 and 65 536."""
    rows = metadata.num_rows
    if not rows or not columns:
        return 65_536
    names = set(columns)
    size = 0
    for g in range(metadata.num_row_groups):
        group = metadata.row_group(g)
        for c in range(group.num_columns):
            column = group.column(c)
            if column.path_in_schema.split(".")[0] in names:
                size += column.total_uncompressed_size
    return int(max(256, min(65_536, batch_bytes * rows // max(1, size))))


def _write(table_dir: Path, name: str, rows: Callable[[], int], fill: Any) -> Path:
    """Fill a new hidden temporary file, make it durable, then give it its final name.

    Never overwrites: the temporary is created afresh (a link or a file left under its name is
    removed first, never written through) and the final name is taken with a hard link, which
    fails if the name exists, so no file of the dataset is ever replaced by a write. Raises
    :class:`WriteFailed` and leaves nothing behind when any step fails.
    """
    final = table_dir / f"{name}.parquet"
    temporary = table_dir / f".{name}.parquet.tmp"
    try:
        table_dir.mkdir(parents=True, exist_ok=True)
        temporary.unlink(missing_ok=True)
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
        with os.fdopen(fd, "wb") as handle:
            fill(handle)
            handle.flush()
            os.fsync(handle.fileno())
        _publish(temporary, final)
    except OSError as exc:
        with contextlib.suppress(OSError):
            temporary.unlink(missing_ok=True)
        raise WriteFailed(final, rows(), exc) from exc
    return final


def _publish(temporary: Path, final: Path) -> None:
    """Rename ``temporary`` to ``final`` unless ``final`` exists (``FileExistsError``)."""
    try:
        os.link(temporary, final)
    except FileExistsError:
        raise
    except OSError:
        # A file system without hard links: the check and the rename are two steps there.
        if os.path.lexists(final):
            raise FileExistsError(errno.EEXIST, "File exists", str(final)) from None
        os.rename(temporary, final)
    else:
        os.unlink(temporary)
    fsync_dir(final.parent)


def remove_stale_temporaries(table_dir: Path) -> list[Path]:
    """Delete temporary files a killed writer left behind; return what was removed."""
    removed = []
    for path in table_dir.glob(".*.parquet.tmp") if table_dir.is_dir() else []:
        path.unlink(missing_ok=True)
        removed.append(path)
    return removed


def read_table(
    table_dir: Path, table: str, files: list[Path] | None = None, columns: list[str] | None = None
) -> pa.Table:
    """Every row of a table (or of ``files``) with its declared schema; missing columns (files of
    an older schema version) are null. The table's link is resolved once: a swap while reading
    changes nothing."""
    schema = TABLES[table][0]
    files = parquet_files(snapshot(table_dir)) if files is None else files
    if not files:
        empty = schema.empty_table()
        return empty.select(columns) if columns is not None else empty
    return ds.dataset([str(p) for p in files], schema=schema, format="parquet").to_table(columns=columns)


def read_articles(dataset_dir: str | os.PathLike[str], columns: Iterable[str] | None = None) -> pa.Table:
    """The whole ``articles`` table with the declared schema (for tests and tools); a folder
    with no articles yet gives an empty table. :func:`herald_spider.dataset.read_table` reads any
    table, as pandas or Polars too, and refuses a folder that is not a dataset."""
    return read_table(
        Path(dataset_dir) / ARTICLES_DIR, "articles", columns=list(columns) if columns else None
    )


class RowBuffer:
    """Rows bound for one table, written as one file per batch of ``batch_rows`` rows.

    Rows are held as columns (one list per column, not one dict per row). Every
    ``chunk_rows`` rows become one row group of the batch's file, encoded and compressed in
    memory: a long crawl holds one chunk of rows and one compressed batch, not a batch of
    rows. The file is written when the batch is full and on :meth:`flush`, under a temporary
    name and renamed into place.
    """

    def __init__(
        self, table_dir: Path, schema: pa.Schema, tag: str, batch_rows: int, chunk_rows: int = 2500
    ) -> None:
        self.table_dir = table_dir
        self.schema = schema
        #: names the files: ``part-<tag>-<sequence>.parquet`` (the crawl ID, and the worker)
        self.tag = tag
        self.batch_rows = max(1, batch_rows)
        self.chunk_rows = max(1, min(chunk_rows, self.batch_rows))
        self.columns: dict[str, list[Any]] = {name: [] for name in schema.names}
        self.pending = 0  # rows in self.columns
        self.buffered = 0  # rows in this batch, pending ones included
        self.sequence = 0
        self.sink: pa.BufferOutputStream | None = None
        self.writer: pq.ParquetWriter | None = None

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
            take = min(rows - start, self.batch_rows - self.buffered, self.chunk_rows - self.pending)
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
            self._encode()
        return self.flush() if self.buffered >= self.batch_rows else None

    def _encode(self) -> None:
        """The pending rows as the next row group of the batch, in memory."""
        pool = CRAWL_MEMORY_POOL
        arrays = [pa.array(self.columns[f.name], f.type, memory_pool=pool) for f in self.schema]
        table = pa.Table.from_arrays(arrays, schema=self.schema)
        if self.writer is None:
            self.sink = pa.BufferOutputStream(memory_pool=pool)
            self.writer = pq.ParquetWriter(self.sink, self.schema, memory_pool=pool, **WRITE_OPTIONS)
        self.writer.write_table(table, row_group_size=table.num_rows)
        self.columns = {name: [] for name in self.schema.names}
        self.pending = 0

    def flush(self) -> tuple[Path, int] | None:
        """Write what is buffered as one file; None when nothing is."""
        if not self.buffered:
            return None
        if self.pending:
            self._encode()
        assert self.writer is not None and self.sink is not None
        self.writer.close()
        data, rows = self.sink.getvalue(), self.buffered
        # The buffer starts afresh whether or not the write succeeds: a failed batch raises
        # WriteFailed (its rows are fetched again by the next crawl), the next batch still works.
        self.sequence += 1
        self.sink = self.writer = None
        self.buffered = 0
        name = f"part-{self.tag}-{self.sequence:05d}"
        return write_bytes(self.table_dir, data, name, rows), rows
