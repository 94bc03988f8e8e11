"""The bad-page corpus (tests/fixtures/bad/): every page is stored correctly, stored with a
value repaired or set to null, or dropped with a named reason; each non-stored page is logged
with its URL and counted in ``herald/...`` stats, and the crawl goes on.

One replay crawl of the corpus through Scrapy's engine; the 5 MB body page is built from a
template (a 5 MB file does not belong in git).
"""

from __future__ import annotations

import codecs
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from scrapy.http import HtmlResponse

from herald_spider.dataset import read_articles
from herald_spider.encoding import actual_encoding
from tests.test_crawl import crawl

BAD = Path(__file__).parent / "fixtures" / "bad"
SITE = "https://www.nzherald.co.nz"
T0 = datetime(2024, 3, 5, 6, 7, 8, tzinfo=UTC)


def url(name: str) -> str:
    article_id = ((name.upper().replace("-", "")[:24]) + "0" * 26)[:24] + "99"
    return f"{SITE}/world/{name}/{article_id}/"


#: case -> fields of the stored row (None: not stored).
STORED: dict[str, dict[str, Any]] = {
    "a-good-story": {"title": "A good story among bad ones", "published_at": T0, "authors": ["Jane Doe"]},
    # what arrived is stored; the paragraph cut off mid-word is kept as it came
    "truncated-html": {
        "title": "Truncated page keeps its first paragraphs",
        "body": "A whole first paragraph.\n\nA second paragraph that stops in the mid",
    },
    "json-ld-trailing-commas": {
        "title": "Trailing commas in JSON-LD",
        "published_at": T0,
        "authors": ["Jane Doe"],
    },
    "json-ld-semicolon": {"title": "A semicolon after the JSON-LD", "published_at": T0},
    "json-ld-cdata": {"title": "JSON-LD in a CDATA wrapper", "published_at": T0},
    # the first Article object wins, dates and all
    "json-ld-disagree": {"title": "The first JSON-LD block wins", "published_at": T0},
    # Fusion is skipped (and counted), the DOM gives the fields
    "fusion-invalid": {"title": "Fusion data that is not JSON, DOM still read", "published_at": T0},
    # repaired: updated_at before published_at or in the future is stored as null
    "updated-before-published": {"published_at": T0, "updated_at": None},
    "updated-in-future": {"published_at": T0, "updated_at": None},
    # the NUL byte does not end the paragraph nor the page
    "nul-byte": {
        "title": "A page with a NUL byte",
        "body": "Before the NULafter the NUL.\n\nSecond paragraph.",
    },
    # repaired: decoded in the encoding the bytes are really in
    "cp1252-labelled-utf8": {"title": "Café ‘quotes’ — a Windows-1252 page"},
    "utf8-labelled-cp1252": {"title": "Te reo Māori ‘quotes’ — a UTF-8 page"},
}

#: case -> (stat counted for it, text of the log line that names its URL)
NOT_STORED: dict[str, tuple[str, str]] = {
    "truncated-json-ld": ("herald/dropped/missing_published_at", "Missing published_at"),
    "no-title": ("herald/dropped/missing_title", "Missing title"),
    "title-10000": ("herald/dropped/title_too_long", "(title_too_long)"),
    "body-5mb": ("herald/dropped/body_too_large", "(body_too_large)"),
    "dates-unparseable": ("herald/dropped/missing_published_at", "Missing published_at"),
    "dates-future": ("herald/dropped/published_in_future", "(published_in_future)"),
    "empty-200": ("herald/pages_empty", "Empty page (HTTP 200, no content)"),
    "challenge-200": (
        "herald/soft_blocked",
        "Soft block (challenge page served as 200, title: Just a moment",
    ),
    "access-denied-200": (
        "herald/soft_blocked",
        "Soft block (challenge page served as 200, title: Access Denied",
    ),
    "pdf-at-article-url": ("herald/pages_not_html", "Not an HTML page at an article URL"),
    "image-at-article-url": ("herald/pages_not_html", "Not an HTML page at an article URL"),
}

