"""One call per answer, for callers that want only that: the article of an article page, the
links of a page. Each builds the page object (:mod:`herald_spider.pages.article`), which
parses the response once; a caller that wants several answers builds the page itself.
"""

from __future__ import annotations

from datetime import datetime

from scrapy.http import TextResponse

from herald_spider.pages.article import ArticlePage, Extracted
from herald_spider.pages.links import PageLink, related_urls
from herald_spider.pages.page import Page

__all__ = ["Extracted", "PageLink", "page_links", "parse_article", "related_urls"]


def parse_article(response: TextResponse, fetched_at: datetime | None = None) -> Extracted:
    """The article on an article page, normalised, with the page's problems listed."""
    return ArticlePage(response, fetched_at).extracted()


def page_links(response: TextResponse, default_kind: str = "other") -> list[PageLink]:
    """Links to site articles and section listings (:meth:`Page.links`)."""
    return Page(response).links(default_kind)
