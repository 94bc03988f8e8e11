"""Nothing a user does by mistake loses data (issue 16): each of the seven ways the dataset
was lost, reproduced as a user would do it, now ends in a clear refusal with nothing lost; and
a crawl that could not write what it fetched ends non-zero and says so.

Crawls run as ``scrapy crawl`` subprocesses through Scrapy's engine, in replay mode. The
full-disk cases mount a small tmpfs (root only: skipped, with the reason, elsewhere).
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from herald_spider.commands.crawl import EXIT_NOT_STARTED, EXIT_OK, EXIT_WRITE_FAILED
from herald_spider.dataset.cli import main
from herald_spider.dataset.files import (
    WriteFailed,
    parquet_files,
    read_articles,
    read_table,
    write_bytes,
    write_table,
)
from herald_spider.dataset.schema import LINKS, TABLES, to_table
from herald_spider.dataset.tables import ensure_table, snapshot
from tests.conftest import SITE, expected_articles
from tests.test_compaction import article

PROJECT = Path(__file__).resolve().parents[1]
ALL_IDS = {a["article_id"] for a in expected_articles()}


def scrapy_crawl(dataset: Path, *extra: str, spider: str = "world") -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "scrapy", "crawl", spider, "-s", f"HERALD_REPLAY={SITE}"]
    command += ["-s", f"HERALD_DATASET_DIR={dataset}", "-s", "LOG_LEVEL=INFO", *extra]
    return subprocess.run(command, cwd=PROJECT, capture_output=True, text=True, timeout=180)


def last_line(log: str) -> str:
    return log.strip().splitlines()[-1]


def fingerprint(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` (links not followed) with a hash of its bytes."""
    found = {}
    for path in sorted(folder.rglob("*")):
        if path.is_symlink():
            found[str(path.relative_to(folder))] = f"-> {os.readlink(path)}"
        elif path.is_file():
            found[str(path.relative_to(folder))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


@pytest.fixture(autouse=True)
def wide_tables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "400")  # so a long path in a table is not wrapped


