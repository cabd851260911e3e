"""One case, everything about it: every field the suite froze it with, and what the baseline and
the candidate produced (route, score, latency, tokens, output, metadata), literally.

Outputs and metadata are untrusted: they are shown through `safe()` (control characters and bidi
overrides as visible placeholders, markup never parsed), keeping their line breaks. `n`/`N` step
to the next or previous failure of the list underneath without leaving the screen; `esc` returns
to the list, with its cursor on the case shown last.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, ClassVar

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Static

from evaltui.actions.cases import CaseRow, Shown, load_case, step_case
from evaltui.store.queries import RunInfo
from evaltui.store.queries_case_pages import CaseView
from evaltui.store.queries_cases import CaseResult
from evaltui.tui.screens.base import ReviewScreen
from evaltui.tui.text import NONE, number, safe
from evaltui.tui.widgets.case_list import outcome_label
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


def case_view(shown: Shown, runs: list[RunInfo], paired: bool, width: int) -> RenderableType:
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
        "never applied."
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
    ]
    AUTO_FOCUS = "#case-body"

    def __init__(
        self, view: CaseView, case: CaseRow, *, suite_id: str, runs: list[RunInfo], paired: bool
    ) -> None:
        super().__init__()
        self.view = view
        self.case = case
        self.suite_id = suite_id
        self.runs = runs
        self.paired = paired
        self.shown: Shown | None = None
        self._stepping = False

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
        return Text.assemble(
            ("case ", "bold"),
            safe(case.case_id, "bold", limit=60),
            f"  · {case.row + 1:,} of {self.view.total:,}",
            "  · ",
            (outcome, "bold"),
        )

    def on_mount(self) -> None:
        self.fetch(self.show, load_case, self.case, self.suite_id, self.run_ids, group="case")

    def action_copy_case(self) -> None:
        self.copy_id("case id", self.case.case_id)

    def show(self, shown: Shown | None) -> None:
        self._stepping = False
        if shown is None:
            return
        self.shown = shown
        self.case = shown.case
        self.query_one("#case-title", Static).update(self.title_text())
        self.render_case()
        self.query_one("#case-body", ScrollPane).scroll_home(animate=False)

    def render_case(self) -> None:
        if self.shown is not None:
            width = self.size.width or 80
            self.query_one("#case-content", Static).update(
                case_view(self.shown, self.runs, self.paired, width)
            )

    def on_resize(self) -> None:
        self.render_case()

    def fetch_failed(self, error: BaseException | None) -> None:
        self._stepping = False

    def action_step(self, steps: int) -> None:
        if self._stepping:
            return
        self._stepping = True

        def arrived(shown: Shown | None) -> None:
            if shown is None:
                self._stepping = False
                self.notify(
                    f"no failure {'after' if steps > 0 else 'before'} this case",
                    markup=False,
                    timeout=3,
                )
            else:
                self.show(shown)

        self.fetch(
            arrived,
            step_case,
            self.view,
            self.case.row,
            steps,
            self.suite_id,
            self.run_ids,
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
        ]
