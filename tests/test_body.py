"""Body text rules on small pages written for the purpose (each page of the era it marks, or of
none: the union of every era's body sections)."""

from __future__ import annotations

from scrapy.http import HtmlResponse

from herald_spider.pages.article import ArticlePage
from herald_spider.pages.body import body_paragraphs

URL = "https://www.nzherald.co.nz/world/a-story/ABCDEFGHIJKLMNOPQRSTUVWXYZ/"


def paragraphs(body: str, classes: frozenset[str] = frozenset()) -> list[str] | None:
    page = ArticlePage(HtmlResponse(url=URL, body=f"<html><body>{body}</body></html>".encode()))
    return body_paragraphs(page, classes)


def test_no_body_section_is_none() -> None:
    assert paragraphs("<div><p>Menu</p></div>") is None


def test_direct_paragraphs_only_visible_parts() -> None:
    body = (
        '<section data-test-ui="article__body"><p><strong>OPINION:</strong></p><p>One  two</p>'
        '<p><span class="ellipsis">Shown</span><span class="Xy" style="display: none;">hidden</span></p>'
        '<p class="Xy" style="display:none">Locked</p><p class="Xy">Locked by class</p><p hidden>Gone</p>'
        '<div class="newsletter-signup"><p>Sign up</p></div><figure><p>Caption</p></figure></section>'
    )
    assert paragraphs(body, frozenset({"Xy"})) == ["OPINION:", "One two", "Shown"]


def test_wrapped_paragraphs_outside_noise() -> None:
    body = (
        '<section data-test-ui="article-top-body"><div class="wrap"><p>First</p>'
        '<div class="ad"><p>Advertise with NZME.</p></div><p>Second</p>'
        '<aside class="related-articles"><p>Related</p></aside>'
        '<div class="Xy"><p>Locked</p></div></div></section>'
    )
    assert paragraphs(body, frozenset({"Xy"})) == ["First", "Second"]


def test_top_and_bottom_sections_in_order() -> None:
    body = (
        '<section data-test-ui="article-top-body"><p>Top</p></section>'
        '<section data-test-ui="article-bottom-body"><p>Bottom</p></section>'
    )
    assert paragraphs(body) == ["Top", "Bottom"]


def test_sections_in_document_order() -> None:
    body = (
        '<section class="article__body"><p>One</p></section><div class="article__raw-html"><p>Two</p></div>'
        '<section class="article__body"><p>Three</p></section>'
    )
    assert paragraphs(body) == ["One", "Two", "Three"]
