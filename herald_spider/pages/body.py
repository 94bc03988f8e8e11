"""The body text a reader sees: the paragraphs of the body sections, hidden parts left out.

The paywalled blocks of a premium page are in its markup, hidden by ``display:none``, the
``hidden`` attribute or a class JSON-LD names (docs/site.md §2.8): none of them is stored.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from herald_spider.pages.loaders import unique
from herald_spider.pages.normalize import collapse_ws, parse_bool
from herald_spider.pages.structured import as_list, dig

if TYPE_CHECKING:
    from herald_spider.pages.page import Page

_DISPLAY_NONE = re.compile(r"display\s*:\s*none", re.IGNORECASE)
_CLASS_SELECTOR = re.compile(r"^\.([A-Za-z0-9_-]+)$")
_SKIP_TAGS = frozenset({"script", "style", "noscript", "template", "button", "svg", "figure"})
#: paragraphs that are page furniture, not text (lower case)
NOISE_PARAGRAPHS = frozenset({"share this article:", "advertisement"})


def hidden_classes(ld: dict[str, Any]) -> frozenset[str]:
    """Class names that JSON-LD ``hasPart`` marks as not free (the paywalled blocks).

    >>> sorted(hidden_classes({"hasPart": [{"isAccessibleForFree": "False", "cssSelector": ".Ab1"}]}))
    ['Ab1']
    """
    names = set()
    for part in as_list(ld.get("hasPart")):
        if parse_bool(dig(part, "isAccessibleForFree")) is False:
            for selector in str(dig(part, "cssSelector") or "").split(","):
                match = _CLASS_SELECTOR.match(selector.strip())
                if match:
                    names.add(match.group(1))
    return frozenset(names)


def hidden(el: Any, classes: frozenset[str]) -> bool:
    style = el.get("style")
    if (style and _DISPLAY_NONE.search(style)) or el.get("hidden") is not None:
        return True
    return bool(classes) and not classes.isdisjoint((el.get("class") or "").split())


def _visible_text(el: Any, classes: frozenset[str]) -> str:
    parts = [el.text or ""]
    for child in el:
        if isinstance(child.tag, str) and child.tag not in _SKIP_TAGS and not hidden(child, classes):
            parts.append(" " if child.tag == "br" else _visible_text(child, classes))
        parts.append(child.tail or "")
    return "".join(parts)


def visible_sections(page: Page, classes: frozenset[str] = frozenset()) -> list[Any] | None:
    """The body sections a reader sees, in document order (found once per page: every body
    field reads these), or None when the page has no body section at all."""
    era = page.era
    sections = page.find(era.BODY_SECTIONS)  # document order
    if not sections:
        first = page.first(era.BODY_FALLBACK)
        sections = [first] if first is not None else []
    if not sections:
        return None
    return [section for section in sections if not hidden(section, classes)]


def paragraph_text(paragraph: Any, classes: frozenset[str]) -> str | None:
    """A paragraph's visible text, white space collapsed; None for an empty or noise one
    ("Advertisement", "Share this article:")."""
    text = collapse_ws(_visible_text(paragraph, classes))
    return text if text and text.lower() not in NOISE_PARAGRAPHS else None


def body_paragraphs(
    page: Page, classes: frozenset[str] = frozenset(), read: dict[Any, str | None] | None = None
) -> list[str] | None:
    """The visible body paragraphs, or None when the page has no body section at all;
    ``read``, when given, gets the text of each paragraph read (:func:`paragraph_text`).

    A paragraph is a ``<p>`` child of a body section; hidden ones (``display:none``, the
    ``hidden`` attribute, a paywall class) and hidden parts of a split paragraph are left out.
    Should a layout wrap its paragraphs (no ``<p>`` child at all), the ``<p>`` descendants
    outside asides, figures, ads, newsletter and subscription boxes count instead.
    """
    era = page.era
    visible = visible_sections(page, classes)
    if visible is None:
        return None
    candidates = [child for section in visible for child in section.iterchildren("p")]
    if not candidates and visible:
        excluded = set(page.find(era.BODY_NOISE))
        candidates = unique(
            p
            for section in visible
            for p in section.iter("p")
            if not any(a in excluded for a in _ancestors(p, section))
            and not _hidden_above(p, section, classes)
        )
    paragraphs = []
    for paragraph in candidates:
        if not hidden(paragraph, classes):
            text = paragraph_text(paragraph, classes)
            if read is not None:
                read[paragraph] = text
            if text:
                paragraphs.append(text)
    return paragraphs


def _ancestors(el: Any, stop: Any) -> Iterator[Any]:
    parent = el.getparent()
    while parent is not None and parent is not stop:
        yield parent
        parent = parent.getparent()


def _hidden_above(el: Any, stop: Any, classes: frozenset[str]) -> bool:
    return any(hidden(a, classes) for a in _ancestors(el, stop))
