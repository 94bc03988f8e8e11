"""Several processes, one crawl: the shared frontier on a real ``redis-server`` (issue 22).

Each test starts its own ``redis-server`` on a unix socket in a temporary folder
(benchmarks/redis_server.py) and stops it. The processes are real ``scrapy crawl`` runs,
replaying mirrors: the fixture site, the feeds mirror, and a synthetic archive of 600 World
articles (benchmarks/make_mirror.py) deep enough for two processes to share.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pytest
import redis

from benchmarks import make_mirror
from benchmarks.redis_server import RedisServer, redis_server_binary
from herald_spider.dataset.files import read_articles
from herald_spider.dataset.read import read_table
from herald_spider.dataset.validate import validate
from tests.test_crawl import crawl

pytestmark = pytest.mark.skipif(
    redis_server_binary() is None, reason="redis-server is not installed (Debian package redis-server)"
)

PROJECT = Path(__file__).resolve().parents[1]
FIXTURES = PROJECT / "tests" / "fixtures"
STATS = re.compile(r"'(herald/[^']+|finish_reason)': '?([\w/]+)'?")
#: Columns that differ between two crawls of the same pages.
PER_CRAWL = ("crawl_id", "fetched_at", "first_seen_at", "last_seen_at")
ARCHIVE_SIZE = 600


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RedisServer]:
    with RedisServer(tmp_path / "redis") as running:
        yield running


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A replay mirror of 600 World articles linked as an archive (thousands of hops deep)."""
    out = tmp_path_factory.mktemp("archive") / "mirror"
    make_mirror.build(ARCHIVE_SIZE, out)
    return out


