"""The ``links`` table: one row per link seen on a fetched page, followed or not.

A callback yields the links it read from a page as one :class:`PageLinks` (its page object
found them, so recording costs no second parse); this spider middleware takes that out of the
callback's output and turns it into rows. Rows are written in batches to ``<dataset>/links/``.
The middleware is part of the crawl: without it, a ``PageLinks`` would reach Scrapy's scraper,
which logs it as an output that is neither a request nor an item.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.http import Response

from herald_spider.dataset.files import RowBuffer, WriteFailed
from herald_spider.dataset.schema import LINKS
from herald_spider.extensions.dataset import crawl_store, writes_dataset
from herald_spider.pages.links import PageLink, PageLinks

LINKS_DIR = "links"
#: ``seen_at`` is ``timestamp("us", tz="UTC")``
_MICROSECONDS = 1_000_000


class LinkRecorderMiddleware:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        # Without a dataset to write (not `scrapy crawl`), callbacks yield no links to record.
        writes_dataset(crawler)
        self.store = crawl_store(crawler)
        self.buffer = RowBuffer(
            self.store.dataset_dir / LINKS_DIR,
            LINKS,
            self.store.crawl_id,
            crawler.settings.getint("HERALD_LINK_BATCH_ROWS"),
            chunk_rows=10_000,
        )
        crawler.signals.connect(self.flush, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> LinkRecorderMiddleware:
        return cls(crawler)

    async def process_spider_output_async(
        self, response: Response, result: AsyncIterator[Any], spider: Any = None
    ) -> AsyncIterator[Any]:
        async for output in result:
            if isinstance(output, PageLinks):
                self.record(response, output.links)
            else:
                yield output

    def process_spider_output(self, response: Response, result: Any, spider: Any = None) -> Any:
        for output in result:
            if isinstance(output, PageLinks):
                self.record(response, output.links)
            else:
                yield output

    def record(self, response: Response, links: list[PageLink]) -> None:
        # Whole seconds, in the column's unit (microseconds since the epoch, UTC): pyarrow
        # stores integers in a timestamp column as they are, for a fraction of what a
        # datetime per row costs it to convert (a page has dozens of links).
        seen_at = int(time.time()) * _MICROSECONDS
        rows = len(links)
        try:
            self.buffer.extend(
                rows,
                {
                    "from_url": [response.url] * rows,
                    "to_url": [link.url for link in links],
                    "kind": [link.kind for link in links],
                    "seen_at": [seen_at] * rows,
                    "crawl_id": [self.store.crawl_id] * rows,
                },
            )
        except WriteFailed as exc:
            self.store.write_failed(self.crawler, exc)
        assert self.crawler.stats is not None
        self.crawler.stats.inc_value("herald/links_seen", len(links))

    def flush(self) -> None:
        try:
            self.buffer.flush()
        except WriteFailed as exc:
            self.store.write_failed(self.crawler, exc)