def herald_dataset(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    status = main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out + captured.err


@pytest.fixture(scope="module")
def crawled(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A dataset of one whole crawl, copied by the tests that damage it."""
    dataset = tmp_path_factory.mktemp("crawled") / "dataset"
    done = scrapy_crawl(dataset)
    assert done.returncode == EXIT_OK, done.stderr[-3000:]
    return dataset


def copy_of(dataset: Path, where: Path) -> Path:
    subprocess.run(["cp", "-a", str(dataset), str(where)], check=True)
    return where


# --- 1. a reused crawl ID ---------------------------------------------------------------


def test_a_reused_crawl_id_is_refused_and_the_first_crawl_keeps_its_rows(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dataset = tmp_path / "dataset"
    first = scrapy_crawl(dataset, "-s", "HERALD_CRAWL_ID=nightly")
    assert first.returncode == EXIT_OK, first.stderr[-3000:]
    before = fingerprint(dataset)
    second = scrapy_crawl(dataset, "-s", "HERALD_CRAWL_ID=nightly", "-a", "refresh=all")
    assert second.returncode == EXIT_NOT_STARTED
    assert "HERALD_CRAWL_ID=nightly was already used" in last_line(second.stderr)
    assert "Traceback" not in second.stderr and "Crawled (" not in second.stderr
    assert fingerprint(dataset) == before
    assert set(read_articles(dataset, ["article_id"])["article_id"].to_pylist()) == ALL_IDS
    assert read_table(dataset / "runs", "runs")["crawl_id"].to_pylist() == ["nightly"]
    assert herald_dataset(capsys, "validate", str(dataset))[0] == 0


def test_a_crawl_id_found_only_in_stored_rows_is_refused_too(tmp_path: Path) -> None:
    """A killed crawl writes no runs row, and compaction renames its files: its rows still
    carry its ID."""
    dataset = tmp_path / "dataset"
    write_table(ensure_table(dataset, "articles"), to_table([article(1, crawl_id="nightly")]), "compact-x")
    done = scrapy_crawl(dataset, "-s", "HERALD_CRAWL_ID=nightly")
    assert done.returncode == EXIT_NOT_STARTED
    assert "rows of the articles table" in last_line(done.stderr)


def test_a_write_never_replaces_a_file_of_the_dataset(tmp_path: Path) -> None:
    first = write_bytes(tmp_path, b"first crawl's rows", "part-nightly-00001", rows=1)
    with pytest.raises(WriteFailed, match="File exists"):
        write_bytes(tmp_path, b"second crawl's rows", "part-nightly-00001", rows=1)
    assert first.read_bytes() == b"first crawl's rows"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["part-nightly-00001.parquet"]


# --- 2. a folder that is not ours -------------------------------------------------------


@pytest.mark.parametrize("contents", ["tensorboard", "empty", "foreign-parquet"])
def test_a_folder_of_someone_else_is_never_taken_over(
    contents: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dataset = tmp_path / "experiments"
    runs = dataset / "runs"
    runs.mkdir(parents=True)
    if contents == "tensorboard":
        (runs / "events.out.tfevents.1700000000.host").write_bytes(b"\x00tensorboard events")
    elif contents == "foreign-parquet":
        pq.write_table(pa.table({"step": [1, 2]}), runs / "metrics.parquet")
    before = fingerprint(dataset)
    done = scrapy_crawl(dataset)
    assert done.returncode == EXIT_NOT_STARTED
    assert f"{runs}: " in last_line(done.stderr) and "never taken over" in last_line(done.stderr)
    assert "Crawled (" not in done.stderr and "Traceback" not in done.stderr
    status, out = herald_dataset(capsys, "compact", str(dataset))
    assert status == 2 and str(runs) in out and "Traceback" not in out
    assert fingerprint(dataset) == before, "the folder was changed"
    assert runs.is_dir() and not runs.is_symlink()


def test_a_table_folder_of_an_older_release_is_still_adopted(tmp_path: Path) -> None:
    dataset = tmp_path / "dataset"
    write_table(dataset / "articles", to_table([article(1)]), "part-old-00001")
    done = scrapy_crawl(dataset)
    assert done.returncode == EXIT_OK, done.stderr[-3000:]
    assert (dataset / "articles").is_symlink()
    assert set(read_articles(dataset, ["article_id"])["article_id"].to_pylist()) == ALL_IDS | {
        article(1)["article_id"]
    }


# --- 3. a lock file that is a link -----------------------------------------------------


def test_a_lock_file_that_is_a_link_is_never_written_through(
    tmp_path: Path, crawled: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dataset = copy_of(crawled, tmp_path / "dataset")
    victim = tmp_path / "somebody-elses-file.txt"
    victim.write_text("precious\n", encoding="utf-8")
    lock = dataset / ".herald.lock"
    lock.unlink()
    lock.symlink_to(victim)
    done = scrapy_crawl(dataset)
    assert done.returncode == EXIT_NOT_STARTED
    assert ".herald.lock" in last_line(done.stderr)
    status, out = herald_dataset(capsys, "compact", str(dataset))
    assert status == 2 and ".herald.lock" in out
    assert victim.read_text(encoding="utf-8") == "precious\n"


def test_a_lock_file_that_is_a_hard_link_is_refused(tmp_path: Path) -> None:
    from herald_spider.dataset.lock import DatasetLock
    from herald_spider.errors import Refused

    victim = tmp_path / "other.txt"
    victim.write_text("precious\n", encoding="utf-8")
    (tmp_path / "d").mkdir()
    os.link(victim, tmp_path / "d" / ".herald.lock")
    with pytest.raises(Refused, match="hard link"):
        DatasetLock(tmp_path / "d", "test").acquire()
    assert victim.read_text(encoding="utf-8") == "precious\n"


# --- 4. a broken table link -------------------------------------------------------------


@pytest.mark.parametrize("damage", ["version-deleted", "points-elsewhere"])
def test_a_broken_table_link_is_found_before_the_crawl_and_by_validate(
    damage: str, tmp_path: Path, crawled: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dataset = copy_of(crawled, tmp_path / "dataset")
    link = dataset / "articles"
    if damage == "version-deleted":
        subprocess.run(["rm", "-r", str(snapshot(link))], check=True)
    else:
        link.unlink()
        link.symlink_to(".articles.v000099")
    status, out = herald_dataset(capsys, "validate", str(dataset))
    assert status == 1
    assert "tables" in out and "All checks passed" not in out
    done = scrapy_crawl(dataset)
    assert done.returncode == EXIT_NOT_STARTED
    assert f"{link}: links to" in last_line(done.stderr)
    assert "Crawled (" not in done.stderr and "Traceback" not in done.stderr


# --- 5. one section's crawl and another's journal ---------------------------------------


def test_a_crawl_of_another_section_does_not_delete_a_killed_crawls_journal(tmp_path: Path) -> None:
    dataset = tmp_path / "dataset"
    world = ["-a", "section=world", "-s", "HERALD_BATCH_ROWS=1", "-s", "CONCURRENT_REQUESTS=1"]
    command = [sys.executable, "-m", "scrapy", "crawl", "section", "-s", f"HERALD_REPLAY={SITE}"]
    command += ["-s", f"HERALD_DATASET_DIR={dataset}", "-s", "LOG_LEVEL=INFO", *world]
    killed = subprocess.Popen(command, cwd=PROJECT, stderr=subprocess.PIPE, text=True)
    assert killed.stderr is not None
    deadline = time.monotonic() + 60
    for line in killed.stderr:
        if "Wrote 1 articles" in line or time.monotonic() > deadline:
            break
    killed.send_signal(signal.SIGKILL)
    killed.communicate(timeout=60)
    stored = set(read_articles(dataset, ["article_id"])["article_id"].to_pylist())
    assert 0 < len(stored) < len(ALL_IDS)
    journals = sorted((dataset / ".frontier").glob("*.jsonl"))
    assert [j.name.split("@")[:2] for j in journals] == [["section", "world"]]
    # a business crawl that fails at once (the mirror has no business page) and finishes
    business = scrapy_crawl(dataset, "-a", "section=business", spider="section")
    # the World mirror has no business page: the site could not be crawled (exit 4)
    assert business.returncode == 4, business.stderr[-3000:]
    assert "Spider closed (finished)" in business.stderr
    assert journals[0].exists(), "the business crawl deleted the world crawl's journal"
    again = scrapy_crawl(dataset, "-a", "section=world", spider="section")
    assert again.returncode == EXIT_OK, again.stderr[-3000:]
    assert "'herald/frontier/resumed'" in again.stderr
    assert set(read_articles(dataset, ["article_id"])["article_id"].to_pylist()) == ALL_IDS


# --- 6. export onto the dataset's own files ---------------------------------------------


def test_export_into_the_dataset_is_refused(
    tmp_path: Path, crawled: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dataset = copy_of(crawled, tmp_path / "dataset")
    before = fingerprint(dataset)
    target = parquet_files(dataset / "articles")[0]
    outside = tmp_path / "shortcut"
    outside.symlink_to(dataset / "articles")
    for out in (target, dataset / "articles" / "new.jsonl", dataset / "x.jsonl", outside / "y.jsonl"):
        status, said = herald_dataset(capsys, "export", str(dataset), "--format", "jsonl", "--out", str(out))
        assert status == 2, out
        assert "inside the dataset" in said and "Traceback" not in said
    assert fingerprint(dataset) == before


def test_export_replaces_its_output_only_when_whole(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dataset = tmp_path / "dataset"
    write_table(ensure_table(dataset, "articles"), to_table([article(1)]), "part-c-00001")
    out = tmp_path / "articles.jsonl"
    linked = tmp_path / "hard-link-to-out.jsonl"
    out.write_text("an earlier export\n", encoding="utf-8")
    os.link(out, linked)
    status, _ = herald_dataset(capsys, "export", str(dataset), "--format", "jsonl", "--out", str(out))
    assert status == 0
    assert article(1)["article_id"] in out.read_text(encoding="utf-8")
    assert linked.read_text(encoding="utf-8") == "an earlier export\n", "written through a hard link"
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


@pytest.mark.parametrize("where", ["folder", "missing-parent"])
def test_export_to_a_path_that_cannot_be_a_file_says_so_in_one_line(
    where: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dataset = tmp_path / "dataset"
    write_table(ensure_table(dataset, "articles"), to_table([article(1)]), "part-c-00001")
    out = tmp_path if where == "folder" else tmp_path / "no" / "such" / "articles.csv"
    status, said = herald_dataset(capsys, "export", str(dataset), "--format", "csv", "--out", str(out))
    assert status == 2
    assert len(said.strip().splitlines()) == 1 and str(out) in said
    assert "is a folder" in said if where == "folder" else "does not exist" in said


def test_csv_export_neutralises_formulas_unless_asked_not_to(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dataset = tmp_path / "dataset"
    rows = [article(1, title='=HYPERLINK("http://evil.example","x")'), article(2, title="@SUM(A1)")]
    write_table(ensure_table(dataset, "articles"), to_table(rows), "part-c-00001")
    safe, raw = tmp_path / "safe.csv", tmp_path / "raw.csv"
    assert herald_dataset(capsys, "export", str(dataset), "--format", "csv", "--out", str(safe))[0] == 0
    argv = ["export", str(dataset), "--format", "csv", "--out", str(raw), "--no-neutralise-formulas"]
    assert herald_dataset(capsys, *argv)[0] == 0
    assert "\"'=HYPERLINK(" in safe.read_text(encoding="utf-8")
    assert '"\'@SUM(A1)"' in safe.read_text(encoding="utf-8")
    assert '"=HYPERLINK(' in raw.read_text(encoding="utf-8")


# --- damaged or foreign files in a table ------------------------------------------------


def _links_file() -> pa.Table:
    return to_table([], LINKS)


DAMAGE = {
    "truncated": lambda path: path.write_bytes(path.read_bytes()[: path.stat().st_size // 2]),
    "zero-bytes": lambda path: path.write_bytes(b""),
    "another-schema": lambda path: pq.write_table(pa.table({"article_id": [1, 2]}), path),
    "another-table": lambda path: pq.write_table(_links_file(), path),
}


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_a_damaged_or_foreign_file_is_named_by_every_verb_and_the_crawl(
    damage: str, tmp_path: Path, crawled: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dataset = copy_of(crawled, tmp_path / "dataset")
    target = parquet_files(dataset / "articles")[0]
    # a fresh file in place of the hard-linked one, as a user's copy or a failing disk leaves it
    data = target.read_bytes()
    target.unlink()
    target.write_bytes(data)
    DAMAGE[damage](target)
    name = f"articles/{target.name}"
    for verb in ("info", "compact", "export"):
        extra = ["--format", "jsonl", "--out", str(tmp_path / "out.jsonl")] if verb == "export" else []
        status, said = herald_dataset(capsys, verb, str(dataset), *extra)
        assert status == 2, (verb, said)
        assert name in said and "Traceback" not in said, (verb, said)
        assert len(said.strip().splitlines()) == 1, (verb, said)
    assert not (tmp_path / "out.jsonl").exists(), "export wrote rows of a table with a foreign file"
    status, said = herald_dataset(capsys, "validate", str(dataset))
    assert status == 1 and name in said and "files" in said
    done = scrapy_crawl(dataset)
    assert done.returncode == EXIT_NOT_STARTED
    assert name in last_line(done.stderr) and "Traceback" not in done.stderr


def test_validate_on_a_folder_that_is_not_a_dataset_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "notes.txt").write_text("hello", encoding="utf-8")
    status, said = herald_dataset(capsys, "validate", str(tmp_path))
    assert status == 2
    assert "is not a herald_spider dataset" in said
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


# --- writes that fail: a full disk, a read-only dataset ---------------------------------


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Path]:
    """A small file system of its own (1 MB), unmounted afterwards."""
    mount = tmp_path / "tmpfs"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {done.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=True)


def fill(folder: Path) -> None:
    """Fill the file system of ``folder`` to the last byte."""
    with open(folder / "filler", "wb") as handle:
        try:
            while True:
                handle.write(b"\0" * 65536)
                handle.flush()
        except OSError:
            pass
    os.sync()


def test_a_full_disk_ends_the_crawl_with_a_failure_and_the_next_run_fetches_the_rest(
    tmp_path: Path, tmpfs: Path
) -> None:
    dataset = tmp_path / "dataset"
    for table in TABLES:
        ensure_table(dataset, table)
    # only the articles table's folder is full: the rest of the dataset still takes writes
    articles_version = snapshot(dataset / "articles")
    (tmpfs / "version").mkdir()
    subprocess.run(["mount", "--bind", str(tmpfs / "version"), str(articles_version)], check=True)
    try:
        fill(tmpfs)
        done = scrapy_crawl(dataset, "-s", "HERALD_BATCH_ROWS=1")
    finally:
        subprocess.run(["umount", "-l", str(articles_version)], check=True)
    assert done.returncode == EXIT_WRITE_FAILED, done.stderr[-3000:]
    assert "FAILED (write_failed)" in last_line(done.stderr)
    assert "No space left on device" in last_line(done.stderr)
    assert done.stderr.count("Traceback") == 0
    assert "Closing spider (write_failed)" in done.stderr
    runs = read_table(dataset / "runs", "runs").to_pylist()
    assert [r["finish_reason"] for r in runs] == ["write_failed"]
    assert list((dataset / ".frontier").glob("*.jsonl")), "the journal of the failed crawl is kept"
    again = scrapy_crawl(dataset)
    assert again.returncode == EXIT_OK, again.stderr[-3000:]
    assert set(read_articles(dataset, ["article_id"])["article_id"].to_pylist()) == ALL_IDS


def test_a_crawl_into_a_read_only_dataset_is_refused_at_start(
    tmp_path: Path, tmpfs: Path, crawled: Path
) -> None:
    dataset = copy_of(crawled, tmpfs / "dataset")
    for version in dataset.glob(".*.v*"):  # retire nothing: a read-only dataset is left as it was
        os.utime(version)
    before = fingerprint(dataset)
    subprocess.run(["mount", "-o", "remount,ro", str(tmpfs)], check=True)
    done = scrapy_crawl(dataset)
    assert done.returncode == EXIT_NOT_STARTED
    assert "Read-only file system" in last_line(done.stderr)
    assert "Traceback" not in done.stderr and "Crawled (" not in done.stderr
    assert fingerprint(dataset) == before


def test_an_export_that_fills_the_disk_leaves_nothing_half_written(
    tmp_path: Path, tmpfs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dataset = tmp_path / "dataset"
    rows = [article(n, body="words " * 2000) for n in range(1, 200)]
    write_table(ensure_table(dataset, "articles"), to_table(rows), "part-c-00001")
    out = tmpfs / "articles.jsonl"
    out.write_text("an earlier export\n", encoding="utf-8")
    status, said = herald_dataset(capsys, "export", str(dataset), "--format", "jsonl", "--out", str(out))
    assert status == 2
    assert "No space left on device" in said and len(said.strip().splitlines()) == 1
    assert out.read_text(encoding="utf-8") == "an earlier export\n"
    assert sorted(p.name for p in tmpfs.iterdir()) == ["articles.jsonl"]
