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


ItemAdapter.ADAPTER_CLASSES.appendleft(ArticleAdapter)  # type: ignore[attr-defined]
