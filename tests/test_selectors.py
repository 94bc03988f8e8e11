"""The era selectors find what the CSS selectors they replace found, on every saved page (and
on markup written to trip them up); the page is parsed once, into the tree parsel builds.

``OLD`` is the CSS of ``herald_spider/pages/selectors.py`` before the markup eras (each
alternative in precedence order): :class:`~herald_spider.pages.eras.Markup`, the reading of a
page of no known era, must find exactly what it found on any page; each era must find on the
pages of its era what it found there.
"""

from __future__ import annotations

import gzip
from datetime import UTC, datetime
from typing import Any

import pytest
from lxml import etree
from parsel import Selector
from scrapy.http import HtmlResponse

from herald_spider.pages import eras
from herald_spider.pages import selectors as sel
from herald_spider.pages.article import ArticlePage
from herald_spider.pages.page import Page
from herald_spider.pages.selectors import Query
from tests.conftest import FIXTURES, SHARED, response_for

REAL = SHARED / "nzherald" / "real"

#: Markup attribute -> the CSS it replaces; a tuple is tried in order, the first that finds wins
OLD: dict[str, str | tuple[str, ...]] = {
    "HEADER": "header.article__header, [data-test-ui=article__header]",
    "HEADLINE": (
        'h1[data-test-ui="article__heading"]',
        'h1[data-test-ui="viva-article__heading"]',
        "h1.article__heading",
        "article h1",
    ),
    "SUBKICKER_HREF": 'a[data-test-ui="article__subkicker"]::attr(href), a.article__subkicker::attr(href)',
    "BREADCRUMB_HREFS": 'nav[data-test-ui="breadcrumbs"] a::attr(href), nav.breadcrumbs a::attr(href)',
    "PREMIUM_HEADER": "header.article__header-premium",
    # any one is a signal: a union
    "PREMIUM_PAGE": '[data-test-ui="premium-toaster"], #premium-toaster, .audio-player--locked',
    "PREMIUM_REMINDER": ".social-popup__reminder ::text",
    "BYLINE_BLOCK": (
        '[data-test-ui="author--text--body"]',
        '[data-test-ui="author--information"]',
        '[data-test-ui="author"]',
        "div.author",
    ),
    "BYLINE_DISTRIBUTOR": '[data-test-ui="distributor--name"]::text, .author__distributor::text',
    "BYLINE_TIME": (
        'time[data-test-ui="author-display--date"]',
        'time[data-test-ui="meta-data__time-stamp"]',
        "time.meta-data__time-stamp",
    ),
    "READ_TIME": '[data-test-ui="author-read-time"]::text, [data-test-ui="meta-data__read-time"]::text',
    "CREDITS": ('[data-test-ui="article__credits"] p::text', ".article__credits p::text"),
    "BODY_SECTIONS": (
        'section[data-test-ui="article-top-body"], section[data-test-ui="article-bottom-body"], '
        'section[data-test-ui="article__body"], section.article__body, section.article-viva__body, '
        "div.article__raw-html"
    ),
    "BODY_FALLBACK": ("div.article__content", "#article-content"),
    "BODY_NOISE": (
        "aside, figure, figcaption, nav, form, header, footer, "
        '.ad, [data-test-ui="ad"], .article__ad-wrapper, '
        '[data-test-ui="newsletter-signup"], .newsletter-signup, '
        '[data-test-ui="premium-toaster"], #premium-toaster, .premium-toaster, '
        '.share-bar, [data-test-ui="share-bar"], .article__credits, .article__action-bar'
    ),
}
#: the tuples whose alternatives all count, one after the other (the others: the first that finds)
EACH = {"CREDITS", "BYLINE_PERSON"}
#: Markup attribute -> the CSS it replaces, inside the byline block (or the header, for the label)
RELATIVE: dict[str, str | tuple[str, ...]] = {
    "BYLINE_NAMES_TEXT": ("div.author__names", '[data-test-ui="author__name"]', "div.author__name"),
    "BYLINE_PERSON": (
        '[data-test-ui="author--link"]',
        '[data-test-ui="author--name"]',
        '[data-test-ui="author__name__link"]',
        "a.author__link",
    ),
    "PREMIUM_LABEL": '[data-test-ui="article__premium-label"], .article__premium-label',
}
#: selectors.py name -> the CSS it replaces, for every kind of page
SHARED_CSS = {
    "HTML_TITLE": "title::text",
    "STORY_CARD": "article.story-card, article.bg-white, div.story-card__content",
    "LEGACY_ARTICLE_HREFS": 'a[href*="article.cfm"]::attr(href)',
}
CARD_CSS = {
    "CARD_LINK_HREFS": "a.story-card__heading__link, a[href]",  # then @href
    "CARD_TIME": "time[datetime]",
    "CARD_UPDATED": ".label-updated, [data-test-ui='story-card__label-updated']",
}
HEADS = {
    "CANONICAL": 'link[rel="canonical"]::attr(href)',
    "OG_URL": 'meta[property="og:url"]::attr(content)',
    "OG_TITLE": 'meta[property="og:title"]::attr(content)',
    "OG_DESCRIPTION": 'meta[property="og:description"]::attr(content)',
    "OG_IMAGE": 'meta[property="og:image"]::attr(content)',
    "META_DESCRIPTION": 'meta[name="description"]::attr(content)',
    "META_TAGS": 'meta[property="article:tag"]::attr(content)',
    "META_SECTION": 'meta[property="article:section"]::attr(content)',
    "META_PUBLISHED": 'meta[property="article:published_time"]::attr(content)',
    "META_MODIFIED": 'meta[property="article:modified_time"]::attr(content)',
    "META_AUTHOR": 'meta[name="author"]::attr(content), meta[property="article:author"]::attr(content)',
}
PAGES = sorted(FIXTURES.rglob("*.html"))

