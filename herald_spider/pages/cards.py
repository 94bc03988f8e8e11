"""Story cards as signs of change: the time a card shows and its "Updated" label.

Pure functions over a response, like :mod:`herald_spider.pages.extract`. Section listings and the
related / latest-from blocks of articles use the same cards (STRUCTURE.md §5), so one reader
serves ``-a refresh=updated`` on both.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from scrapy.http import TextResponse

from herald_spider import urls
from herald_spider.pages import fastcss
from herald_spider.pages import selectors as css
from herald_spider.pages.normalize import parse_card_datetime, parse_iso_datetime


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


def card_signals(response: TextResponse, reference: datetime) -> dict[str, CardSignal]:
    """Article ID -> what its first card on the page shows. ``reference`` dates yearless times."""
    found: dict[str, CardSignal] = {}
    for card in fastcss.selector(response).css(css.STORY_CARD):  # the page's one tree
        article_id = None
        for href in card.css(css.CARD_LINK).xpath("@href").getall():
            _, article_id, _ = urls.href_target(response.url, href.strip())
            if article_id:
                break
        if not article_id or article_id in found:
            continue
        time_el = card.css(css.CARD_TIME)
        shown = parse_iso_datetime(time_el.attrib.get("datetime")) if time_el else None
        if shown is None and time_el:
            shown = parse_card_datetime(" ".join(time_el.css("::text").getall()), reference)
        found[article_id] = CardSignal(shown, bool(card.css(css.CARD_UPDATED)))
    return found
