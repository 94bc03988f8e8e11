"""``herald-dataset report``: one self-contained HTML page that shows a dataset.

Charts are drawn with matplotlib's SVG renderer (no pyplot, no GUI backend) and inlined in the
page: no script, style sheet, font or image is fetched from anywhere. Text stays text
(``svg.fonttype: none``), so no font is embedded, and ``svg.hashsalt`` makes the SVG ids the same
on every run, so two reports of the same dataset are the same bytes.
"""

from __future__ import annotations

import html
import io
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import matplotlib
import pyarrow as pa
import pyarrow.compute as pc
from matplotlib.axes import Axes
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from herald_spider.dataset.files import read_table

#: Rows shown in the "top" charts and in the run table.
TOP = 15
RUN_ROWS = 100
#: Longest label drawn on a chart axis; longer ones end in "…".
LABEL_CHARS = 38

_BLUE, _GREY, _GREEN, _RED = "#2b6cb0", "#a0aec0", "#2f855a", "#c53030"
_RC: dict[Any, Any] = {  # keys are matplotlib rcParams (typed as literals there)
    "svg.fonttype": "none",  # text as <text>: no font embedded, the browser's sans-serif draws it
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans", "Arial", "Helvetica"],
    "font.size": 9,
    "text.parse_math": False,  # a "$" in an author's name is a dollar sign, not TeX
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": 10,
    "axes.titleweight": "bold",
    "svg.image_inline": True,
    "date.epoch": "1970-01-01T00:00:00",
}
_SVG_METADATA: dict[str, str | None] = {"Date": None, "Creator": None, "Format": None, "Type": None}
_PROLOGUE = re.compile(r"\A.*?(?=<svg\b)", re.S)
_METADATA = re.compile(r"<metadata>.*?</metadata>\s*", re.S)


def _short(text: str, limit: int = LABEL_CHARS) -> str:
    """A label cut to ``limit`` characters.

    >>> _short("a" * 50, 10)
    'aaaaaaaaa…'
    """
    return text if len(text) <= limit else text[: limit - 1] + "…"


def svg_of(figure: Figure, name: str) -> str:
    """``figure`` as an ``<svg>`` element to inline in HTML (no XML prologue, no DOCTYPE)."""
    buffer = io.StringIO()
    with matplotlib.rc_context({**_RC, "svg.hashsalt": f"herald-{name}"}):
        figure.savefig(buffer, format="svg", metadata=_SVG_METADATA, bbox_inches="tight")
    svg = _METADATA.sub("", _PROLOGUE.sub("", buffer.getvalue(), count=1))
    return svg.replace("<svg ", f'<svg role="img" aria-label="{html.escape(name)}" class="chart" ', 1)


def _figure(width: float, height: float) -> Figure:
    with matplotlib.rc_context(_RC):
        return Figure(figsize=(width, height), layout="constrained")


def _axes(figure: Figure) -> Axes:
    with matplotlib.rc_context(_RC):
        axes: Axes = figure.add_subplot()
    return axes


def bar_chart(name: str, title: str, counts: Sequence[tuple[str, int]], unit: str) -> str:
    """Horizontal bars, the first of ``counts`` at the top, each with its number."""
    labels = [_short(label) for label, _ in counts]
    values = [value for _, value in counts]
    figure = _figure(7.5, 0.6 + 0.26 * max(len(counts), 2))
    with matplotlib.rc_context(_RC):
        axes = _axes(figure)
        positions = list(range(len(counts)))[::-1]
        bars = axes.barh(positions, values, color=_BLUE, height=0.7)
        axes.set_yticks(positions, labels)
        axes.bar_label(bars, padding=3, fontsize=8)
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        axes.set_xlabel(unit)
        axes.set_title(title, loc="left")
        axes.margins(x=0.08)
    return svg_of(figure, name)


def days_chart(days: Sequence[tuple[date, int]]) -> str:
    figure = _figure(10, 2.8)
    with matplotlib.rc_context(_RC):
        axes = _axes(figure)
        # Thin bars vanish on a span of years: at least 1/400 of the span wide.
        width = max(0.9, (days[-1][0] - days[0][0]).days / 400)
        # matplotlib's date numbers: days since its epoch (set in _RC)
        epoch = date(1970, 1, 1).toordinal()
        axes.bar([d.toordinal() - epoch for d, _ in days], [n for _, n in days], width=width, color=_BLUE)
        axes.xaxis_date()
        axes.yaxis.set_major_locator(MaxNLocator(integer=True))
        axes.set_ylabel("articles")
        axes.set_title("Articles per day (published_at, UTC)", loc="left")
        figure.autofmt_xdate()
    return svg_of(figure, "articles per day")


