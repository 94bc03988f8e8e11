"""Benchmark: the herald crawl against Scrapy's floor, lxml's parse bound and a peer extractor.

``python -m benchmarks.run --sizes 2000 20000`` (from the project directory, with
``requirements-bench.txt`` installed). For each size it builds (once) a mirror with
``benchmarks.make_mirror`` and runs, on that mirror:

1. **floor**: ``scrapy runspider benchmarks/floor_spider.py`` in replay mode;
2. **herald**: ``scrapy crawl world`` in replay mode, full project, into a fresh dataset;
3. **parse bound**: ``lxml.html.fromstring`` over every article page, no crawl;
4. **peer**: ``trafilatura.bare_extraction(..., with_metadata=True)`` over a sample of the
   pages, next to ``parse_article`` (the function the spider calls) over the same sample;
   both warmed up on a few pages, then three alternating passes, the fastest of each.

With ``--split`` a third crawl alternates with those two, **machinery**
(``benchmarks/machinery_spider.py``: herald's components and parse with only the floor's page
work), which splits herald's cost over the floor into its components and its extraction.

Crawls run in subprocesses; their CPU time and peak RSS come from ``os.wait4``. Throughput
ratios use CPU time (the machines are shared and wall time is noisy); wall time is shown
too. The floor and herald crawls alternate ``--crawl-passes`` times (three by default): each
counts its pass with the least CPU time, as ``timeit`` does, and its highest peak RSS, so a
machine that speeds up or slows down between two crawls does not decide the ratio. Then it
checks the Parquet layout and size, and how long a crawl takes to load the IDs of a dataset
that already holds ``--known`` articles.
"""

from __future__ import annotations

import argparse
import dataclasses
import gzip
import json
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from benchmarks.known_ids import measure_known_load, write_known_dataset
from benchmarks.make_mirror import build
from herald_spider.dataset.files import ARTICLES_DIR, parquet_files, read_articles

PROJECT = Path(__file__).resolve().parents[1]
#: herald's throughput at least this share of the floor's (the issue's target)
THROUGHPUT_TARGET = 0.75
ITEMS = re.compile(r"'item_scraped_count': (\d+)")
STORED = re.compile(r"'herald/articles_stored': (\d+)")


@dataclass
class Run:
    name: str
    articles: int
    cpu_s: float
    wall_s: float
    peak_rss_mb: float | None = None

    @property
    def per_cpu_s(self) -> float:
        return self.articles / self.cpu_s if self.cpu_s else 0.0

    @property
    def cpu_ms_per_article(self) -> float:
        return 1000 * self.cpu_s / self.articles if self.articles else float("nan")


# Linux carries a process's peak RSS across fork and exec, so a crawl started straight from
# this (large) process would report at least this process's size: a small shim starts it.
_SHIM = """
import json, os, subprocess, sys
process = subprocess.Popen(sys.argv[2:], stdout=sys.stdout, stderr=subprocess.STDOUT)
_, status, usage = os.wait4(process.pid, 0)
with open(sys.argv[1], "w") as out:
    json.dump({"status": status, "cpu": usage.ru_utime + usage.ru_stime, "maxrss_kib": usage.ru_maxrss}, out)
"""


@dataclass
class Throughput:
    """A crawl mode's best pass (least CPU time, highest peak RSS) and the pages it fetched."""

    best: Run
    pages: int

    @property
    def pages_per_cpu_s(self) -> float:
        return self.pages / self.best.cpu_s if self.best.cpu_s else 0.0

    @property
    def pages_per_wall_s(self) -> float:
        return self.pages / self.best.wall_s if self.best.wall_s else 0.0

    @property
    def rss_mb(self) -> float:
        return self.best.peak_rss_mb or 0.0


def crawl(name: str, command: list[str], log: Path) -> Run:
    """Run a crawl in a subprocess; its CPU time and peak RSS as the kernel counted them."""
    started = time.perf_counter()
    usage_file = log.with_suffix(".usage.json")
    with log.open("wb") as out:
        subprocess.run([sys.executable, "-c", _SHIM, str(usage_file), *command], cwd=PROJECT, stdout=out)
    wall = time.perf_counter() - started
    usage = json.loads(usage_file.read_text())
    text = log.read_text(errors="replace")
    if usage["status"] != 0 or "Traceback" in text:
        raise SystemExit(f"{name} failed (status {usage['status']}); see {log}")
    found = ITEMS.search(text)
    return Run(name, int(found.group(1)) if found else 0, usage["cpu"], wall, usage["maxrss_kib"] / 1024)


def scrapy_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "scrapy", *args, "-s", "LOG_LEVEL=INFO", "-s", "LOGSTATS_INTERVAL=0"]


