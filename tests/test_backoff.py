"""The back-off middleware's waits, decided and observed without sleeping.

A ``Retry-After`` up to ``HERALD_RETRY_AFTER_MAX`` is waited in full, however low
``HERALD_BACKOFF_MAX`` is: the cap is for the exponential back-off only.
``tests/test_failing_servers.py`` shows the waits in a real crawl against a failing server.
"""

from __future__ import annotations

import asyncio
import time

import pytest
from scrapy import Request
from scrapy.http import Response
from scrapy.utils.spider import DefaultSpider

from herald_spider.downloadermiddlewares.backoff import BackoffMiddleware, retry_after_seconds
from tests.conftest import project_crawler

URL = "https://www.nzherald.co.nz/world/a-story/ABCDEFGHIJKLMNOPQRSTUVWXYZ/"
SETTINGS = {"HERALD_BACKOFF_BASE": 2, "HERALD_BACKOFF_MAX": 1, "HERALD_RETRY_AFTER_MAX": 300}


class Engine:
    """What the middleware uses of Scrapy's engine: its pause and its running state."""

    def __init__(self) -> None:
        self.running = True
        self.paused = False

    def pause(self) -> None:
        self.paused = True

    def unpause(self) -> None:
        self.paused = False


@pytest.fixture
def middleware() -> BackoffMiddleware:
    crawler = project_crawler(DefaultSpider, **SETTINGS)
    crawler.engine = Engine()  # type: ignore[assignment]
    crawler.stats.open_spider()
    return BackoffMiddleware.from_crawler(crawler)


@pytest.mark.parametrize(
    ("header", "retries", "wait"),
    [
        (b"120", 0, 120.0),  # above HERALD_BACKOFF_MAX, below HERALD_RETRY_AFTER_MAX
        (b"300", 2, 300.0),
        (b"0", 0, 0.0),
        (b"301", 0, None),  # longer than HERALD_RETRY_AFTER_MAX: not retried
        (b"3600", 0, None),
        (None, 0, 1.0),  # no header: 2 * 2**0 = 2 s, capped at 1 s
        (b"soon", 1, 1.0),  # unreadable header: as if absent
    ],
)
def test_wait_for(
    middleware: BackoffMiddleware, header: bytes | None, retries: int, wait: float | None
) -> None:
    assert middleware.wait_for(retry_after_seconds(header), retries) == wait


def test_backoff_without_retry_after_is_capped() -> None:
    crawler = project_crawler(HERALD_BACKOFF_BASE=2, HERALD_BACKOFF_MAX=60)
    middleware = BackoffMiddleware.from_crawler(crawler)
    assert [middleware.backoff(n) for n in range(7)] == [2, 4, 8, 16, 32, 60, 60]


def test_retry_after_above_backoff_max_pauses_the_crawl_the_time_asked(middleware: BackoffMiddleware) -> None:
    engine = middleware.crawler.engine
    request = Request(URL)
    response = Response(URL, status=503, headers={"Retry-After": "120"}, request=request)

    async def observe() -> tuple[bool, float]:
        task = asyncio.create_task(middleware.process_response(request, response))
        await asyncio.sleep(0)  # the middleware pauses the engine and starts to wait
        state = engine.paused, middleware.paused_until - time.monotonic()
        engine.running = False  # as when the crawl stops: the wait ends at its next step
        assert await asyncio.wait_for(task, 2) is response
        return state

    paused, left = asyncio.run(observe())
    assert paused and 110 < left <= 120
    stats = middleware.crawler.stats
    assert stats.get_value("herald/backoff/wait_ms") == 120_000
    assert stats.get_value("herald/backoff/waits") == 1
    assert not engine.paused and not request.meta.get("dont_retry")


def test_retry_after_above_the_maximum_is_not_waited_for(middleware: BackoffMiddleware) -> None:
    request = Request(URL)
    response = Response(URL, status=429, headers={"Retry-After": "3600"}, request=request)
    assert asyncio.run(middleware.process_response(request, response)) is response
    stats = middleware.crawler.stats
    assert stats.get_value("herald/backoff/retry_after_too_long") == 1
    assert stats.get_value("herald/backoff/waits") is None
    assert request.meta["dont_retry"] is True
