"""A dataset that already holds many articles, and what a crawl pays to load its IDs.

The dataset is generated directly as Parquet in the project's schema (unique IDs and URLs,
short titles, the other columns mostly null), in files of 250 000 rows as a long series of
crawls would leave them. The load is measured in a fresh process: ``ArticleStore.known``,
which the dedup pipeline calls when the spider opens.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa

from benchmarks.make_mirror import new_id
from herald_spider.dataset.files import ARTICLES_DIR, write_table
from herald_spider.dataset.schema import ARTICLES

FILE_ROWS = 250_000

_MEASURE = """
import json, sys, time
from pathlib import Path
from herald_spider.store import ArticleStore

def status_mb(field):
    # VmHWM is this process's own peak (ru_maxrss would include the parent's, Linux keeps
    # it across fork and exec).
    for line in open("/proc/self/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise KeyError(field)

store = ArticleStore(Path(sys.argv[1]), "measure")
before = status_mb("VmRSS")
started = time.perf_counter()
count = len(store.known)
seconds = time.perf_counter() - started
print(json.dumps({"articles": count, "seconds": seconds, "extra_mb": status_mb("VmHWM") - before,
                  "held_mb": status_mb("VmRSS") - before}))
"""


def write_known_dataset(dataset: Path, count: int) -> None:
    fetched = datetime(2026, 1, 1, tzinfo=UTC)
    for start in range(0, count, FILE_ROWS):
        indexes = range(start, min(count, start + FILE_ROWS))
        ids = [new_id(10_000_000 + i) for i in indexes]
        columns = {
            "article_id": ids,
            "url": [
                f"https://www.nzherald.co.nz/world/story-{i}/{a}/" for i, a in zip(indexes, ids, strict=True)
            ],
            "section": ["world"] * len(ids),
            "title": [f"Story {i}" for i in indexes],
            "premium": [i % 5 == 0 for i in indexes],
            "published_at": [fetched] * len(ids),
            "fetched_at": [fetched] * len(ids),
            "crawl_id": ["generated"] * len(ids),
        }
        arrays = [
            pa.array(columns[f.name], type=f.type) if f.name in columns else pa.nulls(len(ids), type=f.type)
            for f in ARTICLES
        ]
        table = pa.Table.from_arrays(arrays, schema=ARTICLES)
        write_table(dataset / ARTICLES_DIR, table, f"part-generated-{start // FILE_ROWS:05d}")


def measure_known_load(dataset: Path) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, "-c", _MEASURE, str(dataset)],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[1],
    )
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result
