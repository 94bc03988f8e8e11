"""The feed page object: sitemap index, by-day and news sitemaps, RSS (herald_spider/pages/feeds.py).

The fixture feeds are in ``tests/fixtures/site-feeds`` (laid out as ``wget -x`` saves them, the
query string kept in the file name); the real Arc RSS feed is read from ``/work/shared`` when present.
Hostile inputs are built here.
"""

from __future__ import annotations

import gzip
import json
import re
import time
import tracemalloc
from collections.abc import Generator
from datetime import UTC, date, datetime
from pathlib import Path
from types import GeneratorType
from typing import Any

import pytest
from lxml import etree

from herald_spider.pages.dates import parse_rfc822_datetime, parse_w3c_datetime
from herald_spider.pages.feeds import FeedEntry, FeedPage, day_of, gunzip_limited

FEEDS_ROOT = Path(__file__).parent / "fixtures" / "site-feeds"
REAL_RSS = (
    Path(__file__).resolve().parents[2] / "shared" / "nzherald" / "real" / "rss-technology-2023-09-20.xml"
)

SITE = "https://www.nzherald.co.nz"
FEEDS = f"{SITE}/arc/outboundfeeds"
INDEX_URL = f"{FEEDS}/sitemap-index/?outputType=xml&_website=nzh"
NEWS_URL = f"{FEEDS}/sitemap-news/?outputType=xml&_website=nzh"
RSS_URL = f"{FEEDS}/rss/section/world/?outputType=xml&_website=nzh"
DAY_URL = f"{FEEDS}/sitemap3/2024-04-06/?outputType=xml&_website=nzh"
REAL_RSS_URL = f"{FEEDS}/rss/section/technology/?_website=nzh&outputType=xml"

SITEMAP_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"
NEWS_NS = "http://www.google.com/schemas/sitemap-news/0.9"


# --- helpers ---------------------------------------------------------------------------------


def expected_feeds() -> dict[str, Any]:
    """The feed ground truth of the site-feeds copy (``expected/site.json``, "feeds")."""
    site = json.loads((FEEDS_ROOT / "expected" / "site.json").read_text(encoding="utf-8"))
    feeds: dict[str, Any] = site["feeds"]
    return feeds


def fixture_body(url: str) -> bytes:
    """A fixture feed's bytes by its URL (``.../sitemap-index/?q`` is ``.../sitemap-index/index.html?q``)."""
    path, _, query = url.removeprefix("https://").partition("?")
    return (FEEDS_ROOT / path / f"index.html?{query}").read_bytes()


def read(url: str, body: bytes, max_size: int = 0) -> tuple[FeedPage, list[FeedEntry]]:
    """A page and all its entries (problems are complete once the generator is exhausted)."""
    page = FeedPage(url, body, max_size)
    return page, list(page.entries())


def names(page: FeedPage) -> list[str]:
    """The problem names, without their details."""
    return [problem.partition(":")[0] for problem in page.problems]


def article(n: int) -> str:
    return f"{SITE}/world/story-number-{n}/ABCDEFGHIJKLMNOPQRSTUVW{n % 10}/"


def url_el(loc: str, lastmod: str | None = "2025-06-18T21:40:00.000Z") -> str:
    mod = "" if lastmod is None else f"<lastmod>{lastmod}</lastmod>"
    return f"<url><loc>{loc}</loc>{mod}</url>\n"


def urlset(*entries: str, xmlns: str | None = SITEMAP_NS) -> bytes:
    ns = "" if xmlns is None else f' xmlns="{xmlns}"'
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<urlset{ns}>\n{"".join(entries)}</urlset>\n'.encode()


def sitemap_index(*locs: str) -> bytes:
    entries = "".join(f"<sitemap><loc>{loc}</loc></sitemap>\n" for loc in locs)
    head = f'<?xml version="1.0" encoding="UTF-8"?>\n<sitemapindex xmlns="{SITEMAP_NS}">\n'
    return f"{head}{entries}</sitemapindex>\n".encode()


def tree_size(entries: Generator[FeedEntry]) -> int:
    """How many elements the suspended generator's parse tree still holds (0 if none is found)."""
    assert isinstance(entries, GeneratorType)
    generator: Any = entries
    while generator is not None:  # down the ``yield from`` chain to the parse
        frame = generator.gi_frame
        assert frame is not None
        for value in frame.f_locals.values():
            if isinstance(value, etree._Element):
                return sum(1 for _ in value.getroottree().getroot().iter())
        generator = generator.gi_yieldfrom
    return 0


