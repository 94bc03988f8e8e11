"""Discovery through the site's sitemaps and feeds, end to end: ``scrapy crawl`` over the feeds
mirror (tests/fixtures/site-feeds: the World mirror plus robots.txt, the sitemap index, by-day
and news sitemaps, the World RSS feed and 8 articles no page links to)."""

from __future__ import annotations

import gzip
import json
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow.dataset as ds
import pytest

from herald_spider import urls
from herald_spider.dataset.files import read_table
from herald_spider.pages.feeds import FeedPage
from tests.conftest import FIXTURES
from tests.test_crawl import PROJECT, crawl

FEEDS = FIXTURES / "site-feeds"
SITE = json.loads((FEEDS / "expected" / "site.json").read_text(encoding="utf-8"))
EXPECTED = {
    a["article_id"]: a
    for a in map(json.loads, (FEEDS / "expected" / "articles.jsonl").read_text(encoding="utf-8").splitlines())
}
DAYS: dict[str, str] = SITE["feeds"]["day_sitemaps"]
INDEX_URL = SITE["feeds"]["sitemap_index"]


def mirror_file(root: Path, url: str) -> Path:
    """The file of ``url`` in a wget -x mirror (the query string kept in the file name)."""
    from herald_spider.replay import mirror_path

    return mirror_path(root, url)


def listed_by(url: str, root: Path = FEEDS) -> list[str]:
    """The entries of a saved feed."""
    page = FeedPage(url, mirror_file(root, url).read_bytes())
    return [entry.url for entry in page.entries()]


def world_entries(day_urls: list[str], root: Path = FEEDS) -> set[str]:
    return {u for day in day_urls for u in listed_by(day, root) if urls.article_path_under(u, "world")}


def stored(dataset: Path) -> dict[str, dict[str, Any]]:
    rows = ds.dataset(dataset / "articles").to_table().to_pylist()
    return {row["article_id"]: row for row in rows}


def requested(result: dict[str, Any]) -> set[str]:
    return {url for _, url in result["requested"]}


