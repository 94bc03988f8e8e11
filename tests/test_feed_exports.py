"""Scrapy feed exports (``scrapy crawl world -O items.<format>``): every timestamp ISO 8601 UTC
with ``Z``, the same instant as stored; and a crawl that skipped stored articles says that its
feed lacks them."""

from __future__ import annotations

import csv
import json
import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from herald_spider.dataset import read_table
from tests.test_crawl import crawl

TIMESTAMPS = ("published_at", "updated_at", "fetched_at", "first_seen_at", "last_seen_at")
ISO_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?Z$")


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One crawl writing four feeds at once (FEEDS), then a second crawl of the same dataset."""
    root = tmp_path_factory.mktemp("feeds")
    feeds = {f"{root}/items.{form}": {"format": form} for form in ("jsonl", "csv", "json", "xml")}
    first = crawl("world", "-s", f"FEEDS={json.dumps(feeds)}", dataset=root / "ds", level="INFO")
    again = root / "again.jsonl"
    second = crawl("world", "-O", str(again), dataset=root / "ds", level="INFO")
    stored = {row["article_id"]: row for row in read_table(root / "ds").to_pylist()}
    return {"root": root, "first": first, "second": second, "again": again, "stored": stored}


def _rows(root: Path, form: str) -> list[dict[str, Any]]:
    path = root / f"items.{form}"
    text = path.read_text(encoding="utf-8")
    if form == "jsonl":
        return [json.loads(line) for line in text.splitlines()]
    if form == "json":
        return list(json.loads(text))
    if form == "csv":
        return list(csv.DictReader(text.splitlines()))
    return [{child.tag: child.text for child in item} for item in ET.fromstring(text)]


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@pytest.mark.parametrize("form", ["jsonl", "csv", "json", "xml"])
def test_every_timestamp_is_iso_utc_with_z(exported: dict[str, Any], form: str) -> None:
    rows = _rows(exported["root"], form)
    assert len(rows) == len(exported["stored"])
    seen = 0
    for row in rows:
        for name in TIMESTAMPS:
            value = row.get(name)
            if value in (None, "", "None"):  # no update: null in JSON, empty in CSV, "None" in XML
                assert exported["stored"][row["article_id"]][name] is None, (form, name)
                continue
            assert ISO_Z.match(value), (form, name, value)
            assert _instant(value) == exported["stored"][row["article_id"]][name], (form, name)
            seen += 1
    assert seen >= len(rows) * 4


def test_published_at_reads_as_on_the_page(exported: dict[str, Any]) -> None:
    """The 13 Jan 2022 08:32 PM story, as the page shows it (UTC)."""
    rows = {row["article_id"]: row for row in _rows(exported["root"], "csv")}
    assert rows["ZENJPN3QZCD533OKO7FSX5JTSK"]["published_at"] == "2022-01-13T20:32:00Z"


def test_first_crawl_says_nothing_of_skipped_articles(exported: dict[str, Any]) -> None:
    assert "holds only the articles fetched in this crawl" not in exported["first"]["log"]


def test_feed_of_a_crawl_that_skipped_stored_articles_says_so(exported: dict[str, Any]) -> None:
    log = exported["second"]["log"]
    warnings = [line for line in log.splitlines() if "holds only the articles fetched" in line]
    assert len(warnings) == 1
    line = warnings[0]
    assert " WARNING: " in line and str(exported["again"]) in line
    skipped = exported["second"]["stats"]["herald/articles_skipped_known"]
    assert f"{skipped} articles already stored in {exported['root'] / 'ds'}" in line
    assert "-a refresh=all" in line
    assert f"herald-dataset export {exported['root'] / 'ds'} --format jsonl --out {exported['again']}" in line
    assert exported["again"].read_text(encoding="utf-8") == ""  # what the warning is about


def test_refresh_all_feed_holds_every_article_and_no_warning(exported: dict[str, Any]) -> None:
    again = exported["root"] / "refreshed.csv"
    done = crawl(
        "world", "-a", "refresh=all", "-O", str(again), dataset=exported["root"] / "ds", level="INFO"
    )
    assert "holds only the articles fetched" not in done["log"]
    rows = list(csv.DictReader(again.read_text(encoding="utf-8").splitlines()))
    assert {row["article_id"] for row in rows} == set(exported["stored"])
    assert all(ISO_Z.match(row["fetched_at"]) for row in rows)
    assert all(_instant(row["fetched_at"]) <= datetime.now(UTC) for row in rows)


def test_csv_cells_hold_no_python_repr(exported: dict[str, Any]) -> None:
    """Nested values (an article's images, when it has them) are JSON text in CSV cells."""
    for row in _rows(exported["root"], "csv"):
        for name, value in row.items():
            assert "{'" not in value and "datetime.datetime(" not in value, (name, value[:80])
            if value.startswith(("[{", "{")):
                json.loads(value)
