"""Images of an article: image records from structured data and from the DOM, merged per image.

An image is described by several sources (JSON-LD ``image``, Fusion ``image`` or ANS
``promo_items.basic``, ``og:image``, the hero figure; Fusion ``elements`` or ANS
``content_elements`` and the body's figures). They are told apart by :func:`image_key`, the Arc
image ID in the URL (docs/site.md §10): the original, the ``og:image`` and every resizer copy of
one photo share it. :func:`merge` takes each value from the first source that gives it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit

from herald_spider.pages.normalize import (
    caption_credit,
    clean_credit,
    clean_text,
    collapse_ws,
    parse_dimension,
)
from herald_spider.pages.structured import as_list, dig, first_str

_ARC_ID = re.compile(r"/([A-Z0-9]{26})\.(?:jpe?g|png|gif|webp)(?:[?#]|$)", re.IGNORECASE)
_FILE = re.compile(r"/([^/?#]+\.(?:jpe?g|png|gif|webp))(?:[?#]|$)", re.IGNORECASE)
#: a 2020/2022 resizer URL: /resizer/<hash>=/<W>x<H>/[smart/]filters:…/<host>/<path of the original>
_RESIZER_EMBEDS = re.compile(
    r"/resizer/[^/]+=/(?:\d+x\d+/)?(?:[a-z-]+/)*(?:filters:[^/]*/)?"
    r"(?P<host>[a-z0-9-]+(?:\.[a-z0-9-]+)+)/(?P<path>.+)$",
    re.IGNORECASE,
)
_RESIZER_SIZE = re.compile(r"/resizer/[^/]+=/(\d+)x(\d+)/")
#: placeholders stand in for lazy images (docs/site.md §5): never an image of the article
_PLACEHOLDER = "/placeholders/"


def image_key(url: str | None) -> str | None:
    """What tells one image from another: the Arc image ID when the URL names one, else the
    file name, else the URL.

    >>> image_key("https://www.nzherald.co.nz/resizer/v2/KRRF2PU4NWJQCVMXEYRMPQFFKT.jpg?auth=1&width=16")
    'KRRF2PU4NWJQCVMXEYRMPQFFKT'
    >>> image_key("https://cloudfront-ap-southeast-2.images.arcpublishing.com/nzme/KRRF2PU4NWJQCVMXEYRMPQFFKT.jpg")
    'KRRF2PU4NWJQCVMXEYRMPQFFKT'
    >>> image_key("https://www.nzherald.co.nz/resizer/v2/LINENSUIT.jpg?width=1200"), image_key(None)
    ('LINENSUIT.jpg', None)
    """
    if not url:
        return None
    found = _ARC_ID.search(url) or _FILE.search(url)
    return found.group(1) if found else url


def original_url(url: str) -> str:
    """The original image a 2020/2022 resizer URL embeds (docs/site.md §10), else ``url``.

    >>> original_url("https://www.nzherald.co.nz/resizer/Ab1=/1440x909/smart/filters:quality(70)/"
    ...              "cloudfront-ap-southeast-2.images.arcpublishing.com/nzme/OUC4WDYV75XY63VZ3MVVB4BBL4.jpg")
    'https://cloudfront-ap-southeast-2.images.arcpublishing.com/nzme/OUC4WDYV75XY63VZ3MVVB4BBL4.jpg'
    >>> original_url("https://www.nzherald.co.nz/resizer/v2/X.jpg?auth=1&width=320&height=202")
    'https://www.nzherald.co.nz/resizer/v2/X.jpg?auth=1&width=320&height=202'
    """
    found = _RESIZER_EMBEDS.search(url)
    return f"https://{found.group('host')}/{found.group('path')}" if found else url


def resized_size(url: str) -> tuple[int | None, int | None]:
    """The pixel size a resizer URL asks for (``/<W>x<H>/`` or ``width=&height=``); a 0 (keep
    the aspect) or a missing value is None.

    >>> resized_size("https://www.nzherald.co.nz/resizer/v2/X.jpg?auth=1&width=1200&height=675&smart=true")
    (1200, 675)
    >>> resized_size("https://www.nzherald.co.nz/resizer/Ab1=/300x0/arc-anglerfish-syd-prod-nzme/public/X.jpg")
    (300, None)
    >>> resized_size("https://cloudfront-ap-southeast-2.images.arcpublishing.com/nzme/X.jpg")
    (None, None)
    """
    if "/resizer/" not in url:
        return None, None
    found = _RESIZER_SIZE.search(url)
    if found:
        return parse_dimension(found.group(1)), parse_dimension(found.group(2))
    query = urlsplit(url).query
    return parse_dimension(_query_value(query, "width")), parse_dimension(_query_value(query, "height"))


def _query_value(query: str, name: str) -> str | None:
    """The first value of ``name`` in a URL query, as ``parse_qs(query)[name][0]`` reads it
    (empty values left out, ``+`` and %-escapes decoded), without decoding the whole query.

    >>> _query_value("a=1&width=&width=3+4&width=5", "width"), _query_value("w%69dth=7", "width")
    ('3 4', '7')
    >>> _query_value("width&height=2", "width") is None
    True
    """
    for pair in query.split("&"):
        key, equals, value = pair.partition("=")
        if equals and value and unquote(key.replace("+", " ")) == name:
            return unquote(value.replace("+", " "))
    return None


def largest_candidate(img: Any, base_url: str) -> str | None:
    """The largest image an ``<img>`` offers (``data-srcset``, ``srcset``, ``data-src``,
    ``src``; a ``w`` descriptor or the resizer size orders them), placeholders left out; an
    embedded original is preferred to its resized copy (:func:`original_url`).

    >>> from lxml import etree
    >>> img = etree.fromstring('<img src="/pf/resources/images/placeholders/p.png" data-srcset="'
    ...     'https://x.org/resizer/v2/A.jpg?width=320 320w, https://x.org/resizer/v2/A.jpg?width=768 768w"/>')
    >>> largest_candidate(img, "https://www.nzherald.co.nz/")
    'https://x.org/resizer/v2/A.jpg?width=768'
    """
    best: tuple[int, str] | None = None
    for attribute in ("data-srcset", "srcset", "data-src", "src"):
        value = img.get(attribute)
        if not value:
            continue
        entries = value.split(",") if attribute.endswith("srcset") else [value]
        for entry in entries:
            parts = entry.split()
            if not parts or _PLACEHOLDER in parts[0] or parts[0].startswith("data:"):
                continue
            url = parts[0] if parts[0].startswith("https://") else urljoin(base_url, parts[0])
            descriptor = parts[1] if len(parts) > 1 else ""
            width = int(descriptor[:-1]) if descriptor[:-1].isdigit() and descriptor.endswith("w") else None
            rank = width or resized_size(url)[0] or 0
            if best is None or rank > best[0]:
                best = (rank, url)
    return original_url(best[1]) if best else None


@dataclass(frozen=True)
class Record:
    """What one source says about one image."""

    url: str | None
    caption: str | None = None
    credit: str | None = None
    width: int | None = None
    height: int | None = None
    #: :func:`image_key` of the URL
    key: str | None = field(init=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "key", image_key(self.url))


def web_url(url: str | None) -> str | None:
    """``url`` unless it names a scheme other than http(s): a ``data:`` or ``javascript:``
    "image" is not a picture of the article. A relative URL is left as it is.

    >>> web_url("https://x.org/A.jpg"), web_url("/resizer/A.jpg"), web_url("data:image/png;base64,AA")
    ('https://x.org/A.jpg', '/resizer/A.jpg', None)
    >>> web_url(" JavaScript:alert(1)")
    """
    if url is None:
        return None
    scheme = urlsplit(url.strip()).scheme.lower()
    return url if scheme in ("", "http", "https") else None


def record(
    url: Any, caption: Any = None, credit: Any = None, width: Any = None, height: Any = None
) -> Record:
    """A record of normalised values; the credit is the caption's credit line first (what the
    page shows), the source's own credit second; a resizer URL gives its own size."""
    text_url = web_url(collapse_ws(url)) if isinstance(url, str) else None
    text_caption = clean_text(caption) if isinstance(caption, str) else None
    credit_text = caption_credit(text_caption) or (clean_credit(credit) if isinstance(credit, str) else None)
    size = (parse_dimension(width), parse_dimension(height))
    if size == (None, None) and text_url:
        size = resized_size(text_url)
    return Record(text_url, text_caption, credit_text, *size)


