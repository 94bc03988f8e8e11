"""The site's XML feeds: the sitemap index, by-day and news sitemaps, and RSS (docs/site.md §6).

A :class:`FeedPage` per response, as :class:`~herald_spider.pages.page.Page` is per HTML page.
It reads the body as a stream (lxml ``iterparse``; each entry is dropped once read, so a
sitemap of 50 000 entries never becomes a tree in memory) and yields one :class:`FeedEntry`
per ``<sitemap>``, ``<url>`` or ``<item>``. It never builds a Request: routing is the spider's.

Input is not trusted. What was wrong with it is in :attr:`FeedPage.problems` once the entries
are read, each named before a colon as page problems are (the spider counts them):

- ``feed_not_xml``: an HTML page (an error page served at the feed's URL) or other non-XML;
- ``feed_not_a_feed``: XML whose root is none of ``sitemapindex``, ``urlset``, ``rss``;
- ``feed_malformed``: broken XML after the start (a truncated download, a stray ``&``): the
  entries before the break are kept and lxml's recovering parser reads on from there; or a
  broken gzip stream;
- ``feed_namespace``: a sitemap without the sitemaps.org namespace, or with another one (its
  entries are read by their local names all the same);
- ``feed_lists_itself``: a sitemap index entry that is the index itself (skipped);
- ``feed_too_large``: more than ``max_size`` bytes, as sent or once gunzipped (a gzip bomb);
  nothing past the limit is read;
- ``feed_bad_date``: entries whose ``lastmod`` / ``pubDate`` does not parse (kept, undated);
- ``feed_bad_loc``: entries whose location is empty, relative or off the site (skipped).
"""

from __future__ import annotations

import contextlib
import re
import zlib
from collections.abc import Generator
from datetime import date, datetime
from io import BytesIO
from typing import Any, NamedTuple

from lxml import etree
from w3lib.url import canonicalize_url

from herald_spider import urls
from herald_spider.pages.dates import parse_rfc822_datetime, parse_w3c_datetime

SITEMAP_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"
NEWS_NS = "http://www.google.com/schemas/sitemap-news/0.9"

#: Root element -> the element each entry is.
ENTRY_OF_ROOT = {"sitemapindex": "sitemap", "urlset": "url", "rss": "item"}
#: A by-day sitemap's day, as its URL names it (``/arc/outboundfeeds/sitemap3/2024-04-06/``).
_DAY_IN_PATH = re.compile(r"/(\d{4}-\d{2}-\d{2})(?:/|$)")
_GZIP_MAGIC = b"\x1f\x8b"
#: the start of an HTML page (an XML declaration and comments may come first)
_HTML_START = re.compile(
    rb"^\s*(?:<\?xml[^>]*>\s*)?(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html)[\s>]", re.I | re.S
)
_CHUNK = 64 * 1024


class FeedEntry(NamedTuple):
    """One entry of a feed: a sitemap of an index, or an article URL of a sitemap or RSS feed."""

    url: str
    #: ``lastmod``, the news sitemap's ``publication_date`` or RSS ``pubDate``: the latest given
    time: datetime | None = None
    #: for a sitemap index entry: the day its URL names, if any
    day: date | None = None


def day_of(url: str) -> date | None:
    """The day a by-day sitemap's URL names.

    >>> day_of("https://www.nzherald.co.nz/arc/outboundfeeds/sitemap3/2024-04-06/?outputType=xml")
    datetime.date(2024, 4, 6)
    >>> day_of("https://www.nzherald.co.nz/arc/outboundfeeds/sitemap/latest/?outputType=xml") is None
    True
    >>> day_of("https://www.nzherald.co.nz/arc/outboundfeeds/sitemap3/2024-02-30/") is None
    True
    """
    match = _DAY_IN_PATH.search(url.split("?", 1)[0])
    if match is None:
        return None
    try:
        return date.fromisoformat(match.group(1))
    except ValueError:
        return None


