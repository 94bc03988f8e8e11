"""Reading WARC files for replay: listing them, indexing their captures, reading one capture back.

Plain Python and warcio (no Scrapy): :mod:`herald_spider.archive.index` builds the replay index
from :func:`scan`, and the replay middleware turns a :class:`Capture` into a Scrapy response.

Records are framed here rather than by warcio's ``ArchiveIterator``: that iterator swallows a zlib
error in the middle of a gzip member (it prints it and returns no data), so a corrupt member
would silently end the iteration. Each gzip member is decompressed by :class:`_GzipMember`, which
raises on a broken or cut member, and its content is parsed by warcio's record loader. After a
broken member, reading resumes at the next ``\\x1f\\x8b\\x08`` that starts a readable WARC record.
"""

from __future__ import annotations

import io
import os
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from warcio.bufferedreaders import ChunkedDataReader
from warcio.recordloader import ArcWarcRecordLoader

from herald_spider.archive.cdxj import CdxjEntry, timestamp14, url_key
from herald_spider.urls import on_site

GZIP_MAGIC = b"\x1f\x8b\x08"
_BLOCK = 1 << 16
_INDEXED_TYPES = ("response", "revisit")


@dataclass(frozen=True)
class Problem:
    """Something wrong in an archive; ``kind`` becomes the stat ``herald/warc/<kind>``.

    Kinds: ``not_warc``, ``corrupt``, ``truncated``, ``no_target_uri``, ``other_host``,
    ``too_large`` (from :func:`scan`) and ``revisit_unresolved`` (from the index).
    """

    kind: str
    path: Path
    offset: int | None
    message: str


@dataclass(frozen=True)
class RevisitEntry(CdxjEntry):
    """A ``revisit`` record's entry, with the capture it refers to when the record names it."""

    refers_to_url: str | None = None
    refers_to_timestamp: str | None = None  # 14 digits


@dataclass
class Capture:
    """One HTTP response as archived: chunking undone, ``Content-Encoding`` kept."""

    url: str
    date: str  # WARC-Date, as written
    status: int
    protocol: str
    headers: list[tuple[str, str]]
    body: bytes


class _Truncated(Exception):
    pass


class _Corrupt(Exception):
    pass


def warc_files(path: Path) -> list[Path]:
    """The WARC file ``path``, or every ``*.warc`` / ``*.warc.gz`` under the folder ``path``, sorted.

    Symbolic links that lead out of the folder and files still being written (``*.open``) are
    skipped; other files (CDXJ indexes, READMEs) are not WARC files and are ignored.
    """
    if not path.is_dir():
        return [path]
    root = path.resolve()
    found: list[Path] = []
    for folder, dirs, names in os.walk(path, followlinks=False):
        dirs.sort()
        for name in names:
            if not name.endswith((".warc", ".warc.gz")):
                continue
            file = Path(folder) / name
            resolved = file.resolve()
            if not resolved.is_relative_to(root) or not resolved.is_file():
                continue
            found.append(file)
    return sorted(found)


def warc_datetime(value: str) -> datetime:
    """A WARC-Date as an aware datetime.

    >>> warc_datetime("2025-06-19T00:40:00Z").isoformat()
    '2025-06-19T00:40:00+00:00'
    >>> warc_datetime("2025-06-19T00:40:00.123456Z").second
    0
    """
    when = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


class _GzipMember(io.RawIOBase):
    """The decompressed content of the gzip member at ``offset``; raises on a broken or cut member."""

    def __init__(self, file: io.BufferedReader, offset: int) -> None:
        super().__init__()
        file.seek(offset)
        self._file = file
        self._offset = offset
        self._read = 0
        self._tail = b""
        self._decompressor = zlib.decompressobj(16 + zlib.MAX_WBITS)
        self.end: int | None = None

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        while True:
            if self._decompressor.eof:
                if self.end is None:
                    # all the input read and not consumed is in unused_data (the tail repeats it)
                    self.end = self._offset + self._read - len(self._decompressor.unused_data)
                return 0
            data = self._tail
            if not data:
                data = self._file.read(_BLOCK)
                self._read += len(data)
                if not data:
                    raise _Truncated("the file ends inside a gzip member")
            try:
                out = self._decompressor.decompress(data, len(view))
            except zlib.error as error:
                raise _Corrupt(f"broken gzip member: {error}") from None
            self._tail = self._decompressor.unconsumed_tail
            if out:
                view[: len(out)] = out
                return len(out)


def _drain(stream: Any, limit: int | None = None) -> int:
    """Read a stream to its end (or ``limit`` bytes) without keeping it; the number of bytes read."""
    total = 0
    while limit is None or total < limit:
        chunk = stream.read(_BLOCK if limit is None else min(_BLOCK, limit - total))
        if not chunk:
            break
        total += len(chunk)
    return total


def _starts_warc_member(file: io.BufferedReader, offset: int) -> bool:
    file.seek(offset)
    data = file.read(4096)
    if not data.startswith(GZIP_MAGIC):
        return False
    try:
        return zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(data, 8).startswith(b"WARC/")
    except zlib.error:
        return False


