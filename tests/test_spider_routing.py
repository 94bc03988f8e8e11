"""The section spider's routing: each article and each subsection requested once, other URLs
for an article kept only while its page may still answer 404."""

from __future__ import annotations

from scrapy import Request
from scrapy.http import HtmlResponse
from scrapy.utils.test import get_crawler

from herald_spider.meta import ARTICLE_ID
from herald_spider.pages.links import PageLink
from herald_spider.spiders.section import WorldSpider
from tests.conftest import expected_site, response_for

SITE = expected_site()

ID = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
URL = f"https://www.nzherald.co.nz/world/a-story/{ID}/"
ALIAS = f"https://www.nzherald.co.nz/world/a-story-renamed/{ID}/"
SECTION = HtmlResponse("https://www.nzherald.co.nz/world/", body=b"<html></html>")


def world() -> WorldSpider:
    spider: WorldSpider = WorldSpider.from_crawler(get_crawler(WorldSpider))
    return spider


def follow(spider: WorldSpider, url: str) -> list[Request]:
    return list(spider._follow_articles([PageLink(url, "section-card", ID)], {}, "links"))


def test_other_urls_are_kept_while_the_article_is_in_flight() -> None:
    spider = world()
    assert [r.url for r in follow(spider, URL)] == [URL]
    assert follow(spider, URL) == [] and follow(spider, ALIAS) == []
    assert spider.tried[ID] == (URL,)
    assert spider.variants[ID] == [ALIAS]  # tried should the first URL answer 404


def test_a_fetched_article_keeps_only_its_id() -> None:
    spider = world()
    (request,) = follow(spider, URL)
    follow(spider, ALIAS)
    page = HtmlResponse(URL, body=b"<html><h1>A story</h1></html>", request=request)
    assert page.meta[ARTICLE_ID] == ID
    list(spider.parse_article(page))
    assert spider.tried == {ID: ()}
    assert spider.variants == {}
    assert follow(spider, ALIAS) == [] and follow(spider, URL) == []
    assert spider.tried == {ID: ()} and spider.variants == {}


def test_a_section_page_requests_each_subsection_once() -> None:
    """A subsection is a link of every block it sits in (subnav, card kickers): one request
    each. The subnav leads to every subsection; the menus, not recorded, are not needed."""
    spider = world()
    start = SITE["start_url"]
    out = list(spider.parse_section(response_for(start)))
    sections = [r.url for r in out if isinstance(r, Request) and r.callback == spider.parse_section]
    assert len(sections) == len(set(sections))
    assert sorted(sections) == sorted(u for u in SITE["section_urls"] if u != start)


def test_an_article_in_several_blocks_is_requested_once() -> None:
    spider = world()
    out = list(spider.parse_section(response_for(SITE["start_url"])))
    articles = [r.meta[ARTICLE_ID] for r in out if isinstance(r, Request) and ARTICLE_ID in r.meta]
    assert "4FNSMDYJEPLVR7RT3WW6ETSFJW" in articles  # a card and the first of "Most read"
    assert len(articles) == len(set(articles))
