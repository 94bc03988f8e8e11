"""Settings and arguments cannot make a crawl write outside its dataset folder."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.conftest import SITE

PROJECT = Path(__file__).resolve().parents[1]


def test_crawl_id_that_would_leave_the_dataset_is_refused(tmp_path: Path) -> None:
    dataset = tmp_path / "a" / "b" / "dataset"
    command = [sys.executable, "-m", "scrapy", "crawl", "world"]
    for setting in (
        f"HERALD_REPLAY={SITE}",
        f"HERALD_DATASET_DIR={dataset}",
        "HERALD_CRAWL_ID=../../../escaped",
    ):
        command += ["-s", setting]
    done = subprocess.run(command, cwd=PROJECT, capture_output=True, text=True, timeout=120)
    assert "HERALD_CRAWL_ID must be letters, digits" in done.stderr
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []
