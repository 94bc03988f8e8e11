"""Structured data embedded in a page: JSON-LD and ``Fusion.globalContent`` (docs/site.md §2.2, §3).

Both parsers are tolerant: a block that cannot be decoded is reported in ``problems`` and
skipped, never raised, so one broken script does not cost the rest of the page.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

ARTICLE_TYPES = frozenset(
    {
        "Article",
        "NewsArticle",
        "ReportageNewsArticle",
        "AnalysisNewsArticle",
        "OpinionNewsArticle",
        "BlogPosting",
        "LiveBlogPosting",
    }
)

_CDATA = re.compile(r"^\s*(?://\s*)?<!\[CDATA\[(.*?)(?://\s*)?\]\]>\s*$", re.DOTALL)
_TRAILING_COMMA = re.compile(r",\s*([}\]])")
_FUSION_GLOBAL = re.compile(r"Fusion\.globalContent\s*=\s*")


@dataclass
class Decoded:
    """What was decoded, and a short description of each block that was not."""

    objects: list[dict[str, Any]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def _loads_lenient(text: str) -> Any:
    """json.loads, then again after removing CDATA wrappers, trailing ';' and trailing commas.

    >>> _loads_lenient('{"a": [1, 2,],};')
    {'a': [1, 2]}
    >>> _loads_lenient('<![CDATA[{"a": 1}]]>')
    {'a': 1}
    """
    try:
        return json.loads(text)
    except ValueError:
        pass
    cleaned = text.strip()
    match = _CDATA.match(cleaned)
    if match:
        cleaned = match.group(1).strip()
    cleaned = cleaned.rstrip(";").strip()
    cleaned = _TRAILING_COMMA.sub(r"\1", cleaned)
    return json.loads(cleaned)


def _flatten(value: Any) -> Iterator[dict[str, Any]]:
    if isinstance(value, list):
        for item in value:
            yield from _flatten(item)
    elif isinstance(value, dict):
        yield value
        if "@graph" in value:
            yield from _flatten(value["@graph"])


def decode_json_ld(blocks: Iterable[str]) -> Decoded:
    """Every JSON-LD object in the given script texts, flattening lists and ``@graph``.

    >>> d = decode_json_ld(['{"@type": "Article", "headline": "A",}', '{oops'])
    >>> [o["headline"] for o in d.objects], len(d.problems)
    (['A'], 1)
    """
    decoded = Decoded()
    for index, text in enumerate(blocks):
        if not text or not text.strip():
            continue
        try:
            value = _loads_lenient(text)
        except ValueError as exc:
            decoded.problems.append(f"JSON-LD block {index + 1}: {exc}")
            continue
        decoded.objects.extend(_flatten(value))
    return decoded


def _types(obj: dict[str, Any]) -> set[str]:
    value = obj.get("@type")
    if isinstance(value, str):
        return {value}
    if isinstance(value, list):
        return {v for v in value if isinstance(v, str)}
    return set()


def article_objects(objects: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The JSON-LD objects that describe an article (``Article``, ``NewsArticle``, ...).

    >>> article_objects([{"@type": "BreadcrumbList"}, {"@type": ["NewsArticle"]}])
    [{'@type': ['NewsArticle']}]
    """
    return [obj for obj in objects if _types(obj) & ARTICLE_TYPES]


def breadcrumb_urls(objects: Iterable[dict[str, Any]]) -> list[str]:
    """The item URLs of a JSON-LD ``BreadcrumbList``, in position order."""
    urls: list[str] = []
    for obj in objects:
        if "BreadcrumbList" not in _types(obj):
            continue
        items = obj.get("itemListElement")
        for element in items if isinstance(items, list) else []:
            item = element.get("item") if isinstance(element, dict) else None
            if isinstance(item, dict):
                item = item.get("@id") or item.get("url")
            if isinstance(item, str):
                urls.append(item)
    return urls


def decode_fusion(scripts: Iterable[str]) -> Decoded:
    """``Fusion.globalContent`` from the page's scripts, decoded with ``raw_decode``.

    >>> d = decode_fusion(['Fusion.arcSite="nzh";Fusion.globalContent={"id":"X","isPremium":true};'])
    >>> d.objects
    [{'id': 'X', 'isPremium': True}]
    >>> decode_fusion(['Fusion.globalContent={"id":"X","a":}']).problems
    ['Fusion.globalContent: Expecting value: line 1 column 36 (char 35)']
    """
    decoded = Decoded()
    decoder = json.JSONDecoder()
    for text in scripts:
        if not text or "Fusion.globalContent" not in text:
            continue
        match = _FUSION_GLOBAL.search(text)
        if not match:
            continue
        try:
            value, _ = decoder.raw_decode(text, match.end())
        except ValueError as exc:
            decoded.problems.append(f"Fusion.globalContent: {exc}")
            continue
        if isinstance(value, dict):
            decoded.objects.append(value)
        break
    return decoded


def first_str(*values: Any) -> str | None:
    """The first value that is a non-empty string.

    >>> first_str(None, "", ["a"], "b")
    'b'
    """
    for value in values:
        if isinstance(value, str) and value.strip():
            return value
    return None


def dig(obj: Any, *path: str | int) -> Any:
    """Follow keys and indexes into nested JSON, None where the path breaks.

    >>> dig({"a": [{"b": 1}]}, "a", 0, "b")
    1
    >>> dig({"a": "x"}, "a", "b") is None
    True
    """
    for key in path:
        if isinstance(key, int):
            if not isinstance(obj, list) or not -len(obj) <= key < len(obj):
                return None
            obj = obj[key]
        else:
            if not isinstance(obj, dict):
                return None
            obj = obj.get(key)
    return obj


def as_list(value: Any) -> list[Any]:
    """A JSON value as a list (a lone object becomes a one-item list; None, empty).

    >>> as_list({"a": 1}), as_list(None), as_list([1])
    ([{'a': 1}], [], [1])
    """
    if value is None:
        return []
    return value if isinstance(value, list) else [value]
