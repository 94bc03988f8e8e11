"""``benchmarks.shared`` runs end to end on a tiny mirror (the benchmark itself is not a test:
its ratios mean nothing at 60 articles, so it runs without ``--strict``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.redis_server import redis_server_binary
from tests.conftest import run_benchmark


@pytest.mark.skipif(redis_server_binary() is None, reason="redis-server is not installed")
def test_the_shared_benchmark_runs_on_a_tiny_mirror(tmp_path: Path) -> None:
    out = run_benchmark("benchmarks.shared", "--sizes", "60", "--passes", "1", work=tmp_path, timeout=120)
    assert "### 60 articles" in out
    assert "| mode | passes | wall s (fastest) | wall s per pass | CPU s per process " in out
    for mode in ("1 process, no Redis", "1 process", "2 processes"):
        assert f"| {mode} | 1 | " in out
    assert "2 processes / 1 process (the fastest of each, both with Redis): **" in out
    assert "60: 2 processes ≤ 0.6× the time of 1 | " in out
    assert "60: peak RSS per process ≤ 1.1× single | " in out
    assert "60: CPU s of the redis-server, each pass: 1 process: " in out
    assert "60: every article exactly once | yes" in out
    assert "60: one runs row per process, one crawl_id | yes" in out
    # the two processes of the shared run each wrote a log of their own
    assert sorted(p.name for p in (tmp_path / "logs").glob("2p-60-1-*.log")) == [
        "2p-60-1-1.log",
        "2p-60-1-2.log",
    ]
