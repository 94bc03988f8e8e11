"""The dataset on disk, with no Scrapy in it: Parquet files written whole (``files``), tables as
links to versions (``tables``), the one writer's lock (``lock``), compaction and refreshed rows
(``maintenance``), the checks made before anything writes (``integrity``), the invariants
(``validate``), the stored IDs (``known``), one declared schema per table (``schema``), reading
a table pinned to one version (``read``) and the ``herald-dataset`` command (``cli``).

For notebooks and scripts::

    from herald_spider.dataset import read_table, table_versions
    articles = read_table("datasets", "articles", to="pandas")   # or "arrow", "polars"
    runs = read_table("datasets", "runs", to="polars")
    older = read_table("datasets", "articles", version=table_versions("datasets")[0].number)

``read_articles(dataset_dir)`` reads the whole ``articles`` table as Arrow.
"""

from __future__ import annotations

from herald_spider.dataset.files import read_articles
from herald_spider.dataset.read import CannotRead, TableVersion, read_table, table_versions
from herald_spider.dataset.schema import TABLES

__all__ = ["TABLES", "CannotRead", "TableVersion", "read_articles", "read_table", "table_versions"]
