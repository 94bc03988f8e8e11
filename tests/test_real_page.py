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
