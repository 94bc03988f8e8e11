"""Dropped and failed items are logged by URL and reason, at Scrapy's levels, never whole.

``tests/test_replay_limits.py`` checks the same in a crawl: the "Dropped:" line of an article
with a 200 000-character body.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest
from scrapy.exceptions import DropItem
from scrapy.http import HtmlResponse
from scrapy.logformatter import LogFormatter
from scrapy.utils.spider import DefaultSpider
from scrapy.utils.test import get_crawler

from herald_spider.items import Article
from herald_spider.logformatter import MAX_REASON_CHARS, HeraldLogFormatter

URL = "https://www.nzherald.co.nz/world/a-story/ABCDEFGHIJKLMNOPQRSTUVWXYZ/"
BODY = "Words of a body far longer than any article. " * 100_000


def spider(**settings: Any) -> DefaultSpider:
    return DefaultSpider.from_crawler(get_crawler(DefaultSpider, settings_dict=settings))


def article(**fields: Any) -> Article:
    values = {"article_id": "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "url": URL, "title": "A story", "body": BODY}
    return Article(**{**values, **fields})


def logged(result: Any) -> str:
    return str(result["msg"] % result["args"])


def test_dropped_names_the_reason_and_the_url_not_the_item() -> None:
    drop = DropItem(f"Body of {len(BODY)} characters (body_too_large): {URL}")
    result = HeraldLogFormatter().dropped(article(), drop, HtmlResponse(URL), spider())
    assert logged(result) == f"Dropped: {drop}"
    assert result["level"] == logging.WARNING


def test_scrapy_would_log_the_whole_item() -> None:
    """What the formatter is for: Scrapy's own puts the body in the line."""
    result = LogFormatter().dropped(article(), DropItem("x"), HtmlResponse(URL), spider())
    assert BODY in logged(result)


@pytest.mark.parametrize(
    ("item", "response_url"),
    [(article(), None), (article(url=None), URL), ({"url": URL, "body": BODY}, None)],
)
def test_dropped_adds_the_url_when_the_reason_lacks_it(item: Any, response_url: str | None) -> None:
    response = HtmlResponse(response_url) if response_url else None
    result = HeraldLogFormatter().dropped(item, DropItem("Not wanted"), response, spider())
    assert logged(result) == f"Dropped: Not wanted: {URL}"


def test_dropped_reason_is_cut() -> None:
    result = HeraldLogFormatter().dropped(article(), DropItem(BODY), None, spider())
    assert len(logged(result)) < MAX_REASON_CHARS + len(URL) + 20 and logged(result).endswith(URL)


@pytest.mark.parametrize(
    ("setting", "log_level", "level"),
    [
        ("WARNING", None, logging.WARNING),
        ("INFO", None, logging.INFO),
        ("WARNING", "DEBUG", logging.DEBUG),
    ],
)
def test_dropped_keeps_scrapys_level(setting: str, log_level: str | None, level: int) -> None:
    drop = DropItem("Duplicate", log_level=log_level)
    result = HeraldLogFormatter().dropped(article(), drop, None, spider(DEFAULT_DROPITEM_LOG_LEVEL=setting))
    assert result["level"] == level


def test_item_error_names_the_url_and_the_error_not_the_item() -> None:
    error = TypeError("can't compare offset-naive and offset-aware datetimes")
    result = HeraldLogFormatter().item_error(article(), error, HtmlResponse(URL), spider())
    assert logged(result) == f"Error processing the item from {URL}: TypeError: {error}"
    assert result["level"] == logging.ERROR
    assert BODY[:100] not in logged(result)


def test_scraped_is_scrapys() -> None:
    response = HtmlResponse(URL)
    item = article(body="short")
    assert HeraldLogFormatter().scraped(item, response, spider()) == LogFormatter().scraped(
        item, response, spider()
    )
