"""The Parquet dataset on disk: which article IDs it holds, and atomic writes of new files.

Layout: ``<HERALD_DATASET_DIR>/articles/part-<crawl_id>-<seq>.parquet``, flat (no hive
directories, so no reader turns a partition key into a column of another type). A file is
written under a hidden temporary name and renamed into place, so a reader never sees a
half-written file; readers skip names that start with ``.``.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

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


def read_ids(table_dir: Path) -> pa.ChunkedArray:
    """The ``article_id`` column of every file of a table (empty when there is none)."""
    files = parquet_files(table_dir)
    if not files:
        return pa.chunked_array([], type=pa.string())
    dataset = ds.dataset([str(p) for p in files], format="parquet")
    return dataset.to_table(columns=["article_id"])["article_id"]


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
