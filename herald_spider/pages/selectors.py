"""Selectors every markup era shares: the ``<head>``, links, story cards and legacy links, as
precompiled XPath (docs/site.md §2, §5). What differs between eras is in :mod:`.eras`.

Each XPath is compiled once, at import; none is translated from
CSS. A page-wide :class:`Query` carries the words its matches must write in the page source,
so a page without them is not walked at all: libxml2 tests a predicate on every element of
the page, and most pages lack most of what is looked for.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lxml import etree


def xpath(path: str) -> etree.XPath:
    """An XPath compiled once; its strings are plain ``str`` (no reference to their tree)."""
    return etree.XPath(path, smart_strings=False)


def ui(value: str) -> str:
    """The predicate of CSS ``[data-test-ui="value"]``, the attribute the site marks its page
    parts with.

    >>> ui("author")
    "@data-test-ui = 'author'"
    """
    return f"@data-test-ui = '{value}'"


def cls(word: str) -> str:
    """The predicate of CSS ``.word``: ``word`` among the class names, split on XML white space
    (what cssselect writes, so a class split by tabs or new lines matches as in a browser).

    >>> root = etree.fromstring('<r><p class="a\\tb"/><p class="ab"/></r>')
    >>> len(xpath(f"//p[{cls('b')}]")(root)), len(xpath(f"//p[{cls('a')}]")(root))
    (1, 1)
    """
    spaced = "concat(' ', normalize-space(@class), ' ')"
    return f"@class and contains(@class, '{word}') and contains({spaced}, ' {word} ')"


@dataclass(frozen=True, eq=False)  # each query is its own key in a page's results
class Query:
    """A page-wide XPath and the words the page source must write (any one of them) for it to
    find anything; no words: it always runs.

    The words are attribute values written literally, as every page of the site writes them;
    a value written only with character references (``&#120;``) would not be looked for.
    A query made by :func:`by_ui` also says what it looks for, so that a page answers it from
    its index of ``data-test-ui`` values (:meth:`herald_spider.pages.page.Page.find`), which
    ``tests/test_selectors.py`` holds to the XPath's answer on every saved page.
    """

    xpath: etree.XPath
    needs: tuple[str, ...] = ()
    #: by_ui: the data-test-ui value, the tag (None: any) and what is read from each element
    ui: str | None = None
    tag: str | None = None
    tail: etree.XPath | None = None

    def __call__(self, root: Any, source: str) -> list[Any]:
        """What the XPath finds from ``root``, for a page whose decoded text is ``source``.

        >>> q = Query(xpath("//p[@id = 'x']"), ("x",))
        >>> root = etree.fromstring('<r><p id="x"/></r>')
        >>> len(q(root, '<r><p id="x"/></r>')), q(root, "<r></r>")
        (1, [])
        """
        if self.needs and not any(word in source for word in self.needs):
            return []
        return list(self.xpath(root))


@dataclass(frozen=True)
class Noise:
    """Elements told apart by tag, class word, ``data-test-ui`` value or id: as XPath
    predicates (for page-wide queries) and as a test of one element (for a walk that visits
    every element anyway, where one XPath per element or subtree costs more than the walk).

    >>> noise = Noise(frozenset({"aside"}), frozenset({"ad"}), frozenset({"ad"}), frozenset({"toaster"}))
    >>> root = etree.fromstring('<r><aside/><p class="x ad"/><p class="adx"/><p id="toaster"/></r>')
    >>> [noise(el) for el in root], len(xpath(f"//*[{' or '.join(noise.predicates())}]")(root))
    ([True, True, False, True], 3)
    """

    tags: frozenset[str]
    classes: frozenset[str]
    ui: frozenset[str]
    ids: frozenset[str]

    def predicates(self) -> list[str]:
        return [
            *(f"self::{tag}" for tag in sorted(self.tags)),
            *(cls(word) for word in sorted(self.classes)),
            *(ui(value) for value in sorted(self.ui)),
            *(f"@id = '{value}'" for value in sorted(self.ids)),
        ]

    def __call__(self, el: Any) -> bool:
        if el.tag in self.tags:
            return True
        classes = el.get("class")
        if classes and not self.classes.isdisjoint(classes.split()):
            return True
        return el.get("data-test-ui") in self.ui or el.get("id") in self.ids


def query(path: str, *needs: str) -> Query:
    return Query(xpath(path), needs)


def by_ui(value: str, tag: str = "*", tail: str = "") -> Query:
    """``tag[data-test-ui="value"]`` anywhere on the page, and ``tail`` read from it.

    >>> root = etree.fromstring('<r><h1 data-test-ui="x">a</h1><p data-test-ui="x"/></r>')
    >>> by_ui("x", "h1", "/text()")(root, "x"), by_ui("x").ui
    (['a'], 'x')
    """
    return Query(
        xpath(f"descendant-or-self::{tag}[{ui(value)}]{tail}"),
        (value,),
        value,
        None if tag == "*" else tag,
        xpath(f"self::*{tail}") if tail else None,
    )


# --- <head> ---------------------------------------------------------------------------
# A meta or link lookup: (tag, attribute, value, attribute read) per alternative, matched while
# walking the page's meta and link elements, which the page lists once (see Page.head).
HeadKey = tuple[tuple[str, str, str, str], ...]
JSON_LD_TYPE = "application/ld+json"
FUSION_SCRIPT_ID = "fusion-metadata"
CANONICAL: HeadKey = (("link", "rel", "canonical", "href"),)
OG_URL: HeadKey = (("meta", "property", "og:url", "content"),)
OG_TITLE: HeadKey = (("meta", "property", "og:title", "content"),)
OG_DESCRIPTION: HeadKey = (("meta", "property", "og:description", "content"),)
OG_IMAGE: HeadKey = (("meta", "property", "og:image", "content"),)
META_DESCRIPTION: HeadKey = (("meta", "name", "description", "content"),)
META_TAGS: HeadKey = (("meta", "property", "article:tag", "content"),)
META_SECTION: HeadKey = (("meta", "property", "article:section", "content"),)
META_PUBLISHED: HeadKey = (("meta", "property", "article:published_time", "content"),)
META_MODIFIED: HeadKey = (("meta", "property", "article:modified_time", "content"),)
META_AUTHOR: HeadKey = (
    ("meta", "name", "author", "content"),
    ("meta", "property", "article:author", "content"),
)
OG_IMAGE_WIDTH: HeadKey = (("meta", "property", "og:image:width", "content"),)
OG_IMAGE_HEIGHT: HeadKey = (("meta", "property", "og:image:height", "content"),)
META_KEYWORDS: HeadKey = (
    ("meta", "name", "keywords", "content"),
    ("meta", "name", "news_keywords", "content"),
)
#: the page's language as its head states it (the ``<html lang>`` attribute is read apart)
META_LANGUAGE: HeadKey = (
    ("meta", "http-equiv", "content-language", "content"),
    ("meta", "http-equiv", "Content-Language", "content"),
    ("meta", "name", "language", "content"),
    ("meta", "property", "og:locale", "content"),
)
HTML_TITLE = query("descendant-or-self::title/text()")
PREMIUM_URL_SEGMENT = "/premium/"

# --- link blocks and story cards -------------------------------------------------------
#: The kind of the site's own navigation: the header menu, the mega-menu (``section#sidebar``)
#: and the footer. Their links repeat on every page and say nothing of it: the links table
#: does not record them (:func:`herald_spider.pages.links.page_links` counts them).
NAVIGATION = "navigation"
#: Blocks of links: (kind, tag, attribute, value). An element with that tag whose attribute
#: has that value (for ``class``: has that word among its class names) is a block of that
#: kind; a link takes the kind of the innermost block it sits in (a related aside inside the
#: body is ``related``, not ``body``). A tag of None: the block is the parent of any element
#: whose data-test-ui has that value (see SIDEBAR_BLOCKS). docs/site.md §2.4, §2.10, §5.
LINK_BLOCKS: tuple[tuple[str, str | None, str, str], ...] = (
    (NAVIGATION, "header", "data-test-ui", "header"),
    (NAVIGATION, "nav", "data-test-ui", "nav-menu"),
    (NAVIGATION, "section", "id", "sidebar"),
    (NAVIGATION, "footer", "data-test-ui", "footer"),
    # section pages
    ("subsection", "nav", "data-test-ui", "section-header__subnav"),
    ("section-card", "section", "data-test-ui", "story-list"),
    ("most-read", "section", "data-test-ui", "most-read"),
    ("most-read", "section", "class", "most-read"),
    ("most-read", "section", "data-test-ui", "article-sidebar-RightHandColumn"),  # "Most Popular"
    # article pages: the kicker / breadcrumbs, the story text and the blocks around it
    ("breadcrumb", "header", "data-test-ui", "article__header"),
    ("breadcrumb", "header", "class", "article__header"),
    ("breadcrumb", "nav", "data-test-ui", "breadcrumbs"),
    ("body", "section", "data-test-ui", "article__body"),
    ("body", "section", "class", "article__body"),
    ("body", "section", "data-test-ui", "article-top-body"),
    ("body", "section", "data-test-ui", "article-bottom-body"),
    ("body", "section", "class", "article-viva__body"),
    ("related", "aside", "data-test-ui", "related-articles"),
    ("related", "aside", "class", "related-articles"),
    ("discover-more", "aside", "data-test-ui", "discover-more"),
    ("discover-more", "aside", "class", "discover-more"),
    ("latest-from", "section", "data-test-ui", "latest-from-articles__section"),
    ("latest-from", "section", "data-ref-group", "latestfromheader"),
    ("latest-from", None, "data-test-ui", "article-sidebar__section-LatestFrom"),
)
#: per tagless entry of LINK_BLOCKS (by its position): the elements whose parent is the block
SIDEBAR_BLOCKS = {
    position: by_ui(value) for position, (_, tag, _, value) in enumerate(LINK_BLOCKS) if tag is None
}
STORY_CARD = query(
    f"descendant-or-self::article[({cls('story-card')}) or ({cls('bg-white')})]"
    f" | descendant-or-self::div[{cls('story-card__content')}]",
    "story-card",
    "bg-white",
)

# --- story card freshness (refresh=updated), inside one card ----------------------------
CARD_LINK_HREFS = xpath(f"descendant-or-self::a[({cls('story-card__heading__link')}) or @href]/@href")
CARD_TIME = xpath("descendant-or-self::time[@datetime]")
CARD_UPDATED = xpath(f"descendant-or-self::*[({cls('label-updated')}) or {ui('story-card__label-updated')}]")
TEXT = xpath("descendant-or-self::text()")

# --- legacy links (pre-2020 CMS: /<section>/news/article.cfm?c_id=..&objectid=..) -------
LEGACY_ARTICLE_HREFS = query(
    "descendant-or-self::a[@href and contains(@href, 'article.cfm')]/@href", "article.cfm"
)
