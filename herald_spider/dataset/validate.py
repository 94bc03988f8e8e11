"""The invariants of a dataset, checked one by one (``herald-dataset validate``).

Each check returns a :class:`Finding`: its name, how many rows or files break it, and a few
examples a person can look up. Checks read a snapshot of the table, so they are safe while
a crawl appends files.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from herald_spider import urls
from herald_spider.dataset.files import ARTICLES_DIR, file_batches, parquet_files
from herald_spider.dataset.integrity import Problem, dataset_problems
from herald_spider.dataset.known import fixed_width
from herald_spider.dataset.maintenance import table_rows
from herald_spider.dataset.schema import ARTICLES
from herald_spider.dataset.tables import snapshot

EXAMPLES = 5


@dataclass
class Finding:
    check: str
    description: str
    failures: int = 0
    examples: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.failures == 0

    def fail(self, example: str) -> None:
        self.failures += 1
        if len(self.examples) < EXAMPLES:
            self.examples.append(example)


def check_tables(problems: list[Problem]) -> Finding:
    """Each table is a link to an existing version folder holding only this project's files."""
    finding = Finding("tables", "each table links to an existing version; nothing foreign in the dataset")
    for problem in problems:
        if not problem.file:
            finding.fail(str(problem))
    return finding


def check_files(problems: list[Problem]) -> Finding:
    """Every file is a readable Parquet file of its table with the declared column types (only
    files of an older schema version lack columns)."""
    finding = Finding("files", "every file is readable Parquet of its table, with the declared types")
    for problem in problems:
        if problem.file:
            finding.fail(str(problem))
    return finding


class RowCheck:
    """A check over the rows of ``articles``, fed one batch at a time (:meth:`add`), so that
    only what it must remember stays in memory; :attr:`finding` holds the result."""

    columns: tuple[str, ...] = ()

    def __init__(self, finding: Finding) -> None:
        self.finding = finding

    def add(self, batch: pa.RecordBatch) -> None:
        raise NotImplementedError

    def done(self) -> Finding:
        return self.finding


class UniqueIds(RowCheck):
    """One row per ``article_id``. The IDs alone are kept, as fixed-width bytes (26 MB for a
    million), and sorted once at the end; the examples name the duplicates in the order they
    first appear."""

    columns = ("article_id",)

    def __init__(self) -> None:
        super().__init__(Finding("unique_ids", "one row per article_id"))
        self.ids: list[Any] = []
        self.nulls = 0

    def add(self, batch: pa.RecordBatch) -> None:
        ids = batch.column(0)
        self.nulls += ids.null_count
        self.ids.append(fixed_width(pc.drop_null(ids)))

    def done(self) -> Finding:
        if self.nulls > 1:
            self.finding.fail(f"None appears {self.nulls} times")
        if not self.ids:
            return self.finding
        width = max(chunk.dtype.itemsize for chunk in self.ids)
        ids = np.concatenate([chunk.astype(f"S{width}") for chunk in self.ids])
        self.ids = []
        order = np.argsort(ids, kind="stable")
        ids = ids[order]
        starts = np.flatnonzero(np.concatenate([[True], ids[1:] != ids[:-1]]))
        counts = np.diff(np.append(starts, len(ids)))
        repeated = np.flatnonzero(counts > 1)
        for run in sorted(repeated, key=lambda r: order[starts[r]]):
            self.finding.fail(f"{ids[starts[run]].decode()} appears {counts[run]} times")
        return self.finding


class TimeOrder(RowCheck):
    """published_at <= updated_at <= fetched_at, the nulls skipped; only the rows that break
    it become Python objects."""

    columns = ("article_id", "published_at", "updated_at", "fetched_at")

    def __init__(self) -> None:
        super().__init__(Finding("time_order", "published_at <= updated_at <= fetched_at"))

    def add(self, batch: pa.RecordBatch) -> None:
        published, updated, fetched = (batch.column(n) for n in self.columns[1:])
        # Each present value against the next present one: updated, or fetched when updated is null.
        after_published = pc.coalesce(updated, fetched)
        broken = pc.or_kleene(pc.greater(published, after_published), pc.greater(updated, fetched))
        broken = pc.fill_null(broken, False)
        if not pc.any(broken).as_py():
            return
        for row in batch.select(list(self.columns)).filter(broken).to_pylist():
            present = [(name, row[name]) for name in self.columns[1:] if row[name]]
            for (earlier, a), (later, b) in itertools.pairwise(present):
                if a > b:
                    order = f"{earlier} {a:%Y-%m-%dT%H:%M:%SZ} > {later} {b:%Y-%m-%dT%H:%M:%SZ}"
                    self.finding.fail(f"{row['article_id']}: {order}")
                    break


class CanonicalUrls(RowCheck):
    columns = ("article_id", "url")

    def __init__(self) -> None:
        super().__init__(Finding("canonical_urls", "url is canonical and holds the article_id"))

    def add(self, batch: pa.RecordBatch) -> None:
        for article_id, url in zip(batch.column(0).to_pylist(), batch.column(1).to_pylist(), strict=True):
            url = url or ""
            if urls.canonical_article_url(url) != url or urls.article_id(url) != article_id:
                self.finding.fail(f"{article_id}: {url!r}")


class Titles(RowCheck):
    columns = ("article_id", "title")

    def __init__(self) -> None:
        super().__init__(Finding("titles", "no empty title"))

    def add(self, batch: pa.RecordBatch) -> None:
        for article_id, title in zip(batch.column(0).to_pylist(), batch.column(1).to_pylist(), strict=True):
            if not (title or "").strip():
                self.finding.fail(f"{article_id}: title {title!r}")


ROW_CHECKS: tuple[Callable[[], RowCheck], ...] = (UniqueIds, TimeOrder, CanonicalUrls, Titles)

#: Called with (rows checked, rows in all) as the rows of ``articles`` are read.
Progress = Callable[[int, int], None]


def validate(dataset_dir: Path, progress: Progress | None = None) -> list[Finding]:
    """Every check, in a fixed order: the dataset's tables and files, then the rows of
    ``articles`` (of its readable files: a damaged one is reported, not read).

    The rows are read a file and a bounded batch at a time, only the columns the checks need
    (never the bodies), so memory does not grow with the table but for the IDs the
    unique-ID check keeps.
    """
    problems = dataset_problems(dataset_dir)
    findings = [check_tables(problems), check_files(problems)]
    link = dataset_dir / ARTICLES_DIR
    if any(p.path == link for p in problems):
        return findings  # no articles table to read
    damaged = {p.path.name for p in problems if p.file and p.path.parent == link}
    table_dir = snapshot(link)
    files = [path for path in parquet_files(table_dir) if path.name not in damaged]
    checks = [check() for check in ROW_CHECKS]
    columns = list(dict.fromkeys(name for check in checks for name in check.columns))
    try:
        total = table_rows(files)
        done = 0
        for path in files:
            for batch in file_batches(path, ARTICLES, columns):
                for check in checks:
                    check.add(batch.select(list(check.columns)))
                done += batch.num_rows
                if progress:
                    progress(done, total)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError) as exc:
        unreadable = Finding("readable", "files read as one table with the declared schema")
        unreadable.fail(str(exc).splitlines()[0])
        return [*findings, unreadable]
    return findings + [check.done() for check in checks]
