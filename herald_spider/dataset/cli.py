"""herald-dataset: look after a dataset without a crawl (info, validate, compact, export, report).

Tables and progress bars come from ``rich``; arguments from ``argparse`` (``--help`` on every
verb). Exit status: 0 done, 1 a check failed, 2 refused or failed (not a dataset, a damaged
dataset, locked, an output that cannot or must not be written), with one line saying why.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import uuid
from collections.abc import Iterator, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.dataset as ds
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeRemainingColumn
from rich.table import Table

from herald_spider.dataset.files import parquet_files
from herald_spider.dataset.integrity import check_dataset, check_is_dataset, describe, table_problems
from herald_spider.dataset.lock import DatasetLock
from herald_spider.dataset.maintenance import compact_table, read_table
from herald_spider.dataset.schema import TABLES
from herald_spider.dataset.tables import DEFAULT_GRACE_SECONDS, snapshot
from herald_spider.dataset.validate import validate
from herald_spider.errors import Refused

console = Console()  # replaced in main(), so the width follows the terminal (or $COLUMNS)
EXPORT_BATCH_ROWS = 10_000


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
    findings = validate(args.dir)
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
                files = len(parquet_files(snapshot(args.dir / name)))
                # One step per file read and per file written (usually one).
                task = progress.add_task(f"compact {name}", total=files + 1)

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


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat().replace("+00:00", "Z")
    return value


def _flat_lists(batch: pa.RecordBatch) -> pa.RecordBatch:
    """CSV has no lists: a list or struct column becomes its JSON text."""
    columns = []
    for column in batch.columns:
        if pa.types.is_list(column.type) or pa.types.is_struct(column.type):
            texts = [None if v is None else json.dumps(v, default=_jsonable) for v in column.to_pylist()]
            column = pa.array(texts, pa.string())
        columns.append(column)
    return pa.RecordBatch.from_arrays(columns, names=batch.schema.names)


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
    problems = table_problems(directory, table)
    if problems:
        raise Refused(
            f"Not exporting {table}: {describe(problems)}. `herald-dataset validate {directory}` lists them."
        )
    schema = TABLES[table][0]
    files = parquet_files(snapshot(directory / table))
    if not files:
        return 0, iter(())
    dataset = ds.dataset([str(p) for p in files], schema=schema, format="parquet")
    return dataset.count_rows(), iter(dataset.to_batches(batch_size=EXPORT_BATCH_ROWS))


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


def cmd_export(args: argparse.Namespace) -> int:
    out: Path = args.out
    check_output(out, args.dir)
    total, batches = _batches(args.dir, args.table)
    # Written under a temporary name beside the output and renamed when whole: a failed
    # export leaves the file it would have replaced as it was.
    temporary = out.with_name(f".{out.name}.{uuid.uuid4().hex[:8]}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
    try:
        with _progress() as progress, os.fdopen(fd, "wb") as handle:
            task = progress.add_task(f"export {args.table}", total=total)
            writer: pacsv.CSVWriter | None = None
            for batch in batches:
                if args.format == "csv":
                    flat = _flat_lists(batch)
                    flat = neutralise_formulas(flat) if args.neutralise_formulas else flat
                    writer = writer or pacsv.CSVWriter(handle, flat.schema)
                    writer.write_batch(flat)
                else:
                    for row in batch.to_pylist():
                        line = json.dumps(
                            {k: _jsonable(v) for k, v in row.items()}, ensure_ascii=False, default=_jsonable
                        )
                        handle.write(line.encode() + b"\n")
                progress.advance(task, batch.num_rows)
            if writer is not None:
                writer.close()
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, out)
    except BaseException:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise
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
    # As export: written beside the output under a temporary name, then put in place whole.
    temporary = out.with_name(f".{out.name}.{uuid.uuid4().hex[:8]}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(page)
            handle.flush()
            os.fsync(handle.fileno())
        if args.force:
            os.replace(temporary, out)
        else:
            try:
                os.link(temporary, out)  # fails if a file appeared there meanwhile: never clobbered
            except FileExistsError:
                raise Refused(f"--out {out} exists: give another path, or --force to replace it") from None
            temporary.unlink()
    except BaseException:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise
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
