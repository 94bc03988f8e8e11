"""``herald-dataset``: each verb on a real dataset, and ``validate`` on datasets broken one
invariant at a time."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from herald_spider.dataset import files
from herald_spider.dataset.cli import main
from herald_spider.dataset.files import write_table
from herald_spider.dataset.lock import DatasetLock
from herald_spider.dataset.schema import ARTICLES, TABLES, to_table
from herald_spider.dataset.tables import ensure_table
from tests.test_compaction import T0, _sample_rows, article


def dataset_of(tmp_path: Path, rows: list[dict[str, Any]]) -> Path:
    write_table(ensure_table(tmp_path, "articles"), to_table(rows), "part-c-00001")
    return tmp_path


@pytest.fixture(autouse=True)
def wide_tables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "250")


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    status = main(list(argv))
    return status, capsys.readouterr().out


def test_a_clean_dataset_passes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, out = run(capsys, "validate", str(dataset_of(tmp_path, [article(1), article(2)])))
    assert status == 0, out
    assert "All checks passed" in out


BROKEN = {
    "unique_ids": [article(1), article(1, title="Again")],
    "time_order": [article(1, updated_at=T0 - timedelta(days=1))],
    "canonical_urls": [article(1, url="http://www.nzherald.co.nz/world/story-1/" + article(1)["article_id"])],
    "titles": [article(1, title="  ")],
}


@pytest.mark.parametrize("check", list(BROKEN))
def test_validate_names_the_broken_invariant(
    check: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out = run(capsys, "validate", str(dataset_of(tmp_path, BROKEN[check])))
    assert status == 1
    assert f"1 check(s) failed: {check}" in out
    assert article(1)["article_id"] in out


def test_validate_catches_a_column_of_another_type(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = to_table([article(1)])
    index = ARTICLES.get_field_index("word_count")
    bad = good.set_column(index, pa.field("word_count", pa.string()), pa.array(["100"]))
    table_dir = ensure_table(tmp_path, "articles")
    pq.write_table(bad.replace_schema_metadata(ARTICLES.metadata), table_dir / "part-x-00001.parquet")
    status, out = run(capsys, "validate", str(tmp_path))
    assert status == 1
    assert "types" in out and "word_count is string, declared int32" in out


def test_info_shows_tables_sections_and_days(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rows = [article(1), article(2, section_path="world/asia"), article(30)]
    status, out = run(capsys, "info", str(dataset_of(tmp_path, rows)))
    assert status == 0
    assert "world/asia" in out and "2025-06-20" in out
    assert "articles" in out and "links" in out


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_export(fmt: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    dataset = dataset_of(tmp_path / "d", [article(1), article(2, authors=["A", "B"])])
    out_file = tmp_path / f"out.{fmt}"
    status, _ = run(capsys, "export", str(dataset), "--format", fmt, "--out", str(out_file))
    assert status == 0
    if fmt == "csv":
        with open(out_file, newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
    else:
        rows = [json.loads(line) for line in out_file.read_text(encoding="utf-8").splitlines()]
    assert [r["article_id"] for r in rows] == [article(1)["article_id"], article(2)["article_id"]]
    authors = rows[1]["authors"]
    assert (json.loads(authors) if fmt == "csv" else authors) == ["A", "B"]
    assert rows[0]["published_at"].startswith("2025-06-18")


def test_compact_waits_for_no_one_and_says_why(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    dataset = dataset_of(tmp_path, [article(1)])
    with DatasetLock(dataset, "crawl 20260101T000000Z-x"):
        status, out = run(capsys, "compact", str(dataset))
    assert status == 2
    assert "being written by crawl 20260101T000000Z-x" in out
    status, out = run(capsys, "compact", str(dataset), "--table", "articles")
    assert status == 0 and "articles" in out


@pytest.mark.parametrize("verb", ["info", "validate", "compact", "export"])
def test_every_verb_has_help(verb: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main([verb, "--help"])
    assert exit_.value.code == 0
    assert f"usage: herald-dataset {verb}" in capsys.readouterr().out


# --- streaming validate and export ---------------------------------------------------------


def test_validate_reads_every_file_and_batch(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A duplicate ID across two files and broken rows deep in later batches are all found, as
    when the table was read whole."""
    monkeypatch.setattr(files, "BATCH_BYTES", 1)  # batches of the smallest size
    table_dir = ensure_table(tmp_path, "articles")
    rows = [article(n) for n in range(600)]
    rows[450] = article(450, title=" ")
    rows[599] = article(599, updated_at=T0 - timedelta(days=1))
    write_table(table_dir, to_table(rows[:300]), "part-a-00001", row_group_size=50)
    write_table(
        table_dir, to_table([*rows[300:], article(7, title="Again")]), "part-b-00001", row_group_size=50
    )
    status, out = run(capsys, "validate", str(tmp_path))
    assert status == 1
    assert "3 check(s) failed: unique_ids, time_order, titles" in out
    for n in (7, 450, 599):
        assert article(n)["article_id"] in out


