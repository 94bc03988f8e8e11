"""CSS lookups over a whole page, made cheap without changing what they find.

Most of extraction time went into libxml2 walking the whole page once per selector
alternative, testing an attribute or class predicate on every element, mostly for markup
eras the page does not use. An element with ``data-test-ui="author"`` or class
``author__name`` can only exist if the page source has that word (an attribute value
written as that attribute's value, see :func:`attribute_written`), so each alternative of a
query runs only when the source has every word it names: a substring search, far cheaper
than the walk. The alternatives left run as one XPath, compiled once (parsel compiles
again on every call). A tagless ``[data-test-ui="author"]`` or ``.author`` tests its
predicate on every element of the page; it runs instead on the tags the source writes that
value on, and is trusted only when it finds as many elements as the source writes it (the
one assumption: such a value is written literally, not with character references). What
the source says is learnt once per page. ``tests/test_fastcss.py`` checks every selector
of the project against ``response.css`` on every saved page.
"""

from __future__ import annotations

import functools
import re
import weakref
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import cssselect
from lxml import etree
from parsel.csstranslator import HTMLTranslator
from scrapy.http import TextResponse

_EQUALITY = frozenset({"=", "~=", "|=", "^=", "$=", "*="})
#: ``meta[property="og:title"]::attr(content)``: a tag, an attribute equal to a value, a value read
_HEAD_QUERY = re.compile(r'^(meta|link)\[([a-z-]+)="([^"]*)"\]::attr\(([a-z-]+)\)$')


def _words(tree: Any, found: set[str], attributes: set[tuple[str, str]]) -> None:
    """The literal words a parsed selector requires in the source (none from ``:not()``), and
    the ``(attribute, value)`` pairs it requires written as such."""
    if isinstance(tree, cssselect.parser.Class):
        found.add(tree.class_name)
    elif isinstance(tree, cssselect.parser.Hash):
        found.add(tree.id)
    elif isinstance(tree, cssselect.parser.Attrib) and tree.operator in _EQUALITY:
        token: Any = tree.value
        value = getattr(token, "value", token)
        if value:
            found.add(str(value))
            if tree.operator == "=" and tree.namespace is None and tree.attrib.lower() not in ("class", "id"):
                attributes.add((tree.attrib.lower(), str(value)))
    if isinstance(tree, cssselect.parser.CombinedSelector):
        _words(tree.selector, found, attributes)
        _words(tree.subselector, found, attributes)
    elif hasattr(tree, "selector"):
        _words(tree.selector, found, attributes)


#: the first step cssselect writes for a tagless ``[data-test-ui="value"]`` or ``.value``
_TAGLESS_STEP = re.compile(
    r"^descendant-or-self::\*(\[@data-test-ui = '([^']+)'\]|\[@class and contains\(@class, '([^' ]+)'\)"
    r" and contains\(concat\(' ', normalize-space\(@class\), ' '\), ' \3 '\)\])"
)
#: an element name as HTML writes it after ``<``, and what may follow it
_TAG_NAME = re.compile(r"[A-Za-z][A-Za-z0-9-]*(?=[\s/])")


@dataclass(frozen=True)
class _Alternative:
    """One comma-separated alternative of a query: what a page's source must have for it to
    match anything, and its XPath.

    ``step`` is set when the alternative starts with a tagless ``[data-test-ui="value"]`` or
    ``.value``: (``"data-test-ui"`` or ``"class"``, the value, the step's predicate); ``tail``
    is the rest of its XPath after that first step.
    """

    words: frozenset[str]
    attributes: frozenset[tuple[str, str]]
    xpath: str
    step: tuple[str, str, str] | None = None
    tail: str = ""

    def possible(self, page: _Page) -> bool:
        # A tagless first step checks how its value is written in _Page.step_elements.
        return page.has_all(self.words) and (self.step is not None or page.written_all(self.attributes))

    def narrowed(self, found: list[Any]) -> str:
        """The XPath, its tagless first step narrowed to the tags of ``found``, the elements
        :meth:`_Page.step_elements` found for it."""
        assert self.step is not None
        return _on_tags(sorted({el.tag for el in found}), self.step[2], self.tail)


def _on_tags(tags: list[str], predicate: str, tail: str = "") -> str:
    """A tagless first step's XPath (its ``predicate`` and what follows it) on these tags only."""
    return " | ".join(f"descendant-or-self::{tag}{predicate}{tail}" for tag in tags)


@functools.lru_cache(maxsize=512)
def _alternatives(query: str) -> tuple[_Alternative, ...]:
    """Each comma-separated alternative of ``query``, with the words it needs.

    >>> [sorted(a.words) for a in _alternatives('[data-test-ui="author"] a.author__link, div.x:not(.y)')]
    [['author', 'author__link'], ['x']]
    """
    translator = HTMLTranslator()
    found = []
    for selector in cssselect.parse(query):
        words: set[str] = set()
        attributes: set[tuple[str, str]] = set()
        _words(selector.parsed_tree, words, attributes)
        xpath = translator.selector_to_xpath(selector, translate_pseudo_elements=True)
        tagless = _TAGLESS_STEP.match(xpath)
        step, tail = None, ""
        if tagless:
            kind = "data-test-ui" if tagless.group(2) else "class"
            step, tail = (
                (kind, tagless.group(2) or tagless.group(3), tagless.group(1)),
                xpath[tagless.end() :],
            )
        found.append(_Alternative(frozenset(words), frozenset(attributes), xpath, step, tail))
    return tuple(found)


