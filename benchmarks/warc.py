"""Benchmark: replay from WARC against replay from a folder, the cost of recording, the index load.

``python -m benchmarks.warc --sizes 2000 20000`` (from the project directory). It measures the
web-archive issue's three targets:

1. **Replay from WARC vs from the folder.** For each size it builds (once, cached under
   ``--work``) a link-only mirror of N World articles (``benchmarks.make_mirror.build``) and
   converts it into a folder of WARC files with :class:`~herald_spider.archive.writer.WarcRecorder`
   (:func:`mirror_to_warc`: every file of the mirror a 200 response at its URL, the query that
   wget put in the file name restored, ``text/plain`` for robots.txt and ``text/html`` for the
   rest; files rotate at the default 1 GB). Then ``scrapy crawl world`` replays each, every
   crawl into a fresh dataset: first one **cold** WARC crawl, which builds the replay index
   (cached in ``<dataset>/.replay-index/``), then ``--passes`` alternating (ABBA) crawls of the
   **folder** and of the **WARC** folder, each WARC crawl's dataset given a copy of the cold
   crawl's index cache, so it loads the index instead of building it (**warm**). It reports
   pages per CPU second of each (its pass with the least CPU time, its highest peak RSS, as
   ``benchmarks.run`` does), the WARC/folder ratio (target >= 0.8, warm), the cold crawl, and
   the time :meth:`ArchiveIndex.open` takes to build the index from the archive's CDXJ files in a
   fresh process. Every crawl must store all N articles, with the same 404s (the link-only mirror
   has no feeds: the news sitemap and the RSS feed answer 404 to every crawl).
2. **Recording cost**, at the smallest size only: ``scrapy crawl world`` over HTTPS through
   ``tests.faulty_site.FaultySite`` (a local stand-in for the site, reached as a proxy) serving
   the same mirror, with and without ``-s HERALD_WARC_DIR=<fresh folder>`` (ABBA, ``--passes``;
   ``DOWNLOAD_DELAY=0``, AutoThrottle off, as ``tests/test_warc.py`` records). Target: CPU
   time with recording <= 1.15 x without. It reports the archive's size too, and checks that
   every response was recorded.
3. **Index load**: an :class:`~herald_spider.archive.index.ArchiveIndex` of ``--index-entries``
   (1 000 000) synthetic captures (``from_columns``) saved once; then a fresh process loads it
   and looks up a few URLs. Targets: < 2 s and < 200 MB more memory (the process's peak RSS,
   ``VmHWM``, less its RSS before the load; the arrays are C memory, which tracemalloc misses).

Crawls run in subprocesses (``benchmarks.run.crawl``: CPU time and peak RSS from ``os.wait4``);
throughput ratios use CPU time. It prints markdown tables for a README and the checks;
``--strict`` exits 1 when a check fails.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from benchmarks.backfill import stat
from benchmarks.make_mirror import build
from benchmarks.run import (
    PROJECT,
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
from herald_spider.archive.index import ArchiveIndex, key_hash
from herald_spider.archive.writer import WarcRecorder
from herald_spider.replay import INDEX_DIR

#: WARC replay's pages per CPU second over the folder's, at least
REPLAY_TARGET = 0.8
#: a crawl's CPU time with recording over without, at most
RECORDING_TARGET = 1.15
#: loading the index of a million captures: seconds and MB, below
LOAD_SECONDS_TARGET = 2.0
LOAD_MB_TARGET = 200.0
MODES = ("folder", "warc")
#: the capture time given to every converted file
CAPTURED = datetime(2025, 6, 19, 0, 40, tzinfo=UTC)
#: settings of a crawl over HTTP(S), as tests/test_warc.py records
HTTP = {"DOWNLOAD_DELAY": 0, "AUTOTHROTTLE_ENABLED": False, "RETRY_TIMES": 1}
DOWNLOAD_MAXSIZE = 32 * 1024 * 1024  # the project's setting: part of the index cache's key


# --- the archive ---------------------------------------------------------------------------------


def mirror_files(mirror: Path) -> Iterator[tuple[str, Path]]:
    """(URL, file) of every file of a wget ``-x`` mirror, the inverse of
    :func:`herald_spider.replay.mirror_path` (hidden files such as ``.complete`` left out)."""
    for path in sorted(mirror.rglob("*")):
        relative = path.relative_to(mirror).parts
        if not path.is_file() or any(part.startswith(".") for part in relative) or len(relative) < 2:
            continue
        host, *folders, name = relative
        name, mark, query = name.partition("?")
        if name == "index.html":
            url_path = "/" + "".join(f"{folder}/" for folder in folders)
        else:
            url_path = "/" + "/".join([*folders, name])
        url = f"https://{host}{quote(url_path)}"
        if mark:
            url += "?" + quote(query, safe="=&;:/,+@!$'()*?~")
        yield url, path


def content_type(path: Path) -> str:
    return "text/plain" if path.name == "robots.txt" else "text/html; charset=utf-8"


def mirror_to_warc(mirror: Path, out: Path, crawl_id: str = "mirror", max_bytes: int = 1_000_000_000) -> int:
    """Every file of ``mirror`` as a 200 response at its URL in WARC files under ``out``; how many."""
    recorder = WarcRecorder(out, crawl_id, "herald_spider benchmarks.warc", max_bytes)
    count = 0
    try:
        for url, path in mirror_files(mirror):
            recorder.record(
                url=url,
                method="GET",
                request_headers=[("User-Agent", "herald-benchmark")],
                request_body=b"",
                status=200,
                reason="OK",
                protocol="HTTP/1.1",
                response_headers=[("Content-Type", content_type(path))],
                body=path.read_bytes(),
                date=CAPTURED,
            )
            count += 1
    finally:
        recorder.close()
    return count


def mirror(size: int, work: Path) -> Path:
    """The link-only mirror of ``size`` articles, built once."""
    path = work / f"mirror-{size}"
    if not (path / ".complete").exists():
        print(f"building a link-only mirror of {size} articles in {path} ...", flush=True)
        build(size, path)
        (path / ".complete").touch()
    return path


def archive(size: int, work: Path, mirror_dir: Path) -> tuple[Path, dict[str, float]]:
    """The mirror as a folder of WARC files, converted once; with the conversion's facts."""
    path = work / f"warc-{size}"
    facts = work / f"warc-{size}.json"
    if not facts.exists():
        print(f"converting {mirror_dir} to WARC in {path} ...", flush=True)
        emptied(path)
        started, cpu = time.perf_counter(), time.process_time()
        count = mirror_to_warc(mirror_dir, path, crawl_id=f"mirror-{size}")
        seconds, cpu_s = time.perf_counter() - started, time.process_time() - cpu
        facts.write_text(json.dumps({"captures": count, "seconds": seconds, "cpu_s": cpu_s}))
    result: dict[str, float] = json.loads(facts.read_text())
    result["bytes"] = sum(p.stat().st_size for p in path.glob("*.warc.gz"))
    result["files"] = len(list(path.glob("*.warc.gz")))
    return path, result