GOOD = [article(1), article(2), article(3)]


# --- the fixture feeds and the real RSS feed ----------------------------------------------------


def test_fixture_sitemap_index_lists_twenty_day_sitemaps_with_their_days() -> None:
    _, entries = read(INDEX_URL, fixture_body(INDEX_URL))
    assert len(entries) == 20
    assert all(entry.day == day_of(entry.url) for entry in entries)
    by_day = {entry.day.isoformat(): entry.url for entry in entries if entry.day}
    assert len(by_day) == 20
    for day, url in expected_feeds()["day_sitemaps"].items():
        assert by_day[day] == url
    assert entries[0] == FeedEntry(
        f"{FEEDS}/sitemap/2025-06-18/?outputType=xml&_website=nzh", None, date(2025, 6, 18)
    )
    assert entries[-1].day == date(2021, 12, 27)


def test_fixture_sitemap_index_kind_and_no_problems() -> None:
    page, _ = read(INDEX_URL, fixture_body(INDEX_URL))
    assert page.kind == "sitemapindex"
    assert page.news is False
    assert page.problems == []


def test_fixture_by_day_sitemap_times_from_lastmod() -> None:
    page, entries = read(DAY_URL, fixture_body(DAY_URL))
    assert page.kind == "urlset"
    assert page.problems == []
    assert page.news is False
    assert entries == [
        FeedEntry(
            f"{SITE}/world/pacific/samoas-coastal-villages-count-the-cost-of-king-tides/IYHYENFCDO2ECIONQCABIZCZHU/",
            datetime(2024, 4, 6, 13, 45, tzinfo=UTC),
        ),
        FeedEntry(
            f"{SITE}/business/dairy-prices-lift-at-global-auction-8/V7AWLYP2KPVLW4IWYZ2NYXOCGC/",
            datetime(2024, 4, 6, 5, 8, tzinfo=UTC),
        ),
    ]
    assert all(entry.time is not None and entry.time.utcoffset() is not None for entry in entries)


def test_fixture_every_day_sitemap_reads_without_problems() -> None:
    for url in expected_feeds()["day_sitemaps"].values():
        page, entries = read(url, fixture_body(url))
        assert page.problems == [], url
        assert all(entry.time is not None and entry.time.tzinfo is UTC for entry in entries), url


def test_empty_day_sitemap_has_no_entries_and_no_problems() -> None:
    url = f"{FEEDS}/sitemap3/2021-12-27/?outputType=xml&_website=nzh"
    page, entries = read(url, fixture_body(url))
    assert entries == []
    assert page.kind == "urlset"
    assert page.problems == []


def test_fixture_news_sitemap() -> None:
    page, entries = read(NEWS_URL, fixture_body(NEWS_URL))
    assert page.news is True
    assert page.problems == []
    assert [entry.url for entry in entries] == expected_feeds()["news_urls"]
    assert entries[4].time == datetime(2025, 6, 18, 22, 3, 41, tzinfo=UTC)  # 22:03:41.507Z


@pytest.mark.parametrize(
    ("lastmod", "published", "expected"),
    [
        ("2025-06-18T21:40:00Z", "2025-06-18T20:00:00Z", datetime(2025, 6, 18, 21, 40, tzinfo=UTC)),
        ("2025-06-18T20:00:00Z", "2025-06-18T21:40:00Z", datetime(2025, 6, 18, 21, 40, tzinfo=UTC)),
        ("2025-06-18T20:00:00Z", "2025-06-19T09:41:00+12:00", datetime(2025, 6, 18, 21, 41, tzinfo=UTC)),
        (None, "2025-06-18T21:40:00Z", datetime(2025, 6, 18, 21, 40, tzinfo=UTC)),
    ],
    ids=["lastmod-later", "published-later", "published-offset-later", "no-lastmod"],
)
def test_news_sitemap_time_is_the_later_of_lastmod_and_publication_date(
    lastmod: str | None, published: str, expected: datetime
) -> None:
    news = (
        f"<news:news><news:publication><news:name>NZ Herald</news:name></news:publication>"
        f"<news:publication_date>{published}</news:publication_date></news:news>"
    )
    mod = "" if lastmod is None else f"<lastmod>{lastmod}</lastmod>"
    body = (
        f'<?xml version="1.0"?><urlset xmlns="{SITEMAP_NS}" xmlns:news="{NEWS_NS}">'
        f"<url><loc>{article(1)}</loc>{mod}{news}</url></urlset>"
    ).encode()
    page, entries = read(NEWS_URL, body)
    assert entries == [FeedEntry(article(1), expected)]
    assert page.news is True
    assert page.problems == []


