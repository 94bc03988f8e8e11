"""Benchmark: one crawl shared by two processes through Redis, against one process.

``python -m benchmarks.shared --sizes 20000 --passes 3`` (from the project directory, with
Debian's ``redis-server`` installed). For each size it builds (once, cached under ``--work``) a
link-only mirror of N World articles (``benchmarks.make_mirror.build``), then runs ``--passes``
passes (three by default), each of them:

1. **1 process, no Redis**: the ordinary ``scrapy crawl world`` in replay mode, a reference for
   time and memory;
2. **1 process** and **2 processes**, in ABBA order: ``scrapy crawl world -s HERALD_REDIS_URL=<url>
   -s HERALD_REDIS_IDLE_SECONDS=2``, one process, or two started together that share the
   frontier (the scrapy-redis scheduler and dupefilter) on a private ``redis-server``
   (``benchmarks.redis_server.RedisServer``) and write their Parquet files into one dataset.

Every run gets a fresh dataset and a fresh Redis server. A run's wall time runs from the start
of its first process to the exit of its last, the idle wait included (a process of the shared
mode stops only once the shared queue has been empty for ``HERALD_REDIS_IDLE_SECONDS``); the
time at which the run fetched its last article (the newest ``fetched_at``, to the second) is
shown too, and the ratio of those times (the crawl's work without the idle wait and the close).
Each process's CPU time and peak RSS come from ``os.wait4``, through the shim of
``benchmarks.run`` (a process started straight from this one would inherit its peak RSS); the
redis-server's CPU time is read from ``/proc`` before it stops, and shown.
After each run it reads the dataset: the mirror's N articles, each exactly once, and the
``runs`` table, one row per process (one ``worker`` each), all of one ``crawl_id``. A process
that exits with an error or logs a traceback, or a run still going after 120 s + N/10 s (its
processes are then killed), stops the benchmark.

Checks: the fastest 2-process run takes at most 0.6 x the wall time of the fastest 1-process
run (both with Redis); every run stores every article exactly once; the highest peak RSS of a
process of the 2-process runs is at most 1.1 x the highest of the 1-process runs (with Redis);
every run leaves one ``runs`` row per process, of one crawl. It prints a markdown table for a
README; ``--strict`` exits 1 when a check fails.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow.compute as pc

from benchmarks.backfill import stat
from benchmarks.make_mirror import new_id
from benchmarks.redis_server import RedisServer
from benchmarks.run import (
    _SHIM,
    PROJECT,
    emptied,
    finish,
    passes_parser,
    print_checks,
    scrapy_command,
    started,
)
from benchmarks.warc import mirror
from herald_spider.dataset.files import read_articles
from herald_spider.dataset.read import read_table

#: the fastest 2-process run's wall time over the fastest 1-process run's, at most
TIME_TARGET = 0.6
#: the highest peak RSS of a process of the 2-process runs over that of the 1-process runs, at most
RSS_TARGET = 1.1
#: HERALD_REDIS_IDLE_SECONDS of every shared-mode process
IDLE_SECONDS = 2
REFERENCE = "1 process, no Redis"
ONE, TWO = "1 process", "2 processes"
MODES = (ONE, TWO)
PROCESSES = {REFERENCE: 1, ONE: 1, TWO: 2}
#: short names of the modes, for the folders of a run (a unix socket's path is short)
SLUGS = {REFERENCE: "plain", ONE: "1p", TWO: "2p"}


def time_limit(size: int) -> float:
    """Seconds a run may take before its processes are killed and the benchmark stops.

    >>> time_limit(20000)
    2120.0
    """
    return 120.0 + size / 10


@dataclass
class Process:
    """One crawl process of a run."""

    log: Path
    cpu_s: float
    peak_rss_mb: float
    #: its ``item_scraped_count``
    scraped: int
    #: seconds from the start of the run to its exit
    exited_s: float


@dataclass
class Outcome:
    """A run of a mode: its processes and what the dataset holds after it."""

    mode: str
    wall_s: float
    processes: list[Process]
    articles: int
    distinct: int
    #: the distinct article IDs are those of the mirror's articles
    mirror_ids: bool
    #: seconds from the start of the run to the newest ``fetched_at`` (None: no articles)
    last_article_s: float | None
    runs_rows: int
    crawl_ids: int
    #: distinct values of the ``runs`` column ``worker`` (None: the table has no such column)
    workers: int | None
    #: CPU time of the run's redis-server (None: a run without Redis)
    redis_cpu_s: float | None = None

    def exactly_once(self, size: int) -> bool:
        return self.articles == self.distinct == size and self.mirror_ids

    @property
    def runs_recorded(self) -> bool:
        """One ``runs`` row per process, all of one crawl, one worker each."""
        count = len(self.processes)
        return self.runs_rows == count and self.crawl_ids == 1 and self.workers in (None, count)

    @property
    def peak_rss_mb(self) -> float:
        return max(p.peak_rss_mb for p in self.processes)


def launch(commands: list[list[str]], logs: list[Path], limit: float) -> tuple[float, float, list[Process]]:
    """Start every command at once, each through the shim, and wait for all of them: the wall
    time from the first start to the last exit, the start (epoch seconds) and the processes.
    Stops the benchmark when one fails or when they are not all done within ``limit`` seconds."""
    usages = [log.with_suffix(".usage.json") for log in logs]
    outputs = [log.with_suffix(".out") for log in logs]
    for stale in (*logs, *usages):  # of an earlier benchmark in the same folder (logs append)
        stale.unlink(missing_ok=True)
    epoch, start = time.time(), time.perf_counter()
    running = []
    for command, usage, output in zip(commands, usages, outputs, strict=True):
        with output.open("wb") as out:
            shimmed = [sys.executable, "-c", _SHIM, str(usage), *command]
            running.append(
                subprocess.Popen(
                    shimmed, cwd=PROJECT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
                )
            )
    exited: dict[int, float] = {}
    while len(exited) < len(running):
        for number, process in enumerate(running):
            if number not in exited and process.poll() is not None:
                exited[number] = time.perf_counter() - start
        if len(exited) < len(running) and time.perf_counter() - start > limit:
            for process in running:
                if process.poll() is None:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait()
            raise SystemExit(f"the crawl did not stop within {limit:.0f} s; see {', '.join(map(str, logs))}")
        time.sleep(0.02)
    wall = max(exited.values())
    processes = []
    for number, (log, usage, output) in enumerate(zip(logs, usages, outputs, strict=True)):
        text = log.read_text(errors="replace") if log.exists() else ""
        printed = output.read_text(errors="replace")
        measured = json.loads(usage.read_text()) if usage.exists() else {"status": -1}
        if measured["status"] != 0 or "Traceback" in text + printed:
            status = measured["status"]
            why = f"exit code {os.waitstatus_to_exitcode(status)}" if status > 0 else "no exit status"
            why = "a traceback" if status == 0 else why
            raise SystemExit(f"process {number + 1} of {len(logs)} failed ({why}); see {log} and {output}")
        cpu, rss = measured["cpu"], measured["maxrss_kib"] / 1024
        processes.append(Process(log, cpu, rss, stat("item_scraped_count", text), exited[number]))
    return wall, epoch, processes


def crawl_command(settings: dict[str, Any], log: Path) -> list[str]:
    options = [part for name, value in settings.items() for part in ("-s", f"{name}={value}")]
    return scrapy_command("crawl", "world", *options, "-s", f"LOG_FILE={log}")


def run_mode(mode: str, size: int, mirror_dir: Path, work: Path, number: int) -> Outcome:
    """One run of ``mode``: a fresh dataset (and Redis server), its processes started together."""
    slug = f"{SLUGS[mode]}-{size}-{number}"
    dataset = emptied(work / "datasets" / slug)
    (work / "logs").mkdir(parents=True, exist_ok=True)
    logs = [work / "logs" / f"{slug}-{n + 1}.log" for n in range(PROCESSES[mode])]
    settings: dict[str, Any] = {"HERALD_REPLAY": mirror_dir, "HERALD_DATASET_DIR": dataset}
    redis_cpu = None
    with ExitStack() as stack:
        redis = None
        if mode != REFERENCE:
            redis = stack.enter_context(RedisServer(emptied(work / "redis" / slug)))
            settings |= {"HERALD_REDIS_URL": redis.url, "HERALD_REDIS_IDLE_SECONDS": IDLE_SECONDS}
        commands = [crawl_command(settings, log) for log in logs]
        wall, epoch, processes = launch(commands, logs, time_limit(size))
        if redis is not None and redis.process is not None:
            redis_cpu = cpu_seconds(redis.process.pid)
    outcome = read_outcome(mode, dataset, size, wall, epoch, processes)
    outcome.redis_cpu_s = redis_cpu
    return outcome


def cpu_seconds(pid: int) -> float:
    """The CPU time (user and system) a running process has used so far, from ``/proc``."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def read_outcome(
    mode: str, dataset: Path, size: int, wall: float, epoch: float, processes: list[Process]
) -> Outcome:
    """What a run left in its dataset: its articles and its rows of the ``runs`` table."""
    articles = read_articles(dataset, columns=["article_id", "fetched_at"])
    ids = set(articles.column("article_id").to_pylist())
    newest: datetime | None = pc.max(articles.column("fetched_at")).as_py()
    runs = read_table(dataset, "runs")
    return Outcome(
        mode,
        wall,
        processes,
        articles=articles.num_rows,
        distinct=len(ids),
        mirror_ids=ids == {new_id(index) for index in range(size)},
        last_article_s=newest.timestamp() - epoch if newest is not None else None,
        runs_rows=runs.num_rows,
        crawl_ids=len(set(runs.column("crawl_id").to_pylist())),
        workers=len(set(runs.column("worker").to_pylist())) if "worker" in runs.column_names else None,
    )


