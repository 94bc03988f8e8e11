"""The health checks as pure functions: one failure per check, with its figures."""

from __future__ import annotations

from typing import Any

import pytest

from herald_spider.health import Thresholds, judge, summary, was_healthy

LIMITS = Thresholds()


def stats(**values: int) -> dict[str, Any]:
    base = {"herald/pages_parsed": 30, "response_received_count": 30, "item_scraped_count": 25}
    return {**base, **{k.replace("__", "/"): v for k, v in values.items()}}


def run(authors: float | None = 0.8, stored: int = 25) -> dict[str, Any]:
    coverage = [{"name": "authors", "share": authors}, {"name": "updated_at", "share": 0.1}]
    return {
        "crawl_id": "c",
        "spider": "world",
        "section": "world",
        "field_coverage": coverage,
        "articles_stored": stored,
    }


def checks(verdict: Any) -> list[str]:
    return [check for check, _ in verdict.failures]


def test_a_healthy_crawl_has_no_failure() -> None:
    verdict = judge(
        stats(**{"herald__coverage__rows": 25, "herald__articles_stored": 25}),
        "finished",
        run(),
        [run()],
        live=True,
        thresholds=LIMITS,
    )
    assert verdict.healthy and verdict.exit_code == 0


def test_coverage_falls_against_the_median_of_the_last_runs() -> None:
    history = [run(0.8), run(0.9), run(0.1), run(0.85), run(0.82), run(0.83)]  # the last 5: median 0.83
    now = stats(**{"herald__coverage__rows": 25, "herald__articles_stored": 25})
    verdict = judge(now, "finished", run(0.5), history, live=False, thresholds=LIMITS)
    assert verdict.failures == [
        ("coverage:authors", "authors coverage fell to 0.50 from 0.83 (median of 5 runs)")
    ]
    assert verdict.exit_code == 5


def test_a_field_that_varies_with_the_news_is_not_watched() -> None:
    history = [{**run(), "field_coverage": [{"name": "updated_at", "share": 0.9}]}]
    now = stats(**{"herald__coverage__rows": 25, "herald__articles_stored": 25})
    assert judge(now, "finished", run(), history, live=False, thresholds=LIMITS).healthy


def test_a_small_run_is_not_compared() -> None:
    now = stats(**{"herald__coverage__rows": 3, "herald__articles_stored": 3})
    assert judge(now, "finished", run(0.0), [run(0.9)], live=False, thresholds=LIMITS).healthy


def test_too_many_dropped_for_missing_fields() -> None:
    now = stats(**{"herald__dropped__missing_title": 10, "herald__articles_stored": 20})
    verdict = judge(now, "finished", run(), [], live=False, thresholds=LIMITS)
    assert checks(verdict) == ["dropped_share"] and "10 of 30 articles dropped" in verdict.failures[0][1]


def test_no_new_article_on_a_live_crawl_when_the_last_runs_found_some() -> None:
    now = stats(**{"herald__articles_stored": 0})
    verdict = judge(
        now, "finished", run(None, 0), [run(stored=12), run(stored=8)], live=True, thresholds=LIMITS
    )
    assert checks(verdict) == ["no_new_articles"]
    assert judge(now, "finished", run(None, 0), [run(stored=12)], live=False, thresholds=LIMITS).healthy


@pytest.mark.parametrize(
    ("values", "reason", "check"),
    [
        ({"herald__pages_parsed": 0}, "finished", "nothing_fetched"),
        ({"herald__start_failed": 1}, "finished", "start_failed"),
        ({}, "soft_blocked", "soft_blocked"),
    ],
)
def test_the_site_could_not_be_crawled_exits_4(values: dict[str, int], reason: str, check: str) -> None:
    verdict = judge(stats(**values), reason, run(), [], live=True, thresholds=LIMITS)
    assert check in checks(verdict) and verdict.exit_code == 4


def test_failed_share() -> None:
    now = stats(**{"herald__articles_failed": 10, "item_scraped_count": 20})
    verdict = judge(now, "finished", run(), [], live=False, thresholds=LIMITS)
    assert (
        checks(verdict) == ["failed_share"]
        and "10 of 30 article requests failed (33%" in verdict.failures[0][1]
    )


def test_older_rows_count_as_healthy_when_they_finished_with_pages() -> None:
    assert was_healthy({"finish_reason": "finished", "pages_fetched": 10})
    assert not was_healthy({"finish_reason": "shutdown", "pages_fetched": 10})


def test_summary_names_each_failure() -> None:
    verdict = judge(stats(**{"herald__pages_parsed": 0}), "finished", run(), [], live=True, thresholds=LIMITS)
    lines = summary(stats(**{"herald__http_errors__503": 3}), run(), verdict)
    assert (
        lines[0].endswith(": FAILED")
        and "503 x3" in lines[2]
        and lines[-1].startswith("  FAILED nothing_fetched")
    )
