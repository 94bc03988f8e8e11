"""Back off before retrying: honour ``Retry-After`` and wait longer after each failure.

Scrapy's ``RetryMiddleware`` retries 429, 500, 503, ..., timeouts and resets at once, and
ignores ``Retry-After``. This middleware sits just outside it: on a retryable status or
exception it pauses the crawl (one site, so every request would go to the server that asked
us to wait) for the whole ``Retry-After`` time, or, when the header is absent,
``HERALD_BACKOFF_BASE * 2**n`` seconds after the n-th retry of that request, capped at
``HERALD_BACKOFF_MAX`` (the cap is for this back-off only, not for a time the server asked);
then ``RetryMiddleware`` retries as usual. A ``Retry-After`` longer than
``HERALD_RETRY_AFTER_MAX`` is not waited for: the request is not retried, fails with its
status and is counted. Stats: ``herald/backoff/waits``, ``herald/backoff/wait_ms``,
``herald/backoff/retry_after_too_long``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from scrapy import Request, Spider
from scrapy.crawler import Crawler
from scrapy.http import Response
from scrapy.utils.misc import load_object

from herald_spider.component import CrawlerComponent

logger = logging.getLogger(__name__)


def retry_after_seconds(value: bytes | str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta seconds or an HTTP date), else None.

    >>> retry_after_seconds(b"120")
    120.0
    >>> retry_after_seconds("Wed, 21 Oct 2026 07:28:30 GMT", datetime(2026, 10, 21, 7, 28, tzinfo=UTC))
    30.0
    >>> retry_after_seconds("-5"), retry_after_seconds("soon"), retry_after_seconds(None)
    (0.0, None, None)
    """
    if value is None:
        return None
    text = (value.decode("latin-1") if isinstance(value, bytes) else value).strip()
    if text.lstrip("-").isdigit():
        return max(0.0, float(text))
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


class BackoffMiddleware(CrawlerComponent):
    """Downloader middleware (just above ``RetryMiddleware``) that waits before a retry."""

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        settings = crawler.settings
        self.statuses = frozenset(settings.getlist("RETRY_HTTP_CODES")) | {429, 503}
        self.statuses = frozenset(int(s) for s in self.statuses)
        self.base = settings.getfloat("HERALD_BACKOFF_BASE")
        self.cap = settings.getfloat("HERALD_BACKOFF_MAX")
        self.retry_after_max = settings.getfloat("HERALD_RETRY_AFTER_MAX")
        self.retry_times = settings.getint("RETRY_TIMES")
        self.exceptions = tuple(
            load_object(e) if isinstance(e, str) else e for e in settings.getlist("RETRY_EXCEPTIONS")
        )
        self.paused_until = 0.0
        self.waiting = 0

    async def process_response(
        self, request: Request, response: Response, spider: Spider | None = None
    ) -> Response:
        if response.status not in self.statuses or request.meta.get("dont_retry"):
            return response
        retries = request.meta.get("retry_times", 0)
        if retries >= request.meta.get("max_retry_times", self.retry_times):
            return response  # RetryMiddleware gives up on this one: nothing to wait for
        asked = retry_after_seconds(response.headers.get(b"Retry-After"))
        wait = self.wait_for(asked, retries)
        if wait is None:
            self._inc("herald/backoff/retry_after_too_long")
            logger.warning(
                "HTTP %s with Retry-After %.0f s (more than %.0f s): not retried: %s",
                response.status,
                asked,
                self.retry_after_max,
                request.url,
            )
            request.meta["dont_retry"] = True
            return response
        if wait > 0:
            logger.info(
                "HTTP %s (%s): pausing the crawl %.1f s before retrying %s",
                response.status,
                "Retry-After" if asked is not None else f"retry {retries + 1}",
                wait,
                request.url,
            )
            await self._pause(wait)
        return response

    async def process_exception(
        self, request: Request, exception: Exception, spider: Spider | None = None
    ) -> None:
        """Timeouts, resets, refused connections: back off before ``RetryMiddleware`` retries."""
        if not isinstance(exception, self.exceptions) or request.meta.get("dont_retry"):
            return
        retries = request.meta.get("retry_times", 0)
        if retries >= request.meta.get("max_retry_times", self.retry_times):
            return
        wait = self.backoff(retries)
        if wait > 0:
            logger.info(
                "%s: pausing the crawl %.1f s before retrying %s", type(exception).__name__, wait, request.url
            )
            await self._pause(wait)

    def wait_for(self, asked: float | None, retries: int) -> float | None:
        """Seconds to pause before the retry after ``retries`` retries, or None: do not retry.

        ``asked`` is the ``Retry-After`` time (:func:`retry_after_seconds`): waited in full up
        to ``HERALD_RETRY_AFTER_MAX``, not at all beyond it. Without one, :meth:`backoff`.
        """
        if asked is None:
            return self.backoff(retries)
        return asked if asked <= self.retry_after_max else None

    def backoff(self, retries: int) -> float:
        """``HERALD_BACKOFF_BASE * 2**retries`` seconds, at most ``HERALD_BACKOFF_MAX``."""
        return min(self.cap, self.base * 2.0**retries)

    async def _pause(self, seconds: float) -> None:
        self._inc("herald/backoff/waits")
        self._inc("herald/backoff/wait_ms", round(seconds * 1000))
        engine = self.crawler.engine
        assert engine is not None
        self.paused_until = max(self.paused_until, time.monotonic() + seconds)
        self.waiting += 1
        engine.pause()
        try:
            # in short steps, so Ctrl-C (the engine stopping) does not wait for a long pause
            while (left := self.paused_until - time.monotonic()) > 0 and engine.running:
                await asyncio.sleep(min(left, 0.5))
        finally:
            self.waiting -= 1
            if not self.waiting:
                engine.unpause()