def test_fixture_rss_feed() -> None:
    page, entries = read(RSS_URL, fixture_body(RSS_URL))
    assert page.kind == "rss"
    assert page.problems == []
    assert len(entries) == 20
    assert [entry.url for entry in entries] == expected_feeds()["rss_urls"]
    assert entries[0].time == datetime(2025, 6, 18, 21, 40, tzinfo=UTC)
    assert all(entry.time is not None and entry.time.tzinfo is UTC for entry in entries)


#: an ``&`` that starts no entity or character reference
_BARE_AMP = re.compile(rb"&(?!(?:amp|lt|gt|quot|apos|#[0-9]+|#x[0-9a-fA-F]+);)")


@pytest.fixture
def real_rss_verbatim() -> bytes:
    if not REAL_RSS.exists():
        pytest.skip(f"{REAL_RSS} is absent")
    return REAL_RSS.read_bytes()


@pytest.fixture
def real_rss(real_rss_verbatim: bytes) -> bytes:
    """The real feed as the site serves it: the browser's XML view it was copied from shows the
    self link's ``&amp;`` as a bare ``&`` (the fixture feed has ``&amp;`` in the same place), so
    escape it again. Its other copying artefacts (no XML declaration, padded CDATA) are kept."""
    return _BARE_AMP.sub(b"&amp;", real_rss_verbatim)


def real_item_links(body: bytes) -> list[str]:
    items = re.findall(rb"<item>.*?</item>", body, re.S)
    links = [re.search(rb"<link>\s*(.*?)\s*</link>", item, re.S) for item in items]
    return [link.group(1).decode() for link in links if link]


def test_real_technology_rss_feed_yields_its_ten_item_links(real_rss: bytes) -> None:
    assert not real_rss.lstrip().startswith(b"<?xml")  # as the README says: no XML declaration
    assert b"<![CDATA[ " in real_rss  # and padded CDATA
    expected = real_item_links(real_rss)
    page, entries = read(REAL_RSS_URL, real_rss)
    assert len(expected) == 10
    assert [entry.url for entry in entries] == expected
    assert all(entry.url == entry.url.strip() and entry.url.startswith(f"{SITE}/") for entry in entries)
    assert page.kind == "rss"
    assert page.problems == []


def test_real_technology_rss_feed_times_from_pub_date(real_rss: bytes) -> None:
    _, entries = read(REAL_RSS_URL, real_rss)
    assert entries[0].time == datetime(2023, 9, 20, 17, 0, tzinfo=UTC)
    assert all(entry.time is not None and entry.time.tzinfo is UTC for entry in entries)


def test_real_technology_rss_feed_verbatim_keeps_its_items(real_rss_verbatim: bytes) -> None:
    """One bare '&' in the channel's <atom:link href>, before any item: the recovering parser
    reads every item all the same, and the feed is reported malformed."""
    page, entries = read(REAL_RSS_URL, real_rss_verbatim)
    assert [entry.url for entry in entries] == real_item_links(real_rss_verbatim)
    assert names(page) == ["feed_malformed"]


@pytest.mark.parametrize(
    ("item", "expected"),
    [
        (f"<link>\n   {article(1)}   \n</link>", article(1)),
        (f"<link><![CDATA[  \n {article(1)}\n  ]]></link>", article(1)),
        (f'<guid isPermaLink="true">{article(1)}</guid>', article(1)),
        (f"<guid>{article(1)}</guid>", article(1)),
        (f'<link>{article(1)}</link><guid isPermaLink="false">{article(2)}</guid>', article(1)),
    ],
    ids=["padded-link", "cdata-link", "permalink-guid", "guid-default-permalink", "link-over-guid"],
)
def test_rss_item_url(item: str, expected: str) -> None:
    body = f'<rss version="2.0"><channel><link>{SITE}</link><item>{item}</item></channel></rss>'.encode()
    page, entries = read(RSS_URL, body)
    assert [entry.url for entry in entries] == [expected]
    assert page.problems == []


def test_rss_item_with_only_a_non_permalink_guid_is_skipped() -> None:
    body = (
        f'<rss><channel><item><guid isPermaLink="false">{article(1)}</guid></item></channel></rss>'.encode()
    )
    page, entries = read(RSS_URL, body)
    assert entries == []
    assert names(page) == ["feed_bad_loc"]


