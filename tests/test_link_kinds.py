"""Link kinds: each link of a page has the kind of the block it sits in, the site's navigation
is left out, and a crawl's links table holds one row per (crawl, from_url, to_url, kind).

What a page's blocks hold is read here with Scrapy's selectors (XPath), apart from the code under
test (one lxml walk, :func:`herald_spider.pages.links.page_links`)."""

from __future__ import annotations

import gzip
import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import duckdb
import pytest
from scrapy.http import HtmlResponse

from herald_spider import urls
from herald_spider.dataset.files import read_table
from herald_spider.pages.links import PageLink
from herald_spider.pages.page import Page
from herald_spider.spidermiddlewares.links import RecordedLinks
from tests.conftest import SHARED, expected_site, response_for
from tests.test_crawl import crawl as run_crawl

PROJECT = Path(__file__).resolve().parents[1]
FIXTURES = PROJECT / "tests" / "fixtures"
FEEDS = FIXTURES / "site-feeds"
REAL = SHARED / "nzherald" / "real" / "sport-premium-2022-10-11.html.gz"
REAL_URL = (
    "https://www.nzherald.co.nz/sport/"
    "gregor-paul-women-showing-the-men-how-its-done-at-the-rugby-world-cup/Y7FDO3XXQIUDNGZ2GRHZB24U6I/"
)
EXPECTED = expected_site()
SECTION_PAGES: list[str] = EXPECTED["section_urls"]
ARTICLE_PAGES: list[str] = EXPECTED["article_urls"]

SUBNAV = "//nav[@data-test-ui='section-header__subnav']//a"
MOST_READ = "//section[@data-test-ui='most-read' or @data-test-ui='article-sidebar-RightHandColumn']//a"
#: the site's header menu, mega-menu and footer
IN_NAVIGATION = (
    "ancestor::header[@data-test-ui='header'] or ancestor::nav[@data-test-ui='nav-menu']"
    " or ancestor::section[@id='sidebar'] or ancestor::footer[@data-test-ui='footer']"
)
NAVIGATION = f"//a[{IN_NAVIGATION}]"
SECTION_KINDS = {"section-card", "subsection", "most-read"}
ARTICLE_KINDS = {"breadcrumb", "body", "related", "latest-from", "discover-more", "most-read"}


def mirror_pages() -> list[tuple[str, Path]]:
    """(URL, file) of every saved HTML page of the mirrors (the deliberately broken pages of
    ``bad/`` apart)."""
    found = []
    for root in ("site", "site-feeds", "eras", "alias-site"):
        for path in sorted((FIXTURES / root).rglob("index.html")):
            found.append((f"https://{path.parent.relative_to(FIXTURES / root).as_posix()}/", path))
    return found


def real_response() -> HtmlResponse:
    if not REAL.exists():
        pytest.skip("../shared/nzherald/real is not beside the project")
    return HtmlResponse(url=REAL_URL, body=gzip.decompress(REAL.read_bytes()))


def targets(response: HtmlResponse, anchors: str) -> set[str]:
    """The article IDs and section paths the ``anchors`` (an XPath) link to."""
    found = set()
    for href in response.xpath(f"{anchors}/@href").getall():
        if href.strip().startswith("#"):
            continue
        _, article_id, section = urls.link_target(response.urljoin(href.strip()))
        if article_id or section:
            found.add(article_id or section)
    return found


def keyed(links: list[PageLink]) -> set[tuple[str, str]]:
    return {(link.article_id or link.section or "", link.kind) for link in links}


def hrefs(response: HtmlResponse, anchors: str) -> int:
    return len(response.xpath(f"{anchors}/@href").getall())


# --- pages -------------------------------------------------------------------------------


@pytest.mark.parametrize("url", SECTION_PAGES)
def test_section_page_kinds(url: str) -> None:
    response = response_for(url)
    links = Page(response).links(default_kind="other")
    assert response.xpath(SUBNAV) and response.xpath(MOST_READ)  # the page has both blocks
    assert {link.kind for link in links} == SECTION_KINDS


