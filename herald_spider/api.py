"""Crawl from a notebook or a script, as many times as you like in one Python process.

Scrapy's ``CrawlerProcess`` runs once per process (a second start raises
``ReactorNotRestartable``), so :func:`crawl` runs each crawl in a child process: the project's
own ``scrapy crawl`` (herald_spider/commands/crawl.py), with its checks, exit codes and ``runs``
row, exactly as on the command line. It returns a :class:`Run`: the crawl's ``runs`` row, its
exit code, the dataset, its log file and last log lines; a crawl that failed raises
:class:`CrawlFailed` unless ``check=False``.

Example::

    from herald_spider.api import crawl
    from herald_spider.dataset import read_table

    run = crawl("world", dataset_dir="datasets")
    run.articles_stored, run.verdict
    articles = read_table("datasets", "articles", to="pandas")

The child runs in the caller's working folder, so relative paths (``dataset_dir``,
``HERALD_REPLAY``) mean what they mean in the notebook, and finds the project through
``SCRAPY_SETTINGS_MODULE``, so no ``scrapy.cfg`` is needed there. Its log goes to a file (no
pipe fills up and stalls it); each line is also passed on to this process's logging under
``herald_spider.api`` at the level the line has, so a notebook shows the crawl's warnings and
errors as they happen.
"""

from __future__ import annotations

import json
import logging
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from herald_spider import settings as project_settings
from herald_spider.dataset.files import new_crawl_id
from herald_spider.dataset.read import Library, convert, read_table
from herald_spider.errors import Refused
from herald_spider.health import EXIT_NOT_CRAWLED, EXIT_UNHEALTHY

logger = logging.getLogger(__name__)

