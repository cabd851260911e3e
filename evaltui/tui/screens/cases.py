"""The cases screen: every case of a baseline/candidate pair, filters, and failure stepping.

Opening it numbers the pair's cases once in a worker (`actions.cases.open_pair`); each filter is a
new numbered view built in a worker (`actions.cases.apply_filter`), which replaces the old one and keeps the cursor on
the same case (or the next one that passes). `n`/`]` and `N`/`[` ask the view for the next or
previous failure: one indexed query each, whatever the number of cases. Presses made while a jump
is under way are added up and sent as one jump of several failures, so none is lost.

Verdicts (a paired list only): `v` opens the verdict form on the highlighted case. The ledgers
are read once when the pair opens (`actions.verdicts.load_verdicts`); each page of rows comes
with its cases' current verdicts, drawn as a mark after the failure mark. After a verdict is
recorded, only that case's verdict and the pair's progress ("12 of 40 failures judged", in the
title) are fetched again, never the whole list. `u` makes `n`/`N` skip failures already judged;
`U` filters the list to the failures not judged yet.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any, ClassVar

from rich.cells import cell_len
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
    FailureNumber,
    OpenedPair,
    ViewData,
    apply_filter,
    drop_opened,
    drop_view,
    failure_number,
    open_pair,
)
from evaltui.actions.judging import (
    Judged,
    JudgedJump,
    JudgedRows,
    judged_cases,
    judged_jump,
    load_judged_page,
    read_ledgers,
)
from evaltui.actions.verdicts import VerdictEvent, ledger_dir_for
from evaltui.plural import count
from evaltui.store.queries import RunInfo
from evaltui.store.queries_case_pages import CaseView, PairCases, SliceCount
from evaltui.store.queries_cases import OUTCOMES, CaseFilter
from evaltui.tui.pair_actions import PairContext
from evaltui.tui.screens.base import ReviewScreen
from evaltui.tui.screens.choice import Choice, ChoiceModal
from evaltui.tui.stats_text import compact, power_line
from evaltui.tui.text import elide, plain, safe
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
VERDICT = "record a verdict on the highlighted case: confirm, waive, relabel or note"
UNJUDGED_STEPS = "n/N step through the failures not judged yet only (toggle)"
UNJUDGED_FILTER = "show only the failures not judged yet (the list as it was when filtered)"
VERDICT_ACTIONS = ("verdict", "toggle_unjudged_steps", "toggle_unjudged_filter")
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
        "clears them all. The mark after ✗ is the case's verdict: ✓ confirm, W waive, R relabel, "
        "• note; `~` (dim) a verdict that no longer counts (its suite changed since, or the "
        "waiver expired). The title counts the pair's failures with a verdict that counts."
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
        Binding("v", "verdict", "verdict", tooltip=VERDICT, id="verdict"),
        Binding(
            "u",
            "toggle_unjudged_steps",
            "unjudged n/N",
            show=False,
            tooltip=UNJUDGED_STEPS,
            id="unjudged_steps",
        ),
        Binding(
            "U",
            "toggle_unjudged_filter",
            "unjudged only",
            show=False,
            tooltip=UNJUDGED_FILTER,
            id="unjudged_only",
        ),
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
        self._numbered: FailureNumber | None = None  # the last failure numbered
        self.progress: tuple[int, int] | None = None  # (failures judged, failures) of the pair
        self.unjudged_steps = False  # n/N skip the failures already judged
        self.routes: list[str] = []  # the pair's routes (the verdict form suggests them)

    @property
    def ledger_dir(self) -> Path:
        """The folder of the reviewers' verdict ledgers, beside the store."""
        return ledger_dir_for(self.review_app.store.path).absolute()

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

    def title_text(self, width: int | None = None) -> Text:
        """The title; on a paired list it ends with the review progress, which a narrow
        terminal keeps by shortening the run ids first."""
        if self.baseline is None:
            parts: list[Text | str | tuple[str, str]] = [
                ("cases  ", "bold"),
                safe(self.run.run_id, "bold", limit=40),
                f"  · {self.unpaired_reason}",
            ]
            if self.view is not None:
                parts += [f" · {self.view.total:,} shown · {count(self.view.failures, 'failure')}"]
            return Text.assemble(*parts)
        progress = Text()
        if self.progress is not None:
            judged, failures = self.progress
            progress.append(" · ")
            progress.append(f"{judged:,} of {count(failures, 'failure')} judged", "bold")
        elif self.view is not None:
            progress.append(f" · {count(self.view.failures, 'failure')}")
        shown = f" · {self.view.total:,} shown" if self.view is not None else ""
        run_id, base_id = plain(self.run.run_id, limit=40), plain(self.baseline.run_id, limit=40)
        room = (width or 200) - 2  # the title's padding
        # what goes first when the line is too narrow: "(baseline)", "N shown", then the ids
        # are shortened in the middle; the progress always stays
        for note, count_shown in ((" (baseline)", True), ("", True), ("", False)):
            tail = (shown if count_shown else "") + progress.plain
            if 13 + cell_len(run_id + base_id + note + tail) <= room:
                break
        else:
            each = max(4, (room - 13 - progress.cell_len) // 2)
            run_id, base_id = elide(run_id, each), elide(base_id, each)
        title = Text.assemble(("cases  ", "bold"), (run_id, "bold"), "  vs  ", base_id, note)
        if count_shown:
            title.append(shown)
        return title + progress

    def show_title(self) -> None:
        self.query_one("#cases-title", Static).update(self.title_text(self.size.width or None))

    def on_resize(self) -> None:
        self.show_title()
        self.update_filter_bar()

    def stats_text(self) -> Text:
        """The pair's paired statistics in one line (over all its cases, whatever the filters)."""
        return compact(self.context.paired, self.context.review.settings.confidence)

    @property
    def case_list(self) -> CaseList:
        return self.query_one(CaseList)

    def on_mount(self) -> None:
        self.query_one("#text-filter", Input).display = False
        if self.baseline is not None:
            self.case_list.verdicts = {}  # the mark column has room for verdicts from the start
            self.fetch(
                self.ledgers_read,
                read_ledgers,
                self.ledger_dir,
                self.run.run_id,
                self.baseline.run_id,
                group="ledgers",
            )
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
        self.routes = sorted(r for r in routes if r)
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
            self.fetch(
                self.jumped,
                judged_jump,
                opened.data.view,
                start,
                self.initial_step,
                self.judged_pair,
                False,
                group="jump",
            )
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
        self.show_title()
        self.update_filter_bar()

    def fetch_failed(self, error: BaseException | None) -> None:
        self._jumping = False
        self._queued_steps = 0
        self.update_filter_bar()

    @property
    def judged_pair(self) -> tuple[str, str] | None:
        """(run, baseline) once the ledgers were read: pages then come with their verdicts."""
        if self.baseline is None or self.progress is None:
            return None
        return self.run.run_id, self.baseline.run_id

    @on(CaseList.RowsWanted)
    def rows_wanted(self, event: CaseList.RowsWanted) -> None:
        if self.view is None or event.generation != self.generation:
            return
        generation = event.generation
        pair = self.judged_pair

        def arrived(page: JudgedRows) -> None:
            if page.rows is not None:
                if pair is not None:
                    self.case_list.set_verdicts(page.verdicts, [r.case_id for r in page.rows])
                self.case_list.add_rows(generation, event.start, page.rows)

        self.fetch(
            arrived,
            load_judged_page,
            self.view,
            event.start,
            event.count,
            pair,
            group="pages",
            exclusive=False,
        )

    def ledgers_read(self, found: Judged) -> None:
        """The ledgers were read: the progress, then the verdicts of the rows already here."""
        self.judged(found)
        problems = found.status.problem_lines() if found.status is not None else []
        if problems:
            shown = "; ".join(problems[:3])
            more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
            self.review_app.notify(
                plain(f"verdict ledgers: {shown}{more}; those lines are not used", limit=600),
                severity="warning",
                timeout=15,
                markup=False,
            )
        loaded = self.case_list.loaded_case_ids()
        if loaded and self.baseline is not None:
            self.fetch(
                self.judged,
                judged_cases,
                self.run.run_id,
                self.baseline.run_id,
                loaded,
                self.pair,
                group="judged",
                exclusive=False,
            )

    def judged(self, found: Judged) -> None:
        """The pair's progress and some cases' verdicts arrived (the ledgers, or a new verdict)."""
        self.progress = (found.judged, found.failures)
        self.case_list.set_verdicts(found.verdicts, found.case_ids)
        self.show_title()
        if self.unjudged_steps:
            self.renumber()
        self.update_filter_bar()

    @on(CaseList.CursorMoved)
    def cursor_moved(self, event: CaseList.CursorMoved) -> None:
        self.number_failure(event.row, event.case)

    def renumber(self) -> None:
        """Number the highlighted failure again (n/N's mode changed, or a verdict was recorded:
        its "unjudged k of m" may have changed)."""
        self._numbered = None
        self.number_failure(self.case_list.cursor, self.case_list.current)

    def number_failure(self, row: int, case: CaseRow | None) -> None:
        self._failure_label = ""
        view = self.view
        if view is not None and case is not None and not case.correct:
            known = self._numbered
            unjudged = self.unjudged_steps
            if known is not None and (known.table, known.row) == (view.table, row):
                self._failure_label = known.label()
            else:
                self.fetch(
                    self.numbered,
                    failure_number,
                    view,
                    row,
                    unjudged,
                    group="failure-number",
                )
        self.update_filter_bar()

    def numbered(self, found: FailureNumber | None) -> None:
        if found is None or self.view is None:
            return
        self._numbered = found
        if found.table == self.view.table and found.row == self.case_list.cursor:
            self._failure_label = found.label()
            self.update_filter_bar()

    def update_filter_bar(self) -> None:
        """Position, failure number, n/N's mode and the filters on one line; where that does not
        fit, the separators narrow and the filter names shorten, so each part stays readable."""
        parts: list[tuple[str, str]] = []  # (name, short name)
        if self.where.failures_only:
            parts.append(("failures only", "failures"))
        if self.where.unjudged_only:
            parts.append(("unjudged failures", "unjudged"))
        if self.where.outcome is not None:
            label = OUTCOME_LABELS.get(self.where.outcome, self.where.outcome)
            parts.append((f"outcome {label}", label))
        if self.where.slice_name is not None:
            name = safe(self.where.slice_name, limit=30).plain
            parts.append((f"slice {name}", name))
        if self.where.text:
            text = f"“{safe(self.where.text, limit=30).plain}”"
            parts.append((f"text {text}", text))
        bar = self.query_one("#filters", Static)
        width = bar.content_size.width
        for sep, short in (("  ·  ", False), (" · ", False), (" · ", True)):
            line = self.filter_line(sep, [p[1] if short else p[0] for p in parts], short=short)
            if not width or line.cell_len <= width:
                break
        bar.update(line)

    def filter_line(self, sep: str, filters: list[str], *, short: bool = False) -> Text:
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
            line.append(sep)
        if self.unjudged_steps:
            line.append("n/N: unjudged", style="bold")
            line.append(sep)
        if short:  # "only failures, unjudged"
            line.append(f"only {', '.join(filters)}" if filters else "no filter")
        else:
            line.append("filters: ")
            line.append(", ".join(filters) if filters else "none")
        return line

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

    # -- verdicts -------------------------------------------------------------------------------

    def no_verdicts_here(self) -> bool:
        """Say so and answer True when this list has no baseline to judge its cases against."""
        if self.baseline is not None:
            return False
        self.notify(
            "verdicts judge the cases of a pair: open a run against the baseline",
            markup=False,
            timeout=4,
        )
        return True

    def ledgers_not_read(self) -> bool:
        """Say so and answer True while the ledgers are still being read (what is judged is not
        known yet)."""
        if self.progress is not None:
            return False
        self.notify("reading the verdict ledgers…", markup=False, timeout=2)
        return True

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # an unpaired list (the baseline's own cases, another suite) has nothing to judge
        return self.baseline is not None or action not in VERDICT_ACTIONS

    def action_verdict(self) -> None:
        from evaltui.tui.screens.verdict import VerdictModal

        case = self.case_list.current
        if self.no_verdicts_here() or case is None or self.baseline is None:
            return
        modal = VerdictModal(
            case,
            run=self.run.run_id,
            baseline=self.baseline.run_id,
            ledger_dir=self.ledger_dir,
            routes=self.routes,
        )
        self.app.push_screen(modal, self.verdict_recorded)

    def verdict_recorded(self, event: VerdictEvent | None) -> None:
        """A verdict was recorded: fetch that case's verdict and the pair's progress again."""
        if event is None or self.baseline is None:
            return
        where = "the team store" if self.review_app.store.team else f"{event.reviewer}'s ledger"
        self.review_app.notify(
            plain(f"{event.kind} on {event.case_id} recorded in {where}", limit=300),
            markup=False,
            timeout=3,
        )
        self.fetch(
            self.judged,
            judged_cases,
            self.run.run_id,
            self.baseline.run_id,
            [event.case_id],
            self.pair,
            group="judged",
            exclusive=False,
        )

    def action_toggle_unjudged_steps(self) -> None:
        if self.no_verdicts_here() or self.ledgers_not_read():
            return
        self.unjudged_steps = not self.unjudged_steps
        self.renumber()
        self.notify(
            "n/N: failures not judged yet only" if self.unjudged_steps else "n/N: every failure",
            markup=False,
            timeout=3,
        )

    def action_toggle_unjudged_filter(self) -> None:
        if self.no_verdicts_here() or self.ledgers_not_read():
            return
        self.set_filter(replace(self.where, unjudged_only=not self.where.unjudged_only))

    # -- failure stepping -----------------------------------------------------------------------

    def action_step(self, steps: int) -> None:
        if self.view is None or self._jumping:
            self._queued_steps += steps
            return
        if not self.view.failures:
            self.notify("no failures in these cases", markup=False)
            return
        self._jumping = True
        self.fetch(
            self.jumped,
            judged_jump,
            self.view,
            self.case_list.cursor,
            steps,
            self.judged_pair,
            self.unjudged_steps,
            group="jump",
        )

    def jumped(self, judged: JudgedJump) -> None:
        self._jumping = False
        result = judged.jump
        if result is not None and self.judged_pair is not None:
            self.case_list.set_verdicts(judged.verdicts, [r.case_id for r in result.rows])
        if result is not None and self.view is not None and result.table == self.view.table:
            if result.target is None:
                where = "after" if result.steps > 0 else "before"
                which = "unjudged failure" if self.unjudged_steps else "failure"
                self.notify(f"no {which} {where} this case", markup=False, timeout=3)
            else:
                if not self.unjudged_steps:  # else the number is of unjudged failures: fetched
                    self._numbered = FailureNumber(
                        result.table, result.target, result.failures_before + 1, self.view.failures
                    )
                self.case_list.add_rows(self.generation, result.page_start, result.rows)
                self.case_list.move_to(result.target, center=True)
                # the next failure's page, fetched now, makes the next keypress a cache hit
                view, unjudged = self.view, self.unjudged_steps
                target, steps = result.target, result.steps
                self.review_app.discard(
                    lambda con: view.prefetch(con, target, steps, PAGE, unjudged_only=unjudged)
                )
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
            ledger_dir=self.ledger_dir if self.baseline is not None else None,
            unjudged_only=self.unjudged_steps,
            routes=self.routes,
            on_verdict=self.verdict_recorded,
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
            *self.verdict_commands(),
        ]

    def verdict_commands(self) -> list[tuple[str, str, Callable[[], Any]]]:
        if self.baseline is None:
            return []
        return [
            ("Verdict", "Record a verdict on the highlighted case", self.action_verdict),
            (
                "Toggle unjudged n/N",
                "n/N step through the failures not judged yet only",
                self.action_toggle_unjudged_steps,
            ),
            (
                "Toggle unjudged failures only",
                "Show only the failures not judged yet",
                self.action_toggle_unjudged_filter,
            ),
        ]