#: Stats the corpus must produce, beyond the drops above.
STATS = {
    "herald/articles_stored": len(STORED),
    "herald/dropped/missing_published_at": 2,
    "herald/soft_blocked": 2,
    "herald/request_failures/SoftBlocked": 2,
    "herald/pages_not_html": 2,
    "herald/sections_without_links": 1,
    "herald/page_problems/Fusion.globalContent": 1,
    "herald/page_problems/JSON-LD_block_1": 1,
    "herald/page_problems/updated_before_published": 1,
    "herald/repaired/updated_in_future": 1,
    "herald/encoding_repaired/utf-8_as_cp1252": 1,
    "herald/encoding_repaired/cp1252_as_utf-8": 1,
}


@pytest.fixture(scope="module")
def bad_crawl(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("bad")
    mirror = root / "mirror"
    shutil.copytree(BAD, mirror, ignore=shutil.ignore_patterns("templates"))
    paragraph = "<p>" + "Words of a body far longer than any article. " * 22 + "</p>\n"
    page = (BAD / "templates" / "body-5mb.html").read_text(encoding="utf-8")
    html = page.replace("<p>{PARAGRAPHS}</p>", paragraph * (5 * 1024 * 1024 // len(paragraph) + 1))
    target = mirror / url("body-5mb").removeprefix("https://") / "index.html"
    target.parent.mkdir(parents=True)
    target.write_text(html, encoding="utf-8")
    assert target.stat().st_size > 5 * 1024 * 1024
    result = crawl("world", replay=mirror, dataset=root / "dataset", level="INFO")
    rows = {row["url"]: row for row in read_articles(root / "dataset").to_pylist()}
    return {**result, "rows": rows}


def test_crawl_finishes(bad_crawl: dict[str, Any]) -> None:
    assert "'finish_reason': 'finished'" in bad_crawl["log"]


def test_stored_rows_are_exactly_the_good_and_repaired_pages(bad_crawl: dict[str, Any]) -> None:
    assert sorted(bad_crawl["rows"]) == sorted(url(name) for name in STORED)


@pytest.mark.parametrize(
    ("case", "field", "value"), [(c, f, v) for c, fs in STORED.items() for f, v in fs.items()]
)
def test_stored_field(bad_crawl: dict[str, Any], case: str, field: str, value: Any) -> None:
    assert bad_crawl["rows"][url(case)][field] == value


@pytest.mark.parametrize("case", sorted(NOT_STORED))
def test_not_stored_is_logged_with_url_and_counted(bad_crawl: dict[str, Any], case: str) -> None:
    stat, message = NOT_STORED[case]
    assert url(case) not in bad_crawl["rows"]
    assert bad_crawl["stats"].get(stat, 0) >= 1, stat
    lines = [line for line in bad_crawl["log"].splitlines() if url(case) in line]
    assert any(message in line for line in lines), lines


@pytest.mark.parametrize("stat", sorted(STATS))
def test_stats(bad_crawl: dict[str, Any], stat: str) -> None:
    assert bad_crawl["stats"].get(stat) == STATS[stat]


def test_no_text_is_mangled(bad_crawl: dict[str, Any]) -> None:
    for row in bad_crawl["rows"].values():
        for name in ("title", "body", "description"):
            text = row[name] or ""
            assert "\ufffd" not in text and "\x00" not in text and "â€" not in text, (row["url"], name)


@pytest.mark.parametrize(
    "body",
    [
        "Māori ‘quotes’".encode(),
        "Māori ‘quotes’".encode("cp1252", "replace"),
        "Māori".encode() + "Māori".encode()[:2],  # cut off mid-character
        "\ufffd in the page itself".encode(),
        codecs.BOM_UTF8 + "Māori".encode(),
        "Māori".encode("utf-16"),
        "Māori".encode("utf-32"),
        "Māori".encode("utf-16-be"),
        codecs.BOM_UTF32_BE + "Māori".encode("utf-32-be"),
    ],
)
def test_encoding_check_from_the_decoded_text_agrees(body: bytes) -> None:
    """The middleware hands over the text the response decoded; the answer is the one a
    second decode of the bytes gives."""
    response = HtmlResponse(f"{SITE}/world/", body=body, encoding="utf-8")
    assert actual_encoding(body, "utf-8", response.text) == actual_encoding(body, "utf-8")
