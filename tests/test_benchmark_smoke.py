"""The benchmark scripts run end to end on a tiny mirror (the benchmark itself is not a test)."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import run_benchmark


def test_benchmark_runs_on_a_tiny_mirror(tmp_path: Path) -> None:
    args = ("--sizes", "50", "--peer-sample", "5", "--known", "2000", "--no-peer", "--crawl-passes", "1")
    out = run_benchmark("benchmarks.run", *args, "--split", work=tmp_path, timeout=300)
    assert "| floor | 50 |" in out
    assert "| herald | 50 |" in out
    assert "| machinery | 50 |" in out
    assert "herald's CPU over the floor" in out
    assert "machinery/floor throughput:" in out
    assert "50: every article stored | yes" in out
    assert "CPU ms per article in each pass" in out
    assert "loading 2000 known IDs" in out
    # the machinery crawl runs herald's components (runspider does not write by itself)
    machinery_log = (tmp_path / "machinery-50.log").read_text(encoding="utf-8")
    disabled = [line for line in machinery_log.splitlines() if "Disabled herald_spider" in line]
    assert all("HERALD_WARC_DIR is not set" in line for line in disabled), disabled
    assert "Wrote 50 articles" in machinery_log
