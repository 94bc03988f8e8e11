"""A backfill over HTTP(S): sitemaps compressed on the wire, gzipped files, a gzip bomb sent
``Content-Encoding: gzip``, a 50 MB sitemap and a failing one, from a local stand-in for the
site (tests/faulty_site.py) serving the feeds mirror."""

from __future__ import annotations

import gzip
import re
from typing import Any
from urllib.parse import urlsplit

import pytest

from herald_spider import urls
from herald_spider.dataset.files import read_articles
from tests.faulty_site import Answer, FaultySite, crawl_through, self_signed_certificate, status
from tests.test_discovery import DAYS, FEEDS, SITE, listed_by, mirror_file

STATS = re.compile(r"'(herald/[^']+|downloader/[^']+)': (\d+)")
XML = ("Content-Type", "application/xml; charset=utf-8")


def path(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


def saved(day: str) -> bytes:
    return mirror_file(FEEDS, DAYS[day]).read_bytes()


def faults() -> dict[str, list[Answer]]:
    bomb = gzip.compress(b'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">' + b" " * 40_000_000)
    entry = b"<url><loc>https://www.nzherald.co.nz/nz/x/ABCDEFGHIJKLMNOPQRSTUVWXYZ/</loc></url>\n"
    big = b"<urlset>" + entry * (50_000_000 // len(entry)) + b"</urlset>"
    return {
        # compressed on the wire, as servers do: Scrapy's HttpCompressionMiddleware inflates it
        path(DAYS["2025-06-18"]): [
            Answer(200, (XML, ("Content-Encoding", "gzip")), gzip.compress(saved("2025-06-18")))
        ],
        # a .xml.gz file: gzip bytes, no Content-Encoding
        path(DAYS["2025-06-13"]): [
            Answer(200, (("Content-Type", "application/x-gzip"),), gzip.compress(saved("2025-06-13")))
        ],
        path(DAYS["2025-06-10"]): [Answer(200, (XML, ("Content-Encoding", "gzip")), bomb)],
        path(DAYS["2025-06-09"]): [Answer(200, (XML,), big)],
        path(DAYS["2025-05-23"]): [status(500)] * 3,
    }


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("feeds-http")
    with FaultySite(FEEDS, self_signed_certificate(root), faults=faults(), lifetime=100) as site:
        settings = {
            "HERALD_DATASET_DIR": root / "dataset",
            "DOWNLOAD_DELAY": 0,
            "AUTOTHROTTLE_ENABLED": False,
            "RETRY_TIMES": 2,
            "HERALD_BACKOFF_BASE": 0.1,
            "HERALD_BACKOFF_MAX": 0.5,
            "LOG_LEVEL": "INFO",
        }
        done = crawl_through(site, ["world", "-a", "since=2021-01-01"], settings)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    stats = {key: int(value) for key, value in STATS.findall(done.stderr)}
    stored = {row["url"] for row in read_articles(root / "dataset").to_pylist()}
    return {"site": site, "log": done.stderr, "stats": stats, "stored": stored}


def world(day: str) -> set[str]:
    return {url for url in listed_by(DAYS[day]) if urls.article_path_under(url, "world")}


def test_compressed_and_gzipped_sitemaps_are_read(run: dict[str, Any]) -> None:
    assert world("2025-06-18") | world("2025-06-13") <= run["stored"]


def test_gzip_bomb_on_the_wire_is_refused_and_counted(run: dict[str, Any]) -> None:
    assert "exceeded DOWNLOAD_MAXSIZE" in run["log"] and DAYS["2025-06-10"] in run["log"]
    assert run["stats"]["herald/page_problems/feed_too_large"] == 2  # the bomb and the 50 MB one


def test_sitemap_over_the_size_limit_is_cancelled(run: dict[str, Any]) -> None:
    assert f"The sitemap request failed: {DAYS['2025-06-09']}" in run["log"]


def test_failing_sitemap_is_retried_logged_and_the_crawl_goes_on(run: dict[str, Any]) -> None:
    assert len(run["site"].requests_for(path(DAYS["2025-05-23"]))) == 3
    assert run["stats"]["herald/feeds_failed/sitemap"] == 3
    others = [day for day in DAYS if day not in {"2025-06-10", "2025-06-09", "2025-05-23"}]
    wanted = set().union(*(world(day) for day in others))
    assert wanted <= run["stored"]
    assert "Spider closed (finished)" in run["log"]


def test_no_other_section_is_requested(run: dict[str, Any]) -> None:
    seen = {s.path for s in run["site"].seen}
    assert not seen & {path(url) for url in SITE["feeds"]["foreign_urls"]}
