"""Offline replay: answer every request from a saved mirror in wget ``-x`` layout, or from web
archives (WARC files).

``<dir>/<host>/<path>/index.html`` answers ``https://<host>/<path>/``; a query string stays
in the file name as wget writes it (``index.html?ref=x``). A URL with no saved page answers
404. Nothing reaches the network, and nothing outside ``<dir>`` is ever read: ``..``
segments, encoded or not, and symlinks that leave the mirror are refused.

A ``.warc`` / ``.warc.gz`` file, a folder of them (searched recursively; a folder that
holds a mirror is replayed as a mirror) or a ``.wacz`` package is replayed through its index
(:mod:`herald_spider.archive.index`, built on first use and cached under the dataset in
``.replay-index/``): the newest capture of a URL answers, or with ``HERALD_REPLAY_AT`` the one
closest to that time; a redirect capture answers as a redirect and a 404 as a 404. The payload
comes as it was received, its ``Content-Encoding`` undone once by Scrapy's
``HttpCompressionMiddleware`` as for a live response. Records the archive cannot serve (a
truncated or corrupt one, another host's, one with no URL, one over ``DOWNLOAD_MAXSIZE``) are
logged with their file and offset when the index is built and counted ``herald/warc/<kind>``.

Enabled with ``-s HERALD_REPLAY=<dir>``; a path that does not exist or is not a directory
stops the crawl before its first request (:class:`~herald_spider.errors.Refused`): a typo must
not crawl the live site. It sits last among the downloader middlewares, so robots.txt
handling, stats, retries and redirects see replayed responses as they would see downloaded
ones, and no download delay applies (the pages are local).

Sizes are checked as Scrapy's HTTP download handler checks them (``DOWNLOAD_MAXSIZE`` and
``DOWNLOAD_WARNSIZE``, or the ``download_maxsize`` and ``download_warnsize`` request meta
keys; 0 is no limit), from the file's size before a byte is read: a larger file is not read,
its request fails with ``DownloadCancelledError`` (counted ``herald/replay/too_large``), and a
file over the warning size is served with a warning.
"""

from __future__ import annotations

import logging
import mimetypes
import os
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import unquote, urlsplit

from scrapy import Request, Spider
from scrapy.crawler import Crawler
from scrapy.exceptions import DownloadCancelledError, NotConfigured
from scrapy.http import Response
from scrapy.responsetypes import responsetypes

from herald_spider.errors import Refused

logger = logging.getLogger(__name__)


class UnsafePath(ValueError):
    """A URL that would map outside the mirror."""


def mirror_path(root: Path, url: str) -> Path:
    """The file that holds ``url`` in a wget ``-x`` mirror rooted at ``root``.

    >>> mirror_path(Path("/m"), "https://www.nzherald.co.nz/world/")
    PosixPath('/m/www.nzherald.co.nz/world/index.html')
    >>> mirror_path(Path("/m"), "https://www.nzherald.co.nz/world/?c_id=2")
    PosixPath('/m/www.nzherald.co.nz/world/index.html?c_id=2')
    >>> mirror_path(Path("/m"), "https://www.nzherald.co.nz/robots.txt")
    PosixPath('/m/www.nzherald.co.nz/robots.txt')
    >>> mirror_path(Path("/m"), "https://www.nzherald.co.nz/%2e%2e/%2e%2e/etc/passwd")
    Traceback (most recent call last):
    ...
    herald_spider.replay.UnsafePath: path leaves the mirror: /%2e%2e/%2e%2e/etc/passwd
    """
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    raw_path = parts.path or "/"
    segments = unquote(raw_path).split("/")
    if not host or host.startswith(".") or "/" in host or any(s in (".", "..") for s in segments):
        raise UnsafePath(f"path leaves the mirror: {raw_path}")
    if any("\x00" in s or "\\" in s for s in segments):
        raise UnsafePath(f"path leaves the mirror: {raw_path}")
    relative = [s for s in segments if s]
    name = "index.html" if raw_path.endswith("/") or not relative else relative.pop()
    if parts.query:
        name = f"{name}?{unquote(parts.query)}"
    if "/" in name:
        raise UnsafePath(f"path leaves the mirror: {raw_path}?{parts.query}")
    return root.joinpath(host, *relative, name)


