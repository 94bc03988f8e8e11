"""Feed exporters (``scrapy crawl world -O items.jsonl``) that write every timestamp one way:
ISO 8601 in UTC with ``Z`` (``2025-06-18T20:15:00Z``), as ``herald-dataset export`` does
(:mod:`herald_spider.dataset.timestamps`).

Scrapy's own exporters write a ``datetime`` as its JSON encoder or ``str()`` shapes it
(``2025-06-18T20:15:00+00:00`` in JSON, ``2025-06-18 20:15:00+00:00`` in CSV and XML, and marshal
cannot write one at all). These are Scrapy's classes with one change, in ``serialize_field``,
the hook Scrapy gives exporters for a field's value; ``FEED_EXPORTERS`` in
herald_spider/settings.py puts them in place of Scrapy's for the same format names. The pickle
exporter keeps Python ``datetime`` objects, which are not text. The CSV one also writes nested
values (an article's images) as JSON text rather than Python's repr.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from scrapy import exporters

from herald_spider.dataset.timestamps import iso_utc


def iso_timestamps(value: Any) -> Any:
    """``value`` with every ``datetime`` in it, in lists and mappings too, as :func:`iso_utc`.

    >>> from datetime import UTC
    >>> iso_timestamps([{"at": datetime(2022, 1, 13, 20, 32, tzinfo=UTC), "n": 1}, "x"])
    [{'at': '2022-01-13T20:32:00Z', 'n': 1}, 'x']
    """
    if isinstance(value, datetime):
        return iso_utc(value)
    if isinstance(value, list | tuple):
        return [iso_timestamps(v) for v in value]
    if isinstance(value, Mapping):
        return {k: iso_timestamps(v) for k, v in value.items()}
    return value


class IsoTimestampsMixin:
    """Hand the exporter's own ``serialize_field`` the value with its timestamps as text."""

    def serialize_field(self, field: Any, name: str, value: Any) -> Any:
        return super().serialize_field(field, name, iso_timestamps(value))  # type: ignore[misc]


class JsonLinesItemExporter(IsoTimestampsMixin, exporters.JsonLinesItemExporter):
    pass


class JsonItemExporter(IsoTimestampsMixin, exporters.JsonItemExporter):
    pass


class CsvItemExporter(IsoTimestampsMixin, exporters.CsvItemExporter):
    """Scrapy's CSV exporter; a value it cannot join into one cell (a mapping, a list of
    mappings or lists: an article's images) is written as JSON text, not as Python's repr."""

    def serialize_field(self, field: Any, name: str, value: Any) -> Any:
        return super().serialize_field(field, name, nested_as_json(value))


def nested_as_json(value: Any) -> Any:
    """A mapping, or a list holding mappings or lists, as JSON text; anything else as it is.

    >>> nested_as_json([{"url": "https://x/a.jpg", "caption": "Ō"}])
    '[{"url": "https://x/a.jpg", "caption": "Ō"}]'
    >>> nested_as_json(["Anton Troianovski"]), nested_as_json(None)
    (['Anton Troianovski'], None)
    """
    if isinstance(value, Mapping) or (
        isinstance(value, list | tuple) and any(isinstance(v, Mapping | list | tuple) for v in value)
    ):
        return json.dumps(iso_timestamps(value), ensure_ascii=False)
    return value


class XmlItemExporter(IsoTimestampsMixin, exporters.XmlItemExporter):
    pass


class MarshalItemExporter(IsoTimestampsMixin, exporters.MarshalItemExporter):
    pass
