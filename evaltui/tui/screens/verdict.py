"""The verdict form: a reviewer's judgment on one case of a pair, appended to their ledger.

Opened with `v` on the cases screen (on the highlighted case) and on the case screen. The kind
is one key while the kind row has the focus (`c` confirm, `w` waive, `r` relabel, `o` note; ←/→
go through them), and the focus then moves to the first field that kind needs. A relabel asks
for the route the suite should have expected (the pair's routes are suggested, → or tab accepts),
a waiver for an optional expiry date (YYYY-MM-DD). The reviewer defaults to the `reviewer`
setting, as in the decide form.

`enter` (or `ctrl+s`) records in a worker through `actions.verdicts.record_verdict`, the same
code as `evaltui verdict`: a refused value comes back as one line under its field and nothing is
written. The verdict goes to the reviewer's ledger file beside the store, never into the store,
which the app keeps open read-only. The modal returns the recorded event (None: cancelled).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path
from typing import Any, ClassVar

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.reactive import reactive
from textual.suggester import SuggestFromList
from textual.widget import Widget
from textual.widgets import Input, Label, Static

from evaltui.actions.cases import CaseRow
from evaltui.actions.judging import Recorded, record
from evaltui.actions.verdicts import KINDS, VerdictEvent, VerdictRequest
from evaltui.tui.screens.base import FORM_HELP, ReviewModal
from evaltui.tui.screens.decide import CompletingInput
from evaltui.tui.text import safe
from evaltui.tui.widgets.case_list import outcome_label
from evaltui.tui.widgets.safe_input import SafeInput

HINT = "c/w/r/o kind · enter records · tab next · esc cancels"
KIND_KEYS = {"confirm": "c", "waive": "w", "relabel": "r", "note": "o"}
KIND_HELP = {
    "confirm": "a real failure",
    "waive": "an accepted regression (reason required, an expiry optional)",
    "relabel": "the suite expects the wrong route (the right one and a reason required)",
    "note": "a remark for the history (reason required); it does not judge",
}
# (field, label) in form order; the names are those a recording error carries in `field`
FIELDS: tuple[tuple[str, str], ...] = (
    ("reason", "reason"),
    ("expected", "route *"),
    ("expires", "expires"),
    ("reviewer", "reviewer *"),
)
FIRST_FIELD = {"confirm": "reason", "waive": "reason", "relabel": "expected", "note": "reason"}


class KindChosen(Message):
    """The kind row changed; `move_on`: the reviewer picked it with its key (go to the fields)."""

    def __init__(self, kind: str, *, move_on: bool) -> None:
        super().__init__()
        self.kind = kind
        self.move_on = move_on


class KindPicker(Widget, can_focus=True):
    """The verdict's kind: one key each, or ←/→ through them. The chosen one is marked with ▸
    and reversed, so it reads without color."""

    HELP_NAME = "kind row"
    DEFAULT_CSS = """
    KindPicker { height: 1; width: 1fr; }
    KindPicker:focus { background: $boost; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "c",
            "pick('confirm')",
            "confirm",
            tooltip="kind confirm: a real failure",
            id="verdict_confirm",
        ),
        Binding(
            "w",
            "pick('waive')",
            "waive",
            tooltip="kind waive: an accepted regression (reason required, an expiry optional)",
            id="verdict_waive",
        ),
        Binding(
            "r",
            "pick('relabel')",
            "relabel",
            tooltip="kind relabel: the suite expects the wrong route (the right one and a reason)",
            id="verdict_relabel",
        ),
        Binding(
            "o",
            "pick('note')",
            "note",
            tooltip="kind note: a remark for the history (reason required); it does not judge",
            id="verdict_note",
        ),
        Binding(
            "right,l", "cycle(1)", "next kind", show=False, tooltip="the next kind", id="next_kind"
        ),
        Binding(
            "left,h",
            "cycle(-1)",
            "previous kind",
            show=False,
            tooltip="the previous kind",
            id="previous_kind",
        ),
    ]

    kind: reactive[str | None] = reactive(None)

    def render(self) -> Text:
        text = Text()
        for i, kind in enumerate(KINDS):
            if i:
                text.append(" ")
            chosen = kind == self.kind
            text.append(
                f"{'▸' if chosen else ' '}{KIND_KEYS.get(kind, '?')} {kind}",
                style="bold reverse" if chosen else "",
            )
        return text

    def action_pick(self, kind: str) -> None:
        self.kind = kind
        self.post_message(KindChosen(kind, move_on=True))

    def action_cycle(self, step: int) -> None:
        index = KINDS.index(self.kind) if self.kind in KINDS else (-1 if step > 0 else 0)
        self.kind = KINDS[(index + step) % len(KINDS)]
        self.post_message(KindChosen(self.kind, move_on=False))


