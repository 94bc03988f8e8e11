"""Recording HTTP exchanges into WARC 1.1 files, with a CDXJ index beside each file.

:class:`WarcRecorder` writes, for every exchange it is given, a ``response`` record (the status
line, the headers and the body exactly as received: still Content-Encoded, already de-chunked)
followed by its ``request`` record, each record one gzip member. Every file starts with a
``warcinfo`` record.

Files are named ``herald-<crawl_id>-<UTC yyyymmddhhmmss>-<n:05d>.warc.gz`` and are written under
``<name>.open``; when a file is closed (by :meth:`WarcRecorder.close`, or when it reaches
``max_bytes``) it is made durable and only then takes its final name, with a hard link, which
never replaces a file that already exists. Its index, ``<name>.cdxj``, is written the same way.
So a final name only ever holds a whole file: a crawl killed mid-way leaves a ``.open`` file.

No Scrapy here: the downloader middleware that feeds the recorder turns Scrapy's requests and
responses into the plain values :meth:`WarcRecorder.record` takes.
"""

from __future__ import annotations

import errno
import io
import os
import re
import stat
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from herald_spider.archive.cdxj import CdxjEntry, timestamp14

WARC_VERSION = "1.1"
CONFORMS_TO = "http://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/"
FILE_PREFIX = "herald"
WARC_SUFFIX = ".warc.gz"
CDXJ_SUFFIX = ".cdxj"
OPEN_SUFFIX = ".open"

#: What a crawl ID may hold: it becomes part of file names.
_CRAWL_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
#: An HTTP token (a method, a header name).
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
#: Characters that would end a header line (or a WARC field) early.
_LINE_BREAKS = re.compile(r"[\r\n\x00]")
_CREATE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
_DIRECTORY_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def check_directory(directory: Path) -> None:
    """Raise :class:`ArchiveDirectoryError` when ``directory`` is a symbolic link or not a
    directory (one that does not exist yet is fine: the recorder makes it)."""
    try:
        mode = os.lstat(directory).st_mode
    except FileNotFoundError:
        return
    if stat.S_ISLNK(mode):
        raise ArchiveDirectoryError(directory, "is a symbolic link")
    if not stat.S_ISDIR(mode):
        raise ArchiveDirectoryError(directory, "is not a directory")


class ArchiveDirectoryError(OSError):
    """The directory given for WARC files cannot be written safely (a symbolic link, not a
    directory). An ``OSError``, as a failed write is: the recorder's caller handles both alike."""

    def __init__(self, path: Path, problem: str) -> None:
        code = errno.ELOOP if "link" in problem else errno.ENOTDIR
        super().__init__(code, f"WARC directory {path} {problem}; not writing there", str(path))
        self.path = path

    def __str__(self) -> str:
        return str(self.strerror)


class WarcFileExists(FileExistsError):
    """A name the recorder would give a file is taken already: nothing is overwritten."""

    def __init__(self, path: Path, kept: Path | None = None) -> None:
        message = f"{path} already exists; the WARC recorder never overwrites a file"
        if kept is not None:
            message += f" (what was recorded is kept in {kept})"
        super().__init__(errno.EEXIST, message, str(path))
        self.path = path
        self.kept = kept

    def __str__(self) -> str:
        return str(self.strerror)


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _warc_date(when: datetime) -> str:
    """WARC 1.1's ``WARC-Date``: UTC, with microseconds when there are any.

    >>> _warc_date(datetime(2025, 6, 19, 0, 40, 37, 123456, tzinfo=UTC))
    '2025-06-19T00:40:37.123456Z'
    >>> _warc_date(datetime(2025, 6, 19, 0, 40, 37, tzinfo=UTC))
    '2025-06-19T00:40:37Z'
    """
    utc = _as_utc(when).replace(tzinfo=None)
    return utc.isoformat(timespec="microseconds" if utc.microsecond else "seconds") + "Z"


