"""Read a table of the dataset, pinned to one version, as Arrow, pandas or Polars.

``read_table("datasets", "runs", to="pandas")`` reads every row of a table with its declared
types (:data:`herald_spider.dataset.schema.TABLES`). The table's link is resolved once and only
the files of that version are read (:mod:`herald_spider.dataset.tables`), so a compaction or a
refresh that swaps in a new version while the read runs changes nothing, and a crawl that adds a
file after the listing is not half-read. ``version=N`` reads an older version that is still
kept (:func:`table_versions` lists them; replaced versions are kept for
``HERALD_COMPACT_GRACE_SECONDS``, 10 minutes by default).

pandas and Polars are imported only when asked for. No Scrapy here.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import pyarrow as pa

from herald_spider.dataset.files import parquet_files
from herald_spider.dataset.files import read_table as files_read_table
from herald_spider.dataset.schema import TABLES
from herald_spider.dataset.tables import link_problem, snapshot, versions
from herald_spider.errors import DatasetDamaged, Refused

if TYPE_CHECKING:
    import os

Library = Literal["arrow", "pandas", "polars"]
LIBRARIES: tuple[str, ...] = ("arrow", "pandas", "polars")


class CannotRead(Refused, ValueError):
    """A read that cannot be done as asked: not a dataset, an unknown table, column or version."""


@dataclass(frozen=True)
class TableVersion:
    """One version of a table still on disk."""

    number: int
    #: the version's folder (``<dataset>/.<table>.v000003``)
    path: Path
    #: whether the table's link points at it now
    current: bool
    #: its Parquet files
    files: int


def check_dataset_path(dataset_dir: str | os.PathLike[str]) -> Path:
    """``dataset_dir`` as a :class:`~pathlib.Path`, or :class:`CannotRead` when it is not a
    dataset folder (one that holds at least one of the tables)."""
    path = Path(dataset_dir)
    if not path.is_dir():
        what = "does not exist" if not path.exists() else "is not a folder"
        raise CannotRead(f"{path} {what}: give the dataset folder (HERALD_DATASET_DIR, e.g. datasets)")
    if any((path / table).is_symlink() or (path / table).is_dir() for table in TABLES):
        return path
    if path.name in TABLES:
        raise CannotRead(
            f"{path} is the {path.name} table of the dataset {path.parent}: give the dataset folder "
            f"and the table, read_table({str(path.parent)!r}, {path.name!r})"
        )
    raise CannotRead(
        f"{path} is not a herald_spider dataset: it holds none of the tables {', '.join(TABLES)}"
    )


def _check_table(table: str) -> pa.Schema:
    if table not in TABLES:
        raise CannotRead(f"unknown table {table!r}: the dataset has {', '.join(TABLES)}")
    return TABLES[table][0]


def table_versions(dataset_dir: str | os.PathLike[str], table: str = "articles") -> list[TableVersion]:
    """The versions of ``table`` still on disk, oldest first; the current one is marked.

    Empty for a table not made yet, and for a table kept as a plain folder by an older release.
    """
    path = check_dataset_path(dataset_dir)
    _check_table(table)
    link = path / table
    current = snapshot(link) if link.is_symlink() else None
    return [
        TableVersion(number, folder, folder == current, len(parquet_files(folder)))
        for number, folder in versions(path, table)
    ]


def _version_folder(path: Path, table: str, version: int | None) -> Path | None:
    """The folder to read: the version the link points at now (resolved once, here), or
    ``version``; None for a table that is not there yet."""
    problem = link_problem(path, table)
    if problem:
        raise DatasetDamaged(f"{path / table}: {problem}")
    if version is None:
        link = path / table
        return snapshot(link) if link.is_symlink() or link.is_dir() else None
    kept = dict(versions(path, table))
    if version not in kept:
        numbers = ", ".join(str(n) for n in sorted(kept)) or "none"
        raise CannotRead(
            f"version {version} of {table} is not in {path} (versions kept: {numbers}; a replaced "
            f"version is deleted once HERALD_COMPACT_GRACE_SECONDS have passed)"
        )
    return kept[version]


def read_arrow(
    dataset_dir: str | os.PathLike[str],
    table: str = "articles",
    *,
    columns: Iterable[str] | None = None,
    version: int | None = None,
) -> pa.Table:
    """``table`` as a :class:`pyarrow.Table` of its declared schema (see :func:`read_table`)."""
    path = check_dataset_path(dataset_dir)
    schema = _check_table(table)
    wanted = list(columns) if columns is not None else None
    if wanted is not None:
        unknown = [name for name in wanted if name not in schema.names]
        if unknown:
            raise CannotRead(
                f"unknown column(s) {', '.join(unknown)} of {table}: it has {', '.join(schema.names)}"
            )
    folder = _version_folder(path, table, version)
    files = parquet_files(folder) if folder is not None else []
    # Missing columns (files of an older schema version) read as null, as compaction reads them.
    return files_read_table(path / table, table, files, wanted)


def read_table(
    dataset_dir: str | os.PathLike[str],
    table: str = "articles",
    *,
    to: Library = "arrow",
    columns: Iterable[str] | None = None,
    version: int | None = None,
) -> Any:
    """Every row of ``table`` (one of :data:`~herald_spider.dataset.schema.TABLES`) with its
    declared types, as ``to`` gives them: ``"arrow"`` a :class:`pyarrow.Table`, ``"pandas"`` a
    ``DataFrame``, ``"polars"`` a ``polars.DataFrame``.

    The table's current version is resolved once and only its files are read, so a compaction
    during the read changes nothing; ``version=N`` reads a version still kept
    (:func:`table_versions`). Types: timestamps are UTC microseconds in all three; in pandas the
    integer columns are nullable (``Int32``/``Int64``), so a null keeps them integers, and lists
    are arrays. Raises :class:`CannotRead` for a path that is not a dataset, an unknown table,
    column or version, and :class:`~herald_spider.errors.DatasetDamaged` for a broken table link.
    """
    _check_library(to)
    return convert(read_arrow(dataset_dir, table, columns=columns, version=version), to)


def convert(table: pa.Table, to: Library) -> Any:
    """An Arrow table as ``to`` gives it (see :func:`read_table`)."""
    _check_library(to)
    if to == "pandas":
        return to_pandas(table)
    if to == "polars":
        return importlib.import_module("polars").from_arrow(table)
    return table


def _check_library(to: str) -> None:
    if to not in LIBRARIES:
        raise CannotRead(f"to={to!r}: read a table as one of {', '.join(LIBRARIES)}")
    if to != "arrow":
        try:
            importlib.import_module(to)
        except ImportError:
            raise ImportError(
                f"reading a table with to={to!r} needs {to}, which is not installed: "
                f"pip install {to} (or read it with to='arrow')"
            ) from None


def to_pandas(table: pa.Table) -> Any:
    """A table as a pandas ``DataFrame``; integer columns nullable so they stay integers."""
    pandas = importlib.import_module("pandas")
    nullable: dict[pa.DataType, Any] = {
        pa.int32(): pandas.Int32Dtype(),
        pa.int64(): pandas.Int64Dtype(),
    }
    return table.to_pandas(types_mapper=nullable.get)
