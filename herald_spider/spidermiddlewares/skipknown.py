"""Spider middleware: article requests whose ID is already stored are never sent."""

from __future__ import annotations

import logging

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.http import Response
from scrapy.spidermiddlewares.base import BaseSpiderMiddleware

from herald_spider.extensions.dataset import crawl_store
from herald_spider.meta import ARTICLE_ID, REFETCH

logger = logging.getLogger(__name__)


class SkipKnownArticlesMiddleware(BaseSpiderMiddleware):
    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        self.store = crawl_store(crawler)

    def get_processed_request(self, request: Request, response: Response | None) -> Request | None:
        article_id = request.meta.get(ARTICLE_ID)
        if article_id and not request.meta.get(REFETCH) and self.store.is_known(article_id):
            assert self.crawler.stats is not None
            self.crawler.stats.inc_value("herald/articles_skipped_known")
            logger.debug("Skipping %s: article %s is already stored", request.url, article_id)
            return None
        return request
