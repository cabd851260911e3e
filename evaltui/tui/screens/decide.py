"""The decide modal: a signed decision on the selected run, and where its files went.

Opening it prepares the decision in a worker (`decision.draft_for` on the app's review of the
experiment against the pinned baseline: the refusals, the eligible runs) and lists the signing keys
(`decision.available_keys`). The form asks for what the record needs: status, alias, rollback
target and limitation (both required), monitored invariants (default: the guardrails), an
override reason (only when the run is refused: incomparable, failing a guardrail, or flagged),
an explicit choice when several runs are eligible, the reviewer, the key and the output folder.

`ctrl+s` (or the button) checks, signs and writes in a worker (`build_record`, `signer`,
`sign_and_write`): a bad value comes back next to its field, a refusal asks for an override, a
protected key asks for its passphrase (a password field) and a wrong one says so. Nothing is
written until the signature is made; files are never overwritten. Afterwards the modal shows the
two files, the log line next to the store and the `ssh-keygen -Y verify` command that checks them.
The store is open read-only: the decision log is a JSON-lines file beside it, not in it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, ClassVar

import duckdb
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
from textual.widgets import Button, Checkbox, Input, Label, Select, Static

from evaltui.actions.signing import FieldProblem, chosen_signer, reviewer_for
from evaltui.decision.draft import CHOICE_KIND, DecisionDraft, Refusal, draft_for
from evaltui.decision.files import DecisionExists
from evaltui.decision.keys import (
    KeyChoice,
    available_keys,
)
from evaltui.decision.log import LoggedDecision, log_path_for_store, read_log
from evaltui.decision.record import (
    DEFAULT_ALIAS,
    DEFAULT_STATUS,
    DecisionChoices,
    DecisionRefused,
    InvalidChoice,
    UnknownRollback,
    build_record,
    check_choices,
)
from evaltui.decision.sshsig import keygen_verify_command
from evaltui.decision.writer import WrittenDecision, sign_and_write
from evaltui.errors import EvaltuiError
from evaltui.review.report import Review
from evaltui.store.connection import TeamOrigin
from evaltui.tui.app import SIGNING_OFF
from evaltui.tui.pair_actions import PairContext
from evaltui.tui.screens.base import ReviewModal
from evaltui.tui.text import plain, safe
from evaltui.tui.widgets.safe_input import SafeInput

KEY_FILE = "file"  # the key picker's "type a key file's path" entry
LOADING = "loading"  # the key picker's only entry until the keys are listed
INVARIANT_SEPARATOR = ";"
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


@dataclass(frozen=True, slots=True)
class DecideData:
    """What the form is built from (worker side)."""

    draft: DecisionDraft
    keys: tuple[KeyChoice, ...]
    verdict: str | None  # the run's paired verdict against the baseline
    past: tuple[LoggedDecision, ...]  # earlier decisions on this run, from the log


def load_decide(
    con: duckdb.DuckDBPyConnection, review: Review, run_id: str, log_path: Path
) -> DecideData:
    """The draft from the pinned review (the store is read-only while the app is open, so it is
    what a new review would say), the signing keys and the run's past decisions (worker side)."""
    del con
    draft = draft_for(review, run_id)
    paired = draft.run.paired
    verdict = paired.verdict if paired is not None and paired.n else None
    try:
        entries, _problems = read_log(log_path)
    except EvaltuiError:
        entries = []
    past = tuple(e for e in entries if e.entry.get("source_run_id") == run_id)
    return DecideData(draft, tuple(available_keys()), verdict, past)


@dataclass(frozen=True, slots=True)
class SignRequest:
    draft: DecisionDraft
    choices: DecisionChoices
    key: KeyChoice | None  # None: the key file `key_path`
    key_path: Path | None
    passphrase: str | None
    out_dir: Path
    log_path: Path
    team: TeamOrigin | None = None  # a team store's cache: record its snapshot, log it there


@dataclass(frozen=True, slots=True)
class SignOutcome:
    """A written decision, or the problem and the form field it belongs to (None: the form)."""

    written: WrittenDecision | None = None
    doc: Mapping[str, Any] | None = None
    field: str | None = None
    message: str = ""
    refusals: tuple[Refusal, ...] = ()
    unknown_rollback: bool = False  # the rollback target needs the "outside the store" tick