TRICKY = [
    # attribute case, spacing and quoting; classes split by tabs and new lines; a value that
    # only appears inside another; meta outside <head>; text around comments and children
    b"""<html><head><TITLE>One<!-- c -->Two</TITLE>
    <meta PROPERTY = 'og:title' content="Head title"></head><body>
    <section data-test-ui=article__body><p>a</p></section>
    <section class="x\tarticle__body\nY"><p>b</p></section>
    <section class="article__body-not"><p>c</p></section>
    <div data-test-ui="author--link">not the block</div>
    <header class="article__header article__header-premium">
      <span data-test-ui="article__premium-label">P</span></header>
    <h1 data-test-ui="article__heading">Head<b>line</b> tail</h1>
    <meta property="og:title" content="Body title"><meta name="author">
    <time data-test-ui="meta-data__time-stamp" datetime="2022-01-13T08:32:00Z">13 Jan</time>
    <a class="article__subkicker" href="/world/europe/">Europe</a></body></html>""",
    b"<html><body><p>no head, no sections</p></body></html>",
    # tagless data-test-ui lookups: values inside a script, a comment and another attribute;
    # a "<" in an earlier attribute value; upper-case tags; nested and repeated blocks; body
    # sections found from the data-test-ui index, out of their usual order
    b"""<html><body><script>var s = '<div data-test-ui="author">';</script>
    <!-- <span data-test-ui="author-read-time">3 mins</span> -->
    <div title="a<b c" data-test-ui="author-read-time">5 mins to read</div>
    <SPAN Data-Test-UI = author-read-time>6 mins</SPAN><i title='data-test-ui="author"'>x</i>
    <div data-test-ui="article__credits"><p>One</p><div data-test-ui="article__credits"><p>Two</p>
    </div><p>Three</p></div><section data-test-ui="author"><div data-test-ui="author">in</div></section>
    <aside><h2 data-test-ui="article-sidebar__section-LatestFrom">Latest</h2><a href="/a/">a</a></aside>
    <p data-test-ui="distributor--name">AP</p><span class="author__distributor">Reuters</span>
    <header data-test-ui="article__header"><span class="article__premium-label">P</span></header>
    <p>author__distributor</p><div class="article__credits-x"><p>Not credits</p></div>
    <div class="article__credits"><p>Credits</p></div><DIV CLASS='x article__credits'><p>More</p></DIV>
    <section data-test-ui="article-bottom-body"><p>b</p><section data-test-ui="article-top-body">
    <p>t</p></section></section><div data-test-ui="article-top-body"></div>
    <section data-test-ui="article-top-body"><p>t2</p></section>
    </body></html>""",
    # class words split by characters XPath's normalize-space keeps (no-break space, em space,
    # form feed), by carriage returns; a word inside another; tagged steps walked in Python
    """<html><body><section class="x\u00a0article__body"><p>nbsp</p></section>
    <section class="article__body\u2003y"><p>em</p></section><section class="article__body\x0cz">
    <p>ff</p></section><section class="\r\narticle__body\r"><p>cr</p></section>
    <div class="article__raw-htmlx"><p>no</p></div><div class="article__raw-html"><p>raw</p></div>
    <a class="article__subkicker" href="/world/one/">One</a><a data-test-ui="article__subkicker">No
    href</a><a class="article__subkicker--x" href="/no/">No</a><A CLASS="ARTICLE__SUBKICKER" href="/c/">
    Case</A><a data-test-ui="article__subkicker" class="article__subkicker" href="/both/">Both</a>
    </body></html>""".encode(),
]


