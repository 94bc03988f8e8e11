"""The benchmark scripts run end to end on a tiny mirror (the benchmark itself is not a test)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]


def test_benchmark_runs_on_a_tiny_mirror(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "benchmarks.run", "--sizes", "50", "--peer-sample", "5"]
    command += ["--known", "2000", "--no-peer", "--crawl-passes", "1", "--split"]
    command += ["--work", str(tmp_path)]
    done = subprocess.run(command, cwd=PROJECT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    out = done.stdout
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