@pytest.mark.parametrize(("block", "kind"), [(SUBNAV, "subsection"), (MOST_READ, "most-read")])
@pytest.mark.parametrize("url", SECTION_PAGES)
def test_block_links_take_the_block_kind(url: str, block: str, kind: str) -> None:
    """Every link of the subsection bar is a ``subsection`` row, every most-read link a
    ``most-read`` one, found by an XPath of their own (never ``other``)."""
    response = response_for(url)
    found = keyed(Page(response).links())
    in_block = targets(response, block)
    assert in_block
    assert {(target, kind) for target in in_block} <= found


@pytest.mark.parametrize("url", ARTICLE_PAGES)
def test_article_page_kinds(url: str) -> None:
    links = Page(response_for(url)).links()
    kinds = {link.kind for link in links}
    assert {"breadcrumb", "latest-from"} <= kinds <= ARTICLE_KINDS, kinds


def test_a_url_in_several_blocks_is_a_link_of_each() -> None:
    """The issue's example: /world/asia/ is in the menus, the subnav and on a card's kicker;
    it is a subsection link and a section-card link, never `other`."""
    world = keyed(Page(response_for(SECTION_PAGES[0])).links())
    assert {kind for target, kind in world if target == "world/asia"} == {"subsection", "section-card"}
    fed = "4FNSMDYJEPLVR7RT3WW6ETSFJW"  # a card and the first of "Most read"
    assert {kind for target, kind in world if target == fed} == {"section-card", "most-read"}


@pytest.mark.parametrize(("url", "path"), mirror_pages(), ids=lambda v: str(v)[-60:])
def test_no_link_is_other_and_navigation_is_not_recorded(url: str, path: Path) -> None:
    response = HtmlResponse(url=url, body=path.read_bytes())
    found = Page(response).page_links()
    assert [link for link in found.links if link.kind == "other"] == []
    assert found.navigation == hrefs(response, NAVIGATION)
    only_navigation = targets(response, NAVIGATION) - targets(response, f"//a[not({IN_NAVIGATION})]")
    assert not {target for target, _ in keyed(found.links)} & only_navigation


def test_navigation_only_links_exist_on_the_mirror() -> None:
    """The test above can fail: the menus link sections no block of the page links."""
    response = response_for(SECTION_PAGES[0])
    assert {"nz/politics", "business", "sport/rugby"} <= targets(response, NAVIGATION)
    assert not {"nz/politics", "sport/rugby"} & {link.section for link in Page(response).links()}


def test_real_page_kinds() -> None:
    response = real_response()
    found = Page(response).page_links()
    kinds = Counter(link.kind for link in found.links)
    assert set(kinds) == {"breadcrumb", "related", "latest-from", "most-read"}
    assert found.navigation == hrefs(response, NAVIGATION) > 100  # the mega-menu and the footer
    links = keyed(found.links)
    related = targets(
        response,
        "//aside[@data-test-ui='related-articles']//a[contains(@class, 'story-card__heading__link')]",
    )
    assert len(related) == 4 and {(target, "related") for target in related} <= links
    popular = targets(response, "//section[@data-test-ui='article-sidebar-RightHandColumn']//a")
    assert len(popular) == 4 and {(target, "most-read") for target in popular} <= links  # 3 + "business"
    assert {(target, "breadcrumb") for target in ("sport", "sport/rugby")} <= links


BODY_PAGE = """<html><body><main><article>
<header class="article__header" data-test-ui="article__header">
  <a class="article__kicker" href="/world/">World</a><a href="#">share</a></header>
<section class="article__body" data-test-ui="article__body">
  <p>As <a href="https://www.nzherald.co.nz/world/earlier-story/AAAAAAAAAAAAAAAAAAAAAAAAAA/">we
  reported</a>, and <a href="/world/europe/">in Europe</a>.</p>
  <aside class="related-articles" data-test-ui="related-articles">
    <a href="/world/related-story/BBBBBBBBBBBBBBBBBBBBBBBBBB/">Related</a></aside>
  <p><a href="#top">top</a></p>
</section>
<section data-test-ui="latest-from-articles__section">
  <a href="/world/earlier-story/AAAAAAAAAAAAAAAAAAAAAAAAAA/?ref=latest">Earlier</a></section>
</article></main>
<footer data-test-ui="footer"><a href="/world/earlier-story/AAAAAAAAAAAAAAAAAAAAAAAAAA/">x</a></footer>
</body></html>"""


