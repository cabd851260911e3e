"""One case, everything about it: every field the suite froze it with, and what the baseline and
the candidate produced (route, score, latency, tokens, output, metadata), literally.

Outputs and metadata are untrusted: they are shown through `safe()` (control characters and bidi
overrides as visible placeholders, markup never parsed), keeping their line breaks. `n`/`N` step
to the next or previous failure of the list underneath without leaving the screen; `esc` returns
to the list, with its cursor on the case shown last.

On a paired list the case also shows its verdicts: every event of every reviewer on this case of
the pair, newest first, each marked when a later one of the same reviewer superseded it, when its
suite changed since (stale) or when the waiver expired. `v` opens the verdict form; `n`/`N` follow
the list's "unjudged only" mode.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, ClassVar

from rich.console import Group, RenderableType
from rich.padding import Padding
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Static

from evaltui.actions.cases import CaseRow, Shown
from evaltui.actions.judging import JudgedCase, judge_shown, load_judged_case, step_judged_case
from evaltui.actions.verdicts import CaseVerdict, VerdictEvent
from evaltui.store.queries import RunInfo
from evaltui.store.queries_case_pages import CaseView
from evaltui.store.queries_cases import CaseResult
from evaltui.tui.screens.base import ReviewScreen
from evaltui.tui.text import NONE, number, plain, safe
from evaltui.tui.widgets.case_list import VERDICT_MARKS, outcome_label, verdict_mark
from evaltui.tui.widgets.keys_footer import KeysFooter
from evaltui.tui.widgets.pane import ScrollPane

SIDE_BY_SIDE_WIDTH = 110  # below this, the two results are stacked
VALUE_LIMIT = 20_000  # characters of one output or metadata value shown (the store keeps all)


def _field_value(value: Any) -> Text:
    if isinstance(value, str):
        return safe(value, limit=VALUE_LIMIT, multiline=True)
    return safe(json.dumps(value, ensure_ascii=False), limit=VALUE_LIMIT)


def _metadata(text: str | None) -> Text:
    if text is None:
        return Text(NONE, style="dim")
    try:
        pretty = json.dumps(json.loads(text), indent=2, ensure_ascii=False, sort_keys=True)
    except ValueError:
        pretty = text
    return safe(pretty, limit=VALUE_LIMIT, multiline=True)


def _route(route: str | None, expected: str | None) -> Text:
    if route is None:
        return Text("(no result)", style="italic")
    right = route == expected
    return Text.assemble(
        safe(route, "bold", limit=80),
        "  ✓ as expected" if right else "  ✗ expected " + safe(expected).plain,
    )


def result_rows(
    result: CaseResult | None, expected: str | None
) -> list[tuple[str, RenderableType]]:
    if result is None:
        return [("route", Text("(this run has no result for this case)", style="italic"))]
    return [
        ("route", _route(result.route, expected)),
        ("score", Text(number(result.score, 4))),
        ("latency_ms", Text(number(result.latency_ms, 1))),
        ("tokens", Text(number(result.tokens))),
        (
            "output",
            Text(NONE, style="dim")
            if result.output is None
            else safe(result.output, limit=VALUE_LIMIT, multiline=True),
        ),
        ("metadata", _metadata(result.metadata)),
    ]


def _kv_table() -> Table:
    table = Table(box=None, show_header=False, expand=True, pad_edge=False, padding=(0, 1))
    table.add_column(style="dim", no_wrap=True, max_width=24)
    table.add_column(ratio=1, overflow="fold")
    return table


def _event_line(event: VerdictEvent) -> Text:
    """`2026-12-06 09:12  alice  W waive → until 2027-01-01  superseded`: one event's head."""
    line = Text.assemble(
        (event.time.strftime("%Y-%m-%d %H:%M"), "dim"),
        "  ",
        safe(event.reviewer, "bold", limit=60),
        "  ",
        (f"{VERDICT_MARKS.get(event.kind, '?')} {event.kind}", "bold"),
    )
    if event.expected is not None:
        line.append_text(Text.assemble(" → ", safe(event.expected, "bold", limit=60)))
    if event.expires is not None:
        line.append(f"  until {event.expires.isoformat()}")
    notes = [
        word
        for word, on in (
            ("superseded", event.superseded),
            ("stale: its suite changed since", event.stale),
            ("expired", event.expired),
        )
        if on
    ]
    if notes:
        line.append("  " + ", ".join(notes), style="italic")
    return line


def verdicts_view(history: list[VerdictEvent]) -> RenderableType:
    """Every verdict on the case, newest first, all reviewers, with what no longer counts."""
    head = Text("VERDICTS", style="bold underline")
    if not history:
        head.append_text(Text("  none yet: v records one", style="dim"))
        return head
    lines: list[RenderableType] = [head]
    for event in reversed(history):  # oldest first from the ledgers: newest on top
        faded = event.superseded or event.stale or event.expired
        line = _event_line(event)
        if faded:
            line.stylize("dim")
        lines.append(line)
        if event.reason:
            reason = safe(event.reason, "dim" if faded else "", limit=2000, multiline=True)
            lines.append(Padding(reason, (0, 0, 0, 4)))  # wrapped lines keep the indent
    return Group(*lines)


