"""The scheduler of a crawl shared through Redis (``HERALD_REDIS_URL``).

scrapy-redis's scheduler, with its priority queue in Redis, over the crawl's
:class:`~herald_spider.shared.SharedCrawl`: a request is leased when it is taken (so a
process that dies loses nothing), and the dupefilter is keyed by the project's request
fingerprint. Redis lost mid-crawl stops the crawl (``redis_lost``) instead of raising in
the engine at every request.
"""

from __future__ import annotations

import logging
from typing import Self

from scrapy import Request, Spider
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy_redis import picklecompat
from scrapy_redis.queue import PriorityQueue
from scrapy_redis.scheduler import Scheduler

from herald_spider.dupefilters.shared import SharedDupeFilter
from herald_spider.extensions.dataset import crawl_store
from herald_spider.extensions.shared import stop_for_lost_redis
from herald_spider.meta import LEASE
from herald_spider.shared import REDIS_ERRORS, SharedCrawl, decode_request, encode_request

logger = logging.getLogger(__name__)


class LeasedQueue(PriorityQueue):  # type: ignore[misc]
    """scrapy-redis's priority queue (a sorted set, lowest score first: breadth-first with
    ``DEPTH_PRIORITY``), whose pop leases what it takes to this process, and whose push marks
    the request seen in the dupefilter in the same step."""

    shared: SharedCrawl

    def push(self, request: Request, fingerprint: str | None = None) -> bool:
        """Whether the request went in (not when ``fingerprint`` was seen)."""
        lease = request.meta.get(LEASE)
        return self.shared.schedule(
            fingerprint, encode_request(request, self.spider), -request.priority, lease
        )

    def pop(self, timeout: int = 0) -> Request | None:
        data = self.shared.pop()
        if data is None:
            return None
        request = decode_request(data, self.spider)
        request.meta[LEASE] = data
        return request


class SharedScheduler(Scheduler):  # type: ignore[misc]
    def __init__(self, crawler: Crawler, shared: SharedCrawl) -> None:
        super().__init__(
            server=shared.client,
            persist=True,  # the frontier outlives any one process
            queue_key=shared.queue_key,
            queue_cls="herald_spider.schedulers.shared.LeasedQueue",
            dupefilter=SharedDupeFilter(shared.client, shared.dupefilter_key, crawler.request_fingerprinter),
            serializer=picklecompat,
        )
        self.crawler = crawler
        self.shared = shared
        self.stats = crawler.stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        shared = crawl_store(crawler).shared
        if shared is None:
            raise NotConfigured("the shared scheduler needs HERALD_REDIS_URL")
        return cls(crawler, shared)

    def open(self, spider: Spider) -> None:
        self.spider = spider
        self.queue = LeasedQueue(self.server, spider, self.queue_key, serializer=self.serializer)
        self.queue.shared = self.shared
        try:
            queued = len(self.queue)
        except REDIS_ERRORS as exc:
            self.lost(exc)
            return
        if queued:
            logger.info("Shared crawl %s: %d requests in its frontier", self.shared.crawl_id, queued)

    # scrapy-redis's enqueue and pop: the dupefilter's check and the push in one step, Redis
    # lost stopping the crawl, and no spider argument to the stats (Scrapy 2.19 deprecates it)

    def enqueue_request(self, request: Request) -> bool:
        assert self.stats is not None
        fingerprint = None if request.dont_filter else self.df.request_fingerprint(request)
        try:
            if not self.queue.push(request, fingerprint):
                self.df.log(request, self.spider)
                return False
        except REDIS_ERRORS as exc:
            self.lost(exc)
            return False
        self.stats.inc_value("scheduler/enqueued/redis")
        return True

    def next_request(self) -> Request | None:
        if self.shared.lost:
            return None
        try:
            request = self.queue.pop()
        except REDIS_ERRORS as exc:
            self.lost(exc)
            return None
        if request is not None:
            assert self.stats is not None
            self.stats.inc_value("scheduler/dequeued/redis")
        return request

    def has_pending_requests(self) -> bool:
        if self.shared.lost:
            return False
        try:
            return bool(super().has_pending_requests())
        except REDIS_ERRORS as exc:
            self.lost(exc)
            return False

    def __len__(self) -> int:
        try:
            return int(super().__len__())
        except REDIS_ERRORS as exc:
            self.lost(exc)
            return 0

    def lost(self, exc: BaseException) -> None:
        stop_for_lost_redis(self.crawler, self.shared, exc)
