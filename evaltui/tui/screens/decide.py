"""The decide modal: a signed decision on the selected run, and where its files went.

Only the widgets live here; the steps are `evaltui.actions.decide`, the same ones the CLI's
`decide` runs. Opening the form reads every reviewer's verdict ledger and runs `load_decide` in a
worker (`actions.judging.load_judged_decide`: the draft from the app's review of the experiment
against the pinned baseline with the pair's waivers and relabels, the status before and after
them; the refusals, the eligible runs; the signing keys; the run's past decisions). The form asks for what the record needs: status, alias, rollback target and
limitation (both required), monitored invariants (default: the guardrails), an override reason
(only when the run is refused: incomparable, failing a guardrail, or flagged), an explicit choice
when several runs are eligible, the reviewer, the key and the output folder.

`ctrl+s` (or the button) runs `sign_decision` in a worker (check the choices, load the key, sign
and write): a bad value comes back next to its field, a refusal asks for an override, a
protected key asks for its passphrase (a password field) and a wrong one says so. Nothing is
written until the signature is made; files are never overwritten. Afterwards the modal shows the
two files, the log line next to the store and the `ssh-keygen -Y verify` command that checks them.
The store is open read-only: the decision log is a JSON-lines file beside it, not in it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, ClassVar

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.suggester import SuggestFromList
from textual.widget import Widget
from textual.widgets import Button, Checkbox, Input, Select, Static

from evaltui.actions.decide import (
    INVARIANT_SEPARATOR,
    DecideData,
    SignOutcome,
    SignRequest,
    parse_invariants,
    sign_decision,
    verify_command,
)
from evaltui.actions.judging import load_judged_decide
from evaltui.actions.verdicts import ledger_dir_for
from evaltui.decision.log import log_path_for_store
from evaltui.decision.record import DEFAULT_ALIAS, DEFAULT_STATUS, DecisionChoices
from evaltui.decision.verdicts import WAIVERS_STATUS, VerdictEffect
from evaltui.decision.writer import WrittenDecision
from evaltui.plural import count
from evaltui.tui.app import SIGNING_OFF
from evaltui.tui.pair_actions import PairContext
from evaltui.tui.screens.base import FORM_HELP
from evaltui.tui.screens.signing import SigningModal
from evaltui.tui.text import number, plain, safe
from evaltui.tui.widgets.safe_input import SafeInput

TICKS = ("decide-explicit", "decide-external")

# (field, label) in form order; the field names are those `InvalidChoice.field` uses
FIELDS: tuple[tuple[str, str], ...] = (
    ("status", "status"),
    ("alias", "alias"),
    ("rollback_artifact", "rollback to *"),
    ("limitation", "limitation *"),
    ("monitored_invariants", "invariants"),
    ("override", "override *"),
    ("reviewer", "reviewer"),
    ("key", "signing key"),
    ("key_file", "key file"),
    ("passphrase", "passphrase"),
    ("out", "write to"),
)


def verdicts_line(effect: VerdictEffect) -> Text:
    """The pair's waivers and relabels and what they change: the status before and after, and
    each metric they move (`missed_escalation 9 → 1`)."""
    line = Text.assemble(
        ("verdicts ", "bold"),
        f"{count(len(effect.waivers), 'waiver')}, {count(len(effect.relabels), 'relabel')}: ",
        safe(effect.raw.status, limit=80),
        " before them, ",
        safe(effect.status, "bold", limit=80),
        " after",
    )
    if effect.status == WAIVERS_STATUS:
        line.append(" (a second reviewer must co-sign: verify --quorum 2)")
    moved = [
        f"{name} {number(before)} → {number(effect.metrics_after.get(name))}"
        for name, before in effect.metrics_raw.items()
        if before != effect.metrics_after.get(name)
    ]
    if moved:
        line.append(" · ")
        line.append_text(safe(" · ".join(moved), limit=400))
    return line


class FormBody(VerticalScroll, inherit_bindings=False):
    """The form's scroll area: focus moves with tab/enter and scrolls the field into view, so
    it needs none of VerticalScroll's own keys (which would only crowd the help)."""


