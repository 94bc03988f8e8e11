"""A backfill's window and progress: which by-day sitemaps it reads, and how far it is.

``scrapy crawl world -a since=2024-02-01 [-a until=2024-12-31]`` reads the site's sitemap index
and requests the by-day sitemaps whose day lies in the window (docs/site.md §6). Nothing here
knows Scrapy: the spider keeps one :class:`Backfill` as its state (saved with ``JOBDIR``) and
:class:`~herald_spider.extensions.progress.BackfillProgress` words :func:`progress_line` from it.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

#: The first day the live site's sitemap index lists (docs/site.md §6): earlier years are
#: only in web archives.
SITEMAPS_BEGIN = date(2024, 2, 1)
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _day_arg(name: str, value: str) -> date:
    text = value.strip()
    try:
        if not _DAY.match(text):
            raise ValueError
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{name}={value!r} is not a date: give a day as YYYY-MM-DD (UTC)") from None


@dataclass(frozen=True)
class Window:
    """The days a backfill covers, both ends included (UTC)."""

    since: date | None
    until: date

    @classmethod
    def from_args(cls, since: str | None, until: str | None, today: date) -> Window | None:
        """The window the spider arguments ask for; None for a crawl that is no backfill.

        >>> today = date(2026, 12, 7)
        >>> Window.from_args("2025-01-01", "2025-03-31", today)
        Window(since=datetime.date(2025, 1, 1), until=datetime.date(2025, 3, 31))
        >>> Window.from_args("2024-02-01", None, today).until
        datetime.date(2026, 12, 7)
        >>> Window.from_args(None, None, today) is None
        True
        >>> Window.from_args("2025-13-01", None, today)
        Traceback (most recent call last):
        ...
        ValueError: since='2025-13-01' is not a date: give a day as YYYY-MM-DD (UTC)
        >>> Window.from_args("2025-03-31", "2025-01-01", today)
        Traceback (most recent call last):
        ...
        ValueError: until=2025-01-01 is before since=2025-03-31
        >>> Window.from_args("2027-01-01", None, today)
        Traceback (most recent call last):
        ...
        ValueError: since=2027-01-01 is in the future (today is 2026-12-07, UTC)
        """
        if since is None and until is None:
            return None
        first = _day_arg("since", since) if since is not None else None
        last = _day_arg("until", until) if until is not None else today
        for name, day in (("since", first), ("until", last)):
            if day is not None and day > today:
                raise ValueError(f"{name}={day} is in the future (today is {today}, UTC)")
        if first is not None and last < first:
            raise ValueError(f"until={last} is before since={first}")
        return cls(first, last)

    def __contains__(self, day: object) -> bool:
        """
        >>> window = Window(date(2025, 1, 1), date(2025, 3, 31))
        >>> date(2025, 1, 1) in window, date(2025, 3, 31) in window, date(2025, 4, 1) in window
        (True, True, False)
        """
        if not isinstance(day, date):
            return False
        return (self.since is None or self.since <= day) and day <= self.until

    def __str__(self) -> str:
        return f"{self.since or 'the first day'} to {self.until}"


@dataclass
class Backfill:
    """The by-day sitemaps of a backfill: those still to request, and how many are done."""

    window: Window
    #: URLs of in-window day sitemaps not yet requested, in the index's order (newest first)
    pending: deque[str] = field(default_factory=deque)
    #: every sitemap URL the index listed, so an index listed twice adds nothing twice
    listed: set[str] = field(default_factory=set)
    days_total: int = 0
    #: day sitemaps requested, and read (or failed): the difference is in flight
    days_requested: int = 0
    days_done: int = 0
    #: article requests the day sitemaps made (for the time-left estimate)
    articles_listed: int = 0

    def add(self, url: str) -> bool:
        """Queue an in-window day sitemap; False when the index already listed it.

        >>> backfill = Backfill(Window(None, date(2025, 1, 1)))
        >>> backfill.add("https://x/sitemap/2025-01-01/"), backfill.add("https://x/sitemap/2025-01-01/")
        (True, False)
        >>> backfill.days_total, list(backfill.pending)
        (1, ['https://x/sitemap/2025-01-01/'])
        """
        if url in self.listed:
            return False
        self.listed.add(url)
        self.pending.append(url)
        self.days_total += 1
        return True

    def next_day(self) -> str | None:
        """The next day sitemap to request (counted as requested), if any."""
        if not self.pending:
            return None
        self.days_requested += 1
        return self.pending.popleft()

    @property
    def in_flight(self) -> int:
        """Day sitemaps requested and not yet read."""
        return self.days_requested - self.days_done


def queued(stats: Mapping[str, Any]) -> int:
    """Requests in the scheduler's queue, from Scrapy's stats.

    >>> queued({"scheduler/enqueued": 140, "scheduler/dequeued": 100})
    40
    """
    return int(stats.get("scheduler/enqueued", 0)) - int(stats.get("scheduler/dequeued", 0))


def _duration(seconds: float) -> str:
    """
    >>> _duration(42), _duration(3 * 60 + 5), _duration(26 * 3600 + 60 * 7)
    ('less than a minute', 'about 3 min', 'about 1 d 2 h 7 min')
    """
    minutes = int(seconds // 60)
    if minutes < 1:
        return "less than a minute"
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    parts = [f"{days} d" if days else "", f"{hours} h" if hours else "", f"{minutes} min" if minutes else ""]
    return "about " + " ".join(part for part in parts if part)


def _pace(seconds: float) -> str:
    """
    >>> _pace(1.52), _pace(0.0042)
    ('1.5 s', '4 ms')
    """
    return f"{seconds:.1f} s" if seconds >= 0.1 else f"{seconds * 1000:.0f} ms"


def progress_line(
    backfill: Backfill, section: str, read: int, stored: int, queued: int, seconds_per_request: float | None
) -> str:
    """The minute's progress of a backfill, as a person reads it.

    Time left: the requests queued, plus the days still to read (one sitemap each and the
    articles a day has listed on average so far), at the pace of the last minute (download
    delay, AutoThrottle and server speed all show in it).

    >>> backfill = Backfill(Window(date(2024, 2, 1), date(2024, 4, 30)), days_total=90, days_done=30,
    ...                     articles_listed=1050)
    >>> print(progress_line(backfill, "world", 1040, 1000, 20, 1.5))  # doctest: +NORMALIZE_WHITESPACE
    Backfill of world, 2024-02-01 to 2024-04-30: 30/90 sitemap days read, 1040 articles read (1000
    written), 20 requests queued; about 54 min left at 1.5 s a request
    >>> progress_line(backfill, "world", 1040, 1000, 20, None).endswith("no answer since the last line")
    True
    """
    head = (
        f"Backfill of {section}, {backfill.window}: {backfill.days_done}/{backfill.days_total} sitemap days "
        f"read, {read} articles read ({stored} written), {queued} requests queued"
    )
    if not seconds_per_request:
        return f"{head}; time left unknown: no answer since the last line"
    days_left = backfill.days_total - backfill.days_done
    per_day = backfill.articles_listed / backfill.days_done if backfill.days_done else 0.0
    requests_left = queued + days_left * (1 + per_day)
    left = _duration(requests_left * seconds_per_request)
    return f"{head}; {left} left at {_pace(seconds_per_request)} a request"
