"""Redirects of article requests are followed, and end in a counted failure when they loop.

Article requests are keyed by article ID (``fingerprint.py``), and ``RedirectMiddleware``
gives the redirected request the original's meta and ``dont_filter``: the dupefilter would
then drop the redirect as a request already seen, and the article would go missing without a
word. This middleware marks a redirected article request (or a legacy ``article.cfm``
request) ``dont_filter``, so it is fetched; a loop ends after ``REDIRECT_MAX_TIMES`` hops
with Scrapy's "max redirections reached", which the spider's errback logs and counts.
Off-site targets are still refused (``onsite.StayOnSiteMiddleware`` checks every request).
Counted: ``herald/redirects/<status>``.
"""

from __future__ import annotations

from scrapy import Request, Spider
from scrapy.http import Response

from herald_spider.component import CrawlerComponent
from herald_spider.meta import ARTICLE_ID, LEGACY_ID

_REDIRECTS = frozenset({301, 302, 303, 307, 308})


class ArticleRedirectMiddleware(CrawlerComponent):
    def process_response(
        self, request: Request, response: Response, spider: Spider | None = None
    ) -> Response:
        if response.status not in _REDIRECTS or b"Location" not in response.headers:
            return response
        self._inc(f"herald/redirects/{response.status}")
        if request.meta.get(ARTICLE_ID) or request.meta.get(LEGACY_ID):
            request.dont_filter = True
        return response