class CompletingInput(SafeInput):
    """An input whose shown completion is accepted with tab as well as →; with no completion
    showing, tab moves to the next field as everywhere else."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("tab", "complete_or_next", "accept / next", show=False, id="complete"),
    ]

    @property
    def completion(self) -> str:
        """The rest of the shown suggestion ('' when none is showing)."""
        suggestion = self._suggestion
        if self.cursor_at_end and len(suggestion) > len(self.value):
            return suggestion[len(self.value) :]
        return ""

    def action_complete_or_next(self) -> None:
        if self.completion:
            self.action_cursor_right()
        else:
            self.screen.focus_next()


class Tick(Checkbox):
    """A checkbox whose state reads without color: `[x]` ticked, `[ ]` not (NO_COLOR safe)."""

    @property
    def _button(self) -> Content:
        return Content.assemble(("[x]" if self.value else "[ ]", "bold"))


class DecideModal(SigningModal[WrittenDecision | None]):
    """The decide form for the run a pair screen was on; returns the written decision or None."""

    FIELD_ID = "field-{}"
    ROW_ID = "row-{}"
    ERROR_ID = "error-{}"
    FORM_ERROR_ID = "decide-error"

    HELP_TITLE = "decide"
    HELP_TEXT = (
        "Fields marked * are required. The rollback target is what a deployment goes back to "
        "(the baseline's artifact is usually right; → or tab accepts a suggestion while typing); "
        "a name no run of the experiment has must be confirmed with the box that appears. "
        "Invariants are `metric OP number`, separated by ';' (default: the suite's guardrails); "
        "the canary rolls back when an observed value breaks one. A run that is not comparable "
        "with the baseline, fails a guardrail or has evidence flags needs an override reason, "
        "which is recorded in the file. With several eligible runs, tick the box to choose this "
        "one explicitly. The reviewer is the principal your key is listed under in the "
        "deployer's allowed_signers (default: the key's comment). Files are written as "
        "NAME.decision.json and NAME.decision.json.sig, never over existing files, and logged "
        "next to the store."
    )
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "escape",
            "close",
            "cancel",
            key_display="esc",
            tooltip="close without signing",
            id="cancel",
        ),
        Binding(
            "ctrl+s",
            "sign",
            "sign and write",
            key_display="^s",
            tooltip="check the form, sign with the chosen key and write the two files",
            id="sign",
        ),
        FORM_HELP,
        Binding(
            "y",
            "copy_command",
            "copy check",
            show=False,
            tooltip="copy the ssh-keygen check",
            id="copy_check",
        ),
        Binding(
            "L",
            "past_decisions",
            "past decisions",
            show=False,
            tooltip="close and list the past decisions (once signed)",
            id="decisions",
        ),
    ]

    def __init__(self, context: PairContext) -> None:
        super().__init__()
        self.context = context
        self.run = context.candidate
        self.baseline_id = context.baseline.run_id
        self.data: DecideData | None = None
        self.written: WrittenDecision | None = None
        self._signing = False
        self._typed_early = ""  # text typed before the form was ready: it goes to the first field
        self._prepared_values: tuple[object, ...] = ()  # the form as prepared (see form_values)
        self._discard_armed = False  # esc was pressed once on a half-filled form

    @property
    def log_path(self) -> Path:
        return log_path_for_store(self.review_app.store.path).absolute()

    # -- layout ---------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog decide"):
            yield Static(
                Text.assemble(
                    ("decide on ", "bold"),
                    safe(self.run.run_id, "bold", limit=60),
                    "  (baseline ",
                    safe(self.baseline_id, limit=40),
                    ")",
                ),
                id="decide-title",
            )
            with FormBody(id="decide-body"):
                yield Static(Text("preparing the decision…", style="italic"), id="decide-facts")
                yield Tick(id="decide-explicit", compact=True)
                yield Static(classes="field-error", id="error-choice")
                for name, label in FIELDS:
                    yield from self._field(name, label)
                yield Static(id="decide-error", classes="field-error")
                with Horizontal(id="decide-buttons"):
                    yield Button("sign and write (^s)", id="decide-sign", compact=True)
                    yield Button("cancel (esc)", id="decide-cancel", compact=True)
            yield Static(id="decide-result")
            yield Static(
                Text("* required · tab / enter: next field · ^s signs · esc cancels", style="dim"),
                id="decide-hint",
            )

    def _field(self, name: str, label: str) -> ComposeResult:
        widget: Widget | None = None
        if name == "rollback_artifact":
            # no select-all on focus: text typed while the draft loaded is inserted as the
            # field takes focus, and selecting it would let the next key replace it
            widget = CompletingInput(
                id="field-rollback_artifact", compact=True, select_on_focus=False
            )
        yield from self.field_row(name, label, widget)
        if name == "rollback_artifact":
            yield Tick(
                "outside the store: I confirm this rollback target",
                id="decide-external",
                compact=True,
            )

    def on_mount(self) -> None:
        if not self.review_app.signing:
            self.app.notify(SIGNING_OFF, severity="warning", markup=False, timeout=6)
            self.dismiss(None)
            return
        self.query_one("#decide-explicit").display = False
        self.query_one("#decide-external").display = False
        self.query_one("#decide-result").display = False
        self.query_one("#row-override").display = False
        self.hide_key_rows()
        self.query_one("#decide-body").disabled = True
        self.fetch(
            self.prepared,
            load_judged_decide,
            self.context.review,
            self.run.run_id,
            self.log_path,
            ledger_dir_for(self.review_app.store.path).absolute(),
        )

    # -- the prepared draft ---------------------------------------------------------------------

    def prepared(self, data: DecideData) -> None:
        self.data = data
        draft = data.draft
        self.query_one("#decide-facts", Static).update(self.facts(data))
        explicit = self.query_one("#decide-explicit", Checkbox)
        if draft.several_eligible:
            explicit.label = Text.assemble(
                "I choose ", safe(draft.run.run_id, limit=60), " explicitly"
            )
            explicit.display = True
        self.query_one("#row-override").display = draft.needs_override
        self.input("status").value = DEFAULT_STATUS
        self.input("alias").value = DEFAULT_ALIAS
        artifacts = [draft.suggested_rollback] + [
            r.run.artifact
            for r in draft.considered()
            if r.run.artifact not in (draft.suggested_rollback, draft.run.run.artifact)
        ]
        rollback = self.input("rollback_artifact")
        rollback.placeholder = f"e.g. {plain(draft.suggested_rollback, limit=60)} (the baseline's)"
        rollback.suggester = SuggestFromList(artifacts, case_sensitive=True)
        self.input("limitation").placeholder = "what the evidence does not support"
        self.input("monitored_invariants").value = f"{INVARIANT_SEPARATOR} ".join(
            draft.default_invariants
        )
        self.input("monitored_invariants").placeholder = "metric OP number; …"
        self.input("override").placeholder = "why decide despite the refusals above"
        here = str(Path.cwd())
        self.input("out").value = here if plain(here) == here else "."
        self.keys_listed(data.keys)
        self.query_one("#decide-body").disabled = False
        # the first text field takes focus even when the choice box shows: a space typed into
        # a focused tick would silently toggle it
        self.input("rollback_artifact").focus()
        self._prepared_values = self.form_values()
        if self._typed_early:  # the rollback target, the first field with text
            self.input("rollback_artifact").insert_text_at_cursor(self._typed_early)
        self._typed_early = ""

    def facts(self, data: DecideData) -> Group:
        """What the decision would rest on; refusals with a hanging indent, one per line."""
        draft = data.draft
        run = draft.run
        head = Text.assemble(
            ("artifact ", "bold"),
            safe(run.run.artifact, limit=80),
            " · ",
            ("review ", "bold"),
            safe(run.state_label, "" if run.eligible else "bold", limit=80),
            " · ",
            "comparable" if run.comparable else ("NOT COMPARABLE", "bold"),
        )
        if data.verdict is not None:
            head.append(" · vs baseline: ")
            head.append(data.verdict, style="bold" if data.verdict in ("better", "worse") else "")
        parts: list[RenderableType] = [head]
        effect = draft.verdicts
        if effect is not None and effect.applied:
            parts.append(verdicts_line(effect))
        if draft.refusals:
            parts.append(
                Text("REFUSED unless you write an override reason (it is recorded):", "bold")
            )
            refusals = Table.grid(padding=(0, 1))
            refusals.add_column(no_wrap=True)
            refusals.add_column(overflow="fold")
            for refusal in draft.refusals:
                refusals.add_row(" ✗", safe(f"{refusal.kind}: {refusal.message}", limit=600))
            parts.append(refusals)
        if draft.several_eligible:
            eligible = Text(f"{len(draft.eligible_run_ids)} runs are eligible: ", style="bold")
            eligible.append_text(safe(", ".join(draft.eligible_run_ids), limit=400))
            eligible.append(
                "; choose this one explicitly (the box below), the others are recorded."
            )
            parts.append(eligible)
        if data.past:
            last = data.past[-1].entry
            past = Text(f"{count(len(data.past), 'earlier decision')} on this run; the latest: ")
            past.append_text(
                safe(f"{last.get('decided_at')} {last.get('status')} ({data.past[-1].state})")
            )
            past.append(" (L on the runs screen lists every decision)")
            parts.append(past)
        return Group(*parts)

    # -- signing --------------------------------------------------------------------------------

    def request(self) -> SignRequest | None:
        if self.data is None:
            return None
        draft = self.data.draft
        chosen = self.chosen_key()
        if chosen is None:
            return None
        key, key_path, passphrase = chosen
        out = self.input("out").value.strip()
        if not out:
            self.show_error("out", "is required: the folder the two files go to")
            self.input("out").focus()
            return None
        explicit = self.query_one("#decide-explicit", Checkbox)
        choices = DecisionChoices(
            rollback_artifact=self.input("rollback_artifact").value,
            limitation=self.input("limitation").value,
            reviewer=self.input("reviewer").value.strip(),
            alias=self.input("alias").value,
            status=self.input("status").value,
            monitored_invariants=parse_invariants(self.input("monitored_invariants").value),
            override=self.input("override").value if draft.needs_override else None,
            chosen_explicitly=draft.several_eligible and explicit.value,
            rollback_external=self.query_one("#decide-external", Checkbox).value,
        )
        return SignRequest(
            draft=draft,
            choices=choices,
            key=key,
            key_path=key_path,
            passphrase=passphrase,
            out_dir=Path(out).expanduser(),
            log_path=self.log_path,
            team=self.review_app.store.team,
        )

    def action_sign(self) -> None:
        if self.data is None or self._signing or self.written is not None:
            return
        self.clear_errors()
        request = self.request()
        if request is None:
            return
        self._signing = True
        self.query_one("#decide-hint", Static).update(Text("checking and signing…", "italic"))
        self.fetch(self.signed, sign_decision, request, group="sign")

    def fetch_failed(self, error: BaseException | None) -> None:
        self._signing = False
        self.reset_hint()

    def reset_hint(self) -> None:
        self.query_one("#decide-hint", Static).update(
            Text("* required · tab / enter: next field · ^s signs · esc cancels", style="dim")
        )

    def signed(self, outcome: SignOutcome) -> None:
        self._signing = False
        self.reset_hint()
        if outcome.written is None:
            self.show_problem(outcome)
            return
        self.written = outcome.written
        self.show_written(outcome.written, outcome.doc or {})

    def show_problem(self, outcome: SignOutcome) -> None:
        field = outcome.field
        if outcome.unknown_rollback:
            self.query_one("#decide-external").display = True
        if field == "passphrase":
            self.query_one("#row-passphrase").display = True
        if field is not None and field not in {name for name, _ in FIELDS} | {"choice"}:
            field = None
        self.show_error(field, outcome.message)
        target = {
            None: None,
            "choice": "#decide-explicit",
            "key": "#field-key",
        }.get(field, f"#field-{field}")
        if target is not None:
            widget = self.query_one(target)
            widget.focus()
            widget.scroll_visible(animate=False)

    def show_written(self, written: WrittenDecision, doc: Mapping[str, Any]) -> None:
        self.query_one("#decide-body").display = False
        grid = Table.grid(padding=(0, 1))
        grid.add_column(style="bold", no_wrap=True)
        grid.add_column(overflow="fold")

        def row(label: str, value: object, style: str = "") -> None:
            grid.add_row(label, safe(value, style, limit=2000))

        row(
            "decided",
            f"{doc.get('source_run_id')} ({doc.get('artifact')}) -> {doc.get('alias')}, "
            f"{doc.get('status')}",
        )
        row("rollback", doc.get("rollback_artifact"))
        if doc.get("override"):
            row("OVERRIDE", doc.get("override"), "bold")
        row("decision", written.json_path)
        row("signature", written.sig_path)
        row("log", written.log_path if written.log_path is not None else "(not logged)")
        row(
            "signed as",
            f"{written.reviewer} with {written.signer_key_type} {written.signer_fingerprint} "
            f"({written.signer_source})",
        )
        for warning in written.warnings:
            row("⚠", warning, "bold")
        check = Text("check it with plain OpenSSH (allowed_signers lists the trusted keys):\n")
        check.append_text(safe(verify_command(written), "bold", limit=2000))
        result = self.query_one("#decide-result", Static)
        result.update(Group(Text("SIGNED AND WRITTEN", style="bold"), grid, Text(), check))
        result.display = True
        self.query_one("#decide-title", Static).update(
            Text.assemble(("decided: ", "bold"), safe(written.decision_id, limit=80))
        )
        self.query_one("#decide-hint", Static).update(
            Text("enter / esc close · y copies the check command · L lists past decisions", "dim")
        )
        self.set_focus(None)

    # -- keys and buttons -----------------------------------------------------------------------

    @on(Input.Changed)
    def edited(self, event: Input.Changed) -> None:
        if self._discard_armed:
            self._discard_armed = False
            self.reset_hint()
        if event.input.id == "field-rollback_artifact":
            # the tick confirmed one name: a changed name must be confirmed again
            self.query_one("#decide-external", Checkbox).value = False
            self.query_one("#decide-external").display = False

    @on(Input.Submitted)
    def next_field(self, event: Input.Submitted) -> None:
        event.stop()
        if event.input.id == "field-passphrase":
            self.action_sign()
        else:
            self.focus_next()

    @on(Button.Pressed, "#decide-sign")
    def sign_pressed(self) -> None:
        self.action_sign()

    @on(Button.Pressed, "#decide-cancel")
    def cancel_pressed(self) -> None:
        self.action_close()

    def form_values(self) -> tuple[object, ...]:
        """Everything the reviewer can change, to tell a half-filled form from an untouched one."""
        values: list[object] = [self.input(name).value for name, _ in FIELDS if name != "key"]
        values.append(self.query_one("#field-key", Select).value)
        values += [self.query_one(f"#{t}", Checkbox).value for t in TICKS]
        return tuple(values)

    def action_close(self) -> None:
        touched = self.data is not None and self.form_values() != self._prepared_values
        if self.written is None and touched and not self._discard_armed:
            # esc never throws a half-filled form away silently: a second esc does
            self._discard_armed = True
            self.query_one("#decide-hint", Static).update(
                Text("esc again discards what you typed · any other key keeps editing", "bold")
            )
            return
        self.dismiss(self.written)

    def action_copy_command(self) -> None:
        if self.written is not None:
            self.app.copy_to_clipboard(verify_command(self.written))
            self.notify("copied the ssh-keygen check command", markup=False, timeout=3)

    def action_past_decisions(self) -> None:
        from evaltui.tui.screens.decisions import DecisionsScreen

        app = self.app
        self.dismiss(self.written)
        app.call_later(app.push_screen, DecisionsScreen())

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("copy_command", "past_decisions"):
            return self.written is not None
        if action == "sign":
            return self.written is None
        return True

    def on_key(self, event: events.Key) -> None:
        if self._discard_armed and event.key != "escape":
            self._discard_armed = False
            self.reset_hint()
        if self.written is not None and event.key == "enter":
            event.stop()
            self.action_close()
        elif self.data is None and event.is_printable and event.character:
            # the form is disabled while its draft loads; keep what is typed instead of losing it
            event.stop()
            self._typed_early += event.character

    def palette_commands(self) -> list[tuple[str, str, Callable[[], Any]]]:
        if self.written is not None:
            return [("Copy the check command", "ssh-keygen -Y verify …", self.action_copy_command)]
        return [("Sign and write", "Check the form, sign and write", self.action_sign)]
