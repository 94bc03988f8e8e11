"""Spider middleware: end a request's lease once everything its callback yielded is in the
shared frontier or stored (a crawl shared through Redis, :mod:`herald_spider.shared`).

The last middleware to see a callback's output. It schedules the requests itself, as the
engine would, so they are in the frontier before the lease can end (the engine takes a
callback's output a couple of elements ahead of processing it). A response without an article
ends its lease when its output is used up; one with an article, when the article leaves the
pipelines: at once when it was dropped, else once its row is in a file (a process killed
before that leaves it to be fetched again). Once Redis is lost, what a response yields is
no longer passed on: a request of it may not have reached the frontier, and an article stored
would mark its page done; its lease stays, and the next run fetches the page again.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Iterator
from typing import Any

from scrapy import Request, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.http import Response

from herald_spider.extensions.dataset import crawl_store
from herald_spider.extensions.shared import stop_for_lost_redis
from herald_spider.items import Article
from herald_spider.meta import LEASE
from herald_spider.shared import REDIS_ERRORS, SharedCrawl


class LeaseMiddleware:
    def __init__(self, crawler: Crawler, shared: SharedCrawl) -> None:
        self.crawler = crawler
        self.shared = shared
        for signal in (signals.item_scraped, signals.item_dropped, signals.item_error):
            crawler.signals.connect(self.item_done, signal=signal)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> LeaseMiddleware:
        if not crawler.settings.getbool("HERALD_WRITE_DATASET"):
            raise NotConfigured("only `scrapy crawl` writes the dataset")
        shared = crawl_store(crawler).shared
        if shared is None:
            raise NotConfigured("a crawl of one process (HERALD_REDIS_URL is not set)")
        return cls(crawler, shared)

    def process_spider_output(self, response: Response, result: Iterable[Any]) -> Iterator[Any]:
        lease = response.meta.get(LEASE)
        articles = 0
        for output in result:
            if self.taken(output, lease):
                continue
            if self.shared.lost:
                return  # a request it yielded may be lost: the page is fetched again instead
            articles += isinstance(output, Article) and bool(output.article_id)
            yield output
        self.done(lease, articles)

    async def process_spider_output_async(
        self, response: Response, result: AsyncIterator[Any]
    ) -> AsyncIterator[Any]:
        lease = response.meta.get(LEASE)
        articles = 0
        async for output in result:
            if self.taken(output, lease):
                continue
            if self.shared.lost:
                return  # a request it yielded may be lost: the page is fetched again instead
            articles += isinstance(output, Article) and bool(output.article_id)
            yield output
        self.done(lease, articles)

    def taken(self, output: Any, lease: bytes | None) -> bool:
        """Schedule a request now (True); an article keeps the lease until it is stored."""
        if lease is None:
            return False
        if isinstance(output, Request):
            assert self.crawler.engine is not None
            self.crawler.engine.crawl(output)
            return True
        if isinstance(output, Article) and output.article_id:
            self.shared.holds(output.article_id, lease)
        return False

    def done(self, lease: bytes | None, articles: int) -> None:
        if lease is None or articles or self.shared.lost:
            return
        try:
            self.shared.release(lease)
        except REDIS_ERRORS as exc:
            stop_for_lost_redis(self.crawler, self.shared, exc)

    def item_done(self, item: Any) -> None:
        """An article left the pipelines (stored, dropped or failed)."""
        if not isinstance(item, Article) or not item.article_id or self.shared.lost:
            return
        try:
            self.shared.article_done(item.article_id)
        except REDIS_ERRORS as exc:
            stop_for_lost_redis(self.crawler, self.shared, exc)
