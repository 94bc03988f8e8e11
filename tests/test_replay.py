"""The replay middleware: mirror layout, 404s, and nothing read outside the mirror."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from scrapy import Request
from scrapy.http import HtmlResponse, TextResponse
from scrapy.utils.test import get_crawler

from herald_spider.replay import ReplayMiddleware, UnsafePath, mirror_path
from tests.conftest import SITE


@pytest.fixture
def middleware() -> ReplayMiddleware:
    crawler = get_crawler(settings_dict={"HERALD_REPLAY": str(SITE)})
    crawler.stats.open_spider()  # type: ignore[union-attr]
    return ReplayMiddleware.from_crawler(crawler)


def test_serves_saved_pages(middleware: ReplayMiddleware) -> None:
    response = middleware.process_request(Request("https://www.nzherald.co.nz/world/"))
    assert isinstance(response, HtmlResponse) and response.status == 200
    assert b"story-list" in response.body


def test_serves_robots_txt(middleware: ReplayMiddleware) -> None:
    response = middleware.process_request(Request("https://www.nzherald.co.nz/robots.txt"))
    assert isinstance(response, TextResponse) and b"Disallow: /my-account/" in response.body


def test_missing_page_is_404(middleware: ReplayMiddleware) -> None:
    response = middleware.process_request(Request("https://www.nzherald.co.nz/world/nope/"))
    assert response.status == 404


@pytest.mark.parametrize(
    "url",
    [
        "https://www.nzherald.co.nz/%2e%2e/%2e%2e/etc/passwd",
        "https://www.nzherald.co.nz/world/%2E%2E/%2E%2E/%2E%2E/etc/",
        "https://www.nzherald.co.nz/world/..%2f..%2f..%2fetc/passwd",
        "https://www.nzherald.co.nz/world/index.html?x=%2F..%2F..%2Fsecret",
    ],
)
def test_traversal_is_refused(middleware: ReplayMiddleware, url: str) -> None:
    assert middleware.process_request(Request(url)).status == 403


def test_symlink_out_of_the_mirror_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "outside.html"
    outside.write_text("<html>secret</html>")
    mirror = tmp_path / "mirror" / "www.nzherald.co.nz" / "world"
    mirror.mkdir(parents=True)
    os.symlink(outside, mirror / "index.html")
    crawler = get_crawler(settings_dict={"HERALD_REPLAY": str(tmp_path / "mirror")})
    crawler.stats.open_spider()  # type: ignore[union-attr]
    response = ReplayMiddleware.from_crawler(crawler).process_request(
        Request("https://www.nzherald.co.nz/world/")
    )
    assert response.status == 403 and b"secret" not in response.body


def test_query_string_stays_in_the_file_name() -> None:
    path = mirror_path(Path("/m"), "https://www.nzherald.co.nz/world/a/ABCDEFGHIJKLMNOPQRSTUVWXYZ/?ref=x")
    assert path.name == "index.html?ref=x"
    with pytest.raises(UnsafePath):
        mirror_path(Path("/m"), "https://www.nzherald.co.nz/a/../../b")
