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

import pyarrow as pa
import pyarrow.compute as pc

from herald_spider import urls
from herald_spider.dataset.files import ARTICLES_DIR, parquet_files
from herald_spider.dataset.integrity import Problem, dataset_problems
from herald_spider.dataset.maintenance import read_table
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


def check_unique_ids(table: pa.Table) -> Finding:
    finding = Finding("unique_ids", "one row per article_id")
    counts = pc.value_counts(table["article_id"])
    for entry in counts.filter(pc.greater(counts.field("counts"), 1)).to_pylist():
        finding.fail(f"{entry['values']} appears {entry['counts']} times")
    return finding


def check_times(table: pa.Table) -> Finding:
    finding = Finding("time_order", "published_at <= updated_at <= fetched_at")
    for row in table.select(["article_id", "published_at", "updated_at", "fetched_at"]).to_pylist():
        present = [(name, row[name]) for name in ("published_at", "updated_at", "fetched_at") if row[name]]
        for (earlier, a), (later, b) in itertools.pairwise(present):
            if a > b:
                finding.fail(
                    f"{row['article_id']}: {earlier} {a:%Y-%m-%dT%H:%M:%SZ} > {later} {b:%Y-%m-%dT%H:%M:%SZ}"
                )
                break
    return finding


def check_urls(table: pa.Table) -> Finding:
    finding = Finding("canonical_urls", "url is canonical and holds the article_id")
    for row in table.select(["article_id", "url"]).to_pylist():
        url = row["url"] or ""
        if urls.canonical_article_url(url) != url or urls.article_id(url) != row["article_id"]:
            finding.fail(f"{row['article_id']}: {url!r}")
    return finding


def check_titles(table: pa.Table) -> Finding:
    finding = Finding("titles", "no empty title")
    for row in table.select(["article_id", "title"]).to_pylist():
        if not (row["title"] or "").strip():
            finding.fail(f"{row['article_id']}: title {row['title']!r}")
    return finding


ROW_CHECKS: tuple[Callable[[pa.Table], Finding], ...] = (
    check_unique_ids,
    check_times,
    check_urls,
    check_titles,
)


def validate(dataset_dir: Path) -> list[Finding]:
    """Every check, in a fixed order: the dataset's tables and files, then the rows of
    ``articles`` (of its readable files: a damaged one is reported, not read)."""
    problems = dataset_problems(dataset_dir)
    findings = [check_tables(problems), check_files(problems)]
    link = dataset_dir / ARTICLES_DIR
    if any(p.path == link for p in problems):
        return findings  # no articles table to read
    damaged = {p.path.name for p in problems if p.file and p.path.parent == link}
    table_dir = snapshot(link)
    files = [path for path in parquet_files(table_dir) if path.name not in damaged]
    try:
        table = read_table(table_dir, "articles", files)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError) as exc:
        unreadable = Finding("readable", "files read as one table with the declared schema")
        unreadable.fail(str(exc).splitlines()[0])
        return [*findings, unreadable]
    return findings + [check(table) for check in ROW_CHECKS]
