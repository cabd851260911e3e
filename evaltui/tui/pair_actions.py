"""Screens opened on a (baseline, candidate) pair: one entry each, shared by several screens.

The runs screen (on the highlighted run) and the side-by-side screen (on its candidate) both turn
every entry into a key binding, a help line and a command-palette command. Adding a screen or a
modal that works on a pair is one module plus one `PairAction` line here; import the screen
inside the factory so this module stays cheap and free of import cycles.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from textual.binding import Binding
from textual.screen import Screen

from evaltui.review.paired import PairedStats
from evaltui.review.report import Review, RunReview


def paired_figures(r: RunReview) -> PairedStats | None:
    """A run's paired statistics against the baseline, None when it shares no case with it."""
    return r.paired if r.paired is not None and r.paired.n else None


@dataclass(frozen=True, slots=True)
class PairContext:
    """What a pair screen is opened on: the whole review and the run chosen as the candidate."""

    review: Review
    candidate: RunReview

    @property
    def paired(self) -> PairedStats | None:
        """The candidate's paired statistics (None for the baseline or an unpaired run).

        Every figure of a `PairedStats` was computed with the review, in its worker: reading
        them here costs nothing on the UI thread.
        """
        return paired_figures(self.candidate)

    @property
    def baseline(self) -> RunReview:
        return self.review.baseline

    @property
    def is_baseline(self) -> bool:
        """The chosen run is the baseline itself (there is no other side)."""
        return self.candidate.run_id == self.review.baseline.run_id


@dataclass(frozen=True, slots=True)
class PairAction:
    name: str  # action id: the binding runs `pair('<name>')`
    key: str  # Textual key name(s), comma-separated
    description: str  # footer and help text
    open: Callable[[PairContext], Screen[Any]]  # the screen or modal to push
    show: bool = True  # shown in the footer (always in help and the palette)
    key_display: str | None = None
    tooltip: str = ""  # the longer description the help screen shows


SIDE_BY_SIDE = "the baseline and the highlighted run side by side (enter does it too)"
CASES = "every case of the pair, to step through its failures"
DRIFT = "drift: the run's per-case column against the baseline's (PSI, JS, per slice), a trend"
FLIPS = "flips: cases whose outcome changed against the baseline across the run's repeats"
DECIDE = "decide on the run: a signed decision file (rollback, limitation, invariants, key)"


def _side_by_side(ctx: PairContext) -> Screen[Any]:
    from evaltui.tui.screens.compare import CompareScreen

    return CompareScreen(ctx)


def _cases(ctx: PairContext) -> Screen[Any]:
    from evaltui.tui.screens.cases import CasesScreen

    return CasesScreen(ctx)


def _drift(ctx: PairContext) -> Screen[Any]:
    from evaltui.tui.screens.drift import DriftScreen

    return DriftScreen(ctx)


def _flips(ctx: PairContext) -> Screen[Any]:
    from evaltui.tui.screens.flips import FlipsScreen

    return FlipsScreen(ctx)


def _decide(ctx: PairContext) -> Screen[Any]:
    from evaltui.tui.screens.decide import DecideModal

    return DecideModal(ctx)


PAIR_ACTIONS: tuple[PairAction, ...] = (
    PairAction("compare", "s", "side by side", _side_by_side, show=False, tooltip=SIDE_BY_SIDE),
    PairAction("cases", "c", "cases", _cases, tooltip=CASES),
    PairAction("drift", "d", "drift", _drift, tooltip=DRIFT),
    PairAction("decide", "D", "decide", _decide, tooltip=DECIDE),
    PairAction("flips", "F", "flips", _flips, show=False, tooltip=FLIPS),
)


def failure_bindings(*, show: bool = True) -> list[Binding]:
    """`n`/`]` and `N`/`[` on a pair screen: open its cases on the first (last) failure."""
    return [
        Binding(
            "n,right_square_bracket",
            "failures(1)",
            "failures",
            show=show,
            key_display="n/N",
            tooltip="the cases of the pair, on its first failure (also ])",
            id="next_failure",
        ),
        Binding(
            "N,left_square_bracket",
            "failures(-1)",
            "last failure",
            show=False,
            tooltip="the cases of the pair, on its last failure (also [)",
            id="previous_failure",
        ),
    ]


def open_at_failure(ctx: PairContext, step: int) -> Screen[Any]:
    """The cases screen of the pair, moved to its first (step 1) or last (step -1) failure."""
    from evaltui.tui.screens.cases import CasesScreen

    return CasesScreen(ctx, initial_step=step)


def pair_action(name: str) -> PairAction:
    for action in PAIR_ACTIONS:
        if action.name == name:
            return action
    raise KeyError(name)


def pair_bindings(*, exclude: tuple[str, ...] = ()) -> list[Binding]:
    """Key bindings for every pair action (a screen excludes the one it is itself)."""
    return [
        Binding(
            a.key,
            f"pair('{a.name}')",
            a.description,
            show=a.show,
            key_display=a.key_display,
            tooltip=a.tooltip,
            id=a.name,
        )
        for a in PAIR_ACTIONS
        if a.name not in exclude
    ]
