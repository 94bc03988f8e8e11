"""CSS lookups over a whole page, made cheap without changing what they find.

Most of extraction time went into libxml2 walking the whole page once per selector
alternative, testing an attribute or class predicate on every element, mostly for markup
eras the page does not use. An element with ``data-test-ui="author"`` or class
``author__name`` can only exist if the page source has that word (an attribute value
written as that attribute's value, see :func:`attribute_written`), so each alternative of a
query runs only when the source has every word it names: a substring search, far cheaper
than the walk. The alternatives left run as one XPath, compiled once (parsel compiles
again on every call). ``tests/test_fastcss.py`` checks every selector of the project
against ``response.css`` on every saved page.
"""

from __future__ import annotations

import functools
import re
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


@dataclass(frozen=True)
class _Alternative:
    """One comma-separated alternative of a query: what a page's source must have for it to
    match anything, and its XPath."""

    words: frozenset[str]
    attributes: frozenset[tuple[str, str]]
    xpath: str

    def possible(self, text: str) -> bool:
        return all(word in text for word in self.words) and all(
            attribute_written(text, name, value) for name, value in self.attributes
        )


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
        found.append(_Alternative(frozenset(words), frozenset(attributes), xpath))
    return tuple(found)


def _skip_space_back(text: str, end: int) -> int:
    while end and text[end - 1].isspace():
        end -= 1
    return end


def attribute_written(text: str, name: str, value: str) -> bool:
    """Whether ``text`` writes ``name="value"`` as HTML may: the name in any case, the value
    quoted or not, spaces around ``=`` or not. Looks for the value first (a fast search).

    >>> attribute_written("<a DATA-TEST-UI = 'x'>", "data-test-ui", "x")
    True
    >>> attribute_written('<a data-test-ui="x-y" title="x">', "data-test-ui", "x")
    False
    """
    start = text.find(value)
    while start != -1:
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
                    return True
        start = text.find(value, start + 1)
    return False


def may_match(text: str, query: str) -> bool:
    """False only when no alternative of ``query`` can match a page with this source.

    >>> may_match('<div data-test-ui="author--link">', '[data-test-ui="author"]')
    False
    >>> may_match("<div DATA-TEST-UI = 'author'>", '[data-test-ui="author"]')
    True
    """
    return any(alternative.possible(text) for alternative in _alternatives(query))


def _live(text: str, query: str) -> etree.XPath | None:
    """The alternatives of ``query`` the page's source allows, as one XPath compiled once
    (each alternative is a walk over the whole page); None when it allows none."""
    live = [alternative.xpath for alternative in _alternatives(query) if alternative.possible(text)]
    return _compiled_xpath(" | ".join(live)) if live else None


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
    """``response.css(query)`` as lxml elements, for the alternatives the page can match."""
    root = response.selector.root
    xpath = _live(response.text, query) if isinstance(root, etree._Element) else None
    return list(xpath(root)) if xpath is not None else []


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
