"""Section spiders. They only route: page code finds links and articles, pipelines store."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any

import scrapy
from scrapy.http import HtmlResponse, Response
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.python.failure import Failure

from herald_spider import urls
from herald_spider.errors import Refused
from herald_spider.extensions.frontier import resumed
from herald_spider.meta import ARTICLE_ID, CARD, LEGACY_ID
from herald_spider.pages.article import ArticlePage
from herald_spider.pages.cards import CardSignal
from herald_spider.pages.links import PageLink, PageLinks
from herald_spider.pages.page import Page
from herald_spider.spidermiddlewares.refresh import check_mode

#: What :attr:`SectionSpider.tried` holds for an article whose page came back.
FETCHED: tuple[str, ...] = ()


class SectionSpider(scrapy.Spider):
    """Crawl one section: its listing, its subsection listings and the articles they lead to.

    ``scrapy crawl section -a section=nz/politics``. Articles are followed from section cards
    and from the related, latest-from and discover-more blocks of other articles; only
    articles whose section path lies under ``section`` are stored. ``-a refresh=updated``
    fetches stored articles again when a card shows them changed, ``-a refresh=all`` always.
    """

    name = "section"
    allowed_domains = (urls.HOST,)
    section = ""

    def __init__(self, section: str | None = None, refresh: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        try:
            self.section = urls.clean_section_arg(section or self.section)
        except ValueError as exc:
            raise Refused(f"{exc}; use e.g. -a section=world or -a section=nz/politics") from None
        try:
            self.refresh = check_mode(refresh)
        except ValueError as exc:
            raise Refused(str(exc)) from None
        #: Per article ID: the URLs requested so far, other URLs seen for it (tried when the
        #: requested one is missing: the site serves a page under one URL only), and the IDs
        #: whose every requested URL answered 404. One entry per article the crawl meets:
        #: tuples of strings, which the garbage collector stops tracking (a list per article
        #: made every full collection walk them all). Once an article's page has come back
        #: its URLs are no longer needed: its entry becomes ``FETCHED`` (see :meth:`_fetched`),
        #: so a long crawl keeps only the ID of each article it has read.
        self.tried: dict[str, tuple[str, ...]] = {}
        self.variants: dict[str, list[str]] = {}
        self.not_found: set[str] = set()

    async def start(self) -> AsyncIterator[Any]:
        state = getattr(self, "state", None)  # set with JOBDIR, saved on pause, loaded on resume
        if state is not None:
            self.tried = state.setdefault("tried", self.tried)
            self.variants = state.setdefault("variants", self.variants)
            self.not_found = state.setdefault("not_found", self.not_found)
        yield scrapy.Request(
            urls.section_url(self.section), callback=self.parse_section, errback=self.request_failed
        )
        for url, article_id in resumed(self.crawler, self):
            tried = self.tried.get(article_id, ())
            if url not in tried:
                self.tried[article_id] = (*tried, url)
            yield self._article_request(url, article_id)

    # --- routing ----------------------------------------------------------------------

    def parse_section(self, response: Response) -> Iterator[Any]:
        if not isinstance(response, HtmlResponse):
            self._count("herald/pages_not_html")
            self.logger.warning("Not an HTML page: %s", response.url)
            return
        page = Page(response)
        links = page.links(default_kind="section-card")
        yield PageLinks(links)  # for the links table
        if not links:
            self._count("herald/sections_without_links")
            self.logger.warning("No article or section links on section page %s", response.url)
        for link in links:
            if link.section and urls.is_under(link.section, self.section) and link.section != self.section:
                yield response.follow(link.url, callback=self.parse_section, errback=self.request_failed)
        yield from self._follow_articles(page, links)
        yield from self._follow_legacy(page)

    def parse_article(self, response: Response) -> Iterator[Any]:
        self._fetched(response)
        if not isinstance(response, HtmlResponse):
            self._count("herald/pages_not_html")
            self.logger.warning("Not an HTML page at an article URL: %s", response.url)
            return
        if not response.body.strip():
            self._count("herald/pages_empty")
            self.logger.warning(
                "Empty page (HTTP %s, no content) at an article URL: %s", response.status, response.url
            )
            return
        page = ArticlePage(response, fetched_at=datetime.now(UTC).replace(microsecond=0))
        article = page.to_item()
        for problem in page.problems:
            self._count(f"herald/page_problems/{problem.split(':')[0].replace(' ', '_')}")
            self.logger.warning("Page problem at %s: %s", response.url, problem)
        # Links before the article: they are scheduled, and journalled by the frontier, before
        # the article is stored, so a crawl killed after the write still knows where it led.
        links = page.links()
        yield PageLinks(links)  # for the links table
        yield from self._follow_articles(page, links)
        yield from self._follow_legacy(page)
        if article.section_path and not urls.is_under(article.section_path, self.section):
            self._count("herald/articles_outside_section")
            self.logger.debug("Not under %s: %s (%s)", self.section, response.url, article.section_path)
        else:
            yield article

    def _fetched(self, response: Response) -> None:
        """Forget the URLs of an article whose page came back: it is not requested again."""
        article_id = response.meta.get(ARTICLE_ID)
        if article_id:
            self.tried[article_id] = FETCHED
            self.variants.pop(article_id, None)

    def _follow_legacy(self, page: Page) -> list[scrapy.Request]:
        """Legacy ``article.cfm`` links: the site redirects them to the article's current URL."""
        return [
            scrapy.Request(
                url, callback=self.parse_article, errback=self.request_failed, meta={LEGACY_ID: object_id}
            )
            for url, object_id in page.legacy_links()
        ]

    def _follow_articles(self, page: Page | None, links: list[PageLink]) -> Iterator[scrapy.Request]:
        cards: dict[str, CardSignal] = {}
        if self.refresh == "updated" and page is not None:
            cards = page.cards(datetime.now(UTC))
        for link in links:
            if not link.article_id or not urls.article_path_under(link.url, self.section):
                continue
            tried = self.tried.get(link.article_id)
            if tried is None:
                self.tried[link.article_id] = (link.url,)
                yield self._article_request(link.url, link.article_id, card=cards.get(link.article_id))
            elif tried == FETCHED:  # its page came back
                continue
            elif link.article_id in self.not_found and link.url not in tried:
                self.not_found.discard(link.article_id)
                self.tried[link.article_id] = (*tried, link.url)
                yield self._article_request(
                    link.url, link.article_id, dont_filter=True, card=cards.get(link.article_id)
                )
            elif link.url not in tried and link.url not in self.variants.get(link.article_id, ()):
                self.variants.setdefault(link.article_id, []).append(link.url)

    def _article_request(
        self, url: str, article_id: str, *, dont_filter: bool = False, card: CardSignal | None = None
    ) -> scrapy.Request:
        return scrapy.Request(
            url,
            callback=self.parse_article,
            errback=self.request_failed,
            meta={ARTICLE_ID: article_id, CARD: card} if card else {ARTICLE_ID: article_id},
            dont_filter=dont_filter,
        )

    def request_failed(self, failure: Failure) -> Iterator[scrapy.Request]:
        request = failure.request  # type: ignore[attr-defined]
        article_id = request.meta.get(ARTICLE_ID)
        page = "article" if article_id or request.meta.get(LEGACY_ID) else "section"
        error = failure.value
        if isinstance(error, HttpError):
            status = error.response.status
            self._count(f"herald/http_errors/{status}")
            self.logger.warning("%s page failed with HTTP %s: %s", page.capitalize(), status, request.url)
            alternatives = self.variants.get(article_id, []) if article_id else []
            if status == 404 and alternatives:
                url = alternatives.pop(0)
                self.tried[article_id] = (*self.tried.get(article_id, ()), url)
                self.logger.info("Trying another URL for article %s: %s", article_id, url)
                yield self._article_request(url, article_id, dont_filter=True)
                return
            if status == 404 and article_id:
                self.not_found.add(article_id)
        else:
            self._count(f"herald/request_failures/{type(error).__name__}")
            self.logger.warning(
                "%s request failed: %s (%s)", page.capitalize(), request.url, failure.getErrorMessage()
            )
        self._count(f"herald/{page}s_failed")

    def _count(self, key: str) -> None:
        assert self.crawler.stats is not None
        self.crawler.stats.inc_value(key)


class WorldSpider(SectionSpider):
    """``scrapy crawl world``: the World section."""

    name = "world"
    section = "world"

    def __init__(self, refresh: str | None = None, **kwargs: Any) -> None:
        kwargs.pop("section", None)
        super().__init__(section="world", refresh=refresh, **kwargs)