# --- bad input: each gives its problem and keeps what can be kept ---------------------------------


def test_truncated_xml_keeps_the_entries_before_the_cut() -> None:
    body = urlset(*(url_el(article(n)) for n in range(10)))
    cut = body.index(article(7).encode()) + 20
    page, entries = read(DAY_URL, body[:cut])
    assert [entry.url for entry in entries] == [article(n) for n in range(7)]
    # the entry cut in its <loc> is recovered as far as it goes: not a URL on the site
    assert names(page) == ["feed_malformed", "feed_bad_loc"]


def test_truncated_large_xml_keeps_the_entries_of_earlier_chunks() -> None:
    body = urlset(*(url_el(article(n)) for n in range(3000)))
    cut = body.index(article(2500).encode()) + 20
    page, entries = read(DAY_URL, body[:cut])
    assert len(entries) == 2500
    assert names(page) == ["feed_malformed", "feed_bad_loc"]


@pytest.mark.parametrize(
    "body",
    [
        b"<!DOCTYPE html>\n<html><head><title>404 Not Found</title></head>"
        b"<body><h1>Not Found</h1></body></html>",
        b"<html><body><p>502 Bad Gateway<br></body></html>",
        b"\n  <!-- cache miss -->\n<HTML lang=en><HEAD><TITLE>Error</TITLE></HEAD></HTML>",
        b'<?xml version="1.0"?>\n<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN" '
        b'"http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd">\n'
        b'<html xmlns="http://www.w3.org/1999/xhtml"><head><title>Error</title></head><body/></html>',
        b"Service Unavailable",
        b"",
        b"  \n ",
    ],
    ids=["html5", "html-no-doctype", "html-after-comment", "xhtml", "text", "empty", "blank"],
)
def test_html_or_non_xml_at_a_sitemap_url_is_not_xml(body: bytes) -> None:
    page, entries = read(DAY_URL, body)
    assert entries == []
    assert names(page) == ["feed_not_xml"]
    assert page.kind is None


@pytest.mark.parametrize(
    "body",
    [
        b'<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom"><title>x</title>'
        b'<entry><link href="https://www.nzherald.co.nz/world/a/B/"/>'
        b"<id>https://www.nzherald.co.nz/world/a/B/</id></entry></feed>",
        b'<?xml version="1.0"?>\n<h:html xmlns:h="http://www.w3.org/1999/xhtml"><h:body>'
        b"<h:a href='https://www.nzherald.co.nz/world/a/B/'>a</h:a></h:body></h:html>",
        b'<?xml version="1.0"?><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        b"<item><link>https://www.nzherald.co.nz/world/a/B/</link></item></rdf:RDF>",
    ],
    ids=["atom", "prefixed-xhtml", "rss1-rdf"],
)
def test_xml_that_is_not_a_sitemap_or_rss_is_not_a_feed(body: bytes) -> None:
    page, entries = read(DAY_URL, body)
    assert entries == []
    assert names(page) == ["feed_not_a_feed"]
    assert page.kind is None


@pytest.mark.parametrize("xmlns", [None, "http://www.google.com/schemas/sitemap/0.84"], ids=["none", "wrong"])
def test_urlset_without_the_sitemaps_namespace_is_still_read(xmlns: str | None) -> None:
    page, entries = read(DAY_URL, urlset(*(url_el(url) for url in GOOD), xmlns=xmlns))
    assert [entry.url for entry in entries] == GOOD
    assert all(entry.time == datetime(2025, 6, 18, 21, 40, tzinfo=UTC) for entry in entries)
    assert names(page) == ["feed_namespace"]
    assert page.kind == "urlset"


def test_sitemap_index_without_a_namespace_is_still_read() -> None:
    locs = [f"{FEEDS}/sitemap3/2024-04-0{n}/?outputType=xml&_website=nzh" for n in (5, 6)]
    body = "".join(f"<sitemap><loc>{loc.replace('&', '&amp;')}</loc></sitemap>" for loc in locs)
    page, entries = read(INDEX_URL, f"<sitemapindex>{body}</sitemapindex>".encode())
    assert [(entry.url, entry.day) for entry in entries] == [
        (locs[0], date(2024, 4, 5)),
        (locs[1], date(2024, 4, 6)),
    ]
    assert names(page) == ["feed_namespace"]


