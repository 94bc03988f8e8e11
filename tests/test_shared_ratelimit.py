"""Shared rate limit: N processes of a crawl shared through Redis, against a local stand-in for
the site (tests/faulty_site.py), make no more requests per second than one process does.

The reference is one process without Redis (today's budget); then two processes, started
together, share one crawl through a private ``redis-server`` into one dataset. The site
records the arrival time of every request; the shared run's requests, from either process,
must start ``DOWNLOAD_DELAY`` apart and come no faster than the reference's.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from benchmarks.redis_server import RedisServer, redis_server_binary
from herald_spider.dataset.files import read_articles
from tests.faulty_site import HOST, FaultySite, self_signed_certificate

pytestmark = pytest.mark.skipif(
    redis_server_binary() is None, reason="redis-server is not installed (Debian package redis-server)"
)

PROJECT = Path(__file__).resolve().parents[1]
#: 36 requests for ``scrapy crawl world`` (robots.txt, the section pages, 24 articles), enough
#: for a rate; tests/fixtures/site makes 28.
MIRROR = PROJECT / "tests" / "fixtures" / "site-feeds"
DELAY = 0.3
# The one-process budget: the project keeps Scrapy's DOWNLOAD_DELAY_JITTER = 0.5
# (herald_spider/settings.py), so one process waits DOWNLOAD_DELAY x uniform(0.5, 1.5) = 0.15 to
# 0.45 s between the starts of its requests to the host (CONCURRENT_REQUESTS_PER_DOMAIN = 1, so
# also at least an answer's time); Scrapy 2.19 draws that delay again each time it looks at the
# slot, which makes about 0.36 s on average: some 2.7 requests a second. The shared limit keeps
# every process's requests 0.3 x 1.5 = 0.45 s apart (herald_spider/downloadhandlers/shared.py).
SETTINGS: dict[str, Any] = {
    "DOWNLOAD_DELAY": DELAY,
    "AUTOTHROTTLE_ENABLED": False,
    "HERALD_REDIS_IDLE_SECONDS": 1,
    "LOG_LEVEL": "INFO",
}
#: The shared limit spaces the starts of requests DELAY apart on Redis's clock; the site sees
#: arrivals, which a request reaches after the client's event loop sent it and the proxy's
#: thread read it (through a TLS tunnel set up first for a new connection) on a loaded 2-CPU
#: machine. 10 % of the delay (30 ms) is room for that jitter, far below the 0.15 s by which a
#: request could come early when a process keeps only its own budget.
MIN_GAP = 0.9 * DELAY
#: The shared run's requests per second over the reference's, at most.
RATE_RATIO = 1.1
TIMEOUT = 90.0
STATS = re.compile(r"'([a-z_]+/[^']+|item_scraped_count)': (\d+)")


@dataclass
class Run:
    """The processes of one run: their exit codes and logs, and the site's record."""

    returncodes: list[int]
    logs: list[str]
    arrivals: list[float]
    article_ids: list[str]

    def stats(self, number: int) -> dict[str, int]:
        return {key: int(value) for key, value in STATS.findall(self.logs[number])}

    @property
    def rate(self) -> float:
        """Requests per second, from the first request's arrival to the last's: the requests
        after the first over that span (n arrivals make n - 1 intervals; counting all n would
        favour the run with fewer requests by 1/n, ~3 % here)."""
        return (len(self.arrivals) - 1) / (self.arrivals[-1] - self.arrivals[0])

    @property
    def gaps(self) -> list[float]:
        return [later - earlier for earlier, later in zip(self.arrivals, self.arrivals[1:], strict=False)]


def start_crawl(site: FaultySite | None, settings: dict[str, Any], log: Path) -> subprocess.Popen[bytes]:
    """``scrapy crawl world`` with ``-s`` settings, as tests.faulty_site.crawl_through runs it
    (through ``site``'s proxy, its proxy variables replacing the environment's; no proxy at all
    without a site), but started, not waited for: stdout and stderr go to ``log``."""
    env = {k: v for k, v in os.environ.items() if k.lower() not in {"no_proxy", "http_proxy", "https_proxy"}}
    if site is not None:
        env["https_proxy"] = env["http_proxy"] = site.proxy
    command = [sys.executable, "-m", "scrapy", "crawl", "world"]
    command += [arg for name, value in settings.items() for arg in ("-s", f"{name}={value}")]
    with log.open("wb") as out:
        return subprocess.Popen(command, cwd=PROJECT, env=env, stdout=out, stderr=subprocess.STDOUT)