SETTINGS_MODULE = "herald_spider.settings"
#: What each exit code of ``scrapy crawl`` means (herald_spider/commands/crawl.py).
EXIT_MEANINGS: dict[int, str] = {
    0: "the crawl ran and stored what it fetched",
    1: "the crawl did not start: a setting, argument or dataset was refused",
    2: "the command line was wrong",
    3: "the crawl could not write what it fetched",
    EXIT_NOT_CRAWLED: "the site could not be crawled",
    EXIT_UNHEALTHY: "the crawl ran but failed its health checks",
}
#: Log lines kept in :attr:`Run.log_tail`.
TAIL_LINES = 40
#: Seconds the child has to close its spider after an interrupt before it is killed.
STOP_WAIT = 60.0
_LEVEL = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \[[^\]]+\] (DEBUG|INFO|WARNING|ERROR|CRITICAL): ")
_LEVELS = {name: getattr(logging, name) for name in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")}
_SETTING_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class CrawlFailed(RuntimeError):
    """A crawl that exited non-zero; :attr:`run` is its :class:`Run`."""

    def __init__(self, run: Run) -> None:
        self.run = run
        super().__init__(run.explain())


@dataclass(frozen=True, repr=False)
class Run:
    """One crawl run through :func:`crawl`: what ``scrapy crawl`` said and stored."""

    spider: str
    crawl_id: str
    exit_code: int
    #: the dataset folder, absolute
    dataset_dir: Path
    #: the crawl's row of the ``runs`` table (None when the crawl stopped before writing one)
    row: dict[str, Any] | None
    #: the child's whole log
    log_file: Path
    #: its last lines
    log_tail: list[str]
    #: the command that ran, for running it again in a shell
    command: list[str] = field(repr=False)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.exit_code == 0

    @property
    def verdict(self) -> str | None:
        """``healthy`` or ``failed`` (herald_spider/health.py); None without a ``runs`` row."""
        return self.row.get("verdict") if self.row else None

    @property
    def failed_checks(self) -> list[str]:
        return list(self.row.get("failed_checks") or []) if self.row else []

    @property
    def finish_reason(self) -> str | None:
        return self.row.get("finish_reason") if self.row else None

    @property
    def articles_stored(self) -> int:
        return int(self.row.get("articles_stored") or 0) if self.row else 0

    @property
    def articles_skipped_known(self) -> int:
        return int(self.row.get("articles_skipped_known") or 0) if self.row else 0

    @property
    def meaning(self) -> str:
        return EXIT_MEANINGS.get(self.exit_code, "the crawl ended abnormally")

    def explain(self) -> str:
        """One paragraph: how the crawl ended, why, and its last log lines."""
        head = f"Crawl {self.crawl_id} ({self.spider}) exited {self.exit_code}: {self.meaning}"
        if self.failed_checks:
            head += " (" + "; ".join(self.failed_checks) + ")"
        tail = "\n".join(f"    {line}" for line in self.log_tail[-12:])
        return f"{head}.\nLast log lines ({self.log_file}):\n{tail}"

    def read(
        self, table: str = "articles", *, to: Library = "arrow", columns: list[str] | None = None
    ) -> Any:
        """The rows of ``table`` this crawl wrote (its ``crawl_id``), as ``to`` gives them."""
        import pyarrow.compute as pc

        wanted = None if columns is None else list(dict.fromkeys([*columns, "crawl_id"]))
        rows = read_table(self.dataset_dir, table, columns=wanted)  # one read: one version
        mine = rows.filter(pc.equal(rows["crawl_id"], self.crawl_id))
        return convert(mine.select(columns) if columns is not None else mine, to)

    def __repr__(self) -> str:
        verdict = f", {self.verdict}" if self.verdict else ""
        return (
            f"<Run {self.spider} {self.crawl_id}: exit {self.exit_code}{verdict}, "
            f"{self.articles_stored} articles stored, {self.articles_skipped_known} skipped as stored, "
            f"{self.seconds:.1f} s, dataset {self.dataset_dir}>"
        )


def crawl(
    spider: str = "world",
    *,
    args: Mapping[str, Any] | None = None,
    settings: Mapping[str, Any] | None = None,
    dataset_dir: str | os.PathLike[str] | None = None,
    crawl_id: str | None = None,
    check: bool = True,
    log_file: str | os.PathLike[str] | None = None,
    log_level: str = "INFO",
) -> Run:
    """Run ``scrapy crawl <spider>`` in a child process and return its :class:`Run`.

    ``args`` are the spider arguments (``-a name=value``: ``{"section": "nz/politics",
    "refresh": "all"}``), ``settings`` any Scrapy or project setting (``-s NAME=value``;
    dicts and lists are passed as JSON, so ``{"FEEDS": {"items.jsonl": {"format": "jsonl"}}}``
    works). ``dataset_dir`` is ``HERALD_DATASET_DIR`` (default: the project's, ``datasets``,
    under the current folder). ``crawl_id`` sets ``HERALD_CRAWL_ID`` (default: a new one), by
    which the crawl's ``runs`` row is found. The log goes to ``log_file``, a new file (one that
    exists, or a link, is refused before the crawl starts; default: a new file in a temporary
    folder), ``log_level`` deep.

    With ``check`` (the default) a crawl that exits non-zero raises :class:`CrawlFailed`
    carrying its :class:`Run`; without it, look at :attr:`Run.ok`. An interrupt (the notebook's
    stop button) asks the crawl to stop as Ctrl-C would, waits for it to store what it fetched,
    and is raised again.
    """
    settings = dict(settings or {})
    for name in ("HERALD_CRAWL_ID", "HERALD_DATASET_DIR", "LOG_FILE", "LOG_LEVEL"):
        if name in settings:
            keyword = {"HERALD_CRAWL_ID": "crawl_id", "HERALD_DATASET_DIR": "dataset_dir"}.get(
                name, name.lower()
            )
            raise ValueError(f"give {name} as crawl(..., {keyword}=...), not in settings")
    crawl_id = _clean_crawl_id(crawl_id or new_crawl_id())
    dataset = Path(dataset_dir if dataset_dir is not None else project_settings.HERALD_DATASET_DIR).absolute()
    log_path = (
        Path(log_file).absolute()
        if log_file is not None
        else Path(tempfile.mkdtemp(prefix="herald-crawl-")) / f"{crawl_id}.log"
    )
    command = [sys.executable, "-m", "scrapy", "crawl", _name(spider, "spider")]
    for name, value in (args or {}).items():
        command += ["-a", f"{_name(name, 'spider argument')}={_text(value)}"]
    settings.update(HERALD_DATASET_DIR=str(dataset), HERALD_CRAWL_ID=crawl_id, LOG_LEVEL=log_level)
    for name, value in settings.items():
        command += ["-s", f"{_name(name, 'setting')}={_text(value)}"]
    started = time.monotonic()
    code, tail = _run(command, log_path)
    run = Run(
        spider=spider,
        crawl_id=crawl_id,
        exit_code=code,
        dataset_dir=dataset,
        row=_runs_row(dataset, crawl_id),
        log_file=log_path,
        log_tail=tail,
        command=command,
        seconds=round(time.monotonic() - started, 3),
    )
    if check and not run.ok:
        raise CrawlFailed(run)
    return run


def _clean_crawl_id(value: str) -> str:
    from herald_spider.store import clean_crawl_id

    try:
        return clean_crawl_id(value)
    except Refused as refused:
        raise ValueError(str(refused)) from None


def _name(name: str, what: str) -> str:
    if not _SETTING_NAME.match(name):
        raise ValueError(f"{what} {name!r}: a name of letters, digits and '_'")
    return name


def _text(value: Any) -> str:
    """A setting or argument value as the command line gives it (Scrapy parses JSON for dicts
    and lists, and True/False/1/0 for booleans)."""
    if isinstance(value, Mapping | list | tuple):
        return json.dumps(value if not isinstance(value, tuple) else list(value), default=str)
    if isinstance(value, os.PathLike):
        return str(os.fspath(value))
    return str(value)


def _environment() -> dict[str, str]:
    """This process's environment, with the project found wherever the child runs."""
    env = dict(os.environ)
    env["SCRAPY_SETTINGS_MODULE"] = SETTINGS_MODULE
    root = str(Path(__file__).resolve().parents[1])  # the folder herald_spider/ is in
    paths = [root, *[p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p and p != root]]
    env["PYTHONPATH"] = os.pathsep.join(paths)
    return env


def _run(command: list[str], log_path: Path) -> tuple[int, list[str]]:
    """Run the child with its output going to ``log_path``; pass each line on to logging."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    try:  # a new file: an existing one (or a link) is never written over or through
        fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
    except FileExistsError:
        raise FileExistsError(
            f"log_file {log_path} exists: give a new path (a crawl's log never writes over a file)"
        ) from None
    with os.fdopen(fd, "wb") as sink:
        child = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=subprocess.STDOUT,
            env=_environment(),
            # Its own session: a Ctrl-C in a terminal reaches this process only, which passes it
            # on once (a second one would make Scrapy stop at once, without storing).
            start_new_session=True,
        )
    tail: deque[str] = deque(maxlen=TAIL_LINES)
    follower = threading.Thread(target=_follow, args=(log_path, child, tail), daemon=True)
    follower.start()
    try:
        code = child.wait()
    except KeyboardInterrupt:
        _stop(child)
        follower.join()
        raise
    follower.join()
    return code, list(tail)


def _follow(log_path: Path, child: subprocess.Popen[bytes], tail: deque[str]) -> None:
    """Read the log file as the child writes it, to its end once the child has exited."""
    with open(log_path, "rb") as source:
        pending = b""
        while True:
            chunk = source.read(65536)
            if chunk:
                pending += chunk
                *lines, pending = pending.split(b"\n")
                for line in lines:
                    _emit(line.decode("utf-8", "replace").rstrip("\r"), tail)
                continue
            if child.poll() is not None:
                if pending:
                    _emit(pending.decode("utf-8", "replace"), tail)
                return
            time.sleep(0.1)


def _emit(line: str, tail: deque[str]) -> None:
    tail.append(line)
    match = _LEVEL.match(line)
    logger.log(_LEVELS[match.group(1)] if match else logging.INFO, "%s", line)


def _stop(child: subprocess.Popen[bytes]) -> None:
    """Stop the crawl as Ctrl-C does (the spider closes, what was fetched is stored); kill it if
    it has not stopped within :data:`STOP_WAIT` seconds."""
    logger.warning("Interrupted: stopping the crawl (pid %d), which stores what it fetched", child.pid)
    child.send_signal(signal.SIGINT)
    try:
        child.wait(STOP_WAIT)
    except (subprocess.TimeoutExpired, KeyboardInterrupt):  # too slow, or interrupted again
        child.kill()
        child.wait()


def _runs_row(dataset: Path, crawl_id: str) -> dict[str, Any] | None:
    """The crawl's row of the ``runs`` table; None when it has none (a refused crawl)."""
    try:
        runs = read_table(dataset, "runs")
    except (Refused, OSError):  # no dataset (refused before it was made), or not readable
        return None
    import pyarrow.compute as pc

    rows = runs.filter(pc.equal(runs["crawl_id"], crawl_id)).to_pylist()
    return rows[-1] if rows else None