def bench_size(size: int, work: Path, passes: int) -> dict[str, Any]:
    mirror_dir = mirror(size, work)
    outcomes: dict[str, list[Outcome]] = {mode: [] for mode in (REFERENCE, *MODES)}
    for number in range(1, max(1, passes) + 1):
        order = MODES if number % 2 else MODES[::-1]  # ABBA: neither mode always goes first
        for mode in (REFERENCE, *order):
            print(f"{size}: {mode}, pass {number} ...", flush=True)
            outcome = run_mode(mode, size, mirror_dir, work, number)
            outcomes[mode].append(outcome)
            print(
                f"  {outcome.wall_s:.1f} s, {outcome.articles} articles ({outcome.distinct} distinct), "
                f"scraped {' + '.join(str(p.scraped) for p in outcome.processes)}, runs rows "
                f"{outcome.runs_rows}, crawl ids {outcome.crawl_ids}",
                flush=True,
            )
    return {"size": size, "outcomes": outcomes}


def joined(values: list[Any]) -> str:
    """One value when all are the same, else each.

    >>> joined([60, 60]), joined([60, 59])
    ('60', '60, 59')
    """
    return str(values[0]) if len(set(values)) == 1 else ", ".join(map(str, values))


def fastest(outcomes: list[Outcome]) -> Outcome:
    return min(outcomes, key=lambda outcome: outcome.wall_s)


