"""Nothing leaves the site: every request, redirected or not, must be for the site's own host.

Scrapy's ``OffsiteMiddleware`` lets through subdomains of ``allowed_domains`` and any request
with ``dont_filter`` set, and a redirect copies ``dont_filter`` from the request it answers;
so a retried article URL redirected elsewhere would be followed. This middleware checks each
request just before it is downloaded with :func:`herald_spider.urls.on_site` (exact host,
http/https, default ports, no credentials in the URL), refuses the others, logs the URL and
counts ``herald/offsite_refused``.
"""

from __future__ import annotations

import logging

from scrapy import Request, Spider
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest

from herald_spider import urls

logger = logging.getLogger(__name__)


class OffSiteRefused(IgnoreRequest):
    """A request for a URL outside the site."""


class StayOnSiteMiddleware:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> StayOnSiteMiddleware:
        return cls(crawler)

    def process_request(self, request: Request, spider: Spider | None = None) -> None:
        if urls.on_site(request.url):
            return
        assert self.crawler.stats is not None
        self.crawler.stats.inc_value("herald/offsite_refused")
        came_from = request.meta.get("redirect_urls") or []
        if came_from:
            self.crawler.stats.inc_value("herald/offsite_refused/redirect")
            logger.warning("Refused a redirect off the site: %s -> %s", came_from[-1], request.url)
        else:
            logger.warning("Refused a request off the site: %s", request.url)
        raise OffSiteRefused(f"not on {urls.HOST}: {request.url}")
