"""The dataset on disk, with no Scrapy in it: Parquet files written whole (``files``), tables as
links to versions (``tables``), the one writer's lock (``lock``), compaction and refreshed rows
(``maintenance``), the checks made before anything writes (``integrity``), the invariants
(``validate``), the stored IDs (``known``), one declared schema per table (``schema``) and the
``herald-dataset`` command (``cli``).

``read_articles(dataset_dir)`` reads the whole ``articles`` table with its declared types.
"""

from __future__ import annotations

from herald_spider.dataset.files import read_articles

__all__ = ["read_articles"]
