"""The ``runs`` table (one row per crawl) and compaction at the end of a crawl.

:class:`RunRecorder` reads the crawl's stats when the spider closes, writes its row to
``<dataset>/runs/``, then compacts every table whose file count passed ``HERALD_COMPACT_FILES``
or that holds files of an older schema version, when the engine stops. The dataset lock is
still held then (:class:`herald_spider.extensions.dataset.DatasetExtension` releases it after).
"""

from __future__ import annotations

import logging
from dataclasses import fields
from datetime import UTC, datetime
from typing import Any

from scrapy import Spider, signals
from scrapy.crawler import Crawler

from herald_spider.dataset.files import read_table, write_table
from herald_spider.dataset.maintenance import compact_table, needs_compaction
from herald_spider.dataset.schema import RUNS, TABLES, to_table
from herald_spider.extensions.dataset import crawl_store, writes_dataset
from herald_spider.extensions.shared import end_shared_crawl
from herald_spider.health import Thresholds, judge, summary, was_healthy
from herald_spider.items import Article
from herald_spider.store import WRITE_FAILED, ArticleStore

logger = logging.getLogger(__name__)

RUNS_DIR = "runs"


def _counts(stats: dict[str, Any], prefix: str) -> list[dict[str, Any]]:
    return sorted(
        (
            {"name": key.removeprefix(prefix), "count": int(value)}
            for key, value in stats.items()
            if key.startswith(prefix)
        ),
        key=lambda entry: entry["name"],
    )


def run_row(
    stats: dict[str, Any], spider: Spider, reason: str, started_at: datetime, worker: str | None = None
) -> dict[str, Any]:
    """The ``runs`` row of a crawl (of one process of a shared crawl: ``worker``), from its stats."""
    stored = int(stats.get("herald/coverage/rows", 0))
    backfill = getattr(spider, "backfill", None)
    coverage = [
        {"name": f.name, "share": stats.get(f"herald/coverage/{f.name}", 0) / stored if stored else None}
        for f in fields(Article)
    ]
    return {
        "crawl_id": stats.get("herald/crawl_id"),
        "worker": worker,
        "spider": spider.name,
        "section": getattr(spider, "section", None),
        "refresh": getattr(spider, "refresh", "") or None,
        "since": backfill.window.since if backfill else None,
        "until": backfill.window.until if backfill else None,
        "started_at": started_at,
        "finished_at": datetime.now(UTC).replace(microsecond=0),
        "finish_reason": reason,
        "pages_fetched": int(stats.get("response_received_count", 0)),
        "articles_stored": int(stats.get("herald/articles_stored", 0)),
        "articles_skipped_known": int(stats.get("herald/articles_skipped_known", 0)),
        "articles_refreshed": int(stats.get("herald/refresh/unchanged", 0))
        + int(stats.get("herald/refresh/revised", 0)),
        "articles_revised": int(stats.get("herald/refresh/revised", 0)),
        "dropped": _counts(stats, "herald/dropped/"),
        "http_errors": _counts(stats, "herald/http_errors/"),
        "request_failures": _counts(stats, "herald/request_failures/"),
        "sections_failed": int(stats.get("herald/sections_failed", 0)),
        "discovery": _counts(stats, "herald/discovery/"),
        "field_coverage": coverage,
    }


class RunRecorder:
    def __init__(self, crawler: Crawler) -> None:
        writes_dataset(crawler)
        self.crawler = crawler
        self.store: ArticleStore | None = None  # the crawl's state, once the spider is open
        self.finished = False  # the spider closed "finished", with every write done
        self.max_files = crawler.settings.getint("HERALD_COMPACT_FILES")
        self.grace = crawler.settings.getfloat("HERALD_COMPACT_GRACE_SECONDS")
        self.started_at = datetime.now(UTC).replace(microsecond=0)
        settings = crawler.settings
        self.thresholds = Thresholds(
            max_failed_share=settings.getfloat("HERALD_MAX_FAILED_SHARE"),
            coverage_drop=settings.getfloat("HERALD_COVERAGE_DROP"),
            max_dropped_share=settings.getfloat("HERALD_MAX_DROPPED_SHARE"),
            runs=settings.getint("HERALD_MONITOR_RUNS"),
        )
        self.live = not settings.get("HERALD_REPLAY")
        crawler.signals.connect(self.spider_opened, signal=signals.spider_opened)
        # After spider_closed, so the files that other components write when the spider closes
        # (the last batch of links) are compacted too; the lock is released after this.
        crawler.signals.connect(self.compact, signal=signals.engine_stopped)

    def spider_opened(self) -> None:
        self.store = crawl_store(self.crawler)
        # Connected now, after every component connected its own spider_closed receivers (the
        # last batch of links), so the row knows whether their writes failed.
        self.crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RunRecorder:
        return cls(crawler)

    def spider_closed(self, spider: Spider, reason: str) -> None:
        assert self.crawler.stats is not None and self.store is not None
        if self.store.write_failures:
            reason = WRITE_FAILED  # whatever ended the crawl, what it fetched is not all stored
        stats = self.crawler.stats.get_stats()
        self.finished = reason == "finished"
        row = run_row(stats, spider, reason, self.started_at, self.store.worker)
        verdict = judge(stats, reason, row, self._history(row), live=self.live, thresholds=self.thresholds)
        self.store.verdict = verdict
        row["verdict"] = verdict.word
        row["failed_checks"] = [message for _, message in verdict.failures]
        for line in summary(stats, row, verdict):
            (logger.info if verdict.healthy else logger.warning)(line)
        try:
            write_table(
                self.store.dataset_dir / RUNS_DIR, to_table([row], RUNS), f"run-{self.store.file_tag}"
            )
        except OSError as exc:
            self.store.write_failed(self.crawler, exc)

    def _history(self, row: dict[str, Any]) -> list[dict[str, Any]]:
        """The healthy runs of this spider and section before this one, oldest first."""
        assert self.store is not None
        try:
            runs = read_table(self.store.dataset_dir / RUNS_DIR, "runs").to_pylist()
        except OSError as exc:
            logger.warning("The runs before this crawl could not be read, no monitor compares: %s", exc)
            return []
        same = [
            r
            for r in runs
            if r["spider"] == row["spider"]
            and r["section"] == row["section"]
            and r["crawl_id"] != row["crawl_id"]
        ]
        return sorted((r for r in same if was_healthy(r)), key=lambda r: r["started_at"] or self.started_at)

    def compact(self) -> None:
        """Compact what needs it (logged: the closing stats were already dumped).

        A compaction that fails leaves its table as it was (nothing is lost, only not yet
        compacted): logged, and left to the next crawl or ``herald-dataset compact``.
        """
        if self.store is None:
            return  # the spider never opened
        if self.store.shared is not None:
            lock = self.store.lock
            if lock is None or not lock.last_holder():
                logger.info(
                    "Other processes of shared crawl %s still write the dataset: the last one to "
                    "finish compacts it",
                    self.store.crawl_id,
                )
                return
            end_shared_crawl(self.store, self.finished)
        for table in TABLES:
            try:
                if needs_compaction(self.store.dataset_dir, table, self.max_files):
                    # Streamed (a bounded batch at a time), so a crawl's memory does not grow
                    # with the table it compacts.
                    logger.info("Compacting %s (over %d files, or an older schema)", table, self.max_files)
                    compact_table(self.store.dataset_dir, table, grace=self.grace)
            except OSError as exc:
                logger.error(
                    "Compaction of %s failed, the table is as it was: %s (run `herald-dataset compact "
                    "%s` once it can be written)",
                    table,
                    exc,
                    self.store.dataset_dir,
                )