def _local(tag: Any) -> str:
    """An element's tag without its namespace ('' for comments and processing instructions)."""
    if not isinstance(tag, str):
        return ""
    return tag.rpartition("}")[2]


def _namespace(tag: str) -> str:
    return tag[1:].partition("}")[0] if tag.startswith("{") else ""


def _text(element: Any) -> str:
    return (element.text or "").strip()


def gunzip_limited(data: bytes, max_size: int) -> bytes:
    """Gunzip ``data``, refusing to make more than ``max_size`` bytes (0: no limit).

    Raises :class:`TooLarge` past the limit and ``zlib.error`` for a broken stream.

    >>> import gzip
    >>> gunzip_limited(gzip.compress(b"<urlset/>"), 100)
    b'<urlset/>'
    >>> gunzip_limited(gzip.compress(b"0" * 1000), 100)
    Traceback (most recent call last):
    ...
    herald_spider.pages.feeds.TooLarge: more than 100 bytes once gunzipped
    """
    inflater = zlib.decompressobj(wbits=47)  # gzip or zlib header, detected
    out = BytesIO()
    pending = data
    while pending:
        chunk = inflater.decompress(pending, _CHUNK)
        out.write(chunk)
        if max_size and out.tell() > max_size:
            raise TooLarge(f"more than {max_size} bytes once gunzipped")
        if inflater.eof:
            break
        pending = inflater.unconsumed_tail
    if not inflater.eof:
        raise zlib.error("the gzip stream ends early")
    return out.getvalue()


class TooLarge(ValueError):
    """A feed over the size limit."""


