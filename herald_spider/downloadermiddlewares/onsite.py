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
from scrapy.exceptions import IgnoreRequest

from herald_spider import urls
from herald_spider.component import CrawlerComponent

logger = logging.getLogger(__name__)


class OffSiteRefused(IgnoreRequest):
    """A request for a URL outside the site."""


class StayOnSiteMiddleware(CrawlerComponent):
    @staticmethod
    def _guards(spider: Spider | None) -> bool:
        """Whether the rule holds for this spider: the project's spiders, which name the site in
        ``allowed_domains``; not Scrapy's own (``scrapy bench`` crawls a local server)."""
        return urls.HOST in (getattr(spider, "allowed_domains", None) or ())

    def process_request(self, request: Request, spider: Spider | None = None) -> None:
        if urls.on_site(request.url) or not self._guards(self.crawler.spider):
            return
        self._inc("herald/offsite_refused")
        came_from = request.meta.get("redirect_urls") or []
        if came_from:
            self._inc("herald/offsite_refused/redirect")
            logger.warning("Refused a redirect off the site: %s -> %s", came_from[-1], request.url)
        else:
            logger.warning("Refused a request off the site: %s", request.url)
        raise OffSiteRefused(f"not on {urls.HOST}: {request.url}")
