"""WarcRecorder: WARC 1.1 files read back by warcio, their CDXJ, rotation, kills and refusals."""

from __future__ import annotations

import gzip
import io
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
import zlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from warcio.archiveiterator import ArchiveIterator

from herald_spider.archive.cdxj import parse_line
from herald_spider.archive.writer import ArchiveDirectoryError, WarcFileExists, WarcRecorder

ROOT = Path(__file__).resolve().parents[1]
SOFTWARE = "herald_spider/0.1.0"
CRAWL = "20250619T004000Z-abcd1234"
START = datetime(2025, 6, 19, 0, 40, tzinfo=UTC)
HTML = b"<!doctype html><html><body><p>Kia ora</p></body></html>"
NAME = re.compile(r"herald-(?P<crawl>.+)-(?P<stamp>\d{14})-(?P<n>\d{5})\.warc\.gz")


def sequence(path: Path) -> int:
    match = NAME.fullmatch(path.name)
    assert match is not None, path
    return int(match["n"])


def fixed_clock() -> datetime:
    return START


def recorder(directory: Path, max_bytes: int = 1_000_000_000) -> WarcRecorder:
    return WarcRecorder(directory, CRAWL, SOFTWARE, max_bytes, clock=fixed_clock)


def exchange(index: int = 0, **changes: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "url": f"https://www.nzherald.co.nz/nz/story-{index}/",
        "method": "GET",
        "request_headers": [("Accept", "text/html"), ("User-Agent", "herald-test")],
        "request_body": b"",
        "status": 200,
        "reason": "OK",
        "protocol": "HTTP/1.1",
        "response_headers": [
            ("Content-Type", "text/html; charset=utf-8"),
            ("Content-Length", str(len(HTML))),
        ],
        "body": HTML,
        "date": datetime(2025, 6, 19, 0, 40, 37, 123456 + index, tzinfo=UTC),
    }
    values.update(changes)
    return values


def gzip_members(data: bytes) -> list[tuple[int, int]]:
    """(offset, length) of every gzip member of ``data``, asserting each is whole and that they
    cover all of it."""
    members = []
    offset = 0
    while offset < len(data):
        inflater = zlib.decompressobj(zlib.MAX_WBITS | 16)
        inflater.decompress(data[offset:])
        assert inflater.eof, f"gzip member at {offset} is truncated"
        length = len(data) - offset - len(inflater.unused_data)
        members.append((offset, length))
        offset += length
    return members


def read_records(path: Path) -> list[dict[str, Any]]:
    """Every record of a WARC file, digests checked, content read whole."""
    records = []
    with path.open("rb") as handle:
        for record in ArchiveIterator(handle, check_digests=True):
            raw = record.raw_stream.read()
            checker = record.digest_checker
            assert checker.problems == [], (path, checker.problems)
            if record.rec_type in ("response", "request"):
                assert checker.passed is True
            records.append(
                {
                    "type": record.rec_type,
                    "warc": record.rec_headers,
                    "http": record.http_headers,
                    "raw": raw,
                }
            )
    return records


def final_files(directory: Path) -> list[Path]:
    return sorted(directory.glob("*.warc.gz"))


def test_records_read_back_with_warcio(tmp_path: Path) -> None:
    compressed = gzip.compress(HTML * 20)
    exchanges = [
        exchange(1),
        exchange(
            2,
            response_headers=[
                ("Content-Type", "text/html"),
                ("Content-Encoding", "gzip"),
                ("Transfer-Encoding", "chunked"),
            ],
            body=compressed,
        ),
        exchange(
            3,
            method="POST",
            request_headers=[("Content-Type", "application/json")],
            request_body=b'{"q": 1}',
            status=404,
            reason="Not Found",
            protocol="h2",
            body=b"",
            response_headers=[],
        ),
    ]
    rec = recorder(tmp_path / "warc")
    for values in exchanges:
        rec.record(**values)
    rec.close()

    [path] = rec.files
    assert sorted(p.name for p in (tmp_path / "warc").iterdir()) == [path.name, path.name + ".cdxj"]
    match = NAME.fullmatch(path.name)
    assert match and match["crawl"] == CRAWL and match["stamp"] == "20250619004000" and match["n"] == "00001"

    records = read_records(path)
    assert [r["type"] for r in records] == ["warcinfo"] + ["response", "request"] * 3
    assert all(r["warc"].protocol == "WARC/1.1" for r in records)
    info = records[0]["raw"].decode()
    assert f"software: {SOFTWARE}\r\n" in info
    assert CRAWL in info
    assert "format: WARC File Format 1.1\r\n" in info
    assert (
        "conformsTo: http://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/" in info
    )
    assert records[0]["warc"].get_header("WARC-Filename") == path.name

    for values, response, request in zip(exchanges, records[1::2], records[2::2], strict=True):
        warc = response["warc"]
        assert warc.get_header("WARC-Target-URI") == values["url"]
        assert warc.get_header("WARC-Date") == values["date"].strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        assert warc.get_header("WARC-Payload-Digest").startswith("sha1:")
        assert warc.get_header("WARC-Block-Digest").startswith("sha1:")
        assert response["raw"] == values["body"]
        assert response["http"].get_statuscode() == str(values["status"])
        assert response["http"].get_header("Transfer-Encoding") is None
        assert request["warc"].get_header("WARC-Concurrent-To") == warc.get_header("WARC-Record-ID")
        assert request["warc"].get_header("WARC-Target-URI") == values["url"]
        assert request["raw"] == values["request_body"]
        assert request["http"].protocol == response["http"].protocol

    assert records[3]["raw"][:2] == b"\x1f\x8b"  # still gzip, as received
    assert gzip.decompress(records[3]["raw"]) == HTML * 20
    assert records[3]["http"].get_header("X-Archive-Orig-Transfer-Encoding") == "chunked"
    assert records[3]["http"].get_header("Content-Encoding") == "gzip"
    assert records[1]["http"].protocol == "HTTP/1.1"
    assert records[5]["http"].protocol == "HTTP/2"
    assert records[5]["http"].statusline == "404 Not Found"
    assert records[6]["http"].statusline == "POST /nz/story-3/"
    assert records[6]["http"].get_header("Host") == "www.nzherald.co.nz"


