"""The item and the Parquet schema describe the same columns; types never come from data."""

from __future__ import annotations

import dataclasses
import os
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from itemadapter import ItemAdapter
from itemadapter.adapter import DataclassAdapter

from herald_spider.dataset.files import CRAWL_MEMORY_POOL, RowBuffer, read_articles, write_table
from herald_spider.dataset.schema import ARTICLES, SCHEMA_VERSION, to_table
from herald_spider.items import Article, ArticleAdapter


def test_item_fields_are_the_schema_columns() -> None:
    assert [f.name for f in dataclasses.fields(Article)] == ARTICLES.names


def test_key_columns_are_not_nullable() -> None:
    required = {f.name for f in ARTICLES if not f.nullable}
    assert required == {"article_id", "url", "title", "premium"}


def test_nulls_in_the_first_rows_do_not_change_types(tmp_path: Path) -> None:
    rows = [
        {"article_id": "A" * 26, "url": "u1", "title": "t", "premium": False},
        {
            "article_id": "B" * 26,
            "url": "u2",
            "title": "t",
            "premium": True,
            "word_count": 5,
            "authors": ["X"],
            "published_at": datetime(2022, 1, 1, tzinfo=UTC),
        },
    ]
    path = write_table(tmp_path, to_table(rows[:1]), "first")
    write_table(tmp_path, to_table(rows[1:]), "second")
    assert pq.read_schema(path).remove_metadata() == ARTICLES.remove_metadata()
    stored = pq.ParquetDataset(tmp_path).read()
    assert stored.schema.field("word_count").type == pa.int32()
    assert stored.schema.field("published_at").type == pa.timestamp("us", tz="UTC")


def test_files_carry_the_schema_version(tmp_path: Path) -> None:
    path = write_table(tmp_path, to_table([]), "empty")
    metadata = pq.read_schema(path).metadata
    assert metadata[b"herald_spider.schema_version"] == SCHEMA_VERSION.encode()
    assert not list(tmp_path.glob(".*"))


def test_read_articles_of_an_empty_dataset(tmp_path: Path) -> None:
    assert read_articles(tmp_path).num_rows == 0


def test_article_adapter_behaves_as_the_stock_dataclass_adapter() -> None:
    article = Article(article_id="A" * 26, title="A title", authors=["Jane Doe"])
    adapter = ItemAdapter(article)
    stock = DataclassAdapter(dataclasses.replace(article))
    assert isinstance(adapter.adapter, ArticleAdapter)
    assert list(adapter.field_names()) == list(stock.field_names())
    assert adapter.asdict() == ItemAdapter(stock.item).asdict() == dataclasses.asdict(article)
    adapter["premium"] = True
    assert article.premium is True and adapter.get("premium") is True
    with pytest.raises(KeyError):
        adapter["no_such_field"] = 1
    with pytest.raises(KeyError):
        adapter["no_such_field"]
    # a subclass (a test double, say) keeps the stock adapter
    subclass = dataclasses.make_dataclass("Sub", [], bases=(Article,))
    assert isinstance(ItemAdapter(subclass()).adapter, DataclassAdapter)
    assert not isinstance(ItemAdapter(subclass()).adapter, ArticleAdapter)


def test_row_buffer_encodes_in_the_crawl_pool_and_keeps_every_value(tmp_path: Path) -> None:
    """Row groups are built in CRAWL_MEMORY_POOL (which hands memory back when a row group is
    done), and converting the columns there gives the same rows as the schema's own table."""
    rows = [
        {
            "article_id": f"{i:026d}",
            "url": f"https://www.nzherald.co.nz/world/a/{i:026d}/",
            "title": f"Title {i}",
            "authors": ["Ann Example", "Bo Example"][: i % 3],
            "published_at": datetime(2022, 1, 1 + i, 8, 30, tzinfo=UTC),
            "premium": i % 2 == 0,
            "word_count": i * 100,
            "body": os.urandom(50_000).hex() if i < 10 else None,
            "tags": ["world"],
        }
        for i in range(12)
    ]
    buffer = RowBuffer(tmp_path, ARTICLES, "crawl-1", batch_rows=100, chunk_rows=10)
    before = CRAWL_MEMORY_POOL.bytes_allocated()
    for row in rows[:10]:
        assert buffer.append(row) is None
    assert CRAWL_MEMORY_POOL.bytes_allocated() - before > 500_000  # the encoded row group
    for row in rows[10:]:
        assert buffer.append(row) is None
    written = buffer.flush()
    assert written is not None and written[1] == 12
    assert CRAWL_MEMORY_POOL.bytes_allocated() <= before
    metadata = pq.ParquetFile(written[0]).metadata
    assert [metadata.row_group(i).num_rows for i in range(metadata.num_row_groups)] == [10, 2]
    stored = pq.read_table(written[0])
    assert stored.to_pylist() == to_table(rows).to_pylist()
