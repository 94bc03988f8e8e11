"""Refusals: a user's mistake caught before anything is written or lost.

A :class:`Refused` error carries one line for a person: what is wrong, naming the path or
setting, and what to do. The crawl logs it as its last line and exits non-zero
(:mod:`herald_spider.commands.crawl`); ``herald-dataset`` prints it and exits 2. Nothing in
this module imports Scrapy, so the dataset package raises these too.
"""

from __future__ import annotations


class Refused(Exception):
    """Something a user gave (a setting, a path, a dataset folder) that would lose or damage data."""


class DatasetDamaged(Refused):
    """The dataset's folders or files are not what this project wrote: reading or writing would be wrong."""
