"""Every response the crawl downloads, kept as WARC 1.1 (``-s HERALD_WARC_DIR=archive/``).

Pages, robots.txt, sitemaps and feeds, redirects and error pages alike: each response is written
with its request by :class:`herald_spider.archive.writer.WarcRecorder` into gzipped WARC files
of ``HERALD_WARC_MAX_BYTES`` at most (1 GB), which appear under their final name only when
whole, each with a CDXJ index beside it.

The middleware sits next to the download handler (945, inside replay's 950), so it sees a
response as received: before ``HttpCompressionMiddleware`` (590) undoes its
``Content-Encoding``, before redirects and retries. The transfer coding is the one thing
already undone (Twisted de-chunks the body), so ``Transfer-Encoding`` is not recorded as such.
Replayed responses are not recorded: replaying an archive into itself must not grow it.

A folder that is a symlink or not a folder is refused before the crawl starts; a write that
fails ends the crawl as any failed write of the dataset does (``write_failed``, exit code 3).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from http import HTTPStatus
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from scrapy import Request, Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.http import Headers, Response

from herald_spider.archive.writer import WarcRecorder
from herald_spider.component import CrawlerComponent
from herald_spider.errors import Refused
from herald_spider.extensions.dataset import crawl_store

logger = logging.getLogger(__name__)


def software() -> str:
    try:
        return f"herald_spider/{version('herald_spider')}"
    except PackageNotFoundError:  # run from a checkout that was not installed
        return "herald_spider"


def _pairs(headers: Headers) -> list[tuple[str, str]]:
    """Header name/value pairs as sent (bytes read as Latin-1, as HTTP/1.1 allows)."""
    return [
        (name.decode("latin-1"), value.decode("latin-1"))
        for name, values in headers.items()
        for value in values
    ]


class WarcRecordMiddleware(CrawlerComponent):
    def __init__(self, crawler: Crawler, directory: Path) -> None:
        super().__init__(crawler)
        self.store = crawl_store(crawler)
        try:
            self.recorder = WarcRecorder(
                directory,
                crawl_id=self.store.crawl_id,
                software=software(),
                max_bytes=crawler.settings.getint("HERALD_WARC_MAX_BYTES"),
            )
        except (OSError, ValueError) as exc:
            message = f"HERALD_WARC_DIR={directory}: {exc}"
            logger.error("%s", message)
            raise Refused(message) from None
        self.failed = False
        crawler.signals.connect(self.close, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> WarcRecordMiddleware:
        value = crawler.settings.get("HERALD_WARC_DIR")
        if not value:
            raise NotConfigured("HERALD_WARC_DIR is not set")
        return cls(crawler, Path(value))

    def process_response(
        self, request: Request, response: Response, spider: Spider | None = None
    ) -> Response:
        if "replay" in response.flags or self.failed:
            return response
        try:
            self.recorder.record(
                url=response.url,
                method=request.method,
                request_headers=_pairs(request.headers),
                request_body=request.body,
                status=response.status,
                reason=_reason(response.status),
                protocol=response.protocol or "HTTP/1.1",
                response_headers=_pairs(response.headers),
                body=response.body,
                date=datetime.now(UTC),
            )
        except OSError as exc:
            self.failed = True  # what is recorded so far stays; the crawl ends as write_failed
            self.store.write_failed(self.crawler, exc)
            return response
        except ValueError as exc:  # nothing WARC can hold as it is (a URL with spaces): this one only
            self._inc("herald/warc/not_recorded")
            logger.warning("Not recorded in the WARC archive: %s (%s)", response.url, exc)
            return response
        self._inc("herald/warc/recorded")
        return response

    def close(self) -> None:
        try:
            self.recorder.close()
        except OSError as exc:
            self.store.write_failed(self.crawler, exc)
        for path in self.recorder.files:
            logger.info("Recorded %s", path)


def _reason(status: int) -> str:
    """
    >>> _reason(301), _reason(599)
    ('Moved Permanently', '')
    """
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""