def highest_rss(outcomes: list[Outcome]) -> float:
    return max(outcome.peak_rss_mb for outcome in outcomes)


def last_article(outcomes: list[Outcome]) -> float:
    """The earliest time to the last article of the passes (nan: none stored an article)."""
    times = [o.last_article_s for o in outcomes if o.last_article_s is not None]
    return min(times, default=float("nan"))


def ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator else float("nan")


def table_row(mode: str, outcomes: list[Outcome]) -> str:
    best = fastest(outcomes)
    cells = [
        mode,
        str(len(outcomes)),
        f"{best.wall_s:.1f}",
        ", ".join(f"{o.wall_s:.1f}" for o in outcomes),
        ", ".join(f"{p.cpu_s:.1f}" for p in best.processes),
        f"{highest_rss(outcomes):.0f}",
        joined([o.articles for o in outcomes]),
        joined([o.distinct for o in outcomes]),
    ]
    return "| " + " | ".join(cells) + " |"


def report(results: list[dict[str, Any]]) -> list[tuple[str, bool]]:
    checks: list[tuple[str, bool]] = []
    for r in results:
        size, outcomes = r["size"], r["outcomes"]
        print(f"\n### {size} articles\n")
        print(
            "| mode | passes | wall s (fastest) | wall s per pass | CPU s per process "
            "| peak RSS MB per process (highest) | articles | distinct |"
        )
        print("|---|---:|---:|---:|---:|---:|---:|---:|")
        for mode, runs in outcomes.items():
            print(table_row(mode, runs))
        plain, one, two = outcomes[REFERENCE], outcomes[ONE], outcomes[TWO]
        speed = ratio(fastest(two).wall_s, fastest(one).wall_s)
        rss = ratio(highest_rss(two), highest_rss(one))
        print(
            f"\n- {size}: wall time, 2 processes / 1 process (the fastest of each, both with Redis): "
            f"**{speed:.2f}** (target <= {TIME_TARGET}); each includes the {IDLE_SECONDS} s idle wait"
        )
        print(
            f"- {size}: highest peak RSS of a process, 2 processes / 1 process: **{rss:.2f}** "
            f"(target <= {RSS_TARGET})"
        )
        wall = ratio(fastest(one).wall_s, fastest(plain).wall_s)
        cpu = ratio(fastest(one).processes[0].cpu_s, fastest(plain).processes[0].cpu_s)
        own = ratio(highest_rss(one), highest_rss(plain))
        print(f"- {size}: 1 process with Redis / without: wall {wall:.2f}, CPU {cpu:.2f}, peak RSS {own:.2f}")
        print(
            f"- {size}: last article fetched, s after the start (to the second), each pass: "
            + per_pass(outcomes)
        )
        work_ratio = ratio(last_article(two), last_article(one))
        print(
            f"- {size}: time to the last article (the crawl's work, without the idle wait and the "
            f"close), 2 processes / 1 process (the earliest of each): {work_ratio:.2f}"
        )
        split = "; ".join(
            f"{mode}: " + ", ".join(" + ".join(str(p.scraped) for p in o.processes) for o in runs)
            for mode, runs in outcomes.items()
        )
        print(f"- {size}: articles scraped by each process, each pass: {split}")
        recorded = "; ".join(
            f"{mode}: "
            + ", ".join(f"{o.runs_rows} rows/{o.crawl_ids} crawl ids/{o.workers} workers" for o in runs)
            for mode, runs in outcomes.items()
        )
        print(f"- {size}: runs table (rows/distinct crawl_id/distinct worker), each pass: {recorded}")
        served = "; ".join(
            f"{mode}: " + ", ".join(f"{o.redis_cpu_s:.1f}" for o in runs if o.redis_cpu_s is not None)
            for mode, runs in outcomes.items()
            if mode != REFERENCE
        )
        print(f"- {size}: CPU s of the redis-server, each pass: {served}")
        every = [o for runs in outcomes.values() for o in runs]
        checks.append((f"{size}: 2 processes ≤ {TIME_TARGET}× the time of 1", speed <= TIME_TARGET))
        checks.append((f"{size}: every article exactly once", all(o.exactly_once(size) for o in every)))
        checks.append((f"{size}: peak RSS per process ≤ {RSS_TARGET}× single", rss <= RSS_TARGET))
        checks.append(
            (f"{size}: one runs row per process, one crawl_id", all(o.runs_recorded for o in every))
        )
    return print_checks(checks)


def per_pass(outcomes: dict[str, list[Outcome]]) -> str:
    def seconds(outcome: Outcome) -> str:
        return f"{outcome.last_article_s:.0f}" if outcome.last_article_s is not None else "-"

    return "; ".join(f"{mode}: " + ", ".join(map(seconds, runs)) for mode, runs in outcomes.items())


def main() -> None:
    parser = passes_parser(__doc__ or "", Path("/tmp/herald-shared"), 3)
    parser.set_defaults(sizes=[20000])
    args = started(parser, "benchmarks.shared")
    results = [bench_size(size, args.work, args.passes) for size in sorted(args.sizes)]
    finish(report(results), args.strict)


if __name__ == "__main__":
    main()
