"""Pure extraction over a response: article fields and the links a page offers.

Nothing here builds a Request or touches the network, so every function is tested with a
plain ``HtmlResponse``. Sources are read in order: JSON-LD, ``Fusion.globalContent``,
``<meta>``, then the DOM; every field still comes out of a page with only the DOM.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from lxml import etree
from scrapy.http import TextResponse

from herald_spider import urls
from herald_spider.items import Article
from herald_spider.pages import fastcss
from herald_spider.pages import selectors as css
from herald_spider.pages.loaders import ArticleLoader, unique
from herald_spider.pages.normalize import (
    byline_distributor,
    clean_text,
    collapse_ws,
    distributor_from_credit,
    known_distributor,
    parse_bool,
    split_byline,
    word_count,
)
from herald_spider.pages.structured import (
    Decoded,
    article_objects,
    as_list,
    breadcrumb_urls,
    decode_fusion,
    decode_json_ld,
    dig,
    first_str,
)

STAFF_DISTRIBUTOR = "NZ Herald"
_DISPLAY_NONE = re.compile(r"display\s*:\s*none", re.IGNORECASE)
_CLASS_SELECTOR = re.compile(r"^\.([A-Za-z0-9_-]+)$")
_SKIP_TAGS = frozenset({"script", "style", "noscript", "template", "button", "svg", "figure"})
_NOISE_PARAGRAPHS = frozenset({"share this article:", "advertisement"})


@dataclass
class PageData:
    """Everything decoded from one response, parsed once and shared by the extractors."""

    response: TextResponse
    json_ld: Decoded
    article_ld: dict[str, Any]
    fusion: dict[str, Any]
    problems: list[str]
    #: the page's ``meta`` and ``link`` elements, in document order
    heads: list[Any]
    #: the parser stopped before the end of the page (too deep): the DOM lacks its rest
    cut_off: bool = False

    @classmethod
    def of(cls, response: TextResponse) -> PageData:
        ld_texts, fusion_texts, heads = _scripts_and_heads(response)
        parse_problems = list(fastcss.parse_problems(response))  # the page is parsed by now
        json_ld = decode_json_ld(ld_texts)
        fusion = decode_fusion(fusion_texts)
        articles = article_objects(json_ld.objects)
        return cls(
            response=response,
            json_ld=json_ld,
            article_ld=articles[0] if articles else {},
            fusion=fusion.objects[0] if fusion.objects else {},
            problems=parse_problems + json_ld.problems + fusion.problems,
            heads=heads,
            cut_off=bool(parse_problems),
        )

    def strings(self, query: str) -> list[str]:
        """``response.css(query).getall()`` for a ``::text`` or ``::attr()`` query."""
        found = fastcss.head_strings(self.heads, query)
        return fastcss.strings(self.response, query) if found is None else found

    def string(self, query: str) -> str | None:
        """``response.css(query).get()`` for a ``::text`` or ``::attr()`` query."""
        found = self.strings(query)
        return found[0] if found else None

    def first(self, *queries: str) -> Any | None:
        """The first element found by the first of ``queries`` (in priority order) that finds any."""
        for query in queries:
            found = fastcss.elements(self.response, query)
            if found:
                return found[0]
        return None


def _scripts_and_heads(response: TextResponse) -> tuple[list[str], list[str], list[Any]]:
    """(JSON-LD texts, scripts that may hold ``Fusion.globalContent``, ``meta`` and ``link``
    elements) in one walk over the page; ``script#fusion-metadata`` comes first."""
    root = fastcss.root(response)
    ld_texts: list[str] = []
    fusion_texts: list[str] = []
    heads: list[Any] = []
    if not isinstance(root, etree._Element):
        return ld_texts, fusion_texts, heads
    for el in root.iter("script", "meta", "link"):
        if el.tag != "script":
            heads.append(el)
            continue
        text = el.text
        if not text:
            continue
        if (el.get("type") or "").strip().lower() == css.JSON_LD_TYPE:
            ld_texts.append(text)
        elif el.get("id") == css.FUSION_SCRIPT_ID:
            fusion_texts.insert(0, text)
        elif "Fusion.globalContent" in text:
            fusion_texts.append(text)
    return ld_texts, fusion_texts, heads


