"""The dataset lock of a crawl shared through Redis (DatasetLock.acquire_shared / last_holder),
and the ``runs`` table's rows of its processes (one per ``worker``) through compaction.

flock locks belong to an open file description: every DatasetLock opens the lock file anew, so
two of them in one process are two holders, as two processes would be.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from herald_spider.dataset import lock as lock_module
from herald_spider.dataset.files import parquet_files, read_table, write_table
from herald_spider.dataset.lock import LOCK_NAME, DatasetLock, DatasetLocked
from herald_spider.dataset.maintenance import compact_table, file_schema_version, needs_compaction
from herald_spider.dataset.schema import RUNS, SCHEMA_VERSION, to_table
from herald_spider.dataset.tables import ensure_table, snapshot
from herald_spider.errors import Refused

PROJECT = Path(__file__).resolve().parents[1]
PID = os.getpid()


class FakeClock:
    """The lock module's ``time``: ``sleep`` moves the clock on at once, then runs ``on_sleep``.

    ``acquire_shared`` waits at least 5 s for an exclusive holder, even with ``wait=0``; with
    this clock that wait takes no time, and a holder can be released at the moment the waiter
    is seen waiting (its first sleep), with no thread and no real sleep."""

    def __init__(self, on_sleep: Callable[[], None] | None = None) -> None:
        self.now = 1000.0
        self.sleeps = 0
        self.on_sleep = on_sleep

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps += 1
        self.now += seconds
        if self.on_sleep is not None:
            self.on_sleep()


@pytest.fixture
def locks(tmp_path: Path) -> Iterator[Callable[[str], DatasetLock]]:
    """Make DatasetLocks of ``tmp_path``, each a holder of its own; all released at the end."""
    made: list[DatasetLock] = []

    def make(holder: str) -> DatasetLock:
        made.append(DatasetLock(tmp_path, holder))
        return made[-1]

    yield make
    for each in made:
        each.release()


def holder_line(dataset: Path) -> str:
    return (dataset / LOCK_NAME).read_text()


def refused(attempt: Callable[[], None]) -> str:
    with pytest.raises(DatasetLocked) as refusal:
        attempt()
    return str(refusal.value)


# --- acquire_shared -------------------------------------------------------------------------


def test_holders_of_one_shared_crawl_coexist_and_another_crawl_is_refused(
    tmp_path: Path, locks: Callable[[str], DatasetLock]
) -> None:
    first, second = locks("crawl c1"), locks("crawl c1")
    first.acquire_shared("c1")
    second.acquire_shared("c1")
    assert first.held and second.held
    assert holder_line(tmp_path) == f"shared crawl c1 (first pid {PID})\n"

    other = locks("crawl c2")
    message = refused(lambda: other.acquire_shared("c2"))
    assert f"being written by shared crawl c1 (first pid {PID}), not by shared crawl c2" in message
    assert not other.held
    # the refused one took nothing away: the crawl's holders still hold it, its line is there
    assert first.held and second.held
    assert holder_line(tmp_path) == f"shared crawl c1 (first pid {PID})\n"


def test_an_exclusive_writer_is_refused_while_shared_holders_remain(
    tmp_path: Path, locks: Callable[[str], DatasetLock]
) -> None:
    first, second, writer = locks("crawl c1"), locks("crawl c1"), locks("herald-dataset compact")
    first.acquire_shared("c1")
    second.acquire_shared("c1")
    assert "is being written by shared crawl c1" in refused(writer.acquire)
    first.release()
    assert "is being written by shared crawl c1" in refused(writer.acquire)
    second.release()
    writer.acquire()
    assert writer.held
    assert holder_line(tmp_path) == f"herald-dataset compact (pid {PID})\n"


def test_a_shared_holder_in_another_process_refuses_an_exclusive_writer(
    tmp_path: Path, locks: Callable[[str], DatasetLock]
) -> None:
    # a child process holds the lock shared until its stdin closes
    script = (
        "import sys\nfrom pathlib import Path\nfrom herald_spider.dataset.lock import DatasetLock\n"
        "lock = DatasetLock(Path(sys.argv[1]), 'crawl c1')\nlock.acquire_shared('c1')\n"
        "print('held', flush=True)\nsys.stdin.read()\n"
    )
    child = subprocess.Popen(
        [sys.executable, "-c", script, str(tmp_path)],
        cwd=PROJECT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None and child.stdout.readline() == "held\n"
        joined = locks("crawl c1")
        joined.acquire_shared("c1")  # a second process of the crawl joins it
        writer = locks("writer")
        assert f"shared crawl c1 (first pid {child.pid})" in refused(writer.acquire)
        joined.release()
        assert "shared crawl c1" in refused(writer.acquire)  # the child still holds it
    finally:
        assert child.stdin is not None
        child.stdin.close()
        child.wait(timeout=30)
    writer.acquire()
    assert writer.held


def test_acquire_shared_is_refused_while_an_exclusive_holder_holds_it(
    tmp_path: Path, locks: Callable[[str], DatasetLock], monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = FakeClock()
    monkeypatch.setattr(lock_module, "time", clock)
    writer = locks("herald-dataset compact")
    writer.acquire()
    joining = locks("crawl c1")
    message = refused(lambda: joining.acquire_shared("c1", wait=0))
    assert f"being written by herald-dataset compact (pid {PID})" in message
    assert "shared crawl c1 wait for it" in message
    assert clock.now - 1000.0 >= 5.0, "even with wait=0, it waits a moment for the first holder"
    assert not joining.held and writer.held
    assert holder_line(tmp_path) == f"herald-dataset compact (pid {PID})\n"

    start = clock.now
    refused(lambda: joining.acquire_shared("c1", wait=8))
    assert clock.now - start >= 8.0, "a longer wait is waited"


def test_acquire_shared_takes_the_lock_once_the_exclusive_holder_releases_it(
    tmp_path: Path, locks: Callable[[str], DatasetLock], monkeypatch: pytest.MonkeyPatch
) -> None:
    writer = locks("herald-dataset compact")
    writer.acquire()
    clock = FakeClock(on_sleep=writer.release)  # released once the shared one waits
    monkeypatch.setattr(lock_module, "time", clock)
    joining = locks("crawl c1")
    joining.acquire_shared("c1", wait=0)
    assert clock.sleeps == 1, "it waited for the writer, then took the lock"
    assert joining.held and not writer.held
    assert holder_line(tmp_path) == f"shared crawl c1 (first pid {PID})\n"


# --- last_holder ----------------------------------------------------------------------------


def test_the_last_holder_keeps_the_lock_alone_and_empties_the_holder_line(
    tmp_path: Path, locks: Callable[[str], DatasetLock]
) -> None:
    first, second = locks("crawl c1"), locks("crawl c1")
    first.acquire_shared("c1")
    second.acquire_shared("c1")

    assert first.last_holder() is False
    assert not first.held
    line = f"shared crawl c1 (first pid {PID})\n"
    assert holder_line(tmp_path) == line, "the line stays while a shared holder remains"

    assert second.last_holder() is True
    assert second.held
    writer, joining = locks("writer"), locks("crawl c1")
    assert "being written by shared crawl c1" in refused(writer.acquire)
    assert holder_line(tmp_path) == line

    second.release()
    assert holder_line(tmp_path) == "", "the last release empties the holder line"
    writer.acquire()
    assert writer.held
    writer.release()
    joining.acquire_shared("c1")
    assert joining.held


def test_a_shared_holder_that_is_not_last_leaves_the_holder_line(
    tmp_path: Path, locks: Callable[[str], DatasetLock]
) -> None:
    first, second = locks("crawl c1"), locks("crawl c1")
    first.acquire_shared("c1")
    second.acquire_shared("c1")
    first.release()
    assert holder_line(tmp_path) == f"shared crawl c1 (first pid {PID})\n"
    assert second.held
    # a third process of the crawl still joins it: the line names the crawl
    third = locks("crawl c1")
    third.acquire_shared("c1")
    assert third.held


def test_last_holder_without_the_lock_is_false(locks: Callable[[str], DatasetLock]) -> None:
    assert locks("crawl c1").last_holder() is False


def test_a_lone_writer_empties_the_holder_line_when_it_releases(
    tmp_path: Path, locks: Callable[[str], DatasetLock]
) -> None:
    # DatasetLock._alone: "held alone (a lone writer, or the last process of a shared crawl)";
    # release() empties the line of a holder held alone.
    writer = locks("crawl c0")
    writer.acquire()
    assert holder_line(tmp_path) == f"crawl c0 (pid {PID})\n"
    writer.release()
    assert holder_line(tmp_path) == ""


@pytest.mark.parametrize("how", ["acquire", "acquire_shared"])
def test_a_lock_file_that_is_a_symlink_is_refused(tmp_path: Path, how: str) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    dataset = tmp_path / "dataset"
    dataset.mkdir()
    (dataset / LOCK_NAME).symlink_to(victim)
    lock = DatasetLock(dataset, "crawl c1")
    attempt: Callable[[], None] = lock.acquire if how == "acquire" else lambda: lock.acquire_shared("c1")
    with pytest.raises(Refused, match="a symlink") as refusal:
        attempt()
    assert not isinstance(refusal.value, DatasetLocked)
    assert str(dataset / LOCK_NAME) in str(refusal.value)
    assert not lock.held
    assert victim.read_text() == "precious\n"


# --- the runs table: one row per process of a shared crawl ----------------------------------

T0 = datetime(2025, 6, 19, tzinfo=UTC)


def run_row(crawl_id: str, worker: str | None, pages: int) -> dict[str, Any]:
    return {
        "crawl_id": crawl_id,
        "worker": worker,
        "spider": "world",
        "section": "world",
        "started_at": T0,
        "finished_at": T0,
        "finish_reason": "finished",
        "pages_fetched": pages,
    }


def compacted_runs(dataset: Path) -> list[tuple[str, str | None, int]]:
    compact_table(dataset, "runs")
    rows = read_table(dataset / "runs", "runs").to_pylist()
    return sorted(
        ((r["crawl_id"], r["worker"], r["pages_fetched"]) for r in rows), key=lambda r: (r[0], r[1] or "")
    )


def test_compaction_keeps_one_runs_row_per_worker_of_a_crawl(tmp_path: Path) -> None:
    table_dir = ensure_table(tmp_path, "runs")
    write_table(table_dir, to_table([run_row("c1", "w1", 10), run_row("c1", "w2", 20)], RUNS), "part-a-00001")
    write_table(table_dir, to_table([run_row("c2", "w1", 1)], RUNS), "part-b-00001")
    assert compacted_runs(tmp_path) == [("c1", "w1", 10), ("c1", "w2", 20), ("c2", "w1", 1)]


def test_compaction_keeps_the_last_runs_row_of_a_crawl_and_worker(tmp_path: Path) -> None:
    table_dir = ensure_table(tmp_path, "runs")
    write_table(table_dir, to_table([run_row("c1", "w1", 10), run_row("c1", "w2", 20)], RUNS), "part-a-00001")
    # a later file, then a later row of one file, wins
    write_table(table_dir, to_table([run_row("c1", "w1", 11)], RUNS), "part-b-00001")
    write_table(table_dir, to_table([run_row("c3", "w1", 1), run_row("c3", "w1", 2)], RUNS), "part-c-00001")
    assert compacted_runs(tmp_path) == [("c1", "w1", 11), ("c1", "w2", 20), ("c3", "w1", 2)]


def test_an_older_runs_file_without_worker_compacts_with_worker_null(tmp_path: Path) -> None:
    table_dir = ensure_table(tmp_path, "runs")
    version_5 = pa.schema(
        [RUNS.field(name) for name in RUNS.names if name != "worker"],
        metadata={"herald_spider.table": "runs", "herald_spider.schema_version": "5"},
    )
    old = [{k: v for k, v in run_row(c, None, p).items() if k != "worker"} for c, p in (("c0", 1), ("c1", 2))]
    pq.write_table(to_table(old, version_5), table_dir / "part-a-00001.parquet")
    assert "worker" not in pq.read_schema(table_dir / "part-a-00001.parquet").names
    # a later one-process run of c1 (worker null, as the old row's) and a shared one of c2
    write_table(table_dir, to_table([run_row("c1", None, 3), run_row("c2", "w1", 4)], RUNS), "part-b-00001")
    assert needs_compaction(tmp_path, "runs", max_files=100)

    assert compacted_runs(tmp_path) == [("c0", None, 1), ("c1", None, 3), ("c2", "w1", 4)]
    files = parquet_files(snapshot(table_dir))
    assert files and all(file_schema_version(path) == SCHEMA_VERSION for path in files)
    assert all(pq.read_schema(path).remove_metadata() == RUNS.remove_metadata() for path in files)
    assert not needs_compaction(tmp_path, "runs", max_files=100)
