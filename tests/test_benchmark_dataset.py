"""``benchmarks.dataset`` on a tiny table: the generated dataset is what the benchmark says it is,
and the whole benchmark runs end to end (the benchmark itself is not a test)."""

from __future__ import annotations

import re
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.parquet as pq

from benchmarks.dataset import REFRESHED_SHARE, generate
from herald_spider import urls
from herald_spider.dataset.files import parquet_files, read_table
from herald_spider.dataset.integrity import dataset_problems
from herald_spider.dataset.tables import snapshot
from tests.conftest import run_benchmark


def test_the_generated_dataset_has_refreshed_rows_realistic_bodies_and_many_link_files(
    tmp_path: Path,
) -> None:
    generate(tmp_path, 2000, 95_000)
    assert dataset_problems(tmp_path) == []
    articles = read_table(tmp_path / "articles", "articles")
    ids = articles["article_id"]
    assert len(pc.unique(ids)) == 2000
    assert articles.num_rows == 2000 + int(2000 * REFRESHED_SHARE)
    assert 2500 < pc.mean(pc.binary_length(articles["body"])).as_py() < 3500
    for row in articles.slice(0, 50).to_pylist():
        assert urls.canonical_article_url(row["url"]) == row["url"]
        assert urls.article_id(row["url"]) == row["article_id"]
    files = parquet_files(snapshot(tmp_path / "articles"))
    assert pq.ParquetFile(files[0]).metadata.num_row_groups == 1  # 2000 rows: one group of 2500 at most
    links = parquet_files(snapshot(tmp_path / "links"))
    assert len(links) == 4 and sum(pq.ParquetFile(p).metadata.num_rows for p in links) == 95_000


def test_the_benchmark_runs_on_a_tiny_dataset(tmp_path: Path) -> None:
    args = ("--articles", "2000", "--links", "40000", "--passes", "1", "--crawl-articles", "20")
    out = run_benchmark("benchmarks.dataset", *args, work=tmp_path)
    for run in (
        "compact",
        "validate",
        "export jsonl",
        "DuckDB COPY",
        "crawl, empty dataset",
        "crawl, big dataset",
    ):
        assert re.search(rf"^\| {run} \| [\d.]+ \| [\d.]+ \| \d+ \| 1 \|$", out, re.M), run
    assert re.search(r"^\[\d\d:\d\d:\d\d\] generated 2000 of 2000 articles", out, re.M), "progress lines"
    assert "| compact peak RSS < 500 MB |" in out
    assert "export jsonl / DuckDB COPY wall time" in out
    assert not list(tmp_path.glob("generated-*")), "the generated dataset is deleted without --keep"
