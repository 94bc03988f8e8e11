"""The bad-page corpus (tests/fixtures/bad/): every page is stored correctly, stored with a
value repaired or set to null, or dropped with a named reason; each non-stored page is logged
with its URL and counted in ``herald/...`` stats, and the crawl goes on.

One replay crawl of the corpus through Scrapy's engine; the 5 MB body page and the page nested
100 000 elements deep are built from templates (files that size do not belong in git).
"""

from __future__ import annotations

import codecs
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from scrapy.http import HtmlResponse
from scrapy.utils.test import get_crawler

from herald_spider.dataset.files import read_articles
from herald_spider.downloadermiddlewares.encoding import EncodingRepairMiddleware, actual_encoding
from herald_spider.pages.extract import parse_article
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
    # <meta charset="utf-16"> on UTF-8 bytes: decoded as UTF-8, not as UTF-16 (a page of CJK)
    "utf8-labelled-utf16": {
        "title": "Ngā kōrero ‘quotes’ — a UTF-8 page labelled UTF-16",
        "body": "Kia ora: the first paragraph of the story.\n\nSecond paragraph of the story.",
    },
    # libxml2 stops at its depth limit: the head's fields are stored, the body (not in the
    # tree, and in no structured data on this page) is null, and the page problem is logged
    "nested-100000": {
        "title": "Paragraphs nested 100 000 elements deep",
        "published_at": T0,
        "authors": ["Jane Doe"],
        "body": None,
    },
}

#: case -> (stat counted for it, text of the WARNING line that names its URL), for pages
#: stored with what was wrong with them logged
LOGGED: dict[str, tuple[str, str]] = {
    "utf8-labelled-utf16": (
        "herald/encoding_repaired/utf-16_as_utf-8",
        "Page labelled utf-16 is utf-8, decoded as utf-8",
    ),
    "nested-100000": ("herald/page_problems/too_deep", "Page problem at {url}: too deep: "),
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
    "herald/encoding_repaired/utf-16_as_utf-8": 1,
    "herald/page_problems/too_deep": 1,
    # the one page stored or dropped that matches no markup era: it has no article markup
    "herald/page_problems/unknown_era": 1,
}


def generated_pages() -> dict[str, str]:
    """The pages too large for git, by case: ``templates/<case>.html`` filled in."""
    paragraph = "<p>" + "Words of a body far longer than any article. " * 22 + "</p>\n"
    fills = {
        "body-5mb": {"<p>{PARAGRAPHS}</p>": paragraph * (5 * 1024 * 1024 // len(paragraph) + 1)},
        "nested-100000": {"{OPEN}": "<div>" * 100_000, "{CLOSE}": "</div>" * 100_000},
    }
    pages = {}
    for case, placeholders in fills.items():
        html = (BAD / "templates" / f"{case}.html").read_text(encoding="utf-8")
        for placeholder, text in placeholders.items():
            html = html.replace(placeholder, text)
        pages[case] = html
    return pages


@pytest.fixture(scope="module")
def bad_crawl(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("bad")
    mirror = root / "mirror"
    shutil.copytree(BAD, mirror, ignore=shutil.ignore_patterns("templates"))
    for case, html in generated_pages().items():
        target = mirror / url(case).removeprefix("https://") / "index.html"
        target.parent.mkdir(parents=True)
        target.write_text(html, encoding="utf-8")
    assert (mirror / url("body-5mb").removeprefix("https://") / "index.html").stat().st_size > 5 * 1024 * 1024
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


@pytest.mark.parametrize("case", sorted(LOGGED))
def test_stored_but_logged_with_url_and_counted(bad_crawl: dict[str, Any], case: str) -> None:
    stat, message = LOGGED[case]
    assert url(case) in bad_crawl["rows"]
    assert bad_crawl["stats"].get(stat, 0) >= 1, stat
    lines = [line for line in bad_crawl["log"].splitlines() if url(case) in line and "WARNING" in line]
    assert any(message.format(url=url(case)) in line for line in lines), lines


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


#: (body, charset in the Content-Type header, the encoding it is decoded in, its text)
WIDE_LABELS = [
    # UTF-8 and windows-1252 bytes labelled UTF-16 or UTF-32 (no BOM, none of their NUL bytes)
    ("Ngā kōrero ‘quotes’".encode(), "utf-16", "utf-8", "Ngā kōrero ‘quotes’"),
    (b"<!DOCTYPE html><p>plain ascii", "utf-16", "utf-8", "<!DOCTYPE html><p>plain ascii"),
    (b"<html><p>plain ascii", "UTF-32LE", "utf-8", "<html><p>plain ascii"),
    ("Café ‘quotes’".encode("cp1252"), "utf-16be", "cp1252", "Café ‘quotes’"),
    # UTF-16 and UTF-32 bytes, with a BOM or without, stay as they are
    ("<p>Ngā kōrero".encode("utf-16"), "utf-16", "utf-16-le", "<p>Ngā kōrero"),
    ("<p>Ngā kōrero".encode("utf-16-le"), "utf-16le", "utf-16-le", "<p>Ngā kōrero"),
    ("<p>Ngā kōrero".encode("utf-16-be"), "utf-16", "utf-16", "<p>Ngā kōrero"),
    ("<p>Ngā kōrero".encode("utf-32-le"), "utf-32le", "utf-32-le", "<p>Ngā kōrero"),
]


@pytest.mark.parametrize(("body", "label", "encoding", "text"), WIDE_LABELS)
def test_utf16_label_on_other_bytes_is_repaired(body: bytes, label: str, encoding: str, text: str) -> None:
    crawler = get_crawler()
    assert crawler.stats is not None
    headers = {"Content-Type": f"text/html; charset={label}"}
    response = HtmlResponse(f"{SITE}/world/", body=body, headers=headers)
    repaired = EncodingRepairMiddleware.from_crawler(crawler).process_response(response.request, response)
    assert isinstance(repaired, HtmlResponse)
    assert (repaired.encoding, repaired.text) == (encoding, text)
    counted = {k: v for k, v in crawler.stats.get_stats().items() if k.startswith("herald/encoding")}
    repair = f"herald/encoding_repaired/{response.encoding}_as_{encoding}"
    assert counted == ({} if repaired is response else {repair: 1})


def _nested_page(head: str = "") -> HtmlResponse:
    html = generated_pages()["nested-100000"].replace("</head>", f"{head}</head>")
    return HtmlResponse(url("nested-100000"), body=html.encode(), encoding="utf-8")


def test_too_deep_page_is_a_named_problem() -> None:
    extracted = parse_article(_nested_page())
    assert [problem.split(":")[0] for problem in extracted.problems] == ["too deep"]
    assert extracted.article.title == "Paragraphs nested 100 000 elements deep"
    assert extracted.article.published_at == T0


def test_too_deep_page_takes_its_body_from_structured_data() -> None:
    """The DOM below the depth limit is lost; Fusion's copy of a free article is whole."""
    fusion = (
        '<script id="fusion-metadata" type="application/javascript">Fusion.globalContent={"isPremium":false,'
        '"elements":[{"type":"text","content":"First paragraph."},{"type":"text","content":"Second."}]};'
        "</script>"
    )
    extracted = parse_article(_nested_page(fusion))
    assert extracted.article.body == "First paragraph.\n\nSecond."
    assert [problem.split(":")[0] for problem in extracted.problems] == ["too deep"]