class VerdictModal(ReviewModal[VerdictEvent | None]):
    """The verdict form for one case of a (candidate, baseline) pair."""

    HELP_TITLE = "verdict"
    HELP_TEXT = (
        "A verdict judges one case of this pair: confirm (a real failure), waive (an accepted "
        "regression: reason required, an expiry date optional), relabel (the suite expected the "
        "wrong route: the right route and a reason required) or note (a remark; it does not "
        "judge). It is appended to your ledger, `.evaltui/verdicts/REVIEWER.jsonl` beside the "
        "store; a later verdict of yours on the same case supersedes this one, which stays in "
        "the history. The reviewer names the ledger file (default: the `reviewer` setting)."
    )
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "escape",
            "close",
            "cancel",
            key_display="esc",
            tooltip="close without recording",
            id="cancel",
        ),
        Binding(
            "ctrl+s",
            "record",
            "record",
            key_display="^s",
            tooltip="record the verdict in your ledger (enter in a field does it too)",
            id="record_verdict",
        ),
        FORM_HELP,
    ]
    AUTO_FOCUS = "KindPicker"

    def __init__(
        self,
        case: CaseRow,
        *,
        run: str,
        baseline: str,
        ledger_dir: Path,
        routes: Sequence[str] = (),
    ) -> None:
        super().__init__()
        self.case = case
        self.run = run
        self.baseline = baseline
        self.ledger_dir = ledger_dir
        self.routes = sorted({r for r in routes if r})
        self._recording = False

    # -- layout ---------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        case = self.case
        with Vertical(classes="dialog verdict"):
            yield Static(
                Text.assemble(
                    ("verdict on ", "bold"),
                    safe(case.case_id, "bold", limit=60),
                    "  ",
                    safe(self.run, limit=40),
                    " vs ",
                    safe(self.baseline, limit=40),
                ),
                id="verdict-title",
            )
            yield Static(
                Text.assemble(
                    ("expected ", "dim"),
                    safe(case.expected_route, "bold", limit=30),
                    ("  baseline ", "dim"),
                    safe(
                        "(none)" if case.baseline_route is None else case.baseline_route, limit=30
                    ),
                    ("  candidate ", "dim"),
                    safe("(none)" if case.route is None else case.route, limit=30),
                    f"  {outcome_label(case, paired=True)}",
                ),
                id="verdict-case",
            )
            with Horizontal(classes="field", id="verdict-row-kind"):
                yield Label("kind *", classes="field-label")
                yield KindPicker(id="verdict-kind")
            yield Static(id="verdict-kind-help")
            yield Static(classes="field-error", id="verdict-error-kind")
            for name, label in FIELDS:
                yield from self._field(name, label)
            yield Static(id="verdict-error", classes="field-error")
            yield Static(Text(HINT, style="dim"), id="verdict-hint")

    def _field(self, name: str, label: str) -> ComposeResult:
        widget: Input
        if name == "expected":
            widget = CompletingInput(
                id="verdict-expected",
                compact=True,
                suggester=SuggestFromList(self.routes, case_sensitive=True),
            )
        else:
            widget = SafeInput(id=f"verdict-{name}", compact=True)
        with Horizontal(classes="field", id=f"verdict-row-{name}"):
            yield Label(label, classes="field-label")
            yield widget
        yield Static(classes="field-error", id=f"verdict-error-{name}")

    def on_mount(self) -> None:
        self.input("expected").placeholder = "the route the suite should expect"
        self.input("expires").placeholder = "YYYY-MM-DD, optional: the waiver lapses after it"
        self.input("reviewer").placeholder = "your reviewer id (names your ledger file)"
        self.input("reviewer").value = self.review_app.settings.reviewer or ""
        self.show_kind(None)

    def input(self, name: str) -> Input:
        return self.query_one(f"#verdict-{name}", Input)

    @property
    def picker(self) -> KindPicker:
        return self.query_one(KindPicker)

    def show_kind(self, kind: str | None) -> None:
        """Show the fields `kind` takes: the route for a relabel, the expiry for a waiver."""
        self.query_one("#verdict-row-expected").display = kind == "relabel"
        self.query_one("#verdict-row-expires").display = kind == "waive"
        for name in ("expected", "expires"):
            if not self.query_one(f"#verdict-row-{name}").display:
                self.show_error(name, "")
        reason = self.input("reason")
        reason.placeholder = "why (optional)" if kind == "confirm" else "why (required)"
        help_line = self.query_one("#verdict-kind-help", Static)
        help_line.update(Text(KIND_HELP[kind]) if kind in KIND_HELP else Text("choose one"))

    @on(KindChosen)
    def kind_chosen(self, event: KindChosen) -> None:
        event.stop()
        self.show_error("kind", "")
        self.show_kind(event.kind)
        if event.move_on:
            self.input(FIRST_FIELD.get(event.kind, "reason")).focus()

    # -- errors ---------------------------------------------------------------------------------

    def show_error(self, field: str | None, message: str) -> None:
        known = field in ("kind", *(name for name, _ in FIELDS))
        self.put_error(f"verdict-error-{field}" if known else "verdict-error", message)

    def focus_field(self, field: str | None) -> None:
        if field == "kind":
            self.picker.focus()
        elif field in {name for name, _ in FIELDS}:
            self.input(field).focus()

    # -- recording ------------------------------------------------------------------------------

    def request(self) -> VerdictRequest | None:
        """The form as a request, or None after showing what is wrong in the form itself."""
        kind = self.picker.kind
        if kind is None:
            self.show_error("kind", "choose a kind: c confirm, w waive, r relabel, o note")
            self.picker.focus()
            return None
        expires: date | None = None
        typed = self.input("expires").value.strip() if kind == "waive" else ""
        if typed:
            try:
                expires = date.fromisoformat(typed)
            except ValueError:
                self.show_error("expires", f"{typed!r} is not a date: write YYYY-MM-DD")
                self.input("expires").focus()
                return None
        expected = self.input("expected").value.strip() if kind == "relabel" else ""
        return VerdictRequest(
            run=self.run,
            baseline=self.baseline,
            case_id=self.case.case_id,
            kind=kind,
            reviewer=self.input("reviewer").value.strip(),
            reason=self.input("reason").value.strip(),
            expected=expected or None,
            expires=expires,
        )

    def action_record(self) -> None:
        if self._recording:
            return
        self.clear_errors()
        request = self.request()
        if request is None:
            return
        self._recording = True
        self.query_one("#verdict-hint", Static).update(Text("recording…", "italic"))
        self.fetch(self.recorded, record, self.ledger_dir, request, group="record")

    def fetch_failed(self, error: BaseException | None) -> None:
        self._recording = False
        self.query_one("#verdict-hint", Static).update(Text(HINT, style="dim"))

    def recorded(self, outcome: Recorded) -> None:
        self._recording = False
        self.query_one("#verdict-hint", Static).update(Text(HINT, style="dim"))
        if outcome.event is None:
            self.show_error(outcome.field, outcome.message)
            self.focus_field(outcome.field)
            return
        self.dismiss(outcome.event)

    @on(Input.Submitted)
    def submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_record()

    def on_key(self, event: events.Key) -> None:
        if event.key == "enter" and self.picker.has_focus:
            event.stop()
            self.action_record()

    def action_close(self) -> None:
        self.dismiss(None)

    def palette_commands(self) -> list[tuple[str, str, Callable[[], Any]]]:
        return [("Record the verdict", "Append it to your ledger", self.action_record)]
