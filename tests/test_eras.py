"""Every fixture article of each markup era against its expected item, one test per field, and
a test that the item holds no field the expected item lacks (web-poet's pytest plugin style).

``tests/fixtures/eras/<era>.json`` holds, per saved page (a path under ``tests/fixtures``), every
field the item sets, as the extraction before the page objects wrote it; a page is listed under
the era :func:`herald_spider.pages.eras.era_of` gives it. ``eras/www.nzherald.co.nz`` holds the
pages of the eras no other fixture has (2024 split body, 2026 Viva).
"""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime
from functools import cache
from typing import Any

import pytest
from scrapy.http import HtmlResponse

from herald_spider.items import Article
from herald_spider.pages.article import ArticlePage
from tests.conftest import FIXTURES

EXPECTED_DIR = FIXTURES / "eras"
#: era -> saved page -> field -> value
EXPECTED: dict[str, dict[str, dict[str, Any]]] = {
    path.stem: json.loads(path.read_text(encoding="utf-8")) for path in sorted(EXPECTED_DIR.glob("*.json"))
}
CASES = [(era, page) for era, pages in EXPECTED.items() for page in pages]
#: every field extraction can set (the rest are the store's)
FIELDS = tuple(
    f.name
    for f in dataclasses.fields(Article)
    if f.name not in ("fetched_at", "crawl_id", "revision", "first_seen_at", "last_seen_at")
)

#: the fields whose default is an empty list
LIST_FIELDS = frozenset(f.name for f in dataclasses.fields(Article) if f.default_factory is list)


@cache
def page(path: str) -> ArticlePage:
    """The page at ``path`` (under tests/fixtures), requested at the URL its folders name."""
    parts = path.split("/")
    return ArticlePage(
        HtmlResponse(url="https://" + "/".join(parts[1:-1]) + "/", body=(FIXTURES / path).read_bytes())
    )


@cache
def item(path: str) -> Article:
    return page(path).to_item()


def _json(value: Any) -> Any:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if isinstance(value, datetime) else value


def test_every_era_has_a_page() -> None:
    assert set(EXPECTED) == {"unknown", "2022", "2024", "2026", "2026-viva"}


@pytest.mark.parametrize(("era", "path"), CASES)
def test_era(era: str, path: str) -> None:
    assert era == page(path).era.NAME
    assert ("unknown_era" in page(path).problems) is (era == "unknown")


@pytest.mark.parametrize("field", FIELDS)
@pytest.mark.parametrize(("era", "path"), CASES)
def test_field(era: str, path: str, field: str) -> None:
    unset: Any = [] if field in LIST_FIELDS else None  # the item's default
    assert _json(getattr(item(path), field)) == EXPECTED[era][path].get(field, unset)


@pytest.mark.parametrize(("era", "path"), CASES)
def test_no_extra_fields(era: str, path: str) -> None:
    found = {name for name, value in dataclasses.asdict(item(path)).items() if value not in (None, [])}
    assert found == set(EXPECTED[era][path])


@pytest.mark.parametrize(("era", "path"), CASES)
def test_field_methods_answer_as_the_item(era: str, path: str) -> None:
    """Each field method of a fresh page gives the item's value, whatever is asked first."""
    fresh = ArticlePage(page(path).response)
    assert fresh.body() == item(path).body
    assert fresh.updated_at() == item(path).updated_at
    assert fresh.canonical_url() == item(path).url
    assert fresh.to_item() == item(path)
