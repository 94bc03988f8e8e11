"""Crawls killed with SIGKILL at several points, then run again: the dataset stays readable
after each kill, and in the end holds every article exactly once, as an uninterrupted crawl
does. Also ``-s JOBDIR=...`` pause (SIGINT, as Ctrl-C) and resume."""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from herald_spider.dataset.files import parquet_files, read_articles
from tests.conftest import SITE, expected_articles

PROJECT = Path(__file__).resolve().parents[1]
EXPECTED = {a["article_id"] for a in expected_articles()}
COMPARED = ("article_id", "url", "title", "published_at", "updated_at", "authors", "body", "content_hash")


def command(dataset: Path, *extra: str) -> list[str]:
    settings = {
        "HERALD_REPLAY": SITE,
        "HERALD_DATASET_DIR": dataset,
        "HERALD_BATCH_ROWS": 1,  # a Parquet file per article: many writes to be killed in
        "CONCURRENT_REQUESTS": 1,
        "LOG_LEVEL": "DEBUG",
    }
    args = [arg for name, value in settings.items() for arg in ("-s", f"{name}={value}")]
    return [sys.executable, "-m", "scrapy", "crawl", "world", *args, *extra]


def run_until(dataset: Path, marker: str, count: int, sig: int = signal.SIGKILL, *extra: str) -> str:
    """Start a crawl, send ``sig`` when ``marker`` has appeared ``count`` times in its log."""
    process = subprocess.Popen(
        command(dataset, *extra), cwd=PROJECT, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True
    )
    assert process.stderr is not None
    seen, lines, deadline = 0, [], time.monotonic() + 60
    for line in process.stderr:
        lines.append(line)
        seen += marker in line
        if seen >= count or time.monotonic() > deadline:
            process.send_signal(sig)
            break
    _, rest = process.communicate(timeout=60)
    return "".join(lines) + (rest or "")


def run(dataset: Path, *extra: str) -> str:
    done = subprocess.run(command(dataset, *extra), cwd=PROJECT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr[-3000:]
    return done.stderr


def rows(dataset: Path) -> dict[str, dict[str, Any]]:
    table = read_articles(dataset, columns=COMPARED).to_pylist()
    ids = [row["article_id"] for row in table]
    assert len(ids) == len(set(ids)), "an article is stored twice"
    return {row["article_id"]: row for row in table}


def assert_readable(dataset: Path) -> None:
    for path in parquet_files(dataset / "articles"):
        pq.read_table(path)  # every visible file is whole
    rows(dataset)


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    dataset = tmp_path_factory.mktemp("whole")
    run(dataset)
    stored = rows(dataset)
    assert set(stored) == EXPECTED
    return stored


def test_killed_again_and_again_then_rerun_loses_and_duplicates_nothing(
    tmp_path: Path, uninterrupted: dict[str, dict[str, Any]]
) -> None:
    dataset = tmp_path / "dataset"
    # Without the frontier journal, the last rerun skips the 11 stored articles, never reads
    # their related links again, and loses the articles reached only through them.
    kills = [
        ("Crawled (200) <GET https://www.nzherald.co.nz/world/", 3),  # fetching, nothing written
        ("Scraped from <200 https://www.nzherald.co.nz/world/", 4),  # an item in the pipelines
        ("Wrote 1 articles", 7),  # between Parquet writes, 11 stored by now
    ]
    for marker, count in kills:
        log = run_until(dataset, marker, count)
        assert "Closing spider" not in log, "the crawl ended before it was killed"
        assert_readable(dataset)
    # a temporary file as a kill in the middle of a write leaves it
    (dataset / "articles" / ".part-killed-00001.parquet.tmp").write_bytes(b"PAR1\x00half a file")
    log = run(dataset)
    assert "Removed a temporary file left by an interrupted crawl" in log
    assert rows(dataset) == uninterrupted
    assert "'herald/frontier/resumed'" in log
    assert not list((dataset / ".frontier").glob("*.jsonl")), "a finished crawl leaves no journal"


def test_killed_at_a_random_moment_then_rerun(
    tmp_path: Path, uninterrupted: dict[str, dict[str, Any]]
) -> None:
    delay = random.uniform(0.0, 1.0)
    dataset = tmp_path / "dataset"
    process = subprocess.Popen(
        command(dataset), cwd=PROJECT, stderr=subprocess.DEVNULL, stdout=subprocess.DEVNULL
    )
    time.sleep(delay + 1.5)  # start-up takes about 1.5 s on this machine
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    assert_readable(dataset)
    run(dataset)
    assert rows(dataset) == uninterrupted, f"killed {delay:.2f} s after start-up"


def test_jobdir_pause_and_resume(tmp_path: Path, uninterrupted: dict[str, dict[str, Any]]) -> None:
    dataset, jobdir = tmp_path / "dataset", tmp_path / "job"
    log = run_until(dataset, "Wrote 1 articles", 3, signal.SIGINT, "-s", f"JOBDIR={jobdir}")
    assert "'finish_reason': 'shutdown'" in log
    assert 3 <= len(rows(dataset)) < len(EXPECTED)
    assert (jobdir / "requests.seen").is_file() and (jobdir / "spider.state").is_file()
    log = run(dataset, "-s", f"JOBDIR={jobdir}")
    assert "'finish_reason': 'finished'" in log
    assert rows(dataset) == uninterrupted
