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
from scrapy.http import HtmlResponse

from herald_spider.dataset.files import (
    CRAWL_MEMORY_POOL,
    RowBuffer,
    parquet_files,
    read_articles,
    read_table,
    write_table,
)
from herald_spider.dataset.maintenance import compact_table, file_schema_version, needs_compaction
from herald_spider.dataset.schema import ARTICLES, SCHEMA_VERSION, to_table
from herald_spider.dataset.tables import ensure_table, snapshot
from herald_spider.items import Article, ArticleAdapter, row_of
from herald_spider.pages.article import ArticlePage
from tests.conftest import FIXTURES


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


#: the articles columns schema version 5 added
VERSION_5_COLUMNS = ("keywords", "topics", "language", "images", "body_blocks", "subheadings", "body_html")


def test_image_and_block_columns_are_declared_structs() -> None:
    images = ARTICLES.field("images").type
    assert pa.types.is_list(images) and pa.types.is_struct(images.value_type)
    assert [(f.name, f.type) for f in images.value_type] == [
        ("url", pa.string()),
        ("caption", pa.string()),
        ("credit", pa.string()),
        ("width", pa.int32()),
        ("height", pa.int32()),
    ]
    blocks = ARTICLES.field("body_blocks").type
    assert [(f.name, f.type) for f in blocks.value_type] == [("kind", pa.string()), ("text", pa.string())]
    for name in ("keywords", "topics", "subheadings"):
        assert ARTICLES.field(name).type == pa.list_(pa.string())
    assert ARTICLES.field("language").type == ARTICLES.field("body_html").type == pa.string()


def test_a_version_4_file_reads_with_new_columns_null_and_compacts_to_the_current_one(tmp_path: Path) -> None:
    table_dir = ensure_table(tmp_path, "articles")
    version_4 = pa.schema(
        [ARTICLES.field(name) for name in ARTICLES.names if name not in VERSION_5_COLUMNS],
        metadata={"herald_spider.table": "articles", "herald_spider.schema_version": "4"},
    )
    old_row = {"article_id": "A" * 26, "url": "u1", "title": "Old", "premium": False, "tags": ["World"]}
    new_row = {
        "article_id": "B" * 26,
        "url": "u2",
        "title": "New",
        "premium": True,
        "language": "en",
        "keywords": ["rugby"],
        "images": [
            {
                "url": "https://x.org/A.jpg",
                "caption": "A. Photo / AP",
                "credit": "AP",
                "width": 2,
                "height": 1,
            }
        ],
        "body_blocks": [{"kind": "paragraph", "text": "One."}],
        "body_html": "<p>One.</p>",
    }
    pq.write_table(to_table([old_row], version_4), table_dir / "part-v4-00001.parquet")
    write_table(table_dir, to_table([new_row]), "part-v5-00001")

    table = read_table(table_dir, "articles").sort_by("article_id")
    assert table.schema.remove_metadata() == ARTICLES.remove_metadata()
    old, new = table.to_pylist()
    assert {name: old[name] for name in VERSION_5_COLUMNS} == dict.fromkeys(VERSION_5_COLUMNS)
    assert old["tags"] == ["World"] and old["title"] == "Old"
    assert new["images"] == new_row["images"] and new["body_blocks"] == new_row["body_blocks"]
    assert read_articles(tmp_path).num_rows == 2

    assert needs_compaction(tmp_path, "articles", max_files=100)
    compact_table(tmp_path, "articles")
    assert not needs_compaction(tmp_path, "articles", max_files=100)
    files = parquet_files(snapshot(table_dir))
    assert files and all(file_schema_version(path) == SCHEMA_VERSION == "6" for path in files)
    assert all(pq.read_schema(path).remove_metadata() == ARTICLES.remove_metadata() for path in files)
    assert read_table(table_dir, "articles").sort_by("article_id").to_pylist() == [old, new]


def test_an_extracted_article_round_trips_through_parquet(tmp_path: Path) -> None:
    """The item's lists of dicts become the declared structs and come back unchanged."""
    path = "eras/www.nzherald.co.nz/world/asia/rich-body-blocks-and-figures/RICHBODY2026MARKUP00000001/"
    path += "index.html"
    url = "https://" + "/".join(path.split("/")[1:-1]) + "/"
    article = ArticlePage(HtmlResponse(url=url, body=(FIXTURES / path).read_bytes())).to_item()
    assert article.images and article.body_blocks and article.subheadings
    stored = pq.read_table(write_table(tmp_path, to_table([row_of(article)]), "one")).to_pylist()[0]
    for name in VERSION_5_COLUMNS:
        assert stored[name] == getattr(article, name), name