# --- crawls --------------------------------------------------------------------------------------


@dataclass
class Pass:
    run: Run
    pages: int
    stored: int
    not_found: int
    recorded: int = 0


@dataclass
class Mode(Throughput):
    """A mode's best pass (least CPU time, highest peak RSS) and all its passes."""

    name: str
    passes: list[Pass]


def best_of(name: str, passes: list[Pass]) -> Mode:
    fastest = min(passes, key=lambda p: p.run.cpu_s)
    return Mode(best_pass([p.run for p in passes]), fastest.pages, name, passes)


def measured(name: str, command: list[str], log: Path) -> Pass:
    run = crawl(name, command, log)
    text = log.read_text(errors="replace")
    return Pass(
        run,
        pages=stat("response_received_count", text),
        stored=stat("herald/articles_stored", text),
        not_found=stat("downloader/response_status_count/404", text),
        recorded=stat("herald/warc/recorded", text),
    )


def replay_pass(name: str, source: Path, dataset: Path, log: Path, index_cache: Path | None = None) -> Pass:
    emptied(dataset)
    if index_cache is not None:
        shutil.copytree(index_cache, dataset / INDEX_DIR)
    args = ["crawl", "world", "-s", f"HERALD_REPLAY={source}", "-s", f"HERALD_DATASET_DIR={dataset}"]
    return measured(name, scrapy_command(*args), log)


