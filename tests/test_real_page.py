"""The real saved page in ../shared (never committed): title, author, UTC dates, premium."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime

import pytest
from scrapy.http import HtmlResponse

from herald_spider.pages.extract import parse_article
from tests.conftest import SHARED

REAL = SHARED / "nzherald" / "real" / "sport-premium-2022-10-11.html.gz"
URL = (
    "https://www.nzherald.co.nz/sport/"
    "gregor-paul-women-showing-the-men-how-its-done-at-the-rugby-world-cup/Y7FDO3XXQIUDNGZ2GRHZB24U6I/"
)

pytestmark = pytest.mark.skipif(not REAL.exists(), reason="../shared/nzherald/real is not beside the project")


@pytest.fixture(scope="module")
def article():  # type: ignore[no-untyped-def]
    body = gzip.decompress(REAL.read_bytes())
    return parse_article(HtmlResponse(url=URL, body=body)).article


def test_title(article) -> None:  # type: ignore[no-untyped-def]
    assert article.title == "Gregor Paul: Women showing the men how it's done at the Rugby World Cup"


def test_author(article) -> None:  # type: ignore[no-untyped-def]
    assert article.authors == ["Gregor Paul"]
    assert article.distributor == "NZ Herald"
    assert article.byline_raw == "By Gregor Paul"


def test_dates(article) -> None:  # type: ignore[no-untyped-def]
    assert article.published_at == datetime(2022, 10, 11, 1, 0, tzinfo=UTC)
    assert article.updated_at == datetime(2022, 10, 11, 1, 3, 53, tzinfo=UTC)


def test_premium_and_visible_body_only(article) -> None:  # type: ignore[no-untyped-def]
    assert article.premium is True
    assert article.body.startswith("OPINION:")
    assert "should be looking for a means" not in article.body  # hidden half of paragraph 3
    assert "gender definition was removed" not in article.body


def test_sections(article) -> None:  # type: ignore[no-untyped-def]
    assert (article.section, article.subsection) == ("sport", "rugby")


def test_language(article) -> None:  # type: ignore[no-untyped-def]
    assert article.language == "en"  # <html lang="en">, og:locale en_NZ


def test_keywords_and_topics(article) -> None:  # type: ignore[no-untyped-def]
    assert article.keywords == [
        "gregor",
        "paul",
        "women",
        "showing",
        "its",
        "done",
        "rugby",
        "world",
        "opinion",
    ]
    assert article.topics == ["Sport", "Rugby"]  # Fusion sections; article:section "Sport, Rugby"
    assert article.tags == ["Premium Sport", "Premium", "Women's Rugby World Cup"]


def test_images(article) -> None:  # type: ignore[no-untyped-def]
    # The hero is a video (its caption says "Video / ..."): the lead image is Fusion's `image`.
    # The body's one figure of another photo is in the paywalled part, so it is not listed.
    assert article.images == [
        {
            "url": "https://cloudfront-ap-southeast-2.images.arcpublishing.com/nzme/W45EBHYF3VDPV4CLWHZWBER2OY.jpg",
            "caption": "Black Ferns winger Ruby Tui in action against Australia. Photo / Photosport",
            "credit": "Photosport",
            "width": 1920,
            "height": 1211,
        }
    ]
    assert article.image_url == article.images[0]["url"]


def test_body_blocks_and_html_are_the_visible_part(article) -> None:  # type: ignore[no-untyped-def]
    assert article.body_blocks == [
        {"kind": "paragraph", "text": "OPINION:"},
        {
            "kind": "paragraph",
            "text": "World Rugby did exactly the right thing in 2020 when it renamed all its global"
            " tournaments to make them gender neutral.",
        },
        {
            "kind": "paragraph",
            "text": "But perhaps, after the first weekend of the 2021 World Cup, women everywhere",
        },
    ]
    assert article.subheadings == []
    assert article.body_html == (
        "<p><strong>OPINION:</strong></p>\n"
        "<p>World Rugby did exactly the right thing in 2020 when it renamed all its global tournaments"
        " to make them gender neutral.</p>\n"
        "<p>But perhaps, after the first weekend of the 2021 World Cup, women everywhere</p>"
    )
    for hidden in ("should be looking for a means", "Advertisement", "XCAY7CNREMLSFTFXR5RWQYHO6Q", "Related"):
        assert hidden not in article.body_html
