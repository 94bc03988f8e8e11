"""The scheduler of a crawl shared through Redis (``HERALD_REDIS_URL``).

scrapy-redis's scheduler, with its priority queue in Redis, over the crawl's
:class:`~herald_spider.shared.SharedCrawl`: a request is leased when it is taken (so a
process that dies loses nothing), and the dupefilter is keyed by the project's request
fingerprint. Redis lost mid-crawl stops the crawl (``redis_lost``) instead of raising in
the engine at every request.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from typing import Any, Self

from scrapy import Request, Spider
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy_redis import picklecompat
from scrapy_redis.queue import PriorityQueue
from scrapy_redis.scheduler import Scheduler
from twisted.internet.task import LoopingCall

from herald_spider.dupefilters.shared import SharedDupeFilter
from herald_spider.extensions.dataset import crawl_store
from herald_spider.extensions.shared import stop_for_lost_redis
from herald_spider.meta import ARTICLE_ID, LEASE
from herald_spider.shared import REDIS_ERRORS, SharedCrawl, decode_request, encode_request

logger = logging.getLogger(__name__)


#: Seconds between looks at the frontier of a process with room for more requests.
POLL_SECONDS = 0.1
#: Requests taken from the frontier in one round trip (leased to the process at once).
POP_BATCH = 4
#: Seconds a process does not ask an empty frontier again, unless it added to it meanwhile (the
#: engine asks after every response; other processes' work is looked for ten times a second).
EMPTY_SECONDS = 0.05


class LeasedQueue(PriorityQueue):  # type: ignore[misc]
    """scrapy-redis's priority queue (a sorted set, lowest score first: breadth-first with
    ``DEPTH_PRIORITY``), whose pop leases what it takes to this process (a few at a time), and
    whose push marks the request seen in the dupefilter in the same step."""

    shared: SharedCrawl

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: Requests leased to this process and not yet handed to the engine.
        self.taken: deque[bytes] = deque()
        self.empty_at = -1.0

    def __len__(self) -> int:
        return len(self.taken) + int(super().__len__())

    def push(self, request: Request, fingerprint: str | None = None) -> bool:
        """Whether the request went in (not when ``fingerprint`` was seen)."""
        lease = request.meta.get(LEASE)
        data = encode_request(request, self.spider)
        self.empty_at = -1.0
        article_id = request.meta.get(ARTICLE_ID)
        article = (article_id, request.url) if article_id else None
        return self.shared.schedule(fingerprint, data, -request.priority, lease, article)

    def pop(self, timeout: int = 0) -> Request | None:
        if not self.taken:
            if time.monotonic() - self.empty_at < EMPTY_SECONDS:
                return None
            self.taken.extend(self.shared.pop(POP_BATCH))
            if not self.taken:
                self.empty_at = time.monotonic()
                return None
        data = self.taken.popleft()
        request = decode_request(data, self.spider)
        request.meta[LEASE] = data
        return request

    def look_again(self) -> None:
        """Ask the frontier at the next pop, empty or not a moment ago."""
        self.empty_at = -1.0


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
        self.polls = LoopingCall(self.poll)

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
        self.polls.start(POLL_SECONDS, now=False)
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

    def poll(self) -> None:
        """Scrapy asks its scheduler for requests when a download ends, and every five seconds
        otherwise; the frontier also fills with other processes' links, so a process with room
        for more asks every ``POLL_SECONDS`` too."""
        engine = self.crawler.engine
        if self.shared.lost or engine is None or engine.spider is None or engine.needs_backout():
            return
        self.queue.look_again()
        # Scrapy has no public call for it: what the engine does when a download ends
        slot = getattr(engine, "_slot", None)
        if slot is not None:
            slot.nextcall.schedule()

    def close(self, reason: str) -> None:
        if self.polls.running:
            self.polls.stop()

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
