"""``scrapy crawl``, with an exit code and last log line that say how the crawl went.

Scrapy's own ``crawl`` exits 0 after any crawl that started, and ends a crawl refused at
start with a traceback. This one (the project's ``COMMANDS_MODULE`` overrides Scrapy's) runs
the crawl the same way, then:

========  ==========================================================================
exit      meaning
========  ==========================================================================
0         the crawl ran and stored what it fetched
1         the crawl did not start: a setting, argument or dataset was refused (the
          last log line says which and what to do), or Scrapy could not start it
2         the command line was wrong (Scrapy's usage error)
3         the crawl could not write what it fetched (finish reason ``write_failed``:
          no space, a read-only or vanished dataset); the next run fetches it again
4         the site could not be crawled: no page came back, the start page (the
          section listing, or a backfill's sitemap index) failed, or the crawl was
          soft-blocked
5         the crawl ran but failed a check: too many failed article requests
          (``HERALD_MAX_FAILED_SHARE``), a field's coverage fell against the last
          healthy runs (``HERALD_COVERAGE_DROP``), too many items dropped for missing
          fields, or no new article on a live crawl where the runs before found some
6         a process of a crawl shared through Redis lost Redis mid-crawl (finish
          reason ``redis_lost``): it wrote what it had; the next run resumes
========  ==========================================================================

Codes 4 and 5 come from :mod:`herald_spider.health`; the ``runs`` row carries the verdict and
the failed checks, and the closing summary names each with its figures.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from typing import TYPE_CHECKING, Any

from scrapy.commands import crawl
from scrapy.spiderloader import get_spider_loader

from herald_spider.errors import Refused

if TYPE_CHECKING:
    import argparse

    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_NOT_STARTED = 1
EXIT_WRITE_FAILED = 3


class Command(crawl.Command):
    def process_options(self, args: list[str], opts: argparse.Namespace) -> None:
        super().process_options(args, opts)
        assert self.settings is not None
        self.settings.set("HERALD_WRITE_DATASET", True, priority="cmdline")  # only crawl writes
        if len(args) == 1:
            self._check_arguments(args[0], opts.spargs)

    def _check_arguments(self, name: str, spargs: dict[str, Any]) -> None:
        """Check the spider's arguments before Scrapy starts (a spider class that can, can):
        a wrong one ends the command at once with one line and exit code 1."""
        assert self.settings is not None
        loader = get_spider_loader(self.settings)
        try:
            spidercls = loader.load(name)
        except KeyError:  # Scrapy would end in a traceback
            known = ", ".join(loader.list())
            print(
                f"Crawl refused, nothing was fetched or written: no spider {name!r} ({known})",
                file=sys.stderr,
            )
            raise SystemExit(EXIT_NOT_STARTED) from None
        check = getattr(spidercls, "check_arguments", None)
        if check is None:
            return
        try:
            check(**spargs)
        except Refused as refused:
            print(f"Crawl refused, nothing was fetched or written: {refused}", file=sys.stderr)
            raise SystemExit(EXIT_NOT_STARTED) from None

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        if len(args) != 1:
            super().run(args, opts)  # Scrapy's usage errors, as Scrapy words them
            return
        assert self.crawler_process is not None
        crawler = self._create_crawler(args[0])
        refusals: list[Refused] = []
        started = self.crawler_process.crawl(crawler, **opts.spargs)
        if isinstance(started, asyncio.Future):
            started.add_done_callback(lambda task: _retrieve(task, refusals))
        self.crawler_process.start()
        self.exitcode = self._outcome(crawler, refusals)

    def _outcome(self, crawler: Crawler, refusals: list[Refused]) -> int:
        if refusals:
            _last_words(f"Crawl refused, nothing was fetched or written: {refusals[0]}")
            return EXIT_NOT_STARTED
        if self.crawler_process is not None and self.crawler_process.bootstrap_failed:
            _last_words("The crawl could not start (see the error above)")
            return EXIT_NOT_STARTED
        # Imported here: Scrapy imports this module for every command (the benchmark's floor
        # spider's runspider too), and the store brings pyarrow.
        from herald_spider.extensions.dataset import DatasetExtension
        from herald_spider.store import WRITE_FAILED

        try:
            extension = crawler.get_extension(DatasetExtension)
        except RuntimeError:  # Scrapy built no extension: the crawl did not get that far
            extension = None
        store = extension.store if extension is not None else None
        if store is not None and store.write_failures:
            _last_words(
                f"Crawl {store.crawl_id} FAILED ({WRITE_FAILED}): {len(store.write_failures)} write(s) "
                f"of {store.dataset_dir} failed, first: {store.write_failures[0]}. Nothing stored "
                f"before was touched; what this crawl could not store is fetched again by the next "
                f"run once the dataset can be written (exit code {EXIT_WRITE_FAILED})."
            )
            return EXIT_WRITE_FAILED
        verdict = store.verdict if store is not None else None
        if store is not None and verdict is not None and not verdict.healthy:
            reasons = "; ".join(message for _, message in verdict.failures)
            code = int(verdict.exit_code)
            _last_words(f"Crawl {store.crawl_id} FAILED its checks (exit code {code}): {reasons}")
            return code
        return EXIT_OK


def _retrieve(task: asyncio.Future[Any], refusals: list[Refused]) -> None:
    """Take a refusal out of the crawl's task (so asyncio prints no traceback for it)."""
    if task.cancelled():
        return
    error = task.exception()
    if isinstance(error, Refused):
        refusals.append(error)
    elif error is not None:
        logger.error("The crawl could not start", exc_info=error)


def _last_words(message: str) -> None:
    """The crawl's last log line; on stderr too when the log goes to a file."""
    logger.error("%s", message)
    root = logging.getLogger()
    if not any(getattr(h, "stream", None) is sys.stderr for h in root.handlers):
        print(message, file=sys.stderr)
