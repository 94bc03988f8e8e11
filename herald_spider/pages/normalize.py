"""Normalisers: one value in, the canonical value out, ``None`` when it cannot be parsed.

Each is a pure function wired to item fields in :mod:`herald_spider.pages.loaders`. They never
guess: a value they do not understand becomes ``None`` (which the input processors drop).
"""

from __future__ import annotations

import html
import re

from w3lib.html import remove_tags

_SITE_SUFFIX = re.compile(r"\s*[-|–—]\s*(?:The\s+)?NZ\s*Herald\s*$", re.IGNORECASE)


def collapse_ws(value: str | None) -> str | None:
    """Collapse runs of white space (including NBSP) into one space and strip; '' becomes None.

    >>> collapse_ws("  a \\n\\t b\\u00a0c ")
    'a b c'
    >>> collapse_ws("   ") is None
    True
    """
    if value is None:
        return None
    return " ".join(value.split()) or None  # str.split() and re's \s: the same white space


def clean_text(value: str | None) -> str | None:
    """Decode entities (twice-escaped ones too), drop tags, collapse white space.

    >>> clean_text("Fires &amp;amp; floods: <em>Queensland</em>\\n braces")
    'Fires & floods: Queensland braces'
    >>> clean_text("Sāmoa&#x27;s coast")
    "Sāmoa's coast"
    """
    if value is None:
        return None
    text = value
    for _ in range(2):
        decoded = html.unescape(text)
        if decoded == text:
            break
        text = decoded
    if "<" in text:
        text = remove_tags(text)
    return collapse_ws(text)


def clean_title(value: str | None) -> str | None:
    """A headline: entities decoded, white space collapsed, no " - NZ Herald" suffix.

    Nothing else is removed: kickers such as "Opinion:" or "Watch:" are part of the headline.

    >>> clean_title("Russia warns it is ready to abandon diplomacy - NZ Herald")
    'Russia warns it is ready to abandon diplomacy'
    >>> clean_title("  'Nowhere left to cool off': Heatwave\\n   pushes grids to the brink ")
    "'Nowhere left to cool off': Heatwave pushes grids to the brink"
    >>> clean_title("Fires &amp; floods: Queensland braces")
    'Fires & floods: Queensland braces'
    >>> clean_title("Opinion: Europe’s rail renaissance")
    'Opinion: Europe’s rail renaissance'
    >>> clean_title(" - NZ Herald") is None
    True
    """
    text = clean_text(value)
    if text is None:
        return None
    return collapse_ws(_SITE_SUFFIX.sub("", text))


# --- bylines --------------------------------------------------------------------------

#: Syndication sources and wires as the dataset names them, keyed by lower-case spellings.
DISTRIBUTORS = {
    "nz herald": "NZ Herald",
    "new zealand herald": "NZ Herald",
    "the new zealand herald": "NZ Herald",
    "nzherald": "NZ Herald",
    "nzme": "NZ Herald",
    "new york times": "New York Times",
    "the new york times": "New York Times",
    "nyt": "New York Times",
    "washington post": "Washington Post",
    "the washington post": "Washington Post",
    "ap": "AP",
    "associated press": "AP",
    "the associated press": "AP",
    "reuters": "Reuters",
    "afp": "AFP",
    "agence france-presse": "AFP",
    "agence france presse": "AFP",
    "bloomberg": "Bloomberg",
    "daily telegraph": "Daily Telegraph",
    "the daily telegraph": "Daily Telegraph",
    "the telegraph": "Daily Telegraph",
    "telegraph": "Daily Telegraph",
    "the times": "The Times",
    "financial times": "Financial Times",
    "the financial times": "Financial Times",
    "south china morning post": "South China Morning Post",
    "harvard business review": "Harvard Business Review",
    "the guardian": "The Guardian",
    "guardian": "The Guardian",
    "cnn": "CNN",
    "bbc": "BBC",
    "news.com.au": "news.com.au",
    "rnz": "RNZ",
    "aap": "AAP",
    "the economist": "The Economist",
    "wall street journal": "Wall Street Journal",
    "the wall street journal": "Wall Street Journal",
}


def normalize_distributor(value: str | None) -> str | None:
    """A syndication source or wire in its canonical spelling; unknown names pass through cleaned.

    >>> normalize_distributor("The New York Times")
    'New York Times'
    >>> normalize_distributor("Associated Press")
    'AP'
    >>> normalize_distributor(" Reuters ")
    'Reuters'
    >>> normalize_distributor("Stuff")
    'Stuff'
    >>> normalize_distributor("") is None
    True
    """
    text = clean_text(value)
    if text is None:
        return None
    return DISTRIBUTORS.get(text.lower().rstrip("."), text)


