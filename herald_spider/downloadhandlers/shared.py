"""Download handler: the request budget of one process, kept by all the processes of a crawl
shared through Redis together.

One process leaves at least its download slot's delay between two requests to a host
(``DOWNLOAD_DELAY``, or AutoThrottle's delay when higher, each drawn between
``1 - DOWNLOAD_DELAY_JITTER`` and ``1 + DOWNLOAD_DELAY_JITTER`` times it). N processes would
send N times as many. So, when a request is about to go out (after its process's own slot
delay: a download handler, which Scrapy calls once the slot lets the request go), it reserves a
start time in Redis (:meth:`herald_spider.shared.SharedCrawl.reserve`, one Lua script on
Redis's clock) and waits for it: requests to a host from every process of the crawl start at
least ``delay × (1 + jitter)`` apart, the longest gap one process would leave. Together, N
processes never send more requests a second than one process does, and never two at once.

Swapped in for Scrapy's HTTP(S) handler by :class:`herald_spider.addons.shared.SharedFrontierAddon`
on a live shared crawl; a replayed crawl never reaches a download handler.
Counted: ``herald/shared/rate_waits`` and ``herald/shared/rate_wait_ms``.
"""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit

from scrapy import Request
from scrapy.core.downloader.handlers.http11 import HTTP11DownloadHandler
from scrapy.crawler import Crawler
from scrapy.http import Response

from herald_spider.extensions.dataset import crawl_store
from herald_spider.extensions.shared import stop_for_lost_redis
from herald_spider.shared import REDIS_ERRORS


class SharedRateLimitHandler(HTTP11DownloadHandler):
    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        self.floor = crawler.settings.getfloat("DOWNLOAD_DELAY")
        self.jitter = crawler.settings.getfloat("DOWNLOAD_DELAY_JITTER")

    def spacing(self, request: Request) -> float:
        """The gap to keep before this request: the longest its process's slot would leave."""
        delay, jitter = self.floor, self.jitter
        engine = self.crawler.engine
        if engine is not None:
            downloader = engine.downloader
            slot = downloader.slots.get(downloader.get_slot_key(request))
            if slot is not None:  # AutoThrottle raises its delay above DOWNLOAD_DELAY
                delay, jitter = max(delay, slot.delay), slot.jitter
        return delay * (1 + max(0.0, jitter))

    async def download_request(self, request: Request) -> Response:
        shared = crawl_store(self.crawler).shared
        spacing = self.spacing(request)
        if shared is not None and not shared.lost and spacing > 0:
            try:
                wait = shared.reserve(urlsplit(request.url).hostname or "", spacing)
            except REDIS_ERRORS as exc:
                stop_for_lost_redis(self.crawler, shared, exc)
                wait = spacing  # alone now: at least keep to its own budget
            if wait > 0:
                stats = self.crawler.stats
                assert stats is not None
                stats.inc_value("herald/shared/rate_waits")
                stats.inc_value("herald/shared/rate_wait_ms", round(wait * 1000))
                await asyncio.sleep(wait)
        return await super().download_request(request)
