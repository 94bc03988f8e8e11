from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from scrapy.http import HtmlResponse

FIXTURES = Path(__file__).parent / "fixtures"
SITE = FIXTURES / "site"
SHARED = Path(__file__).resolve().parents[2] / "shared"


def expected_articles() -> list[dict[str, Any]]:
    lines = (SITE / "expected" / "articles.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def expected_site() -> dict[str, Any]:
    return json.loads((SITE / "expected" / "site.json").read_text(encoding="utf-8"))


def saved_page(url: str, root: Path = SITE) -> Path:
    return root / url.removeprefix("https://") / "index.html"


def response_for(url: str, root: Path = SITE) -> HtmlResponse:
    return HtmlResponse(url=url, body=saved_page(url, root).read_bytes())


@pytest.fixture(scope="session")
def site_expected() -> dict[str, Any]:
    return expected_site()


def project_crawler(spidercls: Any = None, **settings: Any) -> Any:
    """A crawler with the project's ``HERALD_*`` settings (their defaults live in
    ``herald_spider/settings.py`` only) and ``settings`` on top."""
    from scrapy.utils.test import get_crawler

    import herald_spider.settings as project

    defaults = {name: getattr(project, name) for name in dir(project) if name.startswith("HERALD_")}
    defaults["HERALD_WRITE_DATASET"] = True  # as `scrapy crawl` sets it
    return get_crawler(spidercls, settings_dict={**defaults, **settings})


def run_benchmark(module: str, *args: str, work: Path, timeout: int = 600) -> str:
    """Run ``python -m <module> <args> --work <work>`` from the project; its output, once it
    exited 0."""
    command = [sys.executable, "-m", module, *args, "--work", str(work)]
    done = subprocess.run(
        command, cwd=Path(__file__).resolve().parents[1], capture_output=True, text=True, timeout=timeout
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout
