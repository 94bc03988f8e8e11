"""``herald-dataset``: each verb on a real dataset, and ``validate`` on datasets broken one
invariant at a time."""

from __future__ import annotations

import csv
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from herald_spider.dataset.cli import main
from herald_spider.dataset.files import write_table
from herald_spider.dataset.lock import DatasetLock
from herald_spider.dataset.schema import ARTICLES, to_table
from herald_spider.dataset.tables import ensure_table
from tests.test_compaction import T0, article


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