def start(
    url: str, mirror: Path, dataset: Path, log: Path, *extra: str, **settings: Any
) -> subprocess.Popen[bytes]:
    """One process of the shared crawl (``scrapy crawl world``), logging to ``log``."""
    values = {
        "HERALD_REPLAY": mirror,
        "HERALD_DATASET_DIR": dataset,
        "HERALD_REDIS_URL": url,
        "HERALD_REDIS_IDLE_SECONDS": 1,
        "LOG_FILE": log,
        **settings,
    }
    command = [sys.executable, "-m", "scrapy", "crawl", "world", *extra]
    command += [arg for name, value in values.items() for arg in ("-s", f"{name}={value}")]
    return subprocess.Popen(command, cwd=PROJECT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def finish(
    process: subprocess.Popen[bytes], log: Path, code: int = 0, timeout: float = 240
) -> dict[str, Any]:
    """Wait for a process; its exit code must be ``code``. Its herald stats and log."""
    _, stderr = process.communicate(timeout=timeout)
    text = log.read_text(encoding="utf-8") if log.exists() else ""
    assert process.returncode == code, (text + stderr.decode())[-4000:]
    assert "Traceback" not in text, text[-4000:]
    return {"stats": dict(STATS.findall(text)), "log": text}


def shared_crawl(
    url: str, mirror: Path, dataset: Path, folder: Path, processes: int = 2, **settings: Any
) -> list[dict[str, Any]]:
    """``processes`` processes started together; what each of them said."""
    folder.mkdir(parents=True, exist_ok=True)
    logs = [folder / f"process-{n}.log" for n in range(processes)]
    started = [start(url, mirror, dataset, log, **settings) for log in logs]
    return [finish(process, log) for process, log in zip(started, logs, strict=True)]


def comparable(dataset: Path) -> pa.Table:
    """The articles of a dataset, in article ID order, without the columns of the crawl."""
    table = read_articles(dataset)
    table = table.drop_columns([c for c in PER_CRAWL if c in table.column_names])
    return table.sort_by("article_id")


def assert_each_article_once(dataset: Path, expected: int) -> None:
    ids = read_articles(dataset, columns=["article_id"]).column("article_id")
    assert len(ids) == expected
    assert len(pc.unique(ids)) == expected


def assert_valid(dataset: Path) -> None:
    failed = [f"{f.check}: {f.examples}" for f in validate(dataset) if not f.ok]
    assert not failed, failed


def keys(url: str) -> list[bytes]:
    return list(redis.Redis.from_url(url).scan_iter("herald:*"))


@pytest.mark.parametrize("mirror", ["site", "site-feeds", "alias-site", "warc/dev-site-feeds.warc.gz"])
def test_two_processes_store_what_one_stores(mirror: str, server: RedisServer, tmp_path: Path) -> None:
    """Every article once, every field as a crawl of one process stores it: the fixture mirrors
    (feeds and sitemaps, dead aliases and redirects included) and the web archive, whose index
    both processes build in the one dataset."""
    alone, together = tmp_path / "alone", tmp_path / "together"
    # the alias mirror fails most of its article requests by design (dead aliases, 404s)
    lenient = {"HERALD_MAX_FAILED_SHARE": 1}
    crawl("world", "-s", "HERALD_MAX_FAILED_SHARE=1", replay=FIXTURES / mirror, dataset=alone, level="INFO")
    processes = shared_crawl(server.url, FIXTURES / mirror, together, tmp_path, **lenient)
    expected = comparable(alone)
    assert_each_article_once(together, expected.num_rows)
    assert comparable(together).equals(expected)
    runs = read_table(together, "runs").to_pylist()
    assert len(runs) == 2
    assert len({r["crawl_id"] for r in runs}) == 1
    assert len({r["worker"] for r in runs}) == 2 and None not in {r["worker"] for r in runs}
    assert {r["finish_reason"] for r in runs} == {"finished"}
    assert {r["verdict"] for r in runs} == {"healthy"}
    assert sum(r["articles_stored"] for r in runs) == expected.num_rows
    # one process seeded the crawl, the other joined it
    assert sorted(p["stats"].get("herald/shared/seeded", "0") for p in processes) == ["0", "1"]
    # the crawl is done: its keys are gone, the next crawl starts afresh
    assert keys(server.url) == []
    assert_valid(together)


def test_two_processes_share_an_archive(archive: Path, server: RedisServer, tmp_path: Path) -> None:
    """A deep archive of 600 articles: both processes work, each article is fetched and
    stored once, by one of them, under one crawl ID; the files name their process."""
    dataset = tmp_path / "dataset"
    processes = shared_crawl(server.url, archive, dataset, tmp_path, HERALD_BATCH_ROWS=100)
    assert_each_article_once(dataset, ARCHIVE_SIZE)
    stored = [int(p["stats"]["herald/articles_stored"]) for p in processes]
    assert sum(stored) == ARCHIVE_SIZE
    assert min(stored) > 0, stored  # the second process found work in the shared frontier
    runs = read_table(dataset, "runs").to_pylist()
    (crawl_id,) = {r["crawl_id"] for r in runs}
    workers = {r["worker"] for r in runs}
    for path in (dataset / "articles").glob("*.parquet"):
        name, _, worker = path.stem.removeprefix("part-").rpartition("-")[0].partition("@")
        assert name == crawl_id and worker in workers, path.name
    # fetched once: the pages parsed by both are the pages of the mirror, no more
    assert sum(int(p["stats"]["herald/pages_parsed"]) for p in processes) < ARCHIVE_SIZE + 20


def test_sigkill_of_one_process_loses_nothing(archive: Path, server: RedisServer, tmp_path: Path) -> None:
    """SIGKILL one of two processes mid-crawl: the other takes back what it held once its
    heartbeat expires (its written files count as stored), finishes the crawl, and a rerun
    finds nothing to add. Nothing lost, nothing duplicated."""
    dataset = tmp_path / "dataset"
    settings = {"HERALD_BATCH_ROWS": 40, "HERALD_REDIS_LEASE_SECONDS": 2}
    victim_log, other_log = tmp_path / "victim.log", tmp_path / "other.log"
    victim = start(server.url, archive, dataset, victim_log, **settings)
    other = start(server.url, archive, dataset, other_log, **settings)
    client = redis.Redis.from_url(server.url)
    deadline = time.monotonic() + 120
    # killed once it has written files and holds leases: work in its buffer and in flight
    while time.monotonic() < deadline:
        written = list((dataset / "articles").glob("*.parquet")) if (dataset / "articles").exists() else []
        if len(written) >= 3 and client.scard("herald:world:world:dupefilter") > 200:
            break
        time.sleep(0.05)
    else:
        pytest.fail("the crawl did not get going")
    os.kill(victim.pid, signal.SIGKILL)
    victim.communicate(timeout=30)
    survivor = finish(other, other_log)
    assert "stopped without finishing" in survivor["log"]
    assert int(survivor["stats"].get("herald/shared/reclaimed", "0")) > 0
    assert_each_article_once(dataset, ARCHIVE_SIZE)
    assert keys(server.url) == []
    # the rerun: a new shared crawl that finds every article stored
    rerun = shared_crawl(server.url, archive, dataset, tmp_path / "rerun", processes=1)
    assert int(rerun[0]["stats"].get("herald/articles_stored", "0")) == 0
    assert_each_article_once(dataset, ARCHIVE_SIZE)
    assert_valid(dataset)


def test_redis_lost_mid_crawl_stops_cleanly_and_a_rerun_resumes(archive: Path, tmp_path: Path) -> None:
    """Redis goes away mid-crawl: the process writes what it has, says so, exits 6 (its runs row
    says ``redis_lost``); with Redis back, a rerun resumes the same crawl and completes it."""
    dataset, log = tmp_path / "dataset", tmp_path / "lost.log"
    server = RedisServer(tmp_path / "redis", persist=True)
    server.start()
    try:
        process = start(server.url, archive, dataset, log, HERALD_BATCH_ROWS=40)
        client = redis.Redis.from_url(server.url)
        deadline = time.monotonic() + 120
        while client.scard("herald:world:world:dupefilter") < 200:
            assert time.monotonic() < deadline, "the crawl did not get going"
            time.sleep(0.05)
        crawl_id = client.hget("herald:world:world:crawl", "crawl_id")
        client.close()
        server.stop()
        lost = finish(process, log, code=6)
        assert "Lost Redis at" in lost["log"]
        assert lost["stats"]["finish_reason"] == "redis_lost"
        assert "FAILED" in lost["log"].strip().splitlines()[-1]
        assert_valid(dataset)  # what was written is whole
        stored = read_articles(dataset, columns=["article_id"]).num_rows
        assert 0 < stored < ARCHIVE_SIZE
        (row,) = read_table(dataset, "runs").to_pylist()
        assert row["finish_reason"] == "redis_lost" and row["verdict"] == "failed"
        server.start()  # its data back from the append-only file
        rerun = shared_crawl(server.url, archive, dataset, tmp_path / "rerun", processes=1)
        assert int(rerun[0]["stats"]["herald/articles_stored"]) == ARCHIVE_SIZE - stored
        assert_each_article_once(dataset, ARCHIVE_SIZE)
        runs = read_table(dataset, "runs").to_pylist()
        assert {r["crawl_id"] for r in runs} == {crawl_id.decode() if crawl_id else None}
    finally:
        server.stop()


def test_redis_unreachable_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    dataset = tmp_path / "dataset"
    url = f"unix://{tmp_path / 'no-redis.sock'}?db=0"
    settings = {"HERALD_REDIS_URL": url, "HERALD_DATASET_DIR": dataset, "HERALD_REPLAY": FIXTURES / "site"}
    done = subprocess.run(
        [sys.executable, "-m", "scrapy", "crawl", "world"]
        + [arg for name, value in settings.items() for arg in ("-s", f"{name}={value}")],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1
    last = done.stderr.strip().splitlines()[-1]
    assert "Cannot reach Redis at HERALD_REDIS_URL=" in last and "nothing was fetched or written" in last
    assert "Traceback" not in done.stderr
    assert not dataset.exists()


@pytest.mark.parametrize(
    ("args", "settings", "says"),
    [
        (["-a", "refresh=all"], {}, "-a refresh is not supported with HERALD_REDIS_URL"),
        (["-a", "since=2025-06-01"], {}, "(a backfill) are not supported with HERALD_REDIS_URL"),
        ([], {"JOBDIR": "jobdir"}, "JOBDIR and HERALD_REDIS_URL do not go together"),
    ],
)
def test_what_a_shared_crawl_cannot_do_is_refused(
    args: list[str], settings: dict[str, str], says: str, server: RedisServer, tmp_path: Path
) -> None:
    log = tmp_path / "refused.log"
    process = start(server.url, FIXTURES / "site", tmp_path / "dataset", log, *args, **settings)
    result = finish(process, log, code=1)
    assert says in result["log"]
    assert not (tmp_path / "dataset").exists()
    assert keys(server.url) == []


def test_a_crawl_id_other_than_the_running_one_is_refused(server: RedisServer, tmp_path: Path) -> None:
    client = redis.Redis.from_url(server.url)
    client.hset("herald:world:world:crawl", "crawl_id", "nightly-1")
    log = tmp_path / "refused.log"
    process = start(server.url, FIXTURES / "site", tmp_path / "dataset", log, HERALD_CRAWL_ID="nightly-2")
    result = finish(process, log, code=1)
    assert "HERALD_CRAWL_ID=nightly-2, but shared crawl nightly-1 is under way" in result["log"]
    assert not (tmp_path / "dataset").exists()


def test_a_process_of_another_crawl_is_refused_by_the_dataset(server: RedisServer, tmp_path: Path) -> None:
    """Two shared crawls (two keys) cannot write one dataset at once: the lock names the one
    that writes it."""
    from herald_spider.dataset.lock import DatasetLock

    dataset = tmp_path / "dataset"
    holder = DatasetLock(dataset, "shared crawl other")
    holder.acquire_shared("other-crawl")
    try:
        log = tmp_path / "refused.log"
        process = start(server.url, FIXTURES / "site", dataset, log)
        result = finish(process, log, code=1)
        assert "is being written by shared crawl other-crawl" in result["log"]
    finally:
        holder.release()


def test_a_process_writing_another_folder_than_the_others_is_refused(
    archive: Path, server: RedisServer, tmp_path: Path
) -> None:
    """The same crawl (Redis, key) but another dataset folder: the folder has no mark of the
    crawl (and the process would be alone in its lock while the others are alive), so it
    writes nothing."""
    first_log, stray_log = tmp_path / "first.log", tmp_path / "stray.log"
    first = start(server.url, archive, tmp_path / "dataset", first_log)
    client = redis.Redis.from_url(server.url)
    deadline = time.monotonic() + 60
    while not list(client.scan_iter("herald:world:world:alive:*")):
        assert time.monotonic() < deadline, "the first process did not start"
        time.sleep(0.05)
    stray = start(server.url, archive, tmp_path / "elsewhere", stray_log)
    refused = finish(stray, stray_log, code=1)
    assert "writes another dataset folder than" in refused["log"]
    assert not any((tmp_path / "elsewhere").glob("*/*.parquet"))
    finish(first, first_log)
    assert_each_article_once(tmp_path / "dataset", ARCHIVE_SIZE)


def test_an_unfinished_crawl_of_another_folder_is_not_resumed_here(
    server: RedisServer, tmp_path: Path
) -> None:
    """Keys of an unfinished shared crawl that wrote another dataset: a process of this one
    is refused rather than resume, into this folder, a crawl seeded for the other."""
    client = redis.Redis.from_url(server.url)
    client.hset("herald:world:world:crawl", "crawl_id", "nightly-1")
    client.set("herald:world:world:marked", "the-other-folder")
    client.set("herald:world:world:seeded", "someone")
    log = tmp_path / "refused.log"
    process = start(server.url, FIXTURES / "site", tmp_path / "dataset", log)
    result = finish(process, log, code=1)
    assert "Shared crawl nightly-1" in result["log"] and "writes another dataset folder" in result["log"]
    assert not any((tmp_path / "dataset").glob("*/*.parquet"))