def _resync(file: io.BufferedReader, start: int, gz: bool) -> int | None:
    """The offset of the next readable record at or after ``start``, or None."""
    marker = GZIP_MAGIC if gz else b"\nWARC/1."
    position = start
    while True:
        file.seek(position)
        block = file.read(_BLOCK + len(marker))
        if len(block) < len(marker):
            return None
        at = block.find(marker)
        while at >= 0:
            candidate = position + at + (0 if gz else 1)
            if _starts_warc_member(file, candidate) if gz else _starts_plain_record(file, candidate):
                return candidate
            at = block.find(marker, at + 1)
        position += _BLOCK


def _starts_plain_record(file: io.BufferedReader, offset: int) -> bool:
    file.seek(offset)
    return file.read(6) == b"WARC/1"


class _Record:
    """What one record of a file gave: its entries/problems and where the next record starts."""

    def __init__(self) -> None:
        self.items: list[CdxjEntry | Problem] = []
        self.end = 0


_LOADER = ArcWarcRecordLoader(verify_http=False, arc2warc=False)


def _describe(path: Path, offset: int, record: Any, max_size: int, out: list[CdxjEntry | Problem]) -> None:
    """Parse the head of a response/revisit record into ``out`` (its length still to be filled)."""
    rec_headers = record.rec_headers
    rec_type = rec_headers.get_header("WARC-Type")
    if rec_type not in _INDEXED_TYPES:
        return
    uri = (rec_headers.get_header("WARC-Target-URI") or "").strip().strip("<>")
    if not uri:
        out.append(Problem("no_target_uri", path, offset, f"a {rec_type} record with no WARC-Target-URI"))
        return
    if not uri.lower().startswith(("http:", "https:")):
        return
    if not on_site(uri):
        out.append(Problem("other_host", path, offset, f"a capture of {uri}, not on the NZ Herald site"))
        return
    stream = record.raw_stream
    http = None
    if record.length:
        try:
            http = _LOADER.http_parser.parse(stream)
        except EOFError:
            http = None
    if rec_type == "response" and http is None:
        return  # not an HTTP response (or an empty one): nothing to replay
    payload = stream.limit
    if payload > max_size:
        out.append(
            Problem("too_large", path, offset, f"{uri}: a payload of {payload} bytes (over {max_size})")
        )
        return
    try:
        stamp = timestamp14(warc_datetime(rec_headers.get_header("WARC-Date") or ""))
    except ValueError:
        out.append(Problem("corrupt", path, offset, f"{uri}: no valid WARC-Date"))
        return
    status: int | None = None
    mime: str | None = None
    if http is not None:
        try:
            status = int(http.get_statuscode())
        except (TypeError, ValueError):
            status = None
        content_type = http.get_header("Content-Type")
        mime = content_type.split(";")[0].strip() if content_type else None
    fields: dict[str, Any] = {
        "url": uri,
        "timestamp": stamp,
        "filename": path.name,
        "offset": offset,
        "length": 0,
        "status": status,
        "mime": mime,
        "digest": rec_headers.get_header("WARC-Payload-Digest"),
        "type": rec_type,
    }
    if rec_type == "revisit":
        refers_url = rec_headers.get_header("WARC-Refers-To-Target-URI")
        refers_date = rec_headers.get_header("WARC-Refers-To-Date")
        try:
            refers_stamp = timestamp14(warc_datetime(refers_date)) if refers_date else None
        except ValueError:
            refers_stamp = None
        out.append(RevisitEntry(**fields, refers_to_url=refers_url, refers_to_timestamp=refers_stamp))
    else:
        out.append(CdxjEntry(**fields))


def _fill_length(items: list[CdxjEntry | Problem], length: int) -> list[CdxjEntry | Problem]:
    """The items of one record, its entry given the record's length (known once read through)."""
    return [replace(item, length=length) if isinstance(item, CdxjEntry) else item for item in items]


def _read_gzip_record(file: io.BufferedReader, path: Path, offset: int, max_size: int) -> _Record:
    result = _Record()
    file.seek(offset)
    if file.read(3) != GZIP_MAGIC:
        raise _Corrupt("no gzip member starts here")
    member = _GzipMember(file, offset)
    stream = io.BufferedReader(member, _BLOCK)
    try:
        record = _LOADER.parse_record_stream(stream, known_format="warc", no_record_parse=True)
        _describe(path, offset, record, max_size, result.items)
        _drain(record.raw_stream)
    except (_Corrupt, _Truncated):
        raise
    except Exception as error:  # warcio's parse errors: the member is whole, its record is not
        result.items = [Problem("corrupt", path, offset, f"unreadable WARC record: {error!r}")]
    trailer = stream.read(_BLOCK)
    if trailer.strip():
        result.items.append(
            Problem("corrupt", path, offset, "a gzip member holding more than one record: the rest skipped")
        )
    _drain(stream)
    assert member.end is not None
    result.end = member.end
    result.items = _fill_length(result.items, member.end - offset)
    return result