def premium_chart(premium: int, free: int) -> str:
    figure = _figure(7.5, 1.2)
    with matplotlib.rc_context(_RC):
        axes = _axes(figure)
        total = max(premium + free, 1)
        for left, count, colour, label in ((0, premium, _RED, "premium"), (premium, free, _GREY, "free")):
            bars = axes.barh([0], [count], left=[left], color=colour)
            if count:
                axes.bar_label(bars, [f"{label} {count} ({count / total:.0%})"], label_type="center")
        axes.set_yticks([])
        axes.set_xlim(0, total)
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        axes.set_xlabel("articles")
        axes.set_title("Premium share", loc="left")
    return svg_of(figure, "premium share")


def _run_labels(runs: Sequence[Mapping[str, Any]]) -> list[str]:
    labels = []
    for run in runs:
        started = run.get("started_at")
        when = f"{started:%Y-%m-%d %H:%M}" if started else "?"
        labels.append(f"{when}\n{_short(str(run.get('crawl_id')), 16)}")
    return labels


def _thin_ticks(axes: Axes, labels: Sequence[str], most: int = 24, rotate: bool = True) -> None:
    step = max(1, -(-len(labels) // most))
    ticks = list(range(0, len(labels), step))
    axes.set_xticks(ticks, [labels[i] for i in ticks], rotation=90 if rotate else 0, fontsize=7)


def coverage_chart(runs: Sequence[Mapping[str, Any]], fields: Sequence[str]) -> str:
    """Fields × runs, the share of each run's articles with the field set; grey: the run stored
    no article (no share)."""
    shares = [{c["name"]: c["share"] for c in run.get("field_coverage") or []} for run in runs]
    grid = [[_nan(share.get(name)) for share in shares] for name in fields]
    figure = _figure(min(4 + 0.35 * len(runs), 14), 1.2 + 0.22 * len(fields))
    with matplotlib.rc_context(_RC):
        axes = _axes(figure)
        colours = ListedColormap(
            ["#c53030", "#dd6b20", "#d69e2e", "#ecc94b", "#9ae6b4", "#48bb78", "#2f855a"]
        ).with_extremes(bad="#e2e8f0")
        image = axes.imshow(
            grid, aspect="auto", cmap=colours, vmin=0, vmax=1, interpolation="nearest", origin="upper"
        )
        axes.set_yticks(range(len(fields)), list(fields), fontsize=7)
        _thin_ticks(axes, _run_labels(runs))
        axes.spines[:].set_visible(False)
        axes.set_title("Field coverage per run (share of the run's articles with the field set)", loc="left")
        figure.colorbar(image, ax=axes, shrink=0.6, label="share", format="{x:.0%}")
    return svg_of(figure, "field coverage per run")


def _nan(value: float | None) -> float:
    return float("nan") if value is None else float(value)


def runs_chart(runs: Sequence[Mapping[str, Any]]) -> str:
    """Duration, pages fetched and HTTP errors per run; the marker colour is the verdict."""
    positions = list(range(len(runs)))
    colours = [{"healthy": _GREEN, "failed": _RED}.get(str(r.get("verdict")), _GREY) for r in runs]
    series = [
        ("duration (s)", [_nan(duration_seconds(r)) for r in runs]),
        ("pages fetched", [_nan(r.get("pages_fetched")) for r in runs]),
        ("HTTP errors", [float(http_errors(r)) for r in runs]),
    ]
    figure = _figure(min(5 + 0.3 * len(runs), 14), 5.5)
    with matplotlib.rc_context(_RC):
        panels = figure.subplots(len(series), 1, sharex=True)
        for axes, (label, values) in zip(panels, series, strict=True):
            axes.plot(positions, values, color=_GREY, linewidth=1, zorder=1)
            axes.scatter(positions, values, c=colours, s=22, zorder=2)
            axes.set_ylabel(label)
            axes.set_ylim(0, max([1.0, *(v * 1.1 for v in values if v == v)]))  # v == v: not NaN
            axes.yaxis.set_major_locator(MaxNLocator(nbins=4, integer=True))
        panels[0].set_title(
            "Run history (marker: green healthy, red failed, grey no verdict recorded)", loc="left"
        )
        _thin_ticks(panels[-1], _run_labels(runs))
    return svg_of(figure, "run history")


def duration_seconds(run: Mapping[str, Any]) -> float | None:
    started, finished = run.get("started_at"), run.get("finished_at")
    if started is None or finished is None:
        return None
    return float((finished - started).total_seconds())


def http_errors(run: Mapping[str, Any]) -> int:
    return sum(int(entry.get("count") or 0) for entry in run.get("http_errors") or [])


@dataclass
class Summary:
    """What the report shows, read from the dataset (no chart drawn yet)."""

    directory: Path
    articles: int = 0
    revisions: int = 0
    links: int = 0
    first_published: datetime | None = None
    last_published: datetime | None = None
    days: list[tuple[date, int]] = field(default_factory=list)
    sections: list[tuple[str, int]] = field(default_factory=list)
    premium: int = 0
    authors: list[tuple[str, int]] = field(default_factory=list)
    distributors: list[tuple[str, int]] = field(default_factory=list)
    link_kinds: list[tuple[str, int]] = field(default_factory=list)
    runs: list[dict[str, Any]] = field(default_factory=list)
    coverage_fields: list[str] = field(default_factory=list)


def _counts(values: pa.ChunkedArray | pa.Array, limit: int | None = None) -> list[tuple[str, int]]:
    """(value, rows) pairs, the most rows first, ties by value; null counts as "(none)"."""
    counts = pa.table({"key": pc.fill_null(values, "(none)")}).group_by("key").aggregate([([], "count_all")])
    pairs = sorted(
        ((str(row["key"]), int(row["count_all"])) for row in counts.to_pylist()), key=lambda p: (-p[1], p[0])
    )
    return pairs if limit is None else pairs[:limit]


def summarise(directory: Path) -> Summary:
    summary = Summary(directory=directory)
    articles = read_table(
        directory / "articles",
        "articles",
        columns=["published_at", "section_path", "premium", "authors", "distributor"],
    )
    summary.articles = articles.num_rows
    summary.revisions = read_table(directory / "article_revisions", "article_revisions", columns=[]).num_rows
    if articles.num_rows:
        published = articles["published_at"]
        summary.first_published, summary.last_published = pc.min(published).as_py(), pc.max(published).as_py()
        days = pc.drop_null(pc.cast(published, pa.date32()))
        if len(days):
            by_day = pa.table({"day": days}).group_by("day").aggregate([([], "count_all")]).sort_by("day")
            summary.days = [(row["day"], int(row["count_all"])) for row in by_day.to_pylist()]
        summary.sections = _counts(articles["section_path"])
        summary.premium = int(pc.sum(pc.cast(articles["premium"], pa.int64())).as_py() or 0)
        authors: Counter[str] = Counter()
        for names in articles["authors"].to_pylist():
            authors.update({name for name in names or [] if name})
        summary.authors = sorted(authors.items(), key=lambda p: (-p[1], p[0]))[:TOP]
        summary.distributors = _counts(articles["distributor"], TOP)
    kinds = read_table(directory / "links", "links", columns=["kind"])["kind"]
    summary.links = len(kinds)
    summary.link_kinds = _counts(kinds) if len(kinds) else []
    runs = read_table(directory / "runs", "runs").to_pylist()
    far = datetime.max.replace(tzinfo=UTC)
    summary.runs = sorted(runs, key=lambda r: (r.get("started_at") or far, str(r.get("crawl_id"))))
    fields: dict[str, None] = {}  # in the order the runs first name them
    for run in summary.runs:
        fields.update({c["name"]: None for c in run.get("field_coverage") or [] if c.get("name")})
    summary.coverage_fields = list(fields)
    return summary


_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif;
       margin: 1.5rem auto; max-width: 1100px; padding: 0 1rem; color: #1a202c; }
h1 { font-size: 1.5rem; margin-bottom: .2rem; }
h2 { font-size: 1.15rem; border-bottom: 1px solid #e2e8f0; padding-bottom: .2rem; margin-top: 2rem; }
.muted { color: #4a5568; }
.note { background: #fefcbf; padding: .5rem .8rem; border-radius: 4px; }
dl.stats { display: grid; grid-template-columns: repeat(auto-fill, minmax(10rem, 1fr)); gap: .5rem; }
dl.stats div { background: #f7fafc; padding: .5rem .8rem; border-radius: 4px; }
dl.stats dt { font-size: .8rem; color: #4a5568; }
dl.stats dd { margin: 0; font-size: 1.3rem; font-weight: 600; }
svg.chart { max-width: 100%; height: auto; display: block; margin: .5rem 0; }
table { border-collapse: collapse; font-size: .85rem; width: 100%; }
th, td { border-bottom: 1px solid #e2e8f0; padding: .25rem .5rem; text-align: left; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
td.healthy { color: #2f855a; font-weight: 600; } td.failed { color: #c53030; font-weight: 600; }
"""


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value))


def _when(value: datetime | None) -> str:
    return "—" if value is None else f"{value:%Y-%m-%d %H:%M} UTC"


def _section(anchor: str, title: str, body: Iterable[str]) -> str:
    return f'<section id="{anchor}">\n<h2>{_e(title)}</h2>\n' + "\n".join(body) + "\n</section>"


def _note(text: str) -> str:
    return f'<p class="note">{_e(text)}</p>'


def _run_table(runs: Sequence[Mapping[str, Any]]) -> str:
    head = (
        "<tr><th>crawl_id</th><th>spider</th><th>started</th><th class=n>duration (s)</th>"
        "<th class=n>pages fetched</th><th class=n>articles stored</th><th class=n>HTTP errors</th>"
        "<th>finish reason</th><th>verdict</th><th>failed checks</th></tr>"
    )
    rows = []
    for run in list(runs)[-RUN_ROWS:][::-1]:
        duration = duration_seconds(run)
        verdict = run.get("verdict")
        rows.append(
            "<tr>"
            f"<td>{_e(run.get('crawl_id'))}</td><td>{_e(run.get('spider'))}</td>"
            f"<td>{_e(_when(run.get('started_at')))}</td>"
            f"<td class=n>{'—' if duration is None else f'{duration:.0f}'}</td>"
            f"<td class=n>{_e(run.get('pages_fetched'))}</td>"
            f"<td class=n>{_e(run.get('articles_stored'))}</td>"
            f"<td class=n>{http_errors(run)}</td><td>{_e(run.get('finish_reason'))}</td>"
            f'<td class="{_e(verdict or "")}">{_e(verdict or "—")}</td>'
            f"<td>{_e(', '.join(run.get('failed_checks') or []))}</td>"
            "</tr>"
        )
    shown = f"<p class=muted>The newest {RUN_ROWS} of {len(runs)} runs.</p>" if len(runs) > RUN_ROWS else ""
    return f"{shown}<table>\n<thead>{head}</thead>\n<tbody>\n" + "\n".join(rows) + "\n</tbody></table>"


def render(summary: Summary) -> str:
    """The report page of ``summary``."""
    s = summary
    stats = [
        ("articles", s.articles),
        ("revisions", s.revisions),
        ("links", s.links),
        ("runs", len(s.runs)),
        ("premium", f"{s.premium / s.articles:.0%}" if s.articles else "—"),
        ("first published", f"{s.first_published:%Y-%m-%d}" if s.first_published else "—"),
        ("last published", f"{s.last_published:%Y-%m-%d}" if s.last_published else "—"),
    ]
    parts = [
        f"<h1>Dataset report: {_e(s.directory.resolve().name)}</h1>",
        f"<p class=muted>{_e(s.directory.resolve())}</p>",
        '<dl class="stats">'
        + "".join(
            f'<div><dt>{_e(k)}</dt><dd id="stat-{_e(k.replace(" ", "-"))}">{_e(v)}</dd></div>'
            for k, v in stats
        )
        + "</dl>",
    ]
    if not s.articles and not s.runs:
        parts.append(
            _note("This dataset is empty: no article and no run yet. Crawl into it, then report again.")
        )
    if s.articles:
        parts.append(
            _section(
                "articles",
                "Articles",
                [
                    days_chart(s.days) if s.days else _note("No article has a published_at."),
                    bar_chart(
                        "articles per section", "Articles per section", s.sections[: TOP * 2], "articles"
                    ),
                    premium_chart(s.premium, s.articles - s.premium),
                ],
            )
        )
        parts.append(
            _section(
                "people",
                "Top authors and distributors",
                [
                    bar_chart("top authors", f"Top {TOP} authors", s.authors, "articles")
                    if s.authors
                    else _note("No article names an author."),
                    bar_chart("top distributors", f"Top {TOP} distributors", s.distributors, "articles"),
                ],
            )
        )
    elif s.runs:
        parts.append(_note("No articles yet."))
    if s.link_kinds:
        parts.append(
            _section(
                "links", "Links by kind", [bar_chart("links by kind", "Links by kind", s.link_kinds, "links")]
            )
        )
    if s.runs:
        one = (
            [_note("Only one run so far: the charts over time show a trend from the second run on.")]
            if len(s.runs) == 1
            else []
        )
        coverage = (
            coverage_chart(s.runs, s.coverage_fields)
            if s.coverage_fields
            else _note("No run recorded field coverage.")
        )
        grey = "<p class=muted>A grey column: that run stored no article, so it measured no coverage.</p>"
        parts.append(_section("coverage", "Field coverage per run", [*one, coverage, grey]))
        parts.append(_section("runs", "Run history", [*one, runs_chart(s.runs), _run_table(s.runs)]))
    body = "\n".join(parts)
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>Dataset report: {_e(s.directory.resolve().name)}</title>\n"
        f"<style>{_CSS}</style>\n</head>\n<body>\n{body}\n</body>\n</html>\n"
    )


def build_report(directory: Path) -> str:
    return render(summarise(directory))
