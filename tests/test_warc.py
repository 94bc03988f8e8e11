"""Web archives in and out, end to end: replay from WARC files through ``scrapy crawl``, record
a crawl over HTTP(S) as WARC and replay the recording alone, and a recorder killed mid-crawl."""

from __future__ import annotations

import gzip
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path
from typing import Any

import pytest
from warcio.archiveiterator import ArchiveIterator

from herald_spider.dataset.files import read_articles
from tests.conftest import FIXTURES
from tests.faulty_site import FaultySite, crawl_through, self_signed_certificate
from tests.test_crawl import PROJECT, crawl
from tests.test_discovery import EXPECTED, FEEDS, SITE

WARC = FIXTURES / "warc" / "dev-site-feeds.warc.gz"
TWICE = "LIKEHSHYJ4YIAM7CID3RYUA5XP"  # captured on 18 and 19 June; the older capture is stored last
FIELDS = ("url", "section", "subsection", "title", "description", "distributor", "premium", "authors")
RECORDED = re.compile(r"'herald/warc/recorded': (\d+)")


def rows(dataset: Path) -> dict[str, dict[str, Any]]:
    return {row["article_id"]: row for row in read_articles(dataset).to_pylist()}


def check_fields(got: dict[str, dict[str, Any]]) -> None:
    assert set(got) == set(EXPECTED)
    for article_id, row in got.items():
        expected = EXPECTED[article_id]
        for name in FIELDS:
            assert row[name] == expected[name], (article_id, name)
        assert row["published_at"].strftime("%Y-%m-%dT%H:%M:%SZ") == expected["published_at"], article_id


