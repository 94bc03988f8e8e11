"""Benchmark: the dataset tools on a large table, and a crawl into big tables against empty ones.

``python -m benchmarks.dataset --articles 1000000`` (from the project directory, with
``requirements-dev.txt`` installed: DuckDB is the yardstick). It generates once (cached under
``--work``, streamed: one file's rows in memory at a time) a dataset as a long series of crawls
leaves it:

- ``articles``: N articles with realistic bodies (about 3 KB of words drawn from a Zipf
  vocabulary, with paragraphs, quotes and macrons, which zstd compresses about as much as
  English) and what a crawled page gives besides (``body_blocks``, ``body_html``, a lead
  image: about 10 KB a row), in part files of 50 000 rows with row groups of 2 500 rows (what
  ``HERALD_BATCH_ROWS`` and the crawl's row buffer make), plus 5 % of them stored again in
  later files with a newer title (refreshed rows), so that compaction has duplicates to drop;
- ``links``: ``--links`` rows (2 100 000: thirteen crawls of 3 000 articles) in files of 30 000,
  more files than ``HERALD_COMPACT_FILES``, so a crawl's end-of-crawl compaction rewrites it.

Then, each in a child process whose peak RSS and CPU time the kernel counts (``os.wait4``,
``benchmarks.run.crawl``), alternating ``--passes`` times (ABBA order):

1. ``herald-dataset compact`` of a hard-linked copy of the dataset (every table);
2. ``herald-dataset validate`` of that compacted copy (the generated table holds its refreshed
   articles twice, which ``validate`` rightly reports);
3. ``herald-dataset export --format jsonl`` of ``articles`` against DuckDB's
   ``COPY (SELECT * FROM read_parquet([...])) TO '...' (FORMAT JSON)`` of the same files;
4. a small replay crawl (``scrapy crawl world`` on a ``benchmarks.make_mirror`` mirror of
   ``--crawl-articles`` articles) into an empty dataset and into a hard-linked copy of the big one.

It prints progress lines as it goes, a markdown table (wall and CPU seconds of the fastest pass,
the highest peak RSS) and the checks: compact and validate under 500 MB peak RSS, the export no
slower than DuckDB's COPY (fastest wall time of each), and the crawl into the big dataset at most
``CRAWL_RSS_MARGIN_MB`` above the crawl into the empty one beyond what its known article IDs
take (measured as ``benchmarks.known_ids`` does). ``--strict`` exits 1 when a check fails;
``--keep`` keeps the generated dataset (deleted otherwise). At 1 000 000 articles it needs about
20 GB of disk while it runs (4.9 GB of Parquet, a compacted copy, one export at a time).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from benchmarks.known_ids import measure_known_load
from benchmarks.make_mirror import build
from benchmarks.run import Run, best_pass, crawl, finish, print_checks, scrapy_command
from herald_spider.dataset.files import parquet_files, write_batches
from herald_spider.dataset.schema import ARTICLES, LINKS, SCHEMA_VERSION
from herald_spider.dataset.tables import ensure_table, snapshot

#: peak RSS of compact and validate at most (MB)
RSS_TARGET_MB = 500
#: the crawl into the big dataset, beyond the crawl into the empty one and its known IDs (MB):
#: the fixed working set of its end-of-crawl compaction (a row group of 32 MB being written, a
#: batch of 8 MB being read, the allocator's slack), which does not grow with the table
CRAWL_RSS_MARGIN_MB = 64
FILE_ROWS = 50_000
ROW_GROUP_ROWS = 2_500
LINK_FILE_ROWS = 30_000
REFRESHED_SHARE = 0.05
WORDS_PER_BODY = (650, 1010)  # about 3 KB of text
START = datetime(2024, 1, 1, tzinfo=UTC)
SECTIONS = ["nz", "world", "business", "sport", "entertainment", "lifestyle", "travel", "politics"]
KINDS = ["section", "related", "latest-from", "discover-more", "most-read", "subsection"]


def say(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def vocabulary(rng: np.random.Generator, size: int = 6000) -> tuple[pa.Array, np.ndarray]:
    """Made-up words of 2 to 11 letters and Zipf weights for them (rank 1 most common)."""
    letters = np.array(list("etaoinshrdlucmfwypvbgkjqxz"))
    weights = np.linspace(2.0, 0.1, len(letters))
    weights /= weights.sum()
    lengths = np.clip(rng.poisson(4.5, size), 2, 11)
    words = sorted({"".join(rng.choice(letters, n, p=weights)) for n in lengths}, key=len)
    # What escaping and UTF-8 meet in real bodies: paragraphs, quotes, Māori words.
    for rank, token in ((8, ".\n\n"), (25, '"said'), (30, 'it."'), (40, "whānau"), (60, "“Māori”")):
        words.insert(rank, token)
    zipf = 1.0 / np.arange(1, len(words) + 1)
    return pa.array(words), zipf / zipf.sum()


def texts(rng: np.random.Generator, words: pa.Array, p: np.ndarray, low: int, high: int, n: int) -> pa.Array:
    """``n`` texts of ``low`` to ``high`` words each, joined in Arrow (no Python string per word)."""
    counts = rng.integers(low, high + 1, n)
    taken = words.take(pa.array(rng.choice(len(words), int(counts.sum()), p=p)))
    offsets = pa.array(np.concatenate([[0], np.cumsum(counts)]).astype(np.int32))
    return pc.binary_join(pa.ListArray.from_arrays(offsets, taken), " ")


def ids(indexes: np.ndarray) -> pa.Array:
    """26-character IDs in the site's alphabet, distinct per index, never one of the mirror's."""
    alphabet = np.frombuffer(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", np.uint8)
    value = indexes.astype(np.uint64) * np.uint64(2654435761) + np.uint64(977)
    chars = np.empty((len(indexes), 26), np.uint8)
    chars[:, :13] = np.frombuffer(b"BENCHDATASETX", np.uint8)  # the mirror's IDs are sha256 digests
    for i in range(13):
        chars[:, 13 + i] = alphabet[((value >> np.uint64(5 * i)) & np.uint64(31)).astype(np.intp)]
    return pa.array(chars.view("S26").ravel().astype(str))


def article_batch(
    rng: np.random.Generator, vocab: tuple[pa.Array, np.ndarray], indexes: np.ndarray
) -> pa.Table:
    words, p = vocab
    n = len(indexes)
    article_id = ids(indexes)
    section = pa.array(np.array(SECTIONS)[indexes % len(SECTIONS)])
    slug = pc.binary_join_element_wise("story-", pa.array(indexes.astype(str)), "")
    url = pc.binary_join_element_wise(
        "https://www.nzherald.co.nz/", section, "/", slug, "/", article_id, "/", ""
    )
    published = pa.array(START + timedelta(minutes=1) * i for i in indexes.tolist())
    published = pc.cast(published, pa.timestamp("us", tz="UTC"))
    fetched = pc.add(published, pa.scalar(timedelta(hours=3), pa.duration("us")))
    body = texts(rng, words, p, *WORDS_PER_BODY, n)
    columns = {
        "article_id": article_id,
        "url": url,
        "section": section,
        "section_path": section,
        "title": texts(rng, words, p, 6, 14, n),
        "description": texts(rng, words, p, 15, 30, n),
        "authors": pa.array([["A Writer"]] * n, pa.list_(pa.string())),
        "distributor": pa.array(["NZ Herald"] * n),
        "byline_raw": pa.array(["By A Writer"] * n),
        "published_at": published,
        "updated_at": pc.if_else(pa.array(indexes % 3 == 0), fetched, pa.nulls(n, fetched.type)),
        "premium": pa.array(indexes % 5 == 0),
        "body": body,
        **structured_body(body),
        "language": pa.array(["en"] * n),
        "keywords": pa.array([["politics", "new zealand"]] * n, pa.list_(pa.string())),
        "topics": pa.array([["News"]] * n, pa.list_(pa.string())),
        "word_count": pc.cast(pc.add(pc.count_substring(body, " "), 1), pa.int32()),
        "read_time_minutes": pa.array(np.full(n, 3, np.int32)),
        "image_url": pc.binary_join_element_wise(
            "https://www.nzherald.co.nz/resizer/", article_id, ".jpg", ""
        ),
        "tags": pa.array([["news", "bench"]] * n, pa.list_(pa.string())),
        "content_hash": pc.binary_join_element_wise("sha256:", article_id, ""),
        "fetched_at": fetched,
        "crawl_id": pa.array(["generated"] * n),
        "revision": pa.array(np.ones(n, np.int32)),
        "first_seen_at": fetched,
        "last_seen_at": fetched,
    }
    arrays = [columns[f.name].cast(f.type) if f.name in columns else pa.nulls(n, f.type) for f in ARTICLES]
    return pa.Table.from_arrays(arrays, schema=ARTICLES)


def structured_body(body: pa.Array) -> dict[str, pa.Array]:
    """The columns a page's body gives besides its text: its paragraphs as blocks, as HTML, and
    one lead image (so a row is about three times its body, as a crawled one is)."""
    paragraphs = pc.split_pattern(body, ".\n\n")
    text = paragraphs.flatten()
    kinds = pa.array(["paragraph"] * len(text))
    blocks = pa.ListArray.from_arrays(
        paragraphs.offsets, pa.StructArray.from_arrays([kinds, text], ["kind", "text"])
    )
    html = pc.binary_join_element_wise("<p>", pc.binary_join(paragraphs, ".</p>\n<p>"), "</p>", "")
    n = len(body)
    image = pa.StructArray.from_arrays(
        [
            pa.array(["https://www.nzherald.co.nz/resizer/lead.jpg"] * n),
            pa.array(["A caption."] * n),
            pa.array(["Photo / NZME"] * n),
            pa.array(np.full(n, 1200, np.int32)),
            pa.array(np.full(n, 675, np.int32)),
        ],
        ["url", "caption", "credit", "width", "height"],
    )
    images = pa.ListArray.from_arrays(pa.array(np.arange(n + 1, dtype=np.int32)), image)
    return {
        "body_blocks": blocks,
        "body_html": html,
        "images": images,
        "subheadings": pa.nulls(n, pa.list_(pa.string())),
    }


def row_groups(table: pa.Table) -> Iterator[pa.RecordBatch]:
    return iter(table.to_batches(max_chunksize=ROW_GROUP_ROWS))


def generate(dataset: Path, articles: int, links: int) -> None:
    """The benchmark's dataset, one file's rows in memory at a time."""
    rng = np.random.default_rng(21)
    vocab = vocabulary(rng)
    table_dir = ensure_table(dataset, "articles")
    started = time.perf_counter()
    files = -(-articles // FILE_ROWS)
    for f in range(files):
        indexes = np.arange(f * FILE_ROWS, min(articles, (f + 1) * FILE_ROWS))
        batch = article_batch(rng, vocab, indexes)
        write_batches(
            table_dir, row_groups(batch), ARTICLES, f"part-gen{f:05d}-00001", row_group_rows=ROW_GROUP_ROWS
        )
        done = indexes[-1] + 1
        rate = done / (time.perf_counter() - started)
        say(f"generated {done} of {articles} articles ({rate:.0f}/s, {(articles - done) / rate:.0f} s left)")
    refreshed = rng.choice(articles, int(articles * REFRESHED_SHARE), replace=False)
    for f, start in enumerate(range(0, len(refreshed), FILE_ROWS)):
        indexes = np.sort(refreshed[start : start + FILE_ROWS])
        batch = article_batch(rng, vocab, indexes)
        batch = batch.set_column(
            ARTICLES.get_field_index("title"),
            ARTICLES.field("title"),
            pc.binary_join_element_wise(batch["title"], " (updated)", ""),
        )
        write_batches(
            table_dir,
            row_groups(batch),
            ARTICLES,
            f"part-refresh{f:05d}-00001",
            row_group_rows=ROW_GROUP_ROWS,
        )
    say(f"generated {len(refreshed)} refreshed rows of stored articles")
    generate_links(dataset, links, rng)


def generate_links(dataset: Path, links: int, rng: np.random.Generator) -> None:
    table_dir = ensure_table(dataset, "links")
    for f, start in enumerate(range(0, links, LINK_FILE_ROWS)):
        n = min(LINK_FILE_ROWS, links - start)
        pages = np.arange(start, start + n) // 40  # about 40 links a page
        from_url = pc.binary_join_element_wise(
            "https://www.nzherald.co.nz/world/page-", pa.array(pages.astype(str)), "/", ""
        )
        to_url = pc.binary_join_element_wise(
            "https://www.nzherald.co.nz/world/", ids(rng.integers(0, 10_000_000, n)), "/", ""
        )
        columns = {
            "from_url": from_url,
            "to_url": to_url,
            "kind": pa.array(np.array(KINDS)[rng.integers(0, len(KINDS), n)]),
            "seen_at": pa.array([START] * n, pa.timestamp("us", tz="UTC")),
            "crawl_id": pa.array([f"generated-{f // 5:03d}"] * n),
        }
        table = pa.Table.from_arrays([columns[name] for name in LINKS.names], schema=LINKS)
        write_batches(
            table_dir, iter(table.to_batches()), LINKS, f"part-links{f:05d}-00001", row_group_rows=n
        )
    say(f"generated {links} link rows in {-(-links // LINK_FILE_ROWS)} files")


def dataset_for(work: Path, articles: int, links: int) -> Path:
    """The generated dataset of this size, made once (``.complete`` marks a whole one)."""
    # Named by the schema version too: files of an older one would be compacted by every crawl.
    dataset = work / f"generated-{articles}-{links}-v{SCHEMA_VERSION}"
    if not (dataset / ".complete").exists():
        if dataset.exists():
            shutil.rmtree(dataset)
        dataset.mkdir(parents=True)
        say(f"generating {articles} articles and {links} link rows in {dataset} ...")
        generate(dataset, articles, links)
        (dataset / ".complete").touch()
    size = sum(p.stat().st_size for p in dataset.rglob("*.parquet"))
    say(f"dataset {dataset}: {size / 1e9:.2f} GB of Parquet")
    return dataset


def linked_copy(source: Path, target: Path) -> Path:
    """A copy of a dataset whose files are hard links (no bytes copied): compaction and crawls
    replace files and never write into one, so the source stays as it was."""
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(source, target, symlinks=True, copy_function=os.link)
    (target / ".complete").unlink(missing_ok=True)
    return target


def herald_dataset(*args: str) -> list[str]:
    return [sys.executable, "-m", "herald_spider.dataset.cli", *args]


def duckdb_copy(files: list[Path], out: Path) -> list[str]:
    listed = ", ".join(f"'{p}'" for p in files)
    query = f"COPY (SELECT * FROM read_parquet([{listed}])) TO '{out}' (FORMAT JSON)"
    return [sys.executable, "-c", f"import duckdb; duckdb.sql({query!r})"]


@dataclass
class Measured:
    """The passes of one measured command: its fastest (wall) and its highest peak RSS."""

    name: str
    runs: list[Run]

    @property
    def best(self) -> Run:
        return best_pass(self.runs)

    @property
    def wall_s(self) -> float:
        return min(r.wall_s for r in self.runs)


def measure(name: str, command: list[str], log: Path, results: dict[str, Measured]) -> Run:
    say(f"{name} ...")
    run = crawl(name, command, log)
    say(f"{name}: {run.wall_s:.1f} s wall, {run.cpu_s:.1f} s CPU, peak RSS {run.peak_rss_mb:.0f} MB")
    results.setdefault(name, Measured(name, [])).runs.append(run)
    return run


def bench_tools(dataset: Path, work: Path, passes: int, results: dict[str, Measured]) -> None:
    files = parquet_files(snapshot(dataset / "articles"))
    out = work / "export.jsonl"
    for number in range(passes):
        # The generated table holds refreshed rows twice: validate reads it compacted.
        copy = linked_copy(dataset, work / "compacted")
        measure(
            "compact", herald_dataset("compact", str(copy), "--grace", "0"), work / "compact.log", results
        )
        measure("validate", herald_dataset("validate", str(copy)), work / "validate.log", results)
        shutil.rmtree(copy)
        exports = [
            ("export jsonl", herald_dataset("export", str(dataset), "--format", "jsonl", "--out", str(out))),
            ("DuckDB COPY", duckdb_copy(files, out)),
        ]
        for name, command in exports if number % 2 == 0 else exports[::-1]:
            measure(name, command, work / f"{name.split()[0].lower()}.log", results)
            out.unlink()


def bench_crawl(dataset: Path, work: Path, passes: int, articles: int, results: dict[str, Measured]) -> None:
    mirror = work / f"mirror-{articles}"
    if not (mirror / ".complete").exists():
        say(f"building a mirror of {articles} articles in {mirror} ...")
        build(articles, mirror)
        (mirror / ".complete").touch()
    modes = [("crawl, empty dataset", None), ("crawl, big dataset", dataset)]
    for number in range(passes):
        for name, source in modes if number % 2 == 0 else modes[::-1]:
            target = work / "crawl-dataset"
            if source is None:
                shutil.rmtree(target, ignore_errors=True)
            else:
                linked_copy(source, target)
            args = ["crawl", "world", "-s", f"HERALD_REPLAY={mirror}", "-s", f"HERALD_DATASET_DIR={target}"]
            measure(name, scrapy_command(*args), work / "crawl.log", results)
            shutil.rmtree(target)


def report(results: dict[str, Measured], known_mb: float) -> list[tuple[str, bool]]:
    print("\n| run | wall s (fastest) | CPU s (fastest) | peak RSS MB (highest) | passes |")
    print("|---|---:|---:|---:|---:|")
    for measured in results.values():
        best = measured.best
        print(
            f"| {measured.name} | {measured.wall_s:.1f} | {min(r.cpu_s for r in measured.runs):.1f} "
            f"| {best.peak_rss_mb or 0:.0f} | {len(measured.runs)} |"
        )
    print()
    checks: list[tuple[str, bool]] = []
    for name in ("compact", "validate"):
        if name in results:
            rss = results[name].best.peak_rss_mb or 0
            checks.append((f"{name} peak RSS < {RSS_TARGET_MB} MB", rss < RSS_TARGET_MB))
    if "export jsonl" in results and "DuckDB COPY" in results:
        ours, duck = results["export jsonl"].wall_s, results["DuckDB COPY"].wall_s
        print(f"- export jsonl / DuckDB COPY wall time: **{ours / duck:.2f}** (target <= 1)")
        per_pass = "; ".join(
            f"{n} " + ", ".join(f"{r.wall_s:.1f}" for r in results[n].runs)
            for n in ("export jsonl", "DuckDB COPY")
        )
        print(f"- wall s in each pass: {per_pass}")
        checks.append(("export jsonl no slower than DuckDB COPY", ours <= duck))
    empty, big = results.get("crawl, empty dataset"), results.get("crawl, big dataset")
    if empty and big:
        growth = (big.best.peak_rss_mb or 0) - (empty.best.peak_rss_mb or 0)
        print(
            f"- crawl peak RSS, big dataset less empty one: **{growth:.0f} MB**, of which the known "
            f"article IDs take {known_mb:.0f} MB (target: at most {CRAWL_RSS_MARGIN_MB} MB more than those)"
        )
        checks.append(
            (
                f"crawl RSS grows by at most the known IDs + {CRAWL_RSS_MARGIN_MB} MB",
                growth <= known_mb + CRAWL_RSS_MARGIN_MB,
            )
        )
    return print_checks(checks)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=1_000_000)
    parser.add_argument("--links", type=int, default=2_100_000)
    parser.add_argument("--crawl-articles", type=int, default=60, help="articles in the crawl's mirror")
    parser.add_argument("--work", type=Path, default=Path("/tmp/herald-dataset-bench"))
    parser.add_argument("--passes", type=int, default=3, help="alternating passes of each measure")
    parser.add_argument("--keep", action="store_true", help="keep the generated dataset for another run")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a check fails")
    args = parser.parse_args()
    args.work = args.work.resolve()
    args.work.mkdir(parents=True, exist_ok=True)
    print(
        f"command: python -m benchmarks.dataset {' '.join(sys.argv[1:])}  (cpus: {os.cpu_count()})",
        flush=True,
    )
    dataset = dataset_for(args.work, args.articles, args.links)
    results: dict[str, Measured] = {}
    passes = max(1, args.passes)
    bench_tools(dataset, args.work, passes, results)
    say("loading the known article IDs of the dataset in a fresh process ...")
    known = measure_known_load(dataset)
    say(f"known IDs: {known['articles']:.0f} in {known['seconds']:.2f} s, {known['held_mb']:.0f} MB held")
    bench_crawl(dataset, args.work, passes, args.crawl_articles, results)
    checks = report(results, known["held_mb"])
    if not args.keep:
        shutil.rmtree(dataset)
    finish(checks, args.strict)


if __name__ == "__main__":
    main()