def _as_utc(when: datetime) -> datetime:
    """An aware UTC datetime; a naive one is taken to be UTC already."""
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def http_version(protocol: str) -> str:
    """The protocol as it goes in front of a status or request line.

    >>> http_version("HTTP/1.1"), http_version("h2"), http_version(""), http_version("HTTP/1.0")
    ('HTTP/1.1', 'HTTP/2', 'HTTP/1.1', 'HTTP/1.0')
    """
    value = (protocol or "").strip()
    if re.fullmatch(r"(?i)HTTP/\d(\.\d)?", value):
        return value.upper()
    return {"h2": "HTTP/2", "h2c": "HTTP/2", "h3": "HTTP/3"}.get(value.lower(), "HTTP/1.1")


def _clean(value: str) -> str:
    return _LINE_BREAKS.sub(" ", value)


def _clean_headers(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Headers safe to write: a line break in a value becomes a space (it would start a forged
    header), a header whose name is not an HTTP token is left out."""
    return [(name, _clean(value)) for name, value in headers if _TOKEN.fullmatch(name)]


def _response_headers(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The response's headers as recorded: ``Transfer-Encoding`` is kept as
    ``X-Archive-Orig-Transfer-Encoding``, since the body recorded is de-chunked already.

    >>> _response_headers([("Transfer-Encoding", "chunked"), ("Content-Type", "text/html")])
    [('X-Archive-Orig-Transfer-Encoding', 'chunked'), ('Content-Type', 'text/html')]
    """
    return [
        ("X-Archive-Orig-Transfer-Encoding", value) if name.lower() == "transfer-encoding" else (name, value)
        for name, value in _clean_headers(headers)
    ]


def _mime(headers: list[tuple[str, str]]) -> str | None:
    """The media type of ``Content-Type``, without parameters.

    >>> _mime([("content-type", "Text/HTML; charset=utf-8")]), _mime([])
    ('text/html', None)
    """
    for name, value in headers:
        if name.lower() == "content-type":
            return value.split(";", 1)[0].strip().lower() or None
    return None


def _record_id() -> str:
    return f"<urn:uuid:{uuid.uuid4()}>"


@dataclass
class _OpenFile:
    """The WARC file being written: its descriptor, its directory's, and its index so far."""

    name: str  # final name
    dir_fd: int
    fd: int
    size: int = 0
    entries: list[CdxjEntry] = field(default_factory=list)

    @property
    def temporary(self) -> str:
        return self.name + OPEN_SUFFIX


class WarcRecorder:
    """Records HTTP exchanges into rotating, gzip-per-record WARC 1.1 files under ``directory``.

    ``software`` names the recording program in each file's ``warcinfo`` (``"herald_spider/0.1.0"``),
    ``crawl_id`` goes in it and in the file names. A file is closed once it has reached
    ``max_bytes``; the next record starts the next one. :attr:`files` lists the files closed so far.
    ``clock`` (for tests) gives the time a file is started at, which its name carries.
    """

    def __init__(
        self,
        directory: Path,
        crawl_id: str,
        software: str,
        max_bytes: int = 1_000_000_000,
        *,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        if not _CRAWL_ID.fullmatch(crawl_id):
            raise ValueError(f"crawl ID {crawl_id!r} cannot be part of a file name")
        if _LINE_BREAKS.search(software) or not software.strip():
            raise ValueError(f"software {software!r} must be one non-empty line")
        if max_bytes <= 0:
            raise ValueError(f"max_bytes must be positive, not {max_bytes}")
        self.directory = Path(directory)
        self.crawl_id = crawl_id
        self.software = software
        self.max_bytes = max_bytes
        self.clock = clock
        self.files: list[Path] = []
        self._sequence = 0
        self._current: _OpenFile | None = None
        self._writer = WARCWriter(None, gzip=True, warc_version=WARC_VERSION)
        self._check_directory()
        self.directory.mkdir(parents=True, exist_ok=True)
        os.close(self._open_directory())

    # -- the directory ---------------------------------------------------------------------------

    def _check_directory(self) -> None:
        check_directory(self.directory)

    def _open_directory(self) -> int:
        """A descriptor of the directory itself (never of what a symbolic link put there points
        at): every file is created, linked and removed relative to it."""
        try:
            return os.open(self.directory, _DIRECTORY_FLAGS)
        except OSError as exc:
            if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                self._check_directory()
                raise ArchiveDirectoryError(self.directory, "is not a directory") from exc
            raise

    def _exists(self, name: str, dir_fd: int) -> bool:
        try:
            os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
        except FileNotFoundError:
            return False
        return True

    # -- recording -------------------------------------------------------------------------------

    def record(
        self,
        *,
        url: str,
        method: str,
        request_headers: list[tuple[str, str]],
        request_body: bytes,
        status: int,
        reason: str,
        protocol: str,
        response_headers: list[tuple[str, str]],
        body: bytes,
        date: datetime,
    ) -> None:
        """Write one exchange: its ``response`` record, then its ``request`` record.

        ``body`` is the payload as received (still Content-Encoded, de-chunked); header names
        and values are strings (bytes decoded as Latin-1; warcio %-encodes what is not ASCII).
        ``date`` is when the response was received (a naive one is taken as UTC). Raises
        ``ValueError`` for a URL or method that cannot be written, ``OSError`` when the file
        cannot be written (the file is left as it was before this exchange).
        """
        if not url or re.search(r"[\s\x00-\x1f\x7f]", url):
            raise ValueError(f"URL {url!r} cannot be recorded")
        if not _TOKEN.fullmatch(method):
            raise ValueError(f"method {method!r} cannot be recorded")
        when = _as_utc(date)
        version = http_version(protocol)
        headers = _response_headers(response_headers)
        response = self._writer.create_warc_record(
            url,
            "response",
            payload=io.BytesIO(body),
            length=len(body),
            warc_headers_dict={"WARC-Record-ID": _record_id(), "WARC-Date": _warc_date(when)},
            http_headers=StatusAndHeaders(f"{status} {_clean(reason)}", headers, protocol=version),
        )
        response_id = response.rec_headers.get_header("WARC-Record-ID")
        request = self._writer.create_warc_record(
            url,
            "request",
            payload=io.BytesIO(request_body),
            length=len(request_body),
            warc_headers_dict={
                "WARC-Record-ID": _record_id(),
                "WARC-Date": _warc_date(when),
                "WARC-Concurrent-To": response_id,
            },
            http_headers=StatusAndHeaders(
                f"{method} {_request_target(url)}", _request_headers(url, request_headers), protocol=version
            ),
        )
        response_bytes = self._serialize(response)
        exchange = response_bytes + self._serialize(request)

        current = self._current or self._start()
        offset = current.size
        self._append(current, exchange)
        current.entries.append(
            CdxjEntry(
                url=url,
                timestamp=timestamp14(when),
                filename=current.name,
                offset=offset,
                length=len(response_bytes),
                status=status,
                mime=_mime(headers),
                digest=response.rec_headers.get_header("WARC-Payload-Digest"),
            )
        )
        if current.size >= self.max_bytes:
            self.close()

    def _serialize(self, record: Any) -> bytes:
        """One record as one gzip member."""
        buffer = io.BytesIO()
        self._writer.out = buffer
        try:
            self._writer.write_record(record)
        finally:
            self._writer.out = None
        return buffer.getvalue()

    def _start(self) -> _OpenFile:
        """Open the next file under its temporary name and write its ``warcinfo``."""
        started = _as_utc(self.clock())
        name = f"{FILE_PREFIX}-{self.crawl_id}-{timestamp14(started)}-{self._sequence + 1:05d}{WARC_SUFFIX}"
        dir_fd = self._open_directory()
        try:
            for taken in (name, name + CDXJ_SUFFIX):
                if self._exists(taken, dir_fd):
                    raise WarcFileExists(self.directory / taken)
            try:
                fd = os.open(name + OPEN_SUFFIX, _CREATE_FLAGS, 0o644, dir_fd=dir_fd)
            except FileExistsError:
                raise WarcFileExists(self.directory / (name + OPEN_SUFFIX)) from None
        except BaseException:
            os.close(dir_fd)
            raise
        current = _OpenFile(name=name, dir_fd=dir_fd, fd=fd)
        info = {
            "software": self.software,
            "format": "WARC File Format 1.1",
            "conformsTo": CONFORMS_TO,
            "isPartOf": self.crawl_id,
        }
        try:
            warcinfo = self._writer.create_warcinfo_record(name, info)
            warcinfo.rec_headers.replace_header("WARC-Date", _warc_date(started))
            self._append(current, self._serialize(warcinfo))
        except BaseException:
            # Not even the warcinfo written: the file (ours, just created) is removed.
            os.close(fd)
            try:
                os.unlink(current.temporary, dir_fd=dir_fd)
            finally:
                os.close(dir_fd)
            raise
        self._sequence += 1
        self._current = current
        return current

    def _append(self, current: _OpenFile, data: bytes) -> None:
        """Write ``data`` at the end of the file; on failure cut the file back to where it ended."""
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(current.fd, view) :]
        except OSError as exc:
            try:
                os.ftruncate(current.fd, current.size)
                os.lseek(current.fd, current.size, os.SEEK_SET)
            except OSError:
                # The file now ends in part of a record: it is left as ``.open``, never published.
                self._abandon()
            path = self.directory / current.temporary
            raise OSError(exc.errno, f"Could not write to {path}: {exc.strerror or exc}") from exc
        current.size += len(data)

    def _abandon(self) -> None:
        current, self._current = self._current, None
        if current is not None:
            os.close(current.fd)
            os.close(current.dir_fd)

    # -- closing ---------------------------------------------------------------------------------

    def close(self) -> None:
        """Close the current file: make it durable, give it its final name, write its CDXJ beside.

        Harmless when no file is open. Raises :class:`WarcFileExists` (leaving what was written
        under its ``.open`` name) when the final name has been taken meanwhile.
        """
        current, self._current = self._current, None
        if current is None:
            return
        index = current.name + CDXJ_SUFFIX
        try:
            try:
                os.fsync(current.fd)
            finally:
                os.close(current.fd)
            lines = sorted(entry.line() for entry in current.entries)
            data = "".join(line + "\n" for line in lines).encode("utf-8")
            try:
                fd = os.open(index + OPEN_SUFFIX, _CREATE_FLAGS, 0o644, dir_fd=current.dir_fd)
            except FileExistsError:
                raise WarcFileExists(self.directory / (index + OPEN_SUFFIX)) from None
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view) :]
                os.fsync(fd)
            finally:
                os.close(fd)
            self._publish(current.temporary, current.name, current.dir_fd)
            os.fsync(current.dir_fd)
            self.files.append(self.directory / current.name)
            self._publish(index + OPEN_SUFFIX, index, current.dir_fd)
            os.fsync(current.dir_fd)
        finally:
            os.close(current.dir_fd)

    def _publish(self, temporary: str, final: str, dir_fd: int) -> None:
        """Give ``temporary`` the name ``final`` unless that name is taken."""
        try:
            os.link(temporary, final, src_dir_fd=dir_fd, dst_dir_fd=dir_fd, follow_symlinks=False)
        except FileExistsError:
            raise WarcFileExists(self.directory / final, self.directory / temporary) from None
        except OSError as exc:
            if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK):
                raise
            # A file system without hard links: the check and the rename are two steps there.
            if self._exists(final, dir_fd):
                raise WarcFileExists(self.directory / final, self.directory / temporary) from None
            os.rename(temporary, final, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
        else:
            os.unlink(temporary, dir_fd=dir_fd)


def _request_target(url: str) -> str:
    """The request line's target: the path and query, without the fragment.

    >>> _request_target("https://www.nzherald.co.nz/world/?a=1#top"), _request_target("https://x.nz")
    ('/world/?a=1', '/')
    """
    parts = urlsplit(url)
    return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


def _request_headers(url: str, headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The request's headers, with ``Host`` first when the client added it itself."""
    cleaned = _clean_headers(headers)
    if not any(name.lower() == "host" for name, _ in cleaned):
        netloc = urlsplit(url).netloc.rpartition("@")[2]
        if netloc:
            cleaned.insert(0, ("Host", netloc))
    return cleaned
