"""Compaction: few large files, one row per key, an atomic swap readers never notice; and every
table read with its declared types by pandas, DuckDB, Polars and pyarrow, also across a schema
version bump."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from herald_spider.dataset import files
from herald_spider.dataset.files import parquet_files, read_table, write_table
from herald_spider.dataset.maintenance import apply_refetched, compact_table, needs_compaction
from herald_spider.dataset.schema import ARTICLES, TABLES, to_table
from herald_spider.dataset.tables import ensure_table, snapshot, versions

T0 = datetime(2025, 6, 18, 20, 0, tzinfo=UTC)


def article(n: int, **changes: Any) -> dict[str, Any]:
    article_id = f"{n:026d}".replace("0", "A")
    row = {
        "article_id": article_id,
        "url": f"https://www.nzherald.co.nz/world/story-{n}/{article_id}/",
        "section": "world",
        "section_path": "world",
        "title": f"Story {n}",
        "authors": ["A Writer"],
        "tags": [],
        "premium": False,
        "published_at": T0 + timedelta(hours=n),
        "fetched_at": T0 + timedelta(days=400),
        "word_count": 100,
        "revision": 1,
        "first_seen_at": T0 + timedelta(days=400),
        "last_seen_at": T0 + timedelta(days=400),
        "crawl_id": "c",
    }
    return {**row, **changes}


def many_small_files(dataset: Path, files: int, per_file: int) -> None:
    table_dir = ensure_table(dataset, "articles")
    for f in range(files):
        rows = [article(f * per_file + i) for i in range(per_file)]
        write_table(table_dir, to_table(rows), f"part-c{f:04d}-00001")


def test_compaction_makes_few_files_with_one_row_per_article(tmp_path: Path) -> None:
    many_small_files(tmp_path, files=30, per_file=10)
    # The same article stored twice (an old bug or a copied file): the last one wins.
    write_table(tmp_path / "articles", to_table([article(3, title="Newer")]), "part-c9999-00001")
    done = compact_table(tmp_path, "articles", file_rows=200)
    assert (done.files_before, done.rows_before, done.rows_after, done.files_after) == (31, 301, 300, 2)
    files = parquet_files(snapshot(tmp_path / "articles"))
    assert len(files) == 2
    metadata = pq.ParquetFile(files[0]).metadata
    assert metadata.row_group(0).column(0).compression == "ZSTD"
    table = read_table(tmp_path / "articles", "articles")
    assert table.num_rows == 300 == len(set(table["article_id"].to_pylist()))
    assert (
        table.filter(pa.compute.equal(table["article_id"], article(3)["article_id"]))["title"][0].as_py()
        == "Newer"
    )


def _read_all_ways(table_dir: Path) -> list[int]:
    """Row counts by the four README readers, on a snapshot of the table."""
    pinned = snapshot(table_dir)
    return [
        len(pd.read_parquet(pinned)),
        duckdb.connect()
        .sql(f"select count(*) from read_parquet('{pinned}/**/*.parquet', hive_partitioning=true)")
        .fetchall()[0][0],
        pl.scan_parquet(f"{pinned}/**/*.parquet").select(pl.len()).collect().item(),
        ds.dataset(pinned, partitioning="hive").count_rows(),
    ]


def test_readers_never_fail_or_miscount_during_compaction(tmp_path: Path) -> None:
    many_small_files(tmp_path, files=40, per_file=5)
    expected = 200
    failures: list[str] = []
    counts: list[int] = []
    stop = threading.Event()

    def reader() -> None:
        while not stop.is_set():
            try:
                got = _read_all_ways(tmp_path / "articles")
            except Exception as exc:  # any failure is the finding
                failures.append(repr(exc))
                continue
            counts.extend(got)
            if set(got) != {expected}:
                failures.append(f"row counts {got}")

    threads = [threading.Thread(target=reader) for _ in range(2)]
    for thread in threads:
        thread.start()
    swaps = 0
    deadline = time.monotonic() + 3.0
    while time.monotonic() < deadline:
        # Re-split into small files, then compact: two swaps per round, old versions kept a moment.
        compact_table(tmp_path, "articles", file_rows=7, grace=0.5)
        compact_table(tmp_path, "articles", grace=0.5)
        swaps += 2
    stop.set()
    for thread in threads:
        thread.join()
    assert not failures, failures[:5]
    assert swaps >= 4 and len(counts) >= 20, (swaps, len(counts))
    assert len(versions(tmp_path, "articles")) < swaps, "old versions are removed after the grace period"


def test_older_schema_files_read_as_one_dataset_and_compaction_upgrades_them(tmp_path: Path) -> None:
    table_dir = ensure_table(tmp_path, "articles")
    version_one = pa.schema(
        [
            ARTICLES.field(name)
            for name in ARTICLES.names
            if name not in ("revision", "first_seen_at", "last_seen_at")
        ],
        metadata={"herald_spider.table": "articles", "herald_spider.schema_version": "1"},
    )
    old = to_table([article(1)], version_one)
    pq.write_table(old, table_dir / "part-a-00001.parquet")
    write_table(table_dir, to_table([article(2)]), "part-b-00001")
    table = read_table(table_dir, "articles")
    assert table.schema.remove_metadata() == ARTICLES.remove_metadata()
    assert table.sort_by("article_id")["revision"].to_pylist() == [None, 1]
    union = duckdb.sql(
        f"select revision from read_parquet('{table_dir}/*.parquet', union_by_name=true) order by 1"
    )
    assert union.fetchall() == [(1,), (None,)]
    assert needs_compaction(tmp_path, "articles", max_files=100)
    compact_table(tmp_path, "articles")
    assert not needs_compaction(tmp_path, "articles", max_files=100)
    for path in parquet_files(snapshot(table_dir)):
        assert pq.read_schema(path).remove_metadata() == ARTICLES.remove_metadata()


def _sample_rows(name: str) -> list[dict[str, Any]]:
    if name in ("articles", "article_revisions"):
        return [article(1), article(2, authors=[], updated_at=T0 + timedelta(days=1))]
    if name == "links":
        return [
            {
                "from_url": "https://a/",
                "to_url": "https://b/",
                "kind": "related",
                "seen_at": T0,
                "crawl_id": "c",
            }
        ]
    return [
        {
            "crawl_id": "c",
            "spider": "world",
            "section": "world",
            "started_at": T0,
            "finished_at": T0,
            "finish_reason": "finished",
            "pages_fetched": 3,
            "dropped": [{"name": "duplicate", "count": 1}],
            "http_errors": [],
            "field_coverage": [{"name": "title", "share": 1.0}],
        }
    ]


@pytest.mark.parametrize("name", list(TABLES))
def test_every_reader_gets_the_declared_types_after_compaction(tmp_path: Path, name: str) -> None:
    schema = TABLES[name][0]
    table_dir = ensure_table(tmp_path, name)
    # Two crawls' files, the first with nulls where the second has values, then compaction.
    for n, row in enumerate(_sample_rows(name)):
        write_table(table_dir, to_table([row], schema), f"part-c{n}-00001")
    compact_table(tmp_path, name)
    empty = schema.empty_table()
    path = tmp_path / name
    assert ds.dataset(path, partitioning="hive").schema.remove_metadata() == schema.remove_metadata()
    assert [t.pyarrow_dtype for t in pd.read_parquet(path, dtype_backend="pyarrow").dtypes] == schema.types
    assert dict(pd.read_parquet(path).dtypes) == dict(read_table(path, name).to_pandas().dtypes)
    assert pl.scan_parquet(f"{path}/**/*.parquet").collect_schema() == pl.from_arrow(empty).schema
    relation = duckdb.sql(f"select * from read_parquet('{path}/**/*.parquet', hive_partitioning=true)")
    assert relation.columns == schema.names
    assert relation.types == duckdb.from_arrow(empty).types


def test_a_plain_table_directory_of_an_older_release_becomes_the_first_version(tmp_path: Path) -> None:
    (tmp_path / "articles").mkdir()
    write_table(tmp_path / "articles", to_table([article(1)]), "part-old-00001")
    link = ensure_table(tmp_path, "articles")
    assert link.is_symlink() and snapshot(link).name == ".articles.v000001"
    assert read_table(link, "articles")["article_id"].to_pylist() == [article(1)["article_id"]]


def test_refetching_a_schema_one_row_keeps_it_as_revision_one(tmp_path: Path) -> None:
    table_dir = ensure_table(tmp_path, "articles")
    stored = {k: v for k, v in article(1).items() if k not in ("revision", "first_seen_at", "last_seen_at")}
    write_table(table_dir, to_table([stored, article(2)]), "part-a-00001")
    later = T0 + timedelta(days=500)
    fetched = {
        article(1)["article_id"]: {**article(1), "content_hash": "new", "fetched_at": later},
        article(2)["article_id"]: {**article(2), "fetched_at": later},
    }
    outcome = apply_refetched(tmp_path, fetched)
    assert [r["revision"] for r in outcome.earlier] == [1]
    assert outcome.earlier[0]["first_seen_at"] == stored["fetched_at"]
    assert [(r["revision"], r["first_seen_at"], r["last_seen_at"]) for r in outcome.revised] == [
        (2, stored["fetched_at"], later)
    ]
    assert outcome.unchanged == 1
    rows = {r["article_id"]: r for r in read_table(tmp_path / "articles", "articles").to_pylist()}
    assert rows[article(1)["article_id"]]["content_hash"] == "new"
    assert rows[article(2)["article_id"]]["last_seen_at"] == later
    assert rows[article(2)["article_id"]]["revision"] == 1


# --- streaming: keys across many files and row groups -------------------------------------


def _last_per_key_in_memory(rows: list[dict[str, Any]], keys: tuple[str, ...]) -> list[dict[str, Any]]:
    """What compaction must keep, the simple way: the last row of each key, in the order of
    those last rows."""
    last: dict[tuple[Any, ...], int] = {}
    for n, row in enumerate(rows):
        last[tuple(row[k] for k in keys)] = n
    return [rows[n] for n in sorted(last.values())]


def _write_row_groups(table_dir: Path, rows: list[dict[str, Any]], name: str, schema: pa.Schema) -> None:
    """One file of ``rows`` in row groups of 3 rows, as a crawl's row buffer writes them."""
    write_table(table_dir, to_table(rows, schema), name, row_group_size=3)


