"""Pages whose bytes contradict their declared encoding, decoded the way they were written.

A Windows-1252 page labelled UTF-8 would otherwise come out with U+FFFD where its curly
quotes and macrons were, a UTF-8 page labelled Windows-1252 as mojibake (``â€™``), and a
UTF-8 or Windows-1252 page labelled UTF-16 or UTF-32 as CJK characters, with no markup left.
``EncodingRepairMiddleware`` checks the bytes against the label and, when they only make
sense in the other encoding, re-labels the response; it logs the URL and counts
``herald/encoding_repaired/<declared>_as_<actual>``.
"""

from __future__ import annotations

import codecs
import logging

from scrapy import Request, Spider
from scrapy.http import Response, TextResponse

from herald_spider.component import CrawlerComponent

logger = logging.getLogger(__name__)

_UTF8 = "utf-8"
#: Single-byte Western encodings that WHATWG treats as windows-1252.
_WESTERN = frozenset({"cp1252", "latin_1", "iso8859_15", "ascii"})
#: The UTF-16 and UTF-32 byte-order marks (the UTF-32 little-endian one starts with UTF-16's).
_WIDE_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE, codecs.BOM_UTF32_BE)
#: UTF-16 and UTF-32 in any byte order, as :func:`_codec` names them.
_WIDE = frozenset({"utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-le", "utf-32-be"})
#: How much of a page's start :func:`_may_be_wide` reads: markup comes early in any page.
_WIDE_SNIFF = 4096


def _codec(name: str) -> str:
    try:
        return codecs.lookup(name).name
    except LookupError:
        return name


def _may_be_wide(body: bytes) -> bool:
    """Whether ``body`` may be UTF-16 or UTF-32: it starts with their byte-order mark, or has
    the NUL bytes they write in every ASCII character (HTML's markup), in every other byte.

    >>> _may_be_wide("<p>Māori".encode("utf-16-be")), _may_be_wide("<p>Māori".encode("utf-32-le"))
    (True, True)
    >>> _may_be_wide("<p>Māori".encode()), _may_be_wide(b"<p>a NUL\\x00 byte</p>")
    (False, False)
    """
    if body.startswith(_WIDE_BOMS):
        return True
    start = body[:_WIDE_SNIFF]
    # Markup is ASCII: in UTF-16 each ASCII character has a NUL byte, in UTF-32 three. So at
    # least half the bytes at even or at odd offsets are NUL. (Empty: the same in any encoding.)
    return max(start[0::2].count(0), start[1::2].count(0)) * 4 >= len(start)


def _bytes_encoding(body: bytes) -> str:
    """``utf-8`` when ``body`` is UTF-8, even with a damaged sequence (a page cut off
    mid-character: any other non-ASCII character decodes), else ``cp1252``."""
    try:
        body.decode(_UTF8)
    except UnicodeDecodeError:
        decoded = body.decode(_UTF8, "replace")
        return _UTF8 if any(ord(c) > 127 and c != "\ufffd" for c in decoded) else "cp1252"
    return _UTF8


def actual_encoding(body: bytes, declared: str, text: str | None = None) -> str | None:
    """The encoding ``body`` is really in when it contradicts ``declared``, else None.

    ``text``, when given, is ``body`` as a response decodes it under ``declared`` (a bad
    sequence becomes U+FFFD): without U+FFFD, a UTF-8 body needs no second decode to be valid.
    A UTF-16 or UTF-32 label on bytes that have neither their byte-order mark nor their NUL
    bytes (ASCII included: it would decode as CJK) gives way to UTF-8, or else Windows-1252.

    >>> actual_encoding("Māori ‘quotes’".encode("cp1252", "replace"), "utf-8")
    'cp1252'
    >>> actual_encoding("Māori ‘quotes’".encode("utf-8"), "cp1252")
    'utf-8'
    >>> actual_encoding("Māori".encode("utf-8") + "Māori".encode("utf-8")[:2], "utf-8") is None
    True
    >>> actual_encoding("plain ascii".encode(), "cp1252") is None
    True
    >>> actual_encoding("Māori".encode("utf-8"), "utf-8") is None
    True
    >>> actual_encoding("Māori".encode("utf-8"), "utf-8", "Māori") is None
    True
    >>> actual_encoding("<!DOCTYPE html><title>Māori</title>".encode(), "utf-16")
    'utf-8'
    >>> actual_encoding(b"<html><title>plain ascii</title>", "UTF-32LE")
    'utf-8'
    >>> actual_encoding("<p>Café ‘quotes’".encode("cp1252"), "utf-16be")
    'cp1252'
    >>> actual_encoding("<p>Māori".encode("utf-16"), "utf-16") is None
    True
    >>> actual_encoding("<p>Māori".encode("utf-16-le"), "utf-16le") is None
    True
    >>> actual_encoding("<p>Māori".encode("utf-32-be"), "utf-32") is None
    True
    """
    declared = _codec(declared)
    if declared in _WIDE:
        return None if _may_be_wide(body) else _bytes_encoding(body)
    if body.isascii():
        return None
    if declared == _UTF8:
        # A UTF-16 or UTF-32 byte-order mark decides the text's encoding, not the label.
        if text is not None and "\ufffd" not in text and not body.startswith(_WIDE_BOMS):
            return None
        # Real UTF-8 with a damaged sequence (a page cut off mid-character) stays UTF-8.
        return None if _bytes_encoding(body) == _UTF8 else "cp1252"
    if declared in _WESTERN:
        try:
            body.decode(_UTF8)
        except UnicodeDecodeError:
            return None
        return _UTF8
    return None


class EncodingRepairMiddleware(CrawlerComponent):
    """Downloader middleware: re-label a text response whose bytes are in another encoding."""

    def process_response(
        self, request: Request, response: Response, spider: Spider | None = None
    ) -> Response:
        if not isinstance(response, TextResponse):
            return response
        declared = _codec(response.encoding)
        actual = actual_encoding(response.body, declared, response.text)  # text: decoded once, kept
        if actual is None:
            return response
        self._inc(f"herald/encoding_repaired/{declared}_as_{actual}")
        logger.warning("Page labelled %s is %s, decoded as %s: %s", declared, actual, actual, response.url)
        return response.replace(encoding=actual)
