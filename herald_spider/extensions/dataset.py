"""The crawl's dataset: start checks, the lock until the engine stops, and the crawl's shared
state (:class:`~herald_spider.store.ArticleStore`), which the components get with
:func:`crawl_store`."""

from __future__ import annotations

import contextlib
import logging
from pathlib import Path

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured

from herald_spider.dataset.integrity import check_dataset, crawl_id_in_use
from herald_spider.dataset.lock import DatasetLock
from herald_spider.dataset.schema import TABLES
from herald_spider.dataset.tables import ensure_table
from herald_spider.errors import Refused
from herald_spider.replay import check_index_cache, is_mirror, replay_root
from herald_spider.shared import REDIS_ERRORS, SharedCrawl, make_marker, marker
from herald_spider.store import ArticleStore

logger = logging.getLogger(__name__)


class DatasetExtension:
    """Own the crawl's shared state, and hold the dataset lock from before the crawl reads the
    stored IDs until the engine stops.

    The state (the dataset folder, the crawl ID, the stored IDs, the refresh bookkeeping, the
    failed writes, the frontier journal) is one :class:`~herald_spider.store.ArticleStore`,
    made here from the settings; every component that needs it asks Scrapy for this extension
    (:func:`crawl_store`). It comes first among the extensions, so it exists before the
    middlewares and pipelines are built.

    Before anything is written it refuses (:class:`~herald_spider.errors.Refused`, which the
    crawl command reports as its last line) a ``HERALD_REPLAY`` that is not a directory, a
    dataset that is damaged or holds what is not ours (:mod:`herald_spider.dataset.integrity`), and a
    ``HERALD_CRAWL_ID`` an earlier crawl of the dataset used.

    ``HERALD_LOCK_WAIT`` (seconds, default 0) lets a second crawl wait for the first instead of
    stopping at once with a message naming the crawl that holds the lock.
    """

    def __init__(self, crawler: Crawler) -> None:
        if not crawler.settings.getbool("HERALD_WRITE_DATASET"):
            raise NotConfigured("only `scrapy crawl` locks and writes the dataset")
        settings = crawler.settings
        # Redis first: unreachable, it ends the crawl before anything is made on disk.
        shared = connect_shared(crawler)
        explicit_id = bool(settings.get("HERALD_CRAWL_ID"))
        self.store = store = ArticleStore.from_settings(settings)
        started = False
        if shared is not None:
            # Every process of the crawl, started at the same moment or later, agrees here on
            # one crawl ID, before anything is written.
            store.crawl_id, started = self.agree(shared, store.crawl_id, explicit=explicit_id)
            store.shared = shared
        assert crawler.stats is not None
        crawler.stats.set_value("herald/crawl_id", store.crawl_id)
        self.lock = store.lock = DatasetLock(store.dataset_dir, f"crawl {store.crawl_id}")
        root = replay_root(settings.get("HERALD_REPLAY"))  # a typo refused before any write
        if root is not None and not is_mirror(root):
            check_index_cache(store.dataset_dir)
        warc_dir = settings.get("HERALD_WARC_DIR")
        if warc_dir:  # a link or a file refused before any write, as the recorder would
            from herald_spider.archive.writer import check_directory

            try:
                check_directory(Path(warc_dir))
            except OSError as exc:
                raise Refused(f"HERALD_WARC_DIR={warc_dir}: {exc}") from None
        # The folders and links before the lock file is made (a folder that is not a dataset
        # gets nothing of ours); everything, files and crawl ID included, under the lock, which
        # no other writer can change while we hold it.
        check_dataset(store.dataset_dir, files=False)
        wait = settings.getfloat("HERALD_LOCK_WAIT")
        # a crawl ID is checked when a crawl starts, not when a process joins it
        explicit_id = explicit_id and (shared is None or started)

        def make_tables() -> None:  # under the lock, held alone: no two writers at once
            self.check(store, explicit_id=explicit_id)
            for table in TABLES:
                ensure_table(store.dataset_dir, table)

        try:
            if shared is None:
                self.lock.acquire(wait=wait)
                make_tables()
            else:
                # the first process of the crawl in this dataset makes the tables while it
                # holds the lock alone; the others find them made
                self.lock.acquire_shared(store.crawl_id, wait=wait, while_alone=make_tables)
                if not self.lock.first:  # the first checked the dataset while it made the tables
                    self.check(store, explicit_id=explicit_id)
                self.mark(shared, store)
        except OSError as exc:
            self.refused(started)
            raise Refused(
                f"Cannot write the dataset {store.dataset_dir}: {exc}. Nothing was written."
            ) from None
        except BaseException:
            self.refused(started)
            raise
        if shared is not None:
            logger.info(
                "Shared crawl %s (%s, %s): this process is worker %s",
                store.crawl_id,
                shared.url,
                shared.key,
                shared.worker,
            )
        self.crawler = crawler
        crawler.signals.connect(self.spider_opened, signal=signals.spider_opened)

    def refused(self, started: bool) -> None:
        """The crawl does not go on: the lock goes, and a shared crawl this process started and
        no other joined is forgotten in Redis (the next crawl starts afresh)."""
        self.lock.release()
        shared = self.store.shared
        if started and shared is not None:
            with contextlib.suppress(*REDIS_ERRORS):
                shared.forget_crawl(self.store.crawl_id)

    @staticmethod
    def agree(shared: SharedCrawl, candidate: str, *, explicit: bool) -> tuple[str, bool]:
        """The ID of the shared crawl (``candidate`` if this process starts it), and whether it
        does; a ``HERALD_CRAWL_ID`` other than the running crawl's is refused."""
        try:
            crawl_id, started = shared.join(candidate)
        except REDIS_ERRORS as exc:
            raise Refused(f"Lost Redis at {shared.url} while starting: {exc}. Nothing was written.") from None
        if explicit and crawl_id != candidate:
            raise Refused(
                f"HERALD_CRAWL_ID={candidate}, but shared crawl {crawl_id} is under way in {shared.url} "
                f"({shared.key}): leave HERALD_CRAWL_ID unset to join it, or use another "
                f"HERALD_REDIS_KEY for another crawl."
            )
        return crawl_id, started

    @staticmethod
    def mark(shared: SharedCrawl, store: ArticleStore) -> None:
        """The crawl's one dataset folder: the first process of the crawl marks its folder
        (:func:`herald_spider.shared.make_marker`) and names the mark in Redis; a process whose
        folder bears another mark, or none once the crawl has one, writes another folder than
        the crawl's, and is refused."""
        token, made = make_marker(store.dataset_dir, store.crawl_id)
        try:
            crawl_token = shared.mark(token)
        except REDIS_ERRORS as exc:
            raise Refused(f"Lost Redis at {shared.url} while starting: {exc}. Nothing was written.") from None
        if crawl_token == token:
            return
        if made:
            marker(store.dataset_dir, store.crawl_id).unlink(missing_ok=True)
        raise Refused(
            f"Shared crawl {store.crawl_id} ({shared.url}, {shared.key}) writes another dataset "
            f"folder than {store.dataset_dir}: point HERALD_DATASET_DIR at that folder, or use "
            f"another HERALD_REDIS_KEY for a crawl of this one. Nothing was stored there."
        )

    @staticmethod
    def check(store: ArticleStore, *, explicit_id: bool) -> None:
        """Refuse a damaged dataset, and a crawl ID that an earlier crawl of it used."""
        check_dataset(store.dataset_dir)
        if explicit_id and (where := crawl_id_in_use(store.dataset_dir, store.crawl_id)):
            raise Refused(
                f"HERALD_CRAWL_ID={store.crawl_id} was already used in {store.dataset_dir} ({where}). "
                f"A crawl ID names a crawl's files and its runs row, so each crawl needs its own: "
                f"leave HERALD_CRAWL_ID unset for a generated one, or add the date (nightly-<date>)."
            )

    def spider_opened(self) -> None:
        # Connected now, after every component connected its own engine_stopped receivers
        # (end-of-crawl compaction), so the lock is released last. Receivers run in order.
        self.crawler.signals.connect(self.lock.release, signal=signals.engine_stopped)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> DatasetExtension:
        return cls(crawler)


