"""Two writers of one dataset: the lock keeps it whole, and the second writer is told why."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from herald_spider.dataset import read_articles
from herald_spider.lock import DatasetLock, DatasetLocked
from herald_spider.maintenance import read_table
from tests.conftest import SITE, expected_articles
from tests.test_crawl import PROJECT

ALL_IDS = {a["article_id"] for a in expected_articles()}


def _crawl(dataset: Path, *settings: str) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "scrapy", "crawl", "world", "-s", f"HERALD_REPLAY={SITE}"]
    command += ["-s", f"HERALD_DATASET_DIR={dataset}", "-s", "LOG_LEVEL=INFO"]
    for setting in settings:
        command += ["-s", setting]
    return subprocess.Popen(
        command, cwd=PROJECT, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True
    )


def test_two_crawls_at_once_store_each_article_once(tmp_path: Path) -> None:
    crawls = [_crawl(tmp_path, "HERALD_LOCK_WAIT=120", f"HERALD_CRAWL_ID=c{n}") for n in (1, 2)]
    logs = [c.communicate(timeout=180)[1] for c in crawls]
    assert [c.returncode for c in crawls] == [0, 0], logs
    assert sum("Waiting up to 120 s for crawl c" in log for log in logs) == 1, "the crawls overlapped"
    rows = read_articles(tmp_path).to_pylist()
    assert sorted(r["article_id"] for r in rows) == sorted(ALL_IDS)
    runs = read_table(tmp_path / "runs", "runs").to_pylist()
    assert sorted(r["crawl_id"] for r in runs) == ["c1", "c2"]
    assert sorted(r["articles_stored"] for r in runs) == [0, len(ALL_IDS)]
    assert len(read_table(tmp_path / "article_revisions", "article_revisions")) == len(ALL_IDS)


def test_a_second_writer_is_refused_with_a_clear_message(tmp_path: Path) -> None:
    with DatasetLock(tmp_path, "herald-dataset compact"):
        crawl = _crawl(tmp_path)
        log = crawl.communicate(timeout=120)[1]
    assert crawl.returncode != 0
    assert f"Dataset {tmp_path} is being written by herald-dataset compact" in log
    assert "HERALD_LOCK_WAIT" in log
    assert read_articles(tmp_path).num_rows == 0
    assert "Crawled (" not in log


def test_the_lock_is_released_when_its_holder_ends(tmp_path: Path) -> None:
    first = DatasetLock(tmp_path, "first")
    first.acquire()
    try:
        second = DatasetLock(tmp_path, "second")
        try:
            second.acquire(wait=0.2)
            raise AssertionError("two holders")
        except DatasetLocked as exc:
            assert "being written by first" in str(exc)
    finally:
        first.release()
    second.acquire()
    assert second.held
    second.release()
