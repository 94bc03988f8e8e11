"""The start-up objects are frozen out of the collector's way for the crawl, and only then."""

from __future__ import annotations

import gc

import pytest
from scrapy.exceptions import NotConfigured

from herald_spider.gcfreeze import FreezeStartupObjects
from tests.conftest import project_crawler


def test_frozen_while_the_spider_is_open() -> None:
    extension = FreezeStartupObjects.from_crawler(project_crawler())
    try:
        extension.spider_opened()
        assert gc.get_freeze_count() > 1000  # pytest, Scrapy and the project, at least
    finally:
        extension.spider_closed()
    assert gc.get_freeze_count() == 0


def test_can_be_turned_off() -> None:
    with pytest.raises(NotConfigured):
        FreezeStartupObjects.from_crawler(project_crawler(HERALD_GC_FREEZE=False))