@pytest.fixture(scope="module")
def from_warc(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    dataset = tmp_path_factory.mktemp("from-warc")
    result = crawl("world", replay=WARC, dataset=dataset, level="INFO")
    return {**result, "dataset": dataset}


def test_replay_from_a_warc_file_stores_every_article_right(from_warc: dict[str, Any]) -> None:
    check_fields(rows(from_warc["dataset"]))


def test_the_newest_capture_wins(from_warc: dict[str, Any]) -> None:
    assert rows(from_warc["dataset"])[TWICE]["title"] == EXPECTED[TWICE]["title"]


def test_replay_at_picks_the_capture_closest_to_it(tmp_path: Path) -> None:
    crawl("world", "-s", "HERALD_REPLAY_AT=20250618004000", replay=WARC, dataset=tmp_path, level="INFO")
    older = rows(tmp_path)[TWICE]
    assert older["title"] != EXPECTED[TWICE]["title"]


def test_replay_from_a_folder_of_warc_files_with_other_files(tmp_path: Path) -> None:
    folder = tmp_path / "archives"
    (folder / "2025" / "june").mkdir(parents=True)
    shutil.copy(WARC, folder / "2025" / "june" / WARC.name)
    (folder / "README.txt").write_text("captures of the World section\n")
    (folder / "junk.warc.gz").write_bytes(os.urandom(4000))
    result = crawl("world", replay=folder, dataset=tmp_path / "dataset", level="INFO")
    check_fields(rows(tmp_path / "dataset"))
    assert result["stats"]["herald/warc/not_warc"] == 1
    assert f"WARC problem in {folder / 'junk.warc.gz'} at offset 0 (not_warc)" in result["log"]


def test_replay_from_a_wacz_package(tmp_path: Path) -> None:
    package = tmp_path / "world.wacz"
    with zipfile.ZipFile(package, "w") as wacz:
        wacz.write(WARC, f"archive/{WARC.name}")
        wacz.writestr("datapackage.json", '{"profile": "data-package", "resources": []}')
    crawl("world", replay=package, dataset=tmp_path / "dataset", level="INFO")
    check_fields(rows(tmp_path / "dataset"))


def test_a_backfill_replays_from_the_archive(tmp_path: Path) -> None:
    result = crawl("world", "-a", "since=2021-01-01", replay=WARC, dataset=tmp_path, level="INFO")
    check_fields(rows(tmp_path))
    assert result["stats"]["herald/sitemaps/read"] == 20


def test_replay_is_not_recorded(tmp_path: Path) -> None:
    out = tmp_path / "recorded"
    crawl("world", "-s", f"HERALD_WARC_DIR={out}", replay=WARC, dataset=tmp_path / "dataset", level="INFO")
    assert not [p for p in out.rglob("*") if p.is_file()] if out.exists() else True


def test_bad_records_are_skipped_and_the_rest_replays(tmp_path: Path) -> None:
    folder = tmp_path / "archives"
    folder.mkdir()
    shutil.copy(WARC, folder / "good.warc.gz")
    data = WARC.read_bytes()
    (folder / "cut.warc.gz").write_bytes(data[: len(data) - 3000])  # a killed writer's last record
    result = crawl("world", replay=folder, dataset=tmp_path / "dataset", level="INFO")
    check_fields(rows(tmp_path / "dataset"))
    assert result["stats"]["herald/warc/truncated"] == 1
    assert f"WARC problem in {folder / 'cut.warc.gz'} at offset" in result["log"]


# --- recording ----------------------------------------------------------------------------------

HTTP = {
    "DOWNLOAD_DELAY": 0,
    "AUTOTHROTTLE_ENABLED": False,
    "RETRY_TIMES": 1,
    "LOG_LEVEL": "INFO",
}


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("recorded")
    archive = root / "archive"
    with FaultySite(FEEDS, self_signed_certificate(root), lifetime=100) as site:
        settings = {**HTTP, "HERALD_DATASET_DIR": root / "live", "HERALD_WARC_DIR": archive}
        done = crawl_through(site, ["world"], settings)
    assert done.returncode == 0, done.stderr[-3000:]
    replayed = crawl("world", replay=archive, dataset=root / "replayed", level="INFO")
    return {"root": root, "archive": archive, "log": done.stderr, "replayed": replayed, "site": site}


def test_recording_then_replay_rebuilds_the_same_rows(recorded: dict[str, Any]) -> None:
    live, again = rows(recorded["root"] / "live"), rows(recorded["root"] / "replayed")
    assert set(live) == set(EXPECTED) and set(again) == set(live)
    assert {k: r["content_hash"] for k, r in live.items()} == {k: r["content_hash"] for k, r in again.items()}


def test_warcio_reads_every_recorded_file(recorded: dict[str, Any]) -> None:
    files = sorted(recorded["archive"].rglob("*.warc.gz"))
    assert files and not list(recorded["archive"].rglob("*.open"))
    urls_recorded = set()
    for path in files:
        assert (path.parent / f"{path.name}.cdxj").is_file()
        with path.open("rb") as stream:
            for record in ArchiveIterator(stream, check_digests=True):
                record.content_stream().read()
                if record.rec_type == "response":
                    urls_recorded.add(record.rec_headers.get_header("WARC-Target-URI"))
    assert "https://www.nzherald.co.nz/robots.txt" in urls_recorded
    assert SITE["feeds"]["news_sitemap"] in urls_recorded and set(SITE["article_urls"]) <= urls_recorded


def test_every_downloaded_response_is_recorded(recorded: dict[str, Any]) -> None:
    answered = [s for s in recorded["site"].seen if s.method == "GET"]
    match = RECORDED.search(recorded["log"])
    assert match and int(match.group(1)) == len(answered)


def test_a_killed_recorder_leaves_only_whole_files(tmp_path: Path) -> None:
    """SIGKILL in the middle of a crawl that records into small files: every file under a final
    name reads whole; the one being written is only ever a ``.open`` file."""
    archive = tmp_path / "archive"
    with FaultySite(FEEDS, self_signed_certificate(tmp_path), lifetime=60) as site:
        proxies = {"no_proxy", "http_proxy", "https_proxy"}
        env = {k: v for k, v in os.environ.items() if k.lower() not in proxies}
        env["https_proxy"] = env["http_proxy"] = site.proxy
        settings = {**HTTP, "DOWNLOAD_DELAY": 0.05, "HERALD_DATASET_DIR": tmp_path / "d"}
        settings.update(HERALD_WARC_DIR=archive, HERALD_WARC_MAX_BYTES=30_000)
        command = [sys.executable, "-m", "scrapy", "crawl", "world"]
        command += [arg for name, value in settings.items() for arg in ("-s", f"{name}={value}")]
        quiet = subprocess.DEVNULL
        process = subprocess.Popen(command, cwd=PROJECT, env=env, stdout=quiet, stderr=quiet)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(list(archive.glob("*.warc.gz"))) < 2:
            time.sleep(0.05)
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
    finals = sorted(archive.glob("*.warc.gz"))
    assert len(finals) >= 2
    for path in finals:
        with path.open("rb") as stream:
            assert sum(1 for _ in ArchiveIterator(stream)) > 0
        gzip.decompress(path.read_bytes())  # whole: every member complete
    assert all(p.name.endswith((".warc.gz", ".cdxj", ".open")) for p in archive.iterdir())


@pytest.mark.parametrize("kind", ["symlink", "file"])
def test_a_warc_dir_that_is_a_link_or_a_file_is_refused_before_anything_is_written(
    tmp_path: Path, kind: str
) -> None:
    target = tmp_path / "someone-elses"
    target.mkdir()
    warc_dir = tmp_path / "archive"
    if kind == "symlink":
        warc_dir.symlink_to(target)
    else:
        warc_dir.write_text("notes\n")
    command = [sys.executable, "-m", "scrapy", "crawl", "world", "-s", f"HERALD_REPLAY={FEEDS}"]
    command += ["-s", f"HERALD_DATASET_DIR={tmp_path / 'dataset'}", "-s", f"HERALD_WARC_DIR={warc_dir}"]
    done = subprocess.run(command, cwd=PROJECT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert f"HERALD_WARC_DIR={warc_dir}" in done.stderr.strip().splitlines()[-1]
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "dataset").exists() and not list(target.iterdir())


def test_an_index_cache_that_is_a_link_is_refused(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (tmp_path / "dataset").mkdir()
    (tmp_path / "dataset" / ".replay-index").symlink_to(elsewhere)
    command = [sys.executable, "-m", "scrapy", "crawl", "world", "-s", f"HERALD_REPLAY={WARC}"]
    command += ["-s", f"HERALD_DATASET_DIR={tmp_path / 'dataset'}"]
    done = subprocess.run(command, cwd=PROJECT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1 and ".replay-index is a link" in done.stderr.strip().splitlines()[-1]
    assert not list(elsewhere.iterdir())
    assert [p.name for p in (tmp_path / "dataset").iterdir()] == [".replay-index"]  # nothing written


def test_a_second_replay_uses_the_cached_index(tmp_path: Path) -> None:
    crawl("world", replay=WARC, dataset=tmp_path, level="INFO")
    cached = list((tmp_path / ".replay-index").glob("*.idx"))
    assert len(cached) == 1
    before = cached[0].stat().st_mtime_ns
    crawl("world", "-s", "HERALD_CRAWL_ID=again", replay=WARC, dataset=tmp_path, level="INFO")
    assert [p.stat().st_mtime_ns for p in (tmp_path / ".replay-index").glob("*.idx")] == [before]


def test_captures_under_http_and_without_www_answer_https_requests(tmp_path: Path) -> None:
    """Older archives hold the site as ``http://`` (or without ``www.``): the crawl's ``https://www``
    requests still find those captures."""
    from warcio.warcwriter import WARCWriter

    archive = tmp_path / "old.warc.gz"
    with WARC.open("rb") as source, archive.open("wb") as out:
        writer = WARCWriter(out, gzip=True)
        for record in ArchiveIterator(source):
            uri = record.rec_headers.get_header("WARC-Target-URI")
            if uri:
                old = uri.replace("https://www.", "http://" if "/world/" in uri else "https://", 1)
                record.rec_headers.replace_header("WARC-Target-URI", old)
            writer.write_record(record)
    crawl("world", replay=archive, dataset=tmp_path / "dataset", level="INFO")
    check_fields(rows(tmp_path / "dataset"))


def test_a_wacz_unpack_folder_that_is_a_link_is_not_written_through(tmp_path: Path) -> None:
    from herald_spider.archive.wacz import unpack

    package = tmp_path / "world.wacz"
    with zipfile.ZipFile(package, "w") as wacz:
        wacz.write(WARC, f"archive/{WARC.name}")
    cache = tmp_path / "cache"
    folder = unpack(package, cache)
    shutil.rmtree(folder)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    folder.symlink_to(elsewhere)
    with pytest.raises(FileExistsError, match="is a link or not a folder"):
        unpack(package, cache)
    assert not list(elsewhere.iterdir()) and [p.name for p in cache.iterdir()] == [folder.name]
