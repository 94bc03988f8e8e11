"""CSS lookups over a whole page, made cheap without changing what they find.

Most of extraction time went into libxml2 testing an attribute or class predicate on every
element of the page, once per selector, mostly for markup eras the page does not use. An
element with ``data-test-ui="author"`` or class ``author__name`` can only exist if that
word is in the page source, so a query is evaluated only when, for one of its
alternatives, every attribute value, class and id it names occurs in the text (a substring
test, far cheaper than the XPath). Queries are compiled once.
"""

from __future__ import annotations

import functools
import re
from typing import Any

import cssselect
from lxml import etree
from parsel.csstranslator import HTMLTranslator
from scrapy.http import TextResponse

_EQUALITY = frozenset({"=", "~=", "|=", "^=", "$=", "*="})
#: ``meta[property="og:title"]::attr(content)``: a tag, an attribute equal to a value, a value read
_HEAD_QUERY = re.compile(r'^(meta|link)\[([a-z-]+)="([^"]*)"\]::attr\(([a-z-]+)\)$')


def _words(tree: Any, found: set[str]) -> None:
    """The literal words a parsed selector requires in the source (none from ``:not()``)."""
    if isinstance(tree, cssselect.parser.Class):
        found.add(tree.class_name)
    elif isinstance(tree, cssselect.parser.Hash):
        found.add(tree.id)
    elif isinstance(tree, cssselect.parser.Attrib) and tree.operator in _EQUALITY:
        token: Any = tree.value
        value = getattr(token, "value", token)
        if value:
            found.add(str(value))
    if isinstance(tree, cssselect.parser.CombinedSelector):
        _words(tree.selector, found)
        _words(tree.subselector, found)
    elif hasattr(tree, "selector"):
        _words(tree.selector, found)


@functools.lru_cache(maxsize=512)
def required_words(query: str) -> tuple[frozenset[str], ...]:
    """Per alternative of ``query``, the words that must occur in a page it matches.

    >>> [sorted(words) for words in required_words('[data-test-ui="author"] a.author__link, div.x:not(.y)')]
    [['author', 'author__link'], ['x']]
    """
    alternatives = []
    for selector in cssselect.parse(query):
        found: set[str] = set()
        _words(selector.parsed_tree, found)
        alternatives.append(frozenset(found))
    return tuple(alternatives)


def may_match(text: str, query: str) -> bool:
    """False only when no alternative of ``query`` can match a page with this source."""
    return any(all(word in text for word in words) for words in required_words(query))


@functools.lru_cache(maxsize=512)
def _compiled(query: str) -> etree.XPath:
    """A CSS query compiled once, as parsel translates it (relative to the node it runs on);
    parsel compiles the XPath again on every call."""
    return etree.XPath(HTMLTranslator().css_to_xpath(query), smart_strings=False)


def select(node: Any, query: str) -> list[Any]:
    """``Selector(root=node).css(query)`` as lxml elements (or strings, for ``::text`` and
    ``::attr()``), without a Selector per result."""
    return list(_compiled(query)(node))


def text(node: Any) -> str:
    """``" ".join(selector.css("::text").getall())``: every text node under ``node``."""
    return " ".join(select(node, "::text"))


def elements(response: TextResponse, query: str) -> list[Any]:
    """``response.css(query)`` as lxml elements, skipped when the page cannot match."""
    root = response.selector.root
    if not isinstance(root, etree._Element) or not may_match(response.text, query):
        return []
    return select(root, query)


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
