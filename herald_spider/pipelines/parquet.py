"""Item pipeline: write articles in batches of Parquet files."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from itemadapter import ItemAdapter
from scrapy.crawler import Crawler

from herald_spider.component import CrawlerComponent
from herald_spider.dataset.files import RowBuffer, WriteFailed, remove_stale_temporaries
from herald_spider.dataset.schema import ARTICLES
from herald_spider.extensions.dataset import crawl_store
from herald_spider.extensions.shared import stop_for_lost_redis
from herald_spider.items import row_of
from herald_spider.shared import REDIS_ERRORS

logger = logging.getLogger(__name__)


class ParquetWriterPipeline(CrawlerComponent):
    """Buffer articles and write them in batches to ``<HERALD_DATASET_DIR>/articles/``.

    Each batch becomes one Parquet file with the declared schema, written atomically.
    ``HERALD_BATCH_ROWS`` sets the batch size; what is buffered is written when the spider
    closes, whatever the reason.
    """

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        self.store = crawl_store(crawler)
        self.buffer = RowBuffer(
            self.store.articles_dir,
            ARTICLES,
            self.store.file_tag,
            crawler.settings.getint("HERALD_BATCH_ROWS"),
        )

    def open_spider(self, spider: Any = None) -> None:
        lock = self.store.lock
        if lock is not None and not lock.first:
            return  # other processes of a shared crawl write now: their temporaries are not stale
        for path in remove_stale_temporaries(self.store.articles_dir):
            logger.warning("Removed a temporary file left by an interrupted crawl: %s", path)

    def process_item(self, item: Any, spider: Any = None) -> Any:
        adapter = ItemAdapter(item)
        adapter["crawl_id"] = self.store.crawl_id
        if adapter["article_id"] in self.store.refetched:
            return item  # replaces its stored row at the end of the crawl (pipelines/revisions.py)
        shared = self.store.shared
        if shared is not None:  # its request's lease ends once it is in a file
            shared.buffered(adapter["article_id"])
        try:
            self._written(self.buffer.append(row_of(item)))
        except WriteFailed as exc:
            self.store.write_failed(self.crawler, exc)
        return item

    def close_spider(self, spider: Any = None) -> None:
        self.flush()

    def flush(self) -> None:
        try:
            self._written(self.buffer.flush())
        except WriteFailed as exc:
            self.store.write_failed(self.crawler, exc)

    def _written(self, written: tuple[Path, int] | None) -> None:
        if written is None:
            return
        path, rows = written
        self._inc("herald/articles_stored", rows)
        self._inc("herald/parquet_files_written")
        logger.info("Wrote %d articles to %s", rows, path)
        shared = self.store.shared
        if shared is not None and not shared.lost:
            try:
                shared.written()
            except REDIS_ERRORS as exc:
                stop_for_lost_redis(self.crawler, shared, exc)
