"""The ``links`` table: one row per (page, linked URL, kind) a crawl saw, followed or not.

A callback yields the links it read from a page as one :class:`PageLinks` (its page object
found them, so recording costs no second parse); this spider middleware takes that out of the
callback's output and turns it into rows. Rows are written in batches to ``<dataset>/links/``.
The middleware is part of the crawl: without it, a ``PageLinks`` would reach Scrapy's scraper,
which logs it as an output that is neither a request nor an item.

A row is written once per (crawl, ``from_url``, ``to_url``, ``kind``) (:class:`RecordedLinks`).
Counted: ``herald/links_seen`` (rows added) and ``herald/links_seen/<kind>``;
``herald/links_dropped/navigation`` (anchors of the site's menus and footer, never recorded),
``herald/links_dropped/page_recorded`` (links of a page this crawl recorded before) and
``herald/links_dropped/repeated`` (a (URL, kind) repeated within one response).
"""

from __future__ import annotations

import logging
import time
import weakref
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.http import Response

from herald_spider.dataset.files import RowBuffer, WriteFailed
from herald_spider.dataset.schema import LINKS
from herald_spider.extensions.dataset import crawl_store, writes_dataset
from herald_spider.pages.links import PageLink, PageLinks

logger = logging.getLogger(__name__)

LINKS_DIR = "links"
#: ``seen_at`` is ``timestamp("us", tz="UTC")``
_MICROSECONDS = 1_000_000


class RecordedLinks:
    """Which rows of the links table a crawl has written, so that each (``from_url``,
    ``to_url``, ``kind``) is written once.

    :meth:`new` takes the links one response yielded (a feed yields its links in pieces, all
    from one response) and answers those not written yet: a (URL, kind) repeated within the
    response is left out, and so is every link of a page whose links an earlier response of
    the crawl recorded (the same URL fetched again: a request that skips the duplicate
    filter, a redirect landing on it). It remembers the URL of each page recorded, and the
    rows of one response only while that response is read: memory grows with the pages
    fetched, not with the links.
    """

    def __init__(self) -> None:
        #: the URL of every page whose links were recorded
        self.pages: set[str] = set()
        # the response being read, held weakly (its body is not kept alive), and its rows so far
        self._response: weakref.ref[Any] | None = None
        self._rows: set[tuple[str, str]] = set()
        self._seen_before = False

    def new(self, response: Any, url: str, links: list[PageLink]) -> tuple[list[PageLink], int, int]:
        """(links to write, links of a page recorded before, links repeated in this response)."""
        if self._response is None or self._response() is not response:
            self._response = weakref.ref(response)
            self._rows = set()
            self._seen_before = url in self.pages
            self.pages.add(url)
        if self._seen_before:
            return [], len(links), 0
        rows, fresh = self._rows, []
        for link in links:
            row = (link.url, link.kind)
            if row not in rows:
                rows.add(row)
                fresh.append(link)
        return fresh, 0, len(links) - len(fresh)


class LinkRecorderMiddleware:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        # Without a dataset to write (not `scrapy crawl`), callbacks yield no links to record.
        writes_dataset(crawler)
        self.store = crawl_store(crawler)
        self.buffer = RowBuffer(
            self.store.dataset_dir / LINKS_DIR,
            LINKS,
            self.store.file_tag,
            crawler.settings.getint("HERALD_LINK_BATCH_ROWS"),
            chunk_rows=10_000,
        )
        self.recorded = RecordedLinks()
        self._told_navigation = False
        crawler.signals.connect(self.flush, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> LinkRecorderMiddleware:
        return cls(crawler)

    async def process_spider_output_async(
        self, response: Response, result: AsyncIterator[Any], spider: Any = None
    ) -> AsyncIterator[Any]:
        async for output in result:
            if isinstance(output, PageLinks):
                self.record(response, output)
            else:
                yield output

    def process_spider_output(self, response: Response, result: Any, spider: Any = None) -> Any:
        for output in result:
            if isinstance(output, PageLinks):
                self.record(response, output)
            else:
                yield output

    def record(self, response: Response, found: PageLinks) -> None:
        stats = self.crawler.stats
        assert stats is not None
        if found.navigation:
            stats.inc_value("herald/links_dropped/navigation", found.navigation)
            if not self._told_navigation:
                self._told_navigation = True
                logger.info(
                    "Links in the site's menus and footer are not recorded in the links table "
                    "(%d on %s); herald/links_dropped/navigation counts them",
                    found.navigation,
                    response.url,
                )
        links, page_recorded, repeated = self.recorded.new(response, response.url, found.links)
        if page_recorded:
            stats.inc_value("herald/links_dropped/page_recorded", page_recorded)
        if repeated:
            stats.inc_value("herald/links_dropped/repeated", repeated)
        self._write(response.url, [link.url for link in links], [link.kind for link in links])

    def _write(self, from_url: str, to_urls: list[str], kinds: list[str]) -> None:
        # Whole seconds, in the column's unit (microseconds since the epoch, UTC): pyarrow
        # stores integers in a timestamp column as they are, for a fraction of what a
        # datetime per row costs it to convert (a page has dozens of links).
        seen_at = int(time.time()) * _MICROSECONDS
        rows = len(to_urls)
        try:
            self.buffer.extend(
                rows,
                {
                    "from_url": [from_url] * rows,
                    "to_url": to_urls,
                    "kind": kinds,
                    "seen_at": [seen_at] * rows,
                    "crawl_id": [self.store.crawl_id] * rows,
                },
            )
        except WriteFailed as exc:
            self.store.write_failed(self.crawler, exc)
        stats = self.crawler.stats
        assert stats is not None
        stats.inc_value("herald/links_seen", rows)
        for kind, count in Counter(kinds).items():
            stats.inc_value(f"herald/links_seen/{kind}", count)

    def flush(self) -> None:
        try:
            self.buffer.flush()
        except WriteFailed as exc:
            self.store.write_failed(self.crawler, exc)
