"""The co-sign modal: a second reviewer signs a logged decision, and where the signature went.

Opened from the past decisions list on the highlighted decision. It lists the signing keys in a
worker (`decision.available_keys`, as the decide form does) and asks for the key, the reviewer
(default: $EVALTUI_REVIEWER, else the key's comment) and, optionally, the allowed_signers file
to check the decision against first (default: $EVALTUI_ALLOWED_SIGNERS). `ctrl+s` signs and writes
in a worker through `decision.cosign.cosign` (the same code as `evaltui cosign`); a refusal or a
key problem comes back as one line next to its field, a protected key asks for its passphrase.
Afterwards the modal shows the new file and the `ssh-keygen -Y verify` command that checks it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widget import Widget
from textual.widgets import Input, Label, Select, Static

from evaltui.actions.cosign import CosignOutcome, CosignRequest, cosign_decision, list_keys
from evaltui.decision.cosign import CoSignature
from evaltui.decision.keys import KeyChoice
from evaltui.tui.app import SIGNING_OFF
from evaltui.tui.screens.base import ReviewModal
from evaltui.tui.screens.decide import KEY_FILE, LOADING, key_label
from evaltui.tui.text import safe
from evaltui.tui.widgets.safe_input import SafeInput

HINT = "tab / enter: next field · ^s co-signs · esc cancels"

FIELDS: tuple[tuple[str, str], ...] = (
    ("key", "signing key"),
    ("key_file", "key file"),
    ("passphrase", "passphrase"),
    ("reviewer", "reviewer *"),
    ("allowed", "allowed_signers"),
)


class CosignModal(ReviewModal[CoSignature | None]):
    """Co-sign one decision file; returns the written co-signature or None."""

    DEFAULT_CSS = """
    CosignModal .dialog.cosign {
        width: 100;
        height: auto;
        max-height: 100%;
        padding: 0 1;
    }
    CosignModal #cosign-title, CosignModal #cosign-hint {
        height: 1;
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }
    CosignModal #cosign-body, CosignModal #cosign-result {
        height: auto;
    }
    """
    HELP_TITLE = "co-sign"
    HELP_TEXT = (
        "Adds your signature to the decision as NAME.decision.json.REVIEWER.sig beside it; the "
        "decision's bytes do not change and no file is ever replaced. The reviewer is the "
        "principal your key is listed under in the deployer's allowed_signers (default: the "
        "key's comment). With an allowed_signers file, the decision's own signature must verify "
        "and your key must be listed for you before anything is signed. The run's author, the "
        "decider and a key that already signed are refused: they would not count toward "
        "`evaltui verify --quorum K`."
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
            "co-sign",
            key_display="^s",
            tooltip="sign the decision's bytes with the chosen key and write the signature file",
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
    ]

    def __init__(self, decision: Path) -> None:
        super().__init__()
        self.decision = decision
        self.keys: tuple[KeyChoice, ...] | None = None
        self.written: CoSignature | None = None
        self._signing = False
        self._auto_reviewer = ""

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog cosign"):
            yield Static(
                Text.assemble(("co-sign ", "bold"), safe(self.decision.name, limit=200)),
                id="cosign-title",
            )
            with Vertical(id="cosign-body"):
                for name, label in FIELDS:
                    yield from self._field(name, label)
                yield Static(id="cosign-error", classes="field-error")
            yield Static(id="cosign-result")
            yield Static(Text(HINT, style="dim"), id="cosign-hint")

    def _field(self, name: str, label: str) -> ComposeResult:
        widget: Widget
        if name == "key":
            widget = Select[str](
                [(Text("looking for keys…"), LOADING)],
                id="cosign-key",
                allow_blank=False,
                compact=True,
            )
        else:
            widget = SafeInput(id=f"cosign-{name}", compact=True, password=name == "passphrase")
        with Horizontal(classes="field", id=f"cosign-row-{name}"):
            yield Label(label, classes="field-label")
            yield widget
        yield Static(classes="field-error", id=f"cosign-error-{name}")

    def on_mount(self) -> None:
        if not self.review_app.signing:
            self.app.notify(SIGNING_OFF, severity="warning", markup=False, timeout=6)
            self.dismiss(None)
            return
        self.query_one("#cosign-result").display = False
        for name in ("key_file", "passphrase"):
            self.query_one(f"#cosign-row-{name}").display = False
        self.input("reviewer").placeholder = "your principal in allowed_signers"
        self.input("allowed").placeholder = "optional: check the decision against this file first"
        allowed = self.review_app.settings.allowed_signers  # config file, EVALTUI_ALLOWED_SIGNERS
        self.input("allowed").value = str(allowed) if allowed else ""
        self.input("key_file").placeholder = "path of an SSH private key (or a .pub in ssh-agent)"
        self.query_one("#cosign-body").disabled = True
        self.fetch(self.keys_listed, list_keys, group="keys")

    def input(self, name: str) -> Input:
        return self.query_one(f"#cosign-{name}", Input)

    def keys_listed(self, keys: tuple[KeyChoice, ...]) -> None:
        self.keys = keys
        options: list[tuple[Text, str]] = [
            (safe(key_label(k), limit=200), str(i)) for i, k in enumerate(keys)
        ]
        options.append((Text("a key file (type its path below)"), KEY_FILE))
        select = self.query_one("#cosign-key", Select)
        select.set_options(options)
        configured = self.review_app.settings.signing_key  # config file, EVALTUI_SIGNING_KEY
        env_key = str(configured) if configured else ""
        if env_key:
            self.input("key_file").value = env_key
        select.value = "0" if keys and not env_key else KEY_FILE
        self.key_changed()
        self.query_one("#cosign-body").disabled = False
        select.focus()

    def selected_key(self) -> KeyChoice | None:
        value = self.query_one("#cosign-key", Select).value
        if self.keys is None or not isinstance(value, str) or value in (KEY_FILE, LOADING):
            return None
        return self.keys[int(value)]

    @on(Select.Changed, "#cosign-key")
    def key_changed(self) -> None:
        key = self.selected_key()
        self.query_one("#cosign-row-key_file").display = key is None
        self.query_one("#cosign-row-passphrase").display = key is not None and key.needs_passphrase
        self.input("passphrase").value = ""
        reviewer = self.input("reviewer")
        suggested = self.review_app.settings.reviewer or (
            key.public_key.default_reviewer if key is not None else ""
        )
        if reviewer.value in ("", self._auto_reviewer):
            reviewer.value = suggested
            self._auto_reviewer = suggested

    def show_error(self, field: str | None, message: str) -> None:
        target = self.query_one(
            "#cosign-error" if field is None else f"#cosign-error-{field}", Static
        )
        target.update(safe(message, limit=800, multiline=True) if message else "")
        target.display = bool(message)

    def clear_errors(self) -> None:
        for error in self.query(".field-error"):
            if isinstance(error, Static):
                error.update("")
                error.display = False

    def request(self) -> CosignRequest | None:
        key = self.selected_key()
        key_path: Path | None = None
        if key is None:
            typed = self.input("key_file").value.strip()
            if not typed:
                self.show_error("key_file", "is required: the path of your SSH private key")
                self.input("key_file").focus()
                return None
            key_path = Path(typed).expanduser()
        passphrase_row = self.query_one("#cosign-row-passphrase")
        passphrase = self.input("passphrase").value if passphrase_row.display else ""
        allowed = self.input("allowed").value.strip()
        return CosignRequest(
            decision=self.decision,
            key=key,
            key_path=key_path,
            passphrase=passphrase or None,
            reviewer=self.input("reviewer").value,
            allowed_signers=Path(allowed).expanduser() if allowed else None,
        )

    def action_sign(self) -> None:
        if self.keys is None or self._signing or self.written is not None:
            return
        self.clear_errors()
        request = self.request()
        if request is None:
            return
        self._signing = True
        self.query_one("#cosign-hint", Static).update(Text("signing…", "italic"))
        self.fetch(self.signed, cosign_decision, request, group="sign")

    def fetch_failed(self, error: BaseException | None) -> None:
        self._signing = False
        self.query_one("#cosign-hint", Static).update(Text(HINT, style="dim"))

    def signed(self, outcome: CosignOutcome) -> None:
        self._signing = False
        self.query_one("#cosign-hint", Static).update(Text(HINT, style="dim"))
        if outcome.written is None:
            field = outcome.field
            if field == "passphrase":
                self.query_one("#cosign-row-passphrase").display = True
            self.show_error(field, outcome.message)
            if field is not None:
                target = "#cosign-key" if field == "key" else f"#cosign-{field}"
                self.query_one(target).focus()
            return
        self.written = outcome.written
        self.show_written(outcome.written)

    def show_written(self, written: CoSignature) -> None:
        self.query_one("#cosign-body").display = False
        grid = Table.grid(padding=(0, 1))
        grid.add_column(style="bold", no_wrap=True)
        grid.add_column(overflow="fold")
        grid.add_row("wrote", safe(written.sig_path, limit=2000))
        grid.add_row(
            "signed as",
            safe(
                f"{written.reviewer} with {written.signer_key_type} "
                f"{written.signer_fingerprint} ({written.signer_source})",
                limit=2000,
            ),
        )
        grid.add_row("signatures", safe(f"{written.signatures} signature files now"))
        check = Text("check it with plain OpenSSH:\n")
        check.append_text(safe(written.check_command, "bold", limit=2000))
        result = self.query_one("#cosign-result", Static)
        result.update(Group(Text("CO-SIGNED", style="bold"), grid, check))
        result.display = True
        self.query_one("#cosign-hint", Static).update(
            Text("enter / esc close · y copies the check command", "dim")
        )
        self.set_focus(None)

    @on(Input.Submitted)
    def next_field(self, event: Input.Submitted) -> None:
        event.stop()
        if event.input.id in ("cosign-passphrase", "cosign-allowed"):
            self.action_sign()
        else:
            self.focus_next()

    def on_key(self, event: events.Key) -> None:
        if self.written is not None and event.key == "enter":
            event.stop()
            self.action_close()

    def action_close(self) -> None:
        self.dismiss(self.written)

    def action_copy_command(self) -> None:
        if self.written is not None:
            self.app.copy_to_clipboard(self.written.check_command)
            self.notify("copied the ssh-keygen check command", markup=False, timeout=3)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "copy_command":
            return self.written is not None
        if action == "sign":
            return self.written is None
        return True

    def palette_commands(self) -> list[tuple[str, str, Callable[[], Any]]]:
        if self.written is not None:
            return [("Copy the check command", "ssh-keygen -Y verify …", self.action_copy_command)]
        return [("Co-sign", "Sign the decision with the chosen key", self.action_sign)]
