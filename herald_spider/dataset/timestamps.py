"""How every export writes a timestamp: ISO 8601 in UTC with ``Z``, whole seconds when the value
has no fraction, else the fraction in 3 or 6 digits, as few as hold it exactly
(``2025-06-18T20:15:00Z``, ``2025-06-18T20:15:00.250Z``, ``2025-06-18T20:15:00.123456Z``).
``herald-dataset export`` (:mod:`herald_spider.dataset.cli`) and the crawl's feed exporters
(:mod:`herald_spider.exporters`) both write it."""

from __future__ import annotations

from datetime import UTC, datetime

#: :func:`iso_utc` as a Polars / chrono ``strftime`` format (``%.f``: 3, 6 or 9 digits, as needed).
ISO_FORMAT = "%Y-%m-%dT%H:%M:%S%.fZ"


def iso_utc(value: datetime) -> str:
    """A timestamp as ISO 8601 in UTC with ``Z``; a naive one is taken as UTC, as every
    timestamp of this project is.

    >>> from datetime import timedelta, timezone
    >>> iso_utc(datetime(2025, 6, 18, 20, 15, tzinfo=UTC))
    '2025-06-18T20:15:00Z'
    >>> iso_utc(datetime(2025, 6, 19, 8, 15, tzinfo=timezone(timedelta(hours=12))))
    '2025-06-18T20:15:00Z'
    >>> iso_utc(datetime(2025, 6, 18, 20, 15, 0, 250000)), iso_utc(datetime(2025, 6, 18, 20, 15, 0, 123456))
    ('2025-06-18T20:15:00.250Z', '2025-06-18T20:15:00.123456Z')
    """
    moment = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    fraction = moment.microsecond
    timespec = "seconds" if not fraction else "milliseconds" if fraction % 1000 == 0 else "microseconds"
    return f"{moment.replace(tzinfo=None).isoformat(timespec=timespec)}Z"
