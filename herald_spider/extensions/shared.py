"""The life of one process in a crawl shared through Redis (``HERALD_REDIS_URL``).

:class:`SharedCrawlExtension` joins the crawl's workers when the spider opens and beats every
second (``busy`` or ``idle``). On each beat it takes back the requests of processes whose
heartbeat expired (``HERALD_REDIS_LEASE_SECONDS``): the articles they already wrote (read from
their files) are known, everything else goes back in the frontier. It keeps
the spider open until the frontier has been empty, and every other process idle, for
``HERALD_REDIS_IDLE_SECONDS``. When the spider closes it leaves the crawl: with no lease, when
it finished; otherwise with its leases, for the others to take.

Counted: ``herald/shared/reclaimed``, ``herald/shared/reclaimed_stored``,
``herald/shared/idle_waits``, ``herald/redis_lost``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable

from scrapy import Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import DontCloseSpider, NotConfigured
from scrapy.utils.defer import deferred_from_coro
from twisted.internet.task import LoopingCall

from herald_spider.dataset.files import read_table
from herald_spider.extensions.dataset import crawl_store
from herald_spider.shared import REDIS_ERRORS, SharedCrawl, frontier_entry, marker, worker_files
from herald_spider.store import ArticleStore

logger = logging.getLogger(__name__)

#: The finish reason of a process that lost Redis mid-crawl.
REDIS_LOST = "redis_lost"
#: Seconds between heartbeats.
BEAT_SECONDS = 1.0


class SharedCrawlExtension:
    def __init__(self, crawler: Crawler) -> None:
        if not crawler.settings.getbool("HERALD_WRITE_DATASET") or not crawler.settings.get(
            "HERALD_REDIS_URL"
        ):
            raise NotConfigured("a crawl of one process (HERALD_REDIS_URL is not set)")
        self.crawler = crawler
        self.idle_seconds = crawler.settings.getfloat("HERALD_REDIS_IDLE_SECONDS")
        self.empty_since: float | None = None
        self.beats = LoopingCall(self.beat)
        crawler.signals.connect(self.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(self.spider_idle, signal=signals.spider_idle)
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> SharedCrawlExtension:
        return cls(crawler)

    @property
    def store(self) -> ArticleStore:
        return crawl_store(self.crawler)

    @property
    def shared(self) -> SharedCrawl:
        shared = self.store.shared
        assert shared is not None
        return shared

    def spider_opened(self) -> None:
        try:
            self.shared.register()
        except REDIS_ERRORS as exc:
            stop_for_lost_redis(self.crawler, self.shared, exc)
            return
        self.beats.start(BEAT_SECONDS, now=False)

    def beat(self) -> None:
        shared, engine = self.shared, self.crawler.engine
        if shared.lost or engine is None or engine.spider is None:
            return
        try:
            shared.beat(busy=not engine.spider_is_idle())
            self.reclaim()
        except REDIS_ERRORS as exc:
            stop_for_lost_redis(self.crawler, shared, exc)

    def reclaim(self) -> None:
        """Put back in the frontier the requests of processes whose heartbeat expired."""
        shared, store = self.shared, self.store
        assert shared.crawl_id is not None and self.crawler.stats is not None
        for worker, state in shared.others().items():
            if state is not None:
                continue
            taken = shared.take_over(worker)
            if taken < 0:
                continue
            # what it wrote is known: its leases may end after its last file was written
            files = worker_files(store.articles_dir, shared.crawl_id, worker)
            written = read_table(store.articles_dir, "articles", files, ["article_id"]).column(0)
            store.known.update_arrow(written)
            logger.warning(
                "Worker %s of shared crawl %s stopped without finishing (no heartbeat for %g s): taking "
                "back the %d requests it held (%d articles it wrote in %d files are kept)",
                worker,
                shared.crawl_id,
                shared.lease_seconds,
                taken,
                len(written),
                len(files),
            )
        for data in shared.reclaimed():
            article_id, score = frontier_entry(data)
            if article_id is not None and store.is_known(article_id):
                shared.drop_reclaimed(data)
                self.crawler.stats.inc_value("herald/shared/reclaimed_stored")
            else:
                shared.put_back(data, score)
                self.crawler.stats.inc_value("herald/shared/reclaimed")

    def spider_idle(self, spider: Spider) -> None:
        """Keep the spider open while the crawl has work anywhere, and for
        ``HERALD_REDIS_IDLE_SECONDS`` after it ran out (another process may add more)."""
        shared = self.shared
        if shared.lost:
            return
        try:
            self.reclaim()
            working = shared.queued() > 0 or "busy" in shared.others().values() or not shared.seeded()
        except REDIS_ERRORS as exc:
            stop_for_lost_redis(self.crawler, shared, exc)
            return
        now = time.monotonic()
        if working:
            self.empty_since = None
            raise DontCloseSpider
        if self.empty_since is None:
            self.empty_since = now
            assert self.crawler.stats is not None
            self.crawler.stats.inc_value("herald/shared/idle_waits")
            logger.info(
                "The shared frontier is empty and no other process is busy: stopping in %g s "
                "unless work comes",
                self.idle_seconds,
            )
        if now - self.empty_since < self.idle_seconds:
            raise DontCloseSpider

    def spider_closed(self, spider: Spider, reason: str) -> None:
        if self.beats.running:
            self.beats.stop()
        shared, store = self.shared, self.store
        if shared.lost:
            return
        finished = reason == "finished" and not store.write_failures
        try:
            if finished:
                shared.end_leases()
            shared.leave(finished=finished)
        except REDIS_ERRORS as exc:
            logger.warning("Could not leave shared crawl %s in Redis: %s", shared.crawl_id, exc)
            return
        if not finished:
            logger.info(
                "Process %s of shared crawl %s ended (%s): the requests it held go back to the frontier",
                shared.worker,
                shared.crawl_id,
                reason,
            )


def end_shared_crawl(store: ArticleStore, finished: bool) -> None:
    """The last process of a shared crawl, once the dataset is its alone: when the crawl is
    done (the frontier empty, no lease anywhere), its keys go, and the next crawl starts
    afresh; otherwise they stay for the next run to resume."""
    shared = store.shared
    if shared is None or shared.lost:
        return
    try:
        if finished and shared.frontier_empty():
            shared.end_crawl()
            marker(store.dataset_dir, store.crawl_id).unlink(missing_ok=True)
            logger.info("Shared crawl %s is done: its keys are removed from Redis", shared.crawl_id)
        else:
            logger.info(
                "Shared crawl %s is not done: its frontier stays in Redis (%s) for the next run",
                shared.crawl_id,
                shared.key,
            )
    except REDIS_ERRORS as exc:
        logger.warning("Could not end shared crawl %s in Redis: %s", shared.crawl_id, exc)


def stop_for_lost_redis(crawler: Crawler, shared: SharedCrawl, exc: BaseException) -> None:
    """Redis went away mid-crawl: say so once and stop the process (``redis_lost``). What it
    fetched is written as at any other ending; the frontier and its leases stay in Redis, and
    the next run resumes from them."""
    if shared.lost:
        return
    shared.lost = str(exc)
    assert crawler.stats is not None
    crawler.stats.inc_value("herald/redis_lost")
    logger.error(
        "Lost Redis at %s: %s. Stopping this process (%s): what it fetched is written, and the next "
        "run resumes shared crawl %s from Redis.",
        shared.url,
        exc,
        REDIS_LOST,
        shared.crawl_id,
    )
    engine = crawler.engine
    if engine is not None and engine.running and engine.spider is not None:
        deferred_from_coro(engine.close_spider_async(reason=REDIS_LOST))


def seeds_crawl(crawler: Crawler) -> bool:
    """Whether this process seeds the crawl (requests the section listing): every crawl of one
    process; of a shared crawl's processes, the first to ask (the others find the frontier
    seeded, and a rerun finds it as the last run left it)."""
    settings = crawler.settings
    if not settings.getbool("HERALD_WRITE_DATASET") or not settings.get("HERALD_REDIS_URL"):
        return True
    shared = crawl_store(crawler).shared
    assert shared is not None and crawler.stats is not None
    try:
        seeding = shared.take_seeding()
    except REDIS_ERRORS as exc:
        stop_for_lost_redis(crawler, shared, exc)
        return False
    crawler.stats.set_value("herald/shared/seeded" if seeding else "herald/shared/joined", 1)
    if not seeding:
        logger.info("Joining shared crawl %s: its frontier is already seeded", shared.crawl_id)
    return seeding


def other_urls(crawler: Crawler, article_id: str, tried: Iterable[str]) -> list[str]:
    """URLs of an article other processes of a shared crawl found and this one has not tried
    (none in a crawl of one process): the site serves a page under one URL only."""
    settings = crawler.settings
    if not settings.getbool("HERALD_WRITE_DATASET") or not settings.get("HERALD_REDIS_URL"):
        return []
    shared = crawl_store(crawler).shared
    if shared is None or shared.lost:
        return []
    try:
        found = shared.urls_of(article_id)
    except REDIS_ERRORS as exc:
        stop_for_lost_redis(crawler, shared, exc)
        return []
    seen = set(tried)
    return [url for url in found if url not in seen]
