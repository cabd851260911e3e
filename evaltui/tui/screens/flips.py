"""The flip view: the cases whose outcome changed against the baseline across a candidate's repeats.

Opened on a pair (`F`): the runs are the candidate and every other comparable run of its artifact
in the review (its seeds or epochs); with one run, just that run. Each row is a case with the
baseline's outcome and the history over the runs (R right, W wrong, - no result), how many runs
fixed or broke it, and whether the runs disagree among themselves. The query runs in a worker
(`review.flips.flip_report`); every id is shown literally.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import DataTable, Footer, Static

from evaltui.actions.flips import flips
from evaltui.plural import count
from evaltui.review.flips import FlipReport
from evaltui.tui.pair_actions import PairContext
from evaltui.tui.screens.base import ReviewScreen
from evaltui.tui.text import safe
from evaltui.tui.widgets.list_keys import movement_bindings

MAX_ROWS = 5_000  # the first rows in case-id order; `evaltui flips --json` lists them all


def repeat_runs(ctx: PairContext) -> tuple[str, ...]:
    """The candidate and the other comparable runs of its artifact, in the review's order."""
    cand = ctx.candidate
    same = [
        r.run_id
        for r in ctx.review.runs
        if r.run.artifact == cand.run.artifact
        and r.comparable
        and r.run.suite_id == ctx.baseline.run.suite_id
    ]
    return tuple(same) if cand.run_id in same else (cand.run_id,)


class FlipTable(DataTable[Text], inherit_bindings=False):
    HELP_NAME = "flips list"
    BINDINGS: ClassVar[list[BindingType]] = [
        *movement_bindings("next case", "previous case", "first", "last"),
    ]


class FlipsScreen(ReviewScreen):
    """Cases that changed outcome against the baseline across the candidate's repeats."""

    HELP_TITLE = "flips"
    HELP_TEXT = (
        "Cases whose outcome (right or wrong) changed against the baseline in at least one of the "
        "candidate's runs (its repeats: the comparable runs of the same artifact). history has "
        "one letter per run: R right, W wrong, - no result. A flaky case is one the runs "
        "disagree on. pass^k is the chance that k fresh attempts at a case all succeed."
    )
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.pop_screen", "back", key_display="esc", id="back"),
    ]
    AUTO_FOCUS = "#flips"

    def __init__(self, context: PairContext) -> None:
        super().__init__()
        self.context = context
        self.runs = repeat_runs(context)

    def compose(self) -> ComposeResult:
        yield Static(
            Text.assemble(
                ("flips  ", "bold"),
                safe(self.context.candidate.run.artifact, "bold", limit=40),
                "  vs  ",
                safe(self.context.baseline.run_id, limit=40),
                " (baseline)",
            ),
            classes="title",
        )
        yield Static(
            Text("reading outcomes…", style="italic"), id="flips-summary", classes="stats-line"
        )
        yield FlipTable(id="flips", cursor_type="row", zebra_stripes=False)
        yield Footer(compact=True)

    def on_mount(self) -> None:
        table = self.query_one(FlipTable)
        for label in ("case", "baseline", "history", "fixed", "broken", "flaky"):
            table.add_column(label)
        self.fetch(self.flips_loaded, flips, self.context.baseline.run_id, self.runs, MAX_ROWS)

    def flips_loaded(self, report: FlipReport) -> None:
        rep = report.repeats
        shown = [f"pass^{k} {v:.3f}" for k, v in rep.pass_hat.items() if k in (1, rep.attempts)]
        summary = (
            f"{report.changed:,} of {report.cases:,} changed over {count(len(report.run_ids), 'run')}"
            f" · {report.flaky:,} flaky · " + " · ".join(shown)
        )
        self.query_one("#flips-summary", Static).update(Text(summary))
        table = self.query_one(FlipTable)
        for f in report.flips:
            table.add_row(
                safe(f.case_id, limit=40),
                Text(f.baseline),
                safe(f.history, limit=60),
                Text(str(f.fixed)),
                Text(str(f.broken)),
                Text("flaky" if f.flaky else ""),
            )
