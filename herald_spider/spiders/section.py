"""Section spiders. They only route: page code finds links and articles, pipelines store."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Generator, Iterable, Iterator
from datetime import UTC, datetime
from typing import Any, Self

import scrapy
from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import DontCloseSpider, DownloadCancelledError, IgnoreRequest
from scrapy.http import HtmlResponse, Response
from scrapy.spidermiddlewares.httperror import HttpError
from scrapy.utils.sitemap import sitemap_urls_from_robots
from twisted.python.failure import Failure

from herald_spider import urls
from herald_spider.backfill import SITEMAPS_BEGIN, Backfill, Window, queued
from herald_spider.errors import Refused
from herald_spider.extensions.frontier import resumed
from herald_spider.extensions.shared import other_urls, seeds_crawl
from herald_spider.meta import ARTICLE_ID, CARD, FEED, LEGACY_ID
from herald_spider.pages.article import ArticlePage
from herald_spider.pages.cards import CardSignal
from herald_spider.pages.feeds import FeedEntry, FeedPage
from herald_spider.pages.links import PageLink, PageLinks
from herald_spider.pages.page import Page
from herald_spider.spidermiddlewares.refresh import check_mode

#: What :attr:`SectionSpider.tried` holds for an article whose page came back.
FETCHED: tuple[str, ...] = ()
#: The depth of a backfill's day sitemaps: robots.txt 0, the index 1 (their articles are at 3).
DAY_DEPTH = 2
#: Feed entries per ``PageLinks`` output (the links table's rows of one feed, in pieces).
FEED_LINK_CHUNK = 1000


class SectionSpider(scrapy.Spider):
    """Crawl one section: its listing, its subsection listings and the articles they lead to.

    ``scrapy crawl section -a section=nz/politics``. Articles are followed from section cards,
    from the site's news sitemap and the section's RSS feed, and from the related, latest-from
    and discover-more blocks of other articles; only articles whose section path lies under
    ``section`` are stored. ``-a since=YYYY-MM-DD [-a until=YYYY-MM-DD]`` is a backfill: the
    articles the by-day sitemaps of those days list, and no others: no listing, no feed, no
    link out of an article (docs/site.md §6).
    ``-a refresh=updated`` fetches stored articles again when a card or a sitemap entry shows
    them changed, ``-a refresh=all`` always.
    """

    name = "section"
    allowed_domains = (urls.HOST,)
    #: the spider arguments (``-a name=value``) it takes
    ARGUMENTS: tuple[str, ...] = ("section", "refresh", "since", "until")
    section = ""

    def __init__(
        self,
        section: str | None = None,
        refresh: str | None = None,
        since: str | None = None,
        until: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.section, self.refresh, window = self.check_arguments(
            section=section, refresh=refresh, since=since, until=until
        )
        #: The by-day sitemaps still to read, for a backfill (None for any other crawl).
        self.backfill = Backfill(window) if window is not None else None
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

    @classmethod
    def check_arguments(
        cls,
        section: str | None = None,
        refresh: str | None = None,
        since: str | None = None,
        until: str | None = None,
        **unknown: Any,
    ) -> tuple[str, str, Window | None]:
        """The section path, refresh mode and backfill window the spider arguments ask for;
        :class:`Refused` with what to do for a wrong one. ``scrapy crawl`` asks before it
        starts anything (herald_spider/commands/crawl.py). An argument the spider does not take
        is refused too: Scrapy would set it as an attribute (``-a allowed_domains=...``)."""
        if unknown:
            names = ", ".join(sorted(unknown))
            raise Refused(f"unknown spider argument {names}: {cls.name} takes {', '.join(cls.ARGUMENTS)}")
        if section is not None and not section.strip():
            raise Refused("section is empty; use e.g. -a section=world or -a section=nz/politics")
        try:
            path = urls.clean_section_arg(section or cls.section)
        except ValueError as exc:
            raise Refused(f"{exc}; use e.g. -a section=world or -a section=nz/politics") from None
        try:
            mode = check_mode(refresh)
        except ValueError as exc:
            raise Refused(str(exc)) from None
        try:
            window = Window.from_args(since, until, today=datetime.now(UTC).date())
        except ValueError as exc:
            raise Refused(f"{exc}; e.g. -a since=2024-02-01 -a until=2024-12-31") from None
        return path, mode, window

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> Self:
        spider = super().from_crawler(crawler, *args, **kwargs)
        crawler.signals.connect(spider.spider_idle, signal=signals.spider_idle)
        return spider

    async def start(self) -> AsyncIterator[Any]:
        state = getattr(self, "state", None)  # set with JOBDIR, saved on pause, loaded on resume
        if state is not None:
            self.tried = state.setdefault("tried", self.tried)
            self.variants = state.setdefault("variants", self.variants)
            self.not_found = state.setdefault("not_found", self.not_found)
            if self.backfill is not None:
                # a resumed job goes on with its own days (a default `until` moves with the date)
                saved = state.setdefault("backfill", self.backfill)
                if saved.window != self.backfill.window:
                    self.logger.info("Resuming the backfill of %s (JOBDIR)", saved.window)
                self.backfill = saved
        if seeds_crawl(self.crawler):  # a process joining a shared crawl finds it seeded
            for request in self._seeds():
                yield request
        for url, article_id in resumed(self.crawler, self):
            tried = self.tried.get(article_id, ())
            if url not in tried:
                self.tried[article_id] = (*tried, url)
            yield self._article_request(url, article_id)

    def _seeds(self) -> Iterator[scrapy.Request]:
        """Where the crawl begins: the section listing (not for a backfill) and robots.txt."""
        if self.backfill is None:
            yield scrapy.Request(
                urls.section_url(self.section), callback=self.parse_section, errback=self.request_failed
            )
        else:
            self.logger.info("Backfill of %s: the by-day sitemaps of %s", self.section, self.backfill.window)
            if self.backfill.window.since is None or self.backfill.window.since < SITEMAPS_BEGIN:
                self.logger.info(
                    "The live site's sitemap index begins on %s: earlier days are only in web archives",
                    SITEMAPS_BEGIN,
                )
        yield scrapy.Request(urls.ROBOTS_URL, callback=self.parse_robots, errback=self.robots_failed)

    # --- routing ----------------------------------------------------------------------

    def parse_section(self, response: Response) -> Iterator[Any]:
        """A section listing: follow its subsections under the section and its articles.

        Contracts for ``scrapy check`` (the article links the callbacks of one check share
        the spider's memory of requested articles, so only the seven subsections are counted):

        @url https://www.nzherald.co.nz/world/
        @returns items 0 0
        @returns requests 7
        """
        self._count("herald/pages_parsed")
        if not isinstance(response, HtmlResponse):
            self._count("herald/pages_not_html")
            self.logger.warning("Not an HTML page: %s", response.url)
            return
        page = Page(response)
        found = page.page_links()
        links = found.links
        yield from self._for_links_table(found)
        if not links:
            self._count("herald/sections_without_links")
            self.logger.warning("No article or section links on section page %s", response.url)
        followed = {self.section}  # a section is a link of each block it sits in: one request
        for link in links:
            if link.section and link.section not in followed and urls.is_under(link.section, self.section):
                followed.add(link.section)
                yield response.follow(link.url, callback=self.parse_section, errback=self.request_failed)
        yield from self._follow_articles(links, self._cards(page), "links")
        yield from self._follow_legacy(page)

    def parse_article(self, response: Response) -> Iterator[Any]:
        """An article: its item (when under the section) and the articles it links to.

        @url https://www.nzherald.co.nz/world/russia-at-an-impasse-with-the-west-warns-it-is-ready-to-abandon-diplomacy/ZENJPN3QZCD533OKO7FSX5JTSK/
        @returns items 1 1
        @scrapes article_id url title description authors distributor published_at body word_count
        @scrapes section section_path image_url content_hash fetched_at
        """
        self._count("herald/pages_parsed")
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
        found = page.page_links()
        links = found.links
        yield from self._for_links_table(found)
        if self.backfill is None:
            yield from self._follow_articles(links, self._cards(page), "links")
            yield from self._follow_legacy(page)
        else:  # the window's sitemaps list its stories; links lead out of the window
            self._next_day()
        if article.section_path and not urls.is_under(article.section_path, self.section):
            self._count("herald/articles_outside_section")
            self.logger.debug("Not under %s: %s (%s)", self.section, response.url, article.section_path)
        else:
            yield article

    def parse_robots(self, response: Response) -> Iterator[scrapy.Request]:
        """robots.txt: the feeds to read, from its ``Sitemap:`` lines or the known URLs.

        @url https://www.nzherald.co.nz/robots.txt
        @returns requests 2 2
        """
        listed = [
            url for url in sitemap_urls_from_robots(response.body, base_url=response.url) if urls.on_site(url)
        ]
        if not listed:
            self.logger.info(
                "robots.txt names no sitemap on the site: using the known feed URLs (%s)", response.url
            )
        return self._feed_requests(listed)

    def robots_failed(self, failure: Failure) -> Iterator[scrapy.Request]:
        self.logger.info(
            "No robots.txt to read the sitemaps from (%s): using the known feed URLs",
            failure.getErrorMessage(),
        )
        return self._feed_requests([])

    def _feed_requests(self, listed: list[str]) -> Iterator[scrapy.Request]:
        """The feeds this crawl reads: for a backfill the sitemap index, else the news sitemap
        and the section's RSS feed. robots.txt ``Sitemap:`` lines name the sitemaps; the known
        URLs stand in for the ones it does not name."""
        news = [url for url in listed if "news" in url.lower()]
        if self.backfill is not None:
            for url in [url for url in listed if url not in news] or [urls.SITEMAP_INDEX_URL]:
                yield self._feed_request(url, "sitemap-index")
            return
        for url in news or [urls.NEWS_SITEMAP_URL]:
            yield self._feed_request(url, "news-sitemap")
        yield self._feed_request(urls.rss_url(self.section), "rss")

    def _feed_request(self, url: str, feed: str, meta_depth: int | None = None) -> scrapy.Request:
        meta: dict[str, Any] = {FEED: feed} if meta_depth is None else {FEED: feed, "depth": meta_depth}
        return scrapy.Request(url, callback=self.parse_feed, errback=self.feed_failed, meta=meta)

    def parse_feed(self, response: Response) -> Iterator[Any]:
        """A sitemap index, a sitemap or an RSS feed: follow what it lists, as it is read.

        @url https://www.nzherald.co.nz/arc/outboundfeeds/rss/section/world/?outputType=xml&_website=nzh
        @meta {"herald_feed": "rss"}
        @returns items 0 0
        @returns requests 1
        """
        self._count("herald/pages_parsed")
        feed = response.meta[FEED]
        maxsize = response.meta.get("download_maxsize", self.settings.getint("DOWNLOAD_MAXSIZE"))
        page = FeedPage(response.url, response.body, maxsize)
        if feed == "sitemap":
            assert self.backfill is not None
            self.backfill.days_done += 1
            self._count("herald/sitemaps/read")
        entries = page.entries()  # a generator: closed below, whatever was read of it
        first = next(entries, None)  # the root is read: the page knows what it is
        listed = itertools.chain([first] if first else [], entries)
        if page.kind == "sitemapindex":
            self._read_index(response, listed)
        elif page.kind is not None and (feed != "sitemap-index" or self.backfill is None):
            news = page.news or feed == "news-sitemap"
            source = "rss" if page.kind == "rss" else "news-sitemap" if news else "sitemap"
            yield from self._read_articles(source, listed)
        elif page.kind is not None:
            self.logger.info("Not a sitemap index, not read for a backfill: %s", response.url)
        entries.close()
        for problem in page.problems:
            self._count(f"herald/page_problems/{problem.split(':')[0]}")
            self.logger.warning("Feed problem at %s: %s", response.url, problem)
        if feed == "sitemap":
            self._next_day()

    def _read_index(self, response: Response, listed: Iterable[FeedEntry]) -> None:
        if self.backfill is None:
            self.logger.info("A sitemap index where a sitemap was expected, not read: %s", response.url)
            return
        backfill, undated, first_undated = self.backfill, 0, ""
        for entry in listed:
            if entry.day is None:
                undated, first_undated = undated + 1, first_undated or entry.url
            elif entry.day not in backfill.window:
                self._count("herald/sitemaps/outside_window")
            elif backfill.add(entry.url):
                self._count("herald/sitemaps/in_window")
        if undated:
            self._count("herald/sitemaps/undated", undated)
            self.logger.warning(
                "%d sitemaps of the index at %s name no day, not read (first: %s)",
                undated,
                response.url,
                first_undated,
            )
        self.logger.info(
            "Sitemap index %s: %d days in %s", response.url, backfill.days_total, backfill.window
        )
        self._next_day()

    def _read_articles(self, source: str, listed: Iterable[FeedEntry]) -> Iterator[Any]:
        """Follow the articles under the section that a feed lists, a chunk at a time."""
        links: list[PageLink] = []
        cards: dict[str, CardSignal] = {}
        requested = 0
        for entry in listed:
            url, article_id, _ = urls.link_target(entry.url)
            if url is None or article_id is None:
                self._count("herald/discovery/not_articles")
                continue
            if not urls.article_path_under(url, self.section):
                self._count("herald/discovery/outside_section")
                continue
            links.append(PageLink(url, source, article_id))
            if entry.time is not None and self.refresh == "updated":
                cards[article_id] = CardSignal(entry.time, False)
            if len(links) == FEED_LINK_CHUNK:
                requested += yield from self._take_feed_links(links, cards, source)
                links, cards = [], {}
        requested += yield from self._take_feed_links(links, cards, source)
        if source == "sitemap" and self.backfill is not None:
            self.backfill.articles_listed += requested

    def _take_feed_links(
        self, links: list[PageLink], cards: dict[str, CardSignal], source: str
    ) -> Generator[Any, None, int]:
        if not links:
            return 0
        self._count(f"herald/discovery/{source}/listed", len(links))
        yield from self._for_links_table(PageLinks(links))  # how each article was found
        requests = list(self._follow_articles(links, cards, source))
        yield from requests
        return len(requests)

    def _next_day(self) -> None:
        """Request the next by-day sitemap, once the one before is read and few requests are
        queued (``HERALD_BACKFILL_QUEUE``): a backfill of years holds a day's entries and a
        little more in its queue, never all of them. Asked after each sitemap and article;
        :meth:`spider_idle` covers the rest."""
        if self.backfill is None or not self.backfill.pending or self.backfill.in_flight:
            return
        assert self.crawler.stats is not None
        if queued(self.crawler.stats.get_stats()) <= self.settings.getint("HERALD_BACKFILL_QUEUE"):
            self._schedule_day()

    def _schedule_day(self) -> bool:
        """Schedule the next day sitemap, ahead of the articles queued, at the depth of the
        index's entries (handed to the engine: it does not inherit the depth of the article
        whose callback asked, so ``DEPTH_LIMIT`` and the depth priority see every day alike)."""
        assert self.backfill is not None and self.crawler.engine is not None
        url = self.backfill.next_day()
        if url is None:
            return False
        self.crawler.engine.crawl(self._feed_request(url, "sitemap", meta_depth=DAY_DEPTH))
        return True

    def spider_idle(self) -> None:
        """Nothing left to fetch: the next by-day sitemap of a backfill, if any."""
        if self.backfill is None:
            return
        self.backfill.days_requested = self.backfill.days_done  # idle: nothing is in flight
        if self._schedule_day():
            raise DontCloseSpider

    def _for_links_table(self, links: PageLinks) -> Iterator[PageLinks]:
        """The page's links for the links table, in a crawl that writes the dataset (not in
        ``scrapy parse``, which calls callbacks without the middleware that records them)."""
        if self.crawler.settings.getbool("HERALD_WRITE_DATASET"):
            yield links

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

    def _cards(self, page: Page) -> dict[str, CardSignal]:
        """What the page's cards say of their articles' freshness, when the crawl refreshes."""
        return page.cards(datetime.now(UTC)) if self.refresh == "updated" else {}

    def _follow_articles(
        self, links: Iterable[PageLink], cards: dict[str, CardSignal], source: str
    ) -> Iterator[scrapy.Request]:
        """Requests for the linked articles under the section that the crawl has not asked for;
        each one is counted for the ``source`` that found it first (``herald/discovery/...``)."""
        for link in links:
            if not link.article_id or not urls.article_path_under(link.url, self.section):
                continue
            tried = self.tried.get(link.article_id)
            if tried is None:
                self.tried[link.article_id] = (link.url,)
                self._count(f"herald/discovery/{source}")
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
            if status == 404 and article_id and not alternatives:  # found by another process?
                alternatives = other_urls(self.crawler, article_id, self.tried.get(article_id, ()))
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
        if page == "section" and request.url == urls.section_url(self.section):
            self._count("herald/start_failed")

    def feed_failed(self, failure: Failure) -> None:
        """A feed that did not come: logged and counted apart from pages (``herald/feeds_missing``
        for a 404: not every section has an RSS feed); a backfill goes on to its next day."""
        request = failure.request  # type: ignore[attr-defined]
        feed, error = request.meta[FEED], failure.value
        if isinstance(error, HttpError) and error.response.status == 404:
            self._count(f"herald/feeds_missing/{feed}")
            log = self.logger.info if feed == "rss" else self.logger.warning
            log("No %s at %s (HTTP 404)", feed, request.url)
        else:
            reason = (
                f"HTTP {error.response.status}" if isinstance(error, HttpError) else failure.getErrorMessage()
            )
            self._count(f"herald/feeds_failed/{feed}")
            self.logger.warning("The %s request failed: %s (%s)", feed, request.url, reason)
            # over DOWNLOAD_MAXSIZE as sent, or once HttpCompressionMiddleware inflated it
            if isinstance(error, DownloadCancelledError) or (
                isinstance(error, IgnoreRequest) and "DOWNLOAD_MAXSIZE" in str(error)
            ):
                self._count("herald/page_problems/feed_too_large")
        if feed == "sitemap-index":
            self._count("herald/start_failed")
        if feed == "sitemap":
            assert self.backfill is not None
            self.backfill.days_done += 1
            self._next_day()

    def _count(self, key: str, count: int = 1) -> None:
        assert self.crawler.stats is not None
        self.crawler.stats.inc_value(key, count)


class WorldSpider(SectionSpider):
    """``scrapy crawl world``: the World section."""

    name = "world"
    section = "world"
    ARGUMENTS = ("refresh", "since", "until")

    def __init__(self, **kwargs: Any) -> None:
        kwargs.pop("section", None)
        super().__init__(section="world", **kwargs)

    @classmethod
    def check_arguments(  # type: ignore[override]
        cls, section: str | None = None, **kwargs: Any
    ) -> tuple[str, str, Window | None]:
        if section is not None and section.strip().strip("/").lower() != "world":
            raise Refused(f"section={section!r}: world crawls World; use scrapy crawl section -a section=...")
        return super().check_arguments(**kwargs)
