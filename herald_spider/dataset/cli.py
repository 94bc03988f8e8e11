"""herald-dataset: look after a dataset without a crawl (info, validate, compact, export, report).

Tables and progress bars come from ``rich``; arguments from ``argparse`` (``--help`` on every
verb). Exit status: 0 done, 1 a check failed, 2 refused or failed (not a dataset, a damaged
dataset, locked, an output that cannot or must not be written), with one line saying why.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import sys
import uuid
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import date, datetime
from pathlib import Path
from typing import Any, BinaryIO

import polars as pl
import polars.selectors as cs
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.dataset as ds
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeRemainingColumn
from rich.table import Table

from herald_spider.dataset.files import file_batches, parquet_files, read_table, tool_memory_pool
from herald_spider.dataset.integrity import check_dataset, check_is_dataset, describe, table_problems
from herald_spider.dataset.lock import DatasetLock
from herald_spider.dataset.maintenance import compact_table, compaction_work, table_rows
from herald_spider.dataset.schema import TABLES
from herald_spider.dataset.tables import DEFAULT_GRACE_SECONDS, snapshot
from herald_spider.dataset.timestamps import ISO_FORMAT, iso_utc
from herald_spider.dataset.validate import validate
from herald_spider.errors import Refused

console = Console()  # replaced in main(), so the width follows the terminal (or $COLUMNS)
#: Decoded bytes of rows per batch an export reads and encodes (a few in flight at a time).
EXPORT_BATCH_BYTES = 4 << 20


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    )


def _size(num: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if num < 1024 or unit == "GB":
            return f"{num:.0f} {unit}" if unit == "B" else f"{num:.1f} {unit}"
        num /= 1024
    return f"{num:.1f} GB"


def _counts_table(title: str, label: str, keys: pa.ChunkedArray, by_count: bool, limit: int) -> Table:
    """Articles per value of ``keys``: the most common first, or the newest value first."""
    counts = pa.table({"key": keys}).group_by("key").aggregate([([], "count_all")])
    counts = counts.sort_by([("count_all", "descending")] if by_count else [("key", "descending")])
    table = Table(title=title)
    table.add_column(label)
    table.add_column("articles", justify="right")
    for row in counts.slice(0, limit).to_pylist():
        table.add_row(str(row["key"]), str(row["count_all"]))
    return table


def cmd_info(args: argparse.Namespace) -> int:
    directory: Path = args.dir
    check_dataset(directory)
    overview = Table(title=f"Dataset {directory}")
    for column in ("table", "rows", "files", "size"):
        overview.add_column(column, justify="left" if column == "table" else "right")
    for name in TABLES:
        files = parquet_files(snapshot(directory / name))
        rows = ds.dataset([str(p) for p in files], format="parquet").count_rows() if files else 0
        overview.add_row(name, str(rows), str(len(files)), _size(sum(p.stat().st_size for p in files)))
    console.print(overview)
    articles = read_table(directory / "articles", "articles", columns=["section_path", "published_at"])
    if articles.num_rows == 0:
        console.print("No articles.")
        return 0
    first, last = pc.min(articles["published_at"]).as_py(), pc.max(articles["published_at"]).as_py()
    console.print(f"Published from {first:%Y-%m-%d %H:%M} to {last:%Y-%m-%d %H:%M} UTC")
    days = pc.cast(articles["published_at"], pa.date32())
    console.print(
        _counts_table("Articles per section", "section", articles["section_path"], True, args.limit)
    )
    console.print(_counts_table("Articles per day, newest first", "day", days, False, args.limit))
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    with _progress() as progress:
        task = progress.add_task("validate articles", total=None)

        def advance(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        findings = validate(args.dir, advance)
    report = Table(title=f"Invariants of {args.dir / 'articles'}")
    for column in ("check", "rule", "result", "examples"):
        report.add_column(column)
    for finding in findings:
        result = "[green]ok[/green]" if finding.ok else f"[red]FAILED ({finding.failures})[/red]"
        report.add_row(finding.check, finding.description, result, "\n".join(finding.examples))
    console.print(report)
    failed = [f.check for f in findings if not f.ok]
    if failed:
        console.print(f"[red]{len(failed)} check(s) failed: {', '.join(failed)}[/red]")
        return 1
    console.print("[green]All checks passed.[/green]")
    return 0


def cmd_compact(args: argparse.Namespace) -> int:
    tables = args.table or list(TABLES)
    check_dataset(args.dir, files=False)  # before the lock file is made; the files under the lock
    lock = DatasetLock(args.dir, "herald-dataset compact")
    lock.acquire(wait=args.wait)  # a refusal (locked, a lock file that is a link) exits 2
    try:
        check_dataset(args.dir)
    except Refused:
        lock.release()
        raise
    summary = Table(title=f"Compacted {args.dir}")
    for column in ("table", "files before", "files after", "rows before", "rows after"):
        summary.add_column(column, justify="left" if column == "table" else "right")
    try:
        with _progress() as progress:
            for name in tables:
                # Rows read: a keyed table's keys, then its rows.
                task = progress.add_task(f"compact {name}", total=compaction_work(args.dir, name))

                def advance(n: int, task: TaskID = task) -> None:
                    progress.advance(task, n)

                done = compact_table(args.dir, name, grace=args.grace, progress=advance)
                summary.add_row(
                    name,
                    *(
                        str(v)
                        for v in (done.files_before, done.files_after, done.rows_before, done.rows_after)
                    ),
                )
    finally:
        lock.release()
    console.print(summary)
    return 0


def iso_times(frame: pl.DataFrame) -> pl.DataFrame:
    """Every timestamp column of ``frame`` as ISO 8601 text (:data:`ISO_FORMAT`).

    >>> from datetime import datetime, timezone
    >>> t = [datetime(2025, 6, 18, 20, 15, tzinfo=timezone.utc), datetime(2025, 6, 18, 20, 15, 0, 250000,
    ...      tzinfo=timezone.utc), None]
    >>> iso_times(pl.DataFrame({"t": t})).get_column("t").to_list()
    ['2025-06-18T20:15:00Z', '2025-06-18T20:15:00.250Z', None]
    """
    return frame.with_columns(cs.datetime().dt.strftime(ISO_FORMAT))


def _jsonable(value: Any) -> Any:
    """A value inside a list or struct, for JSON text (timestamps as :data:`ISO_FORMAT` does)."""
    if isinstance(value, datetime):
        return iso_utc(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def jsonl(batch: pa.RecordBatch) -> memoryview:
    """A batch as JSON Lines: one object per row, keys in column order, UTF-8 as is.

    Encoded by Polars (in Rust, outside the GIL, so batches encode in parallel); the lines are
    handed on as a view of the encoder's buffer, not copied.
    """
    sink = io.BytesIO()
    frame = pl.from_arrow(batch)
    assert isinstance(frame, pl.DataFrame)
    iso_times(frame).write_ndjson(sink)
    return sink.getbuffer()


def csv_batch(batch: pa.RecordBatch, neutralise: bool) -> pa.RecordBatch:
    """A batch as CSV cells: timestamps as ISO 8601 text, lists and structs as JSON text, and
    (``neutralise``) formulas neutralised."""
    columns = []
    for column in batch.columns:
        if pa.types.is_timestamp(column.type):
            column = iso_times(pl.DataFrame({"t": column})).get_column("t").to_arrow().cast(pa.string())
        elif pa.types.is_list(column.type) or pa.types.is_struct(column.type):
            texts = [None if v is None else json.dumps(v, default=_jsonable) for v in column.to_pylist()]
            column = pa.array(texts, pa.string())
        columns.append(column)
    flat = pa.RecordBatch.from_arrays(columns, names=batch.schema.names)
    return neutralise_formulas(flat) if neutralise else flat


#: Characters that make a spreadsheet run a cell as a formula (OWASP, "CSV Injection").
FORMULA_START = r"^[=+\-@\t\r]"


def neutralise_formulas(batch: pa.RecordBatch) -> pa.RecordBatch:
    """Text cells a spreadsheet would run as a formula, prefixed with ``'`` as OWASP advises.

    >>> batch = pa.RecordBatch.from_pydict({"t": ["=HYPERLINK(1)", "-2 degrees", "plain", None]})
    >>> neutralise_formulas(batch).column(0).to_pylist()
    ["'=HYPERLINK(1)", "'-2 degrees", 'plain', None]
    """
    columns = []
    for column in batch.columns:
        if pa.types.is_string(column.type):
            risky = pc.match_substring_regex(column, FORMULA_START)
            column = pc.if_else(risky, pc.binary_join_element_wise("'", column, ""), column)
        columns.append(column)
    return pa.RecordBatch.from_arrays(columns, names=batch.schema.names)


def _batches(directory: Path, table: str) -> tuple[int, Iterator[pa.RecordBatch]]:
    """The rows of a table, a file and a bounded batch at a time, and how many there are."""
    problems = table_problems(directory, table)
    if problems:
        raise Refused(
            f"Not exporting {table}: {describe(problems)}. `herald-dataset validate {directory}` lists them."
        )
    schema = TABLES[table][0]
    files = parquet_files(snapshot(directory / table))
    batches = (
        batch for path in files for batch in file_batches(path, schema, batch_bytes=EXPORT_BATCH_BYTES)
    )
    return table_rows(files), batches


def _encoded(
    batches: Iterator[pa.RecordBatch], encode: Callable[[pa.RecordBatch], memoryview]
) -> Iterator[tuple[int, memoryview]]:
    """(rows, encoded bytes) of each batch, in order, encoded by a few threads while this one
    reads the next batches. At most two batches per thread are in flight. One thread more than
    there are CPUs: this one also waits on the disk (measured on 2 CPUs: 11.2 s against 12.2
    with two threads for a million articles)."""
    workers = max(2, min(5, (os.cpu_count() or 1) + 1))
    with ThreadPoolExecutor(workers) as pool:
        pending: deque[tuple[int, Future[memoryview]]] = deque()
        for batch in batches:
            pending.append((batch.num_rows, pool.submit(encode, batch)))
            while len(pending) > 2 * workers:
                rows, done = pending.popleft()
                yield rows, done.result()
        while pending:
            rows, done = pending.popleft()
            yield rows, done.result()


def _write_behind(
    handle: Any, chunks: Iterator[tuple[int, memoryview]], advance: Callable[[int], None]
) -> None:
    """Write ``chunks`` in order from a thread of their own, so that reading and encoding the
    next ones go on while the disk takes this one; one write in flight at a time (a failed
    write raises here, before anything else is written)."""
    with ThreadPoolExecutor(1) as writer:
        last: Future[int] | None = None
        for rows, lines in chunks:
            if last is not None:
                last.result()
            last = writer.submit(handle.write, lines)
            advance(rows)
        if last is not None:
            last.result()


def check_output(out: Path, dataset_dir: Path) -> None:
    """Refuse an export path that is a folder, has no folder, or lies inside the dataset
    (writing there would replace the dataset's own files, and their older versions through
    the hard links between versions)."""
    if out.is_dir():
        raise Refused(f"--out {out} is a folder: give the path of a file to write")
    parent = out.parent.resolve()
    if not parent.is_dir():
        raise Refused(f"--out {out}: the folder {out.parent} does not exist")
    dataset = dataset_dir.resolve()
    if parent == dataset or parent.is_relative_to(dataset) or out.resolve().is_relative_to(dataset):
        raise Refused(f"--out {out} is inside the dataset {dataset_dir}: write exports outside it")


@contextlib.contextmanager
def whole_file(out: Path, *, replace: bool) -> Iterator[BinaryIO]:
    """A file written under a temporary name beside ``out`` and put in place once whole and
    durable, so a failed write leaves what was at ``out`` as it was. ``replace``: an existing
    ``out`` is replaced (a link there is replaced, never written through); otherwise the
    file is put in place with a hard link, which raises ``FileExistsError`` if ``out`` exists."""
    temporary = out.with_name(f".{out.name}.{uuid.uuid4().hex[:8]}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        if replace:
            os.replace(temporary, out)
        else:
            os.link(temporary, out)
            temporary.unlink()
    except BaseException:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise


def cmd_export(args: argparse.Namespace) -> int:
    out: Path = args.out
    check_output(out, args.dir)
    total, batches = _batches(args.dir, args.table)
    with _progress() as progress, whole_file(out, replace=True) as handle:
        task = progress.add_task(f"export {args.table}", total=total)
        if args.format == "csv":
            writer: pacsv.CSVWriter | None = None
            for batch in batches:
                cells = csv_batch(batch, args.neutralise_formulas)
                writer = writer or pacsv.CSVWriter(handle, cells.schema)
                writer.write_batch(cells)
                progress.advance(task, batch.num_rows)
            if writer is not None:
                writer.close()
        else:
            _write_behind(handle, _encoded(batches, jsonl), lambda rows: progress.advance(task, rows))
    console.print(f"Wrote {total} {args.table} rows to {out} ({args.format})")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    # Imported here: matplotlib takes a moment to load, and only this verb draws.
    from herald_spider.dataset.report import build_report

    out: Path = args.out
    check_output(out, args.dir)
    if not args.force and (out.exists() or out.is_symlink()):
        raise Refused(f"--out {out} exists: give another path, or --force to replace it")
    check_dataset(args.dir)
    page = build_report(args.dir).encode()
    try:
        with whole_file(out, replace=args.force) as handle:
            handle.write(page)
    except FileExistsError:  # a file appeared there meanwhile: never clobbered
        raise Refused(f"--out {out} exists: give another path, or --force to replace it") from None
    console.print(f"Wrote the report of {args.dir} to {out} ({_size(len(page))})")
    return 0


def parser() -> argparse.ArgumentParser:
    main = argparse.ArgumentParser(prog="herald-dataset", description=__doc__.split("\n\n")[0])
    verbs = main.add_subparsers(dest="verb", required=True, metavar="VERB")

    def verb(name: str, help_text: str) -> argparse.ArgumentParser:
        sub = verbs.add_parser(name, help=help_text, description=help_text)
        sub.add_argument("dir", type=Path, metavar="DIR", help="the dataset directory (HERALD_DATASET_DIR)")
        return sub

    info = verb("info", "Rows, files and size of each table; date range; articles per section and per day.")
    info.add_argument("--limit", type=int, default=15, help="rows shown per table (default 15)")
    info.set_defaults(run=cmd_info)
    verb(
        "validate",
        "Check unique article_id, declared types, published_at <= updated_at <= fetched_at, "
        "canonical URLs and non-empty titles; exit 1 with a report when one fails.",
    ).set_defaults(run=cmd_validate)
    compact = verb("compact", "Rewrite each table into few large files, one row per key; atomic swap.")
    compact.add_argument(
        "--table", action="append", choices=list(TABLES), help="only this table (repeatable)"
    )
    compact.add_argument("--wait", type=float, default=0.0, help="seconds to wait for a running crawl")
    compact.add_argument(
        "--grace",
        type=float,
        default=DEFAULT_GRACE_SECONDS,
        help=f"seconds old files stay for readers (default {DEFAULT_GRACE_SECONDS:.0f})",
    )
    compact.set_defaults(run=cmd_compact)
    export = verb("export", "Write a table as CSV (lists as JSON text) or JSON Lines.")
    export.add_argument("--format", choices=("csv", "jsonl"), required=True)
    export.add_argument("--out", type=Path, required=True, help="the file to write")
    export.add_argument("--table", choices=list(TABLES), default="articles")
    export.add_argument(
        "--neutralise-formulas",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="CSV: prefix text cells that start with = + - @ (or a tab or carriage return) with ' "
        "so spreadsheets show them instead of running them (default: on)",
    )
    export.set_defaults(run=cmd_export)
    report = verb(
        "report",
        "Write one self-contained HTML page (inline SVG charts, nothing fetched) showing articles per "
        "day and section, premium share, top authors and distributors, links by kind, field coverage "
        "per run and the run history.",
    )
    report.add_argument("--out", type=Path, required=True, help="the HTML file to write")
    report.add_argument("--force", action="store_true", help="replace --out if it exists")
    report.set_defaults(run=cmd_report)
    return main


def main(argv: Sequence[str] | None = None) -> int:
    global console
    console = Console()
    pa.set_memory_pool(tool_memory_pool())
    args = parser().parse_args(argv)
    try:
        check_is_dataset(args.dir)
        status: int = args.run(args)
    except Refused as exc:
        return _failed(str(exc))
    except (OSError, pa.ArrowException) as exc:
        # What the checks before could not see (a file damaged inside, a disk that fills up):
        # one line, and what was being written is not left half-done.
        return _failed(f"herald-dataset {args.verb} failed: {exc}")
    return status


def _failed(message: str) -> int:
    console.print(message, style="red", markup=False, highlight=False, soft_wrap=True)
    return 2


def main_exit() -> None:
    """The ``herald-dataset`` console script."""
    sys.exit(main())


if __name__ == "__main__":
    main_exit()
