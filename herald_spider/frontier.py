"""The crawl frontier on disk, so a killed crawl loses no article when it is run again.

A rerun skips articles the dataset already holds, so it never reads their pages again; the
articles those pages linked to, found but not yet stored when the crawl was killed, would be
reached by nothing. ``FrontierJournal`` appends every scheduled article request to
``<HERALD_DATASET_DIR>/.frontier/<spider>-<crawl_id>.jsonl`` (one line, written through at
once, so a SIGKILL keeps it). The next crawl of the same spider requests again every
journalled article that is still not stored, then carries on as usual. A crawl that ends
``finished`` has done or counted all of its work and removes the journals it read and its
own; any other ending (killed, Ctrl-C, ``CLOSESPIDER_*``, soft block) leaves them for the
next run. Counted: ``herald/frontier/resumed``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from scrapy import Request, Spider, signals
from scrapy.crawler import Crawler

from herald_spider import urls
from herald_spider.middlewares import ARTICLE_ID
from herald_spider.store import ArticleStore

logger = logging.getLogger(__name__)

FRONTIER_DIR = ".frontier"
_ATTRIBUTE = "_herald_frontier"


class Frontier:
    """The journals of one spider in one dataset: read pending articles, append new ones."""

    def __init__(self, store: ArticleStore, spider_name: str) -> None:
        self.store = store
        self.directory = store.dataset_dir / FRONTIER_DIR
        self.prefix = f"{spider_name}-"
        self.own = self.directory / f"{self.prefix}{store.crawl_id}.jsonl"
        self.read: list[Path] = []
        self._handle: IO[str] | None = None

    @classmethod
    def for_crawler(cls, crawler: Crawler, spider: Spider) -> Frontier:
        frontier = getattr(crawler, _ATTRIBUTE, None)
        if frontier is None:
            frontier = cls(ArticleStore.for_crawler(crawler), spider.name)
            setattr(crawler, _ATTRIBUTE, frontier)
        return frontier

    def pending(self, section: str) -> Iterator[tuple[str, str]]:
        """``(url, article ID)`` of articles journalled by earlier crawls and still not stored."""
        seen: set[str] = set()
        journals = sorted(self.directory.glob(f"{self.prefix}*.jsonl")) if self.directory.is_dir() else []
        for journal in journals:
            if journal == self.own:
                continue
            self.read.append(journal)
            for url, article_id in _entries(journal):
                if article_id in seen or self.store.is_known(article_id):
                    continue
                if urls.article_id(url) == article_id and urls.article_path_under(url, section):
                    seen.add(article_id)
                    yield url, article_id

    def record(self, url: str, article_id: str) -> None:
        if self._handle is None:
            self.directory.mkdir(parents=True, exist_ok=True)
            # line-buffered: each entry reaches the OS at once and survives a SIGKILL
            self._handle = self.own.open("a", encoding="utf-8", buffering=1)
        self._handle.write(json.dumps({"url": url, "article_id": article_id}) + "\n")

    def close(self, finished: bool) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None
        if finished:
            for journal in [*self.read, self.own]:
                journal.unlink(missing_ok=True)


def _entries(journal: Path) -> Iterator[tuple[str, str]]:
    """Entries of a journal; a line cut off by a kill, or anything not an entry, is skipped."""
    with journal.open(encoding="utf-8", errors="replace") as handle:
        for line in handle:
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if isinstance(entry, dict) and isinstance(entry.get("url"), str):
                yield entry["url"], str(entry.get("article_id"))


class FrontierJournal:
    """Extension: journal scheduled article requests; clean up when the crawl finishes."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        crawler.signals.connect(self.request_scheduled, signal=signals.request_scheduled)
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> FrontierJournal:
        return cls(crawler)

    def request_scheduled(self, request: Request, spider: Spider) -> None:
        article_id = request.meta.get(ARTICLE_ID)
        if article_id:
            Frontier.for_crawler(self.crawler, spider).record(request.url, article_id)

    def spider_closed(self, spider: Spider, reason: str) -> None:
        frontier: Frontier | None = getattr(self.crawler, _ATTRIBUTE, None)
        if frontier is not None:
            frontier.close(finished=reason == "finished")
            if reason != "finished":
                logger.info("Crawl ended (%s): the next run resumes from %s", reason, frontier.own)


def resumed(crawler: Crawler, spider: Any, section: str) -> Iterator[tuple[str, str]]:
    """Pending articles of earlier, unfinished crawls, logged and counted."""
    for url, article_id in Frontier.for_crawler(crawler, spider).pending(section):
        assert crawler.stats is not None
        crawler.stats.inc_value("herald/frontier/resumed")
        logger.debug("Resuming article %s from an unfinished crawl: %s", article_id, url)
        yield url, article_id
