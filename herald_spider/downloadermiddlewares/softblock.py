"""Soft blocks: a bot challenge or "access denied" page served with status 200.

Such a page is not an article and not a section: storing nothing from it quietly would hide
that the site is blocking the crawler. ``SoftBlockMiddleware`` recognises it, logs the URL,
counts ``herald/soft_blocked``, drops the request (its errback sees ``SoftBlocked``), and
closes the crawl with the finish reason ``soft_blocked`` after ``HERALD_SOFTBLOCK_LIMIT``
challenge pages in a row: by then the site is answering every request with one.
"""

from __future__ import annotations

import logging
import re

from scrapy import Request, Spider
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response, TextResponse
from scrapy.utils.defer import deferred_from_coro

from herald_spider.component import CrawlerComponent

logger = logging.getLogger(__name__)

FINISH_REASON = "soft_blocked"

#: Titles of challenge and denial pages (Cloudflare, Akamai, Incapsula, generic WAFs).
_CHALLENGE_TITLE = re.compile(
    r"(?:just a moment|attention required!?|access denied|request blocked|are you a robot\??|"
    r"security check|verifying you are human|pardon our interruption|403 forbidden)"
    r"(?:\.{3}|…)?(?:\s*\|.*)?",
    re.IGNORECASE,
)
#: Markers that only challenge pages carry, whatever their title.
_CHALLENGE_MARKERS = (
    "cf-browser-verification",
    "cf_chl_opt",
    "/cdn-cgi/challenge-platform/",
    "captcha-delivery.com",
    "px-captcha",
    "_Incapsula_Resource",
    "g-recaptcha",
    "h-captcha",
)
#: In four of the markers: one search of a page without it stands for those four (each search
#: reads the whole sniffed text, and most pages have none of the markers).
_CAPTCHA = "captcha"
_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)
#: Challenge pages are small; a marker deep inside a large page is more likely quoted text.
_SNIFF_BYTES = 64 * 1024


class SoftBlocked(IgnoreRequest):
    """The site answered with a challenge or denial page instead of content."""


def challenge_kind(html: str) -> str | None:
    """What kind of challenge page ``html`` is, or None for an ordinary page.

    >>> challenge_kind("<html><head><title>Just a moment...</title></head></html>")
    'title: Just a moment...'
    >>> challenge_kind('<div id="px-captcha"></div>')
    'marker: px-captcha'
    >>> challenge_kind("<title>Attention Required! | Cloudflare</title>")
    'title: Attention Required! | Cloudflare'
    >>> challenge_kind("<title>Just a moment of silence for the fallen - NZ Herald</title>") is None
    True
    >>> challenge_kind("<title>Access denied: why the border stays shut - NZ Herald</title>") is None
    True
    """
    head = html[:_SNIFF_BYTES]
    match = _TITLE.search(head)
    title = " ".join(match.group(1).split()) if match else ""
    if title and _CHALLENGE_TITLE.fullmatch(title):
        return f"title: {title[:80]}"
    captcha = _CAPTCHA in head
    return next(
        (
            f"marker: {marker}"
            for marker in _CHALLENGE_MARKERS
            if (captcha or _CAPTCHA not in marker) and marker in head
        ),
        None,
    )


class SoftBlockMiddleware(CrawlerComponent):
    """Downloader middleware that turns challenge pages served as 200 into counted failures."""

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        self.limit = crawler.settings.getint("HERALD_SOFTBLOCK_LIMIT")
        self.in_a_row = 0

    def process_response(
        self, request: Request, response: Response, spider: Spider | None = None
    ) -> Response:
        if response.status != 200 or not isinstance(response, TextResponse):
            return response
        kind = challenge_kind(response.text)
        if kind is None:
            self.in_a_row = 0
            return response
        self.in_a_row += 1
        self._inc("herald/soft_blocked")
        logger.warning("Soft block (challenge page served as 200, %s): %s", kind, request.url)
        if self.limit and self.in_a_row == self.limit:
            logger.error(
                "%d challenge pages in a row, last at %s: closing the crawl (%s)",
                self.in_a_row,
                request.url,
                FINISH_REASON,
            )
            self.crawler.stats.set_value("herald/soft_blocked_in_a_row", self.in_a_row)
            assert self.crawler.engine is not None
            deferred_from_coro(self.crawler.engine.close_spider_async(reason=FINISH_REASON))
        raise SoftBlocked(f"challenge page ({kind}): {request.url}")
