"""CSS lookups over a whole page, made cheap without changing what they find.

Most of extraction time went into libxml2 walking the whole page once per selector
alternative, testing an attribute or class predicate on every element, mostly for markup
eras the page does not use.

- ``data-test-ui``, the attribute the site marks its page parts with, is indexed once per
  page: one walk lists every element that has it, by value. Any ``[data-test-ui="..."]``
  is looked up there, and an alternative that starts with ``[data-test-ui="..."]`` or
  ``tag[data-test-ui="..."]`` needs no walk of its own.
- An element with class ``author__name`` (or any other attribute value) can only exist if
  the page source has that word, so each alternative of a query runs only when the source
  has every word it names: a substring search, far cheaper than the walk. A tagless
  ``.author`` tests its predicate on every element of the page; it runs instead on the tags
  the source writes that word on, and is trusted only when it finds as many elements as
  the source has the word (the one assumption: the word is written literally, not with
  character references).
- The alternatives left run as one XPath, compiled once (parsel compiles again on every
  call); when each is a tag with ``[name="value"]`` or ``.word`` tests, lxml walks to the
  tags and Python tests them, which costs a fraction of libxml2's predicates.

What a page holds is learnt once per page, and the page is parsed once (:func:`root`); what
went wrong in that parse is kept too (:func:`parse_problems`).
``tests/test_fastcss.py`` checks every selector of the project against ``response.css`` on
every saved page.
"""

from __future__ import annotations

import codecs
import functools
import re
import weakref
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, cast

import cssselect
from lxml import etree
from parsel.csstranslator import HTMLTranslator
from parsel.selector import create_root_node
from scrapy.http import HtmlResponse, TextResponse
from scrapy.selector import Selector

_EQUALITY = frozenset({"=", "~=", "|=", "^=", "$=", "*="})
#: the attribute the site marks its page parts with, indexed once per page (see :meth:`_Page.ui`)
UI = "data-test-ui"
#: every element that has it, in document order (cheaper than ``//*[@data-test-ui]``, which
#: tests the predicate on every element)
_UI_ELEMENTS = etree.XPath(f"//@{UI}/..")
#: ``meta[property="og:title"]::attr(content)``: a tag, an attribute equal to a value, a value read
_HEAD_QUERY = re.compile(r'^(meta|link)\[([a-z-]+)="([^"]*)"\]::attr\(([a-z-]+)\)$')
#: libxml2's message when it stops at its nesting limit (2048 with ``huge_tree``, which parsel
#: sets): nothing after that point of the page reaches the tree
_TOO_DEEP = re.compile(r"Excessive depth in document: (\d+)")


def _words(tree: Any, found: set[str], attributes: set[tuple[str, str]], ui: set[str]) -> None:
    """The literal words a parsed selector requires in the source (none from ``:not()``), the
    ``(attribute, value)`` pairs it requires written as such, and the ``data-test-ui`` values
    it requires on some element."""
    if isinstance(tree, cssselect.parser.Class):
        found.add(tree.class_name)
    elif isinstance(tree, cssselect.parser.Hash):
        found.add(tree.id)
    elif isinstance(tree, cssselect.parser.Attrib) and tree.operator in _EQUALITY:
        token: Any = tree.value
        value = getattr(token, "value", token)
        name = tree.attrib.lower()
        if value and tree.operator == "=" and tree.namespace is None and name == UI:
            ui.add(str(value))
        elif value:
            found.add(str(value))
            if tree.operator == "=" and tree.namespace is None and name not in ("class", "id"):
                attributes.add((name, str(value)))
    if isinstance(tree, cssselect.parser.CombinedSelector):
        _words(tree.selector, found, attributes, ui)
        _words(tree.subselector, found, attributes, ui)
    elif hasattr(tree, "selector"):
        _words(tree.selector, found, attributes, ui)


#: the first step cssselect writes for a tagless ``[data-test-ui="value"]`` or ``.value``, or
#: for ``tag[data-test-ui="value"]``
_FIRST_STEP = re.compile(
    r"^descendant-or-self::(?:\*(\[@data-test-ui = '([^']+)'\]|\[@class and contains\(@class, '([^' ]+)'\)"
    r" and contains\(concat\(' ', normalize-space\(@class\), ' '\), ' \3 '\)\])"
    r"|([a-z][a-z0-9]*)(\[@data-test-ui = '([^']+)'\]))"
)
#: the first step cssselect writes for ``tag.value``
_TAGGED_CLASS_STEP = re.compile(
    r"^descendant-or-self::([a-z][a-z0-9]*)(\[@class and contains\(@class, '([^' ]+)'\)"
    r" and contains\(concat\(' ', normalize-space\(@class\), ' '\), ' \3 '\)\])"
)
#: an element name as HTML writes it after ``<``, and what may follow it
_TAG_NAME = re.compile(r"[A-Za-z][A-Za-z0-9-]*(?=[\s/])")


