"""``scrapy check``: the contracts in the callbacks' docstrings run offline against the fixture
mirror (the replay middleware answers them) and fail when a page loses what they check."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from scrapy.contracts import ContractsManager
from scrapy.utils.misc import load_object

from herald_spider.spiders.section import SectionSpider
from tests.test_discovery import FEEDS
from tests.test_scrapy_tools import scrapy

RUSSIA = "ZENJPN3QZCD533OKO7FSX5JTSK"
RAN = re.compile(r"Ran (\d+) contracts?")


def ran(output: str) -> int:
    found = RAN.search(output)
    assert found, output[-2000:]
    return int(found.group(1))


def test_every_callback_has_contracts() -> None:
    contracts = [load_object(path) for path in ("scrapy.contracts.default.UrlContract",)]
    tested = ContractsManager(contracts).tested_methods_from_spidercls(SectionSpider)
    assert set(tested) == {"parse_section", "parse_article", "parse_robots", "parse_feed"}


def test_check_runs_the_contracts_offline_and_passes() -> None:
    done = scrapy("check", "world", "-s", f"HERALD_REPLAY={FEEDS}")
    assert done.returncode == 0, done.stderr[-3000:]
    assert ran(done.stderr) >= 8 and done.stderr.rstrip().endswith("OK")


def test_section_spider_is_checked_with_its_section() -> None:
    done = scrapy("check", "section", "-a", "section=world", "-s", f"HERALD_REPLAY={FEEDS}")
    assert done.returncode == 0, done.stderr[-3000:]
    assert ran(done.stderr) >= 8


def test_a_spider_that_refuses_its_arguments_is_named() -> None:
    done = scrapy("check", "section", "-s", f"HERALD_REPLAY={FEEDS}")
    assert done.returncode == 1
    assert "Cannot check section: not a section path" in done.stderr


def test_check_of_every_spider_checks_world_and_names_section() -> None:
    done = scrapy("check", "-s", f"HERALD_REPLAY={FEEDS}")
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Not checking section" in done.stderr and ran(done.stderr) >= 8


@pytest.fixture
def headless(tmp_path: Path) -> Path:
    """A copy of the mirror in which the contracts' article lost its headline everywhere the
    page gives it (h1, JSON-LD, Fusion data, meta tags, <title>)."""
    mirror = tmp_path / "mirror"
    shutil.copytree(FEEDS, mirror)
    (page,) = mirror.glob(f"www.nzherald.co.nz/world/**/{RUSSIA}/index.html")
    html = page.read_text(encoding="utf-8")
    for pattern in (
        r"<h1\b.*?</h1>",
        r"<script[^>]*application/ld\+json[^>]*>.*?</script>",
        r"<script[^>]*fusion-metadata[^>]*>.*?</script>",
        r"<meta[^>]*(og|twitter):title[^>]*>",
        r"<title>.*?</title>",
    ):
        html = re.sub(pattern, "", html, flags=re.S)
    assert "<h1" not in html
    page.write_text(html, encoding="utf-8")
    return mirror


def test_check_fails_when_a_page_loses_its_title(headless: Path) -> None:
    done = scrapy("check", "world", "-s", f"HERALD_REPLAY={headless}")
    assert done.returncode == 1
    assert "parse_article (@scrapes post-hook)" in done.stderr
    assert "No value for: title" in done.stderr
    assert re.search(r"FAILED \(failures=1\)", done.stderr)


def test_check_fails_when_the_section_page_links_nowhere(tmp_path: Path) -> None:
    mirror = tmp_path / "mirror"
    shutil.copytree(FEEDS, mirror)
    listing = mirror / "www.nzherald.co.nz" / "world" / "index.html"
    listing.write_text("<html><head><title>World</title></head><body><p>Nothing</p></body></html>")
    done = scrapy("check", "world", "-s", f"HERALD_REPLAY={mirror}")
    assert done.returncode == 1
    assert "parse_section (@returns post-hook)" in done.stderr
    assert "Returned 0 requests, expected 7..inf" in done.stderr
