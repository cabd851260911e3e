"""Side by side: the baseline and one candidate, field by field, differences marked.

One row per fact, the baseline's value on the left and the candidate's on the right: the run,
the review outcome (status and every guardrail), the comparison contract (as claimed, and as
recomputed from the results where that differs), metrics (recomputed, with the logged value where
it disagrees, rates with their Wilson intervals), the paired statistics (counts, the difference
with its bootstrap interval, exact McNemar and Holm-adjusted p, the verdict, every warning), the
spread over repeats of the candidate's artifact, evidence flags, other params, tags and artifacts.
Values break between words and at the separators of ids and statuses (`evaltui.wrap`), never
mid-word unless one word is wider than its column.
A row whose two sides differ is marked `≠` and drawn bold, so the marks survive NO_COLOR. One line
under the title keeps the paired verdict in view while the table scrolls.
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

from evaltui.review.figures_text import margin_verdict, mdd_note
from evaltui.review.paired import PairedStats
from evaltui.review.report import Review, RunReview
from evaltui.tui.pair_actions import (
    PAIR_ACTIONS,
    PairContext,
    failure_bindings,
    open_at_failure,
    pair_action,
    pair_bindings,
)
from evaltui.tui.screens.base import ReviewScreen
from evaltui.tui.stats_text import (
    WARNING_MARK,
    compact,
    holm,
    interval,
    level,
    power_line,
    rate,
    spread,
)
from evaltui.tui.text import NONE, number, pvalue, safe, signed
from evaltui.tui.widgets.keys_footer import KeysFooter
from evaltui.tui.widgets.pane import ScrollPane
from evaltui.wrap import Breakable

DIFF = "≠"
DIFF_STYLE = "bold"
IDENTITY = {"run_id", "started_at", "source", "comparable"}  # always differ: never marked

Cell = str | None


def _metric_cell(r: RunReview, name: str) -> str:
    value = r.metrics_recomputed.get(name)
    logged = r.run.metrics.get(name)
    wilson = r.intervals.get(name)
    text = rate(wilson) if wilson is not None and wilson.rate is not None else number(value)
    if r.logged_differs(name):
        text += f"  ⚑ logged {number(logged)}"
    return text


def _guardrail_cell(r: RunReview, predicate: str) -> str:
    for outcome in r.verdict.outcomes:
        if outcome.predicate == predicate:
            return f"{'✓ pass' if outcome.passed else '✗ FAIL'} ({number(outcome.observed)})"
    return NONE


def _recomputed(r: RunReview, field: str) -> str | None:
    for d in r.differences:
        if d.field == field and d.source == "recomputed":
            return d.value
    return None


def sections(
    review: Review, cand: RunReview, figures: PairedStats | None
) -> list[tuple[str, list[tuple[str, Cell, Cell]]]]:
    """The facts of both runs as (section, [(label, baseline value, candidate value)])."""
    base = review.baseline
    same_run = base.run_id == cand.run_id
    out: list[tuple[str, list[tuple[str, Cell, Cell]]]] = []

    def both(get: Callable[[RunReview], Cell]) -> tuple[Cell, Cell]:
        return get(base), get(cand)

    out.append(
        (
            "run",
            [
                ("run_id", *both(lambda r: r.run_id)),
                ("artifact", *both(lambda r: r.run.artifact)),
                ("experiment", *both(lambda r: r.run.experiment)),
                ("suite_id", *both(lambda r: r.run.suite_id)),
                ("started_at", *both(lambda r: r.run.started_at.strftime("%Y-%m-%d %H:%M:%S"))),
                ("cases", *both(lambda r: f"{r.coverage.covered:,} of {r.coverage.total:,}")),
                ("source", *both(lambda r: r.run.source_path)),
            ],
        )
    )
    review_rows: list[tuple[str, Cell, Cell]] = [
        ("status", *both(lambda r: r.state if r.state == r.status else f"{r.state} {r.status}")),
        (
            "comparable",
            "baseline",
            "baseline"
            if same_run
            else ("yes" if cand.comparable else "NO: " + cand.reason.removeprefix("differs: ")),
        ),
    ]
    predicates = [o.predicate for o in base.verdict.outcomes]
    predicates += [o.predicate for o in cand.verdict.outcomes if o.predicate not in predicates]
    for predicate in predicates:
        review_rows.append(
            (predicate, _guardrail_cell(base, predicate), _guardrail_cell(cand, predicate))
        )
    out.append(("review", review_rows))

    contract_rows: list[tuple[str, Cell, Cell]] = []
    for field in review.suite.comparison_fields:
        contract_rows.append((field, base.contract.get(field), cand.run.params.get(field)))
        recomputed = _recomputed(cand, field)
        if recomputed is not None:
            base_value = next(
                d.baseline
                for d in cand.differences
                if d.field == field and d.source == "recomputed"
            )
            contract_rows.append((f"{field} (recomputed)", base_value, recomputed))
    out.append(("contract", contract_rows))

    names = [m.name for m in review.suites[base.run.suite_id].metrics]
    names += [m.name for m in review.suites[cand.run.suite_id].metrics if m.name not in names]
    out.append(
        ("metrics (recomputed)", [(n, _metric_cell(base, n), _metric_cell(cand, n)) for n in names])
    )

    if not same_run:
        out.append(("paired with the baseline", _paired_rows(review, cand, figures)))
        repeats = _repeat_rows(review, cand)
        if repeats:
            out.append(("repeats of this artifact", repeats))

    flags = max(len(base.evidence), len(cand.evidence))
    if flags:
        rows: list[tuple[str, Cell, Cell]] = []
        for i in range(flags):
            rows.append(
                (
                    "⚑",
                    base.evidence[i].message if i < len(base.evidence) else "",
                    cand.evidence[i].message if i < len(cand.evidence) else "",
                )
            )
        out.append(("evidence flags", rows))

    contract = set(review.suite.comparison_fields)
    params = sorted((set(base.run.params) | set(cand.run.params)) - contract)
    out.append(("params", [(k, base.run.params.get(k), cand.run.params.get(k)) for k in params]))
    tags = sorted(set(base.run.tags) | set(cand.run.tags))
    out.append(("tags", [(k, base.run.tags.get(k), cand.run.tags.get(k)) for k in tags]))
    count = max(len(base.run.artifacts), len(cand.run.artifacts))
    out.append(
        (
            "artifacts",
            [
                (
                    str(i + 1),
                    base.run.artifacts[i] if i < len(base.run.artifacts) else None,
                    cand.run.artifacts[i] if i < len(cand.run.artifacts) else None,
                )
                for i in range(count)
            ],
        )
    )
    return out


def _paired_rows(
    review: Review, cand: RunReview, figures: PairedStats | None
) -> list[tuple[str, Cell, Cell]]:
    p = cand.paired
    if p is None:
        return [("shared cases", NONE, "another suite: nothing to pair")]
    conf = level(review.settings.confidence)
    rows: list[tuple[str, Cell, Cell]] = [
        ("shared cases", f"{p.n:,}", f"{p.n:,}"),
        (f"exact route ({conf} Wilson)", rate(p.baseline_rate), rate(p.candidate_rate)),
        ("fixed", "", f"{p.fixed:,}"),
        ("broken", "", f"{p.broken:,}"),
        ("both right", "", f"{p.both_right:,}"),
        ("both wrong", "", f"{p.both_wrong:,}"),
        ("Δ exact-route rate", "", signed(p.delta)),
        (
            f"{conf} CI of Δ ({'clustered' if p.clustered else 'bootstrap'})",
            "",
            interval(p.ci),
        ),
    ]
    if p.clustered is not None:
        c = p.clustered
        rows.append(
            (
                "clusters",
                "",
                f"{c.clusters:,} by {review.cluster_field}: {c.method}, "
                f"design effect {c.design_effect:.2f}, p {pvalue(c.p_value)}",
            )
        )
    if p.non_inferiority is not None:
        rows.append(("non-inferiority", "", margin_verdict(p) or NONE))
    rows.append(("detectable (80% power)", "", mdd_note(p) or NONE))
    if figures is not None:
        rows += [
            ("McNemar p (exact)", "", pvalue(figures.mcnemar_p)),
            ("Holm-adjusted p", "", holm(figures)),
            ("verdict", "", figures.verdict),
        ]
        rows += [(f"{WARNING_MARK} {w.code}", "", w.message) for w in figures.warnings]
        rows.append(("p-values", "", review.adjustment_note))
    return rows


def _repeat_rows(review: Review, cand: RunReview) -> list[tuple[str, Cell, Cell]]:
    for group in review.repeats:
        if cand.run_id not in group.run_ids:
            continue
        rows: list[tuple[str, Cell, Cell]] = [
            ("runs", "", f"{len(group.run_ids)}: " + ", ".join(group.run_ids)),
        ]
        if group.delta is not None:
            rows.append(("Δ exact-route rate", "", spread(group.delta, sign=True)))
        for name, summary in group.metrics.items():
            rows.append((name, "", spread(summary)))
        rows += [(f"left out: {run_id}", "", why) for run_id, why in group.left_out.items()]
        rows += [(f"{WARNING_MARK} {w.code}", "", w.message) for w in group.warnings]
        return rows
    return []


def side_by_side(review: Review, cand: RunReview, figures: PairedStats | None) -> RenderableType:
    table = Table(
        box=None,
        expand=True,
        show_header=True,
        header_style="bold",
        pad_edge=False,
        show_edge=False,
    )
    table.add_column("", width=1, no_wrap=True)
    table.add_column("", max_width=24, overflow="fold")
    table.add_column("baseline", ratio=1, overflow="fold")
    table.add_column("candidate", ratio=1, overflow="fold")
    for title, rows in sections(review, cand, figures):
        table.add_row("", Text(title.upper(), style="bold underline"), "", "")
        if not rows:
            table.add_row("", Text(NONE, style="dim"), "", "")
        for label, left, right in rows:
            differs = label not in IDENTITY and left != right and "" not in (left, right)
            style = DIFF_STYLE if differs else ""
            table.add_row(
                Text(DIFF if differs else " ", style=DIFF_STYLE),
                Breakable(safe(label, "dim" if not differs else DIFF_STYLE, limit=80)),
                Breakable(safe(NONE if left is None else left, style, limit=600)),
                Breakable(safe(NONE if right is None else right, style, limit=600)),
            )
        table.add_row("", "", "", "")
    return table


class CompareScreen(ReviewScreen):
    """The baseline and one candidate next to each other."""

    HELP_TITLE = "side by side"
    HELP_TEXT = (
        "Rows marked ≠ differ between the baseline and the candidate. ⚑ marks a logged metric that "
        "the per-case results do not support. Incomparable runs are shown with every differing "
        "contract field and both values."
    )
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.pop_screen", "back", key_display="esc", id="back"),
        *pair_bindings(exclude=("compare",)),
        *failure_bindings(),
        Binding(
            "y",
            "copy_run",
            "copy id",
            show=False,
            tooltip="copy the candidate's run id",
            id="copy_id",
        ),
    ]
    AUTO_FOCUS = "#compare-body"

    def __init__(self, context: PairContext) -> None:
        super().__init__()
        self.context = context

    def compose(self) -> ComposeResult:
        review, cand = self.context.review, self.context.candidate
        base = review.baseline
        yield Static(
            Text.assemble(
                ("side by side  ", "bold"),
                safe(base.run_id, limit=40),
                " (baseline)  vs  ",
                safe(cand.run_id, "bold", limit=40),
                "" if cand.comparable else "  · NOT COMPARABLE",
            ),
            classes="title",
        )
        if not self.context.is_baseline:
            yield Static(
                compact(self.context.paired, review.settings.confidence),
                id="compare-stats",
                classes="stats-line",
            )
            yield Static(
                power_line(self.context.paired),
                id="compare-power",
                classes="stats-line",
            )
        with ScrollPane(id="compare-body"):
            yield Static(side_by_side(review, cand, self.context.paired), id="compare-table")
        yield KeysFooter()

    def action_failures(self, step: int) -> None:
        self.app.push_screen(open_at_failure(self.context, step))

    def action_copy_run(self) -> None:
        self.copy_id("run id", self.context.candidate.run_id)

    def action_pair(self, name: str) -> None:
        self.app.push_screen(pair_action(name).open(self.context))

    def palette_commands(self) -> list[tuple[str, str, Callable[[], Any]]]:
        return [
            (
                f"Open {a.description}",
                f"{a.description} of this pair",
                partial(self.action_pair, a.name),
            )
            for a in PAIR_ACTIONS
            if a.name != "compare"
        ]