def _old_jsonl(value: Any) -> Any:
    """How the export wrote a value before it streamed (datetime.isoformat, ``Z`` for UTC)."""
    if isinstance(value, datetime | date):
        return value.isoformat().replace("+00:00", "Z")
    return value


@pytest.mark.parametrize("table", ["articles", "runs"])
def test_jsonl_export_holds_the_same_rows_as_before(
    table: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    schema = TABLES[table][0]
    if table == "articles":
        rows = [
            article(1, body='He said "hi"\n\nthen — whānau\t\\ left', authors=[]),
            article(2, updated_at=T0 + timedelta(microseconds=123456), tags=None, description=None),
        ]
    else:
        rows = [{**_sample_rows("runs")[0], "since": date(2025, 1, 2), "failed_checks": ["a"]}]
    write_table(ensure_table(tmp_path / "d", table), to_table(rows, schema), "part-c-00001")
    out_file = tmp_path / "out.jsonl"
    status, _ = run(
        capsys, "export", str(tmp_path / "d"), "--table", table, "--format", "jsonl", "--out", str(out_file)
    )
    assert status == 0
    got = [json.loads(line) for line in out_file.read_text(encoding="utf-8").splitlines()]
    before = [{k: _old_jsonl(v) for k, v in row.items()} for row in to_table(rows, schema).to_pylist()]
    assert [list(row) for row in got] == [schema.names] * len(rows), "every column, in order"
    assert json.loads(json.dumps(before, default=_old_jsonl)) == got


def test_every_export_writes_timestamps_as_iso_8601_with_z(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = [article(1, updated_at=T0 + timedelta(milliseconds=250), published_at=T0)]
    dataset = dataset_of(tmp_path / "d", rows)
    texts = {}
    for fmt in ("csv", "jsonl"):
        out_file = tmp_path / f"out.{fmt}"
        assert run(capsys, "export", str(dataset), "--format", fmt, "--out", str(out_file))[0] == 0
        texts[fmt] = out_file.read_text(encoding="utf-8")
    with open(tmp_path / "out.csv", newline="", encoding="utf-8") as handle:
        csv_row = next(csv.DictReader(handle))
    json_row = json.loads(texts["jsonl"])
    for row in (csv_row, json_row):
        assert row["published_at"] == "2025-06-18T20:00:00Z"
        assert row["updated_at"] == "2025-06-18T20:00:00.250Z"
        assert row["fetched_at"] == "2026-07-23T20:00:00Z"
    assert "+00" not in texts["csv"] and ".000000" not in texts["csv"]


def test_a_run_row_exports_its_dates_and_lists_in_csv(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    row = {**_sample_rows("runs")[0], "since": date(2025, 1, 2), "started_at": T0}
    write_table(ensure_table(tmp_path / "d", "runs"), to_table([row], TABLES["runs"][0]), "run-c")
    out_file = tmp_path / "runs.csv"
    status, _ = run(
        capsys, "export", str(tmp_path / "d"), "--table", "runs", "--format", "csv", "--out", str(out_file)
    )
    assert status == 0
    with open(out_file, newline="", encoding="utf-8") as handle:
        got = next(csv.DictReader(handle))
    assert got["since"] == "2025-01-02"
    assert got["started_at"] == "2025-06-18T20:00:00Z"
    assert json.loads(got["dropped"]) == [{"name": "duplicate", "count": 1}]


def test_the_dataset_package_imports_no_scrapy() -> None:
    """The storage layer stands apart from the crawler: the command and the readers load
    neither Scrapy, nor Twisted, nor itemadapter."""
    code = (
        "import sys, herald_spider.dataset, herald_spider.dataset.cli, herald_spider.dataset.read\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'scrapy', 'twisted', 'itemadapter'}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
