"""The replay index: where the capture of a URL is, over all the WARC files of an archive.

Compact and cheap to load: a sorted ``array('Q')`` of 64-bit BLAKE2b hashes of
:func:`~herald_spider.archive.cdxj.url_key`, and parallel arrays of capture time (seconds), file
number, record offset and length; about 36 bytes a capture. Only hashes are kept, not URLs: the
caller checks the record it reads (``read_capture(..., expected_key=location.url)``), which
catches a hash collision. The index of an unchanged archive is cached in ``cache_dir`` and loaded
with ``array.fromfile``, without reading any WARC or CDXJ file; the problems found when it was
built are stored in the cache too, and returned on every open.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

from herald_spider.archive import reader
from herald_spider.archive.cdxj import CdxjEntry, parse_line, parse_timestamp14, url_key
from herald_spider.archive.reader import Problem, RevisitEntry
from herald_spider.urls import on_site

_MAGIC = b"HERALD-WARC-INDEX 1\n"
_VERSION = 1
_COLUMNS = (("hashes", "Q"), ("times", "q"), ("files", "I"), ("offsets", "Q"), ("lengths", "Q"))


def key_hash(url: str) -> int:
    """The stable 64-bit hash a URL is indexed by (of its :func:`url_key`).

    >>> key_hash("https://www.nzherald.co.nz/world/#top") == key_hash("https://www.nzherald.co.nz/world/")
    True
    """
    return _hash_key(url_key(url))


def _hash_key(key: str) -> int:
    return int.from_bytes(hashlib.blake2b(key.encode("utf-8"), digest_size=8).digest(), "big")


def _seconds(timestamp14: str) -> int:
    return int(parse_timestamp14(timestamp14).timestamp())


@dataclass(frozen=True)
class Location:
    """Where a capture's response record is; ``url`` is the url_key to check the record against."""

    path: Path
    offset: int
    length: int
    url: str
    date: str  # the capture's time, ISO 8601 UTC (``2025-06-19T00:40:00Z``)


