"""The page object: one response parsed once, and what every kind of page offers.

A :class:`Page` holds the tree, the decoded text, the ``<meta>`` and ``<link>`` elements, the
JSON-LD, ``Fusion.globalContent`` and the markup era, each found once; section pages use its
links, cards and legacy links, and :class:`~herald_spider.pages.article.ArticlePage` adds one
method per article field. Nothing here builds a Request, so a page is tested with a plain
``HtmlResponse``.
"""

from __future__ import annotations

from datetime import datetime
from functools import cached_property
from typing import Any, NamedTuple

from lxml import etree
from scrapy.http import TextResponse

from herald_spider.pages import selectors as sel
from herald_spider.pages import tree
from herald_spider.pages.cards import CardSignal, card_signals
from herald_spider.pages.eras import Markup, era_of
from herald_spider.pages.legacy import legacy_article_links
from herald_spider.pages.links import PageLink, PageLinks, page_links
from herald_spider.pages.selectors import HeadKey, Query
from herald_spider.pages.structured import article_objects, decode_fusion, decode_json_ld

_UI = "data-test-ui"
#: every element that has the attribute, in document order (cheaper than ``//*[@data-test-ui]``,
#: which tests the predicate on every element)
_UI_ELEMENTS = sel.xpath(f"//@{_UI}/..")


class _Structured(NamedTuple):
    ld_objects: list[dict[str, Any]]
    article_ld: dict[str, Any]
    fusion: dict[str, Any]
    heads: list[Any]


class Page:
    """One response, parsed once. Section and article pages alike."""

    def __init__(self, response: TextResponse) -> None:
        self.response = response
        self.url = response.url
        root, parse_problems = tree.parse(response)
        #: the root element, or None for a page with no tree (empty, not markup)
        self.root: Any = root if isinstance(root, etree._Element) else None
        #: the decoded page, searched for the words a query needs before its walk
        self.source = response.text
        #: what went wrong reading the page, each named before a colon (the spider counts them)
        self.problems: list[str] = list(parse_problems)
        #: the parser stopped before the end of the page (too deep): the tree lacks its rest
        self.cut_off = bool(parse_problems)
        self._found: dict[Query, list[Any]] = {}
        self._words: dict[str, bool] = {}

    # --- structured data: read on first use (a section page's links need none of it) ----

    @cached_property
    def _structured(self) -> _Structured:
        ld_texts, fusion_texts, heads = self._scripts_and_heads()
        json_ld = decode_json_ld(ld_texts)
        fusion = decode_fusion(fusion_texts)
        self.problems += json_ld.problems + fusion.problems
        articles = article_objects(json_ld.objects)
        return _Structured(
            json_ld.objects,
            articles[0] if articles else {},
            fusion.objects[0] if fusion.objects else {},
            heads,
        )

    @property
    def ld_objects(self) -> list[dict[str, Any]]:
        """Every JSON-LD object of the page, ``@graph`` and lists flattened."""
        return self._structured.ld_objects

    @property
    def article_ld(self) -> dict[str, Any]:
        """The first JSON-LD object that describes an article ({} for none)."""
        return self._structured.article_ld

    @property
    def fusion(self) -> dict[str, Any]:
        """``Fusion.globalContent`` ({} for none)."""
        return self._structured.fusion

    @property
    def heads(self) -> list[Any]:
        """The page's ``meta`` and ``link`` elements, in document order."""
        return self._structured.heads

    def _scripts_and_heads(self) -> tuple[list[str], list[str], list[Any]]:
        """(JSON-LD texts, scripts that may hold ``Fusion.globalContent``, ``meta`` and ``link``
        elements) in one walk over the page; ``script#fusion-metadata`` comes first."""
        ld_texts: list[str] = []
        fusion_texts: list[str] = []
        heads: list[Any] = []
        if self.root is None:
            return ld_texts, fusion_texts, heads
        for el in self.root.iter("script", "meta", "link"):
            if el.tag != "script":
                heads.append(el)
                continue
            text = el.text
            if not text:
                continue
            if (el.get("type") or "").strip().lower() == sel.JSON_LD_TYPE:
                ld_texts.append(text)
            elif el.get("id") == sel.FUSION_SCRIPT_ID:
                fusion_texts.insert(0, text)
            elif "Fusion.globalContent" in text:
                fusion_texts.append(text)
        return ld_texts, fusion_texts, heads

    # --- lookups ----------------------------------------------------------------------

    @cached_property
    def era(self) -> type[Markup]:
        """The page's markup era, decided once from the page (:func:`~.eras.era_of`)."""
        return era_of(self.find)

    def has(self, word: str) -> bool:
        """Whether the page source writes ``word`` (searched once per page)."""
        found = self._words.get(word)
        if found is None:
            found = self._words[word] = word in self.source
        return found

    @cached_property
    def _ui_index(self) -> dict[str, list[Any]]:
        """Every element with a ``data-test-ui`` attribute, by value, in document order: one walk
        that lists them answers every :func:`~.selectors.by_ui` query (each its own walk else)."""
        index: dict[str, list[Any]] = {}
        for el in _UI_ELEMENTS(self.root):
            index.setdefault(el.get(_UI), []).append(el)
        return index

    def find(self, query: Query) -> list[Any]:
        """What a page-wide query finds (elements, or strings for text and attributes), worked
        out once per page. The list is shared: read it, do not change it."""
        if self.root is None:
            return []
        found = self._found.get(query)
        if found is None:
            found = self._found[query] = self._run(query)
        return found

    def _run(self, query: Query) -> list[Any]:
        if query.ui is not None:
            elements = self._ui_index.get(query.ui, [])
            if query.tag is not None:
                elements = [el for el in elements if el.tag == query.tag]
            if query.tail is None:
                return elements
            if len(elements) <= 1:  # below several elements, results may interleave: walk
                return list(query.tail(elements[0])) if elements else []
            return list(query.xpath(self.root))
        if query.needs and not any(self.has(word) for word in query.needs):
            return []
        return list(query.xpath(self.root))

    def first(self, queries: tuple[Query, ...]) -> Any | None:
        """The first result of the first of ``queries`` (in precedence order) that finds any."""
        for query in queries:
            found = self.find(query)
            if found:
                return found[0]
        return None

    @cached_property
    def _head_index(self) -> dict[tuple[str, str, str], list[tuple[int, Any]]]:
        """(tag, attribute, value) -> (position, element) of each ``meta`` and ``link`` that
        has it: one walk of their attributes answers every lookup (a walk of them each else)."""
        index: dict[tuple[str, str, str], list[tuple[int, Any]]] = {}
        for position, el in enumerate(self.heads):
            tag = el.tag
            for attribute, value in el.items():
                index.setdefault((tag, attribute, value), []).append((position, el))
        return index

    def head(self, key: HeadKey) -> list[str]:
        """The values a ``meta`` or ``link`` lookup reads, in document order; an element that
        several alternatives match is read by the first of them whose attribute it has."""
        index = self._head_index
        found: list[tuple[int, int, str]] = []
        for alternative, (tag, attribute, value, read) in enumerate(key):
            for position, el in index.get((tag, attribute, value), ()):
                if (text := el.get(read)) is not None:
                    found.append((position, alternative, text))
        if len(key) > 1:
            found.sort()
            found = [match for i, match in enumerate(found) if i == 0 or found[i - 1][0] != match[0]]
        return [text for _, _, text in found]

    def head_first(self, key: HeadKey) -> str | None:
        found = self.head(key)
        return found[0] if found else None

    # --- what every page offers -------------------------------------------------------

    def page_links(self, default_kind: str = "other") -> PageLinks:
        """Links to site articles and section listings, once per (URL, kind), and the count of
        navigation anchors left out (:func:`~.links.page_links`)."""
        if self.root is None:
            return PageLinks([])
        return page_links(self.root, self.find, self.url, default_kind)

    def links(self, default_kind: str = "other") -> list[PageLink]:
        """The links of :meth:`page_links`."""
        return self.page_links(default_kind).links

    def cards(self, reference: datetime) -> dict[str, CardSignal]:
        """Article ID -> what its first story card shows (:func:`~.cards.card_signals`)."""
        return card_signals(self.find(sel.STORY_CARD), self.url, reference)

    def legacy_links(self) -> list[tuple[str, str]]:
        """``(url, object ID)`` of each legacy ``article.cfm`` link (:mod:`.legacy`)."""
        return legacy_article_links(self.find(sel.LEGACY_ARTICLE_HREFS), self.url)
