"""The links a page offers: site articles and section listings, with the block each sits in.

Read from the page object's tree (:meth:`herald_spider.pages.page.Page.links`); the links
table records them and the spider follows them.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from herald_spider import urls
from herald_spider.pages import selectors as sel


class PageLink(NamedTuple):
    """A link to an article or a section listing, with the page block it sits in."""

    url: str
    kind: str
    article_id: str | None = None
    section: str | None = None


class PageLinks(NamedTuple):
    """Every link a page holds, followed or not, one per (URL, kind): a callback yields it,
    once per page, for the links table
    (:class:`~herald_spider.spidermiddlewares.links.LinkRecorderMiddleware` takes it out of
    the callback's output; it is neither a request nor an item). ``navigation``: the anchors
    of the site's menus and footer, which are not recorded, only counted."""

    links: list[PageLink]
    navigation: int = 0


def _block_tests() -> dict[str, dict[str, dict[str, str]]]:
    """Per block tag, per attribute: value -> kind (``LINK_BLOCKS``; the first entry wins)."""
    tests: dict[str, dict[str, dict[str, str]]] = {}
    for kind, tag, attribute, value in sel.LINK_BLOCKS:
        if tag is not None:
            tests.setdefault(tag, {}).setdefault(attribute, {}).setdefault(value, kind)
    return tests


_BLOCK_TESTS = _block_tests()


def _block_kind(el: Any) -> str | None:
    for attribute, kinds in _BLOCK_TESTS[el.tag].items():
        found = el.get(attribute)
        if not found:
            continue
        if attribute != "class":
            if found in kinds:
                return kinds[found]
            continue
        for word in found.split():
            if word in kinds:
                return kinds[word]
    return None


def _anchor_kinds(root: Any, find: Callable[[sel.Query], list[Any]]) -> dict[Any, str]:
    """The kind of each anchor inside a link block: that of the innermost block holding it.
    One walk over the block tags finds the blocks (a page-wide XPath per kind cost more than
    the rest of ``page_links``) in document order, where a block comes before the blocks
    inside it, which then override its kind. A block found as the parent of a marker
    (``SIDEBAR_BLOCKS``) only gives its kind to anchors no other block claimed."""
    kinds: dict[Any, str] = {}
    for el in root.iter(*_BLOCK_TESTS):
        kind = _block_kind(el)
        if kind is not None:
            for anchor in el.iter("a"):
                kinds[anchor] = kind
    for position, query in sel.SIDEBAR_BLOCKS.items():
        kind = sel.LINK_BLOCKS[position][0]
        for marker in find(query):
            parent = marker.getparent()
            for anchor in parent.iter("a") if parent is not None else ():
                kinds.setdefault(anchor, kind)
    return kinds


_ABSOLUTE = ("/", "https://", "http://")


@functools.lru_cache(maxsize=512)
def _site_link_target(origin: str, href: str) -> tuple[str | None, str | None, str | None]:
    # Cards and "latest" blocks repeat from page to page: classify each such href once.
    # A few hundred entries hold them; more would only keep one-off article links (memory).
    return urls.href_target(origin, href)


def page_links(
    root: Any, find: Callable[[sel.Query], list[Any]], base: str, default_kind: str = "other"
) -> PageLinks:
    """Links to site articles and section listings, canonicalised, once per (URL, kind),
    from the tree of a page at ``base`` (``find`` runs a query on it). Each anchor has the
    kind of the innermost link block it sits in (``selectors.LINK_BLOCKS``), or the
    ``default_kind`` outside every block; a URL in several blocks is a link of each kind.
    Anchors of the site's navigation (menus, footer) are left out and counted; hrefs that name
    a place on the page itself (``#...``) are left out.

    Several URLs for one article (query strings, fragments, ``http://``, no trailing slash)
    collapse into one; a ``/premium/`` URL wins over the same ID without it, because the site
    serves the page only under its own URL.
    """
    kinds = _anchor_kinds(root, find)
    parts = urlsplit(base)
    origin = f"{parts.scheme}://{parts.netloc}/"
    navigation = 0
    seen: set[tuple[str, str]] = set()
    # per article ID: its URL and kinds; per section path: its kinds (dicts keep the order)
    articles: dict[str, tuple[str, dict[str, None]]] = {}
    sections: dict[str, dict[str, None]] = {}
    for anchor in root.iter("a"):
        href = anchor.get("href")
        if not href:
            continue
        kind = kinds.get(anchor, default_kind)
        if kind == sel.NAVIGATION:
            navigation += 1
            continue
        href = href.strip()
        if href.startswith("#"):  # a place on this page (share buttons): no link to another
            continue
        if (href, kind) in seen:
            continue
        rel = anchor.get("rel")
        if rel and "sponsored" in rel.lower().split():  # as if it were not there
            continue
        seen.add((href, kind))
        # An absolute URL or an absolute path joins the same against any page of the same origin.
        if href.startswith(_ABSOLUTE):
            article_url, key, path = _site_link_target(origin, href)
        else:
            article_url, key, path = urls.href_target(base, href)
        if article_url:
            assert key is not None
            known = articles.get(key)
            if known is None:
                articles[key] = (article_url, {kind: None})
                continue
            if sel.PREMIUM_URL_SEGMENT in article_url and sel.PREMIUM_URL_SEGMENT not in known[0]:
                articles[key] = known = (article_url, known[1])
            known[1][kind] = None
        elif path:
            sections.setdefault(path, {})[kind] = None
    links = [PageLink(url, kind, key) for key, (url, found) in articles.items() for kind in found]
    links += [
        PageLink(urls.section_url(path), kind, None, path)
        for path, found in sections.items()
        for kind in found
    ]
    return PageLinks(links, navigation)


def related_urls(links: Iterable[PageLink], own_id: str | None) -> list[str]:
    """Sorted article URLs from the related, discover-more and latest-from blocks."""
    wanted = {"related", "discover-more", "latest-from"}
    return sorted(
        {link.url for link in links if link.kind in wanted and link.article_id and link.article_id != own_id}
    )
