"""Story cards as signs of change: the time a card shows and its "Updated" label.

Pure functions over the cards a page object found (:meth:`herald_spider.pages.page.Page.cards`).
Section listings and the related / latest-from blocks of articles use the same cards
(docs/site.md §5), so one reader serves ``-a refresh=updated`` on both.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from herald_spider import urls
from herald_spider.pages import selectors as sel
from herald_spider.pages.dates import parse_card_datetime, parse_iso_datetime


@dataclass(frozen=True)
class CardSignal:
    """What one card says about its article's freshness."""

    shown_at: datetime | None
    updated_label: bool

    def newer_than(self, published_at: datetime | None, updated_at: datetime | None) -> bool:
        """Whether the card shows a change the stored row lacks.

        A card time later than the stored update (or publication) time is a change; so is an
        "Updated" label on an article stored without any update.

        >>> from datetime import timezone
        >>> t = datetime(2025, 6, 18, 20, 15, tzinfo=timezone.utc)
        >>> later = datetime(2025, 6, 19, 1, 0, tzinfo=timezone.utc)
        >>> CardSignal(later, False).newer_than(t, None), CardSignal(t, False).newer_than(t, None)
        (True, False)
        >>> CardSignal(None, True).newer_than(t, None), CardSignal(t, True).newer_than(t, later)
        (True, False)
        """
        stored = updated_at or published_at
        if self.shown_at is not None and stored is not None and self.shown_at > stored:
            return True
        return self.updated_label and updated_at is None


def card_signals(cards: list[Any], base_url: str, reference: datetime) -> dict[str, CardSignal]:
    """Article ID -> what its first card shows, for the story-card elements of a page at
    ``base_url``. ``reference`` dates yearless times.

    >>> from lxml import etree
    >>> card = etree.fromstring('<article><a href="/world/a/ABCDEFGHIJKLMNOPQRSTUVWXYZ/">A</a>'
    ...     '<time datetime="2025-06-18T20:15:00Z">18 Jun</time></article>')
    >>> found = card_signals([card], "https://www.nzherald.co.nz/world/", datetime(2025, 6, 19))
    >>> signal = found["ABCDEFGHIJKLMNOPQRSTUVWXYZ"]
    >>> signal.shown_at.isoformat(), signal.updated_label
    ('2025-06-18T20:15:00+00:00', False)
    """
    found: dict[str, CardSignal] = {}
    for card in cards:
        article_id = None
        for href in sel.CARD_LINK_HREFS(card):
            _, article_id, _ = urls.href_target(base_url, href.strip())
            if article_id:
                break
        if not article_id or article_id in found:
            continue
        times = sel.CARD_TIME(card)
        shown = parse_iso_datetime(times[0].get("datetime")) if times else None
        if shown is None and times:  # the text of every such time in the card, as shown
            shown = parse_card_datetime(" ".join(text for el in times for text in sel.TEXT(el)), reference)
        found[article_id] = CardSignal(shown, bool(sel.CARD_UPDATED(card)))
    return found
