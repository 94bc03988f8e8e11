"""Drop or repair values no real article has: the checks between validation and storage.

Runs after ``ValidatePipeline`` (which drops items lacking a key field) and before
deduplication, so a dropped article is not remembered as stored. Each outcome is logged with
the URL and counted:

- a title longer than ``HERALD_MAX_TITLE_CHARS`` (500): dropped, ``herald/dropped/title_too_long``;
- a body longer than ``HERALD_MAX_BODY_CHARS`` (1 000 000): dropped, ``herald/dropped/body_too_large``;
- ``published_at`` more than a day after the fetch: dropped, ``herald/dropped/published_in_future``;
- ``updated_at`` more than a day after the fetch: stored with ``updated_at`` null,
  ``herald/repaired/updated_in_future``.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from itemadapter import ItemAdapter
from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem

from herald_spider.component import CrawlerComponent

logger = logging.getLogger(__name__)

#: Clocks and time zones disagree; a day ahead is an error, an hour ahead is not.
FUTURE_SLACK = timedelta(days=1)


class PlausibilityPipeline(CrawlerComponent):
    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        self.max_title = crawler.settings.getint("HERALD_MAX_TITLE_CHARS")
        self.max_body = crawler.settings.getint("HERALD_MAX_BODY_CHARS")

    def _drop(self, reason: str, detail: str, url: str) -> DropItem:
        self._inc(f"herald/dropped/{reason}")
        return DropItem(f"{detail} ({reason}): {url}")

    def process_item(self, item: Any, spider: Any = None) -> Any:
        adapter = ItemAdapter(item)
        url = adapter.get("url") or "(no url)"
        title, body = adapter.get("title") or "", adapter.get("body") or ""
        if len(title) > self.max_title:
            raise self._drop("title_too_long", f"Title of {len(title)} characters", url)
        if len(body) > self.max_body:
            raise self._drop("body_too_large", f"Body of {len(body)} characters", url)
        latest = (adapter.get("fetched_at") or datetime.now(UTC)) + FUTURE_SLACK
        published = adapter.get("published_at")
        if published is not None and published > latest:
            raise self._drop("published_in_future", f"Published {published.isoformat()}", url)
        updated = adapter.get("updated_at")
        if updated is not None and updated > latest:
            self._inc("herald/repaired/updated_in_future")
            logger.warning("Updated %s is in the future, stored as null: %s", updated.isoformat(), url)
            adapter["updated_at"] = None
        return item
