"""Benchmark: a sitemap backfill against the link-following crawl, on mirrors of the same size.

``python -m benchmarks.backfill --sizes 2000 20000`` (from the project directory). For each
size it builds (once, cached under ``--work``) two mirrors of the same N synthetic World
articles with ``benchmarks.make_mirror``:

- a **link-only** mirror (``build``): the section pages list the newest ~30 articles and the
  rest are reachable only through the links of other articles;
- a **backfill** mirror (``build(..., sitemaps=True)``): most articles are reachable only
  through the sitemaps (robots.txt, the sitemap index, ~35 World articles a day in by-day
  sitemaps mixed with ~190 stories of other sections that are not in the mirror).

Then it alternates ``--passes`` crawls (two by default, ABBA order) of each mode, each into a
fresh dataset, in subprocesses (``benchmarks.run.crawl``: CPU time and peak RSS from
``os.wait4``):

1. **links**: ``scrapy crawl world`` on the link-only mirror;
2. **backfill**: ``scrapy crawl world -a since=2000-01-01`` on the backfill mirror.

From each crawl's log it reads ``response_received_count`` (pages fetched),
``herald/articles_stored`` and ``downloader/response_status_count/404``, and reports per size
and mode the articles stored, the pages fetched, pages per CPU second and per wall second and
the peak RSS: each mode counts its pass with the least CPU time and its highest peak RSS, as
``benchmarks.run`` does. Then it checks that

(a) every backfill crawl stores all N articles and gets no 404 (a request for a story of
    another section, or for any URL the mirror lacks, answers 404);
(b) the backfill's peak RSS at the largest size is at most 1.15 x that at the smallest;
(c) the backfill fetches pages at least 0.9 x as fast (per CPU second) as the link crawl, at
    each size.

It prints a markdown table for a README; ``--strict`` exits 1 when a check fails.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.make_mirror import build
from benchmarks.run import (
    Run,
    Throughput,
    best_pass,
    crawl,
    emptied,
    finish,
    passes_parser,
    print_checks,
    scrapy_command,
    started,
)

#: backfill peak RSS at the largest size over that at the smallest, at most
RSS_GROWTH_TARGET = 1.15
#: backfill pages per CPU second over the link crawl's, at least
SPEED_TARGET = 0.9
MODES = ("links", "backfill")
SINCE = "2000-01-01"


def stat(name: str, log: str) -> int:
    """An integer from the stats a crawl dumps at its end (0 when absent)."""
    found = re.search(rf"'{re.escape(name)}': (\d+)", log)
    return int(found.group(1)) if found else 0


@dataclass
class Pass:
    run: Run
    pages: int
    stored: int
    not_found: int


@dataclass
class Mode(Throughput):
    """A mode's best pass (least CPU time, highest peak RSS) and all its passes."""

    name: str
    stored: int
    not_found: int
    passes: list[Pass]


def mirror(size: int, work: Path, sitemaps: bool) -> Path:
    """The mirror of ``size`` articles of a mode, built once."""
    path = work / f"{'backfill' if sitemaps else 'links'}-mirror-{size}"
    marker = path / ".complete"
    if not marker.exists():
        kind = "backfill" if sitemaps else "link-only"
        print(f"building a {kind} mirror of {size} articles in {path} ...", flush=True)
        build(size, path, sitemaps=sitemaps)
        marker.touch()
    return path


def crawl_pass(mode: str, size: int, mirror_dir: Path, work: Path, number: int) -> Pass:
    dataset = emptied(work / f"dataset-{mode}-{size}")
    args = ["crawl", "world"]
    if mode == "backfill":
        args += ["-a", f"since={SINCE}"]
    args += ["-s", f"HERALD_REPLAY={mirror_dir}", "-s", f"HERALD_DATASET_DIR={dataset}"]
    log = work / f"{mode}-{size}-{number}.log"
    run = crawl(mode, scrapy_command(*args), log)
    text = log.read_text(errors="replace")
    return Pass(
        run,
        pages=stat("response_received_count", text),
        stored=stat("herald/articles_stored", text),
        not_found=stat("downloader/response_status_count/404", text),
    )


