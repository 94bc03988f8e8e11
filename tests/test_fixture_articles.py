"""Every fixture article against its expected JSON, one test per field."""

from __future__ import annotations

from functools import cache
from typing import Any

import pytest

from herald_spider.pages.article import ArticlePage, Extracted
from herald_spider.pages.links import related_urls
from tests.conftest import expected_articles, response_for

FIELDS = (
    "article_id",
    "url",
    "section",
    "subsection",
    "title",
    "description",
    "authors",
    "distributor",
    "published_at",
    "updated_at",
    "premium",
    "body_first",
    "body_last",
    "word_count_visible",
    "related_urls",
    "language",
    "keywords",
    "topics",
    "images",
    "subheadings",
    "body_blocks",
    "body_html",
)
EXPECTED = {article["article_id"]: article for article in expected_articles()}


def _iso(value: Any) -> str | None:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if value is not None else None


@cache
def page(article_id: str) -> ArticlePage:
    return ArticlePage(response_for(EXPECTED[article_id]["url"]))


@cache
def extracted(article_id: str) -> Extracted:
    return page(article_id).extracted()


def actual(article_id: str, field: str) -> Any:
    article = extracted(article_id).article
    paragraphs = (article.body or "").split("\n\n")
    if field in ("published_at", "updated_at"):
        return _iso(getattr(article, field))
    if field == "body_first":
        return paragraphs[0]
    if field == "body_last":
        return paragraphs[-1]
    if field == "word_count_visible":
        return article.word_count
    if field == "related_urls":
        return related_urls(page(article_id).links(), article_id)
    return getattr(article, field)


@pytest.mark.parametrize("field", FIELDS)
@pytest.mark.parametrize("article_id", sorted(EXPECTED))
def test_field(article_id: str, field: str) -> None:
    assert actual(article_id, field) == EXPECTED[article_id][field]


@pytest.mark.parametrize("article_id", sorted(a for a in EXPECTED if EXPECTED[a]["hidden_text"]))
def test_paywalled_text_is_not_stored(article_id: str) -> None:
    article = extracted(article_id).article
    assert EXPECTED[article_id]["hidden_text"] not in (article.body or "")
    assert EXPECTED[article_id]["hidden_text"] not in (article.body_html or "")
    assert all(EXPECTED[article_id]["hidden_text"] not in block["text"] for block in article.body_blocks)
    assert article.premium is True


@pytest.mark.parametrize("article_id", sorted(EXPECTED))
def test_clean_page_has_no_problems(article_id: str) -> None:
    assert extracted(article_id).problems == []


@pytest.mark.parametrize("article_id", sorted(EXPECTED))
def test_typed_values(article_id: str) -> None:
    article = extracted(article_id).article
    assert article.published_at is not None and article.published_at.utcoffset().total_seconds() == 0
    assert article.published_raw
    assert article.word_count == len((article.body or "").split())
    assert article.content_hash and len(article.content_hash) == 64
    assert article.section_path == "/".join(filter(None, (article.section, article.subsection)))
    assert all(isinstance(name, str) and name for name in article.authors)
