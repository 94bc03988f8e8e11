"""The backfill mirror of ``benchmarks.make_mirror`` (``build(..., sitemaps=True)``): its
sitemaps list every article once, its links reach only the newest ~30, and the link-only
build is unchanged; then a real backfill crawl of one (the benchmark itself is not a test)."""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from datetime import timedelta
from pathlib import Path

import pytest

from benchmarks.make_mirror import (
    FIRST_DAY,
    NEWEST,
    NEWS_SITEMAP_URL,
    PER_DAY,
    SITEMAP_INDEX_URL,
    build,
    load_templates,
    plan,
)
from herald_spider import urls
from herald_spider.dataset.files import read_articles
from herald_spider.replay import mirror_path

PROJECT = Path(__file__).resolve().parents[1]
COUNT = 80
NS = {
    "s": "http://www.sitemaps.org/schemas/sitemap/0.9",
    "news": "http://www.google.com/schemas/sitemap-news/0.9",
}
DAY_URL = re.compile(
    r"^https://www\.nzherald\.co\.nz/arc/outboundfeeds/(sitemap[23]?)/(\d{4}-\d{2}-\d{2})/"
    r"\?outputType=xml&_website=nzh$"
)
ARTICLE_ID_IN_PAGE = re.compile(r"[A-Z0-9]{26}")


@pytest.fixture(scope="module")
def backfill(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("backfill") / "mirror"
    build(COUNT, out, sitemaps=True)
    return out


def article_urls(count: int) -> list[str]:
    """URLs of the mirror's articles, newest first (as the build plans them)."""
    return [urls.SITE_ROOT + a.path.strip("/") + "/" for a in plan(load_templates(), count)]


def locs(root: Path, url: str) -> list[str]:
    """The ``<loc>`` of every entry of a sitemap or sitemap index in the mirror."""
    tree = ET.parse(mirror_path(root, url))
    return [loc.text or "" for loc in tree.getroot().iterfind("*/s:loc", NS)]


def day_sitemaps(root: Path) -> list[str]:
    return locs(root, SITEMAP_INDEX_URL)


def folder_and_day(url: str) -> tuple[str, str]:
    found = DAY_URL.match(url)
    assert found, url
    return found.group(1), found.group(2)


def digest(root: Path) -> str:
    found = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        found.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes())
    return found.hexdigest()


def test_robots_names_the_sitemap_index_and_the_news_sitemap(backfill: Path) -> None:
    robots = (backfill / urls.HOST / "robots.txt").read_text(encoding="utf-8")
    lines = robots.splitlines()
    assert f"Sitemap: {SITEMAP_INDEX_URL}" in lines
    assert f"Sitemap: {NEWS_SITEMAP_URL}" in lines
    assert "User-agent: *" in lines


