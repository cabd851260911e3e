"""The drift screen: a per-case column of the current run against the reference, and a trend.

The reference is the pinned baseline and the current run the candidate the screen was opened on
(`r` picks another). For the chosen column (`c`: route, score, latency, tokens, case fields,
metadata keys) the screen shows, computed in a worker by `evaltui.review.drift.drift`:

* a line that stays in view: PSI with its reading (< 0.1 stable, 0.1–0.25 moderate, > 0.25
  major), JS divergence, the epsilon, and the PSI sampling alone would give (noise floor);
* the reference-vs-current bar plot (`DriftPlot`, shapes that read in monochrome), for all cases
  or one slice (`s`);
* the drift's warnings (noise, bins one run never reaches, capped categories, other suites);
* the per-slice table (PSI, JS, reading, noise floor per slice);
* the trend of a metric (`m`) across the experiment's runs, oldest first (`metric_trend`).

Everything sits in one scroll pane: a categorical plot with many labels is taller than 24 rows.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any, ClassVar

from rich.console import RenderableType
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Static

from evaltui.actions.drift import list_columns, measure_drift, trend_against
from evaltui.plural import count
from evaltui.review.drift import (
    EPSILON,
    THRESHOLDS,
    Column,
    DriftResult,
    SliceDrift,
    builtin_columns,
)
from evaltui.review.figures_text import divergence, drift_cells
from evaltui.review.report import RunReview
from evaltui.review.trend import MetricTrend
from evaltui.tui.drift_plot import DriftPlot
from evaltui.tui.pair_actions import PairContext
from evaltui.tui.screens.base import ReviewScreen
from evaltui.tui.screens.choice import Choice, ChoiceModal
from evaltui.tui.text import NONE, clip, plain, safe
from evaltui.tui.widgets.keys_footer import KeysFooter
from evaltui.tui.widgets.pane import ScrollPane
from evaltui.tui.widgets.runs_table import versus
from evaltui.tui.widgets.trend import TrendView

DEFAULT_COLUMN = "route"
DEFAULT_METRIC = "exact_route_rate"
ALL = "\x00all"  # picker value meaning "all cases" (cannot be a real slice name)
STRONG_READINGS = ("moderate", "major", "absent in reference", "absent in current")


def _psi(value: float | None) -> str:
    return divergence(value, missing=NONE)


def missing_splits(r: RunReview) -> list[tuple[str, int, int]]:
    """The splits of its suite `r` lacks results for, wholly or partly: (split, covered, total)."""
    return [
        (split, covered, total)
        for split, (covered, total) in r.coverage.per_split.items()
        if covered < total
    ]


def partial_note(reference: RunReview, current: RunReview) -> Text | None:
    """One line naming the splits either run lacks, or None when both are complete."""
    out = Text()
    for r in (current, reference):
        gaps = missing_splits(r)
        if not gaps or (r is reference and reference.run_id == current.run_id):
            continue
        if out:
            out.append(" · ")
        out.append("⚠ ", "bold")
        out.append(plain(r.run_id, limit=30), "bold")
        out.append(" lacks ")
        out.append(
            ", ".join(
                f"{plain(split, limit=30)} ({covered:,}/{total:,})"
                for split, covered, total in gaps
            )
        )
    if not out:
        return None
    out.append(": not measured")
    return out


def figures_line(result: DriftResult, entry: SliceDrift, partial: Text | None = None) -> Text:
    """PSI and its reading, JS, noise floor and scope; thresholds and epsilon: two lines that fit
    80 columns even with 200,000 cases a side.

    `PSI 0.0018 stable · JS 0.0002 · noise ~0.008 · all cases 520/520`
    `PSI < 0.1 stable · 0.1–0.25 moderate · > 0.25 major · ε 1e-08 · ⚠ 1 warning`

    With `partial` (a run lacks whole splits, `partial_note`) the reading is not given: a PSI
    over the cases that are there says nothing about the splits that are not, so the first line
    reads `partial` and the second names the missing splits.
    """
    scope = "all cases" if entry.name is None else plain(entry.name, limit=30)
    reading = entry.reading if partial is None else "partial"
    reading_style = (
        "bold reverse" if entry.reading in STRONG_READINGS or partial is not None else "bold"
    )
    out = Text.assemble(
        ("PSI ", "bold"),
        _psi(entry.psi),
        " ",
        (reading, reading_style),
        " · ",
        ("JS ", "bold"),
        _psi(entry.js),
        f" · noise ~{entry.noise_floor:.3f} · ",
        scope,
        f" {entry.reference_count:,}/{entry.current_count:,}",
    )
    out.append("\n")
    if partial is not None:
        out.append_text(partial)
        return out
    out.append(f"{THRESHOLDS} · ε {result.epsilon:g}", style="dim")
    if entry.noisy:
        out.append(" · ⚠ within noise", style="bold")
    elif result.warnings:
        out.append(f" · ⚠ {count(len(result.warnings), 'warning')}", style="bold")
    return out


def binning_note(result: DriftResult) -> str:
    if result.column.kind == "numeric":
        return (
            f"bins: {result.bins_requested} quantile bins of the reference (cut points are "
            "reference values, right-closed, open outer bins); (null) counts missing values"
        )
    return (
        f"bins: one per label, the {result.max_categories} most frequent kept, the rest pooled "
        "as (other); (null) counts missing values"
    )


def warnings_text(result: DriftResult) -> Text:
    out = Text(binning_note(result), style="dim")
    for w in result.warnings:
        out.append("\n⚠ ", style="bold")
        out.append(f"{w.code}: ", style="bold")
        out.append(plain(w.message, limit=600))
    return out


def slice_table(result: DriftResult, selected: str | None) -> RenderableType:
    """PSI, JS, reading and noise floor of every slice; the one plotted is marked ▸."""
    table = Table(
        box=None,
        show_header=True,
        header_style="bold",
        pad_edge=False,
        show_edge=False,
        title=Text(f"PER {plain(result.slice_column, limit=40).upper()}", style="bold underline"),
        title_justify="left",
    )
    table.add_column("", width=1, no_wrap=True)
    table.add_column(safe(result.slice_column, limit=40), max_width=20, overflow="ellipsis")
    table.add_column("ref", justify="right", no_wrap=True)
    table.add_column("cur", justify="right", no_wrap=True)
    table.add_column("PSI", justify="right", no_wrap=True)
    table.add_column("JS", justify="right", no_wrap=True)
    table.add_column("reading", no_wrap=True)
    table.add_column("noise", justify="right", no_wrap=True)
    table.add_column("note", overflow="fold")
    for entry in (result.overall, *result.per_slice):
        mark = "▸" if entry.name == selected else ""
        strong = entry.reading in STRONG_READINGS
        ref, cur, psi, js, reading, noise, note = drift_cells(entry, missing=NONE)
        table.add_row(
            Text(mark, style="bold"),
            safe("all cases" if entry.name is None else entry.name, limit=80),
            Text(ref),
            Text(cur),
            psi,
            js,
            Text(reading, style="bold" if strong else ""),
            Text(noise),
            note,
        )
    return table


class DriftScreen(ReviewScreen):
    """Reference (the baseline) vs current (the candidate) for one column, per slice; a trend."""

    HELP_TITLE = "drift"
    HELP_TEXT = (
        "The reference is the pinned baseline, the current run the candidate (r picks another). "
        "In the plot each bin is one row: ▀ the reference's share, ▄ the current run's, █ both; "
        "the exact shares are printed at the right. PSI sums (cur - ref) x ln(cur / ref) over the "
        "bins, JS is the Jensen-Shannon divergence in nats (natural log, at most ln 2); both add "
        f"ε ({EPSILON:g}) to every share. {THRESHOLDS}. The noise floor is the PSI two samples of one "
        "unchanged distribution show from sampling alone: a PSI near it says nothing, and a slice "
        "whose floor reaches 0.1 is marked noisy. Numeric columns take their bins from "
        "the reference's quantiles. The trend is a metric recomputed from every run of the "
        "experiment, oldest first; its bars start at the lowest value, not at 0."
    )
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.pop_screen", "back", key_display="esc", id="back"),
        Binding(
            "c",
            "pick_column",
            "column",
            tooltip="choose the column: route, score, latency, tokens, a case field, metadata",
            id="column",
        ),
        Binding("s", "pick_slice", "slice", tooltip="plot one slice, or all cases", id="slice"),
        Binding(
            "r",
            "pick_current",
            "current run",
            tooltip="choose the current run (the reference stays the baseline)",
            id="current_run",
        ),
        Binding(
            "m",
            "pick_metric",
            "trend metric",
            tooltip="choose the metric of the trend",
            id="trend_metric",
        ),
    ]
    AUTO_FOCUS = "#drift-body"

    def __init__(self, context: PairContext, *, column: str = DEFAULT_COLUMN) -> None:
        super().__init__()
        self.context = context
        self.reference: RunReview = context.baseline
        self.current: RunReview = context.candidate
        self.column = column
        self.slice_name: str | None = None
        self.result: DriftResult | None = None
        self.columns: tuple[Column, ...] = ()
        self.metric = self.default_metric()
        self.trend: MetricTrend | None = None
        self._reveal_trend = False

    # -- layout ---------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Static(self.title_text(), classes="title", id="drift-title")
        yield Static(Text("computing drift…", style="italic"), id="drift-figures")
        with ScrollPane(id="drift-body"):
            yield DriftPlot(id="drift-plot")
            yield Static(id="drift-warnings")
            yield Static(id="drift-slices")
            yield TrendView(id="drift-trend")
        yield KeysFooter()

    def title_text(self) -> Text:
        if self.current.run_id == self.reference.run_id:
            return Text.assemble(
                ("drift  ", "bold"),
                safe(self.column, "bold", limit=40),
                " · the baseline ",
                safe(self.reference.run_id, limit=40),
                " against itself: r picks a run",
            )
        return Text.assemble(
            ("drift  ", "bold"),
            safe(self.column, "bold", limit=40),
            " · reference ",
            safe(self.reference.run_id, limit=40),
            " → current ",
            safe(self.current.run_id, "bold", limit=40),
        )

    def on_mount(self) -> None:
        self.compute()
        self.load_columns()
        self.load_trend()

    # -- data -----------------------------------------------------------------------------------

    def compute(self) -> None:
        self.query_one("#drift-figures", Static).update(
            Text(f"computing drift of {plain(self.column, limit=40)}…", style="italic")
        )
        self.fetch(
            self.show_drift,
            measure_drift,
            self.reference.run_id,
            self.current.run_id,
            self.column,
            group="drift",
        )

    def load_columns(self) -> None:
        """The column list comes in its own worker, so the first plot does not wait for it."""
        self.fetch(
            self.show_columns,
            list_columns,
            self.reference.run_id,
            self.current.run_id,
            group="columns",
        )

    def show_columns(self, listed: tuple[str, tuple[Column, ...]]) -> None:
        current_id, columns = listed
        if current_id == self.current.run_id:
            self.columns = columns

    def load_trend(self) -> None:
        trend = self.query_one(TrendView)
        if self.metric is None:
            trend.display = False
            return
        self.fetch(
            self.show_trend,
            trend_against,
            self.reference.run.experiment,
            self.metric,
            self.reference.run_id,
            group="trend",
        )

    def show_drift(self, result: DriftResult) -> None:
        moved = self.result is None or (
            (self.result.column.name, self.result.current.run_id)
            != (result.column.name, result.current.run_id)
        )
        self.result = result
        if self.slice_name is not None and self.slice_name not in {
            s.name for s in result.per_slice
        }:
            self.slice_name = None
        self.query_one("#drift-title", Static).update(self.title_text())
        self.redraw()
        if moved:
            self.query_one("#drift-body", ScrollPane).scroll_home(animate=False)

    def redraw(self) -> None:
        result = self.result
        if result is None:
            return
        entry = result.slice(self.slice_name)
        partial = partial_note(self.reference, self.current)
        self.query_one("#drift-figures", Static).update(figures_line(result, entry, partial))
        self.query_one(DriftPlot).show(result, self.slice_name, partial=partial is not None)
        notes = warnings_text(result)
        if partial is not None:
            notes = Text.assemble(
                partial, " (the PSI covers only the cases both runs have)\n", notes
            )
        self.query_one("#drift-warnings", Static).update(notes)
        self.query_one("#drift-slices", Static).update(slice_table(result, self.slice_name))

    def show_trend(self, trend: MetricTrend) -> None:
        self.trend = trend
        view = self.query_one(TrendView)
        view.show(trend, reference=self.reference.run_id, current=self.current.run_id)
        if self._reveal_trend:  # a metric was just picked: keep the trend in view
            self._reveal_trend = False
            self.call_after_refresh(view.scroll_visible, top=True, animate=False)

    def fetch_failed(self, error: BaseException | None) -> None:
        if self.result is not None:
            self.redraw()
        else:
            self.query_one("#drift-figures", Static).update(
                Text("no drift to show (see the message)", style="italic")
            )

    # -- pickers --------------------------------------------------------------------------------

    def default_metric(self) -> str | None:
        names = self.metric_names()
        if DEFAULT_METRIC in names:
            return DEFAULT_METRIC
        return names[0] if names else None

    def metric_names(self) -> list[str]:
        review = self.context.review
        names: list[str] = []
        for suite in (review.suite, *review.suites.values()):
            names += [m.name for m in suite.metrics if m.name not in names]
        for r in (review.baseline, *review.runs):
            names += [k for k in r.run.metrics if k not in names]
        return names

    def action_pick_column(self) -> None:
        # the built-in columns until `drift_columns` has listed case fields and metadata keys
        columns = self.columns or builtin_columns()
        choices = [
            Choice(c.name, Text.assemble(safe(c.name, limit=50), f"  {c.kind}, {c.source}"))
            for c in columns
        ]
        self.app.push_screen(
            ChoiceModal("a column", choices, current=self.column), self.column_picked
        )

    def column_picked(self, name: str | None) -> None:
        if name is None or name == self.column:
            return
        self.column = name
        self.slice_name = None
        self.query_one("#drift-title", Static).update(self.title_text())
        self.compute()

    def action_pick_slice(self) -> None:
        if self.result is None:
            return
        choices = [Choice(ALL, Text("all cases"))]
        for entry in self.result.per_slice:
            if entry.name is None:
                continue
            choices.append(
                Choice(
                    entry.name,
                    Text.assemble(
                        safe(entry.name, limit=40),
                        f"  PSI {_psi(entry.psi)} {entry.reading}",
                        f"  (n {entry.reference_count:,}/{entry.current_count:,})",
                    ),
                )
            )
        current = ALL if self.slice_name is None else self.slice_name
        self.app.push_screen(ChoiceModal("a slice", choices, current=current), self.slice_picked)

    def slice_picked(self, value: str | None) -> None:
        if value is None:
            return
        self.slice_name = None if value == ALL else value
        self.redraw()
        self.query_one("#drift-body", ScrollPane).scroll_home(animate=False)  # to the plot

    def action_pick_current(self) -> None:
        review = self.context.review
        choices = []
        for r in (review.baseline, *review.runs):
            note = versus(r) + (" (the reference)" if r.is_baseline else "")
            choices.append(
                Choice(
                    r.run_id,
                    Text.assemble(safe(r.run_id, limit=40), "  ", (clip(plain(note), 36), "dim")),
                )
            )
        self.app.push_screen(
            ChoiceModal("the current run", choices, current=self.current.run_id),
            self.current_picked,
        )

    def current_picked(self, run_id: str | None) -> None:
        if run_id is None or run_id == self.current.run_id:
            return
        self.current = self.context.review.get(run_id)
        self.query_one("#drift-title", Static).update(self.title_text())
        self.columns = ()
        self.compute()
        self.load_columns()
        if self.trend is not None:
            self.show_trend(self.trend)

    def action_pick_metric(self) -> None:
        names = self.metric_names()
        if not names:
            self.notify("no metric is declared or logged in this experiment", markup=False)
            return
        choices = [Choice(name, safe(name, limit=60)) for name in names]
        self.app.push_screen(
            ChoiceModal("the trend's metric", choices, current=self.metric), self.metric_picked
        )

    def metric_picked(self, name: str | None) -> None:
        if name is None or name == self.metric:
            return
        self.metric = name
        self._reveal_trend = True
        self.query_one(TrendView).show(
            None, reference=self.reference.run_id, current=self.current.run_id
        )
        self.load_trend()

    def palette_commands(self) -> list[tuple[str, str, Callable[[], Any]]]:
        commands: list[tuple[str, str, Callable[[], Any]]] = [
            ("Choose column", "The per-case column whose drift is shown", self.action_pick_column),
            ("Choose slice", "Plot one slice, or all cases", self.action_pick_slice),
            ("Choose current run", "Another run against the baseline", self.action_pick_current),
            ("Choose trend metric", "The metric of the trend", self.action_pick_metric),
        ]
        for column in self.columns or builtin_columns():
            commands.append(
                (
                    f"Drift of {plain(column.name, limit=60)}",
                    f"{column.kind}, {column.source}",
                    partial(self.column_picked, column.name),
                )
            )
        return commands