def _add_first(loader: ArticleLoader, fields: tuple[str, ...], sources: Iterable[Callable[[], Any]]) -> None:
    """Add each source's value to ``fields`` in priority order until every field holds a value.

    The fields keep their first value (``TakeFirst``), so later sources could not change them:
    they are not even looked up.
    """
    for source in sources:
        value = source()
        for name in fields:
            loader.add_value(name, value)
        if all(any(v not in (None, "") for v in loader.get_collected_values(name)) for name in fields):
            return


@dataclass
class Extracted:
    """An extracted article and what was wrong with the page (for the log and the stats)."""

    article: Article
    problems: list[str] = field(default_factory=list)


# --- fields ---------------------------------------------------------------------------


def _canonical_url(page: PageData) -> tuple[str | None, str | None]:
    """(the article's canonical URL, its ID), from the first candidate of the requested
    article (any, when the request was for no article URL)."""
    response = page.response
    candidates: tuple[Callable[[], str | None], ...] = (
        lambda: page.string(css.CANONICAL),
        lambda: page.string(css.OG_URL),
        lambda: first_str(page.fusion.get("canonicalUrl"), page.fusion.get("websiteUrl")),
        lambda: response.url,
    )
    request_id = urls.article_id(response.url)
    for candidate in (source() for source in candidates):
        if not candidate:
            continue
        url, key, _ = urls.href_target(urls.SITE_ROOT, candidate.strip())
        if url and (request_id is None or key == request_id):
            return url, key
    return None, None


def _ld_people(ld: dict[str, Any]) -> tuple[list[str], list[str]]:
    """(person names, organisation names) from JSON-LD ``author``."""
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


def _fusion_people(fusion: dict[str, Any]) -> list[str]:
    return [
        name
        for name in (first_str(dig(c, "name")) for c in as_list(dig(fusion, "credits", "by")))
        if name and not known_distributor(name)
    ]


def _dom_byline(page: PageData) -> tuple[str | None, list[str]]:
    """(the byline text as shown, person names) from the byline block."""
    block = page.first(*css.BYLINE_BLOCK)
    if block is None:
        return None, []
    names_el = next((found[0] for q in css.BYLINE_NAMES_TEXT if (found := fastcss.select(block, q))), None)
    raw = collapse_ws(fastcss.text(names_el)) if names_el is not None else None
    persons = [
        text
        for q in css.BYLINE_PERSON
        for text in (collapse_ws(fastcss.text(el)) for el in fastcss.select(block, q))
        if text
    ]
    if not persons and raw:
        persons = split_byline(raw)
    return raw, [p for p in persons if not known_distributor(p)]


def _authors_and_distributor(page: PageData, loader: ArticleLoader) -> None:
    fusion = page.fusion
    ld_people, ld_orgs = _ld_people(page.article_ld)
    byline_raw, dom_people = _dom_byline(page)
    people: tuple[Callable[[], list[str]], ...] = (
        lambda: ld_people,
        lambda: _fusion_people(fusion),
        lambda: dom_people,
        lambda: split_byline(page.string(css.META_AUTHOR)),
    )
    authors = next((names for names in (source() for source in people) if names), [])
    loader.add_value("authors", authors)
    loader.add_value("byline_raw", byline_raw)

    credits = (distributor_from_credit(text) for q in css.CREDITS for text in page.strings(q))
    distributors = (
        lambda: dig(fusion, "distributor", "name"),
        lambda: page.strings(css.BYLINE_DISTRIBUTOR),
        lambda: [known_distributor(org) for org in ld_orgs],
        lambda: byline_distributor(byline_raw),
        lambda: list(credits),
        lambda: STAFF_DISTRIBUTOR,
    )
    _add_first(loader, ("distributor",), distributors)


def _sections(page: PageData, url: str, loader: ArticleLoader) -> None:
    fusion = page.fusion
    path = url.removeprefix(urls.SITE_ROOT).strip("/").split("/")
    section = path[0]
    loader.add_value("section", section)

    def sub_of(href: str | None) -> str | None:
        found = urls.href_section(urls.SITE_ROOT, href) if href else None
        parts = found.split("/") if found else []
        return parts[1] if len(parts) > 1 and parts[0] == section else None

    def meta_subsection() -> str | None:
        meta_sections = [s.strip() for s in (page.string(css.META_SECTION) or "").split(",")]
        return meta_sections[1] if len(meta_sections) > 1 else None

    slug_and_id = 3 if "premium" in path[-2:-1] else 2
    breadcrumbs = breadcrumb_urls(page.json_ld.objects)
    subsections = (
        lambda: sub_of(first_str(fusion.get("subSectionLabelLink"))),
        lambda: sub_of(page.string(css.SUBKICKER_HREF)),
        lambda: path[1] if len(path) - slug_and_id >= 2 else None,
        lambda: [sub_of(href) for href in breadcrumbs + page.strings(css.BREADCRUMB_HREFS)],
        meta_subsection,
    )
    _add_first(loader, ("subsection",), subsections)


