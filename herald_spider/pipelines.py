"""Item pipelines: validate, deduplicate, write Parquet. Each counts what it did in
``herald/...`` stats and either returns the item or raises ``DropItem`` with a reason."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from itemadapter import ItemAdapter
from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem

from herald_spider.component import CrawlerComponent
from herald_spider.dataset import RowBuffer, WriteFailed, remove_stale_temporaries
from herald_spider.schema import ARTICLES, row_of
from herald_spider.store import ArticleStore

logger = logging.getLogger(__name__)

REQUIRED = ("article_id", "url", "title", "published_at")


class ValidatePipeline(CrawlerComponent):
    """Drop an article that lacks a key field, naming the URL and the field."""

    def process_item(self, item: Any, spider: Any = None) -> Any:
        adapter = ItemAdapter(item)
        for name in REQUIRED:
            if adapter.get(name) in (None, ""):
                self._inc(f"herald/dropped/missing_{name}")
                raise DropItem(f"Missing {name}: {adapter.get('url') or '(no url)'}")
        if adapter.get("premium") is None:
            adapter["premium"] = False
        return item


class DeduplicatePipeline(CrawlerComponent):
    """Drop an article whose ID is already stored or was already stored by this crawl."""

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        self.store = ArticleStore.for_crawler(crawler)

    def open_spider(self, spider: Any = None) -> None:
        # Load the stored IDs before the first request, not in the middle of the crawl.
        logger.debug("%d articles already stored", len(self.store.known))

    def process_item(self, item: Any, spider: Any = None) -> Any:
        adapter = ItemAdapter(item)
        article_id = adapter["article_id"]
        if self.store.is_known(article_id) and article_id not in self.store.refresh_pending:
            self._inc("herald/dropped/duplicate")
            raise DropItem(f"Duplicate article {article_id}: {adapter.get('url')}")
        self.store.add(article_id)
        return item


class ParquetWriterPipeline(CrawlerComponent):
    """Buffer articles and write them in batches to ``<HERALD_DATASET_DIR>/articles/``.

    Each batch becomes one Parquet file with the declared schema, written atomically.
    ``HERALD_BATCH_ROWS`` sets the batch size; what is buffered is written when the spider
    closes, whatever the reason.
    """

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        self.store = ArticleStore.for_crawler(crawler)
        self.buffer = RowBuffer(
            self.store.articles_dir,
            ARTICLES,
            self.store.crawl_id,
            crawler.settings.getint("HERALD_BATCH_ROWS", 5000),
        )

    def open_spider(self, spider: Any = None) -> None:
        for path in remove_stale_temporaries(self.store.articles_dir):
            logger.warning("Removed a temporary file left by an interrupted crawl: %s", path)

    def process_item(self, item: Any, spider: Any = None) -> Any:
        adapter = ItemAdapter(item)
        adapter["crawl_id"] = self.store.crawl_id
        if adapter["article_id"] in self.store.refetched:
            return item  # replaces its stored row at the end of the crawl (refresh.py)
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