def test_the_index_lists_one_sitemap_a_day_newest_first_each_in_the_mirror(backfill: Path) -> None:
    days = day_sitemaps(backfill)
    assert len(days) == -(-COUNT // PER_DAY) == 3
    raw = mirror_path(backfill, SITEMAP_INDEX_URL).read_text(encoding="utf-8")
    assert '<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">' in raw
    assert "?outputType=xml&amp;_website=nzh</loc>" in raw
    for n, url in enumerate(days):
        folder, day = folder_and_day(url)
        assert day == str(FIRST_DAY - timedelta(days=n))
        assert folder == ("sitemap" if n < 2 else "sitemap2" if n < 7 else "sitemap3")
        assert mirror_path(backfill, url).is_file(), url


def test_older_days_go_to_sitemap2_then_sitemap3(tmp_path: Path) -> None:
    build(9 * PER_DAY, tmp_path, sitemaps=True)
    days = day_sitemaps(tmp_path)
    folders = [folder_and_day(url)[0] for url in days]
    assert folders == ["sitemap"] * 2 + ["sitemap2"] * 5 + ["sitemap3"] * 2
    assert days[-1].endswith("/sitemap3/2025-06-10/?outputType=xml&_website=nzh")
    assert all(mirror_path(tmp_path, url).is_file() for url in days)


def test_every_article_is_in_exactly_one_day_sitemap(backfill: Path) -> None:
    listed: list[str] = []
    for url in day_sitemaps(backfill):
        day = folder_and_day(url)[1]
        tree = ET.parse(mirror_path(backfill, url))
        assert tree.getroot().tag == "{http://www.sitemaps.org/schemas/sitemap/0.9}urlset"
        stamps = [m.text or "" for m in tree.getroot().iterfind("s:url/s:lastmod", NS)]
        assert all(re.fullmatch(rf"{day}T\d\d:\d\d:\d\d\.000Z", s) for s in stamps), stamps[:3]
        assert stamps == sorted(stamps, reverse=True)
        listed += [loc for loc in locs(backfill, url) if "/world/" in loc]
    mirror = article_urls(COUNT)
    assert sorted(listed) == sorted(mirror)
    for url in mirror:
        assert mirror_path(backfill, url).is_file(), url


def test_other_sections_are_listed_but_not_in_the_mirror(backfill: Path) -> None:
    foreign = [loc for url in day_sitemaps(backfill) for loc in locs(backfill, url) if "/world/" not in loc]
    assert len(foreign) > 4 * COUNT
    assert {loc.split("/")[3] for loc in foreign} == {"nz", "sport", "business"}
    for loc in foreign:
        assert re.search(r"/[A-Z2-7]{26}/$", loc), loc
        assert not mirror_path(backfill, loc).exists(), loc


def test_the_news_sitemap_lists_the_newest_articles(backfill: Path) -> None:
    tree = ET.parse(mirror_path(backfill, NEWS_SITEMAP_URL))
    listed = [loc.text for loc in tree.getroot().iterfind("s:url/s:loc", NS)]
    assert sorted(listed) == sorted(article_urls(COUNT)[:20])
    titles = [t.text for t in tree.getroot().iterfind("s:url/news:news/news:title", NS)]
    assert len(titles) == 20 and all(titles)


def test_article_links_reach_only_the_newest_articles(backfill: Path) -> None:
    planned = plan(load_templates(), COUNT)
    newest = {a.article_id for a in planned[:NEWEST]}
    every = {a.article_id for a in planned}
    for article in planned[::7]:
        page = mirror_path(backfill, urls.SITE_ROOT + article.path.strip("/") + "/").read_text(
            encoding="utf-8"
        )
        named = set(ARTICLE_ID_IN_PAGE.findall(page)) & every
        assert named - newest - {article.article_id} == set(), article.path
        assert named & newest, article.path
    for section in ("world", "world/asia"):
        page = (backfill / urls.HOST / section / "index.html").read_text(encoding="utf-8")
        assert set(ARTICLE_ID_IN_PAGE.findall(page)) & every <= newest


def test_the_link_only_build_is_unchanged(tmp_path: Path) -> None:
    build(COUNT, tmp_path / "default")
    build(COUNT, tmp_path / "links", sitemaps=False)
    build(COUNT, tmp_path / "backfill", sitemaps=True)
    assert digest(tmp_path / "default") == digest(tmp_path / "links")
    assert not (tmp_path / "links" / urls.HOST / "arc").exists()
    # the link-only build's files: robots.txt, 8 section pages and the articles, nothing more
    files = [p for p in (tmp_path / "links").rglob("*") if p.is_file()]
    assert len(files) == 1 + 8 + COUNT
    fixture_robots = PROJECT / "tests" / "fixtures" / "site" / urls.HOST / "robots.txt"
    assert (tmp_path / "links" / urls.HOST / "robots.txt").read_bytes() == fixture_robots.read_bytes()
    # same articles at the same paths in both builds, only their links differ
    article_files = {p.relative_to(tmp_path / "links") for p in files if "/world/" in p.as_posix()}
    backfill_files = {
        p.relative_to(tmp_path / "backfill") for p in (tmp_path / "backfill" / urls.HOST / "world").rglob("*")
    }
    assert article_files <= backfill_files


def test_a_backfill_crawl_stores_every_article_with_no_404(backfill: Path, tmp_path: Path) -> None:
    """A real crawl (a few seconds): ``scrapy crawl world -a since=2000-01-01`` on the
    backfill mirror reads the sitemaps and stores all its articles, asking for no story of
    another section (those would answer 404)."""
    dataset = tmp_path / "dataset"
    command = [sys.executable, "-m", "scrapy", "crawl", "world", "-a", "since=2000-01-01"]
    command += ["-s", f"HERALD_REPLAY={backfill}", "-s", f"HERALD_DATASET_DIR={dataset}"]
    command += ["-s", "LOG_LEVEL=INFO", "-s", "LOGSTATS_INTERVAL=0"]
    done = subprocess.run(command, cwd=PROJECT, capture_output=True, text=True, timeout=300)
    log = done.stdout + done.stderr
    assert done.returncode == 0, log[-3000:]
    assert "Traceback" not in log, log[-3000:]
    assert "'herald/articles_stored': 80" in log, log[-3000:]
    assert "downloader/response_status_count/404" not in log, log[-3000:]
    stored = read_articles(dataset).column("url").to_pylist()
    assert sorted(stored) == sorted(article_urls(COUNT))
