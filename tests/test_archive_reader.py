"""Reading WARC archives for replay: scanning, the index and its cache, reading a capture back."""

from __future__ import annotations

import gzip
import io
import os
import random
import shutil
import zlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from warcio.archiveiterator import ArchiveIterator
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from herald_spider.archive import reader
from herald_spider.archive.cdxj import CdxjEntry, url_key
from herald_spider.archive.index import ArchiveIndex, key_hash
from herald_spider.archive.reader import Problem, read_capture, scan, warc_files

FIXTURE = Path(__file__).parent / "fixtures" / "warc" / "dev-site-feeds.warc.gz"
SITE = "https://www.nzherald.co.nz"
TWICE = f"{SITE}/world/australia/how-the-housing-squeeze-is-reshaping-everyday-life-in-sydney/" + (
    "LIKEHSHYJ4YIAM7CID3RYUA5XP/"
)
MB = 1 << 20


def _open(source: Path, tmp_path: Path, max_size: int = 32 * MB) -> tuple[ArchiveIndex, list[Problem]]:
    return ArchiveIndex.open(source, tmp_path / "cache", max_size)


def _write(path: Path, records: list[dict[str, Any]]) -> list[int]:
    """A gzipped WARC file written by warcio; the offsets of its records."""
    offsets = []
    with path.open("wb") as out:
        writer = WARCWriter(out, gzip=True)
        for spec in records:
            offsets.append(out.tell())
            body = spec.get("body", b"<html><body>hello</body></html>")
            http = StatusAndHeaders(spec.get("status", "200 OK"), [("Content-Type", "text/html")], "HTTP/1.1")
            warc_headers = {"WARC-Date": spec.get("date", "2025-06-19T00:40:00Z"), **spec.get("warc", {})}
            if spec.get("type", "response") == "revisit":
                record = writer.create_revisit_record(
                    spec["url"],
                    spec["digest"],
                    spec.get("refers_url", ""),
                    spec.get("refers_date", ""),
                    http_headers=http,
                )
                record.rec_headers.replace_header("WARC-Date", warc_headers["WARC-Date"])
                if not spec.get("refers_url"):
                    record.rec_headers.remove_header("WARC-Refers-To-Target-URI")
                    record.rec_headers.remove_header("WARC-Refers-To-Date")
            else:
                record = writer.create_warc_record(
                    spec["url"],
                    spec.get("type", "response"),
                    payload=io.BytesIO(body),
                    http_headers=http,
                    warc_headers_dict=warc_headers,
                )
            writer.write_record(record)
    return offsets


