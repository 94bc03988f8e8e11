"""A run of challenge pages served as 200 stops the crawl with a clear finish reason."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from herald_spider.dataset import read_articles
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
    )
    assert "'finish_reason': 'soft_blocked'" in result["log"]
    assert "3 challenge pages in a row" in result["log"]
    assert result["stats"]["herald/soft_blocked"] == 3
    assert "herald/articles_stored" not in result["stats"]
    assert result["stats"]["herald/replay/served"] < len(expected_articles())


def test_scattered_challenge_pages_are_counted_and_the_crawl_goes_on(tmp_path: Path) -> None:
    mirror = tmp_path / "mirror"
    shutil.copytree(SITE, mirror)
    articles = expected_articles()
    blocked = articles[::2]  # 8 pages: fewer than the default limit of 10, even all in a row
    for article in blocked:
        shutil.copyfile(CHALLENGE, saved_page(article["url"], mirror))
    result = crawl("world", replay=mirror, dataset=tmp_path / "dataset")
    assert "'finish_reason': 'finished'" in result["log"]
    blocked_urls = {a["url"] for a in blocked}
    # every article fetched is either stored or counted as blocked (one behind a blocked
    # page may never be reached, which is why this does not compare with all 16)
    fetched = {url for status, url in result["requested"] if url in {a["url"] for a in articles}}
    warned = set(re.findall(r"Soft block \(challenge page served as 200, [^)]*\): (\S+)", result["log"]))
    stored = {row["url"] for row in read_articles(tmp_path / "dataset").to_pylist()}
    assert warned <= blocked_urls and warned
    assert stored == fetched and not stored & blocked_urls
    assert result["stats"]["herald/soft_blocked"] == len(warned)
    assert result["stats"]["herald/articles_stored"] == len(stored)