def _read_plain_record(file: io.BufferedReader, path: Path, offset: int, size: int, max_size: int) -> _Record:
    result = _Record()
    file.seek(offset)
    try:
        record = _LOADER.parse_record_stream(file, known_format="warc", no_record_parse=True)
        if record.length is None:
            raise ValueError("no Content-Length")
    except Exception as error:
        file.seek(offset)
        left = file.read(_BLOCK)
        if len(left) < _BLOCK and b"\r\n\r\n" not in left:
            raise _Truncated("the file ends inside a record's headers") from None
        raise _Corrupt(f"unreadable WARC record: {error!r}") from None
    block_end = file.tell() + record.raw_stream.limit
    if block_end > size:
        raise _Truncated(f"the record needs {block_end - offset} bytes, the file has {size - offset}")
    try:
        _describe(path, offset, record, max_size, result.items)
    except Exception as error:
        result.items = [Problem("corrupt", path, offset, f"unreadable WARC record: {error!r}")]
    file.seek(block_end)
    gap = file.read(4)
    result.end = block_end + len(gap) - len(gap.lstrip(b"\r\n"))
    result.items = _fill_length(result.items, block_end - offset)
    return result


def scan(path: Path, max_size: int) -> Iterator[CdxjEntry | Problem]:
    """Every ``response`` and ``revisit`` record of one WARC file as an entry, and what was wrong.

    Entries give the offset and length of the record's gzip member (of the record itself in an
    uncompressed file); revisits come as :class:`RevisitEntry`. Request, metadata, warcinfo and
    resource records and non-HTTP captures are skipped silently. The format is told by the file's
    first bytes, not its name.
    """
    size = path.stat().st_size
    with path.open("rb") as file:
        head = file.read(8)
        if head.startswith(GZIP_MAGIC):
            gz = True
            if not _starts_warc_member(file, 0):
                yield Problem("not_warc", path, 0, "a gzip file that does not hold WARC records")
                return
        elif head.startswith(b"WARC/"):
            gz = False
        else:
            yield Problem("not_warc", path, 0, "not a WARC file (neither gzip nor WARC/1.x)")
            return
        offset = 0
        while offset < size:
            try:
                if gz:
                    record = _read_gzip_record(file, path, offset, max_size)
                else:
                    record = _read_plain_record(file, path, offset, size, max_size)
            except _Truncated as error:
                yield Problem("truncated", path, offset, str(error))
                return
            except _Corrupt as error:
                file.seek(offset)
                if not file.read(_BLOCK).strip(b"\x00\r\n \t"):
                    return  # padding at the end of the file
                following = _resync(file, offset + 1, gz)
                where = (
                    f"reading resumes at offset {following}" if following is not None else "no record after"
                )
                yield Problem("corrupt", path, offset, f"{error}; {where}")
                if following is None:
                    return
                offset = following
                continue
            yield from record.items
            offset = record.end


def read_capture(path: Path, offset: int, length: int, expected_key: str | None = None) -> Capture:
    """The response record of ``length`` bytes at ``offset`` of the WARC file ``path``.

    The body has ``Transfer-Encoding: chunked`` undone (and that header removed) but not
    ``Content-Encoding``: the headers keep it, and the body is as the server sent it. With
    ``expected_key`` (the :func:`~herald_spider.archive.cdxj.url_key` of the URL asked for), a
    record of another URL (an index hash collision, a stale index) raises :class:`LookupError`.
    """
    with path.open("rb") as file:
        file.seek(offset)
        data = file.read(length)
    if len(data) < length:
        raise LookupError(f"{path}: {length} bytes wanted at offset {offset}, the file is shorter")
    if data.startswith(GZIP_MAGIC):
        try:
            decompressor = zlib.decompressobj(16 + zlib.MAX_WBITS)
            data = decompressor.decompress(data)
        except zlib.error as error:
            raise LookupError(f"{path} at {offset}: broken gzip member: {error}") from None
    record = _LOADER.parse_record_stream(io.BytesIO(data), known_format="warc")
    uri = (record.rec_headers.get_header("WARC-Target-URI") or "").strip().strip("<>")
    if expected_key is not None and url_key(uri) != expected_key:
        raise LookupError(f"{path} at {offset} holds {uri!r}, not {expected_key!r}")
    http = record.http_headers
    if record.rec_type != "response" or http is None:
        raise LookupError(f"{path} at {offset}: a {record.rec_type} record, not an HTTP response")
    chunked = (http.get_header("Transfer-Encoding") or "").strip().lower() == "chunked"
    stream: Any = ChunkedDataReader(record.raw_stream, decomp_type=None) if chunked else record.raw_stream
    body = stream.read()
    headers = [
        (name, value) for name, value in http.headers if not (chunked and name.lower() == "transfer-encoding")
    ]
    status = int(http.get_statuscode())
    protocol = http.protocol or http.statusline.split(" ", 1)[0]
    return Capture(
        url=uri,
        date=record.rec_headers.get_header("WARC-Date") or "",
        status=status,
        protocol=protocol,
        headers=headers,
        body=body,
    )
