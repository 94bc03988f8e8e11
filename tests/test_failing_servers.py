"""A real crawl through Scrapy's engine against a local site that fails on purpose.

``tests/faulty_site.py`` is an HTTPS proxy on 127.0.0.1 that stands in for
www.nzherald.co.nz: the spider keeps its real URLs (``https_proxy`` points at the server).
Faults: 500 then success, 503 every time, 429 with a short and with a too-long
``Retry-After``, a slow answer past the timeout, connection resets, redirects off the site, a
redirect loop, a moved article, and a legacy ``article.cfm`` link redirected to an article.
Every stored row is correct, every failed article is counted, none is silently missing.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from herald_spider import urls
from herald_spider.dataset.files import read_articles
from herald_spider.pages.extract import page_links
from tests.conftest import SITE, expected_articles, expected_site, response_for, saved_page
from tests.faulty_site import (
    RESET,
    SESSION_COOKIE,
    Answer,
    FaultySite,
    crawl_through,
    redirect,
    self_signed_certificate,
    slow,
    status,
)

PROJECT = Path(__file__).resolve().parents[1]
STATS = re.compile(r"'(herald/[^']+|retry/[^']+|finish_reason)': '?([^',}]+)'?")
EXPECTED = {a["article_id"]: a for a in expected_articles()}
# articles linked from section pages, so each is requested whatever else fails
LINKED = {link.url for u in expected_site()["section_urls"] for link in page_links(response_for(u))}
PICK = sorted((a for a in EXPECTED.values() if a["url"] in LINKED), key=lambda a: a["url"])
ROLES = (
    "flaky_500",
    "always_503",
    "retry_after_short",
    "retry_after_long",
    "slow",
    "reset",
    "offsite_redirect",
    "redirect_loop",
    "moved",
    "legacy_target",
)
ARTICLE = dict(zip(ROLES, PICK, strict=False))
assert len(ARTICLE) == len(ROLES)
LEGACY = "/world/news/article.cfm?c_id=2&objectid=12345678"
MOVED_TO = "/world/a-new-slug-for-a-moved-story/{id}/"
FAILED = ("always_503", "retry_after_long", "reset", "offsite_redirect", "redirect_loop")
STORED = ("flaky_500", "retry_after_short", "slow", "moved", "legacy_target")
TIMEOUT = 1.0
EVIL_ID = "EVILEVILEVILEVILEVILEVIL00"
#: Links on a section page that must never be followed (nor leave a trace on the server).
HOSTILE = (
    f"https://www.nzherald.co.nz.evil.example/world/a-story/{EVIL_ID}/",
    f"https://evil.www.nzherald.co.nz/world/a-story/{EVIL_ID}/",
    f"https://www.nzherald.co.nz@evil.example/world/a-story/{EVIL_ID}/",
    f"https://user:password@www.nzherald.co.nz/world/a-story/{EVIL_ID}/",
    f"https://www.nzherald.co.nz:8443/world/a-story/{EVIL_ID}/",
    f"//evil.example/world/a-story/{EVIL_ID}/",
    f"/world/%2e%2e/%2e%2e/etc/a-story/{EVIL_ID}/",
    f"/world/../../etc/passwd/{EVIL_ID}/",
    "javascript:alert(1)",
)


def path(role: str) -> str:
    return urlsplit(ARTICLE[role]["url"]).path


def html(body: bytes) -> Answer:
    return Answer(200, (("Content-Type", "text/html; charset=utf-8"),), body)


def faults() -> dict[str, list[Answer]]:
    moved = MOVED_TO.format(id=ARTICLE["moved"]["article_id"])
    section = saved_page("https://www.nzherald.co.nz/world/pacific/").read_bytes()
    with_legacy = section.replace(
        b"</body>", f'<a href="{LEGACY.replace("&", "&amp;")}">old</a></body>'.encode()
    )
    return {
        path("flaky_500"): [status(500), status(500)],
        path("always_503"): [status(503)] * 3,
        path("retry_after_short"): [status(429, Retry_After="1")],
        path("retry_after_long"): [status(429, Retry_After="3600")],
        path("slow"): [slow(TIMEOUT + 1.5)],
        path("reset"): [RESET] * 10,
        path("offsite_redirect"): [redirect("https://www.nzherald.co.nz.evil.example/world/")],
        path("redirect_loop"): [redirect(path("redirect_loop") + "?loop=1")] * 10,
        path("redirect_loop") + "?loop=1": [redirect(path("redirect_loop"))] * 10,
        path("moved"): [redirect(moved)],
        moved: [html(saved_page(ARTICLE["moved"]["url"]).read_bytes())],
        "/world/pacific/": [html(with_legacy)],
        LEGACY: [redirect(ARTICLE["legacy_target"]["url"])],
    }


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("faulty")
    with FaultySite(SITE, self_signed_certificate(root), faults=faults(), lifetime=100) as site:
        settings = {
            "HERALD_DATASET_DIR": root / "dataset",
            "DOWNLOAD_DELAY": 0,
            "AUTOTHROTTLE_ENABLED": False,
            "CONCURRENT_REQUESTS_PER_DOMAIN": 4,
            "DOWNLOAD_TIMEOUT": TIMEOUT,
            "RETRY_TIMES": 2,
            "HERALD_BACKOFF_BASE": 0.3,
            "HERALD_BACKOFF_MAX": 2,
            "LOG_LEVEL": "INFO",
            # a third of the articles fail on purpose: not what this test looks at (test_health)
            "HERALD_MAX_FAILED_SHARE": 1,
        }
        done = crawl_through(site, ["world"], settings, timeout=90)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    rows = {row["article_id"]: row for row in read_articles(root / "dataset").to_pylist()}
    stats = {key: value for key, value in STATS.findall(done.stderr)}
    return {"site": site, "log": done.stderr, "stats": stats, "rows": rows, "dataset": root / "dataset"}


def stat(run: dict[str, Any], key: str) -> int:
    return int(run["stats"].get(key, 0))


def test_crawl_finishes(run: dict[str, Any]) -> None:
    assert run["stats"]["finish_reason"] == "finished"


@pytest.mark.parametrize("role", STORED)
def test_recovered_articles_are_stored_correctly(run: dict[str, Any], role: str) -> None:
    expected = ARTICLE[role]
    row = run["rows"][expected["article_id"]]
    assert (row["url"], row["title"], row["authors"]) == (
        expected["url"],
        expected["title"],
        expected["authors"],
    )
    assert row["published_at"].strftime("%Y-%m-%dT%H:%M:%SZ") == expected["published_at"]


@pytest.mark.parametrize("role", FAILED)
def test_failed_articles_are_not_stored_and_logged_with_url(run: dict[str, Any], role: str) -> None:
    assert ARTICLE[role]["article_id"] not in run["rows"]
    assert re.search(rf"(failed|Refused|not retried).*{re.escape(ARTICLE[role]['url'])}", run["log"])


def test_no_article_is_silently_missing(run: dict[str, Any]) -> None:
    requested = {urls.article_id(f"https://{s.host}{s.path}") for s in run["site"].seen if s.method == "GET"}
    requested.discard(None)
    assert len(run["rows"]) + stat(run, "herald/articles_failed") == len(requested)
    assert stat(run, "herald/articles_failed") == len(FAILED)


def test_retries_back_off_and_give_up(run: dict[str, Any]) -> None:
    site: FaultySite = run["site"]
    assert [s.answer for s in site.requests_for(path("flaky_500"))] == ["500", "500", "200"]
    assert [s.answer for s in site.requests_for(path("always_503"))] == ["503"] * 3
    flaky = site.requests_for(path("flaky_500"))
    assert flaky[1].at - flaky[0].at >= 0.3 and flaky[2].at - flaky[1].at >= 0.6  # 0.3 s, then 0.6 s
    assert stat(run, "herald/http_errors/503") == 1
    assert stat(run, "retry/reason_count/500 Internal Server Error") == 2


def test_retry_after_is_honoured_or_refused(run: dict[str, Any]) -> None:
    site: FaultySite = run["site"]
    short = site.requests_for(path("retry_after_short"))
    assert [s.answer for s in short] == ["429", "200"]
    assert short[1].at - short[0].at >= 0.95
    assert [s.answer for s in site.requests_for(path("retry_after_long"))] == ["429"]
    assert stat(run, "herald/backoff/retry_after_too_long") == 1
    assert stat(run, "herald/http_errors/429") == 1


def test_timeouts_and_resets_are_retried_then_counted(run: dict[str, Any]) -> None:
    site: FaultySite = run["site"]
    slow = site.requests_for(path("slow"))
    assert [s.answer for s in slow] == ["200 slow", "200"]
    assert slow[1].at - slow[0].at >= TIMEOUT + 0.2  # timed out, then backed off 0.3 s
    # Twisted's connection pool may resend once on a lost pooled connection: 3 or more tries
    resets = [s.answer for s in site.requests_for(path("reset"))]
    assert len(resets) >= 3 and set(resets) == {"reset"}
    assert stat(run, "retry/reason_count/scrapy.exceptions.DownloadTimeoutError") >= 1
    failures = {k: v for k, v in run["stats"].items() if k.startswith("herald/request_failures/")}
    assert sum(map(int, failures.values())) >= 3, failures  # reset, redirect off site, loop


def test_redirects_stay_on_site_and_loops_end(run: dict[str, Any]) -> None:
    site: FaultySite = run["site"]
    assert {s.host for s in site.seen} == {urls.HOST}, "a request left the site"
    assert stat(run, "herald/offsite_refused/redirect") == 1
    assert "Refused a redirect off the site" in run["log"]
    loop = site.requests_for(path("redirect_loop")) + site.requests_for(path("redirect_loop") + "?loop=1")
    assert 2 <= len(loop) <= 6
    assert "max redirections reached" in run["log"]


def test_moved_and_legacy_articles_are_stored_under_their_article_id(run: dict[str, Any]) -> None:
    site: FaultySite = run["site"]
    assert [s.answer for s in site.requests_for(LEGACY)] == ["301"]
    assert site.requests_for(MOVED_TO.format(id=ARTICLE["moved"]["article_id"]))
    ids = list(run["rows"])
    assert len(ids) == len(set(ids))


def test_hostile_links_are_never_followed(run: dict[str, Any]) -> None:
    site: FaultySite = run["site"]
    assert site.requests_for("/world/pacific/"), "the page with the hostile links was not read"
    assert not [s for s in site.seen if EVIL_ID in s.path or ".." in s.path or "%2e" in s.path.lower()]
    assert {s.host for s in site.seen} == {urls.HOST}


def test_cookies_and_credentials_never_sent_logged_or_stored(run: dict[str, Any]) -> None:
    site: FaultySite = run["site"]
    assert not [s for s in site.seen if s.credentials]
    secret = SESSION_COOKIE.split("=", 1)[1]
    assert secret not in run["log"] and "password" not in run["log"]
    for path in (run["dataset"] / "articles").glob("*.parquet"):
        assert secret.encode() not in path.read_bytes()
    assert not any(secret in str(value) for row in run["rows"].values() for value in row.values())