def _skip_space_back(text: str, end: int) -> int:
    while end and text[end - 1].isspace():
        end -= 1
    return end


def attribute_positions(text: str, name: str, value: str) -> Iterator[int]:
    """Where ``text`` writes ``name="value"`` as HTML may (the name in any case, the value
    quoted or not, spaces around ``=`` or not): the start of each such name. Looks for the
    value first (a fast search).

    >>> list(attribute_positions("<a DATA-TEST-UI = 'x'><b data-test-ui=x>", "data-test-ui", "x"))
    [3, 25]
    """
    for start in _occurrences(text, value):
        before, end = start, start + len(value)
        if before and text[before - 1] in "\"'":
            before -= 1
            closed = text.startswith(text[before], end)
        else:
            closed = end < len(text) and (text[end].isspace() or text[end] == ">")
        if closed:
            before = _skip_space_back(text, before)
            if before and text[before - 1] == "=":
                before = _skip_space_back(text, before - 1)
                if text[max(0, before - len(name)) : before].lower() == name:
                    yield before - len(name)


def attribute_written(text: str, name: str, value: str) -> bool:
    """Whether ``text`` writes ``name="value"`` anywhere (see :func:`attribute_positions`).

    >>> attribute_written("<a DATA-TEST-UI = 'x'>", "data-test-ui", "x")
    True
    >>> attribute_written('<a data-test-ui="x-y" title="x">', "data-test-ui", "x")
    False
    """
    return next(attribute_positions(text, name, value), None) is not None


def written_tags(text: str, kind: str, value: str) -> tuple[list[str], int] | None:
    """(the element names ``value`` seems written on, sorted; how many times it is written),
    each name read from the ``<`` before it; None when one can't be. ``kind`` is
    ``"data-test-ui"`` (written as that attribute's value) or ``"class"`` (written anywhere:
    every occurrence counts).

    A guess, for :meth:`_Page.step_elements` to check: a ``<`` inside an earlier attribute
    value misleads it, and the source of a script or a comment counts.

    >>> written_tags('<DIV data-test-ui="x"><h2 data-test-ui=x><i data-test-ui=x>', "data-test-ui", "x")
    (['div', 'h2', 'i'], 3)
    >>> written_tags('<div data-test-ui="x"> <data-test-ui="x">', "data-test-ui", "x") is None
    True
    >>> written_tags('<p class="a b">b</p>', "class", "b")
    (['p'], 2)
    """
    if kind == "class":
        positions: Iterator[int] = _occurrences(text, value)
    else:
        positions = attribute_positions(text, kind, value)
    tags: set[str] = set()
    count = 0
    for position in positions:
        opening = text.rfind("<", 0, position)
        tag = _TAG_NAME.match(text, opening + 1) if opening != -1 else None
        if tag is None:
            return None
        tags.add(tag.group().lower())
        count += 1
    return sorted(tags), count


def _occurrences(text: str, word: str) -> Iterator[int]:
    start = text.find(word)
    while start != -1:
        yield start
        start = text.find(word, start + 1)


class _Page:
    """What the lookups learn about one page's source, kept while its response lives."""

    def __init__(self, text: str) -> None:
        self.text = text
        self._has: dict[str, bool] = {}
        self._written: dict[tuple[str, str], bool] = {}
        self._steps: dict[tuple[str, str], list[Any] | None] = {}

    def has_all(self, words: frozenset[str]) -> bool:
        known = self._has
        for word in words:
            found = known.get(word)
            if found is None:
                found = known[word] = word in self.text
            if not found:
                return False
        return True

    def written_all(self, attributes: frozenset[tuple[str, str]]) -> bool:
        known = self._written
        for name, value in attributes:
            found = known.get((name, value))
            if found is None:
                found = known[name, value] = attribute_written(self.text, name, value)
            if not found:
                return False
        return True

    def step_elements(self, root: Any, step: tuple[str, str, str]) -> list[Any] | None:
        """The elements a tagless ``[data-test-ui="value"]`` or ``.value`` step finds, in
        document order, from a walk that tests only the tags the source writes the value on
        (testing a predicate on every element costs about three walks that test it on one
        tag's elements); None when that can't be trusted: a tag can't be read, or fewer
        elements are found than the source writes the value (a tag misread, the value in a
        script, a comment or text, or a class word inside a longer one)."""
        kind, value, predicate = step
        if (kind, value) not in self._steps:
            written = written_tags(self.text, kind, value)
            found: list[Any] | None = None
            if written is not None:
                tags, count = written
                found = list(_compiled_xpath(_on_tags(tags, predicate))(root)) if tags else []
                found = found if len(found) == count else None
            self._steps[kind, value] = found
        return self._steps[kind, value]


