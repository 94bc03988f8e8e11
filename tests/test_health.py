"""A crawl that says how it went: exit codes 4 and 5, the runs row's verdict, the closing summary."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

from herald_spider.dataset.files import read_table
from tests.test_crawl import PROJECT, crawl
from tests.test_discovery import EXPECTED, FEEDS, mirror_file


def runs(dataset: Path) -> list[dict]:
    return sorted(read_table(dataset / "runs", "runs").to_pylist(), key=lambda r: r["started_at"])


def test_a_healthy_crawl_exits_0_with_a_summary(tmp_path: Path) -> None:
    result = crawl("world", replay=FEEDS, dataset=tmp_path, level="INFO")
    assert "of world (world): HEALTHY" in result["log"] and "  stored 24, skipped as known 0" in result["log"]
    (run,) = runs(tmp_path)
    assert run["verdict"] == "healthy" and run["failed_checks"] == []


def test_a_crawl_that_fetches_nothing_exits_4_and_says_why(tmp_path: Path) -> None:
    empty = tmp_path / "mirror" / "www.nzherald.co.nz"
    empty.mkdir(parents=True)
    command = [sys.executable, "-m", "scrapy", "crawl", "world", "-s", f"HERALD_REPLAY={empty.parent}"]
    command += ["-s", f"HERALD_DATASET_DIR={tmp_path / 'dataset'}"]
    done = subprocess.run(command, cwd=PROJECT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 4
    last = done.stderr.strip().splitlines()[-1]
    assert "FAILED its checks (exit code 4): no page could be fetched" in last and "start page" in last
    (run,) = runs(tmp_path / "dataset")
    assert run["verdict"] == "failed" and any("no page could be fetched" in c for c in run["failed_checks"])


def test_a_crawl_after_the_byline_markup_broke_exits_5_naming_authors(tmp_path: Path) -> None:
    """The same pages, once read right, then with every author's name gone from the markup (as
    when the site changes it): the second crawl stores articles without authors and fails."""
    history = tmp_path / "first"
    crawl("world", replay=FEEDS, dataset=history, level="INFO")
    broken = tmp_path / "broken"
    shutil.copytree(FEEDS, broken)
    for article in EXPECTED.values():
        page = mirror_file(broken, article["url"])
        text = page.read_text(encoding="utf-8")
        for name in article["authors"]:
            text = text.replace(name, "")
        page.write_text(text, encoding="utf-8")
    dataset = tmp_path / "dataset"
    shutil.copytree(history / "runs", dataset / "runs")  # the runs before; the articles are new to it
    result = crawl("world", replay=broken, dataset=dataset, level="INFO", code=5)
    last = result["log"].strip().splitlines()[-1]
    pattern = r"exit code 5\): (authors coverage fell to (0\.\d\d) from 0\.67 \(median of 1 runs\))"
    fell = re.search(pattern, last)
    assert fell and float(fell.group(2)) < 0.67 - 0.2, last
    assert runs(dataset)[-1]["failed_checks"] == [fell.group(1)]


def test_too_many_failed_articles_exit_5(tmp_path: Path) -> None:
    mirror = tmp_path / "mirror"
    shutil.copytree(FEEDS, mirror)
    for article in list(EXPECTED.values())[:10]:
        mirror_file(mirror, article["url"]).unlink()
    result = crawl("world", replay=mirror, dataset=tmp_path / "dataset", level="INFO", code=5)
    assert "article requests failed" in result["log"].strip().splitlines()[-1]


def test_a_crawl_of_an_unreachable_site_exits_4(tmp_path: Path) -> None:
    """As a new user tried it: no network to the site (here, a proxy that refuses connections)."""
    import os

    env = {k: v for k, v in os.environ.items() if k.lower() not in {"no_proxy", "http_proxy", "https_proxy"}}
    env["https_proxy"] = env["http_proxy"] = "http://127.0.0.1:9"  # the discard port: nothing listens
    command = [sys.executable, "-m", "scrapy", "crawl", "world", "-s", f"HERALD_DATASET_DIR={tmp_path}"]
    command += ["-s", "RETRY_TIMES=0", "-s", "DOWNLOAD_TIMEOUT=5", "-s", "DOWNLOAD_DELAY=0"]
    done = subprocess.run(command, cwd=PROJECT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 4
    assert "no page could be fetched" in done.stderr.strip().splitlines()[-1]
    (run,) = runs(tmp_path)
    assert run["verdict"] == "failed" and run["request_failures"]