def run_together(
    site: FaultySite | None, settings: list[dict[str, Any]], logs: Path
) -> tuple[list[int], list[str]]:
    """Start one process per settings at once, wait for all; their exit codes and logs."""
    logs.mkdir(parents=True, exist_ok=True)
    files = [logs / f"process-{number}.log" for number in range(len(settings))]
    processes = [start_crawl(site, each, file) for each, file in zip(settings, files, strict=True)]
    deadline = time.monotonic() + TIMEOUT
    try:
        codes = [process.wait(timeout=max(0.1, deadline - time.monotonic())) for process in processes]
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
    return codes, [file.read_text(errors="replace") for file in files]


def crawl(root: Path, processes: int, redis_url: str | None) -> Run:
    """A run of ``processes`` processes into a fresh dataset, through a fresh site."""
    root.mkdir(parents=True)
    settings = {**SETTINGS, "HERALD_DATASET_DIR": root / "dataset"}
    if redis_url is not None:
        settings["HERALD_REDIS_URL"] = redis_url
    with FaultySite(MIRROR, self_signed_certificate(root), lifetime=TIMEOUT + 10) as site:
        codes, logs = run_together(site, [settings] * processes, root / "logs")
    gets = sorted((s for s in site.seen if s.method == "GET" and s.host == HOST), key=lambda s: s.at)
    ids = read_articles(root / "dataset", columns=["article_id"]).column("article_id").to_pylist()
    return Run(codes, logs, [s.at for s in gets], ids)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Run]:
    """The reference (one process, no Redis), then two processes sharing the crawl."""
    root = tmp_path_factory.mktemp("ratelimit")
    alone = crawl(root / "alone", 1, None)
    with RedisServer(root / "redis") as redis:
        shared = crawl(root / "shared", 2, redis.url)
    return {"alone": alone, "shared": shared}


def test_the_reference_crawl_makes_enough_requests(runs: dict[str, Run]) -> None:
    alone = runs["alone"]
    assert alone.returncodes == [0], alone.logs[0][-3000:]
    assert len(alone.arrivals) >= 25
    assert len(alone.article_ids) == len(set(alone.article_ids)) >= 20


def test_both_shared_processes_exit_0_and_store_each_article_once(runs: dict[str, Run]) -> None:
    shared, alone = runs["shared"], runs["alone"]
    for code, log in zip(shared.returncodes, shared.logs, strict=True):
        assert code == 0, log[-3000:]
        assert "Traceback" not in log, log[-3000:]
    assert sorted(shared.article_ids) == sorted(set(alone.article_ids))
    # each process fetched part of the crawl, through the shared limit (else nothing was shared)
    for number in range(2):
        stats = shared.stats(number)
        assert stats.get("downloader/request_count", 0) >= 3, stats
    assert sum(shared.stats(n).get("herald/shared/rate_waits", 0) for n in range(2)) > 0


def test_shared_requests_start_a_download_delay_apart(runs: dict[str, Run]) -> None:
    gaps = runs["shared"].gaps
    close = [(n, round(gap, 3)) for n, gap in enumerate(gaps) if gap < MIN_GAP]
    assert not close, f"requests (index, gap to the previous in s) closer than {MIN_GAP:.2f} s: {close}"


def test_two_processes_make_no_more_requests_per_second_than_one(runs: dict[str, Run]) -> None:
    alone, shared = runs["alone"], runs["shared"]
    ratio = shared.rate / alone.rate
    assert ratio <= RATE_RATIO, f"{shared.rate:.2f} vs {alone.rate:.2f} requests/s: {ratio:.2f}x"


def test_a_replayed_shared_crawl_is_not_rate_limited(tmp_path: Path) -> None:
    settings = {**SETTINGS, "HERALD_DATASET_DIR": tmp_path / "dataset", "HERALD_REPLAY": MIRROR}
    with RedisServer(tmp_path / "redis") as redis:
        codes, logs = run_together(None, [settings | {"HERALD_REDIS_URL": redis.url}], tmp_path / "logs")
    assert codes == [0], logs[0][-3000:]
    assert "herald/shared/rate_waits" not in logs[0]
    assert "Shared crawl " in logs[0]  # it was a shared crawl
    assert read_articles(tmp_path / "dataset").num_rows >= 20
