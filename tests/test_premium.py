"""Premium signals: each one alone marks an article; free pages full of the word do not."""

from __future__ import annotations

import pytest
from scrapy.http import HtmlResponse

from herald_spider.pages.extract import parse_article

FREE_URL = "https://www.nzherald.co.nz/world/a-story/ABCDEFGHIJKLMNOPQRSTUVWXYZ/"
PREMIUM_URL = "https://www.nzherald.co.nz/world/a-story/premium/ABCDEFGHIJKLMNOPQRSTUVWXYZ/"
NAV = '<nav><a href="/premium/">Premium</a><a href="/my-account/subscription/">Subscribe</a></nav>'
CARD = (
    '<aside class="related-articles"><article class="story-card">'
    '<span class="story-card__label">Premium</span></article></aside>'
)
BODY = (
    '<section data-test-ui="article__body">'
    "<p>Premium petrol prices rose. Subscribe to the premium plan.</p></section>"
)


def ld(flag: str, kind: str = "Article") -> str:
    return f'<script type="application/ld+json">{{"@type":"{kind}","isAccessibleForFree":{flag}}}</script>'


def page(head: str = "", header: str = "", extra: str = "") -> bytes:
    return (
        f"<html><head><title>A story - NZ Herald</title>{head}</head><body>{NAV}"
        f'<header class="article__header {header}" data-test-ui="article__header">'
        f'<h1 data-test-ui="article__heading">A story</h1>'
        f'<time data-test-ui="author-display--date" datetime="2024-01-01T00:00:00Z">x</time></header>'
        f"{BODY}{CARD}{extra}</body></html>"
    ).encode()


def premium(body: bytes, url: str = FREE_URL) -> bool | None:
    return parse_article(HtmlResponse(url=url, body=body)).article.premium


@pytest.mark.parametrize(
    ("body", "url"),
    [
        (page(head=ld('"False"')), FREE_URL),
        (page(head=ld("false")), FREE_URL),
        (page(head=ld('"false"', "NewsArticle")), FREE_URL),
        (page(head='<script>Fusion.globalContent={"isPremium":true};</script>'), FREE_URL),
        (page(header="article__header-premium"), FREE_URL),
        (
            page(extra='<p class="social-popup__reminder">Reminder, this is a <b>Premium</b> article</p>'),
            FREE_URL,
        ),
        (
            page(extra='<div class="audio-player audio-player--locked"><p>Subscribe to listen</p></div>'),
            FREE_URL,
        ),
        (page(extra='<div id="premium-toaster">Subscribe to keep reading</div>'), FREE_URL),
        (page(), PREMIUM_URL),
    ],
)
def test_each_signal_marks_premium(body: bytes, url: str) -> None:
    assert premium(body, url) is True


def test_word_premium_in_menus_cards_and_body_is_not_a_signal() -> None:
    assert premium(page()) is False


def test_json_ld_free_is_free() -> None:
    assert premium(page(head=ld('"True"'))) is False
