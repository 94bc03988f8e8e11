"""URL rules and link extraction on the fixture mirror."""

from __future__ import annotations

import random
from typing import Any
from urllib.parse import urljoin

import pytest
from scrapy.http import HtmlResponse

from herald_spider import urls
from herald_spider.pages.extract import page_links
from tests.conftest import expected_site, response_for

SITE = expected_site()


@pytest.mark.parametrize("url", SITE["article_urls"])
def test_article_urls_are_articles(url: str) -> None:
    assert urls.canonical_article_url(url) == url


@pytest.mark.parametrize("url", SITE["not_article_urls"])
def test_not_article_urls_are_not_articles(url: str) -> None:
    assert urls.article_id(url) is None


@pytest.mark.parametrize("alias,canonical", sorted(SITE["alias_urls"].items()))
def test_aliases_share_the_article_id(alias: str, canonical: str) -> None:
    assert urls.article_id(alias) == urls.article_id(canonical)


@pytest.mark.parametrize(
    "url",
    [
        "https://www.nzherald.co.nz.evil.example/world/a-story/ABCDEFGHIJKLMNOPQRSTUVWXYZ/",
        "https://evil.example/www.nzherald.co.nz/world/a-story/ABCDEFGHIJKLMNOPQRSTUVWXYZ/",
        "https://user@www.nzherald.co.nz/world/a-story/ABCDEFGHIJKLMNOPQRSTUVWXYZ/",
        "https://www.nzherald.co.nz:8443/world/a-story/ABCDEFGHIJKLMNOPQRSTUVWXYZ/",
        "https://www.nzherald.co.nz/world/%2e%2e/a-story/ABCDEFGHIJKLMNOPQRSTUVWXYZ/",
        "https://www.nzherald.co.nz/world/video/a-clip/ABCDEFGHIJKLMNOPQRSTUVWXYZ/",
        "https://www.nzherald.co.nz/arc/outboundfeeds/rss/ABCDEFGHIJKLMNOPQRSTUVWXYZ/",
        "https://www.nzherald.co.nz/world/a-story/abcdefghijklmnopqrstuvwxyz/",
        "ftp://www.nzherald.co.nz/world/a-story/ABCDEFGHIJKLMNOPQRSTUVWXYZ/",
    ],
)
def test_lookalikes_are_not_articles(url: str) -> None:
    assert urls.article_id(url) is None


def _links(url: str) -> Any:
    return page_links(response_for(url))


def test_section_page_offers_every_subsection() -> None:
    sections = {link.url for link in _links(SITE["start_url"]) if link.section}
    assert set(SITE["section_urls"]) <= sections


def test_links_are_canonical_and_unique_per_article_and_kind() -> None:
    """One link per (article, kind), and one URL per article on a page, whatever blocks it
    sits in."""
    for page in SITE["section_urls"] + SITE["article_urls"]:
        links = [link for link in _links(page) if link.article_id]
        pairs = [(link.article_id, link.kind) for link in links]
        assert len(pairs) == len(set(pairs)), page
        assert len({link.url for link in links}) == len({link.article_id for link in links}), page
        for link in links:
            assert link.url == urls.canonical_article_url(link.url)


def test_premium_url_wins_over_its_alias() -> None:
    europe = {link.article_id: link.url for link in _links("https://www.nzherald.co.nz/world/europe/")}
    assert "/premium/" in europe["GECTT3VKKQXFIE2WORTCZKPCYG"]


def test_sponsored_and_offsite_links_are_not_offered() -> None:
    offered = {link.url for page in SITE["section_urls"] + SITE["article_urls"] for link in _links(page)}
    forbidden = set(SITE["not_article_by_kind"]["sponsored"]) | set(SITE["not_article_by_kind"]["offsite"])
    assert not offered & forbidden