@pytest.fixture(scope="module")
def backfill(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    dataset = tmp_path_factory.mktemp("backfill")
    result = crawl("world", "-a", "since=2021-01-01", replay=FEEDS, dataset=dataset)
    return {**result, "dataset": dataset}


@pytest.fixture(scope="module")
def default(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    dataset = tmp_path_factory.mktemp("default")
    result = crawl("world", replay=FEEDS, dataset=dataset)
    return {**result, "dataset": dataset}


# --- backfill over the whole window -----------------------------------------------------------


def test_backfill_stores_every_article(backfill: dict[str, Any]) -> None:
    assert set(stored(backfill["dataset"])) == set(EXPECTED)
    assert backfill["stats"]["herald/articles_stored"] == len(EXPECTED)


@pytest.mark.parametrize(
    "field", ["url", "section", "subsection", "title", "description", "distributor", "premium"]
)
def test_backfill_stores_every_field_right(backfill: dict[str, Any], field: str) -> None:
    for article_id, row in stored(backfill["dataset"]).items():
        assert row[field] == EXPECTED[article_id][field], (article_id, field)


def test_backfill_stores_authors_and_times_right(backfill: dict[str, Any]) -> None:
    for article_id, row in stored(backfill["dataset"]).items():
        expected = EXPECTED[article_id]
        assert row["authors"] == expected["authors"], article_id
        assert row["published_at"].strftime("%Y-%m-%dT%H:%M:%SZ") == expected["published_at"], article_id
        updated = row["updated_at"].strftime("%Y-%m-%dT%H:%M:%SZ") if row["updated_at"] else None
        assert updated == expected["updated_at"], article_id


def test_backfill_requests_no_other_section_and_no_listing(backfill: dict[str, Any]) -> None:
    asked = requested(backfill)
    assert not asked & set(SITE["feeds"]["foreign_urls"])
    assert not asked & set(SITE["section_urls"])  # a backfill reads sitemaps, not listings
    assert all(status == 200 for status, _ in backfill["requested"])


def test_backfill_reads_the_index_through_robots_and_every_day(backfill: dict[str, Any]) -> None:
    asked = requested(backfill)
    assert urls.ROBOTS_URL in asked and INDEX_URL in asked
    days = {url for url in asked if "/arc/outboundfeeds/sitemap" in url and url != INDEX_URL}
    assert days == set(DAYS.values()) | {INDEX_URL.replace("sitemap-index/", "sitemap3/2021-12-27/")}
    assert backfill["stats"]["herald/sitemaps/read"] == len(days)


def test_backfill_counts_its_discoveries(backfill: dict[str, Any]) -> None:
    stats = backfill["stats"]
    assert stats["herald/discovery/sitemap"] == len(EXPECTED)
    assert stats["herald/discovery/sitemap/listed"] == len(EXPECTED)
    assert stats["herald/discovery/outside_section"] == len(SITE["feeds"]["foreign_urls"])
    assert "herald/discovery/links" not in stats  # a backfill follows no links


def test_backfill_links_table_says_which_sitemap_listed_each_article(backfill: dict[str, Any]) -> None:
    links = read_table(backfill["dataset"] / "links", "links").to_pylist()
    from_sitemap = {(row["to_url"], row["from_url"]) for row in links if row["kind"] == "sitemap"}
    assert {to for to, _ in from_sitemap} == {a["url"] for a in EXPECTED.values()}
    for to_url, from_url in from_sitemap:
        assert to_url in listed_by(from_url)


def test_backfill_runs_row(backfill: dict[str, Any]) -> None:
    (run,) = read_table(backfill["dataset"] / "runs", "runs").to_pylist()
    assert run["since"] == date(2021, 1, 1) and run["until"] is not None
    discovery = {entry["name"]: entry["count"] for entry in run["discovery"]}
    assert discovery["sitemap"] == len(EXPECTED)
    assert run["finish_reason"] == "finished"


# --- a window ---------------------------------------------------------------------------------


def test_window_requests_only_its_days(tmp_path: Path) -> None:
    result = crawl(
        "world", "-a", "since=2024-12-01", "-a", "until=2025-04-30", replay=FEEDS, dataset=tmp_path
    )
    inside = [url for day, url in DAYS.items() if "2024-12-01" <= day <= "2025-04-30"]
    asked = requested(result)
    days = {url for url in asked if "/arc/outboundfeeds/sitemap" in url and url != INDEX_URL}
    assert days == set(inside)
    wanted = world_entries(inside)
    assert {url for url in asked if urls.article_id(url)} == wanted
    assert {row["url"] for row in stored(tmp_path).values()} == wanted
    assert result["stats"]["herald/sitemaps/outside_window"] == 20 - len(inside)


def test_section_backfill_keeps_to_its_section(tmp_path: Path) -> None:
    result = crawl(
        "section", "-a", "section=world/europe", "-a", "since=2021-01-01", replay=FEEDS, dataset=tmp_path
    )
    rows = stored(tmp_path).values()
    assert rows and {row["section_path"] for row in rows} == {"world/europe"}
    europe = {a["url"] for a in EXPECTED.values() if a["subsection"] == "europe"}
    assert {row["url"] for row in rows} == europe
    assert all(
        urls.article_path_under(url, "world/europe") for url in requested(result) if urls.article_id(url)
    )


# --- the default crawl ------------------------------------------------------------------------


def test_default_crawl_stores_linked_news_and_rss_articles(default: dict[str, Any]) -> None:
    assert set(stored(default["dataset"])) == set(EXPECTED)
    assert all(status == 200 for status, _ in default["requested"])


def test_default_crawl_reads_news_sitemap_and_rss_but_no_day(default: dict[str, Any]) -> None:
    asked = requested(default)
    assert SITE["feeds"]["news_sitemap"] in asked and SITE["feeds"]["rss_world"] in asked
    assert not asked & set(DAYS.values()) and INDEX_URL not in asked
    assert not asked & set(SITE["feeds"]["foreign_urls"])


def test_default_crawl_counts_each_source(default: dict[str, Any]) -> None:
    stats = default["stats"]
    assert stats["herald/discovery/news-sitemap/listed"] == len(SITE["feeds"]["news_urls"])
    assert stats["herald/discovery/rss/listed"] == len(SITE["feeds"]["rss_urls"])
    found = sum(stats.get(f"herald/discovery/{s}", 0) for s in ("links", "news-sitemap", "rss"))
    assert found == len(EXPECTED)  # each article counted once, for the source that found it first
    only_in_feeds = {a["url"] for a in EXPECTED.values() if a.get("reach")}
    assert stats.get("herald/discovery/news-sitemap", 0) + stats.get("herald/discovery/rss", 0) >= len(
        only_in_feeds
    )


def test_default_crawl_links_table_has_the_feed_kinds(default: dict[str, Any]) -> None:
    links = read_table(default["dataset"] / "links", "links").to_pylist()
    news = {row["to_url"] for row in links if row["kind"] == "news-sitemap"}
    rss = {row["to_url"] for row in links if row["kind"] == "rss"}
    assert news == set(SITE["feeds"]["news_urls"])
    assert rss == set(SITE["feeds"]["rss_urls"])
    assert {row["from_url"] for row in links if row["kind"] == "rss"} == {SITE["feeds"]["rss_world"]}


def test_robots_without_sitemaps_falls_back_to_the_known_urls(tmp_path: Path) -> None:
    mirror = tmp_path / "mirror"
    shutil.copytree(FEEDS, mirror)
    robots = mirror / urls.HOST / "robots.txt"
    robots.write_text("User-agent: *\nAllow: /\n", encoding="utf-8")
    result = crawl("world", "-a", "since=2021-01-01", replay=mirror, dataset=tmp_path / "dataset")
    assert INDEX_URL in requested(result)
    assert result["stats"]["herald/articles_stored"] == len(EXPECTED)


# --- refresh from sitemap times ----------------------------------------------------------------


def test_refresh_updated_refetches_an_article_whose_lastmod_is_newer(tmp_path: Path) -> None:
    mirror = tmp_path / "mirror"
    shutil.copytree(FEEDS, mirror)
    dataset = tmp_path / "dataset"
    crawl("world", "-a", "since=2025-06-01", replay=mirror, dataset=dataset)
    day = mirror_file(mirror, DAYS["2025-06-10"])
    text = day.read_text(encoding="utf-8")
    assert "<lastmod>2025-06-10" in text
    day.write_text(text.replace("<lastmod>2025-06-10", "<lastmod>2025-06-11"), encoding="utf-8")
    again = crawl("world", "-a", "since=2025-06-01", "-a", "refresh=updated", replay=mirror, dataset=dataset)
    assert again["stats"]["herald/refresh/requested"] == 1
    refetched = {url for url in requested(again) if urls.article_id(url)}
    assert refetched == {url for url in listed_by(DAYS["2025-06-10"], mirror) if "/world/" in url}


# --- bad input --------------------------------------------------------------------------------


def spoil(mirror: Path) -> dict[str, str]:
    """Break a copy of the feeds mirror in every way a sitemap can be broken; day -> how."""
    how: dict[str, str] = {}

    def day_file(day: str) -> Path:
        return mirror_file(mirror, DAYS[day])

    index = mirror_file(mirror, INDEX_URL)
    self_entry = f"<sitemap><loc>{INDEX_URL.replace('&', '&amp;')}</loc></sitemap>\n</sitemapindex>"
    index.write_text(
        index.read_text(encoding="utf-8").replace("</sitemapindex>", self_entry), encoding="utf-8"
    )
    text = day_file("2025-06-10").read_bytes()
    day_file("2025-06-10").write_bytes(text[: text.index(b"</url>") + 6 + 40])
    how["2025-06-10"] = "feed_malformed"
    day_file("2025-06-09").write_text(
        "<!DOCTYPE html><html><head><title>Page not found</title></head><body>404</body></html>",
        encoding="utf-8",
    )
    how["2025-06-09"] = "feed_not_xml"
    text = day_file("2025-05-23").read_text(encoding="utf-8")
    day_file("2025-05-23").write_text(
        text.replace(' xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"', "")
    )
    how["2025-05-23"] = "feed_namespace"
    text = day_file("2025-04-21").read_text(encoding="utf-8")
    text = text.replace("<lastmod>2025-04-21T", "<lastmod>2025-04-32T")
    text = text.replace("<loc>https://www.nzherald.co.nz/", "<loc>/", 1)
    text = text.replace(
        "</urlset>", "<url><loc>https://evil.example/world/x/ABCDEFGHIJKLMNOPQRSTUVWXYZ/</loc></url></urlset>"
    )
    day_file("2025-04-21").write_text(text, encoding="utf-8")
    how["2025-04-21"] = "feed_bad_date feed_bad_loc"
    bomb = gzip.compress(b'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">' + b" " * 40_000_000)
    day_file("2024-12-30").write_bytes(bomb)
    how["2024-12-30"] = "feed_too_large"
    big = day_file("2024-12-21")
    with big.open("wb") as out:  # 50 MB: over DOWNLOAD_MAXSIZE (32 MB), never read
        out.write(b'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">')
        entry = b"<url><loc>https://www.nzherald.co.nz/nz/x/ABCDEFGHIJKLMNOPQRSTUVWXYZ/</loc></url>\n"
        out.write(entry * (50_000_000 // len(entry)))
        out.write(b"</urlset>")
    how["2024-12-21"] = "feed_too_large"
    return how


@pytest.fixture(scope="module")
def spoilt(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    mirror = tmp_path_factory.mktemp("spoilt") / "mirror"
    shutil.copytree(FEEDS, mirror)
    how = spoil(mirror)
    dataset = mirror.parent / "dataset"
    result = crawl("world", "-a", "since=2021-01-01", replay=mirror, dataset=dataset)
    return {**result, "dataset": dataset, "how": how, "mirror": mirror}


@pytest.mark.parametrize(
    ("problem", "day"),
    [
        ("feed_malformed", "2025-06-10"),
        ("feed_not_xml", "2025-06-09"),
        ("feed_namespace", "2025-05-23"),
        ("feed_bad_date", "2025-04-21"),
        ("feed_bad_loc", "2025-04-21"),
        ("feed_too_large", "2024-12-30"),
    ],
)
def test_bad_sitemap_is_logged_with_its_url_and_counted(
    spoilt: dict[str, Any], problem: str, day: str
) -> None:
    assert spoilt["stats"][f"herald/page_problems/{problem}"] >= 1
    assert f"Feed problem at {DAYS[day]}: {problem}:" in spoilt["log"]


def test_index_that_lists_itself_is_logged_and_not_followed(spoilt: dict[str, Any]) -> None:
    assert spoilt["stats"]["herald/page_problems/feed_lists_itself"] == 1
    assert f"Feed problem at {INDEX_URL}: feed_lists_itself:" in spoilt["log"]
    assert sum(1 for _, url in spoilt["requested"] if url == INDEX_URL) == 1


def test_sitemap_over_the_size_limit_is_not_read(spoilt: dict[str, Any]) -> None:
    assert spoilt["stats"]["herald/page_problems/feed_too_large"] == 2  # the 50 MB one and the gzip bomb
    assert DAYS["2024-12-21"] in spoilt["log"] and "herald/replay/too_large" in spoilt["log"]


def test_crawl_goes_on_past_bad_sitemaps(spoilt: dict[str, Any]) -> None:
    """Every World article of an intact day is stored, and the ones before a cut."""
    intact = [url for day, url in DAYS.items() if day not in spoilt["how"]]
    wanted = world_entries(intact, spoilt["mirror"])
    wanted |= world_entries([DAYS["2025-06-10"]], spoilt["mirror"])  # what came before the cut
    wanted |= world_entries([DAYS["2025-05-23"]], spoilt["mirror"])  # read without its namespace
    wanted |= {u for u in listed_by(DAYS["2025-04-21"], spoilt["mirror"]) if "/world/" in u}
    got = {row["url"] for row in stored(spoilt["dataset"]).values()}
    assert wanted and got == wanted
    assert "Spider closed (finished)" in spoilt["log"]
    assert not requested(spoilt) & set(SITE["feeds"]["foreign_urls"])


def test_bad_news_sitemap_and_rss_do_not_stop_the_default_crawl(tmp_path: Path) -> None:
    mirror = tmp_path / "mirror"
    shutil.copytree(FEEDS, mirror)
    mirror_file(mirror, SITE["feeds"]["news_sitemap"]).write_text(
        "<html><body>Oops</body></html>", encoding="utf-8"
    )
    rss = mirror_file(mirror, SITE["feeds"]["rss_world"])
    rss.write_bytes(rss.read_bytes()[:3000])
    result = crawl("world", replay=mirror, dataset=tmp_path / "dataset", level="INFO")
    assert result["stats"]["herald/page_problems/feed_not_xml"] == 1
    assert result["stats"]["herald/page_problems/feed_malformed"] == 1
    linked = set(SITE["article_urls"]) - {a["url"] for a in EXPECTED.values() if a.get("reach")}
    assert linked <= {row["url"] for row in stored(tmp_path / "dataset").values()}


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["-a", "since=2025-13-01"], "since='2025-13-01' is not a date"),
        (["-a", "since=yesterday"], "since='yesterday' is not a date"),
        (["-a", "since=2025-03-31", "-a", "until=2025-01-01"], "until=2025-01-01 is before since=2025-03-31"),
        (["-a", "since=2999-01-01"], "since=2999-01-01 is in the future"),
        (["-a", "since=2025-01-01", "-a", "until=2999-01-01"], "until=2999-01-01 is in the future"),
    ],
)
def test_bad_arguments_stop_at_once_with_one_line(tmp_path: Path, args: list[str], words: str) -> None:
    command = [sys.executable, "-m", "scrapy", "crawl", "world", *args, "-s", f"HERALD_REPLAY={FEEDS}"]
    command += ["-s", f"HERALD_DATASET_DIR={tmp_path / 'dataset'}"]
    done = subprocess.run(command, cwd=PROJECT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert done.stderr.strip().count("\n") == 0 and words in done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    assert not (tmp_path / "dataset").exists()


def test_backfill_logs_its_progress(tmp_path: Path) -> None:
    result = crawl(
        "world", "-a", "since=2021-01-01", "-s", "HERALD_PROGRESS_INTERVAL=60", replay=FEEDS, dataset=tmp_path
    )
    lines = [line for line in result["log"].splitlines() if "Backfill of world, 2021-01-01 to " in line]
    assert lines and "20/20 sitemap days read, 24 articles read (24 written), 0 requests queued" in lines[-1]


def test_backfill_queue_holds_a_day_at_most(tmp_path: Path) -> None:
    """A backfill of many days never holds them all in its queue: the next day's sitemap is
    requested once the queue is down to HERALD_BACKFILL_QUEUE."""
    from benchmarks.make_mirror import build

    mirror = tmp_path / "mirror"
    build(700, mirror, sitemaps=True)  # 20 days of 35 World stories
    args = ("-a", "since=2000-01-01", "-s", "HERALD_BACKFILL_QUEUE=10")
    result = crawl("world", *args, replay=mirror, dataset=tmp_path / "d")
    assert result["stats"]["herald/articles_stored"] == 700
    assert result["stats"]["herald/sitemaps/read"] == 20
    assert result["stats"]["herald/backfill/max_queued"] <= 10 + 35 + 1