def test_each_record_is_one_gzip_member(tmp_path: Path) -> None:
    rec = recorder(tmp_path)
    for index in range(4):
        rec.record(**exchange(index))
    rec.close()
    data = rec.files[0].read_bytes()
    assert len(gzip_members(data)) == 1 + 2 * 4


def test_warcio_content_stream_decodes_the_recorded_body(tmp_path: Path) -> None:
    rec = recorder(tmp_path)
    rec.record(**exchange(response_headers=[("Content-Encoding", "gzip")], body=gzip.compress(HTML)))
    rec.close()
    with rec.files[0].open("rb") as handle:
        responses = [r.content_stream().read() for r in ArchiveIterator(handle) if r.rec_type == "response"]
    assert responses == [HTML]


def test_cdxj_beside_each_file_points_at_each_response(tmp_path: Path) -> None:
    rec = recorder(tmp_path)
    urls = [
        f"https://www.nzherald.co.nz/{section}/story/" for section in ("world", "business", "nz", "sport")
    ]
    for index, url in enumerate(urls):
        rec.record(**exchange(index, url=url, status=200 + index))
    rec.close()

    [path] = rec.files
    lines = (path.parent / (path.name + ".cdxj")).read_text().splitlines()
    assert lines == sorted(lines)
    assert len(lines) == len(urls)
    data = path.read_bytes()
    seen = set()
    for line in lines:
        entry = parse_line(line)
        assert entry is not None
        assert entry.filename == path.name
        assert entry.timestamp == "20250619004037"
        assert entry.mime == "text/html"
        # exactly one gzip member, holding exactly the response record
        member = data[entry.offset : entry.offset + entry.length]
        assert gzip_members(member) == [(0, entry.length)]
        [record] = read_records_from(member)
        assert record.rec_type == "response"
        assert record.rec_headers.get_header("WARC-Target-URI") == entry.url
        assert record.rec_headers.get_header("WARC-Payload-Digest") == entry.digest
        assert record.http_headers.get_statuscode() == str(entry.status)
        seen.add(entry.url)
    assert seen == set(urls)


def read_records_from(member: bytes) -> list[Any]:
    records = []
    for record in ArchiveIterator(io.BytesIO(member), check_digests="raise"):
        record.raw_stream.read()
        records.append(record)
    return records


