"""The one declared Parquet schema of the ``articles`` table. Never inferred from data."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import pyarrow as pa

SCHEMA_VERSION = "1"

_TS = pa.timestamp("us", tz="UTC")
_STRINGS = pa.list_(pa.string())

ARTICLES = pa.schema(
    [
        pa.field("article_id", pa.string(), nullable=False),
        pa.field("url", pa.string(), nullable=False),
        pa.field("section", pa.string()),
        pa.field("subsection", pa.string()),
        pa.field("section_path", pa.string()),
        pa.field("title", pa.string(), nullable=False),
        pa.field("description", pa.string()),
        pa.field("authors", _STRINGS),
        pa.field("distributor", pa.string()),
        pa.field("byline_raw", pa.string()),
        pa.field("published_at", _TS),
        pa.field("updated_at", _TS),
        pa.field("published_raw", pa.string()),
        pa.field("premium", pa.bool_(), nullable=False),
        pa.field("body", pa.string()),
        pa.field("word_count", pa.int32()),
        pa.field("read_time_minutes", pa.int32()),
        pa.field("image_url", pa.string()),
        pa.field("tags", _STRINGS),
        pa.field("content_hash", pa.string()),
        pa.field("fetched_at", _TS),
        pa.field("crawl_id", pa.string()),
    ],
    metadata={"herald_spider.table": "articles", "herald_spider.schema_version": SCHEMA_VERSION},
)


def to_table(rows: Iterable[Mapping[str, Any]], schema: pa.Schema = ARTICLES) -> pa.Table:
    """Rows (dicts keyed by column) as a table of exactly ``schema``; unknown keys are ignored.

    >>> from datetime import datetime, timezone
    >>> t = to_table([{"article_id": "A" * 26, "url": "u", "title": "t", "premium": False,
    ...                "published_at": datetime(2022, 1, 1, tzinfo=timezone.utc), "extra": 1}])
    >>> t.schema.field("published_at").type, t.num_rows, "extra" in t.column_names
    (TimestampType(timestamp[us, tz=UTC]), 1, False)
    """
    names = schema.names
    columns: dict[str, list[Any]] = {name: [] for name in names}
    for row in rows:
        for name in names:
            columns[name].append(row.get(name))
    return pa.Table.from_pydict(columns, schema=schema)