def test_body_links_and_the_innermost_block() -> None:
    """A link in the story text is ``body``; a block inside the body (related) keeps its own
    kind; the same story in the body and in "Latest from" is a link of each; in-page anchors
    (``#``) are no links; the footer's copy of a link adds nothing."""
    url = "https://www.nzherald.co.nz/world/this-story/CCCCCCCCCCCCCCCCCCCCCCCCCC/"
    found = Page(HtmlResponse(url=url, body=BODY_PAGE.encode())).page_links()
    assert sorted((link.url.removeprefix(urls.SITE_ROOT), link.kind) for link in found.links) == [
        ("world/", "breadcrumb"),
        ("world/earlier-story/AAAAAAAAAAAAAAAAAAAAAAAAAA/", "body"),
        ("world/earlier-story/AAAAAAAAAAAAAAAAAAAAAAAAAA/", "latest-from"),
        ("world/europe/", "body"),
        ("world/related-story/BBBBBBBBBBBBBBBBBBBBBBBBBB/", "related"),
    ]
    assert found.navigation == 1


# --- one row per (crawl, from_url, to_url, kind) ------------------------------------------

LINK = PageLink("https://www.nzherald.co.nz/world/a/AAAAAAAAAAAAAAAAAAAAAAAAAA/", "related", "A" * 26)
OTHER = PageLink("https://www.nzherald.co.nz/world/b/BBBBBBBBBBBBBBBBBBBBBBBBBB/", "related", "B" * 26)
PAGE = "https://www.nzherald.co.nz/world/c/CCCCCCCCCCCCCCCCCCCCCCCCCC/"


def test_a_page_recorded_twice_adds_nothing() -> None:
    recorded = RecordedLinks()
    first = HtmlResponse(PAGE, body=b"")
    assert recorded.new(first, PAGE, [LINK, OTHER]) == ([LINK, OTHER], 0, 0)
    again = HtmlResponse(PAGE, body=b"")  # the same page fetched again in the crawl
    assert recorded.new(again, PAGE, [LINK, OTHER]) == ([], 2, 0)
    assert recorded.new(again, PAGE, [OTHER]) == ([], 1, 0)
    assert recorded.pages == {PAGE}


def test_a_response_in_pieces_repeats_no_row() -> None:
    """A feed yields its links in pieces, all of one response: every piece is written, a
    (URL, kind) it repeats is not; another kind of the same URL is another row."""
    recorded = RecordedLinks()
    feed = HtmlResponse(urls.NEWS_SITEMAP_URL, body=b"")
    assert recorded.new(feed, feed.url, [LINK, LINK]) == ([LINK], 0, 1)
    rss = LINK._replace(kind="rss")
    assert recorded.new(feed, feed.url, [OTHER, LINK, rss]) == ([OTHER, rss], 0, 1)


def test_a_gone_response_is_not_mistaken_for_the_next() -> None:
    """The response is held weakly: once it is gone, the next one (even at the same address in
    memory) starts a new page."""
    recorded = RecordedLinks()
    recorded.new(HtmlResponse(PAGE, body=b""), PAGE, [LINK])
    other_page = PAGE.replace("CCCC", "DDDD")
    assert recorded.new(HtmlResponse(other_page, body=b""), other_page, [LINK]) == ([LINK], 0, 0)
    assert recorded.new(HtmlResponse(PAGE, body=b""), PAGE, [OTHER]) == ([], 1, 0)


def crawl(dataset: Path, *settings: str, level: str = "INFO") -> str:
    """The log of ``scrapy crawl world`` replaying the site-feeds mirror with these settings."""
    options = [word for setting in settings for word in ("-s", setting)]
    log: str = run_crawl("world", *options, replay=FEEDS, dataset=dataset, level=level)["log"]
    return log