#: bodies that are not the bytes parsel parses (white space around, a byte-order mark, NUL,
#: invalid UTF-8, another encoding), and some that are
ODD_BODIES = [
    b"  \n<html><body><p>lead</p></body></html>\n\n",
    "<html><body><p>nbsp</p></body></html>\u00a0".encode(),
    "\u2003<p>em space</p>".encode(),
    b"\xef\xbb\xbf<html><body><p>bom</p></body></html>",
    b"<html><body><p>n\x00ul</p></body></html>",
    b"<html><body><p>bad \xff\xfe bytes \xc3</p></body></html>",
    "<html><body><p>replacement \ufffd char</p></body></html>".encode(),
    b'<html><head><meta charset="iso-8859-1"></head><body><p>caf\xe9</p></body></html>',
    "<html><body><p>caf\u00e9 \u2014 \U0001f600</p></body></html>".encode(),
    b"<p>bare</p>",
    b"   ",
]


def _responses() -> list[HtmlResponse]:
    bodies = [p.read_bytes() for p in PAGES] + TRICKY
    if REAL.exists():  # the real page: never committed, read from ../shared when present
        bodies += [gzip.decompress(path.read_bytes()) for path in sorted(REAL.glob("*.gz"))]
    return [HtmlResponse(url="https://www.nzherald.co.nz/world/x/", body=body) for body in bodies]


@pytest.fixture(scope="module")
def pages() -> list[tuple[HtmlResponse, Page]]:
    return [(response, Page(response)) for response in _responses()]


def _path(found: Any) -> str:
    """A result as a string: text as it is, an element by where it sits in its tree (the page
    object parses apart from ``response.css``)."""
    return found if isinstance(found, str) else str(found.getroottree().getpath(found))


def _out(found: list[Any]) -> list[str]:
    return [_path(item) for item in found]


def _css(response: HtmlResponse, css: str) -> list[str]:
    return _out([selector.root for selector in response.css(css)])


def _first_css(response: HtmlResponse, alternatives: tuple[str, ...]) -> str | None:
    return next((found[0] for css in alternatives if (found := _css(response, css))), None)


def _real_and_saved(pages: list[tuple[HtmlResponse, Page]]) -> list[tuple[HtmlResponse, Page]]:
    return pages[: len(PAGES)] + pages[len(PAGES) + len(TRICKY) :]


def test_there_is_something_to_compare(pages: list[tuple[HtmlResponse, Page]]) -> None:
    assert len(PAGES) > 30
    assert {page.era for _, page in pages} >= {eras.Markup, eras.Markup2022, eras.Markup2026}


@pytest.mark.parametrize("name", sorted(OLD))
def test_markup_is_the_old_css(name: str, pages: list[tuple[HtmlResponse, Page]]) -> None:
    """Markup (a page of no known era) finds what the old CSS found, each alternative, on
    every page: from its XPath, and as the page answers it (the data-test-ui index)."""
    new, old = getattr(eras.Markup, name), OLD[name]
    pairs = list(zip(new, old, strict=True)) if isinstance(old, tuple) else [(new, old)]
    for response, page in pages:
        for query, css in pairs:
            expected = _css(response, css)
            assert _out(query(page.root, page.source)) == expected, (name, css, response.body[:80])
            assert _out(page.find(query)) == expected, (name, css, response.body[:80])
    assert pairs