_BUILD = """
import json, sys, time
from pathlib import Path
from herald_spider.archive.index import ArchiveIndex
started = time.perf_counter()
index, problems = ArchiveIndex.open(Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3]))
seconds = time.perf_counter() - started
print(json.dumps({"seconds": seconds, "captures": len(index), "problems": len(problems)}))
"""


def measure_index_build(source: Path, cache: Path) -> dict[str, float]:
    """Building the replay index of ``source`` from nothing, in a fresh process."""
    emptied(cache)
    done = subprocess.run(
        [sys.executable, "-c", _BUILD, str(source), str(cache), str(DOWNLOAD_MAXSIZE)],
        capture_output=True,
        text=True,
        check=True,
        cwd=PROJECT,
    )
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def bench_replay(size: int, work: Path, passes: int) -> dict[str, Any]:
    folder = mirror(size, work)
    warc, conversion = archive(size, work, folder)
    print(f"{size}: cold WARC crawl (builds the index) ...", flush=True)
    cold_dataset = work / f"dataset-warc-cold-{size}"
    cold = replay_pass("warc cold", warc, cold_dataset, work / f"warc-cold-{size}.log")
    index_cache = work / f"index-cache-{size}"
    emptied(index_cache)
    shutil.copytree(cold_dataset / INDEX_DIR, index_cache)
    runs: dict[str, list[Pass]] = {mode: [] for mode in MODES}
    cache_files: list[int] = []
    for number in range(max(1, passes)):
        order = MODES if number % 2 == 0 else MODES[::-1]  # ABBA
        for mode in order:
            print(f"{size}: {mode} replay, pass {number + 1} ...", flush=True)
            dataset = work / f"dataset-{mode}-{size}"
            log = work / f"{mode}-{size}-{number + 1}.log"
            if mode == "folder":
                runs[mode].append(replay_pass(mode, folder, dataset, log))
            else:
                runs[mode].append(replay_pass(mode, warc, dataset, log, index_cache))
                # a warm crawl that had to rebuild the index would leave a second cache file
                cache_files.append(len(list((dataset / INDEX_DIR).glob("*.idx"))))
    build_time = measure_index_build(warc, work / f"index-build-{size}")
    return {
        "size": size,
        "conversion": conversion,
        "cold": cold,
        "index_build": build_time,
        "cache_files": cache_files,
        **{mode: best_of(mode, runs[mode]) for mode in MODES},
    }


@contextmanager
def proxied(proxy: str) -> Iterator[None]:
    """The environment's proxy variables pointing at ``proxy`` (crawls started meanwhile inherit it)."""
    names = {"no_proxy", "http_proxy", "https_proxy"}
    saved = {k: v for k, v in os.environ.items() if k.lower() in names}
    for name in saved:
        del os.environ[name]
    os.environ["https_proxy"] = os.environ["http_proxy"] = proxy
    try:
        yield
    finally:
        for name in ("https_proxy", "http_proxy"):
            os.environ.pop(name, None)
        os.environ.update(saved)