@pytest.fixture(scope="module")
def crawled(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Two crawls of the site-feeds mirror (section pages, articles, news sitemap, RSS)."""
    dataset = tmp_path_factory.mktemp("dataset")
    first = crawl(dataset, "HERALD_CRAWL_ID=first")
    second = crawl(dataset, "HERALD_CRAWL_ID=second")
    return {"dataset": dataset, "logs": [first, second]}


def stats_of(log: str) -> dict[str, int]:
    return {key: int(value) for key, value in re.findall(r"'(herald/links_[^']+)': (\d+)", log)}


def test_crawl_links_table_has_no_duplicate_row(crawled: dict[str, Any]) -> None:
    files = str(crawled["dataset"] / "links" / "*.parquet")
    repeated = duckdb.sql(f"""
        select crawl_id, from_url, to_url, kind, count(*) as n from read_parquet('{files}')
        group by all having n > 1""").fetchall()
    assert repeated == []
    per_crawl = duckdb.sql(f"select crawl_id, count(*) from read_parquet('{files}') group by 1").fetchall()
    assert sorted(crawl_id for crawl_id, _ in per_crawl) == ["first", "second"]


def test_crawl_links_table_kinds(crawled: dict[str, Any]) -> None:
    rows = read_table(crawled["dataset"] / "links", "links").to_pylist()
    kinds = Counter(row["kind"] for row in rows if row["crawl_id"] == "first")
    assert {"section-card", "subsection", "most-read", "latest-from", "news-sitemap", "rss"} <= set(kinds)
    assert "other" not in kinds and "navigation" not in kinds
    stats = stats_of(crawled["logs"][0])
    assert stats["herald/links_seen"] == sum(kinds.values())
    assert {kind: stats[f"herald/links_seen/{kind}"] for kind in kinds} == kinds
    assert stats["herald/links_dropped/navigation"] > 0
    assert crawled["logs"][0].count("are not recorded in the links table") == 1
    # every subsection of World was reached through the subnav, none through the menus
    subsections = {row["to_url"] for row in rows if row["kind"] == "subsection"}
    assert set(SECTION_PAGES) <= subsections
    assert not {row["to_url"] for row in rows} & {
        urls.section_url("nz/politics"),
        urls.section_url("sport/rugby"),
    }


def test_crawl_stores_the_expected_articles_without_navigation(crawled: dict[str, Any]) -> None:
    """Menus and footer are not followed either (they lead nowhere the blocks do not)."""
    stored = read_table(crawled["dataset"] / "articles", "articles", columns=["article_id"])
    lines = (FEEDS / "expected" / "articles.jsonl").read_text(encoding="utf-8").splitlines()
    expected = sorted(json.loads(line)["article_id"] for line in lines if line.strip())
    assert sorted(stored["article_id"].to_pylist()) == expected


def test_pages_fetched_again_add_no_rows(tmp_path: Path) -> None:
    """Without the duplicate filter every section page is fetched again from each subsection
    bar that names it: the same page, recorded once."""
    no_filter = ("DUPEFILTER_CLASS=scrapy.dupefilters.BaseDupeFilter", "DEPTH_LIMIT=2")
    log = crawl(tmp_path, *no_filter, level="DEBUG")
    fetched = Counter(
        re.findall(r"Crawled \(200\) <GET (https://www\.nzherald\.co\.nz/world/[a-z-]*/?)>", log)
    )
    assert fetched[SECTION_PAGES[1]] > 1  # /world/australia/ came back more than once
    stats = stats_of(log)
    assert stats["herald/links_dropped/page_recorded"] > 0
    files = str(tmp_path / "links" / "*.parquet")
    ((rows, distinct, pages),) = duckdb.sql(f"""
        select count(*), count(distinct (crawl_id, from_url, to_url, kind)), count(distinct from_url)
        from read_parquet('{files}')""").fetchall()
    assert rows == distinct == stats["herald/links_seen"]
    assert pages >= len(SECTION_PAGES)
