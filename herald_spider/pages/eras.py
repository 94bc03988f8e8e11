"""Markup eras as classes: the article-page selectors of each era (docs/site.md §1, §2, §2.9).

:class:`Markup` holds every era's alternatives in precedence order: it reads a page of no known
era as well as anything can. Each era subclasses the one before it and overrides only what
changed, so a page of a known era runs only its own
era's alternatives. :func:`era_of` decides the era once per page, from the page itself.

A tuple of queries is tried in order, the first that finds anything wins; a single query is a
union, read in document order. ``BYLINE_NAMES_TEXT`` and ``BYLINE_PERSON`` are plain XPaths run
inside the byline block, ``PREMIUM_LABEL`` inside each ``HEADER``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from herald_spider.pages.selectors import Noise, Query, by_ui, cls, query, ui, xpath

#: the prefix of every page-wide query: the context node and all below it (as cssselect writes)
ALL = "descendant-or-self::"


def _any(tag: str, *predicates: str, tail: str = "") -> str:
    """``tag`` elements passing any of the predicates, and ``tail`` from them."""
    return f"{ALL}{tag}[{' or '.join(f'({p})' for p in predicates)}]{tail}"


class Markup:
    """Any markup: every era's alternatives. A page of no known era is read with these."""

    NAME = "unknown"
    #: what a page of this era has (any one), and pages of earlier eras lack
    MARKERS: tuple[Query, ...] = ()

    # --- article header ---------------------------------------------------------------
    HEADER = query(
        f"{ALL}header[{cls('article__header')}] | {ALL}*[{ui('article__header')}]", "article__header"
    )
    HEADLINE: tuple[Query, ...] = (
        by_ui("article__heading", "h1"),  # 2022 and 2025+
        by_ui("viva-article__heading", "h1"),  # 2026 Viva
        query(f"{ALL}h1[{cls('article__heading')}]", "article__heading"),
        query(f"{ALL}article/descendant::h1"),
    )
    SUBKICKER_HREF = query(
        _any("a", ui("article__subkicker"), cls("article__subkicker"), tail="/@href"), "article__subkicker"
    )
    BREADCRUMB_HREFS = query(
        _any("nav", ui("breadcrumbs"), cls("breadcrumbs"), tail="/descendant::a/@href"), "breadcrumbs"
    )
    #: the header's section and subsection links, in page order (their names are topics)
    KICKERS = query(
        _any(
            "a",
            ui("article__kicker"),
            ui("article__subkicker"),
            cls("article__kicker"),
            cls("article__subkicker"),
        ),
        "article__kicker",
        "article__subkicker",
    )
    #: the lead image's figure (2022: a wrapper of it; 2026: the figure itself), §2.6
    HERO: tuple[Query, ...] = (
        by_ui("hero-wrapper"),
        query(f"{ALL}div[{cls('hero-container')}]", "hero-container"),
    )
    #: the hero's caption repeated below the header (read when the hero figure has none)
    HERO_CAPTION = query(f"{ALL}p[{cls('article__heading-caption')}]", "article__heading-caption")

    # --- premium markers inside the article header (never cards, menus or share pop-ups) --
    PREMIUM_HEADER = query(f"{ALL}header[{cls('article__header-premium')}]", "article__header-premium")
    #: relative to each HEADER element; ``needs`` is checked on the page source first
    PREMIUM_LABEL = query(
        _any("*", ui("article__premium-label"), cls("article__premium-label")), "article__premium-label"
    )
    #: article-level paywall furniture, present only on premium pages (docs/site.md §2.8)
    PREMIUM_PAGE = query(
        _any("*", ui("premium-toaster"), "@id = 'premium-toaster'", cls("audio-player--locked")),
        "premium-toaster",
        "audio-player--locked",
    )
    PREMIUM_REMINDER = query(
        f"{ALL}*[{cls('social-popup__reminder')}]/descendant-or-self::text()", "social-popup__reminder"
    )

    # --- byline -----------------------------------------------------------------------
    BYLINE_BLOCK: tuple[Query, ...] = (
        by_ui("author--text--body"),  # 2026
        by_ui("author--information"),
        by_ui("author"),  # 2022
        query(f"{ALL}div[{cls('author')}]", "author"),
    )
    #: in the block: the names as shown ("By" + names)
    BYLINE_NAMES_TEXT: tuple[Any, ...] = (
        xpath(f"{ALL}div[{cls('author__names')}]"),  # 2026
        xpath(f"{ALL}*[{ui('author__name')}]"),  # 2022: "By" + h5
        xpath(f"{ALL}div[{cls('author__name')}]"),
    )
    #: in the block: one element per person, every alternative's in turn
    BYLINE_PERSON: tuple[Any, ...] = (
        xpath(f"{ALL}*[{ui('author--link')}]"),
        xpath(f"{ALL}*[{ui('author--name')}]"),
        xpath(f"{ALL}*[{ui('author__name__link')}]"),
        xpath(f"{ALL}a[{cls('author__link')}]"),
    )
    BYLINE_DISTRIBUTOR = query(
        _any("*", ui("distributor--name"), cls("author__distributor"), tail="/text()"),
        "distributor--name",
        "author__distributor",
    )
    BYLINE_TIME: tuple[Query, ...] = (
        by_ui("author-display--date", "time"),  # 2026
        by_ui("meta-data__time-stamp", "time"),  # 2022
        query(f"{ALL}time[{cls('meta-data__time-stamp')}]", "meta-data__time-stamp"),
    )
    READ_TIME = query(
        _any("*", ui("author-read-time"), ui("meta-data__read-time"), tail="/text()"),
        "author-read-time",
        "meta-data__read-time",
    )
    CREDITS: tuple[Query, ...] = (
        by_ui("article__credits", tail="/descendant::p/text()"),
        query(f"{ALL}*[{cls('article__credits')}]/descendant::p/text()", "article__credits"),
    )

    # --- body -------------------------------------------------------------------------
    BODY_SECTIONS = query(
        _any(
            "section",
            ui("article-top-body"),  # 2024+
            ui("article-bottom-body"),
            ui("article__body"),  # 2022, some later
            cls("article__body"),  # 2026: every such section
            cls("article-viva__body"),  # 2026 Viva
        )
        + f" | {ALL}div[{cls('article__raw-html')}]",
        "article-top-body",
        "article-bottom-body",
        "article__body",
        "article-viva__body",
        "article__raw-html",
    )
    BODY_FALLBACK: tuple[Query, ...] = (
        query(f"{ALL}div[{cls('article__content')}]", "article__content"),
        query(f"{ALL}*[@id = 'article-content']", "article-content"),
    )
    #: blocks inside a body whose paragraphs are not body text (the walk of the body's blocks,
    #: HTML and images tests each element with it; BODY_NOISE finds them all at once)
    NOISE = Noise(
        tags=frozenset({"aside", "figure", "figcaption", "nav", "form", "header", "footer"}),
        classes=frozenset(
            {
                "ad",
                "article__ad-wrapper",
                "newsletter-signup",
                "premium-toaster",
                "share-bar",
                "article__credits",
                "article__action-bar",
            }
        ),
        ui=frozenset({"ad", "newsletter-signup", "premium-toaster", "share-bar"}),
        ids=frozenset({"premium-toaster"}),
    )
    BODY_NOISE = query(_any("*", *NOISE.predicates()))


