"""A backfill's progress, logged every ``HERALD_PROGRESS_INTERVAL`` seconds (default 60).

A backfill of years runs for days at the site's politeness; Scrapy's own ``LogStats`` line says
pages per minute but not how far the crawl is. Each line says the sitemap days read of the
window's total, the articles stored, the requests queued and the time left at the pace of
the last interval (:func:`herald_spider.backfill.progress_line`). Off for crawls that are no
backfill, and with ``HERALD_PROGRESS_INTERVAL=0``. The most requests the queue held is counted
as ``herald/backfill/max_queued``: a backfill of years must hold a few days' entries at most.
"""

from __future__ import annotations

import logging
import time

from scrapy import Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from twisted.internet import task

from herald_spider.backfill import progress_line, queued
from herald_spider.component import CrawlerComponent

logger = logging.getLogger(__name__)


class BackfillProgress(CrawlerComponent):
    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        self.interval = crawler.settings.getfloat("HERALD_PROGRESS_INTERVAL")
        if self.interval <= 0:
            raise NotConfigured("HERALD_PROGRESS_INTERVAL is 0")
        self.loop: task.LoopingCall | None = None
        self.last: tuple[float, int] = (time.monotonic(), 0)
        crawler.signals.connect(self.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    def spider_opened(self, spider: Spider) -> None:
        if getattr(spider, "backfill", None) is None:
            return
        self.last = (time.monotonic(), self._stat("response_received_count"))
        self.loop = task.LoopingCall(self.log, spider)
        self.loop.start(self.interval, now=False)
        self.crawler.signals.connect(self.request_scheduled, signal=signals.request_scheduled)

    def request_scheduled(self) -> None:
        assert self.crawler.stats is not None
        self.crawler.stats.max_value("herald/backfill/max_queued", self._queued())

    def _queued(self) -> int:
        assert self.crawler.stats is not None
        return queued(self.crawler.stats.get_stats())

    def _stat(self, key: str) -> int:
        assert self.crawler.stats is not None
        return int(self.crawler.stats.get_value(key, 0))

    def log(self, spider: Spider) -> None:
        now, answered = time.monotonic(), self._stat("response_received_count")
        then, answered_then = self.last
        self.last = (now, answered)
        pace = (now - then) / (answered - answered_then) if answered > answered_then else None
        queued = self._queued()
        read, stored = self._stat("item_scraped_count"), self._stat("herald/articles_stored")
        backfill = spider.backfill  # type: ignore[attr-defined]
        logger.info(progress_line(backfill, spider.section, read, stored, queued, pace))  # type: ignore[attr-defined]

    def spider_closed(self, spider: Spider) -> None:
        if self.loop is not None and self.loop.running:
            self.loop.stop()
            self.log(spider)  # where the backfill ended
