"""Log a dropped or failed item by its URL and the reason, never by the item itself.

Scrapy's ``LogFormatter`` writes the whole item after "Dropped: <reason>" and after "Error
processing": an article with a 5 MB body made a 5 MB log line. The reasons this project
gives (``DropItem`` in ``pipelines/validate.py`` and ``pipelines/plausible.py``) already end
with the URL; the URL is added when a reason lacks it. Levels are Scrapy's: a drop at the
exception's ``log_level`` or ``DEFAULT_DROPITEM_LOG_LEVEL`` (WARNING), an item error at ERROR
(Scrapy adds the traceback). ``scraped`` (DEBUG) is Scrapy's as it is.
"""

from __future__ import annotations

from typing import Any

from itemadapter import ItemAdapter, is_item
from scrapy import Spider
from scrapy.http import Response
from scrapy.logformatter import LogFormatter, LogFormatterResult
from twisted.python.failure import Failure

#: Longer reasons are cut: a reason is a sentence, not a place for page text.
MAX_REASON_CHARS = 500


class HeraldLogFormatter(LogFormatter):
    def dropped(
        self,
        item: Any,
        exception: BaseException,
        response: Response | Failure | None,
        spider: Spider,
    ) -> LogFormatterResult:
        level = super().dropped(item, exception, response, spider)["level"]
        reason = _with_url(_short(str(exception)), _url(item, response))
        return {"level": level, "msg": "Dropped: %(reason)s", "args": {"reason": reason}}

    def item_error(
        self,
        item: Any,
        exception: BaseException,
        response: Response | Failure | None,
        spider: Spider,
    ) -> LogFormatterResult:
        level = super().item_error(item, exception, response, spider)["level"]
        reason = _short(f"{type(exception).__name__}: {exception}")
        return {
            "level": level,
            "msg": "Error processing the item from %(url)s: %(reason)s",
            "args": {"url": _url(item, response), "reason": reason},
        }


def _url(item: Any, response: Response | Failure | None) -> str:
    """The item's URL, else the URL of the response it came from."""
    url = ItemAdapter(item).get("url") if is_item(item) else None
    if not url and isinstance(response, Response):
        url = response.url
    return str(url or "(no url)")


def _short(text: str) -> str:
    """``text`` cut to :data:`MAX_REASON_CHARS`.

    >>> _short("Missing title: https://h/a/")
    'Missing title: https://h/a/'
    >>> len(_short("x" * 5_000_000))
    501
    """
    return text if len(text) <= MAX_REASON_CHARS else text[:MAX_REASON_CHARS] + "…"


def _with_url(reason: str, url: str) -> str:
    """``reason``, naming ``url`` at the end if it does not already.

    >>> _with_url("Missing title: https://h/a/", "https://h/a/")
    'Missing title: https://h/a/'
    >>> _with_url("Not wanted", "https://h/a/")
    'Not wanted: https://h/a/'
    """
    return reason if url in reason else f"{reason}: {url}"
