"""What replay refuses: a ``HERALD_REPLAY`` that is not a mirror directory (the crawl stops
before its first request instead of crawling the live site), and saved files over
``DOWNLOAD_MAXSIZE`` (not read; the request fails as Scrapy's HTTP handler fails it).

The large pages are made here (a 5 MB file does not belong in git).
"""

from __future__ import annotations

import logging
import re
import shutil
import subprocess
import sys
import tracemalloc
from pathlib import Path
from typing import Any

import pytest
from scrapy import Request
from scrapy.exceptions import DownloadCancelledError, NotConfigured
from scrapy.utils.test import get_crawler

from herald_spider.dataset.files import read_articles
from herald_spider.errors import Refused
from herald_spider.replay import ReplayMiddleware
from tests.conftest import SITE, expected_site, saved_page
from tests.test_crawl import crawl

PROJECT = Path(__file__).resolve().parents[1]
WORLD = "https://www.nzherald.co.nz/world/"
ARTICLE = "https://www.nzherald.co.nz/world/a-story/ABCDEFGHIJKLMNOPQRSTUVWXYZ/"
#: Replaced by a file over DOWNLOAD_MAXSIZE in the crawl below.
TOO_LARGE = (
    "https://www.nzherald.co.nz/world/us-fed-holds-rates-steady-amid-rising-inflation-growth-concerns/"
    "4FNSMDYJEPLVR7RT3WW6ETSFJW/"
)
#: Given a body over DOWNLOAD_WARNSIZE and HERALD_MAX_BODY_CHARS: read, then dropped.
LARGE_BODY = (
    "https://www.nzherald.co.nz/world/this-simple-fitness-test-might-predict-how-long-youll-live/"
    "XZWNICIFVYVM6GXYMQM53YNZRR/"
)
WORDS = "Words of a body far longer than any article. "
MAXSIZE, WARNSIZE, MAX_BODY_CHARS = 4_000_000, 200_000, 100_000


def middleware_for(mirror: Path, **settings: Any) -> ReplayMiddleware:
    crawler = get_crawler(settings_dict={"HERALD_REPLAY": str(mirror), **settings})
    crawler.stats.open_spider()  # type: ignore[union-attr]
    return ReplayMiddleware.from_crawler(crawler)


# --- the mirror path ----------------------------------------------------------------------


@pytest.mark.parametrize("value", ["", None])
def test_unset_replay_is_not_configured(value: str | None) -> None:
    with pytest.raises(NotConfigured):
        ReplayMiddleware.from_crawler(get_crawler(settings_dict={"HERALD_REPLAY": value}))


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("no-such-dir", "does not exist"),
        ("notes.txt", "is not a WARC file"),
        ("empty", "holds neither a mirror"),
        ("other", "holds neither a mirror"),
    ],
)
def test_replay_path_with_nothing_to_replay_is_refused(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, name: str, problem: str
) -> None:
    (tmp_path / "notes.txt").write_bytes(b"WARC/1.0\r\n")
    (tmp_path / "empty").mkdir()
    (tmp_path / "other" / "example.org").mkdir(parents=True)
    (tmp_path / "other" / "example.org" / "index.html").write_text("<html></html>")
    path = tmp_path / name
    with caplog.at_level(logging.ERROR), pytest.raises(Refused) as refused:
        ReplayMiddleware.from_crawler(get_crawler(settings_dict={"HERALD_REPLAY": str(path)}))
    message = str(refused.value)
    assert f"HERALD_REPLAY={path} {problem}" in message and "\n" not in message
    assert [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR] == [message]


def test_crawl_with_a_mistyped_replay_path_stops_before_any_request(tmp_path: Path) -> None:
    dataset = tmp_path / "dataset"
    command = [sys.executable, "-m", "scrapy", "crawl", "world"]
    for setting in (
        "HERALD_REPLAY=/no/such/dir",
        f"HERALD_DATASET_DIR={dataset}",
        "DOWNLOAD_TIMEOUT=2",  # no network here; the old code went to it
        "RETRY_TIMES=0",
        "LOG_LEVEL=DEBUG",
    ):
        command += ["-s", setting]
    done = subprocess.run(command, cwd=PROJECT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1  # herald_spider.commands.crawl: the crawl did not start
    assert "HERALD_REPLAY=/no/such/dir does not exist" in done.stderr.splitlines()[-1]
    assert "Traceback" not in done.stderr
    assert "Crawled (" not in done.stderr
    assert not re.search(r"DNS lookup failed|Error downloading|Could not resolve|robots\.txt", done.stderr)
    assert "Spider opened" not in done.stderr
    assert not dataset.exists(), "the dataset folder was made before the refusal"


# --- sizes ------------------------------------------------------------------------------


@pytest.fixture
def mirror(tmp_path: Path) -> Path:
    """A mirror whose one article is a 50 MB file (sparse: it takes no disk)."""
    page = saved_page(ARTICLE, tmp_path)
    page.parent.mkdir(parents=True)
    with page.open("wb") as file:
        file.write(b"<html><body><p>")
        file.truncate(50 * 1024 * 1024)
    return tmp_path


def test_file_over_maxsize_is_not_read_and_fails_the_request(
    mirror: Path, caplog: pytest.LogCaptureFixture
) -> None:
    middleware = middleware_for(mirror, DOWNLOAD_MAXSIZE=1_000_000)
    tracemalloc.start()
    try:
        with caplog.at_level(logging.WARNING), pytest.raises(DownloadCancelledError) as cancelled:
            middleware.process_request(Request(ARTICLE))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1_000_000
    assert str(cancelled.value) == (
        f"Expected to receive {50 * 1024 * 1024} bytes which is larger than download max size "
        f"(1000000) in request <GET {ARTICLE}>."
    )
    assert [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING] == [str(cancelled.value)]
    stats = middleware.stats
    assert stats.get_value("herald/replay/too_large") == 1  # type: ignore[union-attr]
    assert stats.get_value("herald/replay/served") is None  # type: ignore[union-attr]


def test_request_meta_sets_the_maxsize(mirror: Path) -> None:
    middleware = middleware_for(mirror, DOWNLOAD_MAXSIZE=0)
    with pytest.raises(DownloadCancelledError):
        middleware.process_request(Request(ARTICLE, meta={"download_maxsize": 1000}))
    assert middleware.stats.get_value("herald/replay/too_large") == 1  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("settings", "meta"),
    [
        ({"DOWNLOAD_MAXSIZE": 0, "DOWNLOAD_WARNSIZE": 0}, {}),  # 0: no limit, as in Scrapy
        ({"DOWNLOAD_MAXSIZE": 1000, "DOWNLOAD_WARNSIZE": 0}, {"download_maxsize": 0}),
    ],
)
def test_zero_is_no_limit(
    mirror: Path, caplog: pytest.LogCaptureFixture, settings: dict[str, int], meta: dict[str, int]
) -> None:
    with caplog.at_level(logging.WARNING):
        response = middleware_for(mirror, **settings).process_request(Request(ARTICLE, meta=meta))
    assert response.status == 200 and len(response.body) == 50 * 1024 * 1024
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_file_over_warnsize_is_served_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    size = saved_page(WORLD).stat().st_size
    middleware = middleware_for(SITE, DOWNLOAD_MAXSIZE=size, DOWNLOAD_WARNSIZE=1000)
    with caplog.at_level(logging.WARNING):
        response = middleware.process_request(Request(WORLD))
    assert response.status == 200 and len(response.body) == size
    warning = f"Expected to receive {size} bytes which is larger than download warn size (1000) in request"
    assert [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING] == [
        f"{warning} <GET {WORLD}>."
    ]
    assert middleware.stats.get_value("herald/replay/served") == 1  # type: ignore[union-attr]


