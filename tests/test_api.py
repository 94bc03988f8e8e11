"""The Python API: two crawls in one Python process, and every table read back from a ``str``
path as Arrow, pandas and Polars, pinned to one version."""

from __future__ import annotations

import logging
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

from herald_spider import api
from herald_spider.api import CrawlFailed, Run, crawl
from herald_spider.dataset import CannotRead, read_articles, read_table, table_versions
from herald_spider.dataset import read as read_module
from herald_spider.dataset.files import write_table
from herald_spider.dataset.maintenance import compact_table
from herald_spider.dataset.schema import RUNS, TABLES, to_table
from herald_spider.errors import DatasetDamaged
from tests.conftest import SITE, expected_articles

ARTICLES = len(expected_articles())
REPLAY = {"HERALD_REPLAY": str(SITE)}


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Two crawls of the fixture mirror through the API, one after the other in this process,
    from a working folder that is not the project (the dataset given relative to it)."""
    where = tmp_path_factory.mktemp("notebook")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(where)
        first = crawl("world", settings=REPLAY, dataset_dir="datasets")
        second = crawl("world", settings=REPLAY, dataset_dir=Path("datasets"))
    return {"first": first, "second": second, "dataset": where / "datasets"}


def test_first_crawl_stores_every_article(runs: dict[str, Any]) -> None:
    first: Run = runs["first"]
    assert (first.exit_code, first.ok, first.verdict) == (0, True, "healthy")
    assert first.articles_stored == ARTICLES
    assert first.row is not None and first.row["crawl_id"] == first.crawl_id
    assert first.row["finish_reason"] == "finished"


def test_second_crawl_in_the_same_process_skips_stored_articles(runs: dict[str, Any]) -> None:
    second: Run = runs["second"]
    assert (second.exit_code, second.verdict) == (0, "healthy")
    assert second.articles_stored == 0
    assert second.articles_skipped_known > 0
    assert second.crawl_id != runs["first"].crawl_id
    assert read_table(str(runs["dataset"]), "runs").num_rows == 2


def test_the_dataset_is_where_the_caller_is(runs: dict[str, Any]) -> None:
    first: Run = runs["first"]
    assert first.dataset_dir == runs["dataset"] and first.dataset_dir.is_absolute()
    assert (runs["dataset"] / "articles").is_symlink()


def test_run_keeps_its_log(runs: dict[str, Any]) -> None:
    first: Run = runs["first"]
    log = first.log_file.read_text(encoding="utf-8")
    assert first.crawl_id in log and "Spider closed (finished)" in log
    assert first.log_tail and first.log_tail[-1] in log
    assert f"{first.articles_stored} articles stored" in repr(first)


def test_run_reads_its_own_rows(runs: dict[str, Any]) -> None:
    first: Run = runs["first"]
    frame = first.read("articles", to="pandas", columns=["article_id", "title"])
    assert len(frame) == ARTICLES and list(frame.columns) == ["article_id", "title"]
    assert runs["second"].read("articles").num_rows == 0
    assert runs["second"].read("runs", to="polars").height == 1


def test_refused_argument_raises_with_the_reason(tmp_path: Path) -> None:
    with pytest.raises(CrawlFailed) as failed:
        crawl("world", args={"refresh": "sometimes"}, settings=REPLAY, dataset_dir=tmp_path / "ds")
    run = failed.value.run
    assert run.exit_code == 1 and run.row is None and not run.ok
    assert "refresh='sometimes'" in str(failed.value) and "exited 1" in str(failed.value)
    assert not (tmp_path / "ds").exists()


def test_failed_crawl_without_check_returns_the_run(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="herald_spider.api")
    run = crawl("world", args={"bogus": "1"}, dataset_dir=tmp_path / "ds", check=False)
    assert run.exit_code == 1 and "unknown spider argument bogus" in "\n".join(run.log_tail)
    assert any("unknown spider argument bogus" in r.getMessage() for r in caplog.records)


def test_site_not_crawled_is_exit_4(tmp_path: Path) -> None:
    empty = tmp_path / "mirror"
    (empty / "www.nzherald.co.nz").mkdir(parents=True)
    (empty / "www.nzherald.co.nz" / "robots.txt").write_text("User-agent: *\n", encoding="utf-8")
    run = crawl("world", settings={"HERALD_REPLAY": empty}, dataset_dir=tmp_path / "ds", check=False)
    assert run.exit_code == 4 and run.verdict == "failed" and run.failed_checks
    assert "the site could not be crawled" in run.explain()


@pytest.mark.parametrize(
    ("settings", "words"),
    [
        ({"HERALD_DATASET_DIR": "x"}, "dataset_dir="),
        ({"HERALD_CRAWL_ID": "x"}, "crawl_id="),
        ({"LOG_FILE": "x"}, "log_file="),
        ({"BAD NAME": "x"}, "'BAD NAME'"),
    ],
)
def test_settings_the_api_owns_are_refused(settings: dict[str, str], words: str) -> None:
    with pytest.raises(ValueError, match=words):
        crawl("world", settings=settings)


def test_a_spider_name_that_is_not_a_name_is_refused() -> None:
    with pytest.raises(ValueError, match="spider '-O'"):
        crawl("-O")


def test_unsafe_crawl_id_is_refused() -> None:
    with pytest.raises(ValueError, match="HERALD_CRAWL_ID"):
        crawl("world", crawl_id="../../etc")


# --- reading tables ---------------------------------------------------------------------

INT_TYPES = {pa.int32(): ("Int32", pl.Int32), pa.int64(): ("Int64", pl.Int64)}
TS = pa.timestamp("us", tz="UTC")


@pytest.mark.parametrize("table", list(TABLES))
def test_every_table_reads_as_arrow_with_declared_types(runs: dict[str, Any], table: str) -> None:
    arrow = read_table(str(runs["dataset"]), table)
    assert arrow.schema.remove_metadata() == TABLES[table][0].remove_metadata()
    if table in ("articles", "runs", "links"):
        assert arrow.num_rows > 0


@pytest.mark.parametrize("table", list(TABLES))
def test_every_table_reads_as_pandas_with_declared_types(runs: dict[str, Any], table: str) -> None:
    frame = read_table(str(runs["dataset"]), table, to="pandas")
    assert isinstance(frame, pd.DataFrame)
    schema = TABLES[table][0]
    assert list(frame.columns) == schema.names
    for field in schema:
        dtype = str(frame[field.name].dtype)
        if field.type == TS:
            assert dtype == "datetime64[us, UTC]", field.name
        elif field.type in INT_TYPES:
            assert dtype == INT_TYPES[field.type][0], field.name
        elif field.type == pa.bool_():
            assert dtype == "bool", field.name


@pytest.mark.parametrize("table", list(TABLES))
def test_every_table_reads_as_polars_with_declared_types(runs: dict[str, Any], table: str) -> None:
    frame = read_table(str(runs["dataset"]), table, to="polars")
    assert isinstance(frame, pl.DataFrame)
    schema = TABLES[table][0]
    assert frame.columns == schema.names
    for field in schema:
        dtype = frame.schema[field.name]
        if field.type == TS:
            assert dtype == pl.Datetime("us", "UTC"), field.name
        elif field.type in INT_TYPES:
            assert dtype == INT_TYPES[field.type][1], field.name
        elif field.type == pa.string():
            assert dtype == pl.String, field.name
        elif field.type == pa.list_(pa.string()):
            assert dtype == pl.List(pl.String), field.name


def test_rows_agree_across_libraries(runs: dict[str, Any]) -> None:
    dataset = str(runs["dataset"])
    arrow = read_table(dataset, columns=["article_id", "published_at"])
    frame = read_table(dataset, to="pandas", columns=["article_id", "published_at"])
    polars = read_table(dataset, to="polars", columns=["article_id", "published_at"])
    assert arrow.num_rows == len(frame) == polars.height == ARTICLES
    assert sorted(frame["article_id"]) == sorted(polars["article_id"].to_list())


def test_read_articles_takes_a_str(runs: dict[str, Any]) -> None:
    assert read_articles(str(runs["dataset"])).num_rows == ARTICLES


@pytest.fixture
def dataset_copy(runs: dict[str, Any], tmp_path: Path) -> Path:
    """A copy of the crawled dataset (links kept as links) to compact."""
    target = tmp_path / "dataset"
    shutil.copytree(runs["dataset"], target, symlinks=True)
    return target


def test_read_is_pinned_across_a_compaction(dataset_copy: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A compaction that swaps the table in after the read listed its files changes nothing:
    the read takes the version it resolved, whose files stay for the grace period."""
    before = sorted(read_table(str(dataset_copy), "links").to_pylist(), key=repr)
    listed = read_module.parquet_files

    def list_then_compact(folder: Path) -> list[Path]:
        files = listed(folder)
        if files and "links" in folder.name:
            compact_table(dataset_copy, "links", grace=600)
        return files

    monkeypatch.setattr(read_module, "parquet_files", list_then_compact)
    during = read_table(str(dataset_copy), "links")
    monkeypatch.undo()
    assert sorted(during.to_pylist(), key=repr) == before
    kept = table_versions(str(dataset_copy), "links")
    assert [v.current for v in kept] == [False, True]
    assert kept[-1].files == 1 < kept[0].files


