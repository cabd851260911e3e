"""`evaltui drift` (reference vs current distribution of a per-case column) and `evaltui trend`
(a metric across an experiment's runs in time order)."""

from __future__ import annotations

from pathlib import Path

import click
from rich.text import Text

from evaltui.actions import drift as actions_drift
from evaltui.bars import bar, span_bar
from evaltui.cli.options import confidence_option, json_option, open_store, store_option
from evaltui.cli.render import console, emit_json, number, safe, table
from evaltui.review.drift import (
    DEFAULT_BINS,
    EPSILON,
    GROUP_COLUMNS,
    THRESHOLDS,
    DriftResult,
    SliceDrift,
)
from evaltui.review.figures_text import DRIFT_COLUMNS, divergence, drift_cells, level
from evaltui.review.paired import StatWarning
from evaltui.review.trend import MetricTrend

BAR_WIDTH = 24
TREND_BAR_WIDTH = 16


DRIFT_HELP = (
    "Distribution of COLUMN in CURRENT against REFERENCE: PSI and Jensen-Shannon divergence.\n\n"
    f"PSI reading: < 0.1 stable, 0.1-0.25 moderate, > 0.25 major. Epsilon {EPSILON:g} is added "
    "to every share; JS uses the natural log. Numeric bins come from the reference's quantiles "
    "(see docs/statistics.md). Overall and per slice."
)


@click.command("drift", help=DRIFT_HELP)
@click.argument("reference")
@click.argument("current")
@click.option(
    "--column",
    "-c",
    required=True,
    help="Per-case column: route, score, latency_ms, tokens, a case field, metadata.KEY ...",
)
@click.option(
    "--bins",
    type=click.IntRange(2, 100),
    default=DEFAULT_BINS,
    show_default=True,
    help="Numeric columns: quantile bins taken from the reference.",
)
@click.option(
    "--by",
    type=click.Choice(GROUP_COLUMNS),
    default="slice_name",
    show_default=True,
    help="Case column that splits the cases into slices.",
)
@click.option("--slice", "slice_name", help="Show the bins of this slice instead of all cases.")
@store_option
@json_option
def drift_command(
    reference: str,
    current: str,
    column: str,
    bins: int,
    by: str,
    slice_name: str | None,
    store_path: Path | None,
    as_json: bool,
) -> None:
    with open_store(store_path, read_only=True) as store:
        result = actions_drift.measure_drift(
            store.con, reference, current, column, bins=bins, by=by
        )
    shown = result.slice(slice_name)
    if as_json:
        emit_json(result.to_json())
    else:
        _print_drift(result, shown)


def _print_drift(result: DriftResult, shown: SliceDrift) -> None:
    out = console()
    out.print(
        Text.assemble(
            ("drift of ", "bold"),
            safe(result.column.name, "bold"),
            f" ({result.column.kind}, {result.column.source}): ",
            safe(result.reference.run_id),
            f" (reference, {result.reference.count:,}) -> ",
            safe(result.current.run_id),
            f" (current, {result.current.count:,})",
        )
    )
    scope = "all cases" if shown.name is None else f"{result.slice_column} = {shown.name}"
    out.print(
        Text.assemble(
            ("PSI ", "bold"),
            divergence(shown.psi),
            f" {shown.reading}  ",
            ("JS ", "bold"),
            divergence(shown.js),
            f" nats  epsilon {result.epsilon:g}  sampling noise ~{shown.noise_floor:.3f}  (",
            safe(scope),
            ")",
        )
    )
    out.print(Text(THRESHOLDS, style="dim"))
    rows = [
        [
            safe(b.label, limit=40),
            Text(f"{b.reference_share:6.1%} {bar(b.reference_share, BAR_WIDTH)}"),
            Text(f"{b.current_share:6.1%} {bar(b.current_share, BAR_WIDTH)}"),
            Text(f"{(b.current_share - b.reference_share) * 100:+.1f} pt"),
        ]
        for b in shown.bins
    ]
    out.print(table(None, ["bin", "reference", "current", "change"], rows))
    if result.per_slice:
        out.print(Text(f"per {result.slice_column}:", style="bold"))
        out.print(
            table(
                None,
                [result.slice_column, *DRIFT_COLUMNS],
                ([s.name, *drift_cells(s)] for s in result.per_slice),
            )
        )
    _print_warnings(result.warnings)


def _print_warnings(warnings: tuple[StatWarning, ...]) -> None:
    if not warnings:
        return
    out = console()
    out.print(Text("warnings:", style="bold"))
    for w in warnings:
        out.print(Text.assemble(f"  {w.code}: ", safe(w.message, limit=400)))


@click.command("trend")
@click.argument("experiment")
@click.option(
    "--metric", "-m", required=True, help="A metric the suite declares (recomputed) or runs logged."
)
@confidence_option("Level of the Wilson intervals of rates.")
@store_option
@json_option
def trend_command(
    experiment: str, metric: str, confidence: float, store_path: Path | None, as_json: bool
) -> None:
    """METRIC across the runs of EXPERIMENT, oldest first (recomputed from per-case routes)."""
    with open_store(store_path, read_only=True) as store:
        trend = actions_drift.trend(store.con, experiment, metric, confidence=confidence)
    if as_json:
        emit_json(trend.to_json())
    else:
        _print_trend(trend, confidence)


def _print_trend(trend: MetricTrend, confidence: float) -> None:
    out = console()
    values = [p.value for p in trend.line if p.value is not None]  # comparable runs only
    low, high = (min(values), max(values)) if values else (0.0, 0.0)
    out.print(
        Text.assemble(
            ("trend of ", "bold"),
            safe(trend.metric, "bold"),
            " in ",
            safe(trend.experiment),
            f" ({trend.source}; oldest first; bars span {number(low, 4)}..{number(high, 4)})",
        )
    )
    rows = []
    for p in trend.points:
        interval = p.rate.interval if p.rate is not None else None
        rows.append(
            [
                p.run_id,
                p.artifact,
                p.started_at.strftime("%Y-%m-%d %H:%M"),
                number(p.value, 4),
                "-" if interval is None else f"[{interval.low:.3f}, {interval.high:.3f}]",
                number(p.logged, 4),
                safe("≠ " + p.differs.removeprefix("differs: "), "dim")
                if not p.comparable
                else Text(
                    "-" if p.value is None else span_bar(p.value, low, high, TREND_BAR_WIDTH)
                ),
            ]
        )
    out.print(
        table(
            None,
            ["run", "artifact", "started", "value", f"{level(confidence)} CI", "logged", ""],
            rows,
        )
    )
    if trend.change is not None:
        out.print(Text(f"change first -> last: {trend.change:+.4g}", style="dim"))
    _print_warnings(trend.warnings)
