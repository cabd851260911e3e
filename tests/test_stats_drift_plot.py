"""The drift plot widget, mounted in a tiny app at 80x24: bars, monochrome shapes, untrusted
labels, slices, and one snapshot. Async bodies run under asyncio.run (no async test plugin)."""

from __future__ import annotations

import asyncio

import pytest
from rich.cells import cell_len
from textual.app import App, ComposeResult

from evaltui.review.drift import Column, DriftBin, DriftResult, RunSide, SliceDrift, drift
from evaltui.tui.drift_plot import BOTH, BOTTOM, TOP, DriftPlot, bar_cells


class PlotApp(App[None]):
    def __init__(self, result: DriftResult | None, slice_name: str | None = None) -> None:
        super().__init__()
        self.result = result
        self.slice_name = slice_name

    def compose(self) -> ComposeResult:
        yield DriftPlot(self.result, slice_name=self.slice_name, id="plot")


def _lines(app: PlotApp) -> list[str]:
    return app.query_one(DriftPlot).render().plain.splitlines()


@pytest.fixture
def latency(sample_con) -> DriftResult:
    return drift(sample_con, "sr-prod-v3.4", "sr-v3.5-rc2", "latency_ms")


def test_bars_match_the_shares_at_80x24(latency: DriftResult) -> None:
    async def scenario() -> None:
        app = PlotApp(latency)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            plot = app.query_one(DriftPlot)
            lines = _lines(app)
            assert plot.size.height == len(lines) <= 24
            assert all(len(line) <= plot.size.width for line in lines)
        assert "PSI 1.015 major" in lines[0] and "latency_ms" in lines[0]
        assert "sr-prod-v3.4" in lines[1] and "sr-v3.5-rc2" in lines[1]
        rows = lines[3:]
        assert len(rows) == len(latency.bins)
        # the largest share (current, last bin: 41.3%) fills the whole bar area
        bar_width = rows[-1].count(BOTH) + rows[-1].count(BOTTOM)
        assert bar_width >= 40
        scale = max(max(b.reference_share, b.current_share) for b in latency.bins)
        for row, b in zip(rows, latency.bins, strict=True):
            ref, cur = bar_cells(b.reference_share, b.current_share, scale, bar_width)
            assert row.count(BOTH) == min(ref, cur)
            assert row.count(TOP) == max(0, ref - cur) and row.count(BOTTOM) == max(0, cur - ref)
            assert row.rstrip().endswith(f"{b.reference_share:6.1%} {b.current_share:6.1%}".strip())

    asyncio.run(scenario())


def test_monochrome_keeps_the_meaning_in_the_shapes(latency: DriftResult, monkeypatch) -> None:
    async def scenario() -> None:
        monkeypatch.setenv("NO_COLOR", "1")
        app = PlotApp(latency)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            assert app.no_color
            rows = _lines(app)[3:]
        first, last = rows[0], rows[-1]
        assert TOP in first and BOTTOM not in first  # reference 10.0% vs current 1.5%
        assert BOTTOM in last and TOP not in last  # reference 10.0% vs current 41.3%

    asyncio.run(scenario())


def _hand_result(label: str) -> DriftResult:
    bins = (
        DriftBin(label, "value", 3, 1, 0.75, 0.25),
        DriftBin("(null)", "null", 1, 3, 0.25, 0.75),
    )
    overall = SliceDrift(None, 4, 4, 0.5, 0.1, "major", 0.5, bins)
    return DriftResult(
        reference=RunSide("ref\x1b[31m", "a", "s", 4),
        current=RunSide("cur", "b", "s", 4),
        column=Column("output", "categorical", "results", "r.output"),
        epsilon=1e-8,
        bins_requested=10,
        max_categories=20,
        cut_points=(),
        overall=overall,
        slice_column="slice_name",
        per_slice=(),
        warnings=(),
    )


def test_untrusted_labels_are_shown_literally() -> None:
    async def scenario() -> None:
        app = PlotApp(_hand_result("[bold red]SYSTEM[/bold red]\x1b]0;pwned\x07"))
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            text = app.query_one(DriftPlot).render()
        assert "\x1b" not in text.plain and "\x07" not in text.plain
        assert "[bold red]SYSTEM" in text.plain  # markup shown, not interpreted
        assert "\u241b" in text.plain  # ESC as its control picture
        assert "ref\u241b[31m" in text.plain

    asyncio.run(scenario())


@pytest.mark.parametrize("label", ["払い戻し", "払い戻しの請求書について問い合わせ"])
def test_wide_labels_keep_the_bars_aligned(label: str) -> None:
    """Labels are fitted in terminal cells: a CJK character takes two."""

    async def scenario() -> list[str]:
        app = PlotApp(_hand_result(label))
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            assert all(
                cell_len(line) <= app.query_one(DriftPlot).size.width for line in _lines(app)
            )
            return _lines(app)

    rows = asyncio.run(scenario())[3:]
    starts = [cell_len(row[: row.index(BOTH)]) for row in rows]
    assert starts[0] == starts[1]  # both bars start in the same column
    assert cell_len(rows[0]) == cell_len(rows[1])
    if cell_len(label) <= 20:  # a quarter of the width
        assert rows[0].startswith(label + " ")
    else:
        assert "…" in rows[0][: rows[0].index(BOTH)] and starts[0] == 20 + 1


def test_switching_slice_and_empty_states(latency: DriftResult, sample_con) -> None:
    async def scenario() -> None:
        route = drift(sample_con, "sr-prod-v3.4", "sr-v3.5-rc2", "route")
        app = PlotApp(None)
        async with app.run_test(size=(80, 24)) as pilot:
            plot = app.query_one(DriftPlot)
            await pilot.pause()
            assert "no drift computed yet" in plot.render().plain
            plot.show(route, "legal_request")
            await pilot.pause()
            lines = _lines(app)
            assert "slice_name legal_request" in lines[0] and "n 30/30" in lines[0]
            assert len(lines) == 3 + len(route.slice("legal_request").bins)
            plot.show(route, "ghost")
            await pilot.pause()
            assert "no ghost in slice_name" in plot.render().plain

    asyncio.run(scenario())


def test_drift_plot_snapshot(snap_compare, latency: DriftResult) -> None:
    assert snap_compare(PlotApp(latency), terminal_size=(80, 24))