@dataclass(frozen=True)
class _Alternative:
    """One comma-separated alternative of a query: what a page's source must have for it to
    match anything, and its XPath.

    ``step`` is set when the alternative starts with a tagless ``[data-test-ui="value"]`` or
    ``.value``, or with ``tag[data-test-ui="value"]``: (``"data-test-ui"`` or ``"class"``,
    the value, the step's predicate, the tag or None); ``tail`` is the rest of its XPath
    after that first step. ``ui``: the ``data-test-ui`` values it needs, looked up in the
    page's index rather than its source.
    """

    words: frozenset[str]
    attributes: frozenset[tuple[str, str]]
    xpath: str
    step: tuple[str, str, str, str | None] | None = None
    tail: str = ""
    ui: frozenset[str] = frozenset()
    #: (tag, predicate, tail) of an alternative that starts with a tagged step the walk can
    #: share with other alternatives on the same tag (see :func:`_one_walk`)
    branch: tuple[str, str, str] | None = None

    def possible(self, page: _Page) -> bool:
        # A first step's value is checked in _Page.step_elements (the index, or the source).
        return (
            page.has_ui(self.ui)
            and page.has_all(self.words)
            and (self.step is not None or page.written_all(self.attributes))
        )


def _on_tags(tags: list[str], predicate: str, tail: str = "") -> str:
    """A tagless first step's XPath (its ``predicate`` and what follows it) on these tags only."""
    return " | ".join(f"descendant-or-self::{tag}{predicate}{tail}" for tag in tags)


@functools.lru_cache(maxsize=512)
def _alternatives(query: str) -> tuple[_Alternative, ...]:
    """Each comma-separated alternative of ``query``, with the words it needs.

    >>> [(sorted(a.words), sorted(a.ui)) for a in _alternatives('[data-test-ui="a"] a.b, div.x:not(.y)')]
    [(['b'], ['a']), (['x'], [])]
    >>> [a.step[::3] for a in _alternatives('h1[data-test-ui="a"], .b p, [data-test-ui="c"]')]
    [('data-test-ui', 'h1'), ('class', None), ('data-test-ui', None)]
    """
    translator = HTMLTranslator()
    found = []
    for selector in cssselect.parse(query):
        words: set[str] = set()
        attributes: set[tuple[str, str]] = set()
        ui: set[str] = set()
        _words(selector.parsed_tree, words, attributes, ui)
        xpath = translator.selector_to_xpath(selector, translate_pseudo_elements=True)
        first = _FIRST_STEP.match(xpath)
        step: tuple[str, str, str, str | None] | None = None
        tail = ""
        branch = None
        if first and first.group(4):  # tag[data-test-ui="value"]
            step, tail = (UI, first.group(6), first.group(5), first.group(4)), xpath[first.end() :]
            branch = (first.group(4), first.group(5), tail)
        elif first:
            kind = UI if first.group(2) else "class"
            step, tail = (kind, first.group(2) or first.group(3), first.group(1), None), xpath[first.end() :]
        elif tagged := _TAGGED_CLASS_STEP.match(xpath):
            branch = (tagged.group(1), tagged.group(2), xpath[tagged.end() :])
        found.append(
            _Alternative(frozenset(words), frozenset(attributes), xpath, step, tail, frozenset(ui), branch)
        )
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