def article_pages(mirror: Path) -> list[tuple[str, bytes]]:
    """(URL, body) of every article page of a mirror (a 26-character ID in the path)."""
    pages = []
    for path in sorted(mirror.rglob("index.html")):
        relative = path.parent.relative_to(mirror).as_posix()
        if re.search(r"/[A-Z0-9]{26}$", relative):
            pages.append((f"https://{relative}/", path.read_bytes()))
    return pages


def parse_bound(pages: list[tuple[str, bytes]]) -> Run:
    import lxml.html

    started, cpu = time.perf_counter(), time.process_time()
    for _, body in pages:
        lxml.html.fromstring(body)
    return Run("parse bound", len(pages), time.process_time() - cpu, time.perf_counter() - started)


def extraction_runs(pages: list[tuple[str, bytes]], peer: bool, repeats: int = 3) -> tuple[Run, Run | None]:
    """Per-page cost of ``parse_article`` and (with ``peer``) of trafilatura's
    ``bare_extraction`` over the same pages, each from the bytes (the parse included). Both
    are warmed up on a few pages first (imports, compiled queries and caches are paid once,
    not per page); then their passes alternate, so a machine that speeds up or slows down
    during the run affects both alike, and each one's fastest pass counts, as ``timeit``
    reports."""
    from scrapy.http import HtmlResponse

    from herald_spider.pages.extract import parse_article

    def herald(url: str, body: bytes) -> None:
        parse_article(HtmlResponse(url=url, body=body, encoding="utf-8"))

    runs = {"herald parse_article": herald}
    if peer:
        import trafilatura

        def trafilatura_page(url: str, body: bytes) -> None:
            trafilatura.bare_extraction(body.decode("utf-8"), url=url, with_metadata=True)

        runs["peer trafilatura"] = trafilatura_page
    best = {name: (float("inf"), float("inf")) for name in runs}
    for extract in runs.values():
        for url, body in pages[:5]:
            extract(url, body)
    for _ in range(repeats):
        for name, extract in runs.items():
            started, cpu = time.perf_counter(), time.process_time()
            for url, body in pages:
                extract(url, body)
            elapsed = (time.process_time() - cpu, time.perf_counter() - started)
            best[name] = (min(best[name][0], elapsed[0]), min(best[name][1], elapsed[1]))
    measured = [Run(name, len(pages), *best[name]) for name in runs]
    return measured[0], measured[1] if peer else None


def parquet_facts(dataset: Path) -> dict[str, Any]:
    files = parquet_files(dataset / ARTICLES_DIR)
    groups = [pq.ParquetFile(p).metadata for p in files]
    rows_per_group = [m.row_group(i).num_rows for m in groups for i in range(m.num_row_groups)]
    table = read_articles(dataset)
    lines = "".join(json.dumps(row, default=str, ensure_ascii=False) + "\n" for row in table.to_pylist())
    return {
        "rows": table.num_rows,
        "files": len(files),
        "row_groups": len(rows_per_group),
        "min_rows_per_group": min(rows_per_group, default=0),
        "parquet_bytes": sum(p.stat().st_size for p in files),
        "jsonl_gz_bytes": len(gzip.compress(lines.encode("utf-8"))),
    }


