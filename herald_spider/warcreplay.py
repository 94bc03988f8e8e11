"""Replay from web archives: the WARC side of :class:`herald_spider.replay.ReplayMiddleware`.

Kept apart so that folder replay (and the benchmark's floor spider, which uses it) never loads
warcio. The index of the archive is opened when the spider opens (the dataset is locked by
then; its cache goes to ``<dataset>/.replay-index/``); the problems found in the archive are
logged with their file and offset and counted ``herald/warc/<kind>``.
"""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from scrapy import Request, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import DownloadCancelledError
from scrapy.http import Headers, Response
from scrapy.responsetypes import responsetypes

from herald_spider.archive.cdxj import parse_timestamp14
from herald_spider.archive.index import ArchiveIndex
from herald_spider.archive.reader import read_capture
from herald_spider.archive.wacz import is_wacz, unpack
from herald_spider.errors import Refused
from herald_spider.pages.dates import parse_iso_datetime
from herald_spider.replay import INDEX_DIR, answer, check_index_cache

logger = logging.getLogger(__name__)


def replay_at(value: str | None) -> datetime | None:
    """``HERALD_REPLAY_AT`` as a time: 4 to 14 digits (a Wayback timestamp) or ISO 8601, UTC.

    >>> replay_at("20250618"), replay_at("2025-06-18T12:00:00Z").hour, replay_at("")
    (datetime.datetime(2025, 6, 18, 0, 0, tzinfo=datetime.timezone.utc), 12, None)
    """
    text = (value or "").strip()
    if not text:
        return None
    if text.isdigit():
        try:
            return parse_timestamp14(text)
        except ValueError:
            pass
    parsed = parse_iso_datetime(text) or parse_iso_datetime(f"{text}T00:00:00Z")
    if parsed is None:
        raise Refused(f"HERALD_REPLAY_AT={value} is not a time: give 20250619004000 or 2025-06-19T00:40:00Z")
    return parsed


def variants(url: str) -> list[str]:
    """The URL, then the forms an archive may hold it under: the other scheme (older captures are
    ``http://``), the host without or with ``www.``, the path without or with its final slash.

    >>> variants("https://www.nzherald.co.nz/world/")[:3]
    ['https://www.nzherald.co.nz/world/', 'http://www.nzherald.co.nz/world/', 'https://nzherald.co.nz/world/']
    >>> len(variants("https://www.nzherald.co.nz/world/?a=1"))
    8
    """
    parts = urlsplit(url)
    host = parts.netloc
    other_host = host[4:] if host.startswith("www.") else f"www.{host}"
    path = parts.path or "/"
    other_path = path[:-1] if path.endswith("/") and len(path) > 1 else f"{path}/"
    other_scheme = "http" if parts.scheme == "https" else "https"
    found: list[str] = []
    for p in (path, other_path):
        for h in (host, other_host):
            for scheme in (parts.scheme, other_scheme):
                candidate = urlunsplit((scheme, h, p, parts.query, ""))
                if candidate not in found:
                    found.append(candidate)
    return found


class WarcReplay:
    def __init__(self, source: Path, crawler: Crawler) -> None:
        self.source = source
        self.crawler = crawler
        self.at = replay_at(crawler.settings.get("HERALD_REPLAY_AT"))
        self.maxsize = crawler.settings.getint("DOWNLOAD_MAXSIZE")
        dataset_dir = Path(crawler.settings.get("HERALD_DATASET_DIR"))
        check_index_cache(dataset_dir)  # also checked before the dataset is touched
        self.cache_dir = dataset_dir / INDEX_DIR
        self.index: ArchiveIndex | None = None
        crawler.signals.connect(self.open, signal=signals.spider_opened)

    def _inc(self, key: str, count: int = 1) -> None:
        assert self.crawler.stats is not None
        self.crawler.stats.inc_value(key, count)

    def open(self) -> None:
        try:
            source = unpack(self.source, self.cache_dir) if is_wacz(self.source) else self.source
            self.index, problems = ArchiveIndex.open(source, self.cache_dir, self.maxsize)
        except OSError as exc:  # no space to unpack, an unreadable archive: nothing to replay
            self._inc("herald/warc/unreadable")
            logger.error("Cannot replay %s: %s. Every request answers 404.", self.source, exc)
            self.index = ArchiveIndex.from_entries([], [])
            return
        for problem in problems:
            self._inc(f"herald/warc/{problem.kind}")
            logger.warning(
                "WARC problem in %s at offset %s (%s): %s",
                problem.path,
                problem.offset,
                problem.kind,
                problem.message,
            )
        logger.info(
            "Replaying %d captures from %s%s: no request leaves this machine",
            len(self.index),
            self.source,
            f", the closest to {self.at.isoformat()}" if self.at else "",
        )

    def respond(self, request: Request) -> Response:
        if self.index is None:
            self.open()
        assert self.index is not None
        forms = variants(request.url)
        location, form = next(
            ((found, url) for url in forms if (found := self.index.lookup(url, self.at))), (None, None)
        )
        if location is None:
            self._inc("herald/replay/not_found")
            logger.info("Not in the archive (404): %s", request.url)
            return answer(request, 404, b"Not in the archive")
        if self.maxsize and location.length > self.maxsize:
            self._inc("herald/replay/too_large")
            message = (
                f"The capture of {request.url} is {location.length} bytes, "
                f"over DOWNLOAD_MAXSIZE ({self.maxsize})"
            )
            logger.warning(message)
            raise DownloadCancelledError(message)
        try:
            capture = read_capture(location.path, location.offset, location.length, location.url)
        except (LookupError, OSError, ValueError) as exc:
            self._inc("herald/warc/unreadable")
            logger.warning(
                "WARC problem in %s at offset %s (unreadable): %s, for %s",
                location.path,
                location.offset,
                exc,
                request.url,
            )
            return answer(request, 404, b"Unreadable in the archive")
        if form != request.url and 300 <= capture.status < 400:
            # a redirect captured under another form (``/ID`` -> ``/ID/``) is not this URL's page
            self._inc("herald/replay/not_found")
            logger.info("Not in the archive (404): %s", request.url)
            return answer(request, 404, b"Not in the archive")
        if form != request.url:
            self._inc("herald/replay/variant")
            logger.debug("Captured as %s: %s", form, request.url)
        values: dict[str, list[str]] = {}
        for name, value in capture.headers:
            values.setdefault(name, []).append(value)
        headers = Headers(values)
        cls = responsetypes.from_args(headers=headers, url=request.url, body=capture.body)
        self._inc("herald/replay/served")
        return cls(
            url=request.url,
            status=capture.status,
            headers=headers,
            body=capture.body,
            request=request,
            flags=["replay"],
            protocol=capture.protocol,
        )
