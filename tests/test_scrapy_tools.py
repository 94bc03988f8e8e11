"""Scrapy's own tools leave the dataset alone (only `scrapy crawl` locks and writes it), `scrapy
bench` measures something, and spider arguments Scrapy would take silently are refused."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.test_crawl import PROJECT, crawl
from tests.test_data_safety import fingerprint
from tests.test_discovery import EXPECTED, FEEDS

ARTICLE = next(iter(EXPECTED.values()))


def scrapy(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "scrapy", *args]
    return subprocess.run(command, cwd=PROJECT, capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    crawl("world", replay=FEEDS, dataset=tmp_path / "dataset", level="INFO")
    return tmp_path / "dataset"


def settings(dataset: Path) -> list[str]:
    return ["-s", f"HERALD_REPLAY={FEEDS}", "-s", f"HERALD_DATASET_DIR={dataset}"]


def test_shell_leaves_the_dataset_unchanged(dataset: Path) -> None:
    before = fingerprint(dataset)
    done = scrapy("shell", ARTICLE["url"], *settings(dataset), "-c", "response.status")
    assert done.returncode == 0 and done.stdout.strip().endswith("200"), done.stderr[-2000:]
    assert fingerprint(dataset) == before


def test_an_idle_shell_does_not_lock_the_dataset(dataset: Path) -> None:
    command = [sys.executable, "-m", "scrapy", "shell", ARTICLE["url"], *settings(dataset)]
    command += ["-c", "__import__('time').sleep(20)"]
    shell = subprocess.Popen(command, cwd=PROJECT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(4)  # the shell has fetched its page and is idle
        crawl("world", "-s", "HERALD_CRAWL_ID=while-shell", replay=FEEDS, dataset=dataset, level="INFO")
    finally:
        shell.kill()
        shell.wait()


def test_parse_leaves_the_dataset_unchanged(dataset: Path) -> None:
    before = fingerprint(dataset)
    done = scrapy("parse", "--spider=world", "-c", "parse_article", *settings(dataset), ARTICLE["url"])
    assert done.returncode == 0, done.stderr[-2000:]
    assert ARTICLE["title"] in done.stdout
    assert fingerprint(dataset) == before


def test_bench_measures_pages_and_writes_nothing(tmp_path: Path) -> None:
    dataset = tmp_path / "dataset"
    done = scrapy("bench", "-s", "CLOSESPIDER_TIMEOUT=3", "-s", f"HERALD_DATASET_DIR={dataset}", timeout=180)
    assert done.returncode == 0, done.stderr[-2000:]
    pages = re.search(r"'response_received_count': (\d+)", done.stderr)
    assert pages and int(pages.group(1)) > 0  # at the project's polite pace: a few a second
    assert not dataset.exists()


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["world", "-a", "allowed_domains=example.org"], "unknown spider argument allowed_domains"),
        (["section", "-a", "section="], "section is empty"),
        (["section", "-a", "section=" + "a" * 100_000], "more than 200"),
        (["section", "-a", "section=../../etc"], "not a section path"),
        (["world", "-a", "section=sport"], "world crawls World"),
        (["world", "-a", "refresh=sometimes"], "refresh='sometimes'"),
        (["nosuch"], "no spider 'nosuch' (section, world)"),
    ],
)
def test_bad_spider_arguments_one_line_no_traceback(tmp_path: Path, args: list[str], words: str) -> None:
    done = scrapy("crawl", *args, *settings(tmp_path / "dataset"))
    assert done.returncode == 1
    assert done.stderr.strip().count("\n") == 0 and words in done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    assert not (tmp_path / "dataset").exists()


def test_a_relative_dataset_dir_is_logged_absolute(tmp_path: Path) -> None:
    relative = Path(os.path.relpath(tmp_path / "dataset", PROJECT))  # the crawl runs in PROJECT
    assert not relative.is_absolute()
    done = crawl("world", replay=FEEDS, dataset=relative, level="INFO")
    absolute = PROJECT / relative  # as Path.absolute() makes it: `..` kept, links not resolved
    assert f"Dataset {absolute}/articles holds 0 articles" in done["log"]
    assert f" {relative}/" not in done["log"].replace(str(absolute), "")
