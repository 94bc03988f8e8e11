"""Table directories that change atomically: a symlink to a versioned directory.

``<dataset>/articles`` is a symlink to a hidden sibling ``.articles.v000003/`` holding the
Parquet files. A crawl appends files to the current version (each written under a hidden name
and renamed, so it appears whole). Anything that replaces files (compaction, rewriting the
rows of refreshed articles) builds the next version directory beside it, hard-linking the
files it keeps, and swaps the symlink with one ``os.replace``: a reader that lists
``articles/`` sees the old files or the new ones, never both and never neither. Readers keep
their usual paths (``pd.read_parquet("datasets/articles")``, ``articles/**/*.parquet``) and no
partition column appears, because the version lives in the link target, not under it.

A path through the symlink is resolved again each time a file is opened, so a reader that lists
the old version and opens a file after the swap can miss it. Old versions are therefore kept
for ``grace`` seconds; a reader that wants a fixed snapshot resolves the link first
(:func:`snapshot`), as :func:`herald_spider.dataset.read_articles` does.
"""

from __future__ import annotations

import os
import re
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import pyarrow.parquet as pq

from herald_spider.errors import DatasetDamaged

_VERSION = re.compile(r"^\.(?P<table>[a-z_]+)\.v(?P<n>\d{6})$")
#: Retired versions younger than this are kept for readers still scanning them.
DEFAULT_GRACE_SECONDS = 600.0
#: The key-value metadata every Parquet file of the dataset carries: which table it belongs to.
TABLE_KEY = b"herald_spider.table"
#: What a writer killed mid-write leaves: ``.<name>.parquet.tmp`` (see ``herald_spider.dataset.files``).
TEMPORARY = re.compile(r"^\..+\.parquet\.tmp$")


def _version_dir(dataset_dir: Path, table: str, n: int) -> Path:
    return dataset_dir / f".{table}.v{n:06d}"


def versions(dataset_dir: Path, table: str) -> list[tuple[int, Path]]:
    """The version directories of ``table``, oldest first."""
    if not dataset_dir.is_dir():
        return []
    found = []
    for path in dataset_dir.iterdir():
        match = _VERSION.match(path.name)
        if match and match["table"] == table and path.is_dir() and not path.is_symlink():
            found.append((int(match["n"]), path))
    return sorted(found)


def snapshot(table_dir: Path) -> Path:
    """The version directory ``table_dir`` points at now (itself when it is a plain directory)."""
    return table_dir.resolve()


def _point(link: Path, target: Path) -> None:
    """Make ``link`` a symlink to ``target`` (a sibling) in one atomic rename."""
    temporary = link.with_name(f".{link.name}.link.tmp")
    temporary.unlink(missing_ok=True)
    os.symlink(target.name, temporary)
    os.replace(temporary, link)
    fsync_dir(link.parent)


def fsync_dir(path: Path) -> None:
    """Make a rename or a new entry in ``path`` durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def is_table_file(path: Path) -> bool:
    """Whether ``path`` is named as a file of a table: a visible Parquet file (readers skip names
    that start with ``.`` or ``_``).

    >>> is_table_file(Path("part-x-00001.parquet")), is_table_file(Path(".part-x.parquet.tmp"))
    (True, False)
    >>> is_table_file(Path("_SUCCESS.parquet")), is_table_file(Path("notes.txt"))
    (False, False)
    """
    return path.suffix == ".parquet" and not path.name.startswith((".", "_"))


def file_owner(path: Path) -> str | None:
    """The table a Parquet file says it belongs to (its key-value metadata); None when it says
    none or is not a readable Parquet file."""
    try:
        metadata = pq.read_schema(path).metadata or {}
    except (OSError, ValueError):  # pyarrow's ArrowInvalid is a ValueError
        return None
    owner = metadata.get(TABLE_KEY)
    return owner.decode("utf-8", "replace") if owner else None


def foreign_entries(folder: Path, table: str) -> list[str]:
    """Names in ``folder`` that are not this project's files of ``table``: visible Parquet files
    whose metadata names ``table``, and the hidden temporaries a killed writer leaves."""
    foreign = []
    for entry in sorted(folder.iterdir()):
        if entry.is_symlink() or not entry.is_file():
            foreign.append(entry.name)
        elif TEMPORARY.match(entry.name):
            continue
        elif not is_table_file(entry) or file_owner(entry) != table:
            foreign.append(entry.name)
    return foreign


def adoption_problem(folder: Path, table: str) -> str | None:
    """Why a plain directory ``folder`` may not be taken over as ``table``; None when it may.

    Only a folder this project provably wrote is adopted (an older release kept each table as
    a plain directory): one holding Parquet files of ``table`` and nothing else. Anything
    else, an empty folder included (TensorBoard makes ``runs/``), belongs to someone else.
    """
    foreign = foreign_entries(folder, table)
    if foreign:
        shown = ", ".join(foreign[:3]) + (f" and {len(foreign) - 3} more" if len(foreign) > 3 else "")
        return f"a folder that is not a herald_spider table (it holds {shown}); it is never taken over"
    if not any(folder.iterdir()):
        return "an empty folder that herald_spider did not make; it is never taken over"
    return None


def link_problem(dataset_dir: Path, table: str) -> str | None:
    """What is wrong with ``<dataset_dir>/<table>``; None when it is a table (or not there yet)."""
    link = dataset_dir / table
    if link.is_symlink():
        target = os.readlink(link)
        match = _VERSION.match(target)
        if not match or match["table"] != table:
            return f"links to {target}, which is not a version folder of {table} (.{table}.vNNNNNN)"
        version = dataset_dir / target
        if version.is_symlink() or not version.is_dir():
            return f"links to {target}, a version folder that is missing"
        return None
    if link.is_dir():
        return adoption_problem(link, table)
    if os.path.lexists(link):
        return "a file, not a table folder"
    return None


def ensure_table(dataset_dir: Path, table: str) -> Path:
    """Create ``<dataset_dir>/<table>`` as a symlink to a version directory if it is not one.

    A plain directory left by an older release is moved into the first version; that one move
    is not atomic (a reader at that instant finds no table), and happens once, under the lock.
    A directory that is not provably ours, or a broken link, raises :class:`DatasetDamaged`.
    """
    link = dataset_dir / table
    problem = link_problem(dataset_dir, table)
    if problem:
        raise DatasetDamaged(f"{link}: {problem}")
    if link.is_symlink():
        return link
    dataset_dir.mkdir(parents=True, exist_ok=True)
    existing = versions(dataset_dir, table)
    first = _version_dir(dataset_dir, table, existing[-1][0] + 1 if existing else 1)
    if link.is_dir():
        os.rename(link, first)
    else:
        first.mkdir()
    _point(link, first)
    return link


def replace_version(
    dataset_dir: Path,
    table: str,
    build: Callable[[Path, Path], None],
    *,
    grace: float = DEFAULT_GRACE_SECONDS,
) -> Path:
    """Build the next version of ``table`` and swap it in; return the new version directory.

    ``build(current, new)`` fills the empty directory ``new`` from ``current`` (with
    :func:`keep` for files that do not change). If it raises, the table is left as it was.
    """
    link = ensure_table(dataset_dir, table)
    current = snapshot(link)
    number = versions(dataset_dir, table)[-1][0] + 1
    new = _version_dir(dataset_dir, table, number)
    staging = new.with_name(new.name + ".tmp")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    try:
        build(current, staging)
        fsync_dir(staging)
        os.rename(staging, new)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    os.utime(current)  # the retirement time, which retire() measures the grace period from
    _point(link, new)
    retire(dataset_dir, table, grace=grace)
    return new


def keep(path: Path, new_dir: Path) -> None:
    """Carry an unchanged file into a new version: a hard link, so no bytes are copied."""
    os.link(path, new_dir / path.name)


def retire(dataset_dir: Path, table: str, *, grace: float = DEFAULT_GRACE_SECONDS) -> list[Path]:
    """Delete versions other than the current one that were replaced more than ``grace`` s ago
    (:func:`replace_version` stamps a version's mtime when it retires it)."""
    link = dataset_dir / table
    current = snapshot(link) if link.is_symlink() else None
    removed = []
    now = time.time()
    for _, path in versions(dataset_dir, table):
        if path != current and now - path.stat().st_mtime >= grace:
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    for stale in dataset_dir.glob(f".{table}.v*.tmp"):
        shutil.rmtree(stale, ignore_errors=True)
    return removed
