"""How a crawl went: the checks that make its verdict, from its stats and the runs before it.

Pure functions (no Scrapy): :class:`~herald_spider.extensions.runs.RunRecorder` calls
:func:`judge` when the spider closes, writes the verdict to the ``runs`` row, and ``scrapy
crawl`` exits with :attr:`Verdict.exit_code` (herald_spider/commands/crawl.py).

A crawl that could not crawl the site at all (nothing fetched, the start page failed, soft
blocked) exits 4; one that crawled but looks wrong (too many failed articles, a field's
coverage fallen against the median of the last healthy runs, too many items dropped for missing
fields, no new article on a live crawl when the runs before found some) exits 5. A process
of a crawl shared through Redis that lost Redis mid-crawl exits 6 (the next run resumes).
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

#: ``scrapy crawl`` exit codes for an unhealthy crawl.
EXIT_NOT_CRAWLED = 4
EXIT_UNHEALTHY = 5
EXIT_REDIS_LOST = 6
#: Checks whose failure means the site could not be crawled at all.
SITE_CHECKS = frozenset({"nothing_fetched", "start_failed", "soft_blocked"})
#: Coverage is compared only when the run stored at least this many articles (fewer say little).
MIN_ROWS_FOR_COVERAGE = 10
#: The fields whose coverage is watched: every article has them when the markup is read right.
#: (``updated_at``, ``subsection``, ``distributor``'s agencies and the like vary with the news.)
MONITORED = ("title", "authors", "published_at", "body", "premium", "image_url", "description", "word_count")


@dataclass(frozen=True)
class Thresholds:
    max_failed_share: float = 0.2
    coverage_drop: float = 0.2
    max_dropped_share: float = 0.2
    runs: int = 5


@dataclass
class Verdict:
    """The failed checks of a crawl, each ``(check, what happened)``; healthy when none."""

    failures: list[tuple[str, str]] = field(default_factory=list)

    @property
    def healthy(self) -> bool:
        return not self.failures

    @property
    def word(self) -> str:
        return "healthy" if self.healthy else "failed"

    @property
    def exit_code(self) -> int:
        """
        >>> blocked, fell = Verdict([("soft_blocked", "x")]), Verdict([("coverage:authors", "y")])
        >>> Verdict().exit_code, blocked.exit_code, fell.exit_code
        (0, 4, 5)
        """
        if self.healthy:
            return 0
        if any(check == "redis_lost" for check, _ in self.failures):
            return EXIT_REDIS_LOST
        return EXIT_NOT_CRAWLED if any(check in SITE_CHECKS for check, _ in self.failures) else EXIT_UNHEALTHY


def was_healthy(run: Mapping[str, Any]) -> bool:
    """A ``runs`` row of a healthy crawl (rows older than verdicts: finished and fetched pages).

    >>> old = {"verdict": None, "finish_reason": "finished", "pages_fetched": 3}
    >>> was_healthy({"verdict": "failed"}), was_healthy(old)
    (False, True)
    """
    verdict = run.get("verdict")
    if verdict is not None:
        return bool(verdict == "healthy")
    return run.get("finish_reason") == "finished" and bool(run.get("pages_fetched"))


def _coverage(run: Mapping[str, Any]) -> dict[str, float]:
    return {c["name"]: c["share"] for c in run.get("field_coverage") or [] if c.get("share") is not None}


def judge(
    stats: Mapping[str, Any],
    reason: str,
    run: Mapping[str, Any],
    history: Sequence[Mapping[str, Any]],
    *,
    live: bool,
    thresholds: Thresholds,
) -> Verdict:
    """The verdict on a crawl: its stats, finish reason and ``runs`` row, against ``history`` (the
    healthy runs of the same spider and section before it, oldest first)."""
    verdict = Verdict()
    fail = verdict.failures.append
    parsed = int(stats.get("herald/pages_parsed", 0))
    # a process that joined a shared crawl may find no work left: the others did it
    if parsed == 0 and not stats.get("herald/shared/joined"):
        fail(
            (
                "nothing_fetched",
                f"no page could be fetched ({int(stats.get('response_received_count', 0))} responses, "
                "none of them a page)",
            )
        )
    if stats.get("herald/start_failed"):
        fail(
            (
                "start_failed",
                "the start page (the section listing, or the sitemap index of a backfill) failed",
            )
        )
    if reason == "soft_blocked":
        fail(("soft_blocked", "the site answered with challenge pages"))
    if reason == "redis_lost":
        fail(("redis_lost", "the connection to Redis was lost: the next run resumes the shared crawl"))
    failed = int(stats.get("herald/articles_failed", 0))
    attempts = failed + sum(
        int(stats.get(key, 0))
        for key in ("item_scraped_count", "item_dropped_count", "herald/articles_outside_section")
    )
    if attempts and failed / attempts > thresholds.max_failed_share:
        fail(
            (
                "failed_share",
                f"{failed} of {attempts} article requests failed ({failed / attempts:.0%}, more than "
                f"HERALD_MAX_FAILED_SHARE={thresholds.max_failed_share:g})",
            )
        )
    dropped = sum(int(v) for k, v in stats.items() if k.startswith("herald/dropped/missing_"))
    stored = int(stats.get("herald/articles_stored", 0))
    if dropped and dropped / (dropped + stored) > thresholds.max_dropped_share:
        fail(
            (
                "dropped_share",
                f"{dropped} of {dropped + stored} articles dropped for missing fields "
                f"(more than {thresholds.max_dropped_share:.0%})",
            )
        )
    recent = list(history)[-thresholds.runs :]
    rows = int(stats.get("herald/coverage/rows", 0))
    if recent and rows >= MIN_ROWS_FOR_COVERAGE:
        now = _coverage(run)
        for name, share in sorted((n, s) for n, s in now.items() if n in MONITORED):
            before = [c[name] for c in map(_coverage, recent) if name in c]
            if not before:
                continue
            median = statistics.median(before)
            if median - share > thresholds.coverage_drop:
                fail(
                    (
                        f"coverage:{name}",
                        f"{name} coverage fell to {share:.2f} from {median:.2f} "
                        f"(median of {len(before)} runs)",
                    )
                )
    if live and stored == 0 and not stats.get("herald/refresh/requested"):
        found = [int(r.get("articles_stored") or 0) for r in recent]
        if found and statistics.median(found) > 0:
            fail(
                (
                    "no_new_articles",
                    f"no new article, where the last {len(found)} runs stored "
                    f"{statistics.median(found):g} (median)",
                )
            )
    return verdict


def summary(stats: Mapping[str, Any], run: Mapping[str, Any], verdict: Verdict) -> list[str]:
    """The closing lines a person reads: what was stored, skipped, refreshed, failed, the
    coverage of each field and the verdict."""
    failed = {k.rpartition("/")[2]: int(v) for k, v in stats.items() if k.startswith("herald/http_errors/")}
    failed.update(
        {k.rpartition("/")[2]: int(v) for k, v in stats.items() if k.startswith("herald/request_failures/")}
    )
    dropped = {
        k.removeprefix("herald/dropped/"): int(v) for k, v in stats.items() if k.startswith("herald/dropped/")
    }
    coverage = ", ".join(f"{name} {share:.2f}" for name, share in sorted(_coverage(run).items()))
    lines = [
        f"Crawl {run.get('crawl_id')} of {run.get('spider')} ({run.get('section')}): {verdict.word.upper()}",
        f"  stored {int(stats.get('herald/articles_stored', 0))}, skipped as known "
        f"{int(stats.get('herald/articles_skipped_known', 0))}, "
        f"refreshed {run.get('articles_refreshed') or 0} (revised {run.get('articles_revised') or 0}), "
        f"pages fetched {run.get('pages_fetched') or 0}",
        "  failed: "
        + (", ".join(f"{n} x{c}" for n, c in sorted(failed.items())) or "none")
        + "; dropped: "
        + (", ".join(f"{n} x{c}" for n, c in sorted(dropped.items())) or "none"),
        f"  coverage: {coverage or 'no article stored'}",
    ]
    lines += [f"  FAILED {check}: {message}" for check, message in verdict.failures]
    return lines