@pytest.mark.parametrize("name", sorted(OLD))
def test_each_era_gives_what_the_old_css_gave(name: str, pages: list[tuple[HtmlResponse, Page]]) -> None:
    """On every saved page, the page's era finds what the old CSS (every era's alternatives)
    found: the era leaves out only what its pages do not have."""
    old = OLD[name]
    for response, page in _real_and_saved(pages):
        new = getattr(page.era, name)
        if name in EACH:
            assert [x for q in new for x in _out(page.find(q))] == [x for c in old for x in _css(response, c)]
        elif isinstance(old, tuple):
            found = page.first(new)
            assert (None if found is None else _path(found)) == _first_css(response, old), (name, page.era)
        else:
            assert _out(page.find(new)) == _css(response, old), (name, page.era)


def _blocks(page: Page, era: type[eras.Markup]) -> list[Any]:
    return [el for query in (*era.BYLINE_BLOCK, era.HEADER) for el in page.find(query)]


@pytest.mark.parametrize("name", sorted(RELATIVE))
def test_relative_lookups_are_the_old_css(name: str, pages: list[tuple[HtmlResponse, Page]]) -> None:
    """Inside a byline block or a header, each alternative finds what Selector.css found."""
    new, old = getattr(eras.Markup, name), RELATIVE[name]
    pairs = list(zip(new, old, strict=True)) if isinstance(old, tuple) else [(new.xpath, old)]
    for _, page in pages:
        for block in _blocks(page, eras.Markup):
            for xpath, css in pairs:
                assert _out(list(xpath(block))) == _out([s.root for s in Selector(root=block).css(css)])


def test_each_era_reads_the_byline_as_the_old_css(pages: list[tuple[HtmlResponse, Page]]) -> None:
    for _, page in _real_and_saved(pages):
        block = page.first(page.era.BYLINE_BLOCK)
        if block is None:
            continue
        names = next((found[0] for xpath in page.era.BYLINE_NAMES_TEXT if (found := xpath(block))), None)
        old_names = next(
            (
                found[0].root
                for css in RELATIVE["BYLINE_NAMES_TEXT"]
                if (found := Selector(root=block).css(css))
            ),
            None,
        )
        assert names is old_names
        persons = [el for xpath in page.era.BYLINE_PERSON for el in xpath(block)]
        assert persons == [s.root for css in RELATIVE["BYLINE_PERSON"] for s in Selector(root=block).css(css)]


def test_shared_selectors_are_the_old_css(pages: list[tuple[HtmlResponse, Page]]) -> None:
    for response, page in pages:
        for name, css in SHARED_CSS.items():
            assert _out(page.find(getattr(sel, name))) == _css(response, css), name
        for card in page.find(sel.STORY_CARD):
            old = Selector(root=card)
            assert sel.CARD_LINK_HREFS(card) == old.css(CARD_CSS["CARD_LINK_HREFS"]).xpath("@href").getall()
            for name in ("CARD_TIME", "CARD_UPDATED"):
                assert getattr(sel, name)(card) == [s.root for s in old.css(CARD_CSS[name])]
        for name, css in HEADS.items():
            assert page.head(getattr(sel, name)) == response.css(css).getall(), name


def _ui_queries() -> list[Query]:
    found = [*sel.SIDEBAR_BLOCKS.values()]
    for era in (eras.Markup, *eras.ERAS):
        for value in vars(era).values():
            for query in value if isinstance(value, tuple) else (value,):
                if isinstance(query, Query) and query.ui is not None:
                    found.append(query)
    return found


def test_the_index_answers_as_the_xpath(pages: list[tuple[HtmlResponse, Page]]) -> None:
    """A data-test-ui lookup answered from the page's index is what its XPath finds, wherever
    and however the page writes the value (in any case, quoted or not, by reference)."""
    queries = _ui_queries()
    assert len(queries) > 10
    for _, page in pages:
        for query in queries:
            assert page.find(query) == list(query.xpath(page.root)), query.xpath.path


