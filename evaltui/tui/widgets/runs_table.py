"""The runs of a review, one row each: baseline pinned first, then ranked runs, then the runs that
may not be ranked (grayed, with the fields that differ).

Columns are fitted to the width: at 80 columns the rank, run, status, paired delta, evidence
flags and the reason a run is not comparable; wider terminals add fixed/broken counts, the
suite's metrics, the artifact and the McNemar p-value. The row order is `display_order`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

from rich.cells import cell_len
from rich.text import Text
from textual.binding import Binding, BindingType
from textual.widgets import DataTable

from evaltui.review.report import Review, RunReview
from evaltui.tui.pair_actions import paired_figures
from evaltui.tui.text import NONE, clip, elide, number, plain, pvalue, signed
from evaltui.tui.widgets.list_keys import movement_bindings
from evaltui.tui.widgets.search import matches

DIM = "dim"
PADDING = 1  # DataTable cell padding on each side


def display_order(review: Review) -> list[RunReview]:
    """Baseline first; comparable runs ranked (eligible first, then by paired delta, higher
    first); incomparable runs last in time order, never ranked."""
    comparable = [r for r in review.runs if r.comparable]
    incomparable = [r for r in review.runs if not r.comparable]

    def rank_key(r: RunReview) -> tuple[bool, float, str]:
        delta = r.paired.delta if r.paired is not None else None
        return (not r.eligible, -(delta if delta is not None else float("-inf")), r.run_id)

    return [review.baseline, *sorted(comparable, key=rank_key), *incomparable]


def run_matches(r: RunReview, query: str) -> bool:
    """`/` search: the query's words in the run's id, artifact, status or contract reason."""
    return matches(query, (r.run_id, r.run.artifact, r.status, versus(r)))


def rank_labels(order: list[RunReview]) -> dict[str, str]:
    labels: dict[str, str] = {}
    rank = 0
    for r in order:
        if r.is_baseline:
            labels[r.run_id] = "B"
        elif r.comparable:
            rank += 1
            labels[r.run_id] = str(rank)
        else:
            labels[r.run_id] = NONE
    return labels


def versus(r: RunReview) -> str:
    if r.is_baseline:
        return "baseline"
    if r.comparable:
        return "comparable"
    return "≠ " + r.reason.removeprefix("differs: ")


@dataclass(frozen=True, slots=True)
class Column:
    key: str
    header: str
    width: int
    cell: Callable[[RunReview], str]
    justify: str = "left"


def _state(r: RunReview) -> str:
    return r.state if r.state == r.status else f"{r.state} {r.status}"


def _paired_delta(r: RunReview) -> str:
    if r.is_baseline or r.paired is None:
        return NONE
    return signed(r.paired.delta)


def _fixed_broken(r: RunReview) -> str:
    if r.is_baseline or r.paired is None:
        return NONE
    return f"{r.paired.fixed}/{r.paired.broken}"


def _p(r: RunReview) -> str:
    figures = paired_figures(r)
    return pvalue(None if figures is None else figures.mcnemar_p)


def _flags(r: RunReview) -> str:
    return f"⚑{len(r.evidence)}" if r.evidence else ""


def fit_columns(review: Review, order: list[RunReview], width: int) -> list[Column]:
    """The columns that fit in `width` cells, the reason column taking what is left."""
    labels = rank_labels(order)

    def widest(cell: Callable[[RunReview], str], header: str, cap: int) -> int:
        return min(cap, max(len(header), *(cell_len(plain(cell(r))) for r in order)))

    columns = [
        Column("rank", "#", widest(lambda r: labels[r.run_id], "#", 3), lambda r: labels[r.run_id]),
        Column("run", "run", widest(lambda r: r.run_id, "run", 28), lambda r: r.run_id),
        # the state first (INCOMPARABLE, INCOMPLETE), the guardrail status beside it, grayed
        Column("status", "status", widest(_state, "status", 34), _state),
        Column("delta", "Δ exact", 7, _paired_delta, "right"),
        Column("flags", "⚑", widest(_flags, "⚑", 4), _flags),
    ]
    reason = Column("versus", "vs baseline", 0, versus)
    optional = [
        Column("fixbrk", "fix/brk", widest(_fixed_broken, "fix/brk", 11), _fixed_broken, "right")
    ]
    for spec in review.suite.metrics:

        def metric(r: RunReview, name: str = spec.name) -> str:
            return number(r.metrics_recomputed.get(name))

        optional.append(
            Column(f"m:{spec.name}", spec.name, widest(metric, spec.name[:12], 12), metric, "right")
        )
    optional.append(
        Column(
            "artifact",
            "artifact",
            widest(lambda r: r.run.artifact, "artifact", 30),
            lambda r: r.run.artifact,
        )
    )
    optional.append(Column("p", "p", 6, _p, "right"))

    def used(cols: list[Column]) -> int:
        return sum(c.width + 2 * PADDING for c in cols)

    reason_min = min(widest(versus, "vs baseline", 60), 13)
    reason_full = widest(versus, "vs baseline", 60)
    budget = width - 2  # room for a vertical scrollbar
    if used(columns) + reason_min + 2 * PADDING > budget:
        # narrow terminal: give the status column less room first
        spare = budget - (used(columns) + reason_min + 2 * PADDING)
        status = columns[2]
        columns[2] = Column(status.key, status.header, max(12, status.width + spare), status.cell)
        spare = budget - (used(columns) + reason_min + 2 * PADDING)
        if spare < 0:  # then the run id, elided in the middle so its distinguishing tail stays
            run = columns[1]
            columns[1] = Column(run.key, run.header, max(10, run.width + spare), run.cell)
    # the reason a run may not be ranked gets room first (the panel below shows it in full)
    reason_first = min(reason_full, 24)
    for extra in optional:
        if used(columns) + extra.width + 2 * PADDING + reason_first + 2 * PADDING <= budget:
            columns.append(extra)
    rest = budget - used(columns) - 2 * PADDING
    columns.append(
        Column(reason.key, reason.header, max(reason_min, min(rest, reason_full)), versus)
    )
    return columns


class RunsTable(DataTable[Text], inherit_bindings=False):
    """The runs of one review; the highlighted row is the candidate every pair action uses.

    Only row movement keys: the table always fits the width, so there is nothing to move sideways.
    """

    HELP_NAME = "runs list"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "enter",
            "select_cursor",
            "compare",
            key_display="⏎",
            tooltip="the baseline and the highlighted run side by side",
            id="open",
        ),
        *movement_bindings("next run", "previous run", "first run", "last run"),
    ]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=False, cell_padding=PADDING)
        self.order: list[RunReview] = []

    def show_review(self, review: Review, keep: str | None = None, query: str = "") -> None:
        """Fill the table for `review`, keeping the cursor on run `keep` when it is still there;
        with a `query`, only the runs that match it (ranks and widths stay those of all runs)."""
        everyone = display_order(review)
        self.order = [r for r in everyone if run_matches(r, query)]
        self.clear(columns=True)
        columns = fit_columns(review, everyone, self.size.width or self.screen.size.width or 80)
        for column in columns:
            header = Text(clip(plain(column.header), column.width), justify=column.justify)  # type: ignore[arg-type]
            self.add_column(header, width=column.width, key=column.key)
        for r in self.order:
            style = DIM if not r.comparable else ""
            cells = []
            for column in columns:
                text = plain(column.cell(r))
                value = (
                    elide(text, column.width) if column.key == "run" else clip(text, column.width)
                )
                cell_style = style
                if (column.key == "flags" and value) or (column.key == "rank" and r.is_baseline):
                    cell_style = "bold"
                cell = Text(value, style=cell_style, justify=column.justify)  # type: ignore[arg-type]
                if column.key == "status" and r.state != r.status:
                    cell.stylize("bold", 0, len(r.state))
                    cell.stylize(DIM, len(r.state))
                cells.append(cell)
            self.add_row(*cells, key=r.run_id)
        if keep is not None:
            for index, r in enumerate(self.order):
                if r.run_id == keep:
                    self.move_cursor(row=index, animate=False)
                    break

    def use_review(self, review: Review) -> None:
        """The same runs with `review`'s figures (a pending review completed): the rows shown
        do not change, so nothing is redrawn."""
        fresh = {r.run_id: r for r in (review.baseline, *review.runs)}
        self.order = [fresh.get(r.run_id, r) for r in self.order]

    @property
    def highlighted(self) -> RunReview | None:
        if not self.order or self.cursor_row < 0 or self.cursor_row >= len(self.order):
            return None
        return self.order[self.cursor_row]
