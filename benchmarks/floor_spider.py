"""The floor: the cheapest Scrapy crawl of a World mirror that still follows every link.

``scrapy runspider benchmarks/floor_spider.py -s HERALD_REPLAY=<mirror>`` from the project
directory, so it runs with the project's settings (concurrency, delays, fingerprinter)
and the same replay middleware, but none of the project's other components: no pipelines,
spider middlewares or extensions but the one that keeps start-up objects out of the garbage
collector's way (any crawl can use it), and no downloader middleware of its own but the replay
one (encoding repair, soft-block detection, back-off, redirects and the on-site check are
herald's cost, not the floor's). Each page is parsed by lxml straight from its bytes, with
no Selector (:func:`page_tree`). Links are filtered and de-duplicated as strings (article ID
or section path) before any Request is built; one field, the ``h1`` text, is yielded per
article.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import scrapy
from lxml import etree
from scrapy.http import Response, TextResponse

from herald_spider.settings import DOWNLOADER_MIDDLEWARES, EXTENSIONS

REPLAY = "herald_spider.replay.ReplayMiddleware"
FREEZE = "herald_spider.gcfreeze.FreezeStartupObjects"
SITE = "https://www.nzherald.co.nz"

_SITE = r"^(?:https?://(?:www\.)?nzherald\.co\.nz)?"
_TAIL = r"/?(?:[?#].*)?$"
ARTICLE = re.compile(_SITE + r"(/world/(?:[a-z0-9-]+/)+?(?:premium/)?([A-Z0-9]{26}))" + _TAIL)
SECTION = re.compile(_SITE + r"(/world/(?:[a-z0-9-]+/)?)" + r"(?:[?#].*)?$")
NOT_ARTICLE = ("/video/", "/videos/")


_PARSERS: dict[str, etree.HTMLParser] = {}


def page_tree(response: TextResponse) -> Any:
    """The page's tree, parsed by libxml2 straight from the bytes in the response's encoding:
    no decoded copy of the page, no Selector, and no reference cycle, so the tree is freed as
    soon as the callback is done with it (a Selector's tree waits for a garbage collection)."""
    parser = _PARSERS.get(response.encoding)
    if parser is None:
        parser = _PARSERS[response.encoding] = etree.HTMLParser(encoding=response.encoding, collect_ids=False)
    return etree.fromstring(response.body, parser, base_url=response.url)


def h1_text(root: Any) -> str:
    """The text of the page's first ``h1``, white space trimmed."""
    return " ".join(t.strip() for t in root.xpath("//h1[1]//text()") if t.strip())


def site_links(root: Any) -> Iterator[tuple[str, str, bool]]:
    """(key, path, is an article) of each World article or section link on the page, read as
    strings: the key is the article ID or the section path; nothing is joined or parsed."""
    for href in root.xpath("//a/@href"):
        if any(s in href for s in NOT_ARTICLE):
            continue
        if match := ARTICLE.match(href):
            yield match.group(2), match.group(1) + "/", True
        elif match := SECTION.match(href):
            yield match.group(1), match.group(1), False


class FloorSpider(scrapy.Spider):
    name = "floor"
    custom_settings = {  # noqa: RUF012
        "ITEM_PIPELINES": {},
        "SPIDER_MIDDLEWARES": {},
        # The one project extension any crawl can use; it makes the floor cheaper too.
        "EXTENSIONS": {FREEZE: EXTENSIONS[FREEZE]},
        "DOWNLOADER_MIDDLEWARES": {REPLAY: DOWNLOADER_MIDDLEWARES[REPLAY]},
    }
    start_urls = ["https://www.nzherald.co.nz/world/"]  # noqa: RUF012

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.seen: set[str] = {"/world/"}

    def parse(self, response: Response) -> Iterator[Any]:
        if not isinstance(response, TextResponse) or not response.body or response.body.isspace():
            return
        root = page_tree(response)
        if root is None:
            return
        if ARTICLE.match(response.url):
            yield {"title": h1_text(root)}
        for key, path, _ in site_links(root):
            if key not in self.seen:
                self.seen.add(key)
                yield scrapy.Request(SITE + path, callback=self.parse)
