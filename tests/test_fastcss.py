"""fastcss finds exactly what parsel's ``response.css`` finds, for every selector the project
uses, on every saved page (and on markup written to trip it up)."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime
from typing import Any

import pytest
from lxml import etree
from scrapy.http import HtmlResponse

from herald_spider.pages import cards, extract, fastcss
from herald_spider.pages import selectors as css
from tests.conftest import FIXTURES, SHARED, response_for

REAL = SHARED / "nzherald" / "real"


def _flat(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    return [s for item in value for s in _flat(item)] if isinstance(value, tuple) else []


def _queries() -> list[str]:
    """Every selector in selectors.py, and the unions the extractors build from them."""
    skip = ("_TYPE", "_ID", "_SEGMENT")
    names = [name for name in dir(css) if name.isupper() and not name.endswith(skip)]
    found = {query for name in names for query in _flat(getattr(css, name))}
    found |= {", ".join(css.BODY_SECTIONS), ", ".join(css.PREMIUM_HEADER[1:])}
    return sorted(found)


QUERIES = _queries()
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


def _responses() -> list[HtmlResponse]:
    bodies = [p.read_bytes() for p in PAGES] + TRICKY
    if REAL.exists():  # the real page: never committed, read from ../shared when present
        bodies += [gzip.decompress(path.read_bytes()) for path in sorted(REAL.glob("*.gz"))]
    return [HtmlResponse(url="https://www.nzherald.co.nz/world/x/", body=body) for body in bodies]


@pytest.fixture(scope="module")
def responses() -> list[HtmlResponse]:
    return _responses()


def _path(element: Any) -> str:
    """Where an element sits in its tree: fastcss parses the page apart from ``response.css``."""
    return str(element.getroottree().getpath(element))


def test_there_is_something_to_compare() -> None:
    assert len(QUERIES) > 30
    assert len(PAGES) > 30


@pytest.mark.parametrize("query", QUERIES)
def test_same_as_parsel(query: str, responses: list[HtmlResponse]) -> None:
    for response in responses:
        if "::" in query:
            assert fastcss.strings(response, query) == response.css(query).getall(), response.body[:80]
        else:
            fast = [_path(el) for el in fastcss.elements(response, query)]
            slow = [_path(s.root) for s in response.css(query)]
            assert fast == slow, (query, response.body[:80])


@pytest.mark.parametrize("query", [q for q in QUERIES if fastcss.head_query(q)])
def test_head_lookups_same_as_parsel(query: str, responses: list[HtmlResponse]) -> None:
    for response in responses:
        heads = list(response.selector.root.iter("meta", "link"))
        assert fastcss.head_strings(heads, query) == response.css(query).getall(), response.body[:80]


def test_head_queries_are_recognised() -> None:
    assert fastcss.head_query(css.CANONICAL) == (("link", "rel", "canonical", "href"),)
    assert len([q for q in QUERIES if fastcss.head_query(q)]) >= 10
    assert fastcss.head_query(css.HEADER) is None


def test_tricky_page_found_as_parsel_finds_it(responses: list[HtmlResponse]) -> None:
    tricky = responses[len(PAGES)]
    assert fastcss.strings(tricky, css.HTML_TITLE) == ["One<!-- c -->Two"]  # RCDATA
    assert fastcss.strings(tricky, css.OG_TITLE) == ["Head title", "Body title"]
    assert len(fastcss.elements(tricky, ", ".join(css.BODY_SECTIONS))) == 2
    assert not fastcss.elements(tricky, '[data-test-ui="author"]')


@pytest.mark.parametrize("block_query", (*css.BYLINE_BLOCK, css.HEADER))
def test_relative_lookups_same_as_parsel(block_query: str, responses: list[HtmlResponse]) -> None:
    """Inside a block, select() and text() find what Selector.css finds."""
    inner = css.BYLINE_NAMES_TEXT + css.BYLINE_PERSON + css.PREMIUM_HEADER[1:]
    for response in responses:
        for block in response.css(block_query):
            for query in inner:
                assert fastcss.select(block.root, query) == [s.root for s in block.css(query)]
            assert fastcss.text(block.root) == " ".join(block.css("::text").getall())


def test_tagless_lookups_narrowed_only_when_sure() -> None:
    """A tagless ``[data-test-ui]`` lookup is answered from the page's index of the attribute:
    exact, wherever the source writes the value. A tagless class lookup tests only the tags
    the source writes the word on, and only when the walk finds as many elements as the
    source has the word."""

    def narrowed(body: bytes, query: str) -> list[str] | None:
        response = HtmlResponse(url="https://www.nzherald.co.nz/world/", body=body)
        step = fastcss._alternatives(query)[0].step
        assert step is not None
        found = fastcss._page(response).step_elements(fastcss.root(response), step)
        return None if found is None else [el.tag for el in found]

    ui = '[data-test-ui="x"]'
    assert narrowed(b'<div data-test-ui="x"><H2 data-test-ui=x>a</H2></div>', ui) == ["div", "h2"]
    assert narrowed(b'<div data-test-ui="y">', ui) == []
    assert narrowed(b"<script>'<b data-test-ui=\"x\">'</script><p data-test-ui='x'>", ui) == ["p"]
    assert narrowed(b'<div title="a<b c" data-test-ui="x">', ui) == ["div"]
    assert narrowed(b'<i data-test-ui="&#120;">', ui) == ["i"]  # a character reference
    assert narrowed(b'<p class="a x">1</p><SPAN class=x>2</SPAN>', ".x") == ["p", "span"]
    assert narrowed(b'<p class="a x">1</p><p class="x-y">2</p>', ".x") is None  # inside a longer word
    assert narrowed(b'<p class="x">1</p><p>x marks the spot</p>', ".x") is None  # in the text


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


def test_one_tree_the_same_as_parsels(responses: list[HtmlResponse]) -> None:
    """The tree fastcss parses for every extractor is the tree parsel builds, element for
    element, and the response's own selector is never built (the page is parsed once)."""
    for body in [p.read_bytes() for p in PAGES] + TRICKY + ODD_BODIES:
        response = HtmlResponse(url="https://www.nzherald.co.nz/world/x/", body=body)
        root = fastcss.root(response)
        assert fastcss.selector(response).root is root
        assert response._cached_selector is None
        assert etree.tostring(root) == etree.tostring(response.selector.root), body[:80]
        assert [_path(el) for el in root.iter()] == [_path(el) for el in response.selector.root.iter()]


def test_extraction_parses_the_page_once() -> None:
    url = "https://www.nzherald.co.nz/world/ukraine-crisis-us-russia-to-hold-security-talks-over-nato-expansion/ZXU6227CUQTBPRZBXZLVTII7IQ/"
    response = response_for(url)
    assert extract.parse_article(response).article.title
    extract.page_links(response)
    cards.card_signals(response, datetime(2022, 1, 13, tzinfo=UTC))
    assert response._cached_selector is None
