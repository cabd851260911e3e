"""The drift screen at 80x24: open it on a pair, change the column, the slice, the current run
and the trend's metric, and read what it shows against the review layer's own answers."""

from __future__ import annotations

import io
from pathlib import Path

from rich.console import Console, RenderableType
from textual.pilot import Pilot

from evaltui.review.drift import drift
from evaltui.review.trend import metric_trend
from evaltui.store.connection import Store
from evaltui.tui.app import EvaltuiApp
from evaltui.tui.drift_plot import BOTH, DriftPlot
from evaltui.tui.screens.drift import DriftScreen, slice_table
from evaltui.tui.screens.runs import RunsScreen
from evaltui.tui.widgets.pane import ScrollPane
from evaltui.tui.widgets.trend import TrendView
from tests.tui_helpers import drive, highlight, pick, screen_text, settle

BASE = "sr-prod-v3.4"


def expected_drift(store: Path, current: str, column: str):  # type: ignore[no-untyped-def]
    with Store.open(store, read_only=True) as opened:
        return drift(opened.con, BASE, current, column)


def rendered(renderable: RenderableType) -> str:
    console = Console(width=80, record=True, file=io.StringIO())
    console.print(renderable)
    return console.export_text()


def figures(app: EvaltuiApp) -> str:
    return "\n".join(screen_text(app).splitlines()[1:3])


def test_open_drift_change_column_slice_and_run(sample_store: Path) -> None:
    route = expected_drift(sample_store, "sr-v3.5-rc2", "route")
    latency = expected_drift(sample_store, "sr-v3.5-rc2", "latency_ms")
    legal = latency.slice("legal_request")
    tokens_rc1 = expected_drift(sample_store, "sr-v3.5-rc1", "tokens")

    async def flow(app: EvaltuiApp, pilot: Pilot) -> None:
        await highlight(pilot, app, "sr-v3.5-rc2")
        await pilot.press("d")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, DriftScreen)
        assert screen.result is not None and screen.result.column.name == "route"
        top = figures(app)
        assert f"PSI {route.psi:.4f} {route.reading}" in top
        assert f"JS {route.js:.4f}" in top and "ε 1e-08" in top
        assert f"noise ~{route.overall.noise_floor:.3f}" in top
        assert "PSI < 0.1 stable · 0.1–0.25 moderate · > 0.25 major" in top
        text = screen_text(app)
        assert "reference sr-prod-v3.4 → current sr-v3.5-rc2" in text
        for b in route.bins:  # one bar row per bin, with both shares
            assert f"{b.reference_share:6.1%} {b.current_share:6.1%}".strip() in text
        assert all(len(line) <= 80 for line in text.splitlines())

        # another column, picked with the keyboard
        await pilot.press("c")
        await settle(pilot)
        await pick(pilot, app, "latency_ms")
        assert screen.result is not None and screen.result.column.name == "latency_ms"
        assert f"PSI {latency.psi:.4f} {latency.reading}" in figures(app)
        assert "drift  latency_ms" in screen_text(app)

        # one slice: the figures and the plot follow it, the table marks it
        await pilot.press("s")
        await settle(pilot)
        await pick(pilot, app, "legal_request")
        assert screen.slice_name == "legal_request"
        assert legal.psi is not None
        assert f"PSI {legal.psi:.4f} {legal.reading}" in figures(app)
        assert "legal_request 30/30" in figures(app)
        assert "⚠ within noise" in figures(app)  # its noise floor is above 0.1
        plot = screen.query_one(DriftPlot).render().plain
        assert f"slice_name legal_request, n {legal.reference_count}" in plot
        slices = rendered(slice_table(screen.result, screen.slice_name))
        assert "▸" in next(line for line in slices.splitlines() if "legal_request" in line)
        assert "▸" not in next(line for line in slices.splitlines() if "all cases" in line)

        # another current run: the same column and slice, computed for that run
        await pilot.press("r")
        await settle(pilot)
        await pick(pilot, app, "sr-v3.5-rc1")
        assert screen.current.run_id == "sr-v3.5-rc1"
        assert screen.result is not None and screen.result.current.run_id == "sr-v3.5-rc1"
        assert screen.slice_name == "legal_request"
        assert "→ current sr-v3.5-rc1" in screen_text(app)
        await pilot.press("c")
        await settle(pilot)
        await pick(pilot, app, "tokens")
        assert screen.result is not None
        assert (screen.result.current.run_id, screen.result.column.name) == (
            "sr-v3.5-rc1",
            "tokens",
        )
        assert screen.slice_name is None  # a new column starts on all cases
        assert f"PSI {tokens_rc1.psi:.4f} {tokens_rc1.reading}" in figures(app)
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, RunsScreen)

    drive(sample_store, flow)


