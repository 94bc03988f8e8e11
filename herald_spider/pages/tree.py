"""The one parse of a page: the tree parsel would build, of plain lxml elements, and what the
parse lost.

Every page object parses its response here once (:class:`herald_spider.pages.page.Page`); no
extractor uses ``response.selector``, which would parse the page a second time.
"""

from __future__ import annotations

import codecs
import re
from typing import Any, cast

from lxml import etree
from parsel.selector import create_root_node
from scrapy.http import HtmlResponse, TextResponse

#: libxml2's message when it stops at its nesting limit (2048 with ``huge_tree``, which parsel
#: sets): nothing after that point of the page reaches the tree
_TOO_DEEP = re.compile(r"Excessive depth in document: (\d+)")


class _HTMLParser(etree.HTMLParser):  # type: ignore[misc]
    """parsel's options, and no table of id attributes, since nothing looks elements up by
    ID (CSS ``#id`` is an XPath test of ``@id``): the same tree, a little sooner."""

    def __init__(self, **options: Any) -> None:
        super().__init__(collect_ids=False, **options)


def parse(response: TextResponse) -> tuple[Any, tuple[str, ...]]:
    """The tree ``response.selector`` would parse, of plain lxml elements for an HTML page,
    and the problems of the parse (each named before a colon: ``too deep: ...``).

    parsel parses HTML with ``lxml.html.HTMLParser``, whose element classes are looked up by
    a Python method each time lxml makes an object for an element: about 0.3 µs each, and a
    page's lookups make hundreds. The extractors use nothing ``lxml.html`` adds, so an HTML
    page is parsed by the same function with ``etree.HTMLParser``; libxml2 builds the same
    tree (``tests/test_selectors.py`` compares them).

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
