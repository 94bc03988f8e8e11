"""The ``links`` table: one row per link seen on a fetched page, followed or not.

The spider leaves the links it read from a page in ``response.meta`` (:data:`PAGE_LINKS`);
this spider middleware turns them into rows once the callback is done, so recording costs no
second parse. Rows are written in batches to ``<dataset>/links/``.
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
from herald_spider.extensions.dataset import crawl_store
from herald_spider.meta import PAGE_LINKS
from herald_spider.pages.extract import PageLink

LINKS_DIR = "links"
#: ``seen_at`` is ``timestamp("us", tz="UTC")``
_MICROSECONDS = 1_000_000


class LinkRecorderMiddleware:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
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
            yield output
        self.record(response)

    def process_spider_output(self, response: Response, result: Any, spider: Any = None) -> Any:
        yield from result
        self.record(response)

    def record(self, response: Response) -> None:
        links: list[PageLink] = response.meta.pop(PAGE_LINKS, None) or []
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