def written_tags(text: str, word: str) -> tuple[list[str], int] | None:
    """(the element names a class ``word`` seems written on, sorted; how many times the source
    has the word), each name read from the ``<`` before it; None when one can't be.

    A guess, for :meth:`_Page.step_elements` to check: a ``<`` inside an earlier attribute
    value misleads it, and the word in a script, a comment or text counts.

    >>> written_tags('<DIV class="x"><h2 class=x><i class="y x">', "x")
    (['div', 'h2', 'i'], 3)
    >>> written_tags('<p class="a b">b</p>', "b")
    (['p'], 2)
    >>> written_tags('<div class="x"> <class="x">', "x") is None
    True
    """
    tags: set[str] = set()
    count = 0
    for position in _occurrences(text, word):
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
    """What the lookups learn about one page: its source, its one parsed tree, and its
    ``data-test-ui`` index."""

    def __init__(self, text: str, root: Any, problems: tuple[str, ...] = ()) -> None:
        self.text = text
        self.problems = problems
        self._selector: Selector | None = None
        self._has: dict[str, bool] = {}
        self._written: dict[tuple[str, str], bool] = {}
        self._steps: dict[str, list[Any] | None] = {}
        self.root = root
        self._ui: dict[str, list[Any]] | None = None
        self._ui_elements: list[Any] = []
        self._order: dict[Any, int] | None = None

    def ui(self) -> dict[str, list[Any]]:
        """Every element with a ``data-test-ui`` attribute, by value, in document order: one
        walk answers every ``[data-test-ui="..."]`` the extractors ask for."""
        if self._ui is None:
            self._ui = {}
            self._ui_elements = _UI_ELEMENTS(self.root) if isinstance(self.root, etree._Element) else []
            for el in self._ui_elements:
                self._ui.setdefault(el.get(UI), []).append(el)
        return self._ui

    def has_ui(self, values: frozenset[str]) -> bool:
        if not values:
            return True
        index = self.ui()
        return all(value in index for value in values)

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

    def in_order(self, elements: set[Any]) -> list[Any]:
        """Elements of the ``data-test-ui`` index in document order."""
        if self._order is None:
            self._order = {el: position for position, el in enumerate(self._ui_elements)}
        return sorted(elements, key=self._order.__getitem__)

    def step_elements(self, root: Any, step: tuple[str, str, str, str | None]) -> list[Any] | None:
        """The elements a first step ``[data-test-ui="value"]``, ``tag[data-test-ui="value"]``
        or ``.value`` finds, in document order. ``data-test-ui`` values come from the page's
        index. A class is looked for by a walk that tests only the tags the source writes the
        word on (testing a predicate on every element costs about three walks that test it on
        one tag's elements); None when that can't be trusted: a tag can't be read, or fewer
        elements are found than the source writes the word (a tag misread, the word in a
        script, a comment or text, or inside a longer class word)."""
        kind, value, predicate, tag = step
        if kind == UI:
            indexed = self.ui().get(value, [])
            return indexed if tag is None else [el for el in indexed if el.tag == tag]
        if value not in self._steps:
            written = written_tags(self.text, value)
            found: list[Any] | None = None
            if written is not None:
                tags, count = written
                found = list(_compiled_xpath(_on_tags(tags, predicate))(root)) if tags else []
                found = found if len(found) == count else None
            self._steps[value] = found
        return self._steps[value]


#: What was learnt about the pages looked at last, newest last. Only a few: a callback reads
#: one page, and Scrapy frees responses late (in reference cycles, at a garbage collection),
#: so state kept as long as its response lives would keep every element it holds alive, and
#: make collections come sooner and cost more.
_RECENT: list[tuple[weakref.ref[TextResponse], _Page]] = []
_KEEP = 2


def _page(response: TextResponse) -> _Page:
    for known, page in reversed(_RECENT):
        if known() is response:
            return page
    page = _Page(response.text, *_parse(response))
    _RECENT.append((weakref.ref(response), page))
    del _RECENT[:-_KEEP]
    return page


class _HTMLParser(etree.HTMLParser):  # type: ignore[misc]
    """parsel's options, and no table of id attributes, since nothing looks elements up by
    ID (CSS ``#id`` is an XPath test of ``@id``): the same tree, a little sooner."""

    def __init__(self, **options: Any) -> None:
        super().__init__(collect_ids=False, **options)


def _parse(response: TextResponse) -> tuple[Any, tuple[str, ...]]:
    """The tree ``response.selector`` would parse, of plain lxml elements for an HTML page,
    and the problems of the parse (see :func:`parse_problems`).

    parsel parses HTML with ``lxml.html.HTMLParser``, whose element classes are looked up by
    a Python method each time lxml makes an object for an element: about 0.3 µs each, and a
    page's lookups make hundreds. The extractors use nothing ``lxml.html`` adds, so an HTML
    page is parsed by the same function with ``etree.HTMLParser``; libxml2 builds the same
    tree (``tests/test_fastcss.py`` compares them).

    parsel hands libxml2 the page's text stripped, without NUL characters, encoded as UTF-8.
    For most pages that is the body itself, which parsel then parses as it is: no copy of
    the page is encoded again.
    """
    if not isinstance(response, HtmlResponse):
        return response.selector.root, ()
    made: list[_HTMLParser] = []

    def parser(**options: Any) -> _HTMLParser:  # parsel makes the parser; its log tells
        made.append(_HTMLParser(**options))
        return made[-1]

    parser_cls = cast("type[_HTMLParser]", parser)
    body = _utf8_as_parsel_would(response)
    if body is not None:
        root = create_root_node("", parser_cls, body=body)
    else:
        root = create_root_node(response.text, parser_cls)
    return root, _problems(made[-1].error_log)


