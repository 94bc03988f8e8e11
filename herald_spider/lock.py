"""One writer at a time per dataset: an advisory ``flock`` on ``<dataset>/.herald.lock``.

The lock is held for a whole crawl (the crawl reads which articles are stored when it starts,
so a second crawl writing meanwhile would store duplicates) and for ``herald-dataset compact``.
The kernel releases it when the process dies, so a killed crawl never leaves a stale lock. The
file holds the holder's description, which the second writer shows in its message.
"""

from __future__ import annotations

import fcntl
import logging
import os
import time
from pathlib import Path

from scrapy import signals
from scrapy.crawler import Crawler

from herald_spider.schema import TABLES
from herald_spider.store import ArticleStore
from herald_spider.tables import ensure_table

logger = logging.getLogger(__name__)

LOCK_NAME = ".herald.lock"


class DatasetLocked(RuntimeError):
    """Another process is writing the dataset."""


class DatasetLock:
    def __init__(self, dataset_dir: Path, holder: str) -> None:
        self.path = dataset_dir / LOCK_NAME
        self.holder = holder
        self._fd: int | None = None

    def acquire(self, wait: float = 0.0) -> None:
        """Take the lock, waiting up to ``wait`` seconds; raise :class:`DatasetLocked` if busy."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        deadline = time.monotonic() + wait
        waited = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if not waited and wait > 0:
                    other = os.pread(fd, 4096, 0).decode("utf-8", "replace").strip()
                    logger.info(
                        "Waiting up to %.0f s for %s to finish writing %s", wait, other, self.path.parent
                    )
                    waited = True
                if time.monotonic() >= deadline:
                    other = os.pread(fd, 4096, 0).decode("utf-8", "replace").strip() or "another process"
                    os.close(fd)
                    raise DatasetLocked(
                        f"Dataset {self.path.parent} is being written by {other}. Only one crawl "
                        f"or compaction may write a dataset at a time: wait for it to finish, or let "
                        f"this one wait (-s HERALD_LOCK_WAIT=<seconds> for a crawl, --wait for "
                        f"herald-dataset compact)."
                    ) from None
                time.sleep(0.1)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{self.holder} (pid {os.getpid()})\n".encode(), 0)
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.ftruncate(self._fd, 0)
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def __enter__(self) -> DatasetLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


class DatasetLockExtension:
    """Hold the dataset lock from before the crawl reads the stored IDs until the engine stops.

    ``HERALD_LOCK_WAIT`` (seconds, default 0) lets a second crawl wait for the first instead of
    stopping at once with a message naming the crawl that holds the lock.
    """

    def __init__(self, crawler: Crawler) -> None:
        store = ArticleStore.for_crawler(crawler)
        self.lock = DatasetLock(store.dataset_dir, f"crawl {store.crawl_id}")
        try:
            self.lock.acquire(wait=crawler.settings.getfloat("HERALD_LOCK_WAIT", 0.0))
        except DatasetLocked as exc:
            logger.error("%s", exc)
            raise
        for table in TABLES:
            ensure_table(store.dataset_dir, table)
        self.crawler = crawler
        crawler.signals.connect(self.spider_opened, signal=signals.spider_opened)

    def spider_opened(self) -> None:
        # Connected now, after every component connected its own engine_stopped receivers
        # (end-of-crawl compaction), so the lock is released last. Receivers run in order.
        self.crawler.signals.connect(self.lock.release, signal=signals.engine_stopped)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> DatasetLockExtension:
        return cls(crawler)
