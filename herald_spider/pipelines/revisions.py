"""Keeping the revisions of stored articles.

:class:`RevisionPipeline` gives every stored article its ``revision``, ``first_seen_at`` and
``last_seen_at``, appends every distinct version to ``article_revisions/``, and at the end of
the crawl replaces the rows of refetched articles (``-a refresh=...``) in one atomic swap
(:func:`herald_spider.dataset.maintenance.apply_refetched`).
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import fields
from typing import Any

from itemadapter import ItemAdapter
from scrapy.crawler import Crawler

from herald_spider.component import CrawlerComponent
from herald_spider.dataset.files import RowBuffer, WriteFailed
from herald_spider.dataset.maintenance import apply_refetched
from herald_spider.dataset.schema import ARTICLE_REVISIONS
from herald_spider.extensions.dataset import crawl_store
from herald_spider.items import Article, row_of

logger = logging.getLogger(__name__)

REVISIONS_DIR = "article_revisions"
_FIELDS = [f.name for f in fields(Article)]


class RevisionPipeline(CrawlerComponent):
    """Stamp revisions, append versions to ``article_revisions/``, replace refetched rows.

    Also counts, per field, how many stored articles have a value (``herald/coverage/...``),
    which the ``runs`` table reports as shares. The counts go into the crawl stats with each
    batch of revisions and when the spider closes (seventeen stats calls per article cost
    more than the rest of the pipeline).
    """

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        self.store = crawl_store(crawler)
        self.batch_rows = crawler.settings.getint("HERALD_BATCH_ROWS")
        self.grace = crawler.settings.getfloat("HERALD_COMPACT_GRACE_SECONDS")
        self.revisions = RowBuffer(
            self.store.dataset_dir / REVISIONS_DIR, ARTICLE_REVISIONS, self.store.file_tag, self.batch_rows
        )
        self.fetched_again: dict[str, dict[str, Any]] = {}
        self.coverage: Counter[str] = Counter()

    def process_item(self, item: Any, spider: Any = None) -> Any:
        adapter = ItemAdapter(item)
        row = row_of(item)
        article_id = row["article_id"]
        if article_id in self.store.refresh_pending:
            self.store.refresh_pending.discard(article_id)
            self.store.refetched.add(article_id)
            row["crawl_id"] = self.store.crawl_id
            self.fetched_again[article_id] = row
            return item
        first = {"revision": 1, "first_seen_at": row["fetched_at"], "last_seen_at": row["fetched_at"]}
        for name, value in first.items():
            adapter[name] = value
        row.update(first, crawl_id=self.store.crawl_id)
        self._stored(row)
        return item

    def _stored(self, row: dict[str, Any]) -> None:
        """A version that is now in ``articles``: count its coverage, keep it as a revision."""
        self.coverage["rows"] += 1
        for name in _FIELDS:
            if row.get(name) not in (None, "", []):
                self.coverage[name] += 1
        try:
            written = self.revisions.append(row)
        except WriteFailed as exc:
            self.store.write_failed(self.crawler, exc)
            return
        if written is not None:
            self._count_coverage()

    def _count_coverage(self) -> None:
        for name, count in self.coverage.items():
            self._inc(f"herald/coverage/{name}", count)
        self.coverage.clear()

    def close_spider(self, spider: Any = None) -> None:
        if self.fetched_again:
            try:
                outcome = apply_refetched(self.store.dataset_dir, self.fetched_again, grace=self.grace)
            except OSError as exc:  # the table is left as it was
                self.store.write_failed(self.crawler, exc)
                self.flush()
                return
            self._inc("herald/refresh/unchanged", outcome.unchanged)
            self._inc("herald/refresh/revised", len(outcome.revised))
            for earlier in outcome.earlier:
                self.revisions.append(earlier)
            for row in outcome.revised:
                self._stored(row)
            logger.info(
                "Refreshed %d stored articles: %d changed, %d unchanged",
                len(self.fetched_again),
                len(outcome.revised),
                outcome.unchanged,
            )
        self.flush()

    def flush(self) -> None:
        try:
            self.revisions.flush()
        except WriteFailed as exc:
            self.store.write_failed(self.crawler, exc)
        self._count_coverage()
