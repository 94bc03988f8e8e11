"""The article fields of schema version 5: images, keywords, topics, language, body blocks,
subheadings and body HTML, on the mirrors (site-feeds and its WARC copy), on every saved page,
and on pages made to break them."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

import pytest
from lxml import etree
from scrapy.http import HtmlResponse
from warcio.archiveiterator import ArchiveIterator

from herald_spider.pages.article import MALFORMED, ArticlePage
from herald_spider.pages.images import image_key
from tests.conftest import FIXTURES, response_for
from tests.test_eras import CASES
from tests.test_eras import page as era_page

NEW_FIELDS = ("language", "keywords", "topics", "images", "subheadings", "body_blocks", "body_html")
FEEDS = FIXTURES / "site-feeds"
FEEDS_EXPECTED = {
    article["article_id"]: article
    for article in map(
        json.loads, (FEEDS / "expected" / "articles.jsonl").read_text(encoding="utf-8").splitlines()
    )
}
WARC = FIXTURES / "warc" / "dev-site-feeds.warc.gz"
URL = "https://www.nzherald.co.nz/world/a-story/ABCDEFGHIJKLMNOPQRSTUVWXYZ/"


@cache
def feeds_item(article_id: str) -> Any:
    return ArticlePage(response_for(FEEDS_EXPECTED[article_id]["url"], FEEDS)).to_item()


@pytest.mark.parametrize("field", NEW_FIELDS)
@pytest.mark.parametrize("article_id", sorted(FEEDS_EXPECTED))
def test_site_feeds_mirror(article_id: str, field: str) -> None:
    assert getattr(feeds_item(article_id), field) == FEEDS_EXPECTED[article_id][field]


@cache
def warc_pages() -> dict[str, HtmlResponse]:
    """The newest capture of each article of the WARC copy, by URL."""
    newest: dict[str, tuple[str, bytes]] = {}
    with WARC.open("rb") as stream:
        for record in ArchiveIterator(stream):
            url = record.rec_headers.get_header("WARC-Target-URI")
            status = record.http_headers.get_statuscode() if record.http_headers else None
            if record.rec_type != "response" or status != "200" or url not in URLS:
                continue
            date = record.rec_headers.get_header("WARC-Date")
            body = record.content_stream().read()
            if url not in newest or date > newest[url][0]:
                newest[url] = (date, body)
    return {url: HtmlResponse(url=url, body=body) for url, (_, body) in newest.items()}


URLS = {article["url"]: article_id for article_id, article in FEEDS_EXPECTED.items()}


@pytest.mark.parametrize("field", NEW_FIELDS)
def test_warc_copy(field: str) -> None:
    pages = warc_pages()
    assert set(pages) == set(URLS)
    for url, response in pages.items():
        expected = FEEDS_EXPECTED[URLS[url]]
        assert getattr(ArticlePage(response).to_item(), field) == expected[field], url


# --- what holds on every saved page ---------------------------------------------------------


@pytest.mark.parametrize(("era", "path"), CASES)
def test_paragraph_blocks_are_the_body(era: str, path: str) -> None:
    article = era_page(path).to_item()
    paragraphs = [block["text"] for block in article.body_blocks if block["kind"] == "paragraph"]
    assert ("\n\n".join(paragraphs) or None) == article.body
    assert article.subheadings == [b["text"] for b in article.body_blocks if b["kind"] == "subheading"]
    assert {block["kind"] for block in article.body_blocks} <= {
        "paragraph",
        "subheading",
        "quote",
        "list_item",
    }


@pytest.mark.parametrize(("era", "path"), CASES)
def test_lead_image_is_image_url_and_images_are_distinct(era: str, path: str) -> None:
    article = era_page(path).to_item()
    assert (article.images[0]["url"] if article.images else None) == article.image_url
    keys = [image_key(image["url"]) for image in article.images]
    assert len(keys) == len(set(keys))
    for image in article.images:
        assert set(image) == {"url", "caption", "credit", "width", "height"}
        assert image["url"].startswith("https://")


@pytest.mark.parametrize(("era", "path"), CASES)
def test_body_html_is_clean(era: str, path: str) -> None:
    html = era_page(path).to_item().body_html
    if html is None:
        return
    fragment = etree.HTML(f"<div id='fragment'>{html}</div>").find(".//div[@id='fragment']")
    allowed = {"a": {"href"}, "img": {"src", "alt"}}
    for el in fragment.iterdescendants():
        assert el.tag in {
            "p",
            "h2",
            "h3",
            "h4",
            "blockquote",
            "ul",
            "ol",
            "li",
            "a",
            "strong",
            "em",
            "br",
        } | {
            "figure",
            "img",
            "figcaption",
        }, el.tag
        assert set(el.attrib) <= allowed.get(el.tag, set()), (el.tag, dict(el.attrib))


# --- the cleaner ----------------------------------------------------------------------------


def article(body: str, head: str = "") -> ArticlePage:
    page = (
        f'<html lang="en"><head><title>A story - NZ Herald</title>{head}</head><body><article>'
        '<h1 data-test-ui="article__heading">A story</h1>'
        f'<section class="article__body" data-test-ui="article__body">{body}</section>'
        "</article></body></html>"
    )
    return ArticlePage(HtmlResponse(url=URL, body=page.encode()))


def test_cleaner_removes_scripts_styles_handlers_and_attributes() -> None:
    page = article(
        '<p class="x" data-ref="1" style="color:red" onclick="steal()">One <b onmouseover="x()">bold</b>'
        "<script>alert(1)</script> word.</p><style>p{}</style><noscript>no</noscript>"
        '<iframe src="https://ads.example/"></iframe><p>Two<svg><text>icon</text></svg>.</p>'
    )
    assert page.body_html() == "<p>One <strong>bold</strong> word.</p>\n<p>Two.</p>"
    assert page.body() == "One bold word.\n\nTwo."


def test_cleaner_keeps_links_absolute_and_drops_unsafe_ones() -> None:
    page = article(
        '<p>See <a href="/world/" target="_blank" rel="noopener">World</a>, '
        '<a href="https://example.org/x?a=1&amp;b=2">a site</a>, '
        '<a href="mailto:news@nzherald.co.nz">mail</a>, '
        '<a href="javascript:alert(1)">a trap</a> and <a>no href</a>.</p>'
    )
    assert page.body_html() == (
        '<p>See <a href="https://www.nzherald.co.nz/world/">World</a>, '
        '<a href="https://example.org/x?a=1&amp;b=2">a site</a>, '
        '<a href="mailto:news@nzherald.co.nz">mail</a>, '
        "a trap and no href.</p>"
    )


def test_cleaner_keeps_only_web_images_and_escapes_text_between_blocks() -> None:
    """An image whose source is ``javascript:`` or ``data:`` is dropped (an ``onerror`` would
    not survive anyway); text the page escaped stays text, inside a block or between blocks."""
    page = article(
        '<p>One <img src="javascript:alert(1)" onerror="alert(2)"><img src="data:image/png;base64,AA">'
        '<img src="https://www.nzherald.co.nz/pf/x.jpg" alt="A fish">.</p>'
        "&lt;script&gt;alert(3)&lt;/script&gt;<p>&lt;b&gt;Two&lt;/b&gt;</p>"
    )
    html = page.body_html() or ""
    assert "javascript:" not in html and "data:" not in html and "<script" not in html
    assert '<img src="https://www.nzherald.co.nz/pf/x.jpg" alt="A fish">' in html
    assert "&lt;script&gt;alert(3)&lt;/script&gt;" in html and "<p>&lt;b&gt;Two&lt;/b&gt;</p>" in html


def test_cleaner_leaves_out_the_paywalled_part_and_noise() -> None:
    ld = (
        '<script type="application/ld+json">{"@type":"Article","isAccessibleForFree":"False",'
        '"hasPart":[{"@type":"WebPageElement","isAccessibleForFree":"False","cssSelector":".Paid1"}]}</script>'
    )
    page = article(
        '<p>Free <span class="ellipsis">teaser</span><span class="Paid1">secret half</span></p>'
        '<p class="Paid1" style="display:none">Secret paragraph.</p>'
        '<h2 class="Paid1">Secret heading</h2><p hidden>Hidden too.</p>'
        '<div class="Paid1"><div class="ad" data-test-ui="ad"><h4>Advertisement</h4></div></div>'
        '<aside class="related-articles"><h2>Related articles</h2><p>Card</p></aside>'
        '<div class="premium-toaster" id="premium-toaster"><h3>Subscribe</h3></div>'
        '<div class="figure Paid1"><figure><img src="https://x.org/resizer/v2/PAID.jpg?width=800"/></figure></div>',
        ld,
    )
    assert page.body_html() == "<p>Free teaser</p>"
    assert page.body_blocks() == [{"kind": "paragraph", "text": "Free teaser"}]
    assert page.images() == []


def test_blocks_of_a_wrapped_layout_match_its_body() -> None:
    """A layout whose paragraphs are not children of the section: every paragraph body reads
    is a paragraph block, those in a quote and a list included."""
    page = article(
        "<div><h2>Heading</h2><p>One.</p><blockquote><p>Quoted.</p></blockquote>"
        "<ul><li>Item</li></ul><ol><li><p>Para item.</p></li></ol></div>"
        '<div class="newsletter-signup"><p>Sign up</p></div>'
    )
    assert page.body() == "One.\n\nQuoted.\n\nPara item."
    assert page.body_blocks() == [
        {"kind": "subheading", "text": "Heading"},
        {"kind": "paragraph", "text": "One."},
        {"kind": "paragraph", "text": "Quoted."},
        {"kind": "list_item", "text": "Item"},
        {"kind": "paragraph", "text": "Para item."},
    ]


RESIZED = "https://www.nzherald.co.nz/resizer/v2/ABCDEFGHIJKLMNOPQRSTUVWXY1.jpg"


def test_a_figure_gives_its_largest_image_not_the_placeholder() -> None:
    page = article(
        '<p>Text.</p><figure><img src="/pf/resources/images/placeholders/placeholder_l.png?d=421" '
        f'data-srcset="{RESIZED}?width=320&amp;height=202 320w, '
        f'{RESIZED}?width=992&amp;height=626 992w" alt="A"/>'
        "<figcaption>The harbour. Photo / Dean Purcell</figcaption></figure>"
    )
    assert page.images() == [
        {
            "url": f"{RESIZED}?width=992&height=626",
            "caption": "The harbour. Photo / Dean Purcell",
            "credit": "Dean Purcell",
            "width": 992,
            "height": 626,
        }
    ]


# --- structured data first, and broken structured data ----------------------------------------


def fusion(content: dict[str, Any]) -> str:
    return f'<script id="fusion-metadata">Fusion.globalContent={json.dumps(content)};</script>'


DOM_HEAD = (
    '<meta property="og:image" content="https://www.nzherald.co.nz/resizer/v2/ABCDEFGHIJKLMNOPQRSTUVWXY2.jpg'
    '?width=1200&amp;height=675"/><meta property="article:section" content="World, Asia"/>'
    '<meta name="keywords" content="floods, Manila"/>'
)


def test_structured_data_comes_first() -> None:
    content = {
        "language": "mi",
        "promo_items": {
            "basic": {
                "type": "image",
                "url": "https://cloudfront-ap-southeast-2.images.arcpublishing.com/nzme/ABCDEFGHIJKLMNOPQRSTUVWXY3.jpg",
                "caption": "The lead photo.",
                "credits": {"by": [{"name": "Jane Photographer"}]},
                "width": 2000,
                "height": 1000,
            }
        },
        "taxonomy": {"seo_keywords": ["typhoon"], "sections": [{"_id": "/world", "name": "World"}]},
    }
    page = article("<p>Text.</p>", fusion(content) + DOM_HEAD)
    assert page.language() == "mi"
    assert page.keywords() == ["typhoon"]
    assert page.topics() == ["World"]
    assert page.images()[0] == {
        "url": "https://cloudfront-ap-southeast-2.images.arcpublishing.com/nzme/ABCDEFGHIJKLMNOPQRSTUVWXY3.jpg",
        "caption": "The lead photo.",
        "credit": "Jane Photographer",
        "width": 2000,
        "height": 1000,
    }
    assert page.image_url() == page.images()[0]["url"]
    assert page.problems == []


@pytest.mark.parametrize(
    ("content", "where"),
    [
        ({"promo_items": "not an object"}, "Fusion promo_items"),
        ({"promo_items": {"basic": ["a list"]}}, "Fusion promo_items.basic"),
        ({"promo_items": {"basic": {"type": "image", "url": 7}}}, "Fusion promo_items.basic.url"),
        ({"taxonomy": ["not", "an", "object"]}, "Fusion taxonomy"),
        ({"taxonomy": {"seo_keywords": 3, "sections": {"name": "World"}}}, "Fusion taxonomy.seo_keywords"),
        ({"taxonomy": {"sections": [{"name": 5}]}}, "Fusion taxonomy.sections[].name"),
        ({"image": 42}, "Fusion image"),
        ({"language": ["en"]}, "Fusion language"),
    ],
)
def test_broken_structured_data_falls_back_to_the_dom_and_is_a_problem(
    content: dict[str, Any], where: str
) -> None:
    page = article("<p>Text.</p>", fusion(content) + DOM_HEAD)
    item = page.to_item()
    assert item.images[0]["url"] == (
        "https://www.nzherald.co.nz/resizer/v2/ABCDEFGHIJKLMNOPQRSTUVWXY2.jpg?width=1200&height=675"
    )
    assert (item.images[0]["width"], item.images[0]["height"]) == (1200, 675)
    assert item.topics == ["World", "Asia"]
    assert item.keywords == ["floods", "Manila"]
    assert item.language == "en"
    problems = [p for p in page.problems if p.split(":")[0] == MALFORMED]
    assert problems and any(p.startswith(f"{MALFORMED}: {where} is ") for p in problems), page.problems
    assert len(problems) == len(set(problems))  # each place once


def test_broken_json_ld_fields_fall_back() -> None:
    ld = (
        '<script type="application/ld+json">'
        '{"@type":"Article","image":[12],"keywords":{"a":1},"inLanguage":5}</script>'
    )
    page = article("<p>Text.</p>", ld + DOM_HEAD)
    assert page.keywords() == ["floods", "Manila"]
    assert page.language() == "en"
    assert (
        page.image_url()
        == "https://www.nzherald.co.nz/resizer/v2/ABCDEFGHIJKLMNOPQRSTUVWXY2.jpg?width=1200&height=675"
    )
    assert sorted(p.split(" is ")[0] for p in page.problems) == [
        f"{MALFORMED}: JSON-LD image",
        f"{MALFORMED}: JSON-LD inLanguage",
        f"{MALFORMED}: JSON-LD keywords",
    ]


def test_no_source_gives_nothing() -> None:
    page = ArticlePage(HtmlResponse(url=URL, body=b"<html><body><h1>A story</h1></body></html>"))
    item = page.to_item()
    assert (item.language, item.keywords, item.topics, item.images) == (None, [], [], [])
    assert (item.body_blocks, item.subheadings, item.body_html) == ([], [], None)


def test_a_deeply_nested_body_is_walked_without_recursion() -> None:
    depth = 1500  # below libxml2's limit of 2048, far above Python's recursion limit
    page = article(
        "<div>" * depth + "<p>Deep <em>down</em>.</p><blockquote>Quoted</blockquote>" + "</div>" * depth
    )
    assert page.body() == "Deep down."
    assert page.body_blocks() == [
        {"kind": "paragraph", "text": "Deep down."},
        {"kind": "quote", "text": "Quoted"},
    ]
    assert page.body_html() == "<p>Deep <em>down</em>.</p>\n<blockquote>Quoted</blockquote>"


def test_headings_quotes_and_lists_in_a_container_are_blocks_its_paragraphs_are_not() -> None:
    """A section with paragraphs of its own: a paragraph in a container is not body text (as
    ``body`` reads it), a heading, quote or list in one is a block; a story card's is not."""
    page = article(
        '<p>One.</p><div class="article__subheading-wrapper"><h2>Heading</h2><p>Aside text.</p></div>'
        "<div><blockquote>Quoted</blockquote><ul><li>Item</li></ul></div>"
        '<article class="story-card"><h3>A card</h3></article><p>Two.</p>'
    )
    assert page.body() == "One.\n\nTwo."
    assert page.body_blocks() == [
        {"kind": "paragraph", "text": "One."},
        {"kind": "subheading", "text": "Heading"},
        {"kind": "quote", "text": "Quoted"},
        {"kind": "list_item", "text": "Item"},
        {"kind": "paragraph", "text": "Two."},
    ]


