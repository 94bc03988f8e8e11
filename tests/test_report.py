"""``herald-dataset report``: a self-contained HTML page of a dataset made by two real crawls of
the site-feeds replay, its refusals, and the page as a headless Chromium draws it."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import zlib
from collections import Counter
from pathlib import Path

import pytest

from herald_spider.dataset.cli import main
from herald_spider.dataset.files import read_table
from herald_spider.dataset.report import build_report
from herald_spider.dataset.tables import ensure_table

PROJECT = Path(__file__).resolve().parents[1]
FEEDS = PROJECT / "tests" / "fixtures" / "site-feeds"
SECTIONS = ("articles", "people", "links", "coverage", "runs")


def crawl(dataset: Path, *settings: str) -> None:
    command = [sys.executable, "-m", "scrapy", "crawl", "world", "-s", f"HERALD_REPLAY={FEEDS}"]
    command += ["-s", f"HERALD_DATASET_DIR={dataset}", "-s", "LOG_LEVEL=INFO"]
    for setting in settings:
        command += ["-s", setting]
    done = subprocess.run(command, cwd=PROJECT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-4000:]


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("dataset")
    crawl(directory)
    crawl(directory, "HERALD_CRAWL_ID=second")
    return directory


@pytest.fixture(scope="module")
def report(dataset: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("report") / "report.html"
    assert main(["report", str(dataset), "--out", str(out)]) == 0
    return out


def section(page: str, anchor: str) -> str:
    found = re.search(rf'<section id="{anchor}">(.*?)</section>', page, re.S)
    assert found, f"no section {anchor}"
    return found.group(1)


def test_one_self_contained_file(report: Path) -> None:
    assert [p.name for p in report.parent.iterdir()] == ["report.html"]  # no temporary left
    page = report.read_text(encoding="utf-8")
    for fetch in ("<script", "<link", "@import", "url(http", 'src="http', "src='http", "<img", "<iframe"):
        assert fetch not in page.lower(), fetch
    assert "<!DOCTYPE svg" not in page and "<?xml" not in page
    assert len(page) < 400_000


def test_each_chart_is_inline_svg(report: Path) -> None:
    page = report.read_text(encoding="utf-8")
    for anchor in SECTIONS:
        assert "<svg" in section(page, anchor), anchor
    labels = re.findall(r'<svg role="img" aria-label="([^"]+)"', page)
    assert labels == [
        "articles per day",
        "articles per section",
        "premium share",
        "top authors",
        "top distributors",
        "links by kind",
        "field coverage per run",
        "run history",
    ]
    assert "<text" in page and "@font-face" not in page  # text drawn by the browser, no font embedded


def test_numbers_match_the_dataset(dataset: Path, report: Path) -> None:
    page = report.read_text(encoding="utf-8")
    articles = read_table(dataset / "articles", "articles")
    runs = read_table(dataset / "runs", "runs").to_pylist()
    assert f'id="stat-articles">{articles.num_rows}<' in page
    assert f'id="stat-runs">{len(runs)}<' in page
    premium = sum(articles["premium"].to_pylist())
    assert f"premium {premium} (" in section(page, "articles")
    authors: dict[str, int] = {}
    for names in articles["authors"].to_pylist():
        for name in set(names or []):
            authors[name] = authors.get(name, 0) + 1
    top = sorted(authors.items(), key=lambda p: (-p[1], p[0]))[0][0]
    assert top.replace("'", "&#x27;") in section(page, "people") or top in section(page, "people")
    distributors = articles["distributor"].to_pylist()
    leader = max(set(distributors), key=distributors.count)
    assert f">{leader}<" in section(page, "people")
    kinds = Counter(read_table(dataset / "links", "links")["kind"].to_pylist())
    assert {"subsection", "most-read", "section-card", "latest-from", "rss"} <= set(kinds)
    for kind, rows in kinds.items():  # every kind the crawls wrote, with its rows
        assert re.search(rf">{re.escape(kind)}<.*?>{rows}<", section(page, "links"), re.S), kind
    history = section(page, "runs")
    assert "second" in history
    for run in runs:
        assert f"<td class=n>{run['pages_fetched']}</td>" in history


def test_the_same_dataset_gives_the_same_page(dataset: Path, report: Path) -> None:
    assert build_report(dataset) == report.read_text(encoding="utf-8")


def test_an_empty_dataset_says_so(tmp_path: Path) -> None:
    for table in ("articles", "runs"):
        ensure_table(tmp_path / "dataset", table)
    out = tmp_path / "report.html"
    assert main(["report", str(tmp_path / "dataset"), "--out", str(out)]) == 0
    page = out.read_text(encoding="utf-8")
    assert "This dataset is empty" in page
    assert "<svg" not in page


def test_one_run_says_so(tmp_path: Path) -> None:
    crawl(tmp_path / "dataset")
    out = tmp_path / "report.html"
    assert main(["report", str(tmp_path / "dataset"), "--out", str(out)]) == 0
    page = out.read_text(encoding="utf-8")
    assert "Only one run so far" in section(page, "runs")
    assert "<svg" in section(page, "coverage")


def test_refuses_an_output_inside_the_dataset(dataset: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = dataset / "articles" / "report.html"
    assert main(["report", str(dataset), "--out", str(out)]) == 2
    assert "inside the dataset" in capsys.readouterr().out
    assert not out.exists()


def test_refuses_a_folder_that_is_not_a_dataset(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "empty").mkdir()
    assert main(["report", str(tmp_path / "empty"), "--out", str(tmp_path / "r.html")]) == 2
    assert "not a herald_spider dataset" in capsys.readouterr().out
    assert not (tmp_path / "r.html").exists()


def test_does_not_clobber_an_existing_output(
    dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "report.html"
    out.write_text("mine")
    assert main(["report", str(dataset), "--out", str(out)]) == 2
    assert "--force" in capsys.readouterr().out
    assert out.read_text() == "mine"
    assert main(["report", str(dataset), "--out", str(out), "--force"]) == 0
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html"]


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if not found:
        pytest.skip("no Chromium installed: `apt-get install chromium` (as .ci/run does) to run this test")
    return found


def png_pixels(png: bytes) -> tuple[int, int, set[bytes]]:
    """Width, height and the distinct scanlines (filter byte stripped) of an 8-bit PNG."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    data, at = b"", 8
    while at < len(png):
        length = int.from_bytes(png[at : at + 4], "big")
        kind = png[at + 4 : at + 8]
        if kind == b"IDAT":
            data += png[at + 8 : at + 8 + length]
        at += 12 + length
    raw = zlib.decompress(data)
    stride = len(raw) // height
    return width, height, {raw[i * stride + 1 : (i + 1) * stride] for i in range(height)}


def test_a_headless_browser_draws_the_charts(report: Path, tmp_path: Path) -> None:
    browser = chromium()
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--window-size=1200,2400"]
    flags += ["--enable-logging=stderr", "--v=0"]
    dom = subprocess.run(
        [browser, *flags, "--dump-dom", report.as_uri()], capture_output=True, text=True, timeout=120
    )
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert dom.stdout.count("<svg") == 8
    assert 'aria-label="field coverage per run"' in dom.stdout
    assert "CONSOLE" not in dom.stderr and "Uncaught" not in dom.stderr, dom.stderr[-2000:]
    png = tmp_path / "report.png"
    shot = subprocess.run(
        [browser, *flags, f"--screenshot={png}", report.as_uri()], capture_output=True, text=True, timeout=120
    )
    assert shot.returncode == 0, shot.stderr[-2000:]
    assert png.stat().st_size > 20_000
    width, height, lines = png_pixels(png.read_bytes())
    assert (width, height) == (1200, 2400)
    assert len(lines) > 100  # a blank page has a handful of distinct (filtered) rows