class Markup2022(Markup):
    """BEM classes with ``data-test-ui`` attributes (the gold page of 13 Jan 2022, §2)."""

    NAME = "2022"
    MARKERS: tuple[Query, ...] = (
        Markup.BYLINE_BLOCK[2],
        by_ui("article__body", "section"),
        Markup.HEADLINE[2],
    )
    HEADLINE = (Markup.HEADLINE[0], *Markup.HEADLINE[2:])
    BYLINE_BLOCK = Markup.BYLINE_BLOCK[2:]
    BYLINE_NAMES_TEXT = Markup.BYLINE_NAMES_TEXT[1:]
    BYLINE_PERSON = Markup.BYLINE_PERSON[2:]
    BYLINE_DISTRIBUTOR = query(f"{ALL}*[{cls('author__distributor')}]/text()", "author__distributor")
    BYLINE_TIME = Markup.BYLINE_TIME[1:]
    READ_TIME = by_ui("meta-data__read-time", tail="/text()")
    BODY_SECTIONS = query(
        _any("section", ui("article__body"), cls("article__body")),
        "article__body",
    )


#: 2024's body: the top-body and bottom-body sections, or one ``article__body`` section; the
#: words its query needs in the page source
_BODY_2024 = _any(
    "section", ui("article-top-body"), ui("article-bottom-body"), ui("article__body"), cls("article__body")
)
_BODY_2024_WORDS = ("article-top-body", "article-bottom-body", "article__body")


