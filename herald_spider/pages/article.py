"""The article page object: one method per field of :class:`~herald_spider.items.Article`.

Each field reads its sources in order, structured data first: JSON-LD,
``Fusion.globalContent``, ``<meta>``, then the DOM through the page's era
(:mod:`herald_spider.pages.eras`); every field still comes out of a page with only the DOM.
A source is looked up only when the ones before it gave nothing. Values go through the
loader's normalisers (:mod:`herald_spider.pages.loaders`), one loader per page, and each field
is worked out once per page.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from scrapy.http import TextResponse

from herald_spider import urls
from herald_spider.items import Article
from herald_spider.pages import images as img
from herald_spider.pages import selectors as sel
from herald_spider.pages.blocks import BodyWalker, Walked
from herald_spider.pages.body import body_paragraphs, hidden_classes, visible_sections
from herald_spider.pages.byline import dom_byline, fusion_people, ld_people
from herald_spider.pages.eras import Markup
from herald_spider.pages.loaders import ArticleLoader
from herald_spider.pages.normalize import (
    byline_distributor,
    clean_text,
    collapse_ws,
    distributor_from_credit,
    known_distributor,
    parse_bool,
    split_byline,
    split_keywords,
    word_count,
)
from herald_spider.pages.page import Page
from herald_spider.pages.structured import as_list, breadcrumb_urls, dig, first_str

STAFF_DISTRIBUTOR = "NZ Herald"
#: the problem of a page whose structured data has a value of the wrong JSON type where a
#: field is read (the field falls back to the next source)
MALFORMED = "malformed_structured_data"
_XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
_T = TypeVar("_T")


@dataclass
class Extracted:
    """An extracted article and what was wrong with the page (for the log and the stats)."""

    article: Article
    problems: list[str] = field(default_factory=list)


def _once(method: Callable[[ArticlePage], _T]) -> Callable[[ArticlePage], _T]:
    """A field worked out on its first call; later calls (other fields use it) return it."""
    name = method.__name__

    @functools.wraps(method)
    def field_value(page: ArticlePage) -> _T:
        if name not in page._fields:
            page._fields[name] = method(page)
        return page._fields[name]  # type: ignore[no-any-return]

    return field_value


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


class ArticlePage(Page):
    """An article page: its fields, its item, and (from :class:`Page`) its links."""

    def __init__(self, response: TextResponse, fetched_at: datetime | None = None) -> None:
        super().__init__(response)
        self.fetched_at = fetched_at
        self._loader = ArticleLoader()  # values only: no selector, which would parse the page again
        self._fields: dict[str, Any] = {}
        #: body paragraph -> its visible text, read once for ``body`` and the body's blocks
        self._paragraphs: dict[Any, str | None] = {}
        _ = self._structured  # read now: its problems come before the article's own
        if self.era is Markup:
            self.problems.append("unknown_era")

    def _first(self, fields: tuple[str, ...], sources: Iterable[Callable[[], Any]]) -> Any:
        """Each source's value added to ``fields`` in priority order until every field holds
        a value; the first field's value. The fields keep their first value (``TakeFirst``),
        so later sources could not change them: they are not even looked up."""
        loader = self._loader
        for source in sources:
            value = source()
            for name in fields:
                loader.add_value(name, value)
            if all(any(v not in (None, "") for v in loader.get_collected_values(name)) for name in fields):
                break
        return loader.get_output_value(fields[0])

    def _value(self, name: str, value: Any) -> Any:
        """``value`` through the field's normaliser."""
        self._loader.add_value(name, value)
        return self._loader.get_output_value(name)

    def _dom_text(self, queries: tuple[Any, ...]) -> str | None:
        found = self.first(queries)
        return " ".join(sel.TEXT(found)) if found is not None else None

    def _typed(self, value: Any, kind: type | tuple[type, ...], where: str, expected: str) -> Any:
        """``value`` when it is absent or of the JSON type a field reads; else None, and the
        page has a problem (``malformed_structured_data``, once per place)."""
        if value is None or isinstance(value, kind):
            return value
        problem = f"{MALFORMED}: {where} is {type(value).__name__}, not {expected}"
        if problem not in self.problems:
            self.problems.append(problem)
        return None

    def _word_list(self, value: Any, where: str) -> list[str]:
        """The words of a JSON list of strings or of one comma-separated string."""
        items = self._typed(value, (str, list), where, "a string or a list of strings")
        words = []
        for item in [items] if isinstance(items, str) else items or []:
            if self._typed(item, str, f"an item of {where}", "a string"):
                words += split_keywords(item)
        return words

    # --- identity ---------------------------------------------------------------------

    @_once
    def _canonical(self) -> tuple[str | None, str | None]:
        """(the canonical URL, its ID), from the first candidate of the requested article
        (any, when the request was for no article URL)."""
        candidates: tuple[Callable[[], str | None], ...] = (
            lambda: self.head_first(sel.CANONICAL),
            lambda: self.head_first(sel.OG_URL),
            lambda: first_str(self.fusion.get("canonicalUrl"), self.fusion.get("websiteUrl")),
            lambda: self.url,
        )
        request_id = urls.article_id(self.url)
        for candidate in (source() for source in candidates):
            if not candidate:
                continue
            url, key, _ = urls.href_target(urls.SITE_ROOT, candidate.strip())
            if url and (request_id is None or key == request_id):
                return url, key
        return None, None

    def canonical_url(self) -> str | None:
        return self._canonical()[0]

    def article_id(self) -> str | None:
        return self._canonical()[1]

    # --- sections ---------------------------------------------------------------------

    def _path(self) -> list[str]:
        return (self.canonical_url() or "").removeprefix(urls.SITE_ROOT).strip("/").split("/")

    @_once
    def section(self) -> str | None:
        return self._value("section", self._path()[0]) if self.canonical_url() else None

    @_once
    def subsection(self) -> str | None:
        if not self.canonical_url():
            return None
        path, section, fusion = self._path(), self._path()[0], self.fusion

        def sub_of(href: str | None) -> str | None:
            found = urls.href_section(urls.SITE_ROOT, href) if href else None
            parts = found.split("/") if found else []
            return parts[1] if len(parts) > 1 and parts[0] == section else None

        def meta_subsection() -> str | None:
            meta_sections = [s.strip() for s in (self.head_first(sel.META_SECTION) or "").split(",")]
            return meta_sections[1] if len(meta_sections) > 1 else None

        slug_and_id = 3 if "premium" in path[-2:-1] else 2
        breadcrumbs = breadcrumb_urls(self.ld_objects)
        subsections = (
            lambda: sub_of(first_str(fusion.get("subSectionLabelLink"))),
            lambda: sub_of(next(iter(self.find(self.era.SUBKICKER_HREF)), None)),
            lambda: path[1] if len(path) - slug_and_id >= 2 else None,
            lambda: [sub_of(href) for href in breadcrumbs + self.find(self.era.BREADCRUMB_HREFS)],
            meta_subsection,
        )
        return self._first(("subsection",), subsections)  # type: ignore[no-any-return]

    def section_path(self) -> str | None:
        return "/".join(filter(None, (self.section(), self.subsection()))) or None

    # --- headline and standfirst ------------------------------------------------------

    @_once
    def title(self) -> str | None:
        ld, fusion = self.article_ld, self.fusion
        titles = (
            lambda: ld.get("headline"),
            lambda: [fusion.get("headline"), dig(fusion, "headlines", "basic")],
            lambda: self._dom_text(self.era.HEADLINE),
            lambda: self.head_first(sel.OG_TITLE),
            lambda: next(iter(self.find(sel.HTML_TITLE)), None),
        )
        return self._first(("title",), titles)  # type: ignore[no-any-return]

    @_once
    def description(self) -> str | None:
        descriptions = (
            lambda: [self.article_ld.get("description"), self.fusion.get("description")],
            lambda: self.head_first(sel.META_DESCRIPTION),
            lambda: self.head_first(sel.OG_DESCRIPTION),
        )
        return self._first(("description",), descriptions)  # type: ignore[no-any-return]

    # --- people -----------------------------------------------------------------------

    @_once
    def _byline(self) -> tuple[str | None, list[str]]:
        return dom_byline(self.first(self.era.BYLINE_BLOCK), self.era)

    @_once
    def authors(self) -> list[str]:
        people: tuple[Callable[[], list[str]], ...] = (
            lambda: ld_people(self.article_ld)[0],
            lambda: fusion_people(self.fusion),
            lambda: self._byline()[1],
            lambda: split_byline(self.head_first(sel.META_AUTHOR)),
        )
        return self._value("authors", next((names for names in (source() for source in people) if names), []))  # type: ignore[no-any-return]

    @_once
    def byline_raw(self) -> str | None:
        return self._value("byline_raw", self._byline()[0])  # type: ignore[no-any-return]

    @_once
    def distributor(self) -> str | None:
        byline_raw = self._byline()[0]
        credits = (distributor_from_credit(text) for query in self.era.CREDITS for text in self.find(query))
        distributors = (
            lambda: dig(self.fusion, "distributor", "name"),
            lambda: self.find(self.era.BYLINE_DISTRIBUTOR),
            lambda: [known_distributor(org) for org in ld_people(self.article_ld)[1]],
            lambda: byline_distributor(byline_raw),
            lambda: list(credits),
            lambda: STAFF_DISTRIBUTOR,
        )
        return self._first(("distributor",), distributors)  # type: ignore[no-any-return]

    # --- times ------------------------------------------------------------------------

    @_once
    def _time_element(self) -> Any | None:
        return self.first(self.era.BYLINE_TIME)

    @_once
    def published_at(self) -> datetime | None:
        ld, fusion = self.article_ld, self.fusion
        published = (
            lambda: _text(ld.get("datePublished")),
            lambda: _text(fusion.get("displayDate")),
            lambda: _text(fusion.get("publishDate")),
            lambda: self.head_first(sel.META_PUBLISHED),
            lambda: _text(el.get("datetime")) if (el := self._time_element()) is not None else None,
            lambda: " ".join(sel.TEXT(el)) if (el := self._time_element()) is not None else None,
        )
        return self._first(("published_at", "published_raw"), published)  # type: ignore[no-any-return]

    def published_raw(self) -> str | None:
        self.published_at()  # the two fields read the same sources together
        return self._loader.get_output_value("published_raw")  # type: ignore[no-any-return]

    @_once
    def updated_at(self) -> datetime | None:
        """The last update, None when it is the publication time or comes before it (a
        problem of the page: ``updated_before_published``)."""
        updated = (
            lambda: _text(self.article_ld.get("dateModified")),
            lambda: _text(self.fusion.get("lastUpdatedDate")),
            lambda: self.head_first(sel.META_MODIFIED),
        )
        value: datetime | None = self._first(("updated_at",), updated)
        published = self.published_at()
        if value and published:
            if value == published:
                return None
            if value < published:
                self.problems.append("updated_before_published")
                return None
        return value

    # --- premium and body -------------------------------------------------------------

    def _premium_label_in_header(self) -> bool:
        label = self.era.PREMIUM_LABEL
        if not any(self.has(word) for word in label.needs):  # no label anywhere: none in a header
            return False
        return any(label.xpath(header) for header in self.find(self.era.HEADER))

    @_once
    def premium(self) -> bool | None:
        """Any one signal of a paywalled article. Cards, menus and body text are never signals.

        Cheapest evidence first: the page is premium as soon as one source says so.
        """
        era, fusion = self.era, self.fusion
        premium = (
            parse_bool(self.article_ld.get("isAccessibleForFree")) is False
            or parse_bool(fusion.get("isPremium")) is True
            or fusion.get("contentCode") == "premium"
            or sel.PREMIUM_URL_SEGMENT in (self.canonical_url() or self.url)
            or bool(self.find(era.PREMIUM_HEADER))
            or self._premium_label_in_header()
            or bool(self.find(era.PREMIUM_PAGE))
            or "premium" in " ".join(self.find(era.PREMIUM_REMINDER)).lower()
        )
        return self._value("premium", premium)  # type: ignore[no-any-return]

    @_once
    def _elements(self) -> list[Any]:
        """The body elements of structured data: Fusion ``elements``, else ANS
        ``content_elements``."""
        for key in ("elements", "content_elements"):
            value = self._typed(self.fusion.get(key), list, f"Fusion {key}", "a list")
            if value:
                return value  # type: ignore[no-any-return]
        return []

    def _structured_body(self) -> list[str]:
        texts = [
            clean_text(element.get("content"))
            for element in self._elements()
            if isinstance(element, dict)
            and element.get("type") == "text"
            and isinstance(element.get("content"), str)
        ]
        paragraphs = [text for text in texts if text]
        body = self.article_ld.get("articleBody")
        if not paragraphs and isinstance(body, str):
            paragraphs = [p for p in (clean_text(x) for x in body.split("\n")) if p]
        return paragraphs

    @_once
    def _classes(self) -> frozenset[str]:
        return hidden_classes(self.article_ld)

    @_once
    def _body(self) -> tuple[list[str], bool]:
        """(the visible paragraphs, whether they come from structured data): from structured
        data when the page has no body section or a cut-off tree (a problem of the page:
        ``no_body_section``)."""
        paragraphs = body_paragraphs(self, self._classes(), self._paragraphs)
        if paragraphs is None:
            self.problems.append("no_body_section")
        if paragraphs is None or self.cut_off:  # a cut-off DOM may hold part of the body, or none
            # Structured copies hold the whole text, paywalled part included: free articles only.
            structured = None if self.premium() else self._structured_body()
            if structured:
                return structured, True
        return paragraphs or [], False

    @_once
    def body(self) -> str | None:
        """The visible paragraphs joined by blank lines."""
        return self._value("body", "\n\n".join(self._body()[0]) or None)  # type: ignore[no-any-return]

    @_once
    def _walked(self) -> Walked:
        """The blocks, HTML and images of the body ``body`` reads (the same source: the
        visible sections, or the structured data it fell back to)."""
        walker = BodyWalker(self._classes(), self.era.NOISE, self.url, self._paragraphs)
        if self._body()[1]:
            return walker.walk_structured(self._elements(), self.article_ld.get("articleBody"))
        sections = visible_sections(self, self._classes())
        return walker.walk(sections) if sections else Walked()

    @_once
    def body_blocks(self) -> list[dict[str, str]]:
        return self._value("body_blocks", self._walked().blocks)  # type: ignore[no-any-return]

    @_once
    def subheadings(self) -> list[str]:
        texts = [found["text"] for found in self.body_blocks() if found["kind"] == "subheading"]
        return self._value("subheadings", texts)  # type: ignore[no-any-return]

    @_once
    def body_html(self) -> str | None:
        return self._value("body_html", self._walked().html)  # type: ignore[no-any-return]

    def word_count(self) -> int:
        return word_count(self.body())

    @_once
    def read_time_minutes(self) -> int | None:
        read_times = (lambda: self.fusion.get("readTime"), lambda: self.find(self.era.READ_TIME))
        return self._first(("read_time_minutes",), read_times)  # type: ignore[no-any-return]

    # --- image and tags ---------------------------------------------------------------

    def _structured_image(self, value: Any, where: str) -> img.Record | None:
        image = self._typed(value, dict, where, "an object")
        if not image:
            return None
        for name in ("url", "contentUrl", "caption"):
            self._typed(image.get(name), str, f"{where}.{name}", "a string")
        return img.structured_record(image)

    @_once
    def _lead_records(self) -> list[img.Record]:
        """What each source says of the lead image, in precedence order: JSON-LD ``image``,
        Fusion ``image`` / ANS ``promo_items.basic`` / Fusion ``ogImage``, ``og:image``, the
        hero figure."""
        ld, fusion = self.article_ld, self.fusion
        records: list[img.Record | None] = []
        for value in as_list(ld.get("image")):
            records.append(
                img.record(value)
                if isinstance(value, str)
                else self._structured_image(value, "JSON-LD image")
            )
        records.append(self._structured_image(fusion.get("image"), "Fusion image"))
        promo = self._typed(fusion.get("promo_items"), dict, "Fusion promo_items", "an object") or {}
        basic = promo.get("basic")
        if dig(basic, "type") in (None, "image"):
            records.append(self._structured_image(basic, "Fusion promo_items.basic"))
        if self._typed(fusion.get("ogImage"), str, "Fusion ogImage", "a string"):
            records.append(img.record(fusion["ogImage"]))
        if og := self.head_first(sel.OG_IMAGE):
            size = (self.head_first(sel.OG_IMAGE_WIDTH), self.head_first(sel.OG_IMAGE_HEIGHT))
            records.append(img.record(og, None, None, *size))
        hero = self.first(self.era.HERO)
        if hero is not None:
            pictures, captions = list(hero.iter("img")), list(hero.iter("figcaption"))
            url = img.largest_candidate(pictures[0], self.url) if pictures else None
            shown = captions[0] if captions else self.first((self.era.HERO_CAPTION,)) if url else None
            caption = collapse_ws(" ".join(sel.TEXT(shown))) if shown is not None else None
            records.append(img.record(url, caption))
        return [found for found in records if found is not None and found.url]

    @_once
    def image_url(self) -> str | None:
        return self._value("image_url", [found.url for found in self._lead_records()])  # type: ignore[no-any-return]

    @_once
    def images(self) -> list[dict[str, Any]]:
        """The lead image, then the visible body's images in page order, one per image (by
        :func:`~.images.image_key`); each value from structured data first."""
        in_body: dict[str | None, img.Record] = {}
        for index, element in enumerate(self._elements()):
            if isinstance(element, dict) and element.get("type") == "image":
                found = self._structured_image(element, f"Fusion body element {index + 1}")
                if found and found.url:
                    in_body.setdefault(found.key, found)
        images, seen = [], set()
        lead = self.image_url()
        if lead:
            key = img.image_key(lead)
            same = [r for r in self._lead_records() if r.key == key] + [
                r for r in in_body.values() if r.key == key
            ]
            images.append(img.merge([img.Record(lead), *same]))
            seen.add(key)
        for shown in self._walked().images:
            if shown.key not in seen:
                seen.add(shown.key)
                images.append(img.merge([r for r in (in_body.get(shown.key), shown) if r is not None]))
        return self._value("images", images)  # type: ignore[no-any-return]

    @_once
    def keywords(self) -> list[str]:
        ld, fusion = self.article_ld, self.fusion
        keywords: tuple[Callable[[], list[str]], ...] = (
            lambda: self._word_list(ld.get("keywords"), "JSON-LD keywords"),
            lambda: (
                self._word_list(fusion.get("keywords"), "Fusion keywords")
                + self._word_list(self._taxonomy().get("seo_keywords"), "Fusion taxonomy.seo_keywords")
            ),
            lambda: [word for value in self.head(sel.META_KEYWORDS) for word in split_keywords(value)],
        )
        return self._value("keywords", next((found for found in (s() for s in keywords) if found), []))  # type: ignore[no-any-return]

    @_once
    def _taxonomy(self) -> dict[str, Any]:
        return self._typed(self.fusion.get("taxonomy"), dict, "Fusion taxonomy", "an object") or {}

    def _section_names(self, value: Any, where: str) -> list[str]:
        names = []
        for section in self._typed(value, list, where, "a list") or []:
            if self._typed(section, dict, f"an item of {where}", "an object"):
                names.append(self._typed(section.get("name"), str, f"{where}[].name", "a string"))
        return [name for name in names if name]

    @_once
    def topics(self) -> list[str]:
        """The names of the sections the article is filed under, section first."""
        fusion = self.fusion
        topics: tuple[Callable[[], list[str]], ...] = (
            lambda: self._word_list(self.article_ld.get("articleSection"), "JSON-LD articleSection"),
            lambda: (
                self._section_names(fusion.get("sections"), "Fusion sections")
                + self._section_names(self._taxonomy().get("sections"), "Fusion taxonomy.sections")
            ),
            lambda: [name for value in self.head(sel.META_SECTION) for name in split_keywords(value)],
            lambda: [" ".join(sel.TEXT(link)) for link in self.find(self.era.KICKERS)],
        )
        return self._value("topics", next((found for found in (s() for s in topics) if found), []))  # type: ignore[no-any-return]

    @_once
    def language(self) -> str | None:
        ld = self.article_ld

        def ld_language() -> Any:
            value = self._typed(
                ld.get("inLanguage"), (str, dict), "JSON-LD inLanguage", "a string or an object"
            )
            return [value.get("alternateName"), value.get("name")] if isinstance(value, dict) else value

        languages = (
            ld_language,
            lambda: self._typed(self.fusion.get("language"), str, "Fusion language", "a string"),
            lambda: self.head(sel.META_LANGUAGE),
            lambda: [self.root.get("lang"), self.root.get(_XML_LANG)] if self.root is not None else None,
        )
        return self._first(("language",), languages)  # type: ignore[no-any-return]

    @_once
    def tags(self) -> list[str]:
        tags = [first_str(dig(tag, "text")) for tag in as_list(self.fusion.get("tags"))]
        if not any(tags):
            tags = [t for value in self.head(sel.META_TAGS) for t in value.split(",")]
        return self._value("tags", tags)  # type: ignore[no-any-return]

    def content_hash(self) -> str:
        digest = hashlib.sha256()
        for value in (self.title(), self.description(), self.body(), "\x1f".join(self.authors())):
            digest.update((value or "").encode("utf-8"))
            digest.update(b"\x1e")
        return digest.hexdigest()

    # --- the item ---------------------------------------------------------------------

    def to_item(self) -> Article:
        """The article, every field normalised. Fields a page lacks keep the item's default."""
        values: dict[str, Any] = {
            "url": self.canonical_url(),
            "article_id": self.article_id(),
            "title": self.title(),
            "description": self.description(),
            "section": self.section(),
            "subsection": self.subsection(),
            "authors": self.authors(),
            "byline_raw": self.byline_raw(),
            "distributor": self.distributor(),
            "published_at": self.published_at(),
            "published_raw": self.published_raw(),
            "premium": self.premium(),
            "body": self.body(),
            "word_count": self.word_count(),
            "read_time_minutes": self.read_time_minutes(),
            "image_url": self.image_url(),
            "tags": self.tags(),
            "keywords": self.keywords(),
            "topics": self.topics(),
            "language": self.language(),
            "images": self.images(),
            "body_blocks": self.body_blocks(),
            "subheadings": self.subheadings(),
            "body_html": self.body_html(),
            "fetched_at": self.fetched_at,
            "section_path": self.section_path(),
            "updated_at": self.updated_at(),
            "content_hash": self.content_hash(),
        }
        return Article(**{name: value for name, value in values.items() if value is not None})

    def extracted(self) -> Extracted:
        """The article and what was wrong with the page, in the order it was found."""
        article = self.to_item()
        return Extracted(article, list(self.problems))