@pytest.mark.parametrize(
    "self_loc",
    [
        f"{FEEDS}/sitemap-index/?outputType=xml&amp;_website=nzh",
        f"{FEEDS}/sitemap-index/?_website=nzh&amp;outputType=xml",
    ],
    ids=["same", "query-reordered"],
)
def test_sitemap_index_that_lists_itself_skips_the_self_entry(self_loc: str) -> None:
    day = f"{FEEDS}/sitemap3/2024-04-06/?outputType=xml&amp;_website=nzh"
    other = f"{FEEDS}/sitemap2/2025-06-13/?outputType=xml&amp;_website=nzh"
    page, entries = read(INDEX_URL, sitemap_index(day, self_loc, other))
    assert [entry.url for entry in entries] == [day.replace("&amp;", "&"), other.replace("&amp;", "&")]
    assert [entry.day for entry in entries] == [date(2024, 4, 6), date(2025, 6, 13)]
    assert names(page) == ["feed_lists_itself"]


def test_body_over_max_size_is_not_read() -> None:
    body = urlset(*(url_el(article(n)) for n in range(100)))
    page, entries = read(DAY_URL, body, max_size=len(body) - 1)
    assert entries == []
    assert names(page) == ["feed_too_large"]


def test_body_at_max_size_is_read() -> None:
    body = urlset(*(url_el(article(n)) for n in range(100)))
    page, entries = read(DAY_URL, body, max_size=len(body))
    assert len(entries) == 100
    assert page.problems == []


def test_gzipped_sitemap_is_read() -> None:
    plain = urlset(*(url_el(url) for url in GOOD))
    page, entries = read(DAY_URL, gzip.compress(plain), max_size=len(plain))
    assert [entry.url for entry in entries] == GOOD
    assert page.problems == []


def test_gzipped_sitemap_larger_than_one_chunk_is_read() -> None:
    plain = urlset(*(url_el(article(n)) for n in range(5000)))  # several 64 KiB chunks
    page, entries = read(DAY_URL, gzip.compress(plain), max_size=10_000_000)
    assert len(entries) == 5000
    assert page.problems == []


def test_gzipped_sitemap_over_max_size_once_gunzipped_is_too_large() -> None:
    plain = urlset(*(url_el(article(n)) for n in range(100)))
    page, entries = read(DAY_URL, gzip.compress(plain), max_size=len(plain) - 1)
    assert entries == []
    assert names(page) == ["feed_too_large"]


@pytest.fixture(scope="module")
def gzip_bomb() -> bytes:
    return gzip.compress(b"<urlset>" + b" " * 50_000_000 + b"</urlset>")


def test_gzip_bomb_is_too_large_without_inflating_it(gzip_bomb: bytes) -> None:
    tracemalloc.start()
    started = time.perf_counter()
    try:
        page, entries = read(DAY_URL, gzip_bomb, max_size=1_000_000)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    elapsed = time.perf_counter() - started
    assert entries == []
    assert names(page) == ["feed_too_large"]
    assert peak < 20_000_000
    assert elapsed < 5


def test_gunzip_limited_stops_at_the_limit(gzip_bomb: bytes) -> None:
    from herald_spider.pages.feeds import TooLarge

    with pytest.raises(TooLarge):
        gunzip_limited(gzip_bomb, 1_000_000)