def _timestamps(page: PageData, loader: ArticleLoader) -> None:
    ld, fusion = page.article_ld, page.fusion

    found: list[Any] = []

    def time_el() -> Any | None:  # looked up once, when a source needs it
        if not found:
            found.append(page.first(*css.BYLINE_TIME))
        return found[0]

    def text(value: Any) -> str | None:
        return value if isinstance(value, str) else None

    published = (
        lambda: text(ld.get("datePublished")),
        lambda: text(fusion.get("displayDate")),
        lambda: text(fusion.get("publishDate")),
        lambda: page.string(css.META_PUBLISHED),
        lambda: text(el.get("datetime")) if (el := time_el()) is not None else None,
        lambda: fastcss.text(el) if (el := time_el()) is not None else None,
    )
    _add_first(loader, ("published_at", "published_raw"), published)
    updated = (
        lambda: text(ld.get("dateModified")),
        lambda: text(fusion.get("lastUpdatedDate")),
        lambda: page.string(css.META_MODIFIED),
    )
    _add_first(loader, ("updated_at",), updated)


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


_PREMIUM_LABELS = ", ".join(css.PREMIUM_HEADER[1:])


def _premium_label_in_header(response: TextResponse) -> bool:
    if not fastcss.may_match(response, _PREMIUM_LABELS):  # no label anywhere: none in a header
        return False
    return any(fastcss.select(header, _PREMIUM_LABELS) for header in fastcss.elements(response, css.HEADER))


def _is_premium(page: PageData, url: str) -> bool:
    """Any one signal of a paywalled article. Cards, menus and body text are never signals.

    Cheapest evidence first: the page is premium as soon as one source says so.
    """
    response = page.response
    return (
        parse_bool(page.article_ld.get("isAccessibleForFree")) is False
        or parse_bool(page.fusion.get("isPremium")) is True
        or page.fusion.get("contentCode") == "premium"
        or css.PREMIUM_URL_SEGMENT in url
        or bool(fastcss.elements(response, css.PREMIUM_HEADER[0]))
        or _premium_label_in_header(response)
        or any(fastcss.elements(response, q) for q in css.PREMIUM_PAGE)
        or "premium" in " ".join(fastcss.strings(response, css.PREMIUM_REMINDER)).lower()
    )


def _hidden(el: Any, classes: frozenset[str]) -> bool:
    style = el.get("style")
    if (style and _DISPLAY_NONE.search(style)) or el.get("hidden") is not None:
        return True
    return bool(classes) and not classes.isdisjoint((el.get("class") or "").split())


def _visible_text(el: Any, classes: frozenset[str]) -> str:
    parts = [el.text or ""]
    for child in el:
        if isinstance(child.tag, str) and child.tag not in _SKIP_TAGS and not _hidden(child, classes):
            parts.append(" " if child.tag == "br" else _visible_text(child, classes))
        parts.append(child.tail or "")
    return "".join(parts)


def body_paragraphs(response: TextResponse, classes: frozenset[str] = frozenset()) -> list[str] | None:
    """The visible body paragraphs, or None when the page has no body section at all.

    A paragraph is a ``<p>`` child of a body section; hidden ones (``display:none``, the
    ``hidden`` attribute, a paywall class) and hidden parts of a split paragraph are left out.
    Should a layout wrap its paragraphs (no ``<p>`` child at all), the ``<p>`` descendants
    outside asides, figures, ads, newsletter and subscription boxes count instead.
    """
    sections = fastcss.elements(response, ", ".join(css.BODY_SECTIONS))  # document order
    if not sections:
        sections = [el for q in css.BODY_FALLBACK for el in fastcss.elements(response, q)][:1]
    if not sections:
        return None
    visible = [section for section in sections if not _hidden(section, classes)]
    candidates = [child for section in visible for child in section.iterchildren("p")]
    if not candidates and visible:
        excluded = set(fastcss.elements(response, css.BODY_NOISE))
        candidates = unique(
            p
            for section in visible
            for p in section.iter("p")
            if not any(a in excluded for a in _ancestors(p, section))
            and not _hidden_above(p, section, classes)
        )
    paragraphs = []
    for paragraph in candidates:
        if _hidden(paragraph, classes):
            continue
        text = collapse_ws(_visible_text(paragraph, classes))
        if text and text.lower() not in _NOISE_PARAGRAPHS:
            paragraphs.append(text)
    return paragraphs


