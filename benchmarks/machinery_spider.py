"""Herald's machinery without its extraction: where herald's cost over the floor goes.

``scrapy runspider benchmarks/machinery_spider.py -s HERALD_REPLAY=<mirror>
-s HERALD_DATASET_DIR=<dir>`` from the project directory. This is ``scrapy crawl world``
with every setting, middleware, extension and pipeline of the project, and the project's one
parse of each page (:func:`herald_spider.pages.tree.parse`), but on an article page it does only
the floor's page work: the ``h1`` text, and links filtered as strings
(:func:`benchmarks.floor_spider.site_links`). The article it stores has the ID, URL and
title, with the fetch time as its publication time.

So, per article: machinery less floor is what the project's components cost (encoding repair,
soft-block check, back-off, redirects, the links table, refresh and known-ID checks,
validation, dedup, Parquet), with what herald's parse costs over the floor's (it also decodes
the page, which the extractors search); herald less machinery is what ``parse_article`` and
``page_links`` cost beyond the floor's page work. A benchmark diagnostic
(``python -m benchmarks.run --split``); it is not a way to crawl.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from scrapy.http import HtmlResponse, Response

from benchmarks.floor_spider import SITE, h1_text, site_links
from herald_spider import urls
from herald_spider.items import Article
from herald_spider.pages import tree
from herald_spider.pages.links import PageLink, PageLinks
from herald_spider.spiders.section import WorldSpider


class MachinerySpider(WorldSpider):
    # Herald's machinery writes the dataset, as `scrapy crawl` does (runspider does not set it).
    custom_settings = {"HERALD_WRITE_DATASET": True}  # noqa: RUF012

    name = "machinery"

    def parse_article(self, response: Response) -> Iterator[Any]:
        self._fetched(response)
        if not isinstance(response, HtmlResponse):
            return
        root, _ = tree.parse(response)
        links = [
            PageLink(SITE + path, "other", key)
            if is_article
            else PageLink(SITE + path, "other", None, key.strip("/"))
            for key, path, is_article in site_links(root)
        ]
        yield PageLinks(links)
        yield from self._follow_articles(links, {}, "links")  # no cards: the floor reads none
        now = datetime.now(UTC).replace(microsecond=0)
        title = h1_text(root)
        yield Article(
            article_id=urls.article_id(response.url),
            url=response.url,
            section=self.section,
            section_path=self.section,
            title=title,
            published_at=now,
            fetched_at=now,
            content_hash=hashlib.sha256(title.encode()).hexdigest(),
        )