ERA_PAGES = [
    ('<h1 data-test-ui="viva-article__heading">V</h1><div data-test-ui="author--information">', "2026-viva"),
    ('<section class="article-viva__body"><p>V</p></section>', "2026-viva"),
    ('<div data-test-ui="author--text--body">A</div><section data-test-ui="article-top-body">', "2026"),
    ('<div data-test-ui="author">A</div><section data-test-ui="article-top-body"><p>T</p></section>', "2024"),
    ('<div data-test-ui="author">A</div><section data-test-ui="article__body"><p>B</p></section>', "2022"),
    ('<h1 class="article__heading">H</h1>', "2022"),
    ("<script>var s = '<div data-test-ui=\"author--information\">';</script><h1>H</h1>", "unknown"),
    ("<p>no markup of the site</p>", "unknown"),
]


@pytest.mark.parametrize(("body", "era"), ERA_PAGES)
def test_era_of_a_page(body: str, era: str) -> None:
    response = HtmlResponse(
        "https://www.nzherald.co.nz/world/x/", body=f"<html><body>{body}</body></html>".encode()
    )
    assert era == Page(response).era.NAME
    assert ("unknown_era" in ArticlePage(response).problems) is (era == "unknown")


def test_every_saved_article_is_of_a_known_era() -> None:
    articles = [p for p in PAGES if "/site/" in str(p) and len(p.parent.name) == 26]
    assert len(articles) > 15
    for path in articles:
        assert (
            Page(HtmlResponse("https://www.nzherald.co.nz/world/x/", body=path.read_bytes())).era
            is not eras.Markup
        )


def test_tricky_page_found_as_parsel_finds_it(pages: list[tuple[HtmlResponse, Page]]) -> None:
    _, tricky = pages[len(PAGES)]
    assert tricky.find(sel.HTML_TITLE) == ["One<!-- c -->Two"]  # RCDATA
    assert tricky.head(sel.OG_TITLE) == ["Head title", "Body title"]
    assert len(tricky.find(eras.Markup.BODY_SECTIONS)) == 2
    assert not tricky.find(eras.Markup.BYLINE_BLOCK[2])


def test_one_tree_the_same_as_parsels() -> None:
    """The tree the page object parses is the tree parsel builds, element for element, and the
    response's own selector is never built (the page is parsed once)."""
    for body in [p.read_bytes() for p in PAGES] + TRICKY + ODD_BODIES:
        response = HtmlResponse(url="https://www.nzherald.co.nz/world/x/", body=body)
        root = Page(response).root
        assert response._cached_selector is None
        if root is None:
            assert not isinstance(response.selector.root, etree._Element)
            continue
        assert etree.tostring(root) == etree.tostring(response.selector.root), body[:80]
        assert [_path(el) for el in root.iter()] == [_path(el) for el in response.selector.root.iter()]


def test_extraction_parses_the_page_once() -> None:
    url = "https://www.nzherald.co.nz/world/ukraine-crisis-us-russia-to-hold-security-talks-over-nato-expansion/ZXU6227CUQTBPRZBXZLVTII7IQ/"
    response = response_for(url)
    page = ArticlePage(response)
    assert page.to_item().title
    assert page.links()
    page.cards(datetime(2022, 1, 13, tzinfo=UTC))
    page.legacy_links()
    assert response._cached_selector is None


def test_the_index_is_exact_where_the_source_is_not() -> None:
    """A data-test-ui value written by character reference, in another case or unquoted is in
    the index; one written only inside a script or a comment is not."""
    body = (
        b"<html><body><script>var s = '<div data-test-ui=\"author--link\">';</script>"
        b'<!-- <p data-test-ui="author"> --><div DATA-TEST-UI=author--information>'
        b'<a data-test-ui="&#97;uthor--link">Ann Lee</a></div></body></html>'
    )
    page = Page(HtmlResponse("https://www.nzherald.co.nz/world/x/", body=body))
    assert page.era is eras.Markup2026
    (block,) = page.find(eras.Markup.BYLINE_BLOCK[1])
    assert page.find(eras.Markup.BYLINE_BLOCK[2]) == []
    assert [el.text for el in eras.Markup.BYLINE_PERSON[0](block)] == ["Ann Lee"]


def test_an_empty_page_finds_nothing() -> None:
    page = ArticlePage(HtmlResponse("https://www.nzherald.co.nz/world/x/", body=b"   "))
    assert page.era is eras.Markup
    assert page.links() == [] and page.legacy_links() == [] and page.find(eras.Markup.BODY_SECTIONS) == []
    assert page.problems == ["unknown_era"]