class FeedPage:
    """One XML feed response, read once as a stream of entries."""

    def __init__(self, url: str, body: bytes, max_size: int = 0) -> None:
        self.url = url
        self.body = body
        self.max_size = max_size
        #: the root element's local name once read: ``sitemapindex``, ``urlset`` or ``rss``
        self.kind: str | None = None
        #: whether a ``<url>`` carried Google News fields (a news sitemap)
        self.news = False
        #: what was wrong with the feed, complete once :meth:`entries` is exhausted
        self.problems: list[str] = []
        #: entries with a date that does not parse / a location skipped: (count, first value)
        self._bad_dates: tuple[int, str] = (0, "")
        self._bad_locs: tuple[int, str] = (0, "")
        #: entry elements the current parse has passed
        self._seen = 0

    # --- reading --------------------------------------------------------------------------

    def entries(self) -> Generator[FeedEntry]:
        """The feed's entries, in document order, as they are read.

        Broken XML (a truncated download, a stray ``&``) is read on by lxml's recovering
        parser from where the strict one stopped, so one bad byte does not lose the rest.
        """
        body = self._xml_body()
        if body is None:
            return
        try:
            yield from self._read(body, recover=False, skip=0)
        except etree.XMLSyntaxError as exc:
            if self.kind is None:
                if not self.problems:  # not a root that was refused
                    self.problems.append(f"feed_not_xml: not XML ({exc})")
                return
            seen = self._seen
            self.problems.append(
                f"feed_malformed: broken XML after {seen} entries ({exc}); read on with a recovering parser"
            )
            with contextlib.suppress(etree.XMLSyntaxError):  # what could be recovered was
                yield from self._read(body, recover=True, skip=seen)
        finally:
            self._summarise()

    def _read(self, body: bytes, *, recover: bool, skip: int) -> Generator[FeedEntry]:
        """Entries after the first ``skip``; each entry element is dropped once read."""
        self._seen = 0
        root = None
        parser = etree.iterparse(
            BytesIO(body),
            events=("start", "end"),
            recover=recover,
            resolve_entities=False,
            no_network=True,
            load_dtd=False,
            huge_tree=False,
            remove_comments=True,
            remove_pis=True,
        )
        for event, element in parser:
            if root is None:
                root = element
                if self.kind is None and not self._accept_root(element):
                    return
                continue
            if event != "end" or _local(element.tag) != ENTRY_OF_ROOT[self.kind or ""]:
                continue
            self._seen += 1
            entry = self._entry(element) if self._seen > skip else None
            parent = element.getparent()
            element.clear()
            while parent is not None and element.getprevious() is not None:
                del parent[0]  # entries read before this one: nothing keeps them
            if entry is not None:
                yield entry

    def _xml_body(self) -> bytes | None:
        body = self.body
        if self.max_size and len(body) > self.max_size:
            self.problems.append(f"feed_too_large: {len(body)} bytes, more than {self.max_size}")
            return None
        if body[:2] == _GZIP_MAGIC:  # a .xml.gz sitemap, not decoded by the HTTP layer
            try:
                body = gunzip_limited(body, self.max_size)
            except TooLarge as exc:
                self.problems.append(f"feed_too_large: {exc}, not read")
                return None
            except zlib.error as exc:
                self.problems.append(f"feed_malformed: broken gzip ({exc})")
                return None
        if not body.strip():
            self.problems.append("feed_not_xml: empty")
            return None
        if _HTML_START.match(body[:4096]):
            self.problems.append("feed_not_xml: an HTML page, not a sitemap or feed")
            return None
        return body

    def _accept_root(self, root: Any) -> bool:
        name = _local(root.tag)
        if name not in ENTRY_OF_ROOT:
            self.problems.append(f"feed_not_a_feed: the root element is <{name}>, not a sitemap or RSS feed")
            return False
        self.kind = name
        if name != "rss" and _namespace(root.tag) != SITEMAP_NS:
            found = _namespace(root.tag) or "none"
            self.problems.append(f"feed_namespace: <{name}> in namespace {found}, not {SITEMAP_NS}")
        return True

    def _entry(self, element: Any) -> FeedEntry | None:
        if self.kind == "rss":
            return self._item(element)
        loc, times = "", []
        for child in element:
            name = _local(child.tag)
            if name == "loc":
                loc = _text(child)
            elif name == "lastmod":
                times.append(_text(child))
            elif name == "news":
                self.news = True
                times.extend(_text(el) for el in child if _local(el.tag) == "publication_date")
        url = self._checked_url(loc)
        if url is None:
            return None
        if self.kind == "sitemapindex":
            if canonicalize_url(url) == canonicalize_url(self.url):
                self.problems.append(f"feed_lists_itself: the index lists itself ({url}), skipped")
                return None
            return FeedEntry(url, self._latest(times, parse_w3c_datetime), day_of(url))
        return FeedEntry(url, self._latest(times, parse_w3c_datetime))

    def _item(self, element: Any) -> FeedEntry | None:
        link = guid = ""
        times = []
        for child in element:
            name = _local(child.tag)
            if name == "link":
                link = _text(child)
            elif name == "guid" and (child.get("isPermaLink") or "true").lower() != "false":
                guid = _text(child)
            elif name == "pubDate":
                times.append(_text(child))
        url = self._checked_url(link or guid)
        return None if url is None else FeedEntry(url, self._latest(times, parse_rfc822_datetime))

    def _latest(self, values: list[str], parse: Any) -> datetime | None:
        latest = None
        for value in values:
            parsed = parse(value)
            if parsed is None:
                count, first = self._bad_dates
                self._bad_dates = (count + 1, first if count else value)
            elif latest is None or parsed > latest:
                latest = parsed
        return latest

    def _checked_url(self, loc: str) -> str | None:
        """An entry's location when it is an absolute URL on the site."""
        if loc.startswith(("https://", "http://")) and urls.on_site(loc):
            return loc
        count, first = self._bad_locs
        self._bad_locs = (count + 1, first if count else loc)
        return None

    def _summarise(self) -> None:
        count, first = self._bad_dates
        if count:
            self.problems.append(
                f"feed_bad_date: {count} entries with a date that does not parse, first {first[:80]!r}"
            )
        count, first = self._bad_locs
        if count:
            self.problems.append(
                f"feed_bad_loc: {count} entries skipped, not an absolute URL on the site: {first[:200]!r}"
            )