@pytest.mark.parametrize(
    ("url", "section", "expected"),
    [
        (
            "https://www.nzherald.co.nz/world/australia-fires/ABCDEFGHIJKLMNOPQRSTUVWXYZ/",
            "world/australia",
            True,
        ),
        (
            "https://www.nzherald.co.nz/world/australian-open/ABCDEFGHIJKLMNOPQRSTUVWXYZ/",
            "world/australia",
            False,
        ),
        ("https://www.nzherald.co.nz/nz/politics/a/ABCDEFGHIJKLMNOPQRSTUVWXYZ/", "nz/politics", True),
        ("https://www.nzherald.co.nz/nz/a/ABCDEFGHIJKLMNOPQRSTUVWXYZ/", "nz/politics", False),
        ("https://www.nzherald.co.nz/world/a/ABCDEFGHIJKLMNOPQRSTUVWXYZ/", "world", True),
    ],
)
def test_article_path_under(url: str, section: str, expected: bool) -> None:
    assert urls.article_path_under(url, section) is expected


def _hrefs() -> list[str]:
    """Hrefs as pages write them, and random strings built from the characters URL parsing
    cares about."""
    written = [
        "/world/a-story/ABCDEFGHIJKLMNOPQRSTUVWXYZ/",
        "/world/a-story/premium/ABCDEFGHIJKLMNOPQRSTUVWXYZ",
        f"{urls.SITE_ROOT}world/europe/",
        f"{urls.SITE_ROOT}/world//x/ABCDEFGHIJKLMNOPQRSTUVWXYZ",
        "//world/x/ABCDEFGHIJKLMNOPQRSTUVWXYZ/",  # a host, not a path
        "/",
        "https://www.nzherald.co.nz",
        "http://www.nzherald.co.nz/world/",
        "https://nzherald.co.nz/world/",
        "/world/./x/../y/ABCDEFGHIJKLMNOPQRSTUVWXYZ/",
        "/World/",
        "/video/a/ABCDEFGHIJKLMNOPQRSTUVWXYZ/",
    ]
    rng = random.Random(4)
    alphabet = "/aZ0-.:?#%@\\ "
    prefixes = ["/", "//", urls.SITE_ROOT, "https://www.nzherald.co.nz", "http://"]
    written += [
        rng.choice(prefixes) + "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))
        for _ in range(3000)
    ]
    return written


@pytest.mark.parametrize(
    "origin",
    [
        urls.SITE_ROOT,
        f"{urls.SITE_ROOT}world/a/?x=1#f",
        "https://example.org/",
        "http://www.nzherald.co.nz/",
        "https://www.nzherald.co.nz.evil.example/",
    ],
)
def test_href_target_is_link_target_of_the_joined_url(origin: str) -> None:
    for href in _hrefs():
        joined = urljoin(origin, href)
        assert urls.href_target(origin, href) == urls.link_target(joined), href
        assert urls.href_section(origin, href) == urls.section_path(joined), href


def test_plain_urls_read_without_parsing_as_parsed() -> None:
    for href in _hrefs():
        for url in (href, urljoin(urls.SITE_ROOT, href)):
            assert urls._site_segments(url) == urls._parsed_site_segments(url), url


def test_a_sponsored_anchor_does_not_claim_its_href() -> None:
    """An anchor marked sponsored is as if it were not there: the blocks holding the story
    only as sponsored anchors give it no link, the one holding a plain anchor does."""
    story = "https://www.nzherald.co.nz/world/a-story/ABCDEFGHIJKLMNOPQRSTUVWXYZ/"
    body = (
        f'<aside data-test-ui="related-articles"><a rel="nofollow Sponsored" href="{story}">ad</a></aside>'
        f'<section data-test-ui="most-read"><a href="{story}">read</a></section>'
        f'<aside data-test-ui="discover-more"><a rel="sponsored" href="{story}">ad</a></aside>'
    ).encode()
    page = HtmlResponse("https://www.nzherald.co.nz/world/", body=body)
    assert [(link.url, link.kind) for link in page_links(page)] == [(story, "most-read")]