class ReplayMiddleware:
    """Downloader middleware that serves responses from a mirror directory."""

    def __init__(self, root: Path, crawler: Crawler) -> None:
        self.root = root.resolve()
        self.stats = crawler.stats
        self.maxsize = crawler.settings.getint("DOWNLOAD_MAXSIZE")
        self.warnsize = crawler.settings.getint("DOWNLOAD_WARNSIZE")
        #: the archive replayed, when the root holds WARC files and no mirror
        self.warc: Any = None
        if not is_mirror(self.root):
            from herald_spider.warcreplay import WarcReplay  # warcio only for archives

            self.warc = WarcReplay(self.root, crawler)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ReplayMiddleware:
        try:
            root = replay_root(crawler.settings.get("HERALD_REPLAY"))
        except Refused as refused:
            logger.error("%s", refused)
            raise
        if root is None:
            raise NotConfigured("HERALD_REPLAY is not set")
        logger.info("Replaying from %s: no request leaves this machine", root)
        return cls(root, crawler)

    def _inc(self, key: str) -> None:
        if self.stats is not None:
            self.stats.inc_value(key)

    def _file_for(self, url: str) -> Path | None:
        path = mirror_path(self.root, url)
        if path.is_dir():
            path = path / "index.html"
        resolved = path.resolve()
        if not resolved.is_relative_to(self.root):
            raise UnsafePath(f"symlink leaves the mirror: {url}")
        return resolved if resolved.is_file() else None

    def process_request(self, request: Request, spider: Spider | None = None) -> Response:
        if self.warc is not None:
            return self.warc.respond(request)  # type: ignore[no-any-return]
        try:
            path = self._file_for(request.url)
        except (UnsafePath, OSError) as exc:
            self._inc("herald/replay/refused")
            logger.warning("Replay refused %s: %s", request.url, exc)
            return answer(request, 403, b"Refused by replay")
        if path is None:
            self._inc("herald/replay/not_found")
            logger.info("Not in replay mirror (404): %s", request.url)
            return answer(request, 404, b"Not in replay mirror")
        body = self._read(path, request)
        self._inc("herald/replay/served")
        content_type = _content_type(path, body)
        headers = {b"Content-Type": content_type.encode()} if content_type else {}
        cls = responsetypes.from_args(headers=headers, url=request.url, body=body)
        return cls(url=request.url, status=200, headers=headers, body=body, request=request, flags=["replay"])

    def _read(self, path: Path, request: Request) -> bytes:
        """The file's bytes, within the request's size limits (checked before reading)."""
        maxsize = request.meta.get("download_maxsize", self.maxsize)
        warnsize = request.meta.get("download_warnsize", self.warnsize)
        with path.open("rb") as file:
            size = os.fstat(file.fileno()).st_size
            if maxsize and size > maxsize:
                self._too_large(size, maxsize, request)
            if warnsize and size > warnsize:
                logger.warning(_size_message(size, warnsize, "warn", request))
            # at most one byte past the limit, in case the file grew since fstat
            body = file.read(maxsize + 1 if maxsize else -1)
        if maxsize and len(body) > maxsize:
            self._too_large(len(body), maxsize, request)
        return body

    def _too_large(self, size: int, maxsize: int, request: Request) -> NoReturn:
        """Fail the request as Scrapy's HTTP handler fails a download over ``DOWNLOAD_MAXSIZE``."""
        self._inc("herald/replay/too_large")
        message = _size_message(size, maxsize, "max", request)
        logger.warning(message)
        raise DownloadCancelledError(message)


def answer(request: Request, status: int, body: bytes) -> Response:
    """A plain-text answer of replay's own (404: not saved; 403: refused), flagged ``replay``."""
    headers = {b"Content-Type": b"text/plain"}
    cls = responsetypes.from_args(headers=headers, url=request.url)
    return cls(url=request.url, status=status, headers=headers, body=body, request=request, flags=["replay"])


