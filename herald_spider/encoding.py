"""Pages whose bytes contradict their declared encoding, decoded the way they were written.

A Windows-1252 page labelled UTF-8 would otherwise come out with U+FFFD where its curly
quotes and macrons were, and a UTF-8 page labelled Windows-1252 as mojibake (``â€™``).
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


def _codec(name: str) -> str:
    try:
        return codecs.lookup(name).name
    except LookupError:
        return name


def actual_encoding(body: bytes, declared: str, text: str | None = None) -> str | None:
    """The encoding ``body`` is really in when it contradicts ``declared``, else None.

    ``text``, when given, is ``body`` as a response decodes it under ``declared`` (a bad
    sequence becomes U+FFFD): without U+FFFD, a UTF-8 body needs no second decode to be valid.

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
    """
    if body.isascii():
        return None
    declared = _codec(declared)
    if declared == _UTF8:
        # A UTF-16 or UTF-32 byte-order mark decides the text's encoding, not the label.
        if text is not None and "\ufffd" not in text and not body.startswith(_WIDE_BOMS):
            return None
        try:
            body.decode(_UTF8)
        except UnicodeDecodeError:
            # Real UTF-8 with a damaged sequence (a page cut off mid-character) stays UTF-8.
            decoded = body.decode(_UTF8, "replace")
            return None if any(ord(c) > 127 and c != "\ufffd" for c in decoded) else "cp1252"
        return None
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
