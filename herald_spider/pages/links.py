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
    """Every link a page holds, followed or not: a callback yields it, once per page, for the
    links table (:class:`~herald_spider.spidermiddlewares.links.LinkRecorderMiddleware` takes it
    out of the callback's output; it is neither a request nor an item)."""

    links: list[PageLink]


def _block_tests() -> dict[str, list[tuple[int, str, str | None]]]:
    """Per block tag: (position in ``LINK_BLOCKS``, data-test-ui value, class word)."""
    tests: dict[str, list[tuple[int, str, str | None]]] = {}
    for position, (_, tag, value, word) in enumerate(sel.LINK_BLOCKS):
        if tag is not None:
            tests.setdefault(tag, []).append((position, value, word))
    return tests


_BLOCK_TESTS = _block_tests()


def _anchor_kinds(root: Any, find: Callable[[sel.Query], list[Any]]) -> dict[Any, str]:
    """The kind of each anchor inside a link block. One walk over the block tags finds the
    blocks (a page-wide XPath per kind cost more than the rest of ``page_links``)."""
    blocks: list[list[Any]] = [[] for _ in sel.LINK_BLOCKS]
    for el in root.iter(*_BLOCK_TESTS):
        ui, classes = el.get("data-test-ui"), el.get("class") or ""
        for position, value, word in _BLOCK_TESTS[el.tag]:
            if ui == value or (word is not None and word in classes):
                blocks[position].append(el)
    for position, query in sel.SIDEBAR_BLOCKS.items():
        blocks[position] = [parent for el in find(query) if (parent := el.getparent()) is not None]
    kinds: dict[Any, str] = {}
    for (kind, *_), found in zip(sel.LINK_BLOCKS, blocks, strict=True):
        for block in found:
            for anchor in block.iter("a"):
                kinds.setdefault(anchor, kind)
    return kinds


_ABSOLUTE = ("/", "https://", "http://")


@functools.lru_cache(maxsize=512)
def _site_link_target(origin: str, href: str) -> tuple[str | None, str | None, str | None]:
    # Menus, footers and "latest" blocks repeat on every page: classify each such href once.
    # A few hundred entries hold them; more would only keep one-off article links (memory).
    return urls.href_target(origin, href)


def page_links(
    root: Any, find: Callable[[sel.Query], list[Any]], base: str, default_kind: str = "other"
) -> list[PageLink]:
    """Links to site articles and section listings, canonicalised, first occurrence of each,
    from the tree of a page at ``base`` (``find`` runs a query on it). An anchor inside no
    link block has the ``default_kind``.

    Several URLs for one article (query strings, fragments, ``http://``, no trailing slash)
    collapse into one; a ``/premium/`` URL wins over the same ID without it, because the site
    serves the page only under its own URL.
    """
    kinds = _anchor_kinds(root, find)
    parts = urlsplit(base)
    origin = f"{parts.scheme}://{parts.netloc}/"
    seen: set[str] = set()
    by_article: dict[str, PageLink] = {}
    sections: dict[str, PageLink] = {}
    for anchor in root.iter("a"):
        href = anchor.get("href")
        if not href:
            continue
        href = href.strip()
        if href in seen:  # the first occurrence decides, as below
            continue
        rel = anchor.get("rel")
        if rel and "sponsored" in rel.lower().split():  # as if it were not there
            continue
        seen.add(href)
        kind = kinds.get(anchor, default_kind)
        # An absolute URL or an absolute path joins the same against any page of the same origin.
        if href.startswith(_ABSOLUTE):
            article_url, key, path = _site_link_target(origin, href)
        else:
            article_url, key, path = urls.href_target(base, href)
        if article_url:
            assert key is not None
            known = by_article.get(key)
            if known is None:
                by_article[key] = PageLink(article_url, kind, key)
            elif sel.PREMIUM_URL_SEGMENT in article_url and sel.PREMIUM_URL_SEGMENT not in known.url:
                by_article[key] = PageLink(article_url, known.kind, key)
            continue
        if path and path not in sections:
            sections[path] = PageLink(urls.section_url(path), kind, None, path)
    return list(by_article.values()) + list(sections.values())


def related_urls(links: Iterable[PageLink], own_id: str | None) -> list[str]:
    """Sorted article URLs from the related, discover-more and latest-from blocks."""
    wanted = {"related", "discover-more", "latest-from"}
    return sorted(
        {link.url for link in links if link.kind in wanted and link.article_id and link.article_id != own_id}
    )
