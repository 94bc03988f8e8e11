"""Request fingerprints in which an article request is keyed by its article ID, not its URL.

One article reached through several URLs (query strings, fragments, ``/premium/`` or not,
http or https) is then requested once: Scrapy's dupefilter drops the others. Every other
request keeps Scrapy's own fingerprint. With ``JOBDIR`` the fingerprints persist as usual,
so a resumed crawl remembers which articles it requested.
"""

from __future__ import annotations

import hashlib
from typing import Any

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.utils.request import RequestFingerprinter

from herald_spider.meta import ARTICLE_ID


class ArticleRequestFingerprinter:
    def __init__(self, crawler: Crawler | None = None) -> None:
        self.default = RequestFingerprinter(crawler)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Any:
        return cls(crawler)

    def fingerprint(self, request: Request) -> bytes:
        article_id = request.meta.get(ARTICLE_ID)
        if article_id:
            return hashlib.sha1(f"article:{article_id}".encode()).digest()
        return self.default.fingerprint(request)