def bench_recording(size: int, work: Path, passes: int) -> dict[str, Any]:
    from tests.faulty_site import FaultySite, self_signed_certificate

    folder = mirror(size, work)
    certificates = work / "certificate"
    certificates.mkdir(parents=True, exist_ok=True)
    modes = ("plain", "recording")
    runs: dict[str, list[Pass]] = {mode: [] for mode in modes}
    sizes: list[int] = []
    lifetime = 600 + size  # seconds; the site stops by itself after that
    site = FaultySite(folder, self_signed_certificate(certificates), lifetime=lifetime, max_requests=10**9)
    with site, proxied(site.proxy):
        for number in range(max(1, passes)):
            order = modes if number % 2 == 0 else modes[::-1]  # ABBA
            for mode in order:
                print(f"{size}: crawl over HTTPS, {mode}, pass {number + 1} ...", flush=True)
                dataset = emptied(work / f"dataset-http-{mode}-{size}")
                settings = {**HTTP, "HERALD_DATASET_DIR": dataset}
                recorded = emptied(work / f"recorded-{size}")
                if mode == "recording":
                    settings["HERALD_WARC_DIR"] = recorded
                args = ["crawl", "world"] + [a for k, v in settings.items() for a in ("-s", f"{k}={v}")]
                log = work / f"http-{mode}-{size}-{number + 1}.log"
                runs[mode].append(measured(mode, scrapy_command(*args), log))
                if mode == "recording":
                    sizes.append(sum(p.stat().st_size for p in recorded.glob("*.warc.gz")))
    return {"size": size, "archive_bytes": sizes, **{mode: best_of(mode, runs[mode]) for mode in modes}}


# --- the index load ------------------------------------------------------------------------------


def index_url(number: int) -> str:
    return f"https://www.nzherald.co.nz/world/story-{number}/"


