"""Spider contracts for ``scrapy check`` (``SPIDER_CONTRACTS`` in herald_spider/settings.py).

Scrapy's ``@scrapes`` passes when an item merely has the field, and every field of the
:class:`~herald_spider.items.Article` dataclass is always there (``None`` when the page did not
give it), so it could never fail. This ``@scrapes`` takes its place: each field named must hold a
value, not ``None``, an empty string or an empty list.
"""

from __future__ import annotations

from typing import Any

from itemadapter import ItemAdapter, is_item
from scrapy.contracts import Contract
from scrapy.exceptions import ContractFail


def empty(value: Any) -> bool:
    """Whether a field's value is missing: ``None``, an empty string or an empty list.

    >>> [empty(v) for v in (None, "", " ", [], False, 0, "x", ["a"])]
    [True, True, True, True, False, False, False, False]
    """
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    return isinstance(value, list | tuple | dict) and not value


class ScrapesContract(Contract):
    """``@scrapes field_1 field_2 ...``: every item the callback returns has a value in each."""

    name = "scrapes"

    def post_process(self, output: list[Any]) -> None:
        for item in output:
            if not is_item(item):
                continue
            adapter = ItemAdapter(item)
            missing = [name for name in self.args if name not in adapter or empty(adapter.get(name))]
            if missing:
                raise ContractFail(f"No value for: {', '.join(missing)}")