def case_view(
    shown: Shown,
    runs: list[RunInfo],
    paired: bool,
    width: int,
    history: list[VerdictEvent] | None = None,
) -> RenderableType:
    detail = shown.detail
    parts: list[RenderableType] = []
    heading = Text.assemble(
        ("expected ", "dim"),
        safe(detail.expected_route, "bold", limit=80),
    )
    for run in runs:
        result = detail.results.get(run.run_id)
        label = "baseline" if paired and run is runs[0] else "candidate" if paired else "route"
        route = result.route if result is not None else None
        mark = "" if route is None else ("  ✓" if route == detail.expected_route else "  ✗")
        heading.append_text(
            Text.assemble(
                ("  ·  " + label + " ", "dim"),
                safe("(none)" if route is None else route, "bold", limit=80),
                mark,
            )
        )
    parts.append(heading)
    parts.append(Text(""))
    if history is not None:
        parts += [verdicts_view(history), Text("")]
    parts.append(Text("SUITE CASE", style="bold underline"))
    fields = _kv_table()
    fields.add_row("split", safe(detail.split))
    for key, value in detail.fields.items():
        fields.add_row(safe(key, limit=60), _field_value(value))
    parts.append(fields)
    parts.append(Text(""))
    titles = [
        Text.assemble(
            (
                "BASELINE " if paired and i == 0 else "CANDIDATE " if paired else "RUN ",
                "bold underline",
            ),
            safe(r.run_id, "bold", limit=60),
        )
        for i, r in enumerate(runs)
    ]
    blocks = []
    for run in runs:
        table = _kv_table()
        for key, value in result_rows(detail.results.get(run.run_id), detail.expected_route):
            table.add_row(key, value)
        blocks.append(table)
    if len(runs) == 2 and width >= SIDE_BY_SIDE_WIDTH:
        grid = Table.grid(expand=True, padding=(0, 2))
        grid.add_column(ratio=1)
        grid.add_column(ratio=1)
        grid.add_row(*titles)
        grid.add_row(*blocks)
        parts.append(grid)
    else:
        for title, block in zip(titles, blocks, strict=True):
            parts += [title, block, Text("")]
    return Group(*parts)