def known_distributor(value: str | None) -> str | None:
    """The canonical distributor when ``value`` names a known one, else None.

    >>> known_distributor("AP")
    'AP'
    >>> known_distributor("Jane Doe") is None
    True
    """
    text = clean_text(value)
    if text is None:
        return None
    return DISTRIBUTORS.get(text.lower().rstrip("."))


_COPYRIGHT = re.compile(r"^(?:©|\(c\)|copyright)\s*(?:\d{4}\s*)?(?P<owner>.+)$", re.IGNORECASE)
_ORIGINALLY = re.compile(r"originally (?:appeared|published) (?:in|on|by) (?P<owner>.+?)\.?$", re.I)


def distributor_from_credit(value: str | None) -> str | None:
    """A known distributor named by a credit line ("© 2022 THE NEW YORK TIMES"), else None.

    >>> distributor_from_credit("© 2022 THE NEW YORK TIMES")
    'New York Times'
    >>> distributor_from_credit("This article originally appeared in The Washington Post.")
    'Washington Post'
    >>> distributor_from_credit("© 2024 Some Blog") is None
    True
    """
    text = clean_text(value)
    if text is None:
        return None
    match = _COPYRIGHT.match(text) or _ORIGINALLY.search(text)
    return known_distributor(match.group("owner")) if match else None


_BY = re.compile(r"^\s*(?:written\s+)?by(?:[:\s]\s*|$)", re.IGNORECASE)
_NAME_SPLIT = re.compile(r"\s*(?:,\s*(?:and\s+|&\s*)?|\s+and\s+|\s*&\s*|\s*;\s*)", re.IGNORECASE)
_NAME_OK = re.compile(r"^[^\W\d_][\w'’.\- ]*$", re.UNICODE)


def split_byline(value: str | None) -> list[str]:
    """Person names from a byline, in order; a known wire or syndicate name is not a person.

    >>> split_byline("By Lachlan Moore and Priya Raman")
    ['Lachlan Moore', 'Priya Raman']
    >>> split_byline("By Ingrid Halvorsen, Tomás Delgado and Amara Osei")
    ['Ingrid Halvorsen', 'Tomás Delgado', 'Amara Osei']
    >>> split_byline("Written by: Mara Ellison, Tobias Okafor, Dana Kessler")
    ['Mara Ellison', 'Tobias Okafor', 'Dana Kessler']
    >>> split_byline("By Seán O'Neill")
    ["Seán O'Neill"]
    >>> split_byline("Kahurangi Tāwhiri")
    ['Kahurangi Tāwhiri']
    >>> split_byline("By Jane Doe, AP")
    ['Jane Doe']
    >>> split_byline("Reuters")
    []
    >>> split_byline(""), split_byline("By"), split_byline("Written by:")
    ([], [], [])
    """
    names: list[str] = []
    for name in _byline_parts(value):
        if not known_distributor(name) and _NAME_OK.match(name) and name not in names:
            names.append(name)
    return names


def _byline_parts(value: str | None) -> list[str]:
    """The comma/and-separated parts of a byline, without its "By".

    >>> _byline_parts("By A, B and C")
    ['A', 'B', 'C']
    """
    text = clean_text(value)
    if text is None:
        return []
    return [part for part in (collapse_ws(p) for p in _NAME_SPLIT.split(_BY.sub("", text))) if part]


def byline_distributor(value: str | None) -> str | None:
    """The wire or syndicate a byline names ("By Jane Doe, AP", "Reuters"), else None.

    >>> byline_distributor("By Jane Doe, AP")
    'AP'
    >>> byline_distributor("Reuters")
    'Reuters'
    >>> byline_distributor("By Jane Doe") is None
    True
    """
    return next((found for part in _byline_parts(value) if (found := known_distributor(part))), None)


# --- flags and small values -----------------------------------------------------------


def parse_bool(value: object) -> bool | None:
    """A JSON-LD or Fusion boolean: real booleans and the strings "True"/"false"; else None.

    >>> [parse_bool(v) for v in (True, "False", "false", "TRUE", "yes", None)]
    [True, False, False, True, None, None]
    """
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        return {"true": True, "false": False}.get(value.strip().lower())
    return None


_READ_TIME = re.compile(r"(\d+)\s*(?:min|minute)s?\b", re.IGNORECASE)


