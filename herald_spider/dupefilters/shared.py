"""The dupefilter of a crawl shared through Redis: scrapy-redis's, keyed by the project's
request fingerprint (the article ID for an article, :mod:`herald_spider.fingerprint`), so no
two processes fetch one article, whatever URL each found it under."""

from __future__ import annotations

from typing import Any

from scrapy import Request
from scrapy_redis.dupefilter import RFPDupeFilter


class SharedDupeFilter(RFPDupeFilter):  # type: ignore[misc]
    def __init__(self, server: Any, key: str, fingerprinter: Any, debug: bool = False) -> None:
        super().__init__(server, key, debug=debug)
        self.fingerprinter = fingerprinter

    def request_fingerprint(self, request: Request) -> str:
        return str(self.fingerprinter.fingerprint(request).hex())

    def close(self, reason: str = "") -> None:
        """Keep the fingerprints: the other processes of the crawl use them (the last process of
        a finished crawl removes them, :meth:`herald_spider.shared.SharedCrawl.end_crawl`)."""