def test_a_tall_plot_scrolls_and_the_trend_follows_it(sample_store: Path) -> None:
    with Store.open(sample_store, read_only=True) as opened:
        trend = metric_trend(opened.con, "support-router-q4", "exact_route_rate")
        cases = drift(opened.con, BASE, "sr-v3.5-rc3-s3", "case_id")
        escalation = metric_trend(opened.con, "support-router-q4", "escalation_recall")

    async def flow(app: EvaltuiApp, pilot: Pilot) -> None:
        await highlight(pilot, app, "sr-v3.5-rc3-s3")
        await pilot.press("d", "c")
        await settle(pilot)
        await pick(pilot, app, "case_id")  # 20 labels and (other): taller than the screen
        screen = app.screen
        assert isinstance(screen, DriftScreen)
        plot = screen.query_one(DriftPlot)
        body = screen.query_one("#drift-body", ScrollPane)
        assert plot.size.height == 3 + len(cases.bins) > body.size.height
        assert body.has_focus and body.max_scroll_y > 0
        assert "TREND" not in screen_text(app)
        await pilot.press("G")
        await settle(pilot)
        text = screen_text(app)
        assert "TREND exact_route_rate · 9 runs, oldest first · recomputed" in text
        rows = [line for line in text.splitlines() if line.lstrip().startswith("2026-")]
        assert len(rows) == len(trend.points)
        for row, point in zip(rows, trend.points, strict=True):
            assert point.run_id in row and f"{point.value:.3f}" in row
        marked = {line.split()[1]: line for line in rows if "◂" in line}
        assert "reference" in marked[BASE] and "current" in marked["sr-v3.5-rc3-s3"]
        lowest = min(p.value for p in trend.line if p.value is not None)
        assert f"bars from the lowest ({lowest:.3f})" in text
        # the spark line has one cell per run comparable with the baseline, in time order
        spark = next(
            line.strip().split()[0] for line in text.splitlines() if "first → last" in line
        )
        assert len(spark) == len(trend.line) < len(trend.points)
        await pilot.press("m")
        await settle(pilot)
        await pick(pilot, app, "escalation_recall")
        view = screen.query_one(TrendView)
        assert view.trend is not None and view.trend.metric == "escalation_recall"
        assert [p.value for p in view.trend.points] == [p.value for p in escalation.points]

    drive(sample_store, flow)


def test_drift_of_the_baseline_itself_is_flat(sample_store: Path) -> None:
    async def flow(app: EvaltuiApp, pilot: Pilot) -> None:
        await pilot.press("d")  # the baseline is highlighted when the app opens
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, DriftScreen) and screen.result is not None
        assert screen.result.psi == 0.0 and screen.result.reading == "stable"
        text = screen_text(app)
        assert "the baseline sr-prod-v3.4 against itself: r picks a run" in text
        assert "PSI 0.0000 stable" in text
        plot_rows = [line for line in text.splitlines() if BOTH in line and "%" in line]
        assert plot_rows and all("▀" not in row and "▄" not in row for row in plot_rows)

    drive(sample_store, flow)


def test_drift_and_trend_are_in_the_palette_and_help(sample_store: Path) -> None:
    async def flow(app: EvaltuiApp, pilot: Pilot) -> None:
        await highlight(pilot, app, "sr-v3.5-rc1")
        await pilot.press("d")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, DriftScreen)
        titles = [title for title, _, _ in screen.palette_commands()]
        assert "Drift of latency_ms" in titles and "Choose trend metric" in titles
        await pilot.press("question_mark")
        await settle(pilot)
        text = screen_text(app)
        for key, words in (("c", "choose the column"), ("s", "plot one slice"), ("m", "metric")):
            line = next(line for line in text.splitlines() if f" {key} " in f" {line} ")
            assert words in line

    drive(sample_store, flow)
