"""Offline replay: answer every request from a saved mirror in wget ``-x`` layout.

``<dir>/<host>/<path>/index.html`` answers ``https://<host>/<path>/``; a query string stays
in the file name as wget writes it (``index.html?ref=x``). A URL with no saved page answers
404. Nothing reaches the network, and nothing outside ``<dir>`` is ever read: ``..``
segments, encoded or not, and symlinks that leave the mirror are refused.

Enabled with ``-s HERALD_REPLAY=<dir>``. It sits last among the downloader middlewares, so
robots.txt handling, stats, retries and redirects see replayed responses as they would see
downloaded ones, and no download delay applies (the pages are local).
"""

from __future__ import annotations

import logging
import mimetypes
from pathlib import Path
from urllib.parse import unquote, urlsplit

from scrapy import Request, Spider
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.http import Response
from scrapy.responsetypes import responsetypes

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

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ReplayMiddleware:
        value = crawler.settings.get("HERALD_REPLAY")
        if not value:
            raise NotConfigured("HERALD_REPLAY is not set")
        root = Path(value)
        if not root.is_dir():
            raise NotConfigured(f"HERALD_REPLAY is not a directory: {value}")
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
        try:
            path = self._file_for(request.url)
        except (UnsafePath, OSError) as exc:
            self._inc("herald/replay/refused")
            logger.warning("Replay refused %s: %s", request.url, exc)
            return self._not_found(request, 403, b"Refused by replay")
        if path is None:
            self._inc("herald/replay/not_found")
            logger.info("Not in replay mirror (404): %s", request.url)
            return self._not_found(request, 404, b"Not in replay mirror")
        self._inc("herald/replay/served")
        body = path.read_bytes()
        content_type = _content_type(path, body)
        headers = {b"Content-Type": content_type.encode()} if content_type else {}
        cls = responsetypes.from_args(headers=headers, url=request.url, body=body)
        return cls(url=request.url, status=200, headers=headers, body=body, request=request, flags=["replay"])

    def _not_found(self, request: Request, status: int, body: bytes) -> Response:
        headers = {b"Content-Type": b"text/plain"}
        cls = responsetypes.from_args(headers=headers, url=request.url)
        return cls(
            url=request.url,
            status=status,
            headers=headers,
            body=body,
            request=request,
            flags=["replay"],
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