# --- a replay crawl with a page over each limit -----------------------------------------------


@pytest.fixture(scope="module")
def large_pages_crawl(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("large")
    mirror = root / "mirror"
    shutil.copytree(SITE, mirror)
    too_large = saved_page(TOO_LARGE, mirror)
    html = too_large.read_text(encoding="utf-8")
    too_large.write_text(html + "<!-- " + WORDS * (MAXSIZE // len(WORDS) + 1) + "-->", encoding="utf-8")
    large_body = saved_page(LARGE_BODY, mirror)
    html, found = re.subn(
        r'(<section class="article__body[^>]*>)',
        lambda m: m.group(1) + "<p>" + WORDS * (2 * MAX_BODY_CHARS // len(WORDS)) + "</p>",
        large_body.read_text(encoding="utf-8"),
        count=1,
    )
    assert found == 1
    large_body.write_text(html, encoding="utf-8")
    assert too_large.stat().st_size > MAXSIZE > large_body.stat().st_size > WARNSIZE
    result = crawl(
        "world",
        "-s",
        f"DOWNLOAD_MAXSIZE={MAXSIZE}",
        "-s",
        f"DOWNLOAD_WARNSIZE={WARNSIZE}",
        "-s",
        f"HERALD_MAX_BODY_CHARS={MAX_BODY_CHARS}",
        replay=mirror,
        dataset=root / "dataset",
        level="INFO",
    )
    rows = {row["url"]: row for row in read_articles(root / "dataset").to_pylist()}
    return {**result, "rows": rows, "size": too_large.stat().st_size}


def lines_with(log: str, url: str) -> list[str]:
    return [line for line in log.splitlines() if url in line]


def test_page_over_maxsize_fails_and_is_counted(large_pages_crawl: dict[str, Any]) -> None:
    stats, log = large_pages_crawl["stats"], large_pages_crawl["log"]
    assert stats["herald/replay/too_large"] == 1
    assert stats["herald/request_failures/DownloadCancelledError"] == 1
    assert stats["herald/articles_failed"] == 1
    size = large_pages_crawl["size"]
    warning = (
        f"WARNING: Expected to receive {size} bytes which is larger than download max size ({MAXSIZE}) "
        f"in request <GET {TOO_LARGE}>."
    )
    assert any(line.endswith(warning) for line in lines_with(log, TOO_LARGE)), lines_with(log, TOO_LARGE)
    assert any("Article request failed" in line for line in lines_with(log, TOO_LARGE))
    assert TOO_LARGE not in large_pages_crawl["rows"]


def test_page_over_warnsize_is_read_with_a_warning(large_pages_crawl: dict[str, Any]) -> None:
    lines = lines_with(large_pages_crawl["log"], LARGE_BODY)
    assert any(f"larger than download warn size ({WARNSIZE})" in line for line in lines), lines
    assert large_pages_crawl["stats"]["herald/dropped/body_too_large"] == 1


def test_dropped_item_is_logged_by_url_and_reason_not_whole(large_pages_crawl: dict[str, Any]) -> None:
    log = large_pages_crawl["log"]
    dropped = [line for line in log.splitlines() if "Dropped:" in line]
    assert len(dropped) == 1, dropped
    assert dropped[0].split("WARNING: ", 1)[1].startswith("Dropped: Body of ")
    assert dropped[0].endswith(f"(body_too_large): {LARGE_BODY}")
    assert WORDS not in log
    assert max(len(line) for line in log.splitlines()) < 5000


def test_other_articles_are_stored(large_pages_crawl: dict[str, Any]) -> None:
    expected = set(expected_site()["article_urls"]) - {TOO_LARGE, LARGE_BODY}
    assert set(large_pages_crawl["rows"]) == expected