def _raw_member(
    headers: list[tuple[str, str]], http: bytes, body_chunks: Any = (b"",), size: int = 0
) -> bytes:
    """One gzip member holding a hand-written WARC record (``size`` = the body's length)."""
    block_length = len(http) + size
    head = "WARC/1.0\r\n" + "".join(f"{name}: {value}\r\n" for name, value in headers)
    head += f"Content-Type: application/http; msgtype=response\r\nContent-Length: {block_length}\r\n\r\n"
    compressor = zlib.compressobj(1, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    parts = [compressor.compress(head.encode() + http)]
    parts.extend(compressor.compress(chunk) for chunk in body_chunks)
    parts.append(compressor.compress(b"\r\n\r\n"))
    parts.append(compressor.flush())
    return b"".join(parts)


def _page(url: str, number: int = 0) -> dict[str, Any]:
    return {"url": url, "body": f"<html><p>{number}</p></html>".encode()}


def _pages(count: int) -> list[dict[str, Any]]:
    return [_page(f"{SITE}/world/page-{number}/", number) for number in range(count)]


def _problems(items: list[CdxjEntry | Problem]) -> list[Problem]:
    return [item for item in items if isinstance(item, Problem)]


def _entries(items: list[CdxjEntry | Problem]) -> list[CdxjEntry]:
    return [item for item in items if isinstance(item, CdxjEntry)]


# the shared fixture


def test_scan_indexes_every_response_record_and_skips_the_others() -> None:
    with FIXTURE.open("rb") as stream:
        iterator = ArchiveIterator(stream)
        expected = []
        types = set()
        for record in iterator:
            types.add(record.rec_type)
            if record.rec_type == "response":
                expected.append((iterator.get_record_offset(), iterator.get_record_length()))
    assert {"warcinfo", "request", "metadata", "response"} <= types
    items = list(scan(FIXTURE, 32 * MB))
    assert _problems(items) == []
    assert [(entry.offset, entry.length) for entry in _entries(items)] == expected
    assert {entry.type for entry in _entries(items)} == {"response"}
    assert all(entry.filename == FIXTURE.name for entry in _entries(items))


def test_newest_capture_wins_though_stored_first_and_at_picks_the_older(tmp_path: Path) -> None:
    index, problems = _open(FIXTURE, tmp_path)
    assert problems == []
    newest = index.lookup(TWICE)
    older = index.lookup(TWICE, at=datetime(2025, 6, 18, 2, 0, tzinfo=UTC))
    assert newest is not None and older is not None
    assert newest.date.startswith("2025-06-19") and older.date.startswith("2025-06-18")
    assert newest.offset < older.offset  # the newer capture is stored first
    assert read_capture(newest.path, newest.offset, newest.length, newest.url).date.startswith("2025-06-19")
    assert read_capture(older.path, older.offset, older.length, older.url).date.startswith("2025-06-18")


@pytest.mark.parametrize(
    ("url", "status"),
    [
        (
            f"{SITE}/world/asia/typhoon-forces-thousands-from-homes-in-northern-philippines/NNHH5ZYCSN3574CNZLWGFF742V",
            301,
        ),
        (f"{SITE}/world/this-page-was-removed/AAAAAAAAAAAAAAAAAAAAAAAAAA/", 404),
    ],
)
def test_redirect_and_not_found_captures_keep_their_status(tmp_path: Path, url: str, status: int) -> None:
    index, _ = _open(FIXTURE, tmp_path)
    location = index.lookup(url)
    assert location is not None
    assert read_capture(location.path, location.offset, location.length, url_key(url)).status == status


def test_read_capture_undoes_chunking(tmp_path: Path) -> None:
    index, _ = _open(FIXTURE, tmp_path)
    location = index.lookup(f"{SITE}/world/australia/")
    assert location is not None
    capture = read_capture(location.path, location.offset, location.length, location.url)
    names = {name.lower() for name, _ in capture.headers}
    assert "transfer-encoding" not in names
    assert capture.body.startswith(b"<!DOCTYPE html") and capture.body.rstrip().endswith(b"</html>")


def test_read_capture_keeps_content_encoding_of_a_chunked_gzip_payload(tmp_path: Path) -> None:
    url = f"{SITE}/world/biden-putin-trade-frank-talk-as-alarm-rises-over-ukraine/TCPGZWD2MDJYKMDHO236QFMWUS/"
    index, _ = _open(FIXTURE, tmp_path)
    location = index.lookup(url)
    assert location is not None
    capture = read_capture(location.path, location.offset, location.length, location.url)
    headers = {name.lower(): value for name, value in capture.headers}
    assert headers["content-encoding"] == "gzip" and "transfer-encoding" not in headers
    assert capture.body.startswith(b"\x1f\x8b")
    assert b"<html" in gzip.decompress(capture.body)[:200]
    assert capture.status == 200 and capture.protocol == "HTTP/1.1" and capture.url == url


def test_read_capture_refuses_a_record_of_another_url(tmp_path: Path) -> None:
    index, _ = _open(FIXTURE, tmp_path)
    location = index.lookup(f"{SITE}/world/")
    assert location is not None
    with pytest.raises(LookupError):
        read_capture(location.path, location.offset, location.length, url_key(f"{SITE}/world/uk/"))


# bad inputs


def test_a_truncated_last_record_is_reported_and_the_rest_indexed(tmp_path: Path) -> None:
    path = tmp_path / "a.warc.gz"
    offsets = _write(path, _pages(3))
    data = path.read_bytes()
    path.write_bytes(data[: offsets[2] + (len(data) - offsets[2]) // 2])
    items = list(scan(path, 32 * MB))
    assert _problems(items) == [Problem("truncated", path, offsets[2], _problems(items)[0].message)]
    assert [entry.offset for entry in _entries(items)] == offsets[:2]


def test_a_corrupt_member_in_the_middle_is_skipped_and_reading_resumes(tmp_path: Path) -> None:
    path = tmp_path / "a.warc.gz"
    offsets = _write(path, [_page(f"{SITE}/world/page-{n}/", n) for n in range(4)])
    data = bytearray(path.read_bytes())
    middle = (offsets[1] + offsets[2]) // 2
    data[middle : middle + 8] = bytes(255 - byte for byte in data[middle : middle + 8])
    path.write_bytes(bytes(data))
    items = list(scan(path, 32 * MB))
    problems = _problems(items)
    assert [(p.kind, p.path, p.offset) for p in problems] == [("corrupt", path, offsets[1])]
    assert [entry.offset for entry in _entries(items)] == [offsets[0], offsets[2], offsets[3]]
    index, found = _open(path, tmp_path)
    assert found == problems and index.lookup(f"{SITE}/world/page-3/") is not None


def test_files_that_are_not_warc_are_skipped(tmp_path: Path) -> None:
    folder = tmp_path / "archive"
    folder.mkdir()
    _write(folder / "good.warc.gz", _pages(2))
    (folder / "README.txt").write_text("not an archive")
    (folder / "noise.warc.gz").write_bytes(random.Random(1).randbytes(5000))
    (folder / "text.warc").write_text("hello\n")
    index, problems = _open(folder, tmp_path)
    assert sorted((p.kind, p.path.name, p.offset) for p in problems) == [
        ("not_warc", "noise.warc.gz", 0),
        ("not_warc", "text.warc", 0),
    ]
    assert len(index) == 2 and index.lookup(f"{SITE}/world/page-1/") is not None


def test_a_capture_of_another_host_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "a.warc.gz"
    offsets = _write(path, [_page(f"{SITE}/world/"), _page("https://www.nzherald.co.nz.evil.example/world/")])
    items = list(scan(path, 32 * MB))
    assert [(p.kind, p.offset) for p in _problems(items)] == [("other_host", offsets[1])]
    assert len(_entries(items)) == 1


def test_a_huge_payload_is_reported_without_being_read_into_memory(tmp_path: Path) -> None:
    import tracemalloc

    path = tmp_path / "big.warc.gz"
    offsets = _write(path, _pages(1))
    chunk = b"x" * MB
    member = _raw_member(
        [
            ("WARC-Type", "response"),
            ("WARC-Target-URI", f"{SITE}/world/huge/"),
            ("WARC-Date", "2025-06-19T00:40:00Z"),
        ],
        b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n",
        (chunk for _ in range(200)),
        200 * MB,
    )
    with path.open("ab") as out:
        big_offset = out.tell()
        out.write(member)
    _write(tmp_path / "tail.warc.gz", [_page(f"{SITE}/world/after/")])
    with path.open("ab") as out:
        out.write((tmp_path / "tail.warc.gz").read_bytes())
    tracemalloc.start()
    items = list(scan(path, 32 * MB))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert [(p.kind, p.offset) for p in _problems(items)] == [("too_large", big_offset)]
    assert [entry.url for entry in _entries(items)] == [f"{SITE}/world/page-0/", f"{SITE}/world/after/"]
    assert offsets == [0] and peak < 16 * MB


def test_a_record_without_target_uri_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "a.warc.gz"
    _write(path, _pages(1))
    member = _raw_member(
        [("WARC-Type", "response"), ("WARC-Date", "2025-06-19T00:40:00Z")],
        b"HTTP/1.1 200 OK\r\n\r\n",
        (b"hi",),
        2,
    )
    with path.open("ab") as out:
        offset = out.tell()
        out.write(member)
    _write(tmp_path / "tail.warc.gz", [_page(f"{SITE}/world/after/")])
    with path.open("ab") as out:
        out.write((tmp_path / "tail.warc.gz").read_bytes())
    items = list(scan(path, 32 * MB))
    assert [(p.kind, p.offset) for p in _problems(items)] == [("no_target_uri", offset)]
    assert len(_entries(items)) == 2


def test_revisits_resolve_to_their_original(tmp_path: Path) -> None:
    path = tmp_path / "a.warc.gz"
    original = {"url": f"{SITE}/world/", "date": "2025-06-18T00:00:00Z", "body": b"<html>same</html>"}
    first = _write(tmp_path / "probe.warc.gz", [original])
    del first
    with (tmp_path / "probe.warc.gz").open("rb") as stream:
        digest = next(iter(ArchiveIterator(stream))).rec_headers.get_header("WARC-Payload-Digest")
    offsets = _write(
        path,
        [
            original,
            {"url": f"{SITE}/world/", "type": "revisit", "digest": digest, "date": "2025-06-19T00:00:00Z"},
            {
                "url": f"{SITE}/world/?ref=x",
                "type": "revisit",
                "digest": digest,
                "refers_url": f"{SITE}/world/",
                "refers_date": "2025-06-18T00:00:00Z",
                "date": "2025-06-19T00:00:00Z",
            },
        ],
    )
    index, problems = _open(path, tmp_path)
    assert problems == [] and len(index) == 3
    by_digest = index.lookup(f"{SITE}/world/")
    by_refers = index.lookup(f"{SITE}/world/?ref=x")
    assert by_digest is not None and by_refers is not None
    assert by_digest.offset == by_refers.offset == offsets[0]
    assert by_digest.date == "2025-06-19T00:00:00Z"
    assert by_refers.url == url_key(f"{SITE}/world/")  # the record to check against is the original's
    capture = read_capture(by_refers.path, by_refers.offset, by_refers.length, by_refers.url)
    assert capture.body == b"<html>same</html>"


def test_an_unresolved_revisit_is_dropped_with_a_problem(tmp_path: Path) -> None:
    path = tmp_path / "a.warc.gz"
    offsets = _write(
        path,
        [
            _page(f"{SITE}/world/uk/"),
            {
                "url": f"{SITE}/world/",
                "type": "revisit",
                "digest": "sha1:AAAA",
                "date": "2025-06-19T00:00:00Z",
            },
        ],
    )
    index, problems = _open(path, tmp_path)
    assert [(p.kind, p.path, p.offset) for p in problems] == [("revisit_unresolved", path, offsets[1])]
    assert index.lookup(f"{SITE}/world/") is None and len(index) == 1


# the cache


def test_a_second_open_reads_no_warc_and_gives_the_same_answers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "archive"
    folder.mkdir()
    shutil.copy(FIXTURE, folder / FIXTURE.name)
    (folder / "noise.warc.gz").write_bytes(b"not a warc at all")
    first, problems = _open(folder, tmp_path)

    def no_scan(path: Path, max_size: int) -> Any:
        raise AssertionError("scanned again")

    monkeypatch.setattr(reader, "scan", no_scan)
    second, again = _open(folder, tmp_path)
    assert again == problems and [p.kind for p in again] == ["not_warc"]
    assert len(second) == len(first) == 62
    for at in (None, datetime(2025, 6, 18, tzinfo=UTC)):
        assert second.lookup(TWICE, at) == first.lookup(TWICE, at)


def test_a_changed_file_rebuilds_the_index(tmp_path: Path) -> None:
    path = tmp_path / "a.warc.gz"
    _write(path, _pages(2))
    first, _ = _open(path, tmp_path)
    _write(path, _pages(3))
    os.utime(path, (1_900_000_000, 1_900_000_000))
    second, _ = _open(path, tmp_path)
    assert len(first) == 2 and len(second) == 3


def test_a_cdxj_beside_the_file_is_used_instead_of_a_scan(tmp_path: Path) -> None:
    path = tmp_path / "a.warc.gz"
    offsets = _write(path, _pages(2))
    entry = CdxjEntry(f"{SITE}/world/page-0/", "20250619004000", path.name, offsets[1], 1234, 200)
    path.with_name(path.name + ".cdxj").write_text(entry.line() + "\n")
    index, _ = _open(path, tmp_path)
    location = index.lookup(f"{SITE}/world/page-0/")
    assert location is not None and (location.offset, location.length) == (offsets[1], 1234)
    assert len(index) == 1
    os.utime(path, (1_900_000_000, 1_900_000_000))  # the CDXJ is now older than the file: scanned
    rebuilt, _ = _open(path, tmp_path)
    assert len(rebuilt) == 2


def test_a_large_index_round_trips(tmp_path: Path) -> None:
    count = 100_000
    rng = random.Random(7)
    hashes = [rng.getrandbits(64) for _ in range(count)]
    times = [1_750_000_000 + rng.randrange(10**6) for _ in range(count)]
    files = [tmp_path / "a.warc.gz", tmp_path / "b.warc.gz"]
    index = ArchiveIndex.from_columns(
        hashes, times, [n % 2 for n in range(count)], range(count), [500] * count, files
    )
    index.save(tmp_path / "big.idx")
    loaded, problems = ArchiveIndex.load(tmp_path / "big.idx")
    assert problems == [] and len(loaded) == count and loaded.files == files
    assert list(loaded._hashes) == sorted(hashes)
    assert list(loaded._offsets) == list(index._offsets)
    url = f"{SITE}/world/needle/"
    small = ArchiveIndex.from_columns([key_hash(url)], [1_750_000_000], [0], [42], [7], files)
    small.save(tmp_path / "small.idx")
    found = ArchiveIndex.load(tmp_path / "small.idx")[0].lookup(url)
    assert found is not None and (found.offset, found.length, found.path) == (42, 7, files[0])


def test_warc_files_lists_a_folder_recursively_and_skips_open_files_and_outside_links(tmp_path: Path) -> None:
    folder = tmp_path / "archive"
    (folder / "b").mkdir(parents=True)
    for name in ("b/2.warc.gz", "1.warc", "3.warc.gz.open", "notes.cdxj"):
        (folder / name).write_bytes(b"")
    outside = tmp_path / "outside.warc.gz"
    outside.write_bytes(b"")
    (folder / "link.warc.gz").symlink_to(outside)
    assert warc_files(folder) == [folder / "1.warc", folder / "b" / "2.warc.gz"]
    assert warc_files(outside) == [outside]
