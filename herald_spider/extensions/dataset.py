"""The crawl's dataset: start checks, the lock until the engine stops, and the crawl's shared
state (:class:`~herald_spider.store.ArticleStore`), which the components get with
:func:`crawl_store`."""

from __future__ import annotations

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
        self.store = store = ArticleStore.from_settings(crawler.settings)
        assert crawler.stats is not None
        crawler.stats.set_value("herald/crawl_id", store.crawl_id)
        self.lock = DatasetLock(store.dataset_dir, f"crawl {store.crawl_id}")
        root = replay_root(crawler.settings.get("HERALD_REPLAY"))  # a typo refused before any write
        if root is not None and not is_mirror(root):
            check_index_cache(store.dataset_dir)
        warc_dir = crawler.settings.get("HERALD_WARC_DIR")
        if warc_dir:  # a link or a file refused before any write, as the recorder would
            from herald_spider.archive.writer import check_directory

            try:
                check_directory(Path(warc_dir))
            except OSError as exc:
                raise Refused(f"HERALD_WARC_DIR={warc_dir}: {exc}") from None
        explicit_id = bool(crawler.settings.get("HERALD_CRAWL_ID"))
        # The folders and links before the lock file is made (a folder that is not a dataset
        # gets nothing of ours); everything, files and crawl ID included, under the lock, which
        # no other writer can change while we hold it.
        check_dataset(store.dataset_dir, files=False)
        self.lock.acquire(wait=crawler.settings.getfloat("HERALD_LOCK_WAIT"))
        try:
            self.check(store, explicit_id=explicit_id)
            for table in TABLES:
                ensure_table(store.dataset_dir, table)
        except OSError as exc:
            self.lock.release()
            raise Refused(
                f"Cannot write the dataset {store.dataset_dir}: {exc}. Nothing was written."
            ) from None
        except BaseException:
            self.lock.release()
            raise
        self.crawler = crawler
        crawler.signals.connect(self.spider_opened, signal=signals.spider_opened)

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
