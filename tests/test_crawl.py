"""End to end: ``scrapy crawl`` in replay mode through Scrapy's engine, then the dataset
read back with pandas, DuckDB, Polars and pyarrow."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.dataset as ds
import pytest

from herald_spider import urls
from herald_spider.dataset.schema import ARTICLES
from tests.conftest import SITE, expected_articles, expected_site

PROJECT = Path(__file__).resolve().parents[1]
EXPECTED = {a["article_id"]: a for a in expected_articles()}
CRAWLED = re.compile(r"Crawled \((\d+)\) <GET (\S+)>")
STATS = re.compile(r"'(herald/[^']+)': (\d+)")


def crawl(
    *args: str, replay: Path = SITE, dataset: Path, level: str = "DEBUG", code: int = 0
) -> dict[str, Any]:
    """Run ``scrapy crawl`` in a subprocess, expecting exit ``code``; return its requests, herald
    stats and log."""
    command = [
        sys.executable,
        "-m",
        "scrapy",
        "crawl",
        *args,
        "-s",
        f"HERALD_REPLAY={replay}",
        "-s",
        f"HERALD_DATASET_DIR={dataset}",
        "-s",
        f"LOG_LEVEL={level}",
    ]
    done = subprocess.run(command, cwd=PROJECT, capture_output=True, text=True, timeout=300)
    assert done.returncode == code, done.stderr[-4000:]
    log = done.stderr
    assert "Traceback" not in log, log[-4000:]
    return {
        "requested": [(int(status), url) for status, url in CRAWLED.findall(log)],
        "stats": {key: int(value) for key, value in STATS.findall(log)},
        "log": log,
    }


@pytest.fixture(scope="module")
def first_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    dataset = tmp_path_factory.mktemp("dataset")
    feed = dataset.parent / "items.jsonl"
    result = crawl("world", "-O", str(feed), dataset=dataset)
    return {**result, "dataset": dataset, "feed": feed}


def test_every_reachable_article_is_stored(first_run: dict[str, Any]) -> None:
    table = pd.read_parquet(first_run["dataset"] / "articles")
    assert sorted(table["url"]) == sorted(expected_site()["article_urls"])
    assert first_run["stats"]["herald/articles_stored"] == len(EXPECTED)


def test_stored_fields_match_ground_truth(first_run: dict[str, Any]) -> None:
    rows = ds.dataset(first_run["dataset"] / "articles").to_table().to_pylist()
    for row in rows:
        expected = EXPECTED[row["article_id"]]
        for name in ("url", "section", "subsection", "title", "description", "distributor", "premium"):
            assert row[name] == expected[name], (row["article_id"], name)
        assert row["authors"] == expected["authors"], row["article_id"]
        assert row["published_at"].strftime("%Y-%m-%dT%H:%M:%SZ") == expected["published_at"]
        updated = row["updated_at"].strftime("%Y-%m-%dT%H:%M:%SZ") if row["updated_at"] else None
        assert updated == expected["updated_at"], row["article_id"]
        assert row["word_count"] == expected["word_count_visible"], row["article_id"]
        if expected["hidden_text"]:
            assert expected["hidden_text"] not in row["body"]


def test_nothing_but_sections_and_articles_is_requested(first_run: dict[str, Any]) -> None:
    site = expected_site()
    allowed = (
        set(site["section_urls"]) | set(site["article_urls"]) | {"https://www.nzherald.co.nz/robots.txt"}
    )
    feeds = {urls.NEWS_SITEMAP_URL, urls.rss_url("world")}  # this mirror has none: 404
    requested = {url for _, url in first_run["requested"]}
    assert requested <= allowed | feeds, requested - allowed
    assert all(status == 200 for status, url in first_run["requested"] if url not in feeds)
    article_requests = [url for _, url in first_run["requested"] if url in site["article_urls"]]
    assert len(article_requests) == len(set(article_requests)), "an article was requested twice"
    assert first_run["stats"]["herald/replay/not_found"] == len(feeds)
    assert first_run["stats"]["herald/feeds_missing/news-sitemap"] == 1


def test_readers_agree_on_declared_types(first_run: dict[str, Any]) -> None:
    articles = first_run["dataset"] / "articles"
    table = ds.dataset(articles, partitioning="hive").to_table()
    assert table.schema.remove_metadata() == ARTICLES.remove_metadata()

    frame = pd.read_parquet(articles)
    assert str(frame["published_at"].dtype) == "datetime64[us, UTC]"
    assert frame["premium"].dtype == bool
    assert str(frame["word_count"].dtype) == "int32"

    glob = f"{articles}/**/*.parquet"
    described = {
        row[0]: row[1]
        for row in duckdb.sql(
            f"describe select * from read_parquet('{glob}', hive_partitioning=true)"
        ).fetchall()
    }
    assert described["published_at"] == "TIMESTAMP WITH TIME ZONE"
    assert described["authors"] == "VARCHAR[]"
    assert described["word_count"] == "INTEGER"
    assert described["premium"] == "BOOLEAN"

    lazy = pl.scan_parquet(glob)
    schema = lazy.collect_schema()
    assert schema["published_at"] == pl.Datetime("us", "UTC")
    assert schema["authors"] == pl.List(pl.String)
    assert schema["word_count"] == pl.Int32
    assert lazy.select(pl.len()).collect().item() == len(EXPECTED)


def test_feed_export_next_to_dataset(first_run: dict[str, Any]) -> None:
    lines = first_run["feed"].read_text(encoding="utf-8").splitlines()
    items = [json.loads(line) for line in lines]
    assert sorted(item["article_id"] for item in items) == sorted(EXPECTED)
    assert all(item["crawl_id"] for item in items)


def test_closing_stats_name_what_happened(first_run: dict[str, Any]) -> None:
    stats = first_run["stats"]
    assert stats["herald/articles_stored"] == len(EXPECTED)
    assert stats["herald/replay/served"] >= len(EXPECTED)
    assert "herald/crawl_id" in first_run["log"]


def test_second_run_adds_nothing_and_skips_known(first_run: dict[str, Any]) -> None:
    dataset = first_run["dataset"]
    again = crawl("world", dataset=dataset)
    assert again["stats"].get("herald/articles_stored", 0) == 0
    assert again["stats"]["herald/articles_skipped_known"] > 0
    requested = {url for _, url in again["requested"]}
    assert not requested & set(EXPECTED[a]["url"] for a in EXPECTED), "a stored article was requested again"
    glob = f"{dataset}/articles/*.parquet"
    duplicates = duckdb.sql(
        f"select article_id, count(*) from read_parquet('{glob}') group by article_id having count(*) > 1"
    ).fetchall()
    assert duplicates == []
    assert duckdb.sql(f"select count(*) from read_parquet('{glob}')").fetchall() == [(len(EXPECTED),)]


def test_missing_page_answers_404_and_is_counted(tmp_path: Path) -> None:
    mirror = tmp_path / "mirror"
    shutil.copytree(SITE, mirror)
    missing = next(a for a in EXPECTED.values() if a["subsection"] == "pacific")
    (mirror / missing["url"].removeprefix("https://") / "index.html").unlink()
    result = crawl("world", replay=mirror, dataset=tmp_path / "dataset")
    assert result["stats"]["herald/replay/not_found"] == 1 + 2  # and the feeds this mirror lacks
    assert result["stats"]["herald/http_errors/404"] == 1
    assert result["stats"]["herald/articles_stored"] == len(EXPECTED) - 1


def test_section_spider_keeps_to_its_section(tmp_path: Path) -> None:
    result = crawl("section", "-a", "section=world/europe", dataset=tmp_path / "dataset")
    table = pa.Table.from_pandas(pd.read_parquet(tmp_path / "dataset" / "articles"))
    assert set(table["section_path"].to_pylist()) == {"world/europe"}
    assert result["stats"]["herald/articles_stored"] == sum(
        1 for a in EXPECTED.values() if a["subsection"] == "europe"
    )


def test_closespider_itemcount_and_depth_limit(tmp_path: Path) -> None:
    limited = crawl(
        "world",
        "-s",
        "CLOSESPIDER_ITEMCOUNT=3",
        "-s",
        "CONCURRENT_REQUESTS=1",
        dataset=tmp_path / "a",
        level="INFO",
    )
    assert "closespider_itemcount" in limited["log"]
    stored = len(pd.read_parquet(tmp_path / "a" / "articles"))
    assert 3 <= stored < len(EXPECTED)
    shallow = crawl("world", "-s", "DEPTH_LIMIT=1", dataset=tmp_path / "b", level="INFO")
    assert 0 < shallow["stats"]["herald/articles_stored"] < len(EXPECTED)


def test_unsafe_section_argument_is_refused(tmp_path: Path) -> None:
    command = [
        sys.executable,
        "-m",
        "scrapy",
        "crawl",
        "section",
        "-a",
        "section=../../etc",
        "-s",
        f"HERALD_DATASET_DIR={tmp_path}",
        "-s",
        f"HERALD_REPLAY={SITE}",
    ]
    done = subprocess.run(command, cwd=PROJECT, capture_output=True, text=True, timeout=120)
    assert "not a section path" in done.stderr
    assert not (tmp_path / "articles").exists()


def test_article_named_by_a_dead_alias_is_fetched_by_its_real_url(tmp_path: Path) -> None:
    mirror = SITE.parent / "alias-site"
    expected = json.loads((mirror / "expected.json").read_text(encoding="utf-8"))
    for order in ("1", "0"):  # depth-first and breadth-first meet the two URLs in either order
        dataset = tmp_path / f"dataset-{order}"
        # most of its links are dead aliases: a crawl that fails its health check (exit 5)
        args = ("-s", f"DEPTH_PRIORITY={order}", "-s", "HERALD_MAX_FAILED_SHARE=1")
        result = crawl("world", *args, replay=mirror, dataset=dataset)
        stored = pd.read_parquet(dataset / "articles")
        assert sorted(stored["article_id"]) == expected["stored"]
        assert stored["url"].str.contains("/premium/").all()
        by_id: dict[str, list[int]] = {}
        for status, url in result["requested"]:
            if urls.article_id(url):
                by_id.setdefault(urls.article_id(url) or "", []).append(status)
        assert by_id[expected["stored"][0]] == [404, 200]  # the alias, then the real URL
        for missing in expected["not_found"]:
            assert by_id[missing] == [404]
        # every article request that found nothing is counted, none silently missing
        failed = sum(1 for statuses in by_id.values() if 200 not in statuses)
        assert result["stats"]["herald/articles_failed"] == failed
