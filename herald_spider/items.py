"""The article item: one documented field per dataset column (see :mod:`herald_spider.dataset.schema`)."""

from __future__ import annotations

from dataclasses import Field, dataclass, field, fields
from datetime import datetime
from typing import Any, ClassVar

from itemadapter import ItemAdapter
from itemadapter.adapter import DataclassAdapter


@dataclass
class Article:
    """One NZ Herald article as stored in ``<HERALD_DATASET_DIR>/articles/``.

    Every timestamp is tz-aware UTC with whole seconds. Text fields are entity-decoded with
    white space collapsed. A field the page does not give is ``None`` (lists: ``[]``).
    """

    #: The 26-character Arc ID from the URL (``ZENJPN3QZCD533OKO7FSX5JTSK``); the key.
    article_id: str | None = None
    #: Canonical URL: https, www host, trailing slash, ``/premium/`` kept where the site uses it.
    url: str | None = None
    #: Top-level section slug from the URL (``world``).
    section: str | None = None
    #: Subsection slug (``australia``, ``middle-east``), from page data or the URL; else None.
    subsection: str | None = None
    #: ``section`` and ``subsection`` joined by ``/`` (``world/australia``).
    section_path: str | None = None
    #: The visible headline: entities decoded, white space collapsed, no " - NZ Herald".
    title: str | None = None
    #: The standfirst (meta description).
    description: str | None = None
    #: Person names in byline order; ``[]`` for agency copy.
    authors: list[str] = field(default_factory=list)
    #: Syndication source or wire ("New York Times", "AP", "Reuters"); "NZ Herald" for staff.
    distributor: str | None = None
    #: The byline as the page shows it ("By Lachlan Moore and Priya Raman").
    byline_raw: str | None = None
    #: First publication (UTC).
    published_at: datetime | None = None
    #: Last update (UTC); None when never updated (equal to ``published_at`` or not given).
    updated_at: datetime | None = None
    #: The string ``published_at`` was parsed from, as the source gave it.
    published_raw: str | None = None
    #: Herald Premium (paywalled) article.
    premium: bool | None = None
    #: Visible body paragraphs joined by blank lines; for premium articles only the part a
    #: non-subscriber is shown.
    body: str | None = None
    #: Whitespace-separated words in ``body``.
    word_count: int | None = None
    #: Minutes to read as the page states it ("Quick Read" is 1).
    read_time_minutes: int | None = None
    #: Lead image URL (original size where the page gives it).
    image_url: str | None = None
    #: Topic tags in page order.
    tags: list[str] = field(default_factory=list)
    #: SEO keywords as the page lists them (JSON-LD ``keywords``, Fusion ``keywords`` or ANS
    #: ``taxonomy.seo_keywords``, ``meta[name=keywords]``), in page order, no repeats.
    keywords: list[str] = field(default_factory=list)
    #: Names of the sections the article is filed under, section first ("Sport", "Rugby"):
    #: JSON-LD ``articleSection``, Fusion/ANS ``sections``, ``article:section``, the kickers.
    topics: list[str] = field(default_factory=list)
    #: BCP 47 primary language subtag ("en"): JSON-LD ``inLanguage``, Fusion ``language``,
    #: the head's language metas, ``<html lang>``.
    language: str | None = None
    #: The lead image (its ``url`` is ``image_url``), then each image of the visible body in
    #: page order, one entry per image: ``{"url", "caption", "credit", "width", "height"}``.
    #: ``caption`` as the page shows it (credit line included), ``credit`` its "Photo / X"
    #: line or else the image's credit in structured data; ``width``/``height`` in pixels of
    #: that URL, None when the page does not say.
    images: list[dict[str, Any]] = field(default_factory=list)
    #: The visible body as blocks ``{"kind", "text"}`` in page order; ``kind`` is
    #: "paragraph", "subheading", "quote" or "list_item" (one per list item). The paragraph
    #: blocks joined by blank lines are ``body``.
    body_blocks: list[dict[str, str]] = field(default_factory=list)
    #: The texts of the ``subheading`` blocks.
    subheadings: list[str] = field(default_factory=list)
    #: The visible body as cleaned HTML: p, h2-h4, blockquote, ul, ol, li, a[href], strong,
    #: em, br, figure, img[src, alt], figcaption; nothing a non-subscriber is not shown.
    body_html: str | None = None
    #: SHA-256 of title, description, body and authors: changes when the content changes.
    content_hash: str | None = None
    #: When the page was fetched (UTC).
    fetched_at: datetime | None = None
    #: The crawl that stored this row.
    crawl_id: str | None = None
    #: 1 for the first stored version, +1 each time a refresh finds changed content.
    revision: int | None = None
    #: When the article was first fetched (UTC).
    first_seen_at: datetime | None = None
    #: When a crawl last fetched the article, changed or not (UTC).
    last_seen_at: datetime | None = None


class ArticleAdapter(DataclassAdapter):
    """itemadapter's ``DataclassAdapter`` for :class:`Article`, its field table built once.

    Every pipeline wraps every article in an ``ItemAdapter``, and the stock adapter lists the
    dataclass's fields into a new table each time: about 3 µs, more than a small pipeline's
    own work. Registered first in ``ItemAdapter.ADAPTER_CLASSES`` (itemadapter's extension
    point) on import; a subclass of ``Article`` still gets the stock adapter.
    """

    _FIELDS: ClassVar[dict[str, Field[Any]]] = {f.name: f for f in fields(Article)}

    def __init__(self, item: Any) -> None:
        self.item = item
        self._fields_dict = self._FIELDS

    @classmethod
    def is_item(cls, item: Any) -> bool:
        return type(item) is Article

    @classmethod
    def is_item_class(cls, item_class: type) -> bool:
        return item_class is Article


def row_of(item: Any) -> dict[str, Any]:
    """An item as a row of its table: a shallow copy of its fields (values are not copied again)."""
    if hasattr(item, "__dataclass_fields__"):
        return dict(vars(item))
    return dict(ItemAdapter(item))


ItemAdapter.ADAPTER_CLASSES.appendleft(ArticleAdapter)  # type: ignore[attr-defined]
