"""URL rules for www.nzherald.co.nz: what is an article, what is a section page.

All functions take and return plain strings, so link filtering happens before any
``Request`` is built (building and fingerprinting requests that the dupefilter then
drops is most of a bare crawl's cost on pages with ~100 links each).
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, unquote, urljoin, urlsplit

HOST = "www.nzherald.co.nz"
SITE_ROOT = f"https://{HOST}/"
HOSTS = frozenset({HOST, "nzherald.co.nz"})

ARTICLE_ID = re.compile(r"^[A-Z0-9]{26}$")
SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")

#: Path segments that never lead to an article or a section listing (docs/site.md §4).
EXCLUDED_SEGMENTS = frozenset(
    {
        "video",
        "videos",
        "author",
        "people",
        "topic",
        "journalists",
        "my-account",
        "help-and-support",
        "promotions",
        "arc",
        "pf",
        "resizer",
        "brand-insight",
        "sponsored",
        "podcasts",
        "search",
        "newsletters",
        "photos",
        "quizzes",
        "weather",
    }
)
#: segments that rule a path out: the excluded ones, and ``premium`` anywhere but just before
#: an article's ID
_NOT_IN_PATH = EXCLUDED_SEGMENTS | {"premium"}


def _site_path(url: str) -> str | None:
    """The decoded path of a URL on the NZ Herald site, or None for any other URL.

    >>> _site_path("https://www.nzherald.co.nz/world/?c_id=2")
    '/world/'
    >>> _site_path("http://nzherald.co.nz/world")
    '/world'
    >>> _site_path("https://www.nzherald.co.nz.evil.example/world/") is None
    True
    >>> _site_path("https://user@www.nzherald.co.nz/world/") is None
    True
    >>> _site_path("mailto:news@nzherald.co.nz") is None
    True
    """
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or port not in (None, 80, 443):
        return None
    if parts.username is not None or parts.password is not None:
        return None
    if (parts.hostname or "").lower() not in HOSTS:
        return None
    path = unquote(parts.path or "/")
    if "\\" in path or "\x00" in path:
        return None
    return path


def _segments(path: str) -> list[str] | None:
    segments = [s for s in path.split("/") if s]
    if any(s in (".", "..") for s in segments):
        return None
    return segments


#: a site URL or absolute path with nothing to resolve or decode (no query, fragment,
#: escape, dot, port or user; not ``//host``): its path is what it says
_PLAIN = re.compile(r"(?:https://www\.nzherald\.co\.nz)?(/(?!/)[A-Za-z0-9/-]*)")


def _plain_segments(href: str, on_site: bool) -> list[str] | None:
    """The path segments of a plain site URL, or of a plain absolute path when it is joined to
    a page of the site (``on_site``); None for any other href. Most links on the site's pages
    are plain: no URL parsing needed."""
    plain = _PLAIN.fullmatch(href)
    if plain is None or (href[0] == "/" and not on_site):
        return None
    return list(filter(None, plain.group(1).split("/")))


def _site_segments(url: str) -> list[str] | None:
    plain = _plain_segments(url, on_site=False)
    return plain if plain is not None else _parsed_site_segments(url)


def _parsed_site_segments(url: str) -> list[str] | None:
    path = _site_path(url)
    return _segments(path) if path is not None else None


def _article_id_in(segments: list[str]) -> str | None:
    if len(segments) < 3 or not ARTICLE_ID.match(segments[-1]):
        return None
    head = segments[:-2] if segments[-2] == "premium" else segments[:-1]
    if len(head) < 2 or not all(map(SLUG.match, head)) or not _NOT_IN_PATH.isdisjoint(head):
        return None
    return segments[-1]


def _section_in(segments: list[str]) -> str | None:
    if not all(map(SLUG.match, segments)) or not _NOT_IN_PATH.isdisjoint(segments):
        return None
    return "/".join(segments)


def article_id(url: str) -> str | None:
    """The 26-character article ID of an NZ Herald article URL, else None.

    >>> article_id("https://www.nzherald.co.nz/world/some-story/ABCDEFGHIJKLMNOPQRSTUVWXYZ/?ref=x")
    'ABCDEFGHIJKLMNOPQRSTUVWXYZ'
    >>> article_id("https://www.nzherald.co.nz/world/some-story/premium/ABCDEFGHIJKLMNOPQRSTUVWXYZ")
    'ABCDEFGHIJKLMNOPQRSTUVWXYZ'
    >>> article_id("https://www.nzherald.co.nz/world/video/clip/ABCDEFGHIJKLMNOPQRSTUVWXYZ/") is None
    True
    >>> article_id("https://www.nzherald.co.nz/author/jane-doe/") is None
    True
    """
    segments = _site_segments(url)
    return _article_id_in(segments) if segments else None


def canonical_article_url(url: str) -> str | None:
    """The canonical form of an article URL: https, www host, no query or fragment, trailing slash.

    The ``/premium/`` segment is kept: the site serves the page only under the URL it chose.

    >>> canonical_article_url("http://nzherald.co.nz/world/a-story/ABCDEFGHIJKLMNOPQRSTUVWXYZ?ref=mostread#top")
    'https://www.nzherald.co.nz/world/a-story/ABCDEFGHIJKLMNOPQRSTUVWXYZ/'
    >>> canonical_article_url("https://www.nzherald.co.nz/world/topic/") is None
    True
    """
    return link_target(url)[0]


def section_path(url: str) -> str | None:
    """The section path of a section listing URL (``world/australia``), else None.

    >>> section_path("https://www.nzherald.co.nz/world/australia/")
    'world/australia'
    >>> section_path("https://www.nzherald.co.nz/world/?c_id=2")
    'world'
    >>> section_path("https://www.nzherald.co.nz/video/") is None
    True
    >>> section_path("https://www.nzherald.co.nz/world/a-story/ABCDEFGHIJKLMNOPQRSTUVWXYZ/") is None
    True
    >>> section_path("https://www.nzherald.co.nz/") is None
    True
    """
    segments = _site_segments(url)
    return _section_in(segments) if segments else None


def link_target(url: str) -> tuple[str | None, str | None, str | None]:
    """(canonical article URL, article ID, section path) of a URL, reading it once: either
    the first two or the last, or nothing for a URL that is neither.

    >>> link_target("http://nzherald.co.nz/world/a-story/ABCDEFGHIJKLMNOPQRSTUVWXYZ?ref=x")[:2]
    ('https://www.nzherald.co.nz/world/a-story/ABCDEFGHIJKLMNOPQRSTUVWXYZ/', 'ABCDEFGHIJKLMNOPQRSTUVWXYZ')
    >>> link_target("https://www.nzherald.co.nz/world/asia/#top")
    (None, None, 'world/asia')
    """
    return _target_of(_site_segments(url))


def _target_of(segments: list[str] | None) -> tuple[str | None, str | None, str | None]:
    if not segments:
        return None, None, None
    key = _article_id_in(segments)
    if key is not None:
        return SITE_ROOT + "/".join(segments) + "/", key, None
    return None, None, _section_in(segments)


def href_target(origin: str, href: str) -> tuple[str | None, str | None, str | None]:
    """``link_target(urljoin(origin, href))``, with no join or URL parsing when the href is a
    plain site URL or path.

    >>> href_target(SITE_ROOT, "/world/a-story/ABCDEFGHIJKLMNOPQRSTUVWXYZ")[1:]
    ('ABCDEFGHIJKLMNOPQRSTUVWXYZ', None)
    >>> other = "https://example.org/"
    >>> href_target(other, "/world/"), href_target(other, f"{SITE_ROOT}world")
    ((None, None, None), (None, None, 'world'))
    """
    return _target_of(_href_segments(origin, href))


def href_section(origin: str, href: str) -> str | None:
    """``section_path(urljoin(origin, href))``, with no join or URL parsing when the href is a
    plain site URL or path.

    >>> href_section(SITE_ROOT, "/world/europe"), href_section(SITE_ROOT, "/world/a/ABCDEFGHIJKLMNOPQRST/")
    ('world/europe', None)
    """
    segments = _href_segments(origin, href)
    return _section_in(segments) if segments else None


def _href_segments(origin: str, href: str) -> list[str] | None:
    plain = _plain_segments(href, on_site=origin.startswith(SITE_ROOT))
    return plain if plain is not None else _site_segments(urljoin(origin, href))


def section_url(path: str) -> str:
    """The listing URL of a section path.

    >>> section_url("world/australia")
    'https://www.nzherald.co.nz/world/australia/'
    """
    return f"{SITE_ROOT}{path.strip('/')}/"


def clean_section_arg(value: str) -> str:
    """Validate a user-given section path (``world``, ``nz/politics``); raise ValueError if unsafe.

    >>> clean_section_arg("/World/Australia/")
    'world/australia'
    >>> clean_section_arg("../../etc")
    Traceback (most recent call last):
    ...
    ValueError: not a section path: '../../etc'
    """
    if len(value) > MAX_SECTION_CHARS:
        raise ValueError(f"not a section path: {len(value)} characters, more than {MAX_SECTION_CHARS}")
    segments = [s for s in value.strip().strip("/").lower().split("/") if s]
    if not segments or not all(SLUG.match(s) for s in segments):
        raise ValueError(f"not a section path: {value!r}")
    return "/".join(segments)


#: No section path of the site comes near this (``nz/politics``, ``world/united-states``).
MAX_SECTION_CHARS = 200


def article_path_under(url: str, section: str) -> bool:
    """Whether an article URL can belong to a section path.

    2022 URLs fold the subsection into the slug (``/world/uk-some-story/ID/``), later ones
    nest it (``/world/uk/some-story/ID/``); both count as candidates for ``world/uk``.

    >>> site = "https://www.nzherald.co.nz"
    >>> article_path_under(f"{site}/world/uk/a-story/ABCDEFGHIJKLMNOPQRSTUVWXYZ/", "world/uk")
    True
    >>> article_path_under(f"{site}/world/uk-a-story/ABCDEFGHIJKLMNOPQRSTUVWXYZ/", "world/uk")
    True
    >>> article_path_under(f"{site}/world/ukraine-story/ABCDEFGHIJKLMNOPQRSTUVWXYZ/", "world/uk")
    False
    >>> article_path_under(f"{site}/business/a-story/ABCDEFGHIJKLMNOPQRSTUVWXYZ/", "world")
    False
    """
    if url.startswith(SITE_ROOT) and "?" not in url and "#" not in url:
        path = url[len(SITE_ROOT) :].strip("/")  # a canonical URL: no need to parse it
    else:
        path = urlsplit(url).path.strip("/")
    segments = path.split("/")
    wanted = section.split("/")
    if segments[: len(wanted)] == wanted:
        return True
    parent, last = wanted[:-1], wanted[-1]
    if len(wanted) < 2 or len(segments) <= len(parent) or segments[: len(parent)] != parent:
        return False
    return segments[len(parent)].startswith(last + "-")


def is_under(section_of_item: str, section: str) -> bool:
    """Whether an item's section path lies under the spider's section path.

    >>> is_under("world/australia", "world")
    True
    >>> is_under("world", "world/australia")
    False
    >>> is_under("worldwide", "world")
    False
    """
    return section_of_item == section or section_of_item.startswith(section + "/")


def on_site(url: str) -> bool:
    """Whether a URL is on the NZ Herald site itself (no look-alike hosts, no ``user@host``).

    >>> on_site("https://www.nzherald.co.nz/robots.txt")
    True
    >>> on_site("https://www.nzherald.co.nz.evil.example/world/"), on_site("https://evil.www.nzherald.co.nz/")
    (False, False)
    >>> on_site("https://www.nzherald.co.nz@evil.example/world/")
    False
    """
    return _site_path(url) is not None


_OBJECT_ID = re.compile(r"^[0-9]{5,10}$")


def legacy_object_id(url: str) -> str | None:
    """The object ID of a pre-2020 ``article.cfm`` article URL on the site, else None.

    The site answers these with a redirect to the article's current URL.

    >>> legacy_object_id("https://www.nzherald.co.nz/world/news/article.cfm?c_id=2&objectid=12345678")
    '12345678'
    >>> legacy_object_id("https://www.nzherald.co.nz.evil.example/world/news/article.cfm?objectid=12345678")
    >>> legacy_object_id("https://www.nzherald.co.nz/world/news/article.cfm?c_id=2")
    """
    path = _site_path(url)
    if path is None or not path.endswith("/article.cfm"):
        return None
    query = parse_qs(urlsplit(url).query)
    values = query.get("objectid") or query.get("objectId") or []
    return values[0] if len(values) == 1 and _OBJECT_ID.match(values[0]) else None


# --- feeds (docs/site.md §6) ---------------------------------------------------------------

ROBOTS_URL = f"{SITE_ROOT}robots.txt"
_FEEDS = f"{SITE_ROOT}arc/outboundfeeds/"
#: Where the sitemap index and the news sitemap are when robots.txt does not say.
SITEMAP_INDEX_URL = f"{_FEEDS}sitemap-index/?outputType=xml&_website=nzh"
NEWS_SITEMAP_URL = f"{_FEEDS}sitemap-news/?outputType=xml&_website=nzh"


def rss_url(section: str) -> str:
    """The Arc RSS feed of a section path.

    >>> rss_url("world")
    'https://www.nzherald.co.nz/arc/outboundfeeds/rss/section/world/?outputType=xml&_website=nzh'
    """
    return f"{_FEEDS}rss/section/{section.strip('/')}/?outputType=xml&_website=nzh"
