"""The crawl frontier on disk, so a killed crawl loses no article when it is run again.

A rerun skips articles the dataset already holds, so it never reads their pages again; the
articles those pages linked to, found but not yet stored when the crawl was killed, would be
reached by nothing. ``FrontierJournal`` appends every scheduled article request to
``<HERALD_DATASET_DIR>/.frontier/<spider>@<section>@<crawl_id>.jsonl`` (``/`` in the section
path as ``+``; one line, written through at once, so a SIGKILL keeps it). The next crawl of
the same spider and section requests again every journalled article that is still not
stored, then carries on as usual. A crawl that ends ``finished`` with every write done has
done or counted all of its work and removes the journals it read and its own; any other
ending (killed, Ctrl-C, ``CLOSESPIDER_*``, soft block, a failed write) leaves them for the
next run. A crawl never deletes another spider's or section's journals. Journals of older
releases (``<spider>-<crawl_id>.jsonl``, which did not name the section) are read by every
section of their spider and removed only once every article they list is stored.
Counted: ``herald/frontier/resumed``.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from scrapy import Request, Spider, signals
from scrapy.crawler import Crawler

from herald_spider import urls
from herald_spider.dataset.integrity import FRONTIER_DIR
from herald_spider.extensions.dataset import crawl_store, writes_dataset
from herald_spider.meta import ARTICLE_ID
from herald_spider.store import ArticleStore

logger = logging.getLogger(__name__)

#: ``<spider>-<crawl_id>.jsonl``: a journal of an older release, which did not name the section.
_LEGACY = re.compile(r"^[^@]+-[A-Za-z0-9][A-Za-z0-9_.-]*\.jsonl$")


class Frontier:
    """The journals of one spider and section in one dataset: read pending articles, append new ones."""

    def __init__(self, store: ArticleStore, spider_name: str, section: str) -> None:
        self.store = store
        self.section = section
        self.directory = store.dataset_dir / FRONTIER_DIR
        self.prefix = f"{spider_name}@{section.replace('/', '+')}@"
        self.legacy_prefix = f"{spider_name}-"
        self.own = self.directory / f"{self.prefix}{store.crawl_id}.jsonl"
        #: Journals of earlier crawls of this spider and section, read by :meth:`pending`.
        self.read: list[Path] = []
        #: Journals of an older release read by :meth:`pending` (possibly another section's).
        self.read_legacy: list[Path] = []
        self._handle: IO[str] | None = None

    @classmethod
    def of(cls, store: ArticleStore, spider: Spider) -> Frontier:
        """The crawl's frontier, kept in its state, made for ``spider`` on first use."""
        if store.frontier is None:
            store.frontier = cls(store, spider.name, getattr(spider, "section", ""))
        return store.frontier

    def _journals(self) -> Iterator[tuple[Path, bool]]:
        """Earlier journals this crawl may resume: (path, written by an older release)."""
        if not self.directory.is_dir():
            return
        for journal in sorted(self.directory.glob("*.jsonl")):
            if journal == self.own or journal.is_symlink():
                continue
            if journal.name.startswith(self.prefix):
                yield journal, False
            elif journal.name.startswith(self.legacy_prefix) and _LEGACY.match(journal.name):
                yield journal, True

    def pending(self) -> Iterator[tuple[str, str]]:
        """``(url, article ID)`` of articles journalled by earlier crawls and still not stored."""
        seen: set[str] = set()
        for journal, legacy in self._journals():
            (self.read_legacy if legacy else self.read).append(journal)
            for url, article_id in _entries(journal):
                if article_id in seen or self.store.is_known(article_id):
                    continue
                if urls.article_id(url) == article_id and urls.article_path_under(url, self.section):
                    seen.add(article_id)
                    yield url, article_id

    def record(self, url: str, article_id: str) -> None:
        if self._handle is None:
            self.directory.mkdir(parents=True, exist_ok=True)
            # A new file of this crawl's own, never one reached through a link.
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND | os.O_NOFOLLOW | os.O_CLOEXEC
            # line-buffered: each entry reaches the OS at once and survives a SIGKILL
            self._handle = open(os.open(self.own, flags, 0o644), "w", encoding="utf-8", buffering=1)  # noqa: SIM115
        self._handle.write(json.dumps({"url": url, "article_id": article_id}) + "\n")

    def close(self, finished: bool) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None
        if not finished:
            return
        for journal in [*self.read, self.own]:
            journal.unlink(missing_ok=True)
        for journal in self.read_legacy:
            if all(self.store.is_known(article_id) for _, article_id in _entries(journal)):
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
        writes_dataset(crawler)
        self.crawler = crawler
        self._store: ArticleStore | None = None
        crawler.signals.connect(self.request_scheduled, signal=signals.request_scheduled)
        crawler.signals.connect(self.spider_opened, signal=signals.spider_opened)

    @property
    def store(self) -> ArticleStore:
        """The crawl's state (asked for once the extensions are all built)."""
        if self._store is None:
            self._store = crawl_store(self.crawler)
        return self._store

    def spider_opened(self) -> None:
        # Connected now, after every component connected its own spider_closed receivers (the
        # last batch of links), so a write that fails when the spider closes keeps the journal.
        self.crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> FrontierJournal:
        return cls(crawler)

    def request_scheduled(self, request: Request, spider: Spider) -> None:
        article_id = request.meta.get(ARTICLE_ID)
        # a crawl shared through Redis keeps its frontier, and what each process holds, there
        if article_id and self.store.shared is None:
            try:
                Frontier.of(self.store, spider).record(request.url, article_id)
            except OSError as exc:
                self.store.write_failed(self.crawler, exc)

    def spider_closed(self, spider: Spider, reason: str) -> None:
        frontier = self.store.frontier
        if frontier is not None:
            finished = reason == "finished" and not self.store.write_failures
            frontier.close(finished=finished)
            if not finished:
                logger.info("Crawl ended (%s): the next run resumes from %s", reason, frontier.own)


def resumed(crawler: Crawler, spider: Any) -> Iterator[tuple[str, str]]:
    """Pending articles of earlier, unfinished crawls, logged and counted (none when the
    command does not write the dataset: ``scrapy parse``, ``shell``)."""
    if not crawler.settings.getbool("HERALD_WRITE_DATASET"):
        return
    for url, article_id in Frontier.of(crawl_store(crawler), spider).pending():
        assert crawler.stats is not None
        crawler.stats.inc_value("herald/frontier/resumed")
        logger.debug("Resuming article %s from an unfinished crawl: %s", article_id, url)
        yield url, article_id