_PAGES: weakref.WeakKeyDictionary[TextResponse, _Page] = weakref.WeakKeyDictionary()


def _page(response: TextResponse) -> _Page:
    page = _PAGES.get(response)
    if page is None:
        page = _PAGES[response] = _Page(response.text)
    return page


def may_match(response: TextResponse, query: str) -> bool:
    """False only when no alternative of ``query`` can match a page with this source.

    >>> from scrapy.http import HtmlResponse
    >>> page = HtmlResponse("https://example.org/", body=b'<div data-test-ui="author--link">')
    >>> may_match(page, '[data-test-ui="author"]'), may_match(page, '[data-test-ui="author--link"]')
    (False, True)
    """
    page = _page(response)
    return any(a.possible(page) and page.written_all(a.attributes) for a in _alternatives(query))


@functools.lru_cache(maxsize=512)
def _compiled_xpath(xpath: str) -> etree.XPath:
    return etree.XPath(xpath, smart_strings=False)


@functools.lru_cache(maxsize=512)
def _compiled(query: str) -> etree.XPath:
    """A CSS query compiled once, as parsel translates it (relative to the node it runs on);
    parsel compiles the XPath again on every call."""
    return _compiled_xpath(HTMLTranslator().css_to_xpath(query))


def select(node: Any, query: str) -> list[Any]:
    """``Selector(root=node).css(query)`` as lxml elements (or strings, for ``::text`` and
    ``::attr()``), without a Selector per result."""
    return list(_compiled(query)(node))


def text(node: Any) -> str:
    """``" ".join(selector.css("::text").getall())``: every text node under ``node``."""
    return " ".join(select(node, "::text"))


def elements(response: TextResponse, query: str) -> list[Any]:
    """``response.css(query)`` as lxml elements (or strings, for ``::text`` and ``::attr()``).

    Only the alternatives the page's source allows run, as one XPath compiled once (each
    alternative is a walk over the whole page). A tagless ``[data-test-ui="..."]`` or class
    first step is answered by :meth:`_Page.step_elements` when that can be trusted.
    """
    root = response.selector.root
    if not isinstance(root, etree._Element):
        return []
    page = _page(response)
    live = [alternative for alternative in _alternatives(query) if alternative.possible(page)]
    # Per alternative that can find anything: its XPath (narrowed when it can be), its results
    # when they are known without a walk over the page, and what they were read from.
    parts: list[tuple[str, list[Any] | None, tuple[Any, ...]]] = []
    for alternative in live:
        known = page.step_elements(root, alternative.step) if alternative.step is not None else None
        if known is None:
            parts.append((alternative.xpath, None, ()))
        elif known:
            results = list(known)  # a copy: the page keeps its own
            if alternative.tail:  # below several elements, results may interleave: walk
                tail = _compiled_xpath("self::*" + alternative.tail)
                results = list(tail(known[0])) if len(known) == 1 else None  # type: ignore[assignment]
            if results != []:
                parts.append((alternative.narrowed(known), results, (alternative.tail, *known)))
    if parts and parts[0][1] is not None and all(source == parts[0][2] for _, _, source in parts):
        return parts[0][1]  # one alternative, or several that find the same elements
    # Results of several alternatives, in document order: one walk over them all.
    return list(_compiled_xpath(" | ".join(xpath for xpath, _, _ in parts))(root)) if parts else []


def strings(response: TextResponse, query: str) -> list[str]:
    """``response.css(query).getall()`` for a ``::text`` or ``::attr()`` query, with no
    Selector built per result."""
    return [str(value) for value in elements(response, query)]


@functools.lru_cache(maxsize=256)
def head_query(query: str) -> tuple[tuple[str, str, str, str], ...] | None:
    """(tag, attribute, value, attribute read) per alternative of a ``meta`` or ``link``
    attribute query, or None for any other query.

    >>> head_query('meta[name="author"]::attr(content), meta[property="article:author"]::attr(content)')
    (('meta', 'name', 'author', 'content'), ('meta', 'property', 'article:author', 'content'))
    >>> head_query("title::text") is None
    True
    """
    found = [_HEAD_QUERY.match(alternative.strip()) for alternative in query.split(",")]
    return tuple(match.groups() for match in found if match) if all(found) else None  # type: ignore[misc]


def head_strings(elements: list[Any], query: str) -> list[str] | None:
    """What a ``meta`` or ``link`` attribute query selects, read from the page's ``meta`` and
    ``link`` elements (listed once, in document order) instead of a page-wide XPath; None
    for any other query."""
    keys = head_query(query)
    if keys is None:
        return None
    values = []
    for el in elements:
        for tag, attribute, value, read in keys:
            if el.tag == tag and el.get(attribute) == value and (found := el.get(read)) is not None:
                values.append(found)
                break
    return values
