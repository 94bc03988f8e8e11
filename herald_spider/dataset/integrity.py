"""Is this folder a dataset, is it whole, and may it be written? Checked before any write.

A crawl, ``herald-dataset compact`` and ``export`` read or rewrite every file of a table. A
file that is not what this project wrote (truncated, empty, another table's, another
program's) would crash them half-way, or worse, be copied into the dataset; a broken table
link would make a crawl fetch everything and store nothing. So they check first, and refuse
with one line naming the path (:class:`~herald_spider.errors.DatasetDamaged`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from herald_spider.dataset.files import parquet_files
from herald_spider.dataset.schema import SCHEMA_VERSION, TABLES
from herald_spider.dataset.tables import TABLE_KEY, TEMPORARY, is_table_file, link_problem, snapshot
from herald_spider.errors import DatasetDamaged, Refused

_VERSION_KEY = b"herald_spider.schema_version"
#: Hidden entries of a dataset folder that must be what they look like, not links elsewhere.
LOCK_NAME = ".herald.lock"
FRONTIER_DIR = ".frontier"


def file_problem(path: Path, table: str) -> str | None:
    """What is wrong with a Parquet file of ``table``, in a few words; None when nothing is.

    Reads the footer only: the file is readable Parquet, says it belongs to ``table`` and has
    the declared column types (a file of an older schema version may lack later columns).
    """
    try:
        metadata = pq.read_metadata(path)
        schema = metadata.schema.to_arrow_schema()
    except (OSError, ValueError) as exc:  # ArrowInvalid is a ValueError
        return f"not a readable Parquet file ({_first_line(exc)})"
    pairs = metadata.metadata or {}
    owner = pairs.get(TABLE_KEY)
    if owner is None:
        return "not written by herald_spider (no herald_spider.table in its metadata)"
    if owner.decode("utf-8", "replace") != table:
        return f"a file of the {owner.decode('utf-8', 'replace')} table, not of {table}"
    declared = TABLES[table][0]
    for column in schema:
        if column.name not in declared.names:
            return f"unknown column {column.name}"
        if column.type != declared.field(column.name).type:
            return f"column {column.name} is {column.type}, declared {declared.field(column.name).type}"
    missing = sorted(set(declared.names) - set(schema.names))
    version = pairs.get(_VERSION_KEY, b"").decode("utf-8", "replace")
    if missing and version == SCHEMA_VERSION:
        return f"missing columns {', '.join(missing)}"
    return None


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a dataset: a table folder or link (``file`` False) or a file of it."""

    path: Path
    reason: str
    file: bool = False

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


def table_problems(dataset_dir: Path, table: str, *, files: bool = True) -> list[Problem]:
    """Problems of one table: a broken link, a folder that is not ours, and (``files``) the
    files in it that are not ours or not whole, each footer read."""
    link = dataset_dir / table
    problem = link_problem(dataset_dir, table)
    if problem:
        return [Problem(link, problem)]
    if not files or not link.is_symlink():
        return []  # not there yet (a writer creates it), or the files are not asked for
    problems = []
    # Files are named by the path a person uses, not by the hidden version folder.
    for entry in sorted(snapshot(link).iterdir()):
        if TEMPORARY.match(entry.name):
            continue
        if is_table_file(entry) and entry.is_file():
            why = file_problem(entry, table)
        else:
            why = "not a file of this project"
        if why is not None:
            problems.append(Problem(link / entry.name, why, file=True))
    return problems


def dataset_problems(dataset_dir: Path, *, files: bool = True) -> list[Problem]:
    """Every problem of the dataset at ``dataset_dir`` (empty: none); without ``files``, only
    its folders and links (no file is read)."""
    problems = []
    for table in TABLES:
        problems += table_problems(dataset_dir, table, files=files)
    lock = dataset_dir / LOCK_NAME
    if os.path.lexists(lock) and (lock.is_symlink() or not lock.is_file()):
        problems.append(Problem(lock, "not a regular file (a link or a folder): no lock is taken through it"))
    frontier = dataset_dir / FRONTIER_DIR
    if os.path.lexists(frontier) and (frontier.is_symlink() or not frontier.is_dir()):
        problems.append(Problem(frontier, "not a plain folder: no crawl journal is written through a link"))
    return problems


