"""Crawling the same dataset again and again with pages that changed in between.

A copy of the fixture mirror is changed between crawls the way the site changes: an article's
update time and body change (a correction) and its listing card shows the newer time. Each crawl
is a real ``scrapy crawl`` in replay mode.
"""

from __future__ import annotations

import shutil
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from herald_spider.dataset.files import parquet_files, read_articles, read_table
from herald_spider.dataset.schema import TABLES
from tests.conftest import SITE, expected_articles
from tests.test_crawl import crawl

CHANGED = "4FNSMDYJEPLVR7RT3WW6ETSFJW"
CHANGED_URL = (
    "www.nzherald.co.nz/world/us-fed-holds-rates-steady-amid-rising-inflation-growth-concerns/"
    f"{CHANGED}/index.html"
)
LISTING = "www.nzherald.co.nz/world/index.html"
FIRST_SENTENCE = "The US Federal Reserve held interest rates steady"
ALL_IDS = {a["article_id"] for a in expected_articles()}


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, (path, old)
    path.write_text(text.replace(old, new), encoding="utf-8")


def _rows(dataset: Path) -> dict[str, dict[str, Any]]:
    rows = read_articles(dataset).to_pylist()
    assert len(rows) == len({r["article_id"] for r in rows}), "one row per article_id"
    return {r["article_id"]: r for r in rows}


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Four crawls: original; corrected page without refresh; refresh=updated; a second,
    silent body change picked up by refresh=all."""
    root = tmp_path_factory.mktemp("refresh")
    mirror, dataset = root / "site", root / "dataset"
    shutil.copytree(SITE, mirror)
    snapshots: dict[str, Any] = {}

    crawl("world", replay=mirror, dataset=dataset, level="INFO")
    snapshots["first"] = _rows(dataset)

    # A correction: the article's update time and first paragraph change; its card shows the time.
    _edit(
        mirror / CHANGED_URL,
        '"dateModified":"2025-06-18T20:15:00.000Z"',
        '"dateModified":"2025-06-19T01:30:00.000Z"',
    )
    _edit(mirror / CHANGED_URL, FIRST_SENTENCE, f"Correction: {FIRST_SENTENCE}")
    _edit(
        mirror / LISTING,
        'datetime="2025-06-18T20:15:00Z">18 Jun 08:15 PM',
        'datetime="2025-06-19T01:30:00Z">19 Jun 01:30 AM',
    )
    snapshots["plain"] = crawl("world", replay=mirror, dataset=dataset, level="INFO")["stats"]
    snapshots["after_plain"] = _rows(dataset)

    snapshots["updated"] = crawl(
        "world", "-a", "refresh=updated", replay=mirror, dataset=dataset, level="INFO"
    )["stats"]
    snapshots["after_updated"] = _rows(dataset)

    # A second change that moves no time: only the content hash tells.
    _edit(mirror / CHANGED_URL, f"Correction: {FIRST_SENTENCE}", f"Corrected again: {FIRST_SENTENCE}")
    # This crawl also compacts every table with more than 3 files at its end.
    last = crawl(
        "world",
        "-a",
        "refresh=all",
        "-s",
        "HERALD_COMPACT_FILES=3",
        replay=mirror,
        dataset=dataset,
        level="INFO",
    )
    snapshots["all"], snapshots["all_log"] = last["stats"], last["log"]
    snapshots["files"] = {name: len(parquet_files(dataset / name)) for name in TABLES}
    snapshots["links"] = read_table(dataset / "links", "links").to_pylist()
    snapshots["after_all"] = _rows(dataset)
    snapshots["revisions"] = read_table(dataset / "article_revisions", "article_revisions").to_pylist()
    snapshots["runs"] = read_table(dataset / "runs", "runs").to_pylist()
    return snapshots


def test_first_crawl_stores_revision_one(history: dict[str, Any]) -> None:
    rows = history["first"]
    assert set(rows) == ALL_IDS
    for row in rows.values():
        assert row["revision"] == 1
        assert row["first_seen_at"] == row["last_seen_at"] == row["fetched_at"]


def test_without_refresh_stored_articles_are_skipped(history: dict[str, Any]) -> None:
    assert history["plain"]["herald/articles_skipped_known"] > 0
    assert "herald/articles_stored" not in history["plain"]
    assert "herald/refresh/requested" not in history["plain"]
    assert history["after_plain"] == history["first"]


def test_refresh_updated_replaces_the_changed_article(history: dict[str, Any]) -> None:
    before, row = history["first"][CHANGED], history["after_updated"][CHANGED]
    assert row["revision"] == 2
    assert row["body"].startswith(f"Correction: {FIRST_SENTENCE}")
    assert row["updated_at"] == datetime.fromisoformat("2025-06-19T01:30:00+00:00")
    assert row["first_seen_at"] == before["first_seen_at"]
    assert row["last_seen_at"] == row["fetched_at"] > before["last_seen_at"]
    assert history["updated"]["herald/refresh/revised"] == 1


def test_refresh_updated_leaves_cards_without_news_alone(history: dict[str, Any]) -> None:
    refetched = history["updated"]["herald/refresh/requested"]
    assert refetched < len(ALL_IDS)
    unchanged = [
        i
        for i in ALL_IDS
        if history["after_updated"][i]["last_seen_at"] == history["first"][i]["last_seen_at"]
    ]
    assert len(unchanged) == len(ALL_IDS) - refetched
    assert set(history["after_updated"]) == ALL_IDS


def test_refresh_all_finds_a_content_change_without_a_time_change(history: dict[str, Any]) -> None:
    row = history["after_all"][CHANGED]
    assert row["revision"] == 3
    assert row["body"].startswith(f"Corrected again: {FIRST_SENTENCE}")
    assert history["all"]["herald/refresh/requested"] == len(ALL_IDS)
    assert history["all"]["herald/refresh/revised"] == 1
    assert history["all"]["herald/refresh/unchanged"] == len(ALL_IDS) - 1


def test_unchanged_articles_only_move_last_seen_at(history: dict[str, Any]) -> None:
    for article_id in ALL_IDS - {CHANGED}:
        before, after = history["first"][article_id], history["after_all"][article_id]
        assert after["last_seen_at"] > before["last_seen_at"], article_id
        assert {k: v for k, v in after.items() if k != "last_seen_at"} == {
            k: v for k, v in before.items() if k != "last_seen_at"
        }


def test_every_version_is_kept_in_article_revisions(history: dict[str, Any]) -> None:
    versions = sorted(
        (r for r in history["revisions"] if r["article_id"] == CHANGED), key=lambda r: r["revision"]
    )
    assert [r["revision"] for r in versions] == [1, 2, 3]
    assert versions[0]["body"].startswith(FIRST_SENTENCE)
    assert versions[1]["body"].startswith(f"Correction: {FIRST_SENTENCE}")
    assert versions[2] == history["after_all"][CHANGED]
    keys = [(r["article_id"], r["revision"]) for r in history["revisions"]]
    assert len(keys) == len(set(keys)) == len(ALL_IDS) + 2


def test_runs_table_reports_each_crawl(history: dict[str, Any]) -> None:
    runs = sorted(history["runs"], key=lambda r: r["started_at"])
    assert [r["refresh"] for r in runs] == [None, None, "updated", "all"]
    assert [r["articles_stored"] for r in runs] == [len(ALL_IDS), 0, 0, 0]
    assert [r["articles_revised"] for r in runs] == [0, 0, 1, 1]
    assert runs[3]["articles_refreshed"] == len(ALL_IDS)
    assert all(r["finish_reason"] == "finished" and r["pages_fetched"] > 0 for r in runs)
    coverage = {c["name"]: c["share"] for c in runs[0]["field_coverage"]}
    assert coverage["title"] == 1.0
    assert 0 < coverage["updated_at"] < 1


def test_a_crawl_compacts_tables_past_the_file_threshold(history: dict[str, Any]) -> None:
    # runs and links had 4 files (one per crawl), revisions 3, articles 1: the first two compact.
    assert history["files"] == {"articles": 1, "article_revisions": 3, "links": 1, "runs": 1}
    assert "Compacted links: 4 files" in history["all_log"]
    assert "Compacted runs: 4 files (4 rows) into 1 files (4 rows)" in history["all_log"]
    assert len(history["runs"]) == 4


def test_links_table_records_every_link_of_every_crawl(history: dict[str, Any]) -> None:
    links = history["links"]
    assert len({r["crawl_id"] for r in links}) == 4
    kinds = {r["kind"] for r in links}
    assert {"section-card", "related", "latest-from", "discover-more"} <= kinds
    listing = "https://www.nzherald.co.nz/world/"
    from_listing = {r["to_url"] for r in links if r["from_url"] == listing and r["kind"] == "section-card"}
    assert any(CHANGED in url for url in from_listing)


def test_links_are_seen_while_their_crawl_runs(history: dict[str, Any]) -> None:
    runs = {r["crawl_id"]: r for r in history["runs"]}
    for row in history["links"]:
        run = runs[row["crawl_id"]]
        assert row["seen_at"].microsecond == 0 and row["seen_at"].utcoffset() == timedelta(0)
        assert run["started_at"].replace(microsecond=0) <= row["seen_at"] <= run["finished_at"]