def key_label(key: KeyChoice, home: Path | None = None) -> str:
    """What the key picker shows: where the key is, its type, whether it needs a passphrase,
    its comment and fingerprint (last, so a narrow form cuts the least useful part)."""
    if key.path is None:
        where = "ssh-agent"
    else:
        where = str(key.path)
        base = str(home or Path.home())
        if where.startswith(base + os.sep):
            where = "~" + where[len(base) :]
    public = key.public_key
    bits = public.bits()
    notes = [
        n for n, on in (("passphrase", key.needs_passphrase), ("in agent", key.in_agent)) if on
    ]
    parts = [where, f"{public.short_type}{f' {bits}' if bits else ''}"]
    if notes:
        parts.append(f"({', '.join(notes)})")
    if public.comment:
        parts.append(public.comment)
    parts.append(public.fingerprint)
    return "  ".join(parts)


def _field_message(exc: InvalidChoice) -> str:
    return exc.message.removeprefix(f"{exc.field}: ")


def sign_decision(con: duckdb.DuckDBPyConnection, request: SignRequest) -> SignOutcome:
    """Check the choices, load the key, sign and write (worker side; `con` is not needed)."""
    del con
    draft, choices = request.draft, request.choices
    try:  # refuse before asking for a passphrase
        check_choices(draft, choices)
    except UnknownRollback as exc:
        return SignOutcome(
            field=exc.field,
            message=f"{exc.name!r} is not the artifact of any run in this experiment: check the "
            "name, or tick the box below if it really is outside the store",
            unknown_rollback=True,
        )
    except InvalidChoice as exc:
        return SignOutcome(field=exc.field, message=_field_message(exc))
    except DecisionRefused as exc:
        if any(r.kind == CHOICE_KIND for r in exc.refusals):
            return SignOutcome(
                field="choice",
                message="tick the box (space) to choose this run explicitly; the other eligible "
                "runs are recorded as considered",
                refusals=exc.refusals,
            )
        return SignOutcome(field="override", message=exc.hint, refusals=exc.refusals)
    try:
        signer = chosen_signer(request.key, request.key_path, request.passphrase)
        reviewer = reviewer_for(choices.reviewer, signer)
    except FieldProblem as problem:
        return SignOutcome(field=problem.field, message=problem.message)
    try:
        team = request.team
        record = build_record(
            draft,
            replace(choices, reviewer=reviewer),
            team_store=None if team is None else {"uri": team.uri, "snapshots": team.snapshots},
        )
        written = sign_and_write(
            record, signer, request.out_dir, log_path=None if team else request.log_path
        )
        if team is not None:  # the team's shared log, as `evaltui decide --store URI` does
            from evaltui.actions.team import log_decision

            try:
                log_decision(team.target or team.uri, record, written)
            except EvaltuiError as exc:
                warning = f"decision written, but not logged in the team store: {exc}"
                written = replace(written, warnings=(*written.warnings, warning))
    except InvalidChoice as exc:
        return SignOutcome(field=exc.field, message=_field_message(exc))
    except DecisionExists as exc:
        return SignOutcome(field="out", message=str(exc))
    except EvaltuiError as exc:
        path = getattr(exc, "path", None)
        field = "out" if path is not None and Path(path) == request.out_dir else None
        return SignOutcome(field=field, message=" / ".join(exc.lines()))
    return SignOutcome(written=written, doc=record.doc)


def verify_command(written: WrittenDecision) -> str:
    """The plain-OpenSSH check of the written files."""
    return keygen_verify_command(written.reviewer, written.sig_path, written.json_path)


def parse_invariants(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(INVARIANT_SEPARATOR) if part.strip())


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