@pytest.mark.parametrize(
    "mangle",
    [
        lambda data: data[: len(data) // 2],
        lambda data: data[:-8],
        lambda data: data[:12] + b"\xff" * 16 + data[28:],
        lambda data: data[:-8] + b"\x00" * 8,
    ],
    ids=["truncated", "no-trailer", "corrupted-deflate", "bad-crc"],
)
def test_broken_gzip_stream_is_malformed(mangle: Any) -> None:
    plain = urlset(*(url_el(article(n)) for n in range(50)))
    page, entries = read(DAY_URL, mangle(gzip.compress(plain)), max_size=10_000_000)
    assert entries == []
    assert names(page) == ["feed_malformed"]


@pytest.mark.parametrize("bad", ["last Tuesday", "2025-13-01", "2025-02-30T10:00:00Z", "18/06/2025", ""])
def test_unparseable_lastmod_keeps_the_entry_undated(bad: str) -> None:
    page, entries = read(DAY_URL, urlset(url_el(GOOD[0]), url_el(GOOD[1], bad), url_el(GOOD[2])))
    assert [entry.url for entry in entries] == GOOD
    assert entries[1].time is None
    assert entries[0].time == entries[2].time == datetime(2025, 6, 18, 21, 40, tzinfo=UTC)
    assert names(page) == ["feed_bad_date"]


def test_many_bad_dates_make_one_problem() -> None:
    page, entries = read(DAY_URL, urlset(*(url_el(article(n), f"bad {n}") for n in range(25))))
    assert len(entries) == 25
    assert all(entry.time is None for entry in entries)
    assert names(page) == ["feed_bad_date"]
    assert "25 entries" in page.problems[0]
    assert "bad 0" in page.problems[0]  # the first bad value is named


def test_entry_without_lastmod_is_undated_and_not_a_problem() -> None:
    page, entries = read(DAY_URL, urlset(url_el(GOOD[0], None)))
    assert entries == [FeedEntry(GOOD[0], None)]
    assert page.problems == []


def test_unparseable_rss_pub_date_keeps_the_item_undated() -> None:
    items = "".join(f"<item><link>{url}</link><pubDate>sometime</pubDate></item>" for url in GOOD)
    page, entries = read(RSS_URL, f"<rss><channel>{items}</channel></rss>".encode())
    assert [entry.url for entry in entries] == GOOD
    assert all(entry.time is None for entry in entries)
    assert names(page) == ["feed_bad_date"]


@pytest.mark.parametrize(
    "loc",
    [
        "/world/relative/ABCDEFGHIJKLMNOPQRSTUVWXYZ/",
        "world/relative/ABCDEFGHIJKLMNOPQRSTUVWXYZ/",
        "//www.nzherald.co.nz/world/scheme-relative/ABCDEFGHIJKLMNOPQRSTUVWXYZ/",
        "https://www.stuff.co.nz/world/off-site/ABCDEFGHIJKLMNOPQRSTUVWXYZ/",
        "javascript:alert(1)",
        "",
        "   ",
        "https://www.nzherald.co.nz.evil.example/world/look-alike/ABCDEFGHIJKLMNOPQRSTUVWXYZ/",
        "https://evil.www.nzherald.co.nz/world/sub-domain/ABCDEFGHIJKLMNOPQRSTUVWXYZ/",
        "https://www.nzherald.co.nz@evil.example/world/userinfo/ABCDEFGHIJKLMNOPQRSTUVWXYZ/",
        "ftp://www.nzherald.co.nz/world/ftp/ABCDEFGHIJKLMNOPQRSTUVWXYZ/",
    ],
    ids=[
        "relative",
        "path-relative",
        "scheme-relative",
        "off-site",
        "javascript",
        "empty",
        "blank",
        "look-alike-host",
        "sub-domain",
        "userinfo",
        "ftp",
    ],
)
def test_bad_loc_is_skipped(loc: str) -> None:
    page, entries = read(DAY_URL, urlset(url_el(GOOD[0]), url_el(loc), url_el(GOOD[1])))
    assert [entry.url for entry in entries] == GOOD[:2]
    assert names(page) == ["feed_bad_loc"]


def test_bad_locs_make_one_problem_and_rss_is_checked_too() -> None:
    items = "".join(
        f"<item><link>{link}</link></item>"
        for link in ["javascript:void(0)", GOOD[0], "https://www.nzherald.co.nz.evil.example/x/", ""]
    )
    page, entries = read(RSS_URL, f"<rss><channel>{items}</channel></rss>".encode())
    assert [entry.url for entry in entries] == [GOOD[0]]
    assert names(page) == ["feed_bad_loc"]
    assert "3 entries" in page.problems[0]


def test_sitemap_index_bad_loc_is_skipped() -> None:
    day = f"{FEEDS}/sitemap3/2024-04-06/?outputType=xml&amp;_website=nzh"
    page, entries = read(INDEX_URL, sitemap_index("https://evil.example/sitemap.xml", day))
    assert [entry.url for entry in entries] == [day.replace("&amp;", "&")]
    assert names(page) == ["feed_bad_loc"]


BILLION_LAUGHS = (
    '<?xml version="1.0"?>\n<!DOCTYPE urlset [\n <!ENTITY lol "lol">\n'
    + "".join(
        f' <!ENTITY lol{n} "{("&lol" + (str(n - 1) if n > 1 else "") + ";") * 10}">\n' for n in range(1, 10)
    )
    + f']>\n<urlset xmlns="{SITEMAP_NS}">\n'
    + url_el(f"{SITE}/world/&lol9;/ABCDEFGHIJKLMNOPQRSTUVWXYZ/", "&lol9;")
    + url_el(GOOD[0])
    + "</urlset>\n"
).encode()


def test_billion_laughs_is_not_expanded() -> None:
    tracemalloc.start()
    started = time.perf_counter()
    try:
        page, entries = read(DAY_URL, BILLION_LAUGHS)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert time.perf_counter() - started < 5
    assert peak < 20_000_000
    assert not any("lol" in entry.url for entry in entries)
    assert all(entry.time is None or entry.time.year == 2025 for entry in entries)
    assert page.problems  # refused one way or another, and named


@pytest.mark.parametrize("target", ["file:///etc/passwd", "secret"], ids=["etc-passwd", "local-file"])
def test_external_entity_is_not_expanded(target: str, tmp_path: Path) -> None:
    if target == "secret":
        secret = tmp_path / "secret.txt"
        secret.write_text("TOP-SECRET-MARKER")
        target = secret.as_uri()
    body = (
        f'<?xml version="1.0"?>\n<!DOCTYPE urlset [<!ENTITY x SYSTEM "{target}">]>\n'
        f'<urlset xmlns="{SITEMAP_NS}">\n'
        + url_el(f"{SITE}/world/&x;/ABCDEFGHIJKLMNOPQRSTUVWXYZ/", "&x;")
        + url_el("&x;")
        + url_el(GOOD[0])
        + "</urlset>\n"
    ).encode()
    page, entries = read(DAY_URL, body)
    text = repr(entries) + repr(page.problems)
    assert "root:" not in text
    assert "TOP-SECRET-MARKER" not in text
    assert FeedEntry(GOOD[0], datetime(2025, 6, 18, 21, 40, tzinfo=UTC)) in entries


def test_external_entity_in_rss_is_not_expanded(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text(f"{SITE}/world/TOP-SECRET-MARKER/")
    body = (
        f'<!DOCTYPE rss [<!ENTITY x SYSTEM "{secret.as_uri()}">]>'
        f"<rss><channel><item><link>&x;</link></item><item><link>{GOOD[0]}</link></item></channel></rss>"
    ).encode()
    page, entries = read(RSS_URL, body)
    assert [entry.url for entry in entries] == [GOOD[0]]
    assert "TOP-SECRET-MARKER" not in repr(page.problems)


# --- streaming ---------------------------------------------------------------------------------


N_BIG = 50_000


@pytest.fixture(scope="module")
def big_sitemap() -> bytes:
    return urlset(
        *(url_el(article(n), f"2025-06-18T{n % 24:02d}:{n % 60:02d}:00.000Z") for n in range(N_BIG))
    )


def test_big_sitemap_yields_every_entry(big_sitemap: bytes) -> None:
    page = FeedPage(DAY_URL, big_sitemap)
    count = 0
    last = None
    for entry in page.entries():
        count += 1
        last = entry
    assert count == N_BIG
    assert last == FeedEntry(
        article(N_BIG - 1), datetime(2025, 6, 18, (N_BIG - 1) % 24, (N_BIG - 1) % 60, tzinfo=UTC)
    )
    assert page.problems == []


def test_big_sitemap_parse_holds_little_python_memory(big_sitemap: bytes) -> None:
    tracemalloc.start()
    try:
        page = FeedPage(DAY_URL, big_sitemap)
        count = sum(1 for _ in page.entries())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == N_BIG
    assert peak < 40_000_000  # the body was allocated before tracing began


def test_big_sitemap_entries_are_cleared_as_read(big_sitemap: bytes) -> None:
    """libxml2's tree is not seen by tracemalloc: look at the tree the suspended parse holds."""
    page = FeedPage(DAY_URL, big_sitemap)
    entries = page.entries()
    sizes = []
    for n, _ in enumerate(entries, 1):
        if n % 10_000 == 0:
            sizes.append(tree_size(entries))
    assert len(sizes) == N_BIG // 10_000
    # what remains is the parser's look-ahead (one read chunk's entries), not what was read:
    # 50 000 entries kept would be 150 000 elements
    assert all(0 < size < 3000 for size in sizes), sizes


def test_big_rss_feed_items_are_cleared_as_read() -> None:
    items = "".join(
        f"<item><title>t {n}</title><link>{article(n)}</link>"
        f"<pubDate>Wed, 18 Jun 2025 21:40:00 +0000</pubDate></item>"
        for n in range(5000)
    )
    body = f"<rss><channel><title>x</title><link>{SITE}</link>{items}</channel></rss>".encode()
    entries = FeedPage(RSS_URL, body).entries()
    sizes = [tree_size(entries) for n, _ in enumerate(entries, 1) if n % 1000 == 0]
    assert len(sizes) == 5
    assert all(0 < size < 3000 for size in sizes), sizes  # 5000 items kept: 20 000 elements


# --- normalisers ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (f"{FEEDS}/sitemap3/2024-04-06/?outputType=xml", date(2024, 4, 6)),
        (f"{FEEDS}/sitemap/2025-06-18/", date(2025, 6, 18)),
        (f"{FEEDS}/sitemap2/2025-06-13", date(2025, 6, 13)),
        (f"{FEEDS}/sitemap/latest/?outputType=xml", None),
        (f"{FEEDS}/sitemap3/2024-02-30/", None),
        (f"{FEEDS}/sitemap3/2024-13-01/", None),
        (f"{FEEDS}/sitemap-news/?date=2024-04-06/", None),
        (f"{FEEDS}/sitemap3/2024-04-06.xml", None),
    ],
)
def test_day_of(url: str, expected: date | None) -> None:
    assert day_of(url) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2025-06-18", datetime(2025, 6, 18, tzinfo=UTC)),
        ("  2025-06-18\n", datetime(2025, 6, 18, tzinfo=UTC)),
        ("2025-07-17T07:58:41.123Z", datetime(2025, 7, 17, 7, 58, 41, tzinfo=UTC)),
        ("2025-07-17T07:58:41Z", datetime(2025, 7, 17, 7, 58, 41, tzinfo=UTC)),
        ("2025-06-19T09:40:00+13:00", datetime(2025, 6, 18, 20, 40, tzinfo=UTC)),
        ("2025-06-19T09:40:00.5+13:00", datetime(2025, 6, 18, 20, 40, tzinfo=UTC)),
        ("2025-06-19T09:40+12:00", datetime(2025, 6, 18, 21, 40, tzinfo=UTC)),
        ("2025-06-18T21:40:00-04:00", datetime(2025, 6, 19, 1, 40, tzinfo=UTC)),
        ("2025-06-18T21:40:00", datetime(2025, 6, 18, 21, 40, tzinfo=UTC)),
        ("2025-13-01", None),
        ("2025-00-10", None),
        ("2025-06-31", None),
        ("2025-13-01T10:00:00Z", None),
        ("2025-06-18T25:00:00Z", None),
        ("garbage", None),
        ("18 Jun 2025", None),
        ("", None),
        ("   ", None),
        (None, None),
    ],
)
def test_parse_w3c_datetime(raw: str | None, expected: datetime | None) -> None:
    parsed = parse_w3c_datetime(raw)
    assert parsed == expected
    if parsed is not None:
        assert parsed.tzinfo is UTC


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Wed, 18 Jun 2025 21:40:00 +0000", datetime(2025, 6, 18, 21, 40, tzinfo=UTC)),
        ("Thu, 19 Jun 2025 12:40:00 +1200", datetime(2025, 6, 19, 0, 40, tzinfo=UTC)),
        ("Thu, 19 Jun 2025 09:40:00 +1300", datetime(2025, 6, 18, 20, 40, tzinfo=UTC)),
        ("Wed, 18 Jun 2025 21:40:00 GMT", datetime(2025, 6, 18, 21, 40, tzinfo=UTC)),
        ("Wed, 18 Jun 2025 17:40:00 EDT", datetime(2025, 6, 18, 21, 40, tzinfo=UTC)),
        ("Wed, 18 Jun 2025 21:40:00 -0000", datetime(2025, 6, 18, 21, 40, tzinfo=UTC)),
        ("18 Jun 2025 21:40:00 +0000", datetime(2025, 6, 18, 21, 40, tzinfo=UTC)),
        ("Wed, 18 Jun 2025 21:40 +0000", datetime(2025, 6, 18, 21, 40, tzinfo=UTC)),
        ("Wed, 18 Jun 25 21:40:00 +0000", datetime(2025, 6, 18, 21, 40, tzinfo=UTC)),
        ("  Wed, 18 Jun 2025\n 21:40:00 +0000 ", datetime(2025, 6, 18, 21, 40, tzinfo=UTC)),
        ("Wed, 31 Jun 2025 21:40:00 +0000", None),
        ("Wed, 18 Foo 2025 21:40:00 +0000", None),
        ("2025-06-18T21:40:00Z", None),
        ("garbage", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_rfc822_datetime(raw: str | None, expected: datetime | None) -> None:
    parsed = parse_rfc822_datetime(raw)
    assert parsed == expected
    if parsed is not None:
        assert parsed.tzinfo is UTC
