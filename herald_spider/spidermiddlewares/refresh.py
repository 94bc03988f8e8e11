"""Refreshing stored articles: which requests for stored articles are fetched again.

``scrapy crawl world -a refresh=updated`` fetches a stored article again when a card linking to
it shows a newer time or an "Updated" label; ``-a refresh=all`` fetches every stored article the
crawl meets. :class:`RefreshMiddleware` decides;
:class:`~herald_spider.pipelines.revisions.RevisionPipeline` keeps the versions.
"""

from __future__ import annotations

import logging
from datetime import datetime

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.http import Response
from scrapy.spidermiddlewares.base import BaseSpiderMiddleware

from herald_spider.component import CrawlerComponent
from herald_spider.dataset.files import read_table
from herald_spider.extensions.dataset import crawl_store
from herald_spider.meta import ARTICLE_ID, CARD, REFETCH
from herald_spider.pages.cards import CardSignal

logger = logging.getLogger(__name__)

#: Values of the spider argument ``refresh``.
REFRESH_MODES = ("", "updated", "all")


def check_mode(value: str | None) -> str:
    mode = (value or "").strip().lower()
    if mode not in REFRESH_MODES:
        raise ValueError(f"refresh={value!r}: use -a refresh=updated or -a refresh=all")
    return mode


class RefreshMiddleware(CrawlerComponent, BaseSpiderMiddleware):
    """Mark requests for stored articles to be fetched again, per the spider's ``refresh``.

    Runs before :class:`~herald_spider.spidermiddlewares.skipknown.SkipKnownArticlesMiddleware`, which lets
    marked requests through.
    """

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        self.store = crawl_store(crawler)
        self._stored: dict[str, tuple[datetime | None, datetime | None]] | None = None

    def stored_times(self) -> dict[str, tuple[datetime | None, datetime | None]]:
        """ID -> (published_at, updated_at) of the articles stored before this crawl."""
        if self._stored is None:
            columns = read_table(
                self.store.articles_dir, "articles", columns=["article_id", "published_at", "updated_at"]
            )
            self._stored = {
                row["article_id"]: (row["published_at"], row["updated_at"]) for row in columns.to_pylist()
            }
        return self._stored

    def get_processed_request(self, request: Request, response: Response | None) -> Request | None:
        article_id = request.meta.get(ARTICLE_ID)
        mode = getattr(self.crawler.spider, "refresh", "")
        if not mode or not article_id or request.meta.get(REFETCH):
            return request
        if article_id in self.store.refresh_pending:
            request.meta[REFETCH] = True  # another URL for an article being refreshed
            return request
        stored = self.stored_times().get(article_id)
        if stored is None or article_id in self.store.refetched:
            return request
        card: CardSignal | None = request.meta.get(CARD)
        if mode == "all" or (card is not None and card.newer_than(*stored)):
            request.meta[REFETCH] = True
            self.store.refresh_pending.add(article_id)
            self._inc("herald/refresh/requested")
        return request