def test_an_older_version_reads_as_it_was(dataset_copy: Path) -> None:
    """A row written again under the same key: compaction keeps the last one, the version
    before it still has both."""
    stored = read_table(dataset_copy, "runs")
    again = stored.slice(0, 1).to_pylist()[0] | {"finish_reason": "written again"}
    write_table(dataset_copy / "runs", to_table([again], RUNS), "run-again")
    compact_table(dataset_copy, "runs", grace=600)
    old, new = table_versions(dataset_copy, "runs")
    assert (old.current, new.current) == (False, True)
    assert read_table(dataset_copy, "runs", version=old.number).num_rows == 3
    assert read_table(dataset_copy, "runs", version=new.number).num_rows == 2
    assert read_table(str(dataset_copy), "runs").num_rows == 2
    reasons = read_table(dataset_copy, "runs", version=old.number, to="pandas")["finish_reason"]
    assert sorted(reasons) == ["finished", "finished", "written again"]


def test_refusals_are_clear(dataset_copy: Path, tmp_path: Path) -> None:
    with pytest.raises(CannotRead, match="version 99 of articles is not in"):
        read_table(str(dataset_copy), version=99)
    with pytest.raises(CannotRead, match="unknown table 'article'"):
        read_table(str(dataset_copy), "article")
    with pytest.raises(CannotRead, match="unknown column"):
        read_table(str(dataset_copy), columns=["nope"])
    with pytest.raises(CannotRead, match="to='numpy'"):
        read_table(str(dataset_copy), to="numpy")  # type: ignore[arg-type]
    with pytest.raises(CannotRead, match="is the articles table of the dataset"):
        read_table(str(dataset_copy / "articles"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(CannotRead, match="not a herald_spider dataset"):
        read_table(str(tmp_path / "empty"))
    with pytest.raises(CannotRead, match="does not exist"):
        read_table(str(tmp_path / "nowhere"))
    (dataset_copy / "links").unlink()
    (dataset_copy / "links").symlink_to("elsewhere")
    with pytest.raises(DatasetDamaged, match="not a version folder"):
        read_table(str(dataset_copy), "links")


def test_missing_library_is_named(dataset_copy: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(__import__("sys").modules, "polars", None)  # import polars fails
    with pytest.raises(ImportError, match="pip install polars"):
        read_table(str(dataset_copy), to="polars")


def test_child_finds_the_project_anywhere() -> None:
    env = api._environment()
    assert env["SCRAPY_SETTINGS_MODULE"] == "herald_spider.settings"
    assert env["PYTHONPATH"].split(":")[0] == str(Path(api.__file__).resolve().parents[1])


def test_an_interrupt_is_passed_on_once_and_waited_for(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The notebook's stop button: the child gets one SIGINT (Scrapy then closes the spider and
    stores what it fetched), is waited for, and the interrupt goes on to the caller."""
    child = tmp_path / "child.py"
    child.write_text(
        "import time\n"
        "print('started', flush=True)\n"
        "try:\n    time.sleep(60)\n"
        "except KeyboardInterrupt:\n    time.sleep(0.5)\n    print('closed gently', flush=True)\n",
        encoding="utf-8",
    )
    real_wait = subprocess.Popen.wait
    interrupted: list[bool] = []

    def wait(self: subprocess.Popen[bytes], timeout: float | None = None) -> int:
        if not interrupted:
            interrupted.append(True)
            time.sleep(1.5)  # the child is asleep in its try block
            raise KeyboardInterrupt
        return real_wait(self, timeout)

    monkeypatch.setattr(subprocess.Popen, "wait", wait)
    log = tmp_path / "child.log"
    with pytest.raises(KeyboardInterrupt):
        api._run([sys.executable, str(child)], log)
    assert log.read_text(encoding="utf-8").splitlines() == ["started", "closed gently"]


@pytest.mark.parametrize("kind", ["file", "link"])
def test_a_log_file_that_exists_is_refused_and_left_as_it_was(tmp_path: Path, kind: str) -> None:
    """Someone's file at ``log_file`` (or a link to one) is never written over or through;
    nothing is crawled."""
    precious = tmp_path / "notes.txt"
    precious.write_text("keep me")
    log = tmp_path / "crawl.log"
    if kind == "link":
        log.symlink_to(precious)
    else:
        log.write_text("keep me")
    with pytest.raises(FileExistsError, match="exists: give a new path"):
        crawl("world", settings=REPLAY, dataset_dir=tmp_path / "d", log_file=log)
    assert precious.read_text() == "keep me" and log.read_text() == "keep me"
    assert not (tmp_path / "d").exists()
