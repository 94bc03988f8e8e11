"""The shape shared by the project's crawler components: built ``from_crawler``, counting
what they do in the crawler's ``herald/...`` stats."""

from __future__ import annotations

from typing import Self

from scrapy.crawler import Crawler


class CrawlerComponent:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    def _inc(self, key: str, count: int = 1) -> None:
        assert self.crawler.stats is not None
        self.crawler.stats.inc_value(key, count)