def best_of(name: str, passes: list[Pass]) -> Mode:
    best = best_pass([p.run for p in passes])
    fastest = min(passes, key=lambda p: p.run.cpu_s)
    return Mode(best, fastest.pages, name, fastest.stored, fastest.not_found, passes)


def bench_size(size: int, work: Path, passes: int) -> dict[str, Any]:
    mirrors = {"links": mirror(size, work, sitemaps=False), "backfill": mirror(size, work, sitemaps=True)}
    runs: dict[str, list[Pass]] = {mode: [] for mode in MODES}
    for number in range(max(1, passes)):
        order = MODES if number % 2 == 0 else MODES[::-1]  # ABBA: neither mode always goes first
        for mode in order:
            print(f"{size}: {mode} crawl, pass {number + 1} ...", flush=True)
            runs[mode].append(crawl_pass(mode, size, mirrors[mode], work, number + 1))
    return {"size": size, **{mode: best_of(mode, runs[mode]) for mode in MODES}}


def report(results: list[dict[str, Any]]) -> list[tuple[str, bool]]:
    columns = ["articles", "mode", "articles stored", "pages fetched", "404s"]
    columns += ["pages/CPU s", "pages/wall s", "peak RSS MB"]
    print("\n| " + " | ".join(columns) + " |")
    print("|---:|---|---:|---:|---:|---:|---:|---:|")
    for r in results:
        for name in MODES:
            m: Mode = r[name]
            print(
                f"| {r['size']} | {name} | {m.stored} | {m.pages} | {m.not_found} | {m.pages_per_cpu_s:.0f} "
                f"| {m.pages_per_wall_s:.0f} | {m.rss_mb:.0f} |"
            )
    print()
    checks: list[tuple[str, bool]] = []
    for r in results:
        size, links, backfill = r["size"], r["links"], r["backfill"]
        stored = [p.stored for p in backfill.passes]
        not_found = [p.not_found for p in backfill.passes]
        speed = backfill.pages_per_cpu_s / links.pages_per_cpu_s if links.pages_per_cpu_s else 0.0
        print(
            f"- {size}: backfill stored {', '.join(map(str, stored))} of {size} articles, "
            f"404s {', '.join(map(str, not_found))} (each pass); link crawl stored {links.stored}"
        )
        print(f"- {size}: backfill/links pages per CPU s: **{speed:.2f}** (target >= {SPEED_TARGET})")
        per_pass = "; ".join(
            f"{m.name} " + ", ".join(f"{p.pages / p.run.cpu_s:.0f}" for p in m.passes)
            for m in (links, backfill)
        )
        print(f"- {size}: pages per CPU s in each pass: {per_pass}")
        complete = all(s == size for s in stored) and not any(not_found)
        checks.append((f"{size}: backfill stores all {size} articles, no 404", complete))
        checks.append((f"{size}: backfill pages/CPU s >= {SPEED_TARGET} x links", speed >= SPEED_TARGET))
    if len(results) > 1:
        small, large = results[0], results[-1]
        growth = large["backfill"].rss_mb / small["backfill"].rss_mb if small["backfill"].rss_mb else 0.0
        print(
            f"- backfill peak RSS {large['size']} vs {small['size']}: **{growth:.2f}** "
            f"(target <= {RSS_GROWTH_TARGET})"
        )
        checks.append(
            (
                f"backfill RSS {large['size']}/{small['size']} <= {RSS_GROWTH_TARGET}",
                growth <= RSS_GROWTH_TARGET,
            )
        )
    return print_checks(checks)


def main() -> None:
    args = started(passes_parser(__doc__ or "", Path("/tmp/herald-backfill-bench"), 2), "benchmarks.backfill")
    results = [bench_size(size, args.work, args.passes) for size in sorted(args.sizes)]
    finish(report(results), args.strict)


if __name__ == "__main__":
    main()