class ArchiveIndex:
    """Captures by URL over a set of WARC files; see the module docstring."""

    def __init__(
        self,
        files: Sequence[Path],
        columns: dict[str, array[int]],
        aliases: dict[int, str] | None = None,
    ) -> None:
        self.files = list(files)
        self._hashes = columns["hashes"]
        self._times = columns["times"]
        self._files = columns["files"]
        self._offsets = columns["offsets"]
        self._lengths = columns["lengths"]
        #: rows whose record is of another URL (a revisit resolved to another URL's capture)
        self._aliases = dict(aliases or {})

    def __len__(self) -> int:
        return len(self._hashes)

    # building

    @classmethod
    def from_entries(cls, entries: Iterable[CdxjEntry], files: Sequence[Path]) -> ArchiveIndex:
        """An index of response entries (``filename`` is one of ``files``' names, or its number)."""
        numbers = {path.name: number for number, path in enumerate(files)}
        numbers.update({str(number): number for number in range(len(files))})
        rows = [
            (
                key_hash(entry.url),
                _seconds(entry.timestamp),
                numbers[entry.filename],
                entry.offset,
                entry.length,
            )
            for entry in entries
        ]
        return cls._from_rows(rows, files, {})

    @classmethod
    def from_columns(
        cls,
        hashes: Iterable[int],
        times: Iterable[int],
        file_numbers: Iterable[int],
        offsets: Iterable[int],
        lengths: Iterable[int],
        files: Sequence[Path],
    ) -> ArchiveIndex:
        """An index of raw columns (key hash, seconds, file number, offset, length): for benchmarks."""
        rows = list(zip(hashes, times, file_numbers, offsets, lengths, strict=True))
        return cls._from_rows(rows, files, {})

    @classmethod
    def _from_rows(
        cls, rows: list[tuple[int, int, int, int, int]], files: Sequence[Path], aliases: dict[int, str]
    ) -> ArchiveIndex:
        order = sorted(range(len(rows)), key=rows.__getitem__)
        columns = {name: array(code) for name, code in _COLUMNS}
        for position, (name, _) in enumerate(_COLUMNS):
            column = columns[name]
            column.extend(rows[row][position] for row in order)
        new_aliases = {new: aliases[old] for new, old in enumerate(order) if old in aliases}
        return cls(files, columns, new_aliases)

    @classmethod
    def open(cls, source: Path, cache_dir: Path, max_size: int) -> tuple[ArchiveIndex, list[Problem]]:
        """The index of the WARC file or folder ``source``, from the cache when the archive is unchanged.

        A WARC file's CDXJ (``<file>.cdxj``) is used instead of scanning the file when it is not
        older than the file.
        """
        files = reader.warc_files(source)
        cache = Path(cache_dir) / f"{_fingerprint(files, max_size)}.idx"
        if cache.exists():
            try:
                return cls._load(cache, files)
            except (OSError, ValueError, EOFError, KeyError):
                pass  # an unreadable cache is rebuilt
        index, problems = cls._build(files, max_size)
        try:
            cache.parent.mkdir(parents=True, exist_ok=True)
            index.save(cache, problems)
        except OSError:
            pass  # a cache that cannot be written (a read-only dataset) is built again next time
        return index, problems

    @classmethod
    def _build(cls, files: Sequence[Path], max_size: int) -> tuple[ArchiveIndex, list[Problem]]:
        problems: list[Problem] = []
        responses: list[tuple[int, CdxjEntry]] = []
        revisits: list[tuple[int, CdxjEntry]] = []
        for number, path in enumerate(files):
            for item in _entries(path, max_size):
                if isinstance(item, Problem):
                    problems.append(item)
                elif item.type == "revisit":
                    revisits.append((number, item))
                elif item.type == "response":
                    responses.append((number, item))
        rows: list[tuple[int, int, int, int, int]] = []
        by_time: dict[tuple[str, str], tuple[int, CdxjEntry]] = {}
        by_digest: dict[tuple[str, str], list[tuple[int, CdxjEntry]]] = {}
        for number, entry in responses:
            key = url_key(entry.url)
            rows.append((_hash_key(key), _seconds(entry.timestamp), number, entry.offset, entry.length))
            by_time[key, entry.timestamp] = (number, entry)
            if entry.digest:
                by_digest.setdefault((key, entry.digest), []).append((number, entry))
        aliases: dict[int, str] = {}
        for number, revisit in revisits:
            key = url_key(revisit.url)
            original = _original(revisit, key, by_time, by_digest)
            if original is None:
                problems.append(
                    Problem(
                        "revisit_unresolved",
                        files[number],
                        revisit.offset,
                        f"a revisit of {revisit.url} at {revisit.timestamp}: its original is not indexed",
                    )
                )
                continue
            original_number, entry = original
            original_key = url_key(entry.url)
            if original_key != key:
                aliases[len(rows)] = original_key
            rows.append(
                (_hash_key(key), _seconds(revisit.timestamp), original_number, entry.offset, entry.length)
            )
        return cls._from_rows(rows, files, aliases), problems

    # the cache

    def save(self, path: Path, problems: Sequence[Problem] = ()) -> None:
        """Write the index (and the problems found building it) to ``path``, atomically."""
        header = {
            "version": _VERSION,
            "count": len(self),
            "files": [str(file) for file in self.files],
            "aliases": {str(row): key for row, key in self._aliases.items()},
            "problems": [
                {"kind": p.kind, "path": str(p.path), "offset": p.offset, "message": p.message}
                for p in problems
            ],
        }
        data = json.dumps(header).encode("utf-8")
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temp = tempfile.mkstemp(prefix=path.name, suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(_MAGIC)
                out.write(len(data).to_bytes(8, "little"))
                out.write(data)
                for column in (self._hashes, self._times, self._files, self._offsets, self._lengths):
                    column.tofile(out)
            os.replace(temp, path)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise

    @classmethod
    def load(cls, path: Path) -> tuple[ArchiveIndex, list[Problem]]:
        """An index written by :meth:`save`, and its problems."""
        return cls._load(path, None)

    @classmethod
    def _load(cls, path: Path, files: Sequence[Path] | None) -> tuple[ArchiveIndex, list[Problem]]:
        with path.open("rb") as stream:
            header = _read_header(stream)
            count = int(header["count"])
            columns = {}
            for name, code in _COLUMNS:
                column = array(code)
                column.fromfile(stream, count)
                columns[name] = column
        stored = [Path(file) for file in header["files"]]
        problems = [
            Problem(p["kind"], Path(p["path"]), p["offset"], p["message"]) for p in header["problems"]
        ]
        aliases = {int(row): key for row, key in header["aliases"].items()}
        return cls(files if files is not None else stored, columns, aliases), problems

    # lookups

    def lookup(self, url: str, at: datetime | None = None) -> Location | None:
        """The newest capture of ``url`` (by WARC-Date), or with ``at`` the one closest to it."""
        key = url_key(url)
        wanted = _hash_key(key)
        first = bisect_left(self._hashes, wanted)
        last = bisect_right(self._hashes, wanted, lo=first)
        if first == last:
            return None
        row = last - 1  # rows of one hash are sorted by time
        if at is not None:
            moment = int((at if at.tzinfo else at.replace(tzinfo=UTC)).timestamp())
            row = min(range(first, last), key=lambda r: (abs(self._times[r] - moment), -self._times[r]))
        date = datetime.fromtimestamp(self._times[row], UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return Location(
            path=self.files[self._files[row]],
            offset=self._offsets[row],
            length=self._lengths[row],
            url=self._aliases.get(row, key),
            date=date,
        )


def _read_header(stream: BinaryIO) -> dict[str, Any]:
    if stream.read(len(_MAGIC)) != _MAGIC:
        raise ValueError("not an archive index")
    size = int.from_bytes(stream.read(8), "little")
    header: dict[str, Any] = json.loads(stream.read(size))
    if header.get("version") != _VERSION:
        raise ValueError("another index version")
    return header


def _fingerprint(files: Sequence[Path], max_size: int) -> str:
    """A hash of what the index depends on: the files (and CDXJ files) with their sizes and times."""
    digest = hashlib.sha256(f"{_VERSION} {max_size}\n".encode())
    for file in files:
        for part in (file, _cdxj_path(file)):
            try:
                status = part.stat()
            except OSError:
                digest.update(f"{part.resolve()} -\n".encode())
                continue
            digest.update(f"{part.resolve()} {status.st_size} {status.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def _cdxj_path(file: Path) -> Path:
    return file.with_name(file.name + ".cdxj")


def _entries(path: Path, max_size: int) -> Iterable[CdxjEntry | Problem]:
    """The entries of one WARC file: from its CDXJ when that is up to date, else from a scan."""
    cdxj = _cdxj_path(path)
    try:
        fresh = cdxj.stat().st_mtime >= path.stat().st_mtime
    except OSError:
        fresh = False
    if not fresh:
        return reader.scan(path, max_size)
    return _cdxj_entries(cdxj, path)


def _cdxj_entries(cdxj: Path, path: Path) -> Iterable[CdxjEntry | Problem]:
    with cdxj.open(encoding="utf-8", errors="replace") as lines:
        for line in lines:
            entry = parse_line(line)
            if entry is None or entry.type not in ("response", "revisit"):
                continue
            if not on_site(entry.url):
                yield Problem("other_host", path, entry.offset, f"a capture of {entry.url}, not on the site")
                continue
            yield entry


def _original(
    revisit: CdxjEntry,
    key: str,
    by_time: dict[tuple[str, str], tuple[int, CdxjEntry]],
    by_digest: dict[tuple[str, str], list[tuple[int, CdxjEntry]]],
) -> tuple[int, CdxjEntry] | None:
    """The response record a revisit stands for: the one it names, else the same URL's same payload."""
    if isinstance(revisit, RevisitEntry) and revisit.refers_to_url and revisit.refers_to_timestamp:
        named = by_time.get((url_key(revisit.refers_to_url), revisit.refers_to_timestamp))
        if named is not None:
            return named
    if revisit.digest:
        same = by_digest.get((key, revisit.digest), [])
        earlier = [item for item in same if item[1].timestamp <= revisit.timestamp]
        pool = earlier or same
        if pool:
            return max(pool, key=lambda item: item[1].timestamp)
    return None
