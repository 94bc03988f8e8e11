"""The stored article IDs a crawl loads (``read_known``): every ID of every file, held as one
sorted array of fixed-width bytes, whatever the files hold (repeats, nulls, longer IDs later)."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from herald_spider.dataset.files import parquet_files, write_table
from herald_spider.dataset.known import KnownIds, read_known
from herald_spider.dataset.schema import to_table
from herald_spider.dataset.tables import ensure_table, snapshot
from tests.test_compaction import article


def test_read_known_holds_every_id_of_every_file_once(tmp_path: Path) -> None:
    table_dir = ensure_table(tmp_path, "articles")
    first = [article(n) for n in range(300)]
    write_table(table_dir, to_table(first), "part-a-00001", row_group_size=7)
    # a later file: some IDs again (a refreshed row), and an ID longer than the others
    again = [article(n) for n in range(250, 320)] + [article(1000, article_id="L" * 40)]
    write_table(table_dir, to_table(again), "part-b-00001", row_group_size=7)
    known = read_known(parquet_files(snapshot(table_dir)))
    assert len(known) == 321
    assert all(article(n)["article_id"] in known for n in range(320))
    assert "L" * 40 in known and "L" * 39 not in known and "L" * 41 not in known
    assert article(320)["article_id"] not in known
    assert known._sorted.dtype.itemsize == 40  # one width for all: the longest ID
    known.add(article(320)["article_id"])
    known.add(article(3)["article_id"])  # already stored: not counted twice
    assert len(known) == 322 and article(320)["article_id"] in known


def test_nulls_and_empty_ids_are_skipped(tmp_path: Path) -> None:
    table = pa.table({"article_id": pa.array(["A" * 26, None, "", "B" * 26], pa.string())})
    pq.write_table(table, tmp_path / "x.parquet")
    known = read_known([tmp_path / "x.parquet"])
    assert len(known) == 2 and "A" * 26 in known and "" not in known
    assert len(read_known([])) == 0 and "A" * 26 not in read_known([])


def test_ids_added_as_arrow_arrays_are_found_after_a_lookup_merged_them() -> None:
    known = KnownIds(["C" * 26])
    known.update_arrow(pa.chunked_array([pa.array(["A" * 26, "odd"]), pa.array(["B" * 26, None])]))
    assert "odd" in known and "A" * 26 in known and "B" * 26 in known and "C" * 26 in known
    assert len(known) == 4 and 123 not in known