def sample(pages: list[tuple[str, bytes]], size: int) -> list[tuple[str, bytes]]:
    step = max(1, len(pages) // size)
    return pages[::step][:size]


def emptied(dataset: Path) -> Path:
    """``dataset`` removed, so that a crawl into it starts from nothing."""
    if dataset.exists():
        shutil.rmtree(dataset)
    return dataset


def bench_size(
    size: int, work: Path, peer_sample: int, peer: bool, passes: int = 3, split: bool = False
) -> dict[str, Any]:
    mirror = work / f"mirror-{size}"
    marker = mirror / ".complete"
    if not marker.exists():
        print(f"building a mirror of {size} articles in {mirror} ...", flush=True)
        build(size, mirror)
        marker.touch()
    replay = f"HERALD_REPLAY={mirror}"
    dataset = work / f"dataset-{size}"
    floors, machineries, heralds = [], [], []
    for number in range(max(1, passes)):
        print(
            f"{size}: floor, herald{' and machinery' if split else ''} crawls, pass {number + 1} ...",
            flush=True,
        )
        floors.append(
            crawl(
                "floor",
                scrapy_command("runspider", "benchmarks/floor_spider.py", "-s", replay),
                work / f"floor-{size}.log",
            )
        )
        if split:
            scratch = emptied(work / f"machinery-dataset-{size}")
            spider = "benchmarks/machinery_spider.py"
            machineries.append(
                crawl(
                    "machinery",
                    scrapy_command("runspider", spider, "-s", replay, "-s", f"HERALD_DATASET_DIR={scratch}"),
                    work / f"machinery-{size}.log",
                )
            )
        emptied(dataset)
        heralds.append(
            crawl(
                "herald",
                scrapy_command("crawl", "world", "-s", replay, "-s", f"HERALD_DATASET_DIR={dataset}"),
                work / f"herald-{size}.log",
            )
        )
    floor, herald = best_pass(floors), best_pass(heralds)
    stored = STORED.search((work / f"herald-{size}.log").read_text(errors="replace"))
    pages = article_pages(mirror)
    print(f"{size}: lxml parse bound over {len(pages)} pages ...", flush=True)
    bound = parse_bound(pages)
    some = sample(pages, peer_sample)
    print(
        f"{size}: extraction{' and trafilatura' if peer else ''} over {len(some)} pages, 3 passes ...",
        flush=True,
    )
    extraction, peer_run = extraction_runs(some, peer)
    return {
        "size": size,
        "floor": floor,
        "herald": herald,
        "machinery": best_pass(machineries) if machineries else None,
        "passes": (floors, machineries, heralds),
        "stored": int(stored.group(1)) if stored else 0,
        "bound": bound,
        "extraction": extraction,
        "peer": peer_run,
        "parquet": parquet_facts(dataset),
    }


def best_pass(runs: list[Run]) -> Run:
    """The pass with the least CPU time, with the highest peak RSS of all passes."""
    fastest = min(runs, key=lambda run: run.cpu_s)
    peaks = [run.peak_rss_mb for run in runs if run.peak_rss_mb is not None]
    return dataclasses.replace(fastest, peak_rss_mb=max(peaks) if peaks else None)


def row(run: Run) -> str:
    rss = f"{run.peak_rss_mb:.0f}" if run.peak_rss_mb is not None else "-"
    return (
        f"| {run.name} | {run.articles} | {run.per_cpu_s:.0f} | {run.articles / run.wall_s:.0f} "
        f"| {run.cpu_ms_per_article:.2f} | {rss} |"
    )


def report(results: list[dict[str, Any]], known: dict[str, float] | None) -> list[tuple[str, bool]]:
    checks: list[tuple[str, bool]] = []
    for r in results:
        floor, herald, bound = r["floor"], r["herald"], r["bound"]
        extraction, peer, facts = r["extraction"], r["peer"], r["parquet"]
        print(f"\n### {r['size']} articles\n")
        print("| run | articles | articles/CPU s | articles/wall s | CPU ms/article | peak RSS MB |")
        print("|---|---:|---:|---:|---:|---:|")
        machinery = r["machinery"]
        for run in (floor, machinery, herald, bound, extraction, peer):
            if run is not None:
                print(row(run))
        speed = herald.per_cpu_s / floor.per_cpu_s
        peer_ratio = peer.cpu_ms_per_article / extraction.cpu_ms_per_article if peer else float("nan")
        rss_ratio = herald.peak_rss_mb / floor.peak_rss_mb
        print(f"\n- herald/floor throughput: **{speed:.2f}** (target >= {THROUGHPUT_TARGET})")
        floors, machineries, heralds = r["passes"]
        passes = {"floor": floors, "machinery": machineries, "herald": heralds}
        per_pass = (
            f"{name} " + ", ".join(f"{run.cpu_ms_per_article:.2f}" for run in runs)
            for name, runs in passes.items()
            if runs
        )
        print("- CPU ms per article in each pass, in the order run: " + "; ".join(per_pass))
        if machinery is not None:
            extra = herald.cpu_ms_per_article - floor.cpu_ms_per_article
            components = machinery.cpu_ms_per_article - floor.cpu_ms_per_article
            print(
                f"- herald's CPU over the floor: {extra:.2f} ms per article: the project's components "
                f"and its parse (machinery less floor) {components:.2f}, extraction (herald less machinery) "
                f"{extra - components:.2f}; the target allows "
                f"{floor.cpu_ms_per_article / THROUGHPUT_TARGET - floor.cpu_ms_per_article:.2f}"
            )
            print(
                f"- machinery/floor throughput: {machinery.per_cpu_s / floor.per_cpu_s:.2f} "
                "(what herald/floor would be if its extraction cost nothing)"
            )
        print(f"- herald/parse bound throughput: {herald.per_cpu_s / bound.per_cpu_s:.3f}")
        print(
            f"- peer/herald extraction cost per page: **{peer_ratio:.1f}** (target >= 10; "
            "each the fastest of 3 alternating passes after a warm-up)"
        )
        print(f"- herald/floor peak RSS: **{rss_ratio:.2f}** (target <= 1.3)")
        print(
            f"- Parquet: {facts['rows']} rows ({r['stored']} stored) in {facts['files']} files, "
            f"{facts['row_groups']} row groups (smallest {facts['min_rows_per_group']} rows); "
            f"{facts['parquet_bytes'] / 1e6:.1f} MB vs {facts['jsonl_gz_bytes'] / 1e6:.1f} MB "
            f"as gzip'd JSON lines ({facts['parquet_bytes'] / facts['jsonl_gz_bytes']:.2f}x)"
        )
        checks.append(
            (f"{r['size']}: herald/floor throughput >= {THROUGHPUT_TARGET}", speed >= THROUGHPUT_TARGET)
        )
        if peer is not None:
            checks.append((f"{r['size']}: extraction <= 1/10 of trafilatura", peer_ratio >= 10))
        checks.append((f"{r['size']}: herald RSS <= 1.3 x floor", rss_ratio <= 1.3))
        checks.append((f"{r['size']}: every article stored", facts["rows"] == floor.articles))
        if r is results[-1]:
            smaller = facts["parquet_bytes"] < facts["jsonl_gz_bytes"]
            checks.append((f"{r['size']}: Parquet smaller than gzip'd JSON", smaller))
    if len(results) > 1:
        small, large = results[0], results[-1]
        growth = large["herald"].peak_rss_mb / small["herald"].peak_rss_mb
        print(f"\n- herald peak RSS {large['size']} vs {small['size']}: **{growth:.2f}** (target <= 1.15)")
        checks.append((f"herald RSS {large['size']}/{small['size']} <= 1.15", growth <= 1.15))
    if known:
        print(
            f"- loading {known['articles']:.0f} known IDs: **{known['seconds']:.2f} s**, "
            f"**{known['extra_mb']:.0f} MB** extra (targets <= 2 s, <= 150 MB)"
        )
        checks.append(("known IDs load <= 2 s", known["seconds"] <= 2))
        checks.append(("known IDs load <= 150 MB", known["extra_mb"] <= 150))
    return print_checks(checks)


def passes_parser(doc: str, work: Path, passes: int) -> argparse.ArgumentParser:
    """The options of a benchmark that alternates crawls of two modes: sizes, work folder, passes
    and ``--strict``."""
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[2000, 20000])
    parser.add_argument("--work", type=Path, default=work)
    parser.add_argument("--passes", type=int, default=passes, help="alternating crawls of each mode (ABBA)")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a check fails")
    return parser