def parse_read_time(value: str | None) -> int | None:
    """Minutes to read from "4 mins to read", "4 minutes to read" or "Quick Read" (1).

    >>> [parse_read_time(v) for v in ("4 mins to read", "6 minutes to read", "Quick Read", "soon")]
    [4, 6, 1, None]
    """
    text = collapse_ws(value)
    if text is None:
        return None
    match = _READ_TIME.search(text)
    if match:
        return int(match.group(1))
    return 1 if "quick read" in text.lower() else None


def word_count(text: str | None) -> int:
    """Whitespace-separated words.

    >>> word_count("One two  three\\n\\nfour")
    4
    >>> word_count(None)
    0
    """
    return len(text.split()) if text else 0


def slugify(value: str | None) -> str | None:
    """A section label as its URL slug ("Middle East" -> "middle-east").

    >>> slugify("Middle East")
    'middle-east'
    >>> slugify("United States")
    'united-states'
    >>> slugify("  ") is None
    True
    """
    text = clean_text(value)
    if text is None:
        return None
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug or None


# --- language, keywords, images -------------------------------------------------------

_LANGUAGE = re.compile(r"^([A-Za-z]{2,3})(?:[-_][A-Za-z0-9]{1,8})*$")


def language_tag(value: str | None) -> str | None:
    """The BCP 47 primary language subtag, lower case: "en_NZ", "en-NZ" and "EN" are "en".

    "und" (undetermined) and anything that is not a language tag are None.

    >>> [language_tag(v) for v in ("en", "en_NZ", " EN-nz ", "mi", "haw-US")]
    ['en', 'en', 'en', 'mi', 'haw']
    >>> [language_tag(v) for v in ("und", "English", "e", "", None, "en NZ")]
    [None, None, None, None, None, None]
    """
    text = collapse_ws(value)
    match = _LANGUAGE.match(text) if text else None
    primary = match.group(1).lower() if match else None
    return primary if primary != "und" else None


def split_keywords(value: str | None) -> list[str]:
    """Keywords from a comma-separated list (JSON-LD ``keywords``, ``meta[name=keywords]``).

    >>> split_keywords(" rugby, World Cup ,, Black Ferns")
    ['rugby', 'World Cup', 'Black Ferns']
    >>> split_keywords(None)
    []
    """
    if value is None:
        return []
    return [word for word in (clean_text(part) for part in value.split(",")) if word]


_CREDIT_LINE = re.compile(
    r"(?:^|[.!?)\s])\s*(?:file\s+)?(?:photos?|pictures?|images?|illustration|graphic|video)\s*[/:]\s*"
    r"(?P<credit>[^/:].*?)\s*\.?$",
    re.IGNORECASE,
)


def caption_credit(caption: str | None) -> str | None:
    """The credit a caption ends with, in the site's style "… Photo / AP" (docs/site.md §2.6).

    >>> caption_credit("Diplomats in Kyiv earlier this week. Photo / AP")
    'AP'
    >>> caption_credit("Coach Whitney Hansen after the win. Video / NZ Herald / Photosport")
    'NZ Herald / Photosport'
    >>> caption_credit("Photo / Supplied"), caption_credit("A river at dusk. Photo: Getty Images.")
    ('Supplied', 'Getty Images')
    >>> caption_credit("A photo of the harbour") is None, caption_credit(None) is None
    (True, True)
    """
    text = clean_text(caption)
    match = _CREDIT_LINE.search(text) if text else None
    return collapse_ws(match.group("credit")) if match else None


_COPYRIGHT_WORDS = re.compile(r"^(?:\s*(?:©|\(c\)|copyright)\s*:?\s*)+", re.IGNORECASE)


def clean_credit(value: str | None) -> str | None:
    """An image credit as structured data gives it, without a leading "©" or "Copyright".

    >>> clean_credit("© Copyright Photosport Ltd 2022 / www.photosport.nz")
    'Photosport Ltd 2022 / www.photosport.nz'
    >>> clean_credit(" NZ Herald "), clean_credit("©") is None
    ('NZ Herald', True)
    """
    text = clean_text(value)
    return collapse_ws(_COPYRIGHT_WORDS.sub("", text)) if text else None


#: a pixel size is a positive 32-bit integer (the column is int32)
_MAX_PIXELS = 2**31 - 1


def parse_dimension(value: object) -> int | None:
    """An image width or height in pixels: a positive integer, or a string of digits.

    >>> [parse_dimension(v) for v in (1920, "1211", " 675 ", 0, -3, 1.5, "12px", True, None, 2**40)]
    [1920, 1211, 675, None, None, None, None, None, None, None]
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, int) and 0 < value <= _MAX_PIXELS:
        return value
    return None