#: Names of WARC files (``.open``: one being written, never read).
WARC_SUFFIXES = (".warc", ".warc.gz")


def is_warc_name(name: str) -> bool:
    """
    >>> is_warc_name("a.warc.gz"), is_warc_name("A.WARC"), is_warc_name("a.warc.gz.open")
    (True, True, False)
    """
    return name.lower().endswith(WARC_SUFFIXES)


def is_wacz_name(name: str) -> bool:
    return name.lower().endswith(".wacz")


def is_mirror(root: Path) -> bool:
    """Whether a folder holds a wget ``-x`` mirror of the site (a folder named by its host)."""
    return root.is_dir() and any((root / host).is_dir() for host in ("www.nzherald.co.nz", "nzherald.co.nz"))


def _holds_warc(root: Path) -> bool:
    if root.is_file():
        return is_warc_name(root.name) or is_wacz_name(root.name)
    return any(is_warc_name(name) for _folder, _dirs, names in os.walk(root) for name in names)


#: Where WARC replay caches the index of an archive, inside the dataset.
INDEX_DIR = ".replay-index"


def check_index_cache(dataset_dir: Path) -> None:
    """Refuse an index cache folder that is a link or not a folder: nothing is written through it."""
    cache = dataset_dir / INDEX_DIR
    if cache.is_symlink() or (cache.exists() and not cache.is_dir()):
        raise Refused(
            f"{cache} is a link or not a folder: WARC replay caches the index of the archive there, "
            f"and writes nothing through a link. Move it away."
        )


def replay_root(value: str | None) -> Path | None:
    """The mirror folder, WARC file or folder of WARC files ``HERALD_REPLAY`` names (None when
    unset); any other path raises :class:`Refused` (not ``NotConfigured``, which would log one
    warning and crawl the live site instead). Also checked before the crawl touches its dataset."""
    if not value:
        return None
    root = Path(value)
    if not (root.is_dir() or root.is_file()) or not (is_mirror(root) or _holds_warc(root)):
        raise Refused(_not_a_mirror(value, root))
    return root


def _not_a_mirror(value: str, root: Path) -> str:
    """What is wrong with a ``HERALD_REPLAY`` path that has nothing to replay, and what to do."""
    if not root.exists():
        problem = "does not exist"
    elif root.is_dir():
        problem = "holds neither a mirror (<dir>/www.nzherald.co.nz/...) nor WARC files"
    else:
        problem = "is not a WARC file (.warc or .warc.gz) or a WACZ package"
    return (
        f"HERALD_REPLAY={value} {problem}: replay reads a mirror folder in wget -x layout "
        f"(<dir>/www.nzherald.co.nz/...), a .warc or .warc.gz file, or a folder of them. Give one of "
        f"those, or leave HERALD_REPLAY unset to crawl the live site."
    )


def _size_message(size: int, limit: int, kind: str, request: Request) -> str:
    """The words of Scrapy's HTTP handler for a response over the max or warn size."""
    return (
        f"Expected to receive {size} bytes which is larger than download {kind} size ({limit}) "
        f"in request {request}."
    )


#: File signatures of non-HTML files that wget saves as ``index.html`` at a page URL.
_MAGIC = (
    (b"%PDF-", "application/pdf"),
    (b"\x89PNG", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF8", "image/gif"),
)


def _content_type(path: Path, body: bytes = b"") -> str | None:
    """The type a server would send for a saved file (the query part is not an extension).

    >>> _content_type(Path("index.html?ref=x")), _content_type(Path("robots.txt"))
    ('text/html', 'text/plain')
    >>> _content_type(Path("index.html"), b"%PDF-1.4")
    'application/pdf'
    """
    sniffed = next((kind for magic, kind in _MAGIC if body.startswith(magic)), None)
    if sniffed:
        return sniffed
    name = path.name.split("?", 1)[0]
    guessed, _ = mimetypes.guess_type(name)
    return guessed
