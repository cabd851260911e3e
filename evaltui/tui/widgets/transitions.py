"""The route transition summary above the cases list: baseline route x candidate route.

Rows are the baseline's routes, columns the candidate's, each cell the number of cases of the
current view that moved that way; the diagonal (unchanged) is dim, changes are bold. Beside it,
the view's outcome counts. Unpaired (the baseline's own cases) it is expected x route instead.
Labels are untrusted and may be many: at most MAX_ROUTES of each, the rest summed as `other`.
"""

from __future__ import annotations

from collections import Counter

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual.widgets import Static

from evaltui.store.queries_case_pages import Transition
from evaltui.tui.text import clip, plain

MAX_ROUTES = 6
OTHER = "(other)"
NONE_ROUTE = "(none)"


def _label(route: str | None) -> str:
    return NONE_ROUTE if route is None else plain(route, limit=40)


def route_labels(transitions: list[Transition]) -> list[str]:
    """The busiest MAX_ROUTES labels on either side, in name order; `(other)` if more."""
    weight: Counter[str] = Counter()
    for t in transitions:
        weight[_label(t.source)] += t.count
        weight[_label(t.target)] += t.count
    keep = sorted(name for name, _ in weight.most_common(MAX_ROUTES))
    if len(weight) > MAX_ROUTES:
        keep.append(OTHER)
    return keep


def transition_matrix(
    transitions: list[Transition], *, paired: bool, outcomes: dict[str, int], width: int
) -> RenderableType:
    labels = route_labels(transitions)
    known = set(labels)
    cells: Counter[tuple[str, str]] = Counter()
    for t in transitions:
        a, b = _label(t.source), _label(t.target)
        cells[(a if a in known else OTHER, b if b in known else OTHER)] += t.count
    source, target = ("baseline", "candidate") if paired else ("expected", "route")
    label_width = max(len(f"{source} ↓ {target} →"), *(len(x) for x in labels)) if labels else 10
    cell_width = max(6, *(len(clip(x, 12)) for x in labels)) if labels else 6
    matrix = Table(box=None, show_header=True, pad_edge=False, padding=(0, 1), header_style="bold")
    matrix.add_column(
        Text(f"{source} ↓ {target} →", style="bold"), no_wrap=True, min_width=min(label_width, 24)
    )
    for name in labels:
        matrix.add_column(Text(clip(name, 12)), justify="right", no_wrap=True, min_width=cell_width)
    for a in labels:
        row: list[Text] = [Text(clip(a, 24), style="bold")]
        for b in labels:
            n = cells.get((a, b), 0)
            style = "dim" if a == b or n == 0 else "bold"
            row.append(Text(f"{n:,}" if n else "·", style=style))
        matrix.add_row(*row)
    if not paired or not outcomes:
        return matrix
    counts = Table(box=None, show_header=False, pad_edge=False, padding=(0, 1))
    counts.add_column(no_wrap=True)
    counts.add_column(justify="right", no_wrap=True)
    for name, label, style in (
        ("fixed", "fixed", "bold"),
        ("broken", "broken", "bold"),
        ("both_wrong", "both wrong", ""),
        ("both_right", "both right", "dim"),
        ("missing", "missing", "dim"),
    ):
        if name == "missing" and not outcomes.get(name):
            continue
        counts.add_row(Text(label, style=style), Text(f"{outcomes.get(name, 0):,}", style=style))
    matrix_width = label_width + 1 + len(labels) * (cell_width + 2)
    if matrix_width + 22 <= width:
        grid = Table.grid(padding=(0, 3))
        grid.add_column()
        grid.add_column()
        grid.add_row(matrix, counts)
        return grid
    line = Text(" · ").join(
        Text(f"{label} {outcomes.get(name, 0):,}")
        for name, label in (
            ("fixed", "fixed"),
            ("broken", "broken"),
            ("both_wrong", "both wrong"),
            ("both_right", "both right"),
        )
    )
    return Group(matrix, line)


class TransitionSummary(Static):
    """Shows `transition_matrix` for the current view; `t` on the cases screen hides it."""

    def show(
        self, transitions: list[Transition], *, paired: bool, outcomes: dict[str, int]
    ) -> None:
        self.update(
            transition_matrix(
                transitions, paired=paired, outcomes=outcomes, width=self.size.width or 80
            )
        )