def write_index(path: Path, entries: int) -> None:
    """An index of ``entries`` synthetic captures over 20 files, saved to ``path``."""
    rng = random.Random(7)
    files = [Path(f"/archive/herald-synthetic-{n:05d}.warc.gz") for n in range(20)]
    start = int(CAPTURED.timestamp())
    per_file = -(-entries // len(files))
    index = ArchiveIndex.from_columns(
        (key_hash(index_url(n)) for n in range(entries)),
        (start - n * 60 for n in range(entries)),
        (n // per_file for n in range(entries)),
        (rng.randrange(1_000_000_000) for _ in range(entries)),
        (rng.randrange(20_000, 200_000) for _ in range(entries)),
        files,
    )
    index.save(path)


_LOAD = """
import json, resource, sys, time
from pathlib import Path
from herald_spider.archive.index import ArchiveIndex

def status_mb(field):
    # VmHWM is this process's own peak (ru_maxrss would include the parent's, Linux keeps it
    # across fork and exec): reported both.
    for line in open("/proc/self/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise KeyError(field)

urls = json.loads(sys.argv[2])
before, maxrss_before = status_mb("VmRSS"), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
started = time.perf_counter()
index, _ = ArchiveIndex.load(Path(sys.argv[1]))
seconds = time.perf_counter() - started
looked = time.perf_counter()
found = [index.lookup(url) is not None for url in urls]
lookup_us = (time.perf_counter() - looked) / len(urls) * 1e6
print(json.dumps({
    "entries": len(index), "seconds": seconds, "extra_mb": status_mb("VmHWM") - before,
    "held_mb": status_mb("VmRSS") - before,
    "maxrss_extra_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 - maxrss_before,
    "found": found, "lookup_us": lookup_us,
}))
"""


def bench_index_load(entries: int, work: Path) -> dict[str, Any]:
    path = work / f"index-{entries}.idx"
    if not path.exists():
        print(f"writing an index of {entries} synthetic captures to {path} ...", flush=True)
        write_index(path, entries)
    present = [index_url(n) for n in (0, 1, entries // 2, entries - 1)]
    urls = [*present, index_url(entries + 1)]
    done = subprocess.run(
        [sys.executable, "-c", _LOAD, str(path), json.dumps(urls)],
        capture_output=True,
        text=True,
        check=True,
        cwd=PROJECT,
    )
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    result["file_mb"] = path.stat().st_size / 1e6
    result["lookups_right"] = result["found"] == [True] * len(present) + [False]
    return result


# --- the report ----------------------------------------------------------------------------------


def report(
    replays: list[dict[str, Any]], recording: dict[str, Any], load: dict[str, Any]
) -> list[tuple[str, bool]]:
    checks: list[tuple[str, bool]] = []
    print("\n### Replay: WARC vs folder\n")
    columns = ["articles", "replay from", "articles stored", "pages fetched", "pages/CPU s", "pages/wall s"]
    print("| " + " | ".join([*columns, "peak RSS MB"]) + " |")
    print("|---:|---|---:|---:|---:|---:|---:|")
    for r in replays:
        cold: Pass = r["cold"]
        rows = [("folder", r["folder"]), ("WARC (warm index)", r["warc"])]
        for label, m in rows:
            stored = min(p.stored for p in m.passes)
            print(
                f"| {r['size']} | {label} | {stored} | {m.pages} | {m.pages_per_cpu_s:.0f} "
                f"| {m.pages_per_wall_s:.0f} | {m.rss_mb:.0f} |"
            )
        run = cold.run
        print(
            f"| {r['size']} | WARC (cold: builds the index) | {cold.stored} | {cold.pages} "
            f"| {cold.pages / run.cpu_s:.0f} | {cold.pages / run.wall_s:.0f} | {run.peak_rss_mb or 0:.0f} |"
        )
    print()
    for r in replays:
        size, folder, warc, cold = r["size"], r["folder"], r["warc"], r["cold"]
        conversion, built = r["conversion"], r["index_build"]
        ratio = warc.pages_per_cpu_s / folder.pages_per_cpu_s if folder.pages_per_cpu_s else 0.0
        print(f"- {size}: WARC/folder pages per CPU s: **{ratio:.2f}** (target >= {REPLAY_TARGET})")
        per_pass = "; ".join(
            f"{m.name} " + ", ".join(f"{p.pages / p.run.cpu_s:.0f}" for p in m.passes) for m in (folder, warc)
        )
        print(
            f"- {size}: pages per CPU s in each pass: {per_pass}; cold WARC {cold.pages / cold.run.cpu_s:.0f}"
        )
        print(
            f"- {size}: the index of {built['captures']:.0f} captures built in **{built['seconds']:.2f} s** "
            f"(a fresh process, from the CDXJ files; {built['problems']:.0f} problems); the cold crawl took "
            f"{cold.run.cpu_s - warc.best.cpu_s:+.2f} CPU s over the best warm one"
        )
        print(
            f"- {size}: the archive: {conversion['captures']:.0f} captures in "
            f"{conversion['files']:.0f} file(s), "
            f"{conversion['bytes'] / 1e6:.1f} MB, converted from the mirror in {conversion['seconds']:.1f} s"
        )
        every = [cold, *folder.passes, *warc.passes]
        # the link-only mirror has no feeds: the news sitemap and the RSS feed answer 404 alike
        complete = all(p.stored == size for p in every) and len({p.not_found for p in every}) == 1
        print(
            f"- {size}: articles stored in each crawl (cold, folder..., WARC...): "
            + ", ".join(str(p.stored) for p in every)
            + "; 404s: "
            + ", ".join(str(p.not_found) for p in every)
            + " (the feeds the link-only mirror lacks)"
        )
        checks.append((f"{size}: every replay stores all {size} articles, same 404s", complete))
        checks.append(
            (f"{size}: WARC replay pages/CPU s >= {REPLAY_TARGET} x folder", ratio >= REPLAY_TARGET)
        )
        checks.append((f"{size}: warm WARC crawls load the cached index", set(r["cache_files"]) == {1}))

    size, plain, recorded = recording["size"], recording["plain"], recording["recording"]
    cost = recorded.best.cpu_s / plain.best.cpu_s if plain.best.cpu_s else float("inf")
    archive_mb = max(recording["archive_bytes"], default=0) / 1e6
    print(f"\n### Recording ({size} articles, over HTTPS through a local proxy)\n")
    print("| crawl | articles stored | pages fetched | CPU s | pages/CPU s | pages/wall s | peak RSS MB |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for label, m in (("without recording", plain), ("with HERALD_WARC_DIR", recorded)):
        print(
            f"| {label} | {min(p.stored for p in m.passes)} | {m.pages} | {m.best.cpu_s:.2f} "
            f"| {m.pages_per_cpu_s:.0f} | {m.pages_per_wall_s:.0f} | {m.rss_mb:.0f} |"
        )
    print(f"\n- CPU time with/without recording: **{cost:.3f}** (target <= {RECORDING_TARGET})")
    per_pass = "; ".join(
        f"{label} " + ", ".join(f"{p.run.cpu_s:.2f}" for p in m.passes)
        for label, m in (("without", plain), ("with", recorded))
    )
    print(f"- CPU s in each pass: {per_pass}")
    print(
        f"- the archive: {archive_mb:.1f} MB for {recorded.pages} responses "
        f"({1000 * archive_mb / max(1, recorded.pages):.1f} kB each); responses recorded in each pass: "
        + ", ".join(str(p.recorded) for p in recorded.passes)
    )
    everything = all(p.recorded == p.pages and p.pages for p in recorded.passes)
    http = [*plain.passes, *recorded.passes]
    complete = all(p.stored == size for p in http) and len({p.not_found for p in http}) == 1
    print("- 404s in each pass (the feeds the mirror lacks): " + ", ".join(str(p.not_found) for p in http))
    checks.append((f"{size}: every HTTPS crawl stores all {size} articles, same 404s", complete))
    checks.append((f"{size}: every response recorded", everything))
    checks.append((f"{size}: recording CPU <= {RECORDING_TARGET} x without", cost <= RECORDING_TARGET))

    print(f"\n### Index load ({load['entries']} captures)\n")
    print("| captures | file MB | load s | extra peak RSS MB | held RSS MB | lookup µs |")
    print("|---:|---:|---:|---:|---:|---:|")
    print(
        f"| {load['entries']} | {load['file_mb']:.1f} | {load['seconds']:.3f} | {load['extra_mb']:.1f} "
        f"| {load['held_mb']:.1f} | {load['lookup_us']:.1f} |"
    )
    print(
        f"\n- load: **{load['seconds']:.3f} s**, **{load['extra_mb']:.1f} MB** over the RSS before "
        f"(ru_maxrss: {load['maxrss_extra_mb']:.1f} MB) (targets < {LOAD_SECONDS_TARGET:.0f} s, "
        f"< {LOAD_MB_TARGET:.0f} MB); lookups found: {load['found']}"
    )
    checks.append((f"index of {load['entries']} loads in < {LOAD_SECONDS_TARGET:.0f} s", load["seconds"] < 2))
    checks.append(
        (f"index of {load['entries']} loads in < {LOAD_MB_TARGET:.0f} MB", load["extra_mb"] < LOAD_MB_TARGET)
    )
    checks.append(("index lookups find the URLs indexed, not others", load["lookups_right"]))
    return print_checks(checks)


def main() -> None:
    parser = passes_parser(__doc__ or "", Path("/tmp/herald-warc-bench"), 3)
    parser.add_argument("--index-entries", type=int, default=1_000_000, help="captures in the index loaded")
    args = started(parser, "benchmarks.warc")
    sizes = sorted(args.sizes)
    replays = [bench_replay(size, args.work, args.passes) for size in sizes]
    recording = bench_recording(sizes[0], args.work, args.passes)
    load = bench_index_load(args.index_entries, args.work)
    finish(report(replays, recording, load), args.strict)


if __name__ == "__main__":
    main()
