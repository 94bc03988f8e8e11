"""The floor: the cheapest Scrapy crawl of a World mirror that still follows every link.

``scrapy runspider benchmarks/floor_spider.py -s HERALD_REPLAY=<mirror>`` from the project
directory, so it runs with the project's settings (concurrency, delays, fingerprinter)
and the same replay middleware, but none of the project's other components: no pipelines,
spider middlewares or extensions but the one that keeps start-up objects out of the garbage
collector's way (any crawl can use it), and no downloader middleware of its own but the replay
one (encoding repair, soft-block detection, back-off, redirects and the on-site check are
herald's cost, not the floor's). Links are filtered and de-duplicated as strings (article
ID or section path) before any Request is built; one field, the ``h1`` text, is yielded per
article.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import scrapy
from scrapy.http import Response, TextResponse

from herald_spider.settings import DOWNLOADER_MIDDLEWARES, EXTENSIONS

REPLAY = "herald_spider.replay.ReplayMiddleware"
FREEZE = "herald_spider.gcfreeze.FreezeStartupObjects"

_SITE = r"^(?:https?://(?:www\.)?nzherald\.co\.nz)?"
_TAIL = r"/?(?:[?#].*)?$"
ARTICLE = re.compile(_SITE + r"(/world/(?:[a-z0-9-]+/)+?(?:premium/)?([A-Z0-9]{26}))" + _TAIL)
SECTION = re.compile(_SITE + r"(/world/(?:[a-z0-9-]+/)?)" + r"(?:[?#].*)?$")
NOT_ARTICLE = ("/video/", "/videos/")


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
        if not isinstance(response, TextResponse):
            return
        root = response.selector.root
        if ARTICLE.match(response.url):
            yield {"title": " ".join(t.strip() for t in root.xpath("//h1[1]//text()") if t.strip())}
        for href in root.xpath("//a/@href"):
            if any(s in href for s in NOT_ARTICLE):
                continue
            if match := ARTICLE.match(href):
                key, path = match.group(2), match.group(1) + "/"
            elif match := SECTION.match(href):
                key = path = match.group(1)
            else:
                continue
            if key not in self.seen:
                self.seen.add(key)
                yield scrapy.Request("https://www.nzherald.co.nz" + path, callback=self.parse)
