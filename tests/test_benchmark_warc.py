"""``benchmarks.warc``: the mirror it converts to WARC holds every file of the mirror at its URL,
and a small run of the whole benchmark ends well and prints its tables."""

from __future__ import annotations

from pathlib import Path

from warcio.archiveiterator import ArchiveIterator

from benchmarks.make_mirror import build
from benchmarks.warc import mirror_files, mirror_to_warc
from herald_spider import urls
from herald_spider.archive.index import ArchiveIndex
from herald_spider.replay import mirror_path
from tests.conftest import run_benchmark


def test_every_mirror_file_becomes_a_capture_at_its_url(tmp_path: Path) -> None:
    mirror = tmp_path / "mirror"
    build(12, mirror)
    (mirror / ".complete").touch()  # hidden files are not pages
    world = mirror / urls.HOST / "world"
    (world / "index.html?ref=nav&page=2").write_bytes(b"<html>page two</html>")
    files = sorted(p for p in mirror.rglob("*") if p.is_file() and p.name != ".complete")

    count = mirror_to_warc(mirror, tmp_path / "warc")

    captures: dict[str, tuple[bytes, str]] = {}
    for path in sorted((tmp_path / "warc").glob("*.warc.gz")):
        with path.open("rb") as stream:
            for record in ArchiveIterator(stream):
                if record.rec_type == "response":
                    url = record.rec_headers.get_header("WARC-Target-URI")
                    kind = record.http_headers.get_header("Content-Type")
                    assert record.http_headers.get_statuscode() == "200"
                    captures[url] = (record.content_stream().read(), kind)
    assert count == len(files) == len(captures) == 1 + 8 + 12 + 1
    assert {mirror_path(mirror, url) for url in captures} == set(files)
    for url, (body, kind) in captures.items():
        assert body == mirror_path(mirror, url).read_bytes(), url
        assert kind == ("text/plain" if url.endswith("/robots.txt") else "text/html; charset=utf-8"), url
    query = f"{urls.SITE_ROOT}world/?ref=nav&page=2"
    assert captures[query][0] == b"<html>page two</html>"
    assert f"{urls.SITE_ROOT}world/" in captures and f"{urls.SITE_ROOT}robots.txt" in captures
    assert dict(mirror_files(mirror)).keys() == captures.keys()
    # the replay index finds each of them, the query one included
    index, problems = ArchiveIndex.open(tmp_path / "warc", tmp_path / "cache", 0)
    assert not problems and len(index) == len(captures)
    assert all(index.lookup(url) is not None for url in captures)


def test_a_small_run_of_the_benchmark_prints_its_tables(tmp_path: Path) -> None:
    """The whole benchmark on 40 articles, one pass (about 15 seconds)."""
    args = ("--sizes", "40", "--passes", "1", "--index-entries", "20000")
    out = run_benchmark("benchmarks.warc", *args, work=tmp_path, timeout=300)
    for heading in (
        "### Replay: WARC vs folder",
        "### Recording (40 articles",
        "### Index load (20000 captures)",
    ):
        assert heading in out, out
    assert "| 40 | folder | 40 |" in out and "| 40 | WARC (warm index) | 40 |" in out, out
    assert "| target | holds |" in out
    assert "| 40: every replay stores all 40 articles, same 404s | yes |" in out, out
    assert "| 40: every HTTPS crawl stores all 40 articles, same 404s | yes |" in out, out
    assert "| 40: every response recorded | yes |" in out, out
    assert "| index lookups find the URLs indexed, not others | yes |" in out, out
