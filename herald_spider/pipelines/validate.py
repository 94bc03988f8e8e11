"""Item pipeline: drop an article that lacks a key field."""

from __future__ import annotations

import logging
from typing import Any

from itemadapter import ItemAdapter
from scrapy.exceptions import DropItem

from herald_spider.component import CrawlerComponent

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
