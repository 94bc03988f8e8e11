"""A run of challenge pages served as 200 stops the crawl with a clear finish reason."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.conftest import SITE, expected_articles, saved_page
from tests.test_crawl import crawl

CHALLENGE = (
    Path(__file__).parent
    / "fixtures/bad/www.nzherald.co.nz/world/challenge-200/CHALLENGE20000000000000099/index.html"
)


def test_challenge_pages_in_a_row_close_the_crawl(tmp_path: Path) -> None:
    mirror = tmp_path / "mirror"
    shutil.copytree(SITE, mirror)
    for article in expected_articles():
        shutil.copyfile(CHALLENGE, saved_page(article["url"], mirror))
    result = crawl(
        "world",
        "-s",
        "HERALD_SOFTBLOCK_LIMIT=3",
        "-s",
        "CONCURRENT_REQUESTS=1",
        replay=mirror,
        dataset=tmp_path / "dataset",
        level="INFO",
        code=4,  # the site could not be crawled
    )
    assert "'finish_reason': 'soft_blocked'" in result["log"]
    assert "FAILED its checks (exit code 4): the site answered with challenge pages" in result["log"]
    assert "3 challenge pages in a row" in result["log"]
    assert result["stats"]["herald/soft_blocked"] == 3
    assert "herald/articles_stored" not in result["stats"]
    assert result["stats"]["herald/replay/served"] < len(expected_articles())