def test_an_image_in_a_picture_element_is_kept() -> None:
    page = article(
        '<p>Text.</p><figure><picture><source srcset="https://x.org/A.webp" type="image/webp"/>'
        '<img src="https://cloudfront-ap-southeast-2.images.arcpublishing.com/nzme/ABCDEFGHIJKLMNOPQRSTUVWXY4.jpg"'
        ' alt="A"/></picture><figcaption>A bridge. Photo / Supplied</figcaption></figure>'
    )
    assert [(i["url"][-30:], i["credit"]) for i in page.images()] == [
        ("ABCDEFGHIJKLMNOPQRSTUVWXY4.jpg", "Supplied")
    ]
    assert "<picture" not in (page.body_html() or "") and "<source" not in (page.body_html() or "")
    assert "<figcaption>A bridge. Photo / Supplied</figcaption>" in (page.body_html() or "")


def test_the_hero_caption_below_the_header_captions_a_hero_without_one() -> None:
    head = '<meta property="og:image" content="https://www.nzherald.co.nz/resizer/v2/ABCDEFGHIJKLMNOPQRSTUVWXY5.jpg"/>'
    hero = (
        '<div class="hero-container"><figure class="header__figure" data-test-ui="hero-wrapper">'
        '<img src="https://www.nzherald.co.nz/resizer/v2/ABCDEFGHIJKLMNOPQRSTUVWXY5.jpg?width=1200&amp;height=675"/>'
        '</figure></div><p class="article__heading-caption hero" data-test-ui="figure__caption">'
        "Boats at dawn. Photo / AP</p>"
    )
    page = article(hero + "<p>Text.</p>", head)
    assert page.images()[0]["caption"] == "Boats at dawn. Photo / AP"
    assert page.images()[0]["credit"] == "AP"


def test_a_lead_image_that_is_not_a_web_url_is_passed_over() -> None:
    """A ``data:`` JSON-LD image and a ``javascript:`` og:image are not the lead image; the
    next source is."""
    head = (
        '<meta property="og:image" content="javascript:alert(1)">'
        '<script type="application/ld+json">{"@type": "NewsArticle", "image": '
        '[{"url": "data:image/png;base64,AA"}, "https://www.nzherald.co.nz/a.jpg"]}</script>'
    )
    page = article("<p>x</p>", head=head)
    assert page.image_url() == "https://www.nzherald.co.nz/a.jpg"
    assert [image["url"] for image in page.images()] == ["https://www.nzherald.co.nz/a.jpg"]
    assert article("<p>x</p>", head=head.replace(', "https://www.nzherald.co.nz/a.jpg"', "")).images() == []
