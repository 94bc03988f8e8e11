"""The one declared Parquet schema of the ``articles`` table. Never inferred from data."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import pyarrow as pa

#: Version 2 added ``revision``, ``first_seen_at`` and ``last_seen_at``; version 3 added the
#: ``runs`` columns ``since``, ``until`` and ``discovery``; version 4 the ``runs`` columns
#: ``verdict``, ``failed_checks``, ``request_failures`` and ``sections_failed``; version 5 the
#: ``articles`` (and ``article_revisions``) columns ``keywords``, ``topics``, ``language``,
#: ``images``, ``body_blocks``, ``subheadings`` and ``body_html``; version 6 the ``runs`` column
#: ``worker`` (one row per process of a crawl shared through Redis). Files of an older version
#: still read as one dataset (the new columns read as null) and compaction upgrades them.
SCHEMA_VERSION = "6"

_TS = pa.timestamp("us", tz="UTC")
_STRINGS = pa.list_(pa.string())
#: ``Article.images``: one struct per image, lead image first
_IMAGES = pa.list_(
    pa.struct(
        [
            pa.field("url", pa.string()),
            pa.field("caption", pa.string()),
            pa.field("credit", pa.string()),
            pa.field("width", pa.int32()),
            pa.field("height", pa.int32()),
        ]
    )
)
#: ``Article.body_blocks``: kind is "paragraph", "subheading", "quote" or "list_item"
_BLOCKS = pa.list_(pa.struct([pa.field("kind", pa.string()), pa.field("text", pa.string())]))

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
        pa.field("keywords", _STRINGS),
        pa.field("topics", _STRINGS),
        pa.field("language", pa.string()),
        pa.field("images", _IMAGES),
        pa.field("body_blocks", _BLOCKS),
        pa.field("subheadings", _STRINGS),
        pa.field("body_html", pa.string()),
        pa.field("content_hash", pa.string()),
        pa.field("fetched_at", _TS),
        pa.field("crawl_id", pa.string()),
        pa.field("revision", pa.int32()),
        pa.field("first_seen_at", _TS),
        pa.field("last_seen_at", _TS),
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


def _table_metadata(table: str) -> dict[str, str]:
    return {"herald_spider.table": table, "herald_spider.schema_version": SCHEMA_VERSION}


#: Every distinct version of every article: the ``articles`` columns, keyed by
#: (``article_id``, ``revision``).
ARTICLE_REVISIONS = ARTICLES.with_metadata(_table_metadata("article_revisions"))

#: One row per link seen on a fetched page (followed or not).
LINKS = pa.schema(
    [
        pa.field("from_url", pa.string(), nullable=False),
        pa.field("to_url", pa.string(), nullable=False),
        pa.field("kind", pa.string(), nullable=False),
        pa.field("seen_at", _TS, nullable=False),
        pa.field("crawl_id", pa.string(), nullable=False),
    ],
    metadata=_table_metadata("links"),
)

_COUNTS = pa.list_(pa.struct([pa.field("name", pa.string()), pa.field("count", pa.int64())]))
_SHARES = pa.list_(pa.struct([pa.field("name", pa.string()), pa.field("share", pa.float64())]))

#: One row per crawl (per process of a shared crawl).
RUNS = pa.schema(
    [
        pa.field("crawl_id", pa.string(), nullable=False),
        # the process, in a crawl several processes share through Redis (HERALD_REDIS_URL): one
        # row each; null for a crawl of one process
        pa.field("worker", pa.string()),
        pa.field("spider", pa.string(), nullable=False),
        pa.field("section", pa.string()),
        pa.field("refresh", pa.string()),
        # a backfill's window (-a since / -a until), null for other crawls
        pa.field("since", pa.date32()),
        pa.field("until", pa.date32()),
        pa.field("started_at", _TS),
        pa.field("finished_at", _TS),
        pa.field("finish_reason", pa.string()),
        # "healthy" or "failed" (herald_spider/health.py), and the checks that failed, worded
        pa.field("verdict", pa.string()),
        pa.field("failed_checks", _STRINGS),
        pa.field("pages_fetched", pa.int64()),
        pa.field("articles_stored", pa.int64()),
        pa.field("articles_skipped_known", pa.int64()),
        pa.field("articles_refreshed", pa.int64()),
        pa.field("articles_revised", pa.int64()),
        pa.field("dropped", _COUNTS),
        pa.field("http_errors", _COUNTS),
        # requests that got no answer, by error (DNS, timeout, reset, ...); listings that failed
        pa.field("request_failures", _COUNTS),
        pa.field("sections_failed", pa.int64()),
        # articles each source led the crawl to first (links, sitemap, news-sitemap, rss), and
        # "<source>/listed": the articles under the section each listed
        pa.field("discovery", _COUNTS),
        pa.field("field_coverage", _SHARES),
    ],
    metadata=_table_metadata("runs"),
)

#: Table name -> (schema, key columns compaction deduplicates on; the last row of a key wins).
TABLES: dict[str, tuple[pa.Schema, tuple[str, ...]]] = {
    "articles": (ARTICLES, ("article_id",)),
    "article_revisions": (ARTICLE_REVISIONS, ("article_id", "revision")),
    "links": (LINKS, ()),
    "runs": (RUNS, ("crawl_id", "worker")),
}
