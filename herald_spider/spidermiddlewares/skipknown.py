"""Spider middleware: article requests whose ID is already stored are never sent.

A feed export (``-O items.jsonl``) holds the items of this crawl only, so a crawl that skipped
stored articles writes a feed without them, empty on a second crawl of the same pages: the
crawl says so once, when it ends, with what to run instead.
"""

from __future__ import annotations

import logging
from typing import Any

from scrapy import Request, signals
from scrapy.crawler import Crawler
from scrapy.http import Response
from scrapy.spidermiddlewares.base import BaseSpiderMiddleware

from herald_spider.extensions.dataset import crawl_store
from herald_spider.meta import ARTICLE_ID, REFETCH

logger = logging.getLogger(__name__)

SKIPPED = "herald/articles_skipped_known"


class SkipKnownArticlesMiddleware(BaseSpiderMiddleware):
    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        self.store = crawl_store(crawler)
        #: the feeds this crawl writes (``-o``/``-O``/``FEEDS``): URI -> options
        self.feeds: dict[str, Any] = crawler.settings.getdict("FEEDS")
        if self.feeds:
            crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    def get_processed_request(self, request: Request, response: Response | None) -> Request | None:
        article_id = request.meta.get(ARTICLE_ID)
        if article_id and not request.meta.get(REFETCH) and self.store.is_known(article_id):
            assert self.crawler.stats is not None
            self.crawler.stats.inc_value(SKIPPED)
            logger.debug("Skipping %s: article %s is already stored", request.url, article_id)
            return None
        return request

    def spider_closed(self) -> None:
        assert self.crawler.stats is not None
        skipped = self.crawler.stats.get_value(SKIPPED, 0)
        if skipped:
            logger.warning("%s", feed_warning(list(self.feeds), skipped, str(self.store.dataset_dir)))


def feed_warning(feeds: list[str], skipped: int, dataset_dir: str) -> str:
    """What a crawl that skipped stored articles says of its feeds.

    >>> print(feed_warning(["items.csv"], 3, "/data/ds"))  # doctest: +NORMALIZE_WHITESPACE
    The feed items.csv holds only the articles fetched in this crawl: 3 articles already stored
    in /data/ds were skipped and are not in it. For every stored article run `herald-dataset
    export /data/ds --format csv --out items.csv`; to fetch them again, crawl with -a refresh=all.
    """
    first = feeds[0]
    named = f"The feed {first} holds" if len(feeds) == 1 else f"The feeds {', '.join(feeds)} hold"
    form = "csv" if first.lower().endswith(".csv") else "jsonl"
    out = first if first.lower().endswith((".csv", ".jsonl", ".jl")) else f"items.{form}"
    return (
        f"{named} only the articles fetched in this crawl: {skipped} articles already stored in "
        f"{dataset_dir} were skipped and are not in {'it' if len(feeds) == 1 else 'them'}. For every "
        f"stored article run "
        f"`herald-dataset export {dataset_dir} --format {form} --out {out}`; to fetch them "
        f"again, crawl with -a refresh=all."
    )