def describe(problems: list[Problem]) -> str:
    """The first problem, and how many more there are.

    >>> describe([Problem(Path("d/runs"), "a file, not a table folder"), Problem(Path("x"), "y")])
    'd/runs: a file, not a table folder (and 1 more)'
    """
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    return f"{problems[0]}{more}"


def check_dataset(dataset_dir: Path, *, files: bool = True) -> None:
    """Raise :class:`DatasetDamaged` naming what is wrong, before anything reads or writes.

    Without ``files`` only the folders and links are checked: what a writer looks at before it
    makes its lock file in a folder that may not be a dataset (the files are read under the lock).
    """
    problems = dataset_problems(dataset_dir, files=files)
    if not problems:
        return
    raise DatasetDamaged(
        f"Dataset {dataset_dir} is damaged or holds what is not ours: {describe(problems)}. Nothing "
        f"was written. Move the named file or folder out of the dataset (or restore it from a "
        f"copy), or choose another dataset folder; `herald-dataset validate {dataset_dir}` lists "
        f"every problem."
    )


def is_dataset(dataset_dir: Path) -> bool:
    """Whether ``dataset_dir`` holds at least one table of this project (linked or not)."""
    return any(os.path.lexists(dataset_dir / table) for table in TABLES)


def check_is_dataset(dataset_dir: Path) -> None:
    """Raise :class:`Refused` unless ``dataset_dir`` is a folder holding one of our tables."""
    if not dataset_dir.is_dir():
        raise Refused(f"No dataset at {dataset_dir}: no such folder")
    if not is_dataset(dataset_dir):
        raise Refused(
            f"{dataset_dir} is not a herald_spider dataset: it has none of the tables "
            f"{', '.join(t + '/' for t in TABLES)}"
        )


def crawl_id_in_use(dataset_dir: Path, crawl_id: str) -> str | None:
    """Where ``crawl_id`` is already used in the dataset (a ``runs`` row, a file name, a
    stored row, a crawl journal), or None. Crawl IDs name files and key the ``runs`` table, so
    a second crawl under one ID would overwrite or merge away the first one's rows."""
    for table in TABLES:
        link = dataset_dir / table
        if not link.is_dir():
            continue
        for path in parquet_files(snapshot(link)):
            stem = path.stem
            # a shared crawl's processes: part-<crawl_id>@<worker>-..., run-<crawl_id>@<worker>
            shared = (f"part-{crawl_id}@", f"run-{crawl_id}@")
            if stem == f"run-{crawl_id}" or stem.startswith((f"part-{crawl_id}-", *shared)):
                return f"file {link / path.name}"
    for table in ("runs", "articles"):
        files = parquet_files(snapshot(dataset_dir / table)) if (dataset_dir / table).is_dir() else []
        if not files:
            continue
        # A file and a batch at a time: the column of a million rows would stay in a crawl's memory.
        batches = (
            batch
            for path in files
            for batch in ds.dataset(str(path), format="parquet").to_batches(
                columns=["crawl_id"], use_threads=False, batch_readahead=0, fragment_readahead=0
            )
        )
        if any(pc.any(pc.equal(b.column(0).cast(pa.string()), crawl_id)).as_py() for b in batches):
            return f"rows of the {table} table"
    frontier = dataset_dir / FRONTIER_DIR
    journals = frontier.glob("*.jsonl") if frontier.is_dir() else []
    if any(j.stem.endswith((f"@{crawl_id}", f"-{crawl_id}")) for j in journals):
        return f"a crawl journal in {frontier}"
    return None