def test_rotation_writes_several_whole_files(tmp_path: Path) -> None:
    rec = recorder(tmp_path, max_bytes=3000)
    bodies = [os.urandom(1200) for _ in range(7)]  # incompressible: two exchanges pass 3000 bytes
    for index, body in enumerate(bodies):
        rec.record(**exchange(index, body=body))
    rec.close()

    assert len(rec.files) >= 3
    assert rec.files == final_files(tmp_path)
    names = [p.name for p in rec.files]
    assert names == sorted(names)
    assert [sequence(p) for p in rec.files] == list(range(1, len(names) + 1))
    assert not list(tmp_path.glob("*.open"))
    recorded = []
    for path in rec.files:
        gzip_members(path.read_bytes())
        records = read_records(path)
        assert records[0]["type"] == "warcinfo"
        assert [r["type"] for r in records[1:]] == ["response", "request"] * ((len(records) - 1) // 2)
        recorded += [r["raw"] for r in records if r["type"] == "response"]
        lines = (path.parent / (path.name + ".cdxj")).read_text().splitlines()
        assert len(lines) == (len(records) - 1) // 2
        for entry in map(parse_line, lines):
            assert entry is not None and entry.filename == path.name
    for path in rec.files[:-1]:
        assert path.stat().st_size >= 3000
    assert recorded == bodies


def test_record_after_close_starts_the_next_file(tmp_path: Path) -> None:
    rec = recorder(tmp_path)
    rec.record(**exchange(1))
    rec.close()
    rec.close()  # twice: harmless
    rec.record(**exchange(2))
    rec.close()
    assert [sequence(p) for p in rec.files] == [1, 2]
    assert all(len(read_records(p)) == 3 for p in rec.files)


def test_close_without_records_writes_nothing(tmp_path: Path) -> None:
    rec = recorder(tmp_path)
    rec.close()
    rec.close()
    assert rec.files == []
    assert list(tmp_path.iterdir()) == []


def test_never_closed_leaves_only_its_open_file(tmp_path: Path) -> None:
    rec = recorder(tmp_path)
    rec.record(**exchange(1))
    rec.record(**exchange(2))
    [entry] = tmp_path.iterdir()
    assert entry.name.endswith(".warc.gz.open")
    assert rec.files == []
    # what was written so far is whole records already
    assert [r["type"] for r in read_records(entry)] == ["warcinfo"] + ["response", "request"] * 2


KILLED = textwrap.dedent(
    """
    import itertools, os, sys
    from datetime import UTC, datetime
    from pathlib import Path
    from herald_spider.archive.writer import WarcRecorder

    recorder = WarcRecorder(Path(sys.argv[1]), "killed", "herald_spider/test", max_bytes=300_000)
    for index in itertools.count():
        recorder.record(
            url=f"https://www.nzherald.co.nz/nz/story-{index}/", method="GET",
            request_headers=[("Accept", "*/*")], request_body=b"", status=200, reason="OK",
            protocol="HTTP/1.1", response_headers=[("Content-Type", "application/octet-stream")],
            body=os.urandom(40_000), date=datetime.now(UTC),
        )
    """
)


@pytest.mark.parametrize("files_before_kill", [2, 5])
def test_sigkill_never_leaves_a_truncated_final_file(tmp_path: Path, files_before_kill: int) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen([sys.executable, "-c", KILLED, str(tmp_path)], env=env)
    try:
        deadline = time.monotonic() + 60
        while len(list(tmp_path.glob("*.cdxj"))) < files_before_kill:
            assert process.poll() is None, "the recorder stopped on its own"
            assert time.monotonic() < deadline, "the recorder wrote too slowly"
            time.sleep(0.005)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    assert process.returncode == -signal.SIGKILL

    finals = final_files(tmp_path)
    assert len(finals) >= files_before_kill
    for path in finals:
        data = path.read_bytes()
        gzip_members(data)  # every member whole, nothing after the last
        records = read_records(path)
        assert records[0]["type"] == "warcinfo" and len(records) % 2 == 1
        index = path.parent / (path.name + ".cdxj")
        if index.exists():  # the kill may fall between the two renames
            for entry in map(parse_line, index.read_text().splitlines()):
                assert entry is not None
                [record] = read_records_from(data[entry.offset : entry.offset + entry.length])
                assert record.rec_headers.get_header("WARC-Target-URI") == entry.url
    for path in tmp_path.iterdir():
        assert path.name.endswith((".warc.gz", ".warc.gz.cdxj", ".open")), path
        if path.name.endswith(".open"):
            assert not (path.parent / path.name.removesuffix(".open")).exists()


def test_directory_created_with_parents(tmp_path: Path) -> None:
    rec = WarcRecorder(tmp_path / "a" / "b" / "warc", CRAWL, SOFTWARE)
    rec.record(**exchange())
    rec.close()
    assert rec.files[0].parent == tmp_path / "a" / "b" / "warc"


def test_refuses_a_symlinked_directory(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere"
    target.mkdir()
    link = tmp_path / "warc"
    link.symlink_to(target)
    with pytest.raises(ArchiveDirectoryError, match="symbolic link") as caught:
        WarcRecorder(link, CRAWL, SOFTWARE)
    assert str(link) in str(caught.value)
    assert list(target.iterdir()) == []


def test_refuses_a_file_as_directory(tmp_path: Path) -> None:
    path = tmp_path / "warc"
    path.write_bytes(b"not a directory")
    with pytest.raises(ArchiveDirectoryError, match="not a directory") as caught:
        WarcRecorder(path, CRAWL, SOFTWARE)
    assert str(path) in str(caught.value)
    assert path.read_bytes() == b"not a directory"


def test_refuses_a_directory_swapped_for_a_symlink_later(tmp_path: Path) -> None:
    directory = tmp_path / "warc"
    rec = recorder(directory)
    target = tmp_path / "elsewhere"
    target.mkdir()
    directory.rmdir()
    directory.symlink_to(target)
    with pytest.raises(OSError, match="symbolic link") as caught:  # as a failed write: the caller stops
        rec.record(**exchange())
    assert isinstance(caught.value, ArchiveDirectoryError)
    assert list(target.iterdir()) == []


def test_refuses_names_unfit_for_files(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="crawl ID"):
        WarcRecorder(tmp_path, "../escape", SOFTWARE)
    with pytest.raises(ValueError, match="max_bytes"):
        WarcRecorder(tmp_path, CRAWL, SOFTWARE, max_bytes=0)
    with pytest.raises(ValueError, match="software"):
        WarcRecorder(tmp_path, CRAWL, "herald\r\nWARC-Type: evil")
    assert list(tmp_path.iterdir()) == []


def expected_name(n: int = 1) -> str:
    return f"herald-{CRAWL}-20250619004000-{n:05d}.warc.gz"


def test_existing_final_name_is_never_overwritten(tmp_path: Path) -> None:
    taken = tmp_path / expected_name()
    taken.write_bytes(b"precious")
    rec = recorder(tmp_path)
    with pytest.raises(WarcFileExists, match="already exists") as caught:
        rec.record(**exchange())
    assert str(taken) in str(caught.value)
    assert isinstance(caught.value, FileExistsError)
    assert taken.read_bytes() == b"precious"
    assert sorted(p.name for p in tmp_path.iterdir()) == [taken.name]


def test_final_name_taken_while_writing_is_not_overwritten(tmp_path: Path) -> None:
    rec = recorder(tmp_path)
    rec.record(**exchange(1))
    taken = tmp_path / expected_name()
    taken.write_bytes(b"precious")
    with pytest.raises(WarcFileExists, match="never overwrites") as caught:
        rec.close()
    assert str(taken) in str(caught.value)
    assert taken.read_bytes() == b"precious"
    assert rec.files == []
    # what was recorded stays, whole, under its temporary name
    kept = tmp_path / (expected_name() + ".open")
    assert str(kept) in str(caught.value)
    assert [r["type"] for r in read_records(kept)] == ["warcinfo", "response", "request"]
    rec.close()  # nothing open any more: harmless
    assert taken.read_bytes() == b"precious"


def test_a_symlink_at_the_final_name_is_left_alone(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.write_bytes(b"precious")
    directory = tmp_path / "warc"
    rec = recorder(directory)
    (directory / expected_name()).symlink_to(outside)
    with pytest.raises(WarcFileExists):
        rec.record(**exchange())
    assert outside.read_bytes() == b"precious"


def test_other_files_in_the_directory_are_untouched(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_bytes(b"mine")
    (tmp_path / "herald-other-20200101000000-00001.warc.gz.open").write_bytes(b"someone else's")
    rec = recorder(tmp_path, max_bytes=1)
    rec.record(**exchange(1))
    rec.record(**exchange(2))
    assert (tmp_path / "notes.txt").read_bytes() == b"mine"
    assert (tmp_path / "herald-other-20200101000000-00001.warc.gz.open").read_bytes() == b"someone else's"
    assert len(rec.files) == 2


def test_line_breaks_in_headers_cannot_forge_fields(tmp_path: Path) -> None:
    rec = recorder(tmp_path)
    rec.record(
        **exchange(
            response_headers=[("X-Note", "a\r\nSet-Cookie: forged=1"), ("Bad Name", "x")],
            reason="OK\r\nX-Forged: 1",
        )
    )
    with pytest.raises(ValueError, match="URL"):
        rec.record(**exchange(url="https://www.nzherald.co.nz/a\r\nWARC-Type: evil"))
    with pytest.raises(ValueError, match="method"):
        rec.record(**exchange(method="GET /x HTTP/1.1\r\n"))
    rec.close()
    [_, response, _] = read_records(rec.files[0])
    headers = response["http"]
    assert headers.get_header("Set-Cookie") is None
    assert headers.get_header("X-Forged") is None
    assert headers.get_header("X-Note") == "a  Set-Cookie: forged=1"
    assert headers.get_header("Bad Name") is None


def test_naive_date_is_utc_and_whole_seconds_have_no_fraction(tmp_path: Path) -> None:
    rec = recorder(tmp_path)
    rec.record(**exchange(date=datetime(2025, 6, 19, 0, 40, 37)))
    rec.close()
    [_, response, _] = read_records(rec.files[0])
    assert response["warc"].get_header("WARC-Date") == "2025-06-19T00:40:37Z"
    [line] = (tmp_path / (rec.files[0].name + ".cdxj")).read_text().splitlines()
    assert line.split(" ")[1] == "20250619004037"