def _problems(log: Any) -> tuple[str, ...]:
    """What a parse's error log says was lost: libxml2 stops at its nesting limit, so the
    rest of the page is not in the tree. Only resource limits are looked at (a page's
    harmless errors are many with some libxml2 versions; none with 2.14 on the site's pages).

    >>> parser = _HTMLParser(recover=True, huge_tree=True)
    >>> root = etree.fromstring(b"<p>" + b"<i>" * 3000 + b"deep", parser)
    >>> _problems(parser.error_log)
    ('too deep: elements nested more than 2048 levels deep at line 1, the page after that is not read',)
    """
    problems = []
    for error in log.filter_types(etree.ErrorTypes.ERR_RESOURCE_LIMIT):
        if found := _TOO_DEEP.search(error.message):
            limit, line = found.group(1), error.line
            problems.append(
                f"too deep: elements nested more than {limit} levels deep at line {line},"
                " the page after that is not read"
            )
    return tuple(problems)


def _utf8_as_parsel_would(response: HtmlResponse) -> bytes | None:
    """The body without the ASCII white space around it, when that is exactly the bytes
    parsel would make of the page's text: UTF-8 decoded without a replacement or a
    byte-order mark, no NUL, and no other white space (``str.strip`` knows more) around.

    >>> from scrapy.http import HtmlResponse
    >>> page = lambda body: HtmlResponse("https://example.org/", body=body, encoding="utf-8")
    >>> _utf8_as_parsel_would(page(" <p>café</p>\\n".encode()))
    b'<p>caf\\xc3\\xa9</p>'
    >>> bodies = (b"<p>\\xff", b"\\xef\\xbb\\xbf<p>", b"<p>\\x00", "<p>\\u00a0".encode(), b" ")
    >>> [_utf8_as_parsel_would(page(body)) for body in bodies]
    [None, None, None, None, None]
    """
    body = response.body
    if response.encoding != "utf-8" or body.startswith(codecs.BOM_UTF8) or b"\x00" in body:
        return None
    text = response.text
    # Each byte of ASCII white space is one character of the text: the characters just
    # inside it are the first and the last that str.strip would keep, if not white space.
    start, end = len(body) - len(body.lstrip()), len(body.rstrip())
    if start >= end or "\ufffd" in text:
        return None
    if text[start].isspace() or text[len(text) - (len(body) - end) - 1].isspace():
        return None
    return body[start:end]


def root(response: TextResponse) -> Any:
    """The root element of the page's tree, parsed once for every lookup of this module and
    every extractor (none uses ``response.selector``, which would parse the page again)."""
    return _page(response).root


def parse_problems(response: TextResponse) -> tuple[str, ...]:
    """What :func:`root`'s parse lost of the page, each problem named before a colon (``too
    deep: ...``); empty for a page read whole."""
    return _page(response).problems


def selector(response: TextResponse) -> Selector:
    """A Selector over :func:`root`, for code that needs parsel's API."""
    page = _page(response)
    if page._selector is None:
        page._selector = Selector(root=page.root, type="html")
    return page._selector


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
    page = _page(response)
    root = page.root
    if not isinstance(root, etree._Element):
        return []
    live = [alternative for alternative in _alternatives(query) if alternative.possible(page)]
    # Per alternative that can find anything: its results when they are known without a walk
    # over the page, and what they were read from. The walk, when one is needed, shares the
    # steps on tags (tag, predicate, rest) of all alternatives, and adds the other XPaths.
    parts: list[tuple[list[Any] | None, tuple[Any, ...]]] = []
    branches: list[tuple[str, str, str]] = []
    others: list[str] = []
    indexed = True  # every result is an element of the page's data-test-ui index
    for alternative in live:
        step = alternative.step
        known = page.step_elements(root, step) if step is not None else None
        if known is None:
            parts.append((None, ()))
            if alternative.branch is not None:
                branches.append(alternative.branch)
            else:
                others.append(alternative.xpath)
        elif known:
            assert step is not None
            results = list(known)  # a copy: the page keeps its own
            if alternative.tail:  # below several elements, results may interleave: walk
                tail = _compiled_xpath("self::*" + alternative.tail)
                results = list(tail(known[0])) if len(known) == 1 else None  # type: ignore[assignment]
            if results != []:
                parts.append((results, (alternative.tail, *known)))
                branches += [(tag, step[2], alternative.tail) for tag in sorted({el.tag for el in known})]
                indexed = indexed and step[0] == UI and not alternative.tail
    if not parts:
        return []
    if parts[0][0] is not None and all(source == parts[0][1] for _, source in parts):
        return parts[0][0]  # one alternative, or several that find the same elements
    if indexed and all(results is not None for results, _ in parts):
        return page.in_order({el for results, _ in parts for el in results or ()})
    # Results of several alternatives, in document order: one walk over them all.
    if not others and (tests := _simple_tests(tuple(branches))) is not None:
        return _walk_tags(root, *tests)
    walks = ([_one_walk(branches)] if branches else []) + others
    return list(_compiled_xpath(" | ".join(walks))(root))