def structured_record(image: dict[str, Any]) -> Record:
    """An image object of JSON-LD (``ImageObject``), Fusion (``image``, an ``elements`` image)
    or ANS (``promo_items.basic``, a ``content_elements`` image)."""
    credits = [first_str(dig(person, "name")) for person in as_list(dig(image, "credits", "by"))]
    credit = (
        ", ".join(name for name in credits if name)
        or first_str(
            image.get("creditText"), dig(image, "copyrightHolder", "name"), dig(image, "author", "name")
        )
        or first_str(image.get("copyright"), image.get("credit"))
    )
    return record(
        first_str(
            image.get("url"), image.get("contentUrl"), dig(image, "additional_properties", "originalUrl")
        ),
        first_str(image.get("caption")),
        credit,
        _size_value(image.get("width")),
        _size_value(image.get("height")),
    )


def _size_value(value: Any) -> Any:
    """A JSON-LD ``QuantitativeValue`` ({"value": 1200}) as its value."""
    return value.get("value") if isinstance(value, dict) else value


def merge(records: list[Record]) -> dict[str, Any]:
    """One image from the records of its sources, first source first. The URL is the first
    record's; the size comes with a URL, so it is read only from records of that exact URL.

    >>> a = Record("https://x.org/A.jpg", None, None, 1920, 1080)
    >>> b = Record("https://x.org/r/A.jpg?width=16", "A harbour. Photo / AP", "AP", 16, 9)
    >>> sorted(merge([a, b]).items())  # doctest: +NORMALIZE_WHITESPACE
    [('caption', 'A harbour. Photo / AP'), ('credit', 'AP'), ('height', 1080), ('url', 'https://x.org/A.jpg'),
     ('width', 1920)]
    >>> merge([b, a])["width"]
    16
    """
    url = records[0].url
    sized = next((r for r in records if r.url == url and (r.width or r.height)), None)
    return {
        "url": url,
        "caption": next((r.caption for r in records if r.caption), None),
        "credit": next((r.credit for r in records if r.credit), None),
        "width": sized.width if sized else None,
        "height": sized.height if sized else None,
    }
