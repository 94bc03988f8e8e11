"""The crawl's shared state: its dataset and ID, the stored article IDs, the refresh
bookkeeping, the writes that failed and the frontier journal.

One ``ArticleStore`` per crawl, made and held by
:class:`~herald_spider.extensions.dataset.DatasetExtension` and handed to the components that
need it (:func:`~herald_spider.extensions.dataset.crawl_store`), so the stored IDs are read
from disk once per crawl.
"""

from __future__ import annotations

import logging
import re
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scrapy.crawler import Crawler
from scrapy.settings import BaseSettings
from scrapy.utils.defer import deferred_from_coro

from herald_spider.dataset.files import ARTICLES_DIR, WriteFailed, new_crawl_id, parquet_files
from herald_spider.dataset.known import KnownIds, read_known
from herald_spider.errors import Refused

if TYPE_CHECKING:
    from herald_spider.dataset.lock import DatasetLock
    from herald_spider.extensions.frontier import Frontier
    from herald_spider.shared import SharedCrawl

logger = logging.getLogger(__name__)

#: The finish reason of a crawl stopped because the dataset could not be written.
WRITE_FAILED = "write_failed"


_CRAWL_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")


def clean_crawl_id(value: str) -> str:
    """A crawl ID that is safe in a file name; raise :class:`Refused` for anything else.

    >>> clean_crawl_id("20260102T030405Z-1a2b3c4d")
    '20260102T030405Z-1a2b3c4d'
    >>> clean_crawl_id("../../etc/x")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    herald_spider.errors.Refused: HERALD_CRAWL_ID must be letters, digits, ... (it names files): '../../etc/x'
    """
    if not _CRAWL_ID.match(value) or ".." in value:
        raise Refused(f"HERALD_CRAWL_ID must be letters, digits, '.', '_' or '-' (it names files): {value!r}")
    return value


class ArticleStore:
    def __init__(self, dataset_dir: Path, crawl_id: str) -> None:
        #: the crawl's verdict (herald_spider/health.py), once the spider closed
        self.verdict: Any = None
        #: Absolute, so every message names the folder wherever it is read (not resolved: a
        #: link in the path stays a link, which the dataset's safety checks look at).
        self.dataset_dir = dataset_dir.absolute()
        self.crawl_id = crawl_id
        self._known: KnownIds | None = None
        #: Stored articles requested again (``-a refresh=...``) whose page has not arrived yet.
        self.refresh_pending: set[str] = set()
        #: Stored articles fetched again this crawl: their rows are replaced, not appended.
        self.refetched: set[str] = set()
        #: Writes of the dataset that failed this crawl, as log lines: the crawl then ends
        #: ``write_failed`` with a non-zero exit, and keeps its journal for the next run.
        self.write_failures: list[str] = []
        #: The journal of this crawl's frontier, once the spider is known.
        self.frontier: Frontier | None = None
        #: The crawl's state in Redis, when several processes share it (``HERALD_REDIS_URL``).
        self.shared: SharedCrawl | None = None
        #: The dataset lock the crawl holds (shared with the other processes of a shared crawl).
        self.lock: DatasetLock | None = None

    @property
    def worker(self) -> str | None:
        """This process, in a crawl shared by several (None in a crawl of one process)."""
        return self.shared.worker if self.shared is not None else None

    @property
    def file_tag(self) -> str:
        """What names this process's files: the crawl ID, and the worker in a shared crawl
        (``part-<crawl_id>@<worker>-00001.parquet``: ``@`` is never in a crawl ID)."""
        return self.crawl_id if self.worker is None else f"{self.crawl_id}@{self.worker}"

    @classmethod
    def from_settings(cls, settings: BaseSettings) -> ArticleStore:
        """The store of a crawl with these settings (a new crawl ID unless one is set)."""
        return cls(
            Path(settings.get("HERALD_DATASET_DIR")),
            clean_crawl_id(settings.get("HERALD_CRAWL_ID") or new_crawl_id()),
        )

    def write_failed(self, crawler: Crawler, exc: OSError) -> None:
        """A write of the dataset failed: log it, count it, and stop the crawl.

        Nothing stored before is touched (files appear whole or not at all). The crawl stops at
        once rather than fetch pages it cannot store; what was not written is fetched again by
        the next run, since its journal is kept (:mod:`herald_spider.extensions.frontier`).
        """
        message = str(exc) if isinstance(exc, WriteFailed) else f"Could not write the dataset: {exc}"
        self.write_failures.append(message)
        assert crawler.stats is not None
        crawler.stats.inc_value("herald/write_errors")
        if isinstance(exc, WriteFailed) and exc.rows:
            crawler.stats.inc_value("herald/rows_not_written", exc.rows)
        logger.error("%s", message)
        engine = crawler.engine
        if len(self.write_failures) == 1 and engine is not None and engine.running and engine.spider:
            logger.error(
                "Stopping the crawl (%s): what it fetched and could not store is fetched again by "
                "the next run, once the dataset %s can be written",
                WRITE_FAILED,
                self.dataset_dir,
            )
            deferred_from_coro(engine.close_spider_async(reason=WRITE_FAILED))

    @property
    def articles_dir(self) -> Path:
        return self.dataset_dir / ARTICLES_DIR

    @property
    def known(self) -> KnownIds:
        """IDs of the articles already in the dataset, plus those stored by this crawl."""
        if self._known is None:
            started = time.perf_counter()
            self._known = read_known(parquet_files(self.articles_dir))
            logger.info(
                "Dataset %s holds %d articles (IDs loaded in %.2f s)",
                self.articles_dir,
                len(self._known),
                time.perf_counter() - started,
            )
        return self._known

    def is_known(self, article_id: str) -> bool:
        return article_id in self.known

    def add(self, article_id: str) -> None:
        self.known.add(article_id)
