"""The CLI's `compare` and the app print the same p-value, interval and rate the same way.

Both surfaces format through `evaltui.review.figures_text`; this drives the real `compare`
command and the app's own renderers (the cases screen's statistics line, the side-by-side
screen, the runs table's p cell) over one review of the sample store, and reads the same
figures off the running app's side-by-side screen (Pilot). The cases screen's one-line summary
writes the interval compactly (`+0.000…+0.038`, pinned below); every table prints `[lo, hi]`.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from rich.console import Console
from textual.pilot import Pilot

from evaltui.actions.review import compare_runs
from evaltui.review import figures_text
from evaltui.review.paired import PairedSettings, PairedStats
from evaltui.review.report import Review
from evaltui.store.connection import Store
from evaltui.tui.app import EvaltuiApp
from evaltui.tui.screens.compare import side_by_side
from evaltui.tui.stats_text import compact, rate
from evaltui.tui.text import pvalue
from tests.tui_helpers import drive, highlight, screen_text, settle

BASELINE = "sr-prod-v3.4"
CANDIDATE = "sr-v3.5-rc3-s3"


def _rendered(renderable: object) -> str:
    console = Console(width=200, record=True, file=open("/dev/null", "w"))  # noqa: SIM115
    console.print(renderable)
    return console.export_text()


def _lines_of(out: str, run_id: str) -> list[str]:
    return [line for line in out.splitlines() if line.startswith(f"{run_id} ")]


def _compare_prints(sample_store: Path, run_cli) -> tuple[Review, PairedStats, str, str, str]:
    """The review of the pair, and its p-value, interval and rate as `compare` printed them
    (the candidate's paired row and its Wilson row)."""
    result = run_cli("compare", BASELINE, "--store", sample_store)
    assert result.code == 0, result.err
    with Store.open(sample_store, read_only=True) as store:
        review = compare_runs(store.con, BASELINE, None, PairedSettings())
    stats = next(r.paired for r in review.runs if r.run_id == CANDIDATE)
    assert stats is not None and stats.ci is not None
    p_text = figures_text.pvalue(stats.test_p)
    ci_text = figures_text.interval(stats.ci)
    rate_text = figures_text.rate(stats.candidate_rate)
    rows = _lines_of(result.out, CANDIDATE)
    assert any(f" {p_text} " in row and f" {ci_text} " in row for row in rows), rows
    assert any(f" {rate_text} n=" in row for row in rows), rows
    return review, stats, p_text, ci_text, rate_text


def test_compare_and_the_app_print_the_same_figures(sample_store: Path, run_cli) -> None:
    review, stats, p_text, ci_text, rate_text = _compare_prints(sample_store, run_cli)
    cand = review.get(CANDIDATE)
    assert stats.ci is not None
    # the app: the cases screen's statistics line and the side-by-side screen
    line = compact(stats, review.settings.confidence).plain
    assert f"p {p_text}" in line
    assert f"{stats.ci.low:+.3f}…{stats.ci.high:+.3f}" in line
    panes = _rendered(side_by_side(review, cand, stats))
    assert ci_text in panes and rate(stats.candidate_rate) == rate_text
    assert rate_text in panes
    assert pvalue(stats.mcnemar_p) == figures_text.pvalue(stats.mcnemar_p)


def test_a_tiny_p_reads_the_same_below_the_floor_on_both_surfaces(sample_store: Path) -> None:
    """Before: `compare` printed `.3g` (`0.0004`), the app `<0.001`."""
    with Store.open(sample_store, read_only=True) as store:
        review = compare_runs(store.con, BASELINE, None, PairedSettings())
    stats = next(r.paired for r in review.runs if r.run_id == CANDIDATE)
    assert stats is not None
    assert stats.clustered is None  # so the test's p is McNemar's
    tiny = replace(stats, mcnemar_p=0.0004, holm_p=0.0008)
    cells = dict(zip(figures_text.PAIRED_COLUMNS, figures_text.paired_cells(tiny), strict=True))
    assert cells["p"] == "<0.001" and cells["p Holm"] == "<0.001"
    assert "p <0.001, Holm <0.001" in compact(replace(tiny, family_size=3), 0.95).plain
    assert pvalue(0.0004) == "<0.001" and pvalue(0.064) == "0.064"


def test_the_running_app_shows_compare_s_figures(sample_store: Path, run_cli) -> None:
    """The same figures read off the app's screen (Pilot: the runs list, enter on the candidate)
    as `compare` prints them: the paired interval, the p-value and the candidate's rate."""
    review, stats, p_text, ci_text, rate_text = _compare_prints(sample_store, run_cli)
    shown: list[str] = []

    async def flow(app: EvaltuiApp, pilot: Pilot) -> None:
        await highlight(pilot, app, CANDIDATE)
        await pilot.press("enter")
        await settle(pilot)
        shown.append(screen_text(app))

    drive(sample_store, flow, size=(160, 90), experiment=review.baseline.run.experiment)
    screen = shown[0]
    assert f"vs  {CANDIDATE}" in screen  # the side-by-side panes of the candidate

    def row(label: str) -> str:
        found = [
            line for line in screen.splitlines() if line.strip().lstrip("≠ ").startswith(label)
        ]
        assert len(found) == 1, (label, screen)
        return found[0]

    assert stats.test_p == stats.mcnemar_p  # no clusters: the p both print is McNemar's
    assert row("95% CI of Δ").rstrip().endswith(ci_text)
    assert row("McNemar p (exact)").split()[-1] == p_text
    assert row("exact route (95% Wilson)").rstrip().endswith(rate_text)