class CaseScreen(ReviewScreen[int]):
    """The detail of one case; dismissed with the row it ended on."""

    HELP_TITLE = "case"
    HELP_TEXT = (
        "Every field is shown as stored. Control characters appear as visible symbols "
        "(␛ for ESC, ␇ for BEL, ⟨9B⟩ for C1 codes, ⟨RLO⟩ for bidi overrides); markup is "
        "never applied. On a pair, VERDICTS lists every verdict on the case, newest first, from "
        "every reviewer: superseded (a later one by the same reviewer), stale (the suite changed "
        "since) and expired waivers are marked and dim; they do not count."
    )
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "escape",
            "back",
            "back",
            key_display="esc",
            tooltip="back to the list, on this case",
            id="back",
        ),
        Binding(
            "n,right_square_bracket",
            "step(1)",
            "failure",
            key_display="n/N",
            tooltip="show the next failure of the list (also ])",
            id="next_failure",
        ),
        Binding(
            "N,left_square_bracket",
            "step(-1)",
            "previous failure",
            show=False,
            tooltip="show the previous failure of the list (also [)",
            id="previous_failure",
        ),
        Binding(
            "y", "copy_case", "copy id", show=False, tooltip="copy this case's id", id="copy_id"
        ),
        Binding(
            "v",
            "verdict",
            "verdict",
            tooltip="record a verdict on this case: confirm, waive, relabel or note",
            id="verdict",
        ),
    ]
    AUTO_FOCUS = "#case-body"

    def __init__(
        self,
        view: CaseView,
        case: CaseRow,
        *,
        suite_id: str,
        runs: list[RunInfo],
        paired: bool,
        ledger_dir: Path | None = None,
        unjudged_only: bool = False,
        routes: Sequence[str] = (),
        on_verdict: Callable[[VerdictEvent], None] | None = None,
    ) -> None:
        """`ledger_dir` (a paired list): the case shows its verdicts and `v` records one;
        `on_verdict` tells the list underneath; `unjudged_only`: n/N skip judged failures."""
        super().__init__()
        self.view = view
        self.case = case
        self.suite_id = suite_id
        self.runs = runs
        self.paired = paired
        self.ledger_dir = ledger_dir if paired else None
        self.unjudged_only = unjudged_only
        self.routes = list(routes)
        self.on_verdict = on_verdict
        self.shown: Shown | None = None
        self.history: list[VerdictEvent] | None = None
        self.verdict: CaseVerdict | None = None
        self._stepping = False

    @property
    def pair(self) -> tuple[str, str] | None:
        """(run, baseline) whose verdicts this case shows; None on an unpaired list."""
        if self.ledger_dir is None or len(self.runs) != 2:
            return None
        return self.runs[1].run_id, self.runs[0].run_id

    @property
    def run_ids(self) -> list[str]:
        return [r.run_id for r in self.runs]

    def compose(self) -> ComposeResult:
        yield Static(self.title_text(), classes="title", id="case-title")
        with ScrollPane(id="case-body"):
            yield Static(Text("loading…", style="italic"), id="case-content")
        yield KeysFooter()

    def title_text(self) -> Text:
        case = self.case
        outcome = outcome_label(case, paired=self.paired)
        title = Text.assemble(
            ("case ", "bold"),
            safe(case.case_id, "bold", limit=60),
            f"  · {case.row + 1:,} of {self.view.total:,}",
            "  · ",
            (outcome, "bold"),
        )
        verdict = self.verdict
        if verdict is not None:
            title.append(f"  · {verdict_mark(verdict)} {verdict.kind} by ")
            title.append_text(safe(verdict.reviewer, limit=40))
            if verdict.reviewers > 1:
                title.append(f" +{verdict.reviewers - 1}")
        if self.unjudged_only:
            title.append("  · n/N: unjudged")
        return title

    def on_mount(self) -> None:
        self.fetch(
            self.show,
            load_judged_case,
            self.case,
            self.suite_id,
            self.run_ids,
            self.pair,
            group="case",
        )

    def action_copy_case(self) -> None:
        self.copy_id("case id", self.case.case_id)

    def show(self, judged: JudgedCase | None, *, scroll_home: bool = True) -> None:
        self._stepping = False
        if judged is None:
            return
        self.shown = judged.shown
        self.case = judged.shown.case
        self.history = judged.history
        self.verdict = judged.verdict
        self.query_one("#case-title", Static).update(self.title_text())
        self.render_case()
        if scroll_home:
            self.query_one("#case-body", ScrollPane).scroll_home(animate=False)

    def render_case(self) -> None:
        if self.shown is not None:
            width = self.size.width or 80
            self.query_one("#case-content", Static).update(
                case_view(self.shown, self.runs, self.paired, width, self.history)
            )

    def on_resize(self) -> None:
        self.render_case()

    def fetch_failed(self, error: BaseException | None) -> None:
        self._stepping = False

    def action_step(self, steps: int) -> None:
        if self._stepping:
            return
        self._stepping = True

        def arrived(judged: JudgedCase | None) -> None:
            if judged is None:
                self._stepping = False
                which = "unjudged failure" if self.unjudged_only else "failure"
                self.notify(
                    f"no {which} {'after' if steps > 0 else 'before'} this case",
                    markup=False,
                    timeout=3,
                )
            else:
                self.show(judged)

        self.fetch(
            arrived,
            step_judged_case,
            self.view,
            self.case.row,
            steps,
            self.suite_id,
            self.run_ids,
            self.pair,
            self.unjudged_only,
            group="case",
        )

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return action != "verdict" or self.pair is not None

    def action_verdict(self) -> None:
        from evaltui.tui.screens.verdict import VerdictModal

        pair, ledger_dir = self.pair, self.ledger_dir
        if pair is None or ledger_dir is None:
            self.notify(
                "verdicts judge the cases of a pair: open a run against the baseline",
                markup=False,
                timeout=4,
            )
            return
        modal = VerdictModal(
            self.case, run=pair[0], baseline=pair[1], ledger_dir=ledger_dir, routes=self.routes
        )
        self.app.push_screen(modal, self.verdict_recorded)

    def verdict_recorded(self, event: VerdictEvent | None) -> None:
        """Show the new verdict in the history (and tell the list underneath)."""
        if event is None:
            return
        if self.on_verdict is not None:
            self.on_verdict(event)
        else:
            self.review_app.notify(
                plain(f"{event.kind} on {event.case_id} recorded", limit=300),
                markup=False,
                timeout=3,
            )
        shown = self.shown
        if shown is not None and shown.case.case_id == event.case_id:
            self.fetch(
                lambda judged: self.show(judged, scroll_home=False),
                judge_shown,
                shown,
                self.pair,
                group="case",
            )

    def action_back(self) -> None:
        self.dismiss(self.case.row)

    def palette_commands(self) -> list[tuple[str, str, Callable[[], Any]]]:
        return [
            (
                "Next failure",
                "Show the next case the candidate got wrong",
                lambda: self.action_step(1),
            ),
            (
                "Previous failure",
                "Show the previous case the candidate got wrong",
                lambda: self.action_step(-1),
            ),
            ("Back to the cases", "Return to the list", self.action_back),
        ] + (
            [("Verdict", "Record a verdict on this case", self.action_verdict)] if self.pair else []
        )
