"""Two writers of one dataset: the lock keeps it whole, and the second writer is told why."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from herald_spider.dataset.files import read_articles, read_table
from herald_spider.dataset.lock import LOCK_NAME, DatasetLock, DatasetLocked
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


class _Stderr:
    """A crawl's log lines, read as they come (so a full pipe never blocks the crawl)."""

    def __init__(self, crawl: subprocess.Popen[str]) -> None:
        self.lines: list[str] = []
        assert crawl.stderr is not None
        self._thread = threading.Thread(target=lambda: self.lines.extend(crawl.stderr or ()), daemon=True)
        self._thread.start()

    def text(self) -> str:
        self._thread.join(timeout=180)
        return "".join(self.lines)


def _wait_until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 120
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


def test_two_crawls_at_once_store_each_article_once(tmp_path: Path) -> None:
    # The first crawl is paused while it holds the lock until the second is seen waiting, so
    # the two overlap however fast either starts (started together, a fast one could finish
    # before the other reached the lock).
    lock_file = tmp_path / LOCK_NAME
    first = _crawl(tmp_path, "HERALD_LOCK_WAIT=120", "HERALD_CRAWL_ID=c1")
    first_log = _Stderr(first)
    _wait_until(lambda: lock_file.exists() and lock_file.read_text().startswith("crawl c1"), "c1 to lock")
    first.send_signal(signal.SIGSTOP)
    try:
        assert lock_file.read_text().startswith("crawl c1"), "c1 finished before it could be paused"
        second = _crawl(tmp_path, "HERALD_LOCK_WAIT=120", "HERALD_CRAWL_ID=c2")
        second_log = _Stderr(second)
        _wait_until(lambda: "Waiting up to 120 s for crawl c1" in "".join(second_log.lines), "c2 to wait")
    finally:
        first.send_signal(signal.SIGCONT)
    crawls = [first, second]
    for crawl in crawls:
        crawl.wait(timeout=180)
    logs = [first_log.text(), second_log.text()]
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