class DecideModal(ReviewModal[WrittenDecision | None]):
    """The decide form for the run a pair screen was on; returns the written decision or None."""

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
        Binding(
            "f1,question_mark",
            "app.help",
            "help",
            key_display="F1",
            tooltip="every key of this form (? types a question mark in a text field)",
            id="help",
        ),
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
        self._auto_reviewer = ""
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
        widget: Widget
        if name == "key":
            widget = Select[str](
                [(Text("looking for keys…"), LOADING)],
                id="field-key",
                allow_blank=False,
                compact=True,
            )
        elif name == "rollback_artifact":
            # no select-all on focus: text typed while the draft loaded is inserted as the
            # field takes focus, and selecting it would let the next key replace it
            widget = CompletingInput(
                id="field-rollback_artifact", compact=True, select_on_focus=False
            )
        else:
            widget = SafeInput(id=f"field-{name}", compact=True, password=name == "passphrase")
        with Horizontal(classes="field", id=f"row-{name}"):
            yield Label(label, classes="field-label")
            yield widget
        yield Static(classes="field-error", id=f"error-{name}")
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
        for name in ("override", "key_file", "passphrase"):
            self.query_one(f"#row-{name}").display = False
        self.query_one("#decide-body").disabled = True
        self.fetch(self.prepared, load_decide, self.context.review, self.run.run_id, self.log_path)

    def input(self, name: str) -> Input:
        return self.query_one(f"#field-{name}", Input)

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
        self.input("reviewer").placeholder = "your principal in allowed_signers"
        here = str(Path.cwd())
        self.input("out").value = here if plain(here) == here else "."
        self.input("key_file").placeholder = "path of an SSH private key (or a .pub in ssh-agent)"
        options: list[tuple[Text, str]] = [
            (safe(key_label(k), limit=200), str(i)) for i, k in enumerate(data.keys)
        ]
        options.append((Text("a key file (type its path below)"), KEY_FILE))
        select = self.query_one("#field-key", Select)
        select.set_options(options)
        configured = self.review_app.settings.signing_key  # config file, EVALTUI_SIGNING_KEY
        env_key = str(configured) if configured else ""
        if env_key:
            self.input("key_file").value = env_key
        select.value = "0" if data.keys and not env_key else KEY_FILE
        self.key_changed()
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
            past = Text(f"{len(data.past)} earlier decision(s) on this run; the latest: ")
            past.append_text(
                safe(f"{last.get('decided_at')} {last.get('status')} ({data.past[-1].state})")
            )
            past.append(" (L on the runs screen lists every decision)")
            parts.append(past)
        return Group(*parts)

    # -- keys -----------------------------------------------------------------------------------

    def selected_key(self) -> KeyChoice | None:
        value = self.query_one("#field-key", Select).value
        if self.data is None or not isinstance(value, str) or value in (KEY_FILE, LOADING):
            return None
        return self.data.keys[int(value)]

    @on(Select.Changed, "#field-key")
    def key_changed(self) -> None:
        key = self.selected_key()
        self.query_one("#row-key_file").display = key is None
        self.query_one("#row-passphrase").display = key is not None and key.needs_passphrase
        self.input("passphrase").value = ""
        self.show_error("passphrase", "")
        reviewer = self.input("reviewer")
        suggested = self.review_app.settings.reviewer or (
            key.public_key.default_reviewer if key is not None else ""
        )
        if reviewer.value in ("", self._auto_reviewer):
            reviewer.value = suggested
            self._auto_reviewer = suggested

    # -- signing --------------------------------------------------------------------------------

    def show_error(self, field: str | None, message: str) -> None:
        target = self.query_one("#decide-error" if field is None else f"#error-{field}", Static)
        target.update(safe(message, limit=800, multiline=True) if message else "")
        target.display = bool(message)

    def clear_errors(self) -> None:
        for error in self.query(".field-error"):
            if isinstance(error, Static):
                error.update("")
                error.display = False

    def request(self) -> SignRequest | None:
        if self.data is None:
            return None
        draft = self.data.draft
        key = self.selected_key()
        key_path: Path | None = None
        if key is None:
            typed = self.input("key_file").value.strip()
            if not typed:
                self.show_error("key_file", "is required: the path of your SSH private key")
                self.input("key_file").focus()
                return None
            key_path = Path(typed).expanduser()
        out = self.input("out").value.strip()
        if not out:
            self.show_error("out", "is required: the folder the two files go to")
            self.input("out").focus()
            return None
        passphrase_row = self.query_one("#row-passphrase")
        passphrase = self.input("passphrase").value if passphrase_row.display else ""
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
            passphrase=passphrase or None,
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
