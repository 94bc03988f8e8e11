"""Who wrote an article: people and organisations from JSON-LD, Fusion and the byline block.

Names of known distributors (wires, other papers) are never people (docs/site.md §8).
"""

from __future__ import annotations

from typing import Any

from herald_spider.pages import selectors as sel
from herald_spider.pages.eras import Markup
from herald_spider.pages.normalize import collapse_ws, known_distributor, split_byline
from herald_spider.pages.structured import as_list, dig, first_str


def ld_people(ld: dict[str, Any]) -> tuple[list[str], list[str]]:
    """(person names, organisation names) from JSON-LD ``author``.

    >>> ld_people({"author": [{"name": "Ann Lee"}, {"@type": "Organization", "name": "AP"}, "Bo"]})
    (['Ann Lee', 'Bo'], ['AP'])
    """
    people: list[str] = []
    orgs: list[str] = []
    for author in as_list(ld.get("author")):
        if isinstance(author, str):
            people.append(author)
            continue
        name = first_str(dig(author, "name"))
        if not name:
            continue
        kind = dig(author, "@type")
        (orgs if kind == "Organization" or known_distributor(name) else people).append(name)
    return people, orgs


def fusion_people(fusion: dict[str, Any]) -> list[str]:
    """Person names from Fusion ``credits.by``.

    >>> fusion_people({"credits": {"by": [{"name": "Ann Lee"}, {"name": "Reuters"}]}})
    ['Ann Lee']
    """
    return [
        name
        for name in (first_str(dig(c, "name")) for c in as_list(dig(fusion, "credits", "by")))
        if name and not known_distributor(name)
    ]


def _text(node: Any) -> str | None:
    return collapse_ws(" ".join(sel.TEXT(node)))


def dom_byline(block: Any | None, era: type[Markup]) -> tuple[str | None, list[str]]:
    """(the byline text as shown, person names) from the byline block of a page of ``era``."""
    if block is None:
        return None, []
    names_el = next((found[0] for xpath in era.BYLINE_NAMES_TEXT if (found := xpath(block))), None)
    raw = _text(names_el) if names_el is not None else None
    persons = [text for xpath in era.BYLINE_PERSON for text in (_text(el) for el in xpath(block)) if text]
    if not persons and raw:
        persons = split_byline(raw)
    return raw, [p for p in persons if not known_distributor(p)]