def test_streaming_compaction_keeps_the_last_row_of_each_key_across_files_and_row_groups(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Tiny batches and row groups, so that every batch and file boundary is crossed.
    monkeypatch.setattr(files, "BATCH_BYTES", 1)
    monkeypatch.setattr(files, "ROW_GROUP_BYTES", 2000)
    table_dir = ensure_table(tmp_path, "articles")
    written: list[dict[str, Any]] = []
    for f in range(6):
        # Each file: new articles, and again some of earlier files and of itself (a later row
        # group of the same file), each repeat with a title that says where it came from.
        rows = [article(f * 10 + i, title=f"file {f} row {i}") for i in range(10)]
        rows += [article(n, title=f"file {f} repeat {n}") for n in range(f * 3, f * 3 + 12, 2)]
        rows += [article(f * 10 + 1, title=f"file {f} last")]
        _write_row_groups(table_dir, rows, f"part-c{f:04d}-00001", ARTICLES)
        written += rows
    expected = _last_per_key_in_memory(written, ("article_id",))
    done = compact_table(tmp_path, "articles", file_rows=17)
    assert done.rows_before == len(written)
    assert done.rows_after == len(expected) == len({r["article_id"] for r in written})
    assert done.files_after == -(-len(expected) // 17)
    compacted = parquet_files(snapshot(tmp_path / "articles"))
    assert [pq.ParquetFile(p).metadata.num_rows for p in compacted][:-1] == [17] * (len(compacted) - 1)
    assert max(pq.ParquetFile(p).metadata.num_row_groups for p in compacted) > 1, (
        "row groups of bounded bytes"
    )
    got = read_table(tmp_path / "articles", "articles").to_pylist()
    assert got == to_table(expected).to_pylist()  # every column, the last row of each key, in order


@pytest.mark.parametrize("name", ["article_revisions", "runs", "links"])
def test_streaming_compaction_of_every_keyed_table_and_the_unkeyed_one(
    tmp_path: Path, name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(files, "BATCH_BYTES", 1)
    schema, keys = TABLES[name]
    table_dir = ensure_table(tmp_path, name)
    written: list[dict[str, Any]] = []
    for f in range(4):
        if name == "article_revisions":
            rows = [article(n % 5, revision=n % 3 + 1, title=f"{f}/{n}") for n in range(9)]
        elif name == "runs":
            rows = [
                {
                    **_sample_rows("runs")[0],
                    "crawl_id": f"c{n % 4}",
                    # the processes of a shared crawl have a row each; a crawl of one, null
                    "worker": f"w{n % 2}" if n % 4 == 1 else None,
                    "pages_fetched": f * 10 + n,
                }
                for n in range(7)
            ]
        else:
            rows = [
                {**_sample_rows("links")[0], "to_url": f"https://b/{n % 3}", "crawl_id": f"c{f}"}
                for n in range(8)
            ]
        _write_row_groups(table_dir, rows, f"part-c{f:04d}-00001", schema)
        written += rows
    compact_table(tmp_path, name)
    got = read_table(tmp_path / name, name).to_pylist()
    expected = _last_per_key_in_memory(written, keys) if keys else written
    assert got == to_table(expected, schema).to_pylist()


def test_compaction_memory_stays_far_below_the_table(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Arrow's allocations during the compaction of a ~24 MB table (bodies of 3 KB, many row
    groups, a tenth of the articles stored twice) stay under 8 MB with 1 MB batches and row
    groups: the table is never held whole (the old compaction held it twice)."""
    monkeypatch.setattr(files, "BATCH_BYTES", 1 << 20)
    monkeypatch.setattr(files, "ROW_GROUP_BYTES", 1 << 20)
    table_dir = ensure_table(tmp_path, "articles")
    body = "".join(f"word{n} " for n in range(500))[:3000]
    for f in range(4):
        rows = [article(f * 2000 + i, body=f"{i} {body}") for i in range(2000)]
        rows += [article(i, title="again", body=body) for i in range(f * 200, f * 200 + 200)]
        write_table(table_dir, to_table(rows), f"part-c{f:04d}-00001", row_group_size=250)
    tracked = pa.proxy_memory_pool(pa.default_memory_pool())
    before = pa.default_memory_pool()
    pa.set_memory_pool(tracked)
    try:
        done = compact_table(tmp_path, "articles")
    finally:
        pa.set_memory_pool(before)
    assert done.rows_after == 8000 and done.rows_before == 8800
    table_bytes = 8800 * 3000
    assert tracked.max_memory() < 8 << 20 < table_bytes / 3, tracked.max_memory()


def test_refetched_rows_are_replaced_in_place_batch_by_batch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(files, "BATCH_BYTES", 1)
    table_dir = ensure_table(tmp_path, "articles")
    _write_row_groups(table_dir, [article(n) for n in range(20)], "part-a-00001", ARTICLES)
    _write_row_groups(table_dir, [article(n) for n in range(20, 30)], "part-b-00001", ARTICLES)
    untouched = snapshot(table_dir) / "part-b-00001.parquet"
    later = T0 + timedelta(days=500)
    refetched = {3: "new", 4: None, 11: "new", 19: None}  # a new content_hash, or the same
    fetched = {
        article(n)["article_id"]: {**article(n), "content_hash": h, "fetched_at": later}
        for n, h in refetched.items()
    }
    outcome = apply_refetched(tmp_path, fetched)
    assert [r["article_id"] for r in outcome.revised] == [article(3)["article_id"], article(11)["article_id"]]
    assert outcome.unchanged == 2
    rows = read_table(tmp_path / "articles", "articles").to_pylist()
    assert [r["article_id"] for r in rows] == [article(n)["article_id"] for n in range(30)], "order kept"
    for n, row in enumerate(rows):
        if n not in refetched:
            assert row == to_table([article(n)]).to_pylist()[0]
        else:
            assert row["last_seen_at"] == later
            assert row["revision"] == (2 if refetched[n] else 1)
    assert (snapshot(table_dir) / "part-b-00001.parquet").stat().st_ino == untouched.stat().st_ino