def _ancestors(el: Any, stop: Any) -> Iterator[Any]:
    parent = el.getparent()
    while parent is not None and parent is not stop:
        yield parent
        parent = parent.getparent()


def _hidden_above(el: Any, stop: Any, classes: frozenset[str]) -> bool:
    return any(_hidden(a, classes) for a in _ancestors(el, stop))


def _structured_body(page: PageData) -> list[str]:
    texts = [
        clean_text(dig(element, "content"))
        for element in as_list(page.fusion.get("elements"))
        if dig(element, "type") == "text"
    ]
    paragraphs = [text for text in texts if text]
    if not paragraphs and isinstance(page.article_ld.get("articleBody"), str):
        paragraphs = [p for p in (clean_text(x) for x in page.article_ld["articleBody"].split("\n")) if p]
    return paragraphs


def _content_hash(article: Article) -> str:
    digest = hashlib.sha256()
    for value in (article.title, article.description, article.body, "\x1f".join(article.authors)):
        digest.update((value or "").encode("utf-8"))
        digest.update(b"\x1e")
    return digest.hexdigest()


def parse_article(response: TextResponse, fetched_at: datetime | None = None) -> Extracted:
    """The article on an article page, normalised, with the page's problems listed."""
    page = PageData.of(response)
    problems = list(page.problems)
    loader = ArticleLoader()  # values only: no selector, which would parse the page again
    url, article_id = _canonical_url(page)
    fusion, ld = page.fusion, page.article_ld

    loader.add_value("url", url)
    loader.add_value("article_id", article_id)

    def headline() -> str | None:
        found = page.first(*css.HEADLINE)
        return fastcss.text(found) if found is not None else None

    titles = (
        lambda: ld.get("headline"),
        lambda: [fusion.get("headline"), dig(fusion, "headlines", "basic")],
        headline,
        lambda: page.string(css.OG_TITLE),
        lambda: page.string(css.HTML_TITLE),
    )
    _add_first(loader, ("title",), titles)
    descriptions = (
        lambda: [ld.get("description"), fusion.get("description")],
        lambda: page.string(css.META_DESCRIPTION),
        lambda: page.string(css.OG_DESCRIPTION),
    )
    _add_first(loader, ("description",), descriptions)

    if url:
        _sections(page, url, loader)
    _authors_and_distributor(page, loader)
    _timestamps(page, loader)

    premium = _is_premium(page, url or response.url)
    loader.add_value("premium", premium)
    paragraphs = body_paragraphs(response, hidden_classes(ld))
    if paragraphs is None:
        problems.append("no_body_section")
    if paragraphs is None or page.cut_off:  # a cut-off DOM may hold part of the body, or none
        # Structured copies hold the whole text, paywalled part included: free articles only.
        paragraphs = (None if premium else _structured_body(page)) or paragraphs or []
    body = "\n\n".join(paragraphs) or None
    loader.add_value("body", body)
    loader.add_value("word_count", word_count(body))
    read_times = (lambda: fusion.get("readTime"), lambda: page.strings(css.READ_TIME))
    _add_first(loader, ("read_time_minutes",), read_times)

    images = as_list(ld.get("image"))
    image_urls = (
        lambda: [first_str(img, dig(img, "url")) for img in images],
        lambda: [dig(fusion, "image", "url"), fusion.get("ogImage")],
        lambda: page.string(css.OG_IMAGE),
    )
    _add_first(loader, ("image_url",), image_urls)
    tags = [first_str(dig(tag, "text")) for tag in as_list(fusion.get("tags"))]
    if not any(tags):
        tags = [t for value in page.strings(css.META_TAGS) for t in value.split(",")]
    loader.add_value("tags", tags)
    loader.add_value("fetched_at", fetched_at)

    article = loader.load_item()
    article.section_path = "/".join(filter(None, (article.section, article.subsection))) or None
    if article.updated_at and article.published_at:
        if article.updated_at == article.published_at:
            article.updated_at = None
        elif article.updated_at < article.published_at:
            problems.append("updated_before_published")
            article.updated_at = None
    article.content_hash = _content_hash(article)
    return Extracted(article, problems)