def started(parser: argparse.ArgumentParser, module: str) -> argparse.Namespace:
    """The parsed options, the work folder made, and the command line printed."""
    args = parser.parse_args()
    args.work = args.work.resolve()
    args.work.mkdir(parents=True, exist_ok=True)
    print(f"command: python -m {module} {' '.join(sys.argv[1:])}  (cpus: {os.cpu_count()})", flush=True)
    return args


def finish(checks: list[tuple[str, bool]], strict: bool) -> None:
    if strict and not all(ok for _, ok in checks):
        raise SystemExit(1)


def print_checks(checks: list[tuple[str, bool]]) -> list[tuple[str, bool]]:
    """The targets and whether each holds, as a markdown table."""
    print("\n| target | holds |\n|---|---|")
    for name, ok in checks:
        print(f"| {name} | {'yes' if ok else '**no**'} |")
    return checks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[2000, 20000])
    parser.add_argument("--work", type=Path, default=Path("/tmp/herald-bench"))
    parser.add_argument("--peer-sample", type=int, default=400, help="pages for the extraction comparison")
    parser.add_argument("--known", type=int, default=1_000_000, help="articles already stored (0: skip)")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target does not hold")
    parser.add_argument("--no-peer", action="store_true", help="skip trafilatura (not installed)")
    parser.add_argument(
        "--crawl-passes", type=int, default=3, help="alternating floor/herald crawls per size"
    )
    parser.add_argument(
        "--split",
        action="store_true",
        help="also crawl herald's machinery without its extraction (benchmarks/machinery_spider.py)",
    )
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    print(f"command: python -m benchmarks.run {' '.join(sys.argv[1:])}  (cpus: {os.cpu_count()})", flush=True)
    results = [
        bench_size(size, args.work, args.peer_sample, not args.no_peer, args.crawl_passes, args.split)
        for size in args.sizes
    ]
    known = None
    if args.known:
        dataset = args.work / f"known-{args.known}"
        if not (dataset / ".complete").exists():
            print(f"writing a dataset of {args.known} known articles in {dataset} ...", flush=True)
            write_known_dataset(dataset, args.known)
            (dataset / ".complete").touch()
        print(f"loading {args.known} known IDs in a fresh process ...", flush=True)
        known = measure_known_load(dataset)
    checks = report(results, known)
    if args.strict and not all(ok for _, ok in checks):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
