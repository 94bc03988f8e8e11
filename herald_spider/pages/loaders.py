"""Wires the normalisers to item fields. Values are added in source priority order
(JSON-LD, Fusion, meta, DOM); ``TakeFirst`` keeps the first one that normalises."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import Any

from itemloaders.processors import Identity, TakeFirst
from itemloaders.utils import arg_to_iter
from scrapy.loader import ItemLoader

from herald_spider.items import Article
from herald_spider.pages.dates import parse_datetime
from herald_spider.pages.normalize import (
    clean_text,
    clean_title,
    collapse_ws,
    language_tag,
    normalize_distributor,
    parse_bool,
    parse_read_time,
    slugify,
)


def unique(values: Iterable[Any]) -> list[Any]:
    """Values in first-seen order without repeats.

    >>> unique(["a", "b", "a"])
    ['a', 'b']
    """
    seen: list[Any] = []
    for value in values:
        if value not in seen:
            seen.append(value)
    return seen


def parseable_datetime(value: str | None) -> str | None:
    """The raw text itself (white space collapsed) when it parses as a timestamp, else None.

    >>> parseable_datetime(" 13 Jan, 2022  08:32 PM ")
    '13 Jan, 2022 08:32 PM'
    >>> parseable_datetime("soon") is None
    True
    """
    text = collapse_ws(value)
    return text if parse_datetime(text) else None


@functools.lru_cache(maxsize=256)
def _processor(loader_class: Any, item_class: Any, field_name: str, kind: str) -> Any:
    """A loader class's input (``kind`` "in") or output processor for a field, as
    ``ItemLoader.get_input_processor`` / ``get_output_processor`` find it."""
    loader = loader_class(item=item_class())
    if kind == "in":
        return ItemLoader.get_input_processor(loader, field_name)
    return ItemLoader.get_output_processor(loader, field_name)


class Each:
    """``MapCompose(function)`` for a function that takes no loader context: the function
    applied to each value, lists flattened, ``None`` dropped. The same results without the
    context ``MapCompose`` builds, and its functions wraps, on every call (more than the
    normalisers themselves cost).

    >>> Each(str.upper)(["a", "b"]), Each(lambda v: None if v == "x" else [v, v])(["x", "y"])
    (['A', 'B'], ['y', 'y'])
    >>> from itemloaders.processors import MapCompose
    >>> Each(str.upper)("a") == MapCompose(str.upper)("a")
    True
    """

    def __init__(self, function: Callable[[Any], Any]) -> None:
        self.function = function

    def __call__(self, value: Any) -> list[Any]:
        found: list[Any] = []
        for item in arg_to_iter(value):
            found += arg_to_iter(self.function(item))
        return found


class ArticleLoader(ItemLoader):
    default_item_class = Article
    default_input_processor = Each(clean_text)
    default_output_processor = TakeFirst()

    title_in = Each(clean_title)
    subsection_in = Each(slugify)
    authors_out = unique
    tags_out = unique
    keywords_out = unique
    topics_out = unique
    language_in = Each(language_tag)
    images_in = Identity()
    images_out = Identity()
    body_blocks_in = Identity()
    body_blocks_out = Identity()
    subheadings_in = Identity()
    subheadings_out = Identity()
    body_html_in = Identity()
    distributor_in = Each(normalize_distributor)
    byline_raw_in = Each(collapse_ws)
    published_at_in = Each(parse_datetime)
    published_raw_in = Each(parseable_datetime)
    updated_at_in = Each(parse_datetime)
    premium_in = Each(parse_bool)
    body_in = Identity()
    read_time_minutes_in = Each(parse_read_time)
    image_url_in = Each(collapse_ws)
    url_in = Identity()
    article_id_in = Identity()
    word_count_in = Identity()
    fetched_at_in = Identity()

    # Processors belong to the loader and item classes: look each up once, not on every value.
    def get_input_processor(self, field_name: str) -> Any:
        classes: tuple[Any, Any] = (type(self), type(self.item))
        return _processor(*classes, field_name, "in")

    def get_output_processor(self, field_name: str) -> Any:
        classes: tuple[Any, Any] = (type(self), type(self.item))
        return _processor(*classes, field_name, "out")