# --- links ----------------------------------------------------------------------------


class PageLink(NamedTuple):
    """A link to an article or a section listing, with the page block it sits in."""

    url: str
    kind: str
    article_id: str | None = None
    section: str | None = None


def _block_tests() -> dict[str, list[tuple[int, str, str | None]]]:
    """Per block tag: (position in ``LINK_BLOCKS``, data-test-ui value, class word)."""
    tests: dict[str, list[tuple[int, str, str | None]]] = {}
    for position, (_, tag, value, word) in enumerate(css.LINK_BLOCKS):
        if tag is not None:
            tests.setdefault(tag, []).append((position, value, word))
    return tests


_BLOCK_TESTS = _block_tests()


def _anchor_kinds(response: TextResponse, root: Any) -> dict[Any, str]:
    """The kind of each anchor inside a link block. One walk over the block tags finds the
    blocks (a page-wide XPath per kind cost more than the rest of ``page_links``)."""
    blocks: list[list[Any]] = [[] for _ in css.LINK_BLOCKS]
    for el in root.iter(*_BLOCK_TESTS):
        ui, classes = el.get("data-test-ui"), el.get("class") or ""
        for position, value, word in _BLOCK_TESTS[el.tag]:
            if ui == value or (word is not None and word in classes):
                blocks[position].append(el)
    for position, (_, tag, value, _) in enumerate(css.LINK_BLOCKS):
        if tag is None:
            found = fastcss.elements(response, f'[data-test-ui="{value}"]')
            blocks[position] = [parent for el in found if (parent := el.getparent()) is not None]
    kinds: dict[Any, str] = {}
    for (kind, *_), found in zip(css.LINK_BLOCKS, blocks, strict=True):
        for block in found:
            for anchor in block.iter("a"):
                kinds.setdefault(anchor, kind)
    return kinds


_ABSOLUTE = ("/", "https://", "http://")


@functools.lru_cache(maxsize=512)
def _site_link_target(origin: str, href: str) -> tuple[str | None, str | None, str | None]:
    # Menus, footers and "latest" blocks repeat on every page: classify each such href once.
    # A few hundred entries hold them; more would only keep one-off article links (memory).
    return urls.href_target(origin, href)


def page_links(response: TextResponse, default_kind: str = "other") -> list[PageLink]:
    """Links to site articles and section listings, canonicalised, first occurrence of each.

    Several URLs for one article (query strings, fragments, ``http://``, no trailing slash)
    collapse into one; a ``/premium/`` URL wins over the same ID without it, because the site
    serves the page only under its own URL.
    """
    root = fastcss.root(response)
    if not isinstance(root, etree._Element):
        return []
    kinds = _anchor_kinds(response, root)
    base = response.url
    parts = urlsplit(base)
    origin = f"{parts.scheme}://{parts.netloc}/"
    seen: set[str] = set()
    by_article: dict[str, PageLink] = {}
    sections: dict[str, PageLink] = {}
    for anchor in root.iter("a"):
        href = anchor.get("href")
        if not href:
            continue
        href = href.strip()
        if href in seen:  # the first occurrence decides, as below
            continue
        rel = anchor.get("rel")
        if rel and "sponsored" in rel.lower().split():  # as if it were not there
            continue
        seen.add(href)
        kind = kinds.get(anchor, default_kind)
        # An absolute URL or an absolute path joins the same against any page of the same origin.
        if href.startswith(_ABSOLUTE):
            article_url, key, path = _site_link_target(origin, href)
        else:
            article_url, key, path = urls.href_target(base, href)
        if article_url:
            assert key is not None
            known = by_article.get(key)
            if known is None:
                by_article[key] = PageLink(article_url, kind, key)
            elif css.PREMIUM_URL_SEGMENT in article_url and css.PREMIUM_URL_SEGMENT not in known.url:
                by_article[key] = PageLink(article_url, known.kind, key)
            continue
        if path and path not in sections:
            sections[path] = PageLink(urls.section_url(path), kind, None, path)
    return list(by_article.values()) + list(sections.values())


def related_urls(links: Iterable[PageLink], own_id: str | None) -> list[str]:
    """Sorted article URLs from the related, discover-more and latest-from blocks."""
    wanted = {"related", "discover-more", "latest-from"}
    return sorted(
        {link.url for link in links if link.kind in wanted and link.article_id and link.article_id != own_id}
    )
