"""Timestamps as the site writes them: ISO 8601, the article's display format, card times,
sitemap ``lastmod`` (W3C Datetime) and RSS ``pubDate`` (RFC 822).

Normalisers like :mod:`herald_spider.pages.normalize`: one value in, a tz-aware UTC datetime
out, ``None`` when the text does not parse. Dates shown on the site are UTC (docs/site.md §7).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from email.utils import parsedate_to_datetime

from herald_spider.pages.normalize import collapse_ws

_ISO = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?"
    r"\s*(Z|[+-]\d{2}:?\d{2})?$",
    re.IGNORECASE,
)
_MONTHS = {
    m: i
    for i, m in enumerate(
        ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], 1
    )
}
_ARTICLE_DISPLAY = re.compile(
    r"^(\d{1,2})\s+([A-Za-z]{3})[a-z]*,?\s+(\d{4}),?\s+(\d{1,2}):(\d{2})\s*([AaPp][Mm])$"
)
_CARD_DISPLAY = re.compile(r"^(\d{1,2})\s+([A-Za-z]{3})[a-z]*,?\s+(\d{1,2}):(\d{2})\s*([AaPp][Mm])$")


def parse_iso_datetime(value: str | None) -> datetime | None:
    """An ISO 8601 timestamp as tz-aware UTC, to the second; None when not ISO.

    A value without an offset is UTC, as everywhere on this site (docs/site.md §7).

    >>> parse_iso_datetime("2022-10-11T01:03:53.853Z")
    datetime.datetime(2022, 10, 11, 1, 3, 53, tzinfo=datetime.timezone.utc)
    >>> parse_iso_datetime("2022-10-11T14:00:00+13:00")
    datetime.datetime(2022, 10, 11, 1, 0, tzinfo=datetime.timezone.utc)
    >>> parse_iso_datetime("2024-04-06T13:45:00")
    datetime.datetime(2024, 4, 6, 13, 45, tzinfo=datetime.timezone.utc)
    >>> parse_iso_datetime("2022-02-30T10:00:00Z") is None
    True
    >>> parse_iso_datetime("yesterday") is None
    True
    """
    text = collapse_ws(value)
    if text is None:
        return None
    match = _ISO.match(text)
    if not match:
        return None
    year, month, day, hour, minute, second, _fraction, offset = match.groups()
    tz = UTC
    if offset and offset.upper() != "Z":
        sign = -1 if offset[0] == "-" else 1
        digits = offset[1:].replace(":", "")
        tz = timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))
    try:
        parsed = datetime(
            int(year), int(month), int(day), int(hour), int(minute), int(second or 0), tzinfo=tz
        )
    except ValueError:
        return None
    return parsed.astimezone(UTC)


def _clock(hour: str, minute: str, meridiem: str) -> tuple[int, int] | None:
    h, m = int(hour), int(minute)
    if not 1 <= h <= 12 or m > 59:
        return None
    h = h % 12 + (12 if meridiem.lower() == "pm" else 0)
    return h, m


def parse_display_datetime(value: str | None) -> datetime | None:
    """An article's displayed time ("13 Jan, 2022 08:32 PM"), which is UTC on this site.

    >>> parse_display_datetime("13 Jan, 2022 08:32 PM")
    datetime.datetime(2022, 1, 13, 20, 32, tzinfo=datetime.timezone.utc)
    >>> parse_display_datetime("01 Jan, 2024 12:05 AM")
    datetime.datetime(2024, 1, 1, 0, 5, tzinfo=datetime.timezone.utc)
    >>> parse_display_datetime("31 Dec, 2023 12:30 PM")
    datetime.datetime(2023, 12, 31, 12, 30, tzinfo=datetime.timezone.utc)
    >>> parse_display_datetime("30 Feb, 2022 08:32 PM") is None
    True
    """
    text = collapse_ws(value)
    match = _ARTICLE_DISPLAY.match(text or "")
    if not match:
        return None
    day, mon, year, hour, minute, meridiem = match.groups()
    clock = _clock(hour, minute, meridiem)
    month = _MONTHS.get(mon.lower())
    if clock is None or month is None:
        return None
    try:
        return datetime(int(year), month, int(day), *clock, tzinfo=UTC)
    except ValueError:
        return None


def parse_card_datetime(value: str | None, reference: datetime) -> datetime | None:
    """A story card's time ("18 Jun 08:15 PM", UTC, no year) resolved against ``reference``.

    The year is the reference's, or the one before when that would put the time more than a
    day in the future (a card is never newer than the crawl; a day of slack covers clocks).

    >>> ref = datetime(2025, 6, 19, 0, 40, tzinfo=timezone.utc)
    >>> parse_card_datetime("18 Jun 08:15 PM", ref)
    datetime.datetime(2025, 6, 18, 20, 15, tzinfo=datetime.timezone.utc)
    >>> parse_card_datetime("31 Dec 11:05 PM", datetime(2026, 1, 1, 2, 0, tzinfo=timezone.utc))
    datetime.datetime(2025, 12, 31, 23, 5, tzinfo=datetime.timezone.utc)
    >>> parse_card_datetime("29 Feb 10:00 AM", datetime(2025, 3, 1, tzinfo=timezone.utc))
    datetime.datetime(2024, 2, 29, 10, 0, tzinfo=datetime.timezone.utc)
    >>> parse_card_datetime("18 Jun", ref) is None
    True
    """
    text = collapse_ws(value)
    match = _CARD_DISPLAY.match(text or "")
    if not match:
        return None
    day, mon, hour, minute, meridiem = match.groups()
    clock = _clock(hour, minute, meridiem)
    month = _MONTHS.get(mon.lower())
    if clock is None or month is None:
        return None
    reference = reference.astimezone(UTC)
    for year in range(reference.year, reference.year - 8, -1):
        try:
            candidate = datetime(year, month, int(day), *clock, tzinfo=UTC)
        except ValueError:
            continue  # 29 Feb in a common year: try the year before
        if candidate <= reference + timedelta(days=1):
            return candidate
    return None


def parse_datetime(value: str | None) -> datetime | None:
    """ISO first, then the article display format; tz-aware UTC to the second.

    >>> parse_datetime("2022-01-13T20:32:00Z") == parse_datetime("13 Jan, 2022 08:32 PM")
    True
    """
    return parse_iso_datetime(value) or parse_display_datetime(value)


_W3C_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")


def parse_w3c_datetime(value: str | None) -> datetime | None:
    """A sitemap ``lastmod`` (W3C Datetime: a day, or ISO with an offset) as tz-aware UTC.

    A bare day is its first second, UTC.

    >>> parse_w3c_datetime("2025-07-17T07:58:41.123Z")
    datetime.datetime(2025, 7, 17, 7, 58, 41, tzinfo=datetime.timezone.utc)
    >>> parse_w3c_datetime("2025-06-18")
    datetime.datetime(2025, 6, 18, 0, 0, tzinfo=datetime.timezone.utc)
    >>> parse_w3c_datetime("2025-06-31") is None, parse_w3c_datetime("last Tuesday") is None
    (True, True)
    """
    text = collapse_ws(value)
    match = _W3C_DATE.match(text or "")
    if not match:
        return parse_iso_datetime(text)
    try:
        year, month, day = map(int, match.groups())
        return datetime(year, month, day, tzinfo=UTC)
    except ValueError:
        return None


def parse_rfc822_datetime(value: str | None) -> datetime | None:
    """An RSS ``pubDate`` (RFC 822: ``Wed, 18 Jun 2025 21:40:00 +0000``) as tz-aware UTC.

    >>> parse_rfc822_datetime("Wed, 18 Jun 2025 21:40:00 +0000")
    datetime.datetime(2025, 6, 18, 21, 40, tzinfo=datetime.timezone.utc)
    >>> parse_rfc822_datetime("Thu, 19 Jun 2025 12:40:00 +1200")
    datetime.datetime(2025, 6, 19, 0, 40, tzinfo=datetime.timezone.utc)
    >>> parse_rfc822_datetime("Wed, 31 Jun 2025 21:40:00 +0000") is None
    True
    """
    text = collapse_ws(value)
    if not text:
        return None
    try:
        parsed = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if parsed.tzinfo is None:  # "-0000": no zone given; UTC, as everywhere on this site
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)
