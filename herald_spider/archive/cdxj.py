"""CDXJ index lines: ``<SURT key> <14-digit UTC timestamp> <JSON>``, one per capture, sorted.

The format pywb and the OpenWayback family read (``cdxj-indexer``'s output), written beside every
WARC file the crawl records and read back for random access on replay. The JSON holds ``url``,
``mime``, ``status``, ``digest`` (``WARC-Payload-Digest``), ``length`` and ``offset`` of the
record's gzip member in the file, ``filename``, and for our own files ``type``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import parse_qsl, urlencode, urlsplit

from w3lib.url import canonicalize_url


def url_key(url: str) -> str:
    """The key a capture is found by: the canonical URL (query arguments sorted, no fragment).

    >>> url_key("https://www.nzherald.co.nz/arc/outboundfeeds/sitemap-index/?outputType=xml&_website=nzh")
    'https://www.nzherald.co.nz/arc/outboundfeeds/sitemap-index/?_website=nzh&outputType=xml'
    >>> url_key("https://www.nzherald.co.nz/world/#top") == url_key("https://www.nzherald.co.nz/world/")
    True
    """
    return canonicalize_url(url, keep_fragments=False)


def surt(url: str) -> str:
    """The SURT form of a URL, as CDXJ sorts by (host reversed, comma separated; ``www`` dropped).

    >>> surt("https://www.nzherald.co.nz/world/?c_id=2&b=1")
    'nz,co,nzherald)/world/?b=1&c_id=2'
    >>> surt("http://Example.org:8080/A")
    'org,example:8080)/a'
    """
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if host.startswith("www."):
        host = host[4:]
    key = ",".join(reversed(host.split(".")))
    if parts.port and parts.port not in (80, 443):
        key += f":{parts.port}"
    path = (parts.path or "/").lower()
    query = urlencode(sorted(parse_qsl(parts.query, keep_blank_values=True))).lower()
    return f"{key}){path}" + (f"?{query}" if query else "")


def timestamp14(when: datetime) -> str:
    """
    >>> timestamp14(datetime(2025, 6, 19, 0, 40, tzinfo=UTC))
    '20250619004000'
    """
    return when.astimezone(UTC).strftime("%Y%m%d%H%M%S")


def parse_timestamp14(value: str) -> datetime:
    """A 14-digit timestamp (shorter ones are padded as Wayback does: to the start of the period).

    >>> parse_timestamp14("20250619004000").isoformat(), parse_timestamp14("2025").isoformat()
    ('2025-06-19T00:40:00+00:00', '2025-01-01T00:00:00+00:00')
    """
    digits = value.strip()
    if not digits.isdigit() or not 4 <= len(digits) <= 14:
        raise ValueError(f"not a timestamp: {value!r}")
    digits = digits + "0101000000"[len(digits) - 4 :] if len(digits) < 14 else digits
    return datetime.strptime(digits, "%Y%m%d%H%M%S").replace(tzinfo=UTC)


@dataclass(frozen=True)
class CdxjEntry:
    """One capture: where its record sits in which file."""

    url: str
    timestamp: str  # 14 digits, UTC
    filename: str  # the WARC file's name, relative to the CDXJ file's folder
    offset: int
    length: int
    status: int | None = None
    mime: str | None = None
    digest: str | None = None
    #: ``response`` or ``revisit`` (other record types are not indexed)
    type: str = "response"

    def line(self) -> str:
        """
        >>> entry = CdxjEntry("https://www.nzherald.co.nz/world/", "20250619004037", "a.warc.gz", 0, 10, 200)
        >>> print(entry.line())  # doctest: +NORMALIZE_WHITESPACE
        nz,co,nzherald)/world/ 20250619004037 {"url": "https://www.nzherald.co.nz/world/", "status": "200",
        "length": "10", "offset": "0", "filename": "a.warc.gz"}
        """
        fields: dict[str, str] = {"url": self.url}
        if self.mime:
            fields["mime"] = self.mime
        if self.status is not None:
            fields["status"] = str(self.status)
        if self.digest:
            fields["digest"] = self.digest
        fields.update(length=str(self.length), offset=str(self.offset), filename=self.filename)
        if self.type != "response":
            fields["type"] = self.type
        return f"{surt(self.url)} {self.timestamp} {json.dumps(fields, ensure_ascii=False)}"


def parse_line(line: str) -> CdxjEntry | None:
    """A CDXJ line as an entry; None for a line that is not one (a comment, a header, junk).

    >>> entry = parse_line('nz,co,nzherald)/world/ 20250619004037 {"url": "https://www.nzherald.co.nz/world/",'
    ...                    ' "status": "200", "length": "10", "offset": "0", "filename": "a.warc.gz"}')
    >>> entry.url, entry.offset, entry.length, entry.status, entry.type
    ('https://www.nzherald.co.nz/world/', 0, 10, 200, 'response')
    >>> parse_line("!meta 0 {}") is None, parse_line("garbage") is None
    (True, True)
    """
    parts = line.rstrip("\n").split(" ", 2)
    if len(parts) != 3 or not parts[1].isdigit():
        return None
    try:
        fields = json.loads(parts[2])
        status = fields.get("status")
        return CdxjEntry(
            url=str(fields["url"]),
            timestamp=parts[1],
            filename=str(fields["filename"]),
            offset=int(fields["offset"]),
            length=int(fields["length"]),
            status=int(status) if status not in (None, "", "-") else None,
            mime=fields.get("mime"),
            digest=fields.get("digest"),
            type=str(fields.get("type", "response")),
        )
    except (ValueError, KeyError, TypeError, AttributeError):
        return None