def writes_dataset(crawler: Crawler) -> None:
    """Raise ``NotConfigured`` in a component that only makes sense when the crawl writes the
    dataset (``scrapy crawl``; not ``shell``, ``parse`` or ``bench``)."""
    if not crawler.settings.getbool("HERALD_WRITE_DATASET"):
        raise NotConfigured("only `scrapy crawl` writes the dataset")


def crawl_store(crawler: Crawler) -> ArticleStore:
    """The crawl's shared state, from the :class:`DatasetExtension` Scrapy built for it.

    Middlewares and pipelines call it when they are built; other extensions, built alongside
    this one, call it once the spider is open.
    """
    extension = crawler.get_extension(DatasetExtension)
    if extension is None:
        raise NotConfigured(
            "herald_spider.extensions.dataset.DatasetExtension is not enabled: it holds the crawl's "
            "dataset and state (see EXTENSIONS in herald_spider/settings.py)"
        )
    return extension.store


def connect_shared(crawler: Crawler) -> SharedCrawl | None:
    """The crawl's state in Redis when ``HERALD_REDIS_URL`` is set (None otherwise); what a
    shared crawl cannot do, and a Redis that cannot be reached, are refused here, before
    anything is written."""
    settings = crawler.settings
    url = settings.get("HERALD_REDIS_URL")
    if not url:
        return None
    if settings.get("JOBDIR"):
        raise Refused(
            "JOBDIR and HERALD_REDIS_URL do not go together: Redis keeps the shared crawl's frontier"
        )
    spider = crawler.spider
    # what a shared crawl cannot do yet (README, "Several processes, one crawl")
    if getattr(spider, "refresh", ""):
        raise Refused(
            "-a refresh is not supported with HERALD_REDIS_URL: a refresh replaces stored rows at "
            "the end of the crawl, which one process does; run it without HERALD_REDIS_URL"
        )
    if getattr(spider, "backfill", None) is not None:
        raise Refused(
            "-a since / -a until (a backfill) are not supported with HERALD_REDIS_URL: a backfill "
            "reads its by-day sitemaps one after another; run it without HERALD_REDIS_URL"
        )
    section = getattr(spider, "section", "") or ""
    key = settings.get("HERALD_REDIS_KEY") or f"herald:{getattr(spider, 'name', 'crawl')}:{section}"
    return SharedCrawl.connect(url, key, lease_seconds=settings.getfloat("HERALD_REDIS_LEASE_SECONDS"))
