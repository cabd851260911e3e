"""The cases screen: every case of a baseline/candidate pair, filters, and failure stepping.

Opening it numbers the pair's cases once in a worker (`actions.cases.open_pair`); each filter is a
new numbered view built in a worker (`actions.cases.apply_filter`), which replaces the old one and keeps the cursor on
the same case (or the next one that passes). `n`/`]` and `N`/`[` ask the view for the next or
previous failure: one indexed query each, whatever the number of cases. Presses made while a jump
is under way are added up and sent as one jump of several failures, so none is lost.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.timer import Timer
from textual.widgets import Input, Static

from evaltui.actions.cases import (
    PAGE,
    CaseRow,
    Jump,
    OpenedPair,
    ViewData,
    apply_filter,
    drop_opened,
    drop_view,
    failure_number,
    jump,
    load_page,
    open_pair,
)
from evaltui.plural import count
from evaltui.store.queries import RunInfo
from evaltui.store.queries_case_pages import CaseView, PairCases, SliceCount
from evaltui.store.queries_cases import OUTCOMES, CaseFilter
from evaltui.tui.pair_actions import PairContext
from evaltui.tui.screens.base import ReviewScreen
from evaltui.tui.screens.choice import Choice, ChoiceModal
from evaltui.tui.stats_text import compact, power_line
from evaltui.tui.text import plain, safe
from evaltui.tui.widgets.case_list import OUTCOME_LABELS, CaseList
from evaltui.tui.widgets.keys_footer import KeysFooter
from evaltui.tui.widgets.safe_input import SafeInput
from evaltui.tui.widgets.transitions import TransitionSummary

BACK = "back to where you came from (from the filter box: back to the list)"
NEXT = "next failure: the next case the candidate got wrong (also ])"
PREV = "previous failure (also [)"
TEXT = "filter by text in the case id, slice, routes or either output (enter applies, esc leaves)"
OUTCOME = "filter by outcome: fixed, broken, both right, both wrong, missing"
SUMMARY = "hide or show the route transition summary and the paired statistics line"
TEXT_FILTER_DELAY = 0.3  # seconds of typing pause before the text filter is applied
ALL = "\x00all"  # picker value meaning "no filter" (cannot be a real slice name from the store)


class CasesScreen(ReviewScreen):
    """Cases of one pair: transition summary, filters, the list; `enter` opens a case."""

    HELP_TITLE = "cases"
    HELP_TEXT = (
        "A failure is a case the candidate did not route as expected (outcomes broken, both wrong, "
        "missing). The summary counts baseline route (rows) x candidate route (columns) over the "
        "cases shown. The line below it is the paired statistics of the whole pair (all its "
        "shared cases, whatever the filters): the exact-route difference with its bootstrap "
        "interval, the exact McNemar p, the Holm-adjusted p when several candidates are ranked, "
        "the verdict and how many warnings the side-by-side screen lists. Filters combine; `x` "
        "clears them all."
    )
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "back", key_display="esc", tooltip=BACK, id="back"),
        Binding(
            "n,right_square_bracket",
            "step(1)",
            "failure",
            key_display="n/N",
            tooltip=NEXT,
            id="next_failure",
        ),
        Binding(
            "N,left_square_bracket",
            "step(-1)",
            "previous failure",
            show=False,
            tooltip=PREV,
            id="previous_failure",
        ),
        Binding(
            "f",
            "toggle_failures",
            "fails only",
            tooltip="show only the cases the candidate got wrong",
            id="failures_only",
        ),
        Binding("slash", "text_filter", "filter", key_display="/", tooltip=TEXT, id="search"),
        Binding(
            "s",
            "pick_slice",
            "slice",
            show=False,
            tooltip="filter by slice (a list to pick from)",
            id="slice",
        ),
        Binding("o", "pick_outcome", "outcome", show=False, tooltip=OUTCOME, id="outcome"),
        Binding(
            "x",
            "clear_filters",
            "clear filters",
            show=False,
            tooltip="clear every filter",
            id="clear_filters",
        ),
        Binding(
            "t", "toggle_summary", "route summary", show=False, tooltip=SUMMARY, id="route_summary"
        ),
        Binding(
            "y",
            "copy_case",
            "copy id",
            show=False,
            tooltip="copy the highlighted case's id",
            id="copy_id",
        ),
    ]
    AUTO_FOCUS = "#cases"

    def __init__(self, context: PairContext, *, initial_step: int = 0) -> None:
        """`initial_step` 1 (or -1): open on the first (or last) failure, not the first case."""
        super().__init__()
        self.context = context
        self.initial_step = initial_step
        cand = context.candidate
        base = context.review.baseline
        self.run = cand.run
        self.baseline: RunInfo | None = None
        self.unpaired_reason = ""
        if context.is_baseline:
            self.unpaired_reason = "the baseline's own cases"
        elif base.run.suite_id != cand.run.suite_id:
            self.unpaired_reason = "another suite than the baseline: not paired"
        else:
            self.baseline = base.run
        self.where = CaseFilter()
        self.pair: PairCases | None = None
        self.view: CaseView | None = None
        self.slices: list[SliceCount] = []
        self.pair_outcomes: dict[str, int] = {}
        self.generation = 0
        self._jumping = False
        self._queued_steps = 0
        self._text_timer: Timer | None = None
        self._failure_label = ""
        self._numbered: tuple[str, int, int] | None = None  # (view table, row, failures before)

    # -- layout ---------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Static(self.title_text(), classes="title", id="cases-title")
        yield TransitionSummary(id="summary")
        if self.baseline is not None:
            yield Static(self.stats_text(), id="pair-stats", classes="stats-line")
            yield Static(
                power_line(self.context.paired),
                id="pair-power",
                classes="stats-line",
            )
        with Horizontal(id="filter-bar"):
            yield Static(Text("loading cases…", style="italic"), id="filters")
            yield SafeInput(placeholder="text in id, slice, routes or outputs", id="text-filter")
        yield CaseList(id="cases")
        yield KeysFooter()

    def title_text(self) -> Text:
        parts: list[Text | str | tuple[str, str]] = [
            ("cases  ", "bold"),
            safe(self.run.run_id, "bold", limit=40),
        ]
        if self.baseline is not None:
            parts += ["  vs  ", safe(self.baseline.run_id, limit=40), " (baseline)"]
        else:
            parts += [f"  · {self.unpaired_reason}"]
        if self.view is not None:
            parts += [f" · {self.view.total:,} shown · {count(self.view.failures, 'failure')}"]
        return Text.assemble(*parts)

    def stats_text(self) -> Text:
        """The pair's paired statistics in one line (over all its cases, whatever the filters)."""
        return compact(self.context.paired, self.context.review.settings.confidence)

    @property
    def case_list(self) -> CaseList:
        return self.query_one(CaseList)

    def on_mount(self) -> None:
        self.query_one("#text-filter", Input).display = False
        self.fetch(
            self.pair_opened,
            open_pair,
            self.run,
            self.baseline,
            self.where,
            group="view",
            on_cancel=drop_opened,
        )

    def on_unmount(self) -> None:
        pair, view = self.pair, self.view
        if view is not None:
            self.review_app.discard(lambda con: view.drop(con))
        if pair is not None:
            self.review_app.discard(lambda con: pair.drop(con))

    # -- data arriving --------------------------------------------------------------------------

    def pair_opened(self, opened: OpenedPair) -> None:
        self.pair = opened.pair
        self.slices = opened.slices
        self.pair_outcomes = opened.data.outcomes
        routes = {t.source for t in opened.data.transitions} | {
            t.target for t in opened.data.transitions
        }
        self.case_list.route_width = max((len(r) for r in routes if r), default=8)
        self.show_view(opened.data)
        if self.initial_step and not opened.data.view.failures:
            # `n` asked for a failure and there is none: say so and stay where the reviewer was
            self.app.notify(
                f"no failures in {plain(self.run.run_id, limit=60)}: every case it has "
                "was routed as expected",
                markup=False,
                timeout=5,
            )
            if self.is_current:
                self.app.pop_screen()
            return
        if self.initial_step and opened.data.view.failures:
            start = -1 if self.initial_step > 0 else opened.data.view.total
            self._jumping = True
            self.fetch(self.jumped, jump, opened.data.view, start, self.initial_step, group="jump")
        elif self._queued_steps:
            steps, self._queued_steps = self._queued_steps, 0
            self.action_step(steps)

    def show_view(self, data: ViewData) -> None:
        old = self.view
        self.view = data.view
        if old is not None and old.table != data.view.table:
            self.review_app.discard(lambda con: old.drop(con))
        self.generation += 1
        self._failure_label = ""
        self.case_list.reset(
            self.generation, data.view.total, paired=data.view.paired, cursor=data.cursor
        )
        self.query_one(TransitionSummary).show(
            data.transitions, paired=data.view.paired, outcomes=data.outcomes
        )
        self.query_one("#cases-title", Static).update(self.title_text())
        self.update_filter_bar()

    def fetch_failed(self, error: BaseException | None) -> None:
        self._jumping = False
        self._queued_steps = 0
        self.update_filter_bar()

    @on(CaseList.RowsWanted)
    def rows_wanted(self, event: CaseList.RowsWanted) -> None:
        if self.view is None or event.generation != self.generation:
            return
        generation = event.generation

        def arrived(rows: list[CaseRow] | None) -> None:
            if rows is not None:
                self.case_list.add_rows(generation, event.start, rows)

        self.fetch(
            arrived, load_page, self.view, event.start, event.count, group="pages", exclusive=False
        )

    @on(CaseList.CursorMoved)
    def cursor_moved(self, event: CaseList.CursorMoved) -> None:
        self._failure_label = ""
        view = self.view
        if view is not None and event.case is not None and not event.case.correct:
            known = self._numbered
            if known is not None and known[:2] == (view.table, event.row):
                self._failure_label = f"failure {known[2] + 1:,} of {view.failures:,}"
            else:
                self.fetch(self.numbered, failure_number, view, event.row, group="failure-number")
        self.update_filter_bar()

    def numbered(self, found: tuple[str, int, int] | None) -> None:
        if found is None or self.view is None:
            return
        self._numbered = found
        table, row, before = found
        if table == self.view.table and row == self.case_list.cursor:
            self._failure_label = f"failure {before + 1:,} of {self.view.failures:,}"
            self.update_filter_bar()

    def update_filter_bar(self) -> None:
        parts: list[str] = []
        if self.where.failures_only:
            parts.append("failures only")
        if self.where.outcome is not None:
            parts.append(f"outcome {OUTCOME_LABELS.get(self.where.outcome, self.where.outcome)}")
        if self.where.slice_name is not None:
            parts.append(f"slice {safe(self.where.slice_name, limit=30).plain}")
        if self.where.text:
            parts.append(f"text “{safe(self.where.text, limit=30).plain}”")
        line = Text()
        if self.view is not None:
            position = (
                f"{self.case_list.cursor + 1:,}/{self.view.total:,}"
                if self.view.total
                else "no cases"
            )
            line.append(position, style="bold")
            if self._failure_label:
                line.append(f" · {self._failure_label}", style="bold")
            line.append("  ·  ")
        line.append("filters: ")
        line.append(", ".join(parts) if parts else "none")
        self.query_one("#filters", Static).update(line)

    # -- filters --------------------------------------------------------------------------------

    def set_filter(self, where: CaseFilter) -> None:
        if where == self.where:
            return
        self.where = where
        self.update_filter_bar()
        if self.pair is None:
            return
        current = self.case_list.current
        pair_row = current.pair_row if current is not None else None
        self.fetch(
            self.show_view,
            apply_filter,
            self.pair,
            where,
            pair_row,
            group="view",
            on_cancel=drop_view,
        )

    def action_toggle_failures(self) -> None:
        self.set_filter(replace(self.where, failures_only=not self.where.failures_only))

    def action_clear_filters(self) -> None:
        text_input = self.query_one("#text-filter", Input)
        text_input.value = ""
        text_input.display = False
        self.set_filter(CaseFilter())

    def action_pick_slice(self) -> None:
        if not self.slices:
            return
        choices = [Choice(ALL, Text("all slices"))]
        for s in self.slices:
            label = Text.assemble(
                safe("(no slice)" if s.slice_name is None else s.slice_name, limit=40),
                f"  {count(s.cases, 'case')}, {count(s.failures, 'failure')}",
            )
            if s.slice_name is not None:
                choices.append(Choice(s.slice_name, label))
        current = self.where.slice_name if self.where.slice_name is not None else ALL
        self.app.push_screen(ChoiceModal("a slice", choices, current=current), self.slice_picked)

    def slice_picked(self, value: str | None) -> None:
        if value is not None:
            self.set_filter(replace(self.where, slice_name=None if value == ALL else value))

    def action_pick_outcome(self) -> None:
        if self.baseline is None:
            self.notify("outcomes need a baseline to pair with", markup=False)
            return
        choices = [Choice(ALL, Text("all outcomes"))]
        for name in OUTCOMES:
            cases = self.pair_outcomes.get(name, 0)
            choices.append(
                Choice(name, Text(f"{OUTCOME_LABELS[name]}  {count(cases, 'case')} in the pair"))
            )
        current = self.where.outcome if self.where.outcome is not None else ALL
        self.app.push_screen(
            ChoiceModal("an outcome", choices, current=current), self.outcome_picked
        )

    def outcome_picked(self, value: str | None) -> None:
        if value is not None:
            self.set_filter(replace(self.where, outcome=None if value == ALL else value))

    def action_text_filter(self) -> None:
        text_input = self.query_one("#text-filter", Input)
        text_input.display = True
        text_input.focus()

    @on(Input.Changed, "#text-filter")
    def text_changed(self, event: Input.Changed) -> None:
        if self._text_timer is not None:
            self._text_timer.stop()
        value = event.value
        self._text_timer = self.set_timer(
            TEXT_FILTER_DELAY, lambda: self.set_filter(replace(self.where, text=value or None))
        )

    @on(Input.Submitted, "#text-filter")
    def text_submitted(self, event: Input.Submitted) -> None:
        if self._text_timer is not None:
            self._text_timer.stop()
        self.set_filter(replace(self.where, text=event.value or None))
        self.leave_text_filter()

    def leave_text_filter(self) -> None:
        self.query_one("#text-filter", Input).display = False  # the filter bar shows the text
        self.case_list.focus()

    def action_toggle_summary(self) -> None:
        summary = self.query_one(TransitionSummary)
        summary.display = not summary.display
        for line in self.query("#pair-stats, #pair-power"):
            line.display = summary.display

    def action_back(self) -> None:
        text_input = self.query_one("#text-filter", Input)
        if text_input.has_focus:  # keep what was typed, as enter does
            if self._text_timer is not None:
                self._text_timer.stop()
            self.set_filter(replace(self.where, text=text_input.value or None))
            self.leave_text_filter()
            return
        self.app.pop_screen()

    def action_copy_case(self) -> None:
        current = self.case_list.current
        self.copy_id("case id", current.case_id if current is not None else None)

    # -- failure stepping -----------------------------------------------------------------------

    def action_step(self, steps: int) -> None:
        if self.view is None or self._jumping:
            self._queued_steps += steps
            return
        if not self.view.failures:
            self.notify("no failures in these cases", markup=False)
            return
        self._jumping = True
        self.fetch(self.jumped, jump, self.view, self.case_list.cursor, steps, group="jump")

    def jumped(self, result: Jump | None) -> None:
        self._jumping = False
        if result is not None and self.view is not None and result.table == self.view.table:
            if result.target is None:
                where = "after" if result.steps > 0 else "before"
                self.notify(f"no failure {where} this case", markup=False, timeout=3)
            else:
                self._numbered = (result.table, result.target, result.failures_before)
                self.case_list.add_rows(self.generation, result.page_start, result.rows)
                self.case_list.move_to(result.target, center=True)
                # the next failure's page, fetched now, makes the next keypress a cache hit
                self.review_app.discard(self.view.prefetch, result.target, result.steps, PAGE)
        if self._queued_steps:
            steps, self._queued_steps = self._queued_steps, 0
            self.action_step(steps)

    # -- opening a case -------------------------------------------------------------------------

    @on(CaseList.Opened)
    def open_case(self, event: CaseList.Opened) -> None:
        from evaltui.tui.screens.case_detail import CaseScreen

        if self.view is None:
            return
        runs = [r for r in (self.baseline, self.run) if r is not None]
        screen = CaseScreen(
            self.view,
            event.case,
            suite_id=self.run.suite_id,
            runs=runs,
            paired=self.baseline is not None,
        )
        self.app.push_screen(screen, self.case_closed)

    def case_closed(self, row: int | None) -> None:
        if row is not None:
            self.case_list.move_to(row, center=True)

    def palette_commands(self) -> list[tuple[str, str, Callable[[], Any]]]:
        return [
            (
                "Next failure",
                "Move to the next case the candidate got wrong",
                lambda: self.action_step(1),
            ),
            (
                "Previous failure",
                "Move to the previous case the candidate got wrong",
                lambda: self.action_step(-1),
            ),
            (
                "Toggle failures only",
                "Show only the cases the candidate got wrong",
                self.action_toggle_failures,
            ),
            ("Filter by slice", "Pick one slice", self.action_pick_slice),
            (
                "Filter by outcome",
                "fixed, broken, both right, both wrong",
                self.action_pick_outcome,
            ),
            (
                "Filter by text",
                "Text in the case id, slice, routes or outputs",
                self.action_text_filter,
            ),
            ("Clear filters", "Show every case of the pair", self.action_clear_filters),
            (
                "Toggle route summary",
                "Hide or show the baseline x candidate route table",
                self.action_toggle_summary,
            ),
        ]