class Markup2024(Markup2022):
    """2024-06: the body split into a top and a bottom section (some pages keep one)."""

    NAME = "2024"
    MARKERS: tuple[Query, ...] = (
        by_ui("article-top-body", "section"),
        by_ui("article-bottom-body", "section"),
    )
    BODY_SECTIONS = query(_BODY_2024, *_BODY_2024_WORDS)


class Markup2026(Markup2024):
    """2026-04: the ``author--*`` byline, and bodies in any ``section.article__body`` or
    ``div.article__raw-html`` (§2.9)."""

    NAME = "2026"
    MARKERS: tuple[Query, ...] = Markup.BYLINE_BLOCK[:2]
    BYLINE_BLOCK = (*Markup.BYLINE_BLOCK[:2], Markup.BYLINE_BLOCK[3])
    BYLINE_NAMES_TEXT = (Markup.BYLINE_NAMES_TEXT[0], Markup.BYLINE_NAMES_TEXT[2])
    BYLINE_PERSON = (*Markup.BYLINE_PERSON[:2], Markup.BYLINE_PERSON[3])
    BYLINE_DISTRIBUTOR = Markup.BYLINE_DISTRIBUTOR
    BYLINE_TIME = (Markup.BYLINE_TIME[0], Markup.BYLINE_TIME[2])
    READ_TIME = by_ui("author-read-time", tail="/text()")
    BODY_SECTIONS = query(
        f"{_BODY_2024} | {ALL}div[{cls('article__raw-html')}]", *_BODY_2024_WORDS, "article__raw-html"
    )


class Viva2026(Markup2026):
    """2026 Viva pages: their own heading and body section."""

    NAME = "2026-viva"
    MARKERS: tuple[Query, ...] = (
        Markup.HEADLINE[1],
        query(f"{ALL}section[{cls('article-viva__body')}]", "article-viva__body"),
    )
    HEADLINE = Markup.HEADLINE
    BODY_SECTIONS = Markup.BODY_SECTIONS


#: newest first: a page is of the first era whose marker it has
ERAS: tuple[type[Markup], ...] = (Viva2026, Markup2026, Markup2024, Markup2022)


def era_of(found: Callable[[Query], list[Any]]) -> type[Markup]:
    """The era of a page, :class:`Markup` for none known; ``found`` runs a query on the page.

    >>> from lxml import etree
    >>> page = '<html><body><div data-test-ui="author--information"></div></body></html>'
    >>> on = lambda text: lambda query: query(etree.fromstring(text), text)
    >>> era_of(on(page)).NAME, era_of(on("<p/>")).NAME
    ('2026', 'unknown')
    """
    for era in ERAS:
        if any(found(marker) for marker in era.MARKERS):
            return era
    return Markup