#: the predicates cssselect writes for ``[name="value"]`` and for ``.word``
_EQUALS = re.compile(r"^\[@([a-z][a-z0-9_-]*) = '([^']*)'\]$")
_CLASS_TEST = re.compile(
    r"^\[@class and contains\(@class, '([^' ]+)'\) and "
    r"contains\(concat\(' ', normalize-space\(@class\), ' '\), ' \1 '\)\]$"
)
_TAIL_ATTRIBUTE = re.compile(r"^(?:/@([a-z][a-z0-9_-]*))?$")
#: the white space of XPath's normalize-space (str.split knows more)
_XML_SPACE = re.compile(r"[ \t\r\n]+")


@functools.lru_cache(maxsize=512)
def _simple_tests(
    branches: tuple[tuple[str, str, str], ...],
) -> tuple[dict[str, tuple[tuple[str, str], ...]], str | None] | None:
    """Per tag, its tests as (attribute, value) pairs (``("", word)`` for a class), and the
    attribute every branch reads (None: the elements), when every branch is a tag with
    ``[name="value"]`` or ``.word`` tests and they all read the same; else None.

    >>> query = "a[data-test-ui=x]::attr(href), a.y::attr(href)"
    >>> _simple_tests(tuple(alternative.branch for alternative in _alternatives(query)))
    ({'a': (('data-test-ui', 'x'), ('', 'y'))}, 'href')
    >>> _simple_tests((("a", "[@id = 'x']", "/@href"), ("b", "[@id = 'x']", ""))) is None
    True
    """
    tests: dict[str, tuple[tuple[str, str], ...]] = {}
    tails = {tail for _, _, tail in branches}
    tail = _TAIL_ATTRIBUTE.match(tails.pop()) if len(tails) == 1 else None
    if tail is None:
        return None
    for tag, predicate, _ in branches:
        if equals := _EQUALS.match(predicate):
            test = (equals.group(1), equals.group(2))
        elif word := _CLASS_TEST.match(predicate):
            test = ("", word.group(1))
        else:
            return None
        tests[tag] = (*tests.get(tag, ()), test)
    return tests, tail.group(1)


def _walk_tags(root: Any, tests: dict[str, tuple[tuple[str, str], ...]], read: str | None) -> list[Any]:
    """The elements (or their ``read`` attribute) of these tags that pass any of their tests, in
    document order: what the union of ``descendant-or-self::tag[predicate]`` finds.

    libxml2 spends about a microsecond per element on such a predicate (an attribute read as a
    new string, white space normalised, concatenated); lxml walks to the tags and Python tests
    the few attributes for a fraction of that.
    """
    found = []
    for el in root.iter(*tests):
        for name, value in tests[el.tag]:
            if name:
                if el.get(name) == value:
                    break
            elif value in (classes := el.get("class") or "") and value in _XML_SPACE.split(classes):
                break
        else:
            continue
        if read is None:
            found.append(el)
        elif (attribute := el.get(read)) is not None:
            found.append(attribute)
    return found


def _one_walk(branches: list[tuple[str, str, str]]) -> str:
    """The union of ``descendant-or-self::tag[predicate]rest`` branches, those on the same tag
    with the same rest as one (libxml2 walks the page once per branch of a union).

    >>> _one_walk([("p", "[@id = 'a']", ""), ("b", "[@id = 'a']", ""), ("p", "[@id = 'c']", "")])
    "descendant-or-self::p[(@id = 'a') or (@id = 'c')] | descendant-or-self::b[(@id = 'a')]"
    """
    grouped: dict[tuple[str, str], list[str]] = {}
    for tag, predicate, rest in branches:
        grouped.setdefault((tag, rest), []).append(f"({predicate[1:-1]})")
    return " | ".join(
        f"descendant-or-self::{tag}[{' or '.join(predicates)}]{rest}"
        for (tag, rest), predicates in grouped.items()
    )


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
