"""Item pipeline: drop an article already stored, by this crawl or an earlier one."""

from __future__ import annotations

import logging
from typing import Any

from itemadapter import ItemAdapter
from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem

from herald_spider.component import CrawlerComponent
from herald_spider.extensions.dataset import crawl_store

logger = logging.getLogger(__name__)


class DeduplicatePipeline(CrawlerComponent):
    """Drop an article whose ID is already stored or was already stored by this crawl."""

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        self.store = crawl_store(crawler)

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
