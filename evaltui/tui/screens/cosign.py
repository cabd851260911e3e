"""The co-sign modal: a second reviewer signs a logged decision, and where the signature went.

Opened from the past decisions list on the highlighted decision. It lists the signing keys in a
worker (`actions.cosign.list_keys`) and asks for the key, the reviewer (default: the settings',
else the key's comment) and, optionally, the allowed_signers file to check the decision against
first (default: the settings'); the key, passphrase and reviewer rows are the decide form's
(`SigningModal`). `ctrl+s` signs and writes in a worker (`actions.cosign.cosign_decision`: the
same steps as `evaltui cosign`); a refusal or a key problem comes back as one line next to its
field, a protected key asks for its passphrase. Afterwards the modal shows the new file and the
`ssh-keygen -Y verify` command that checks it."""

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
from textual.containers import Vertical
from textual.widgets import Input, Static

from evaltui.actions.cosign import CosignOutcome, CosignRequest, cosign_decision, list_keys
from evaltui.decision.cosign import CoSignature
from evaltui.decision.keys import KeyChoice
from evaltui.tui.app import SIGNING_OFF
from evaltui.tui.screens.base import FORM_HELP
from evaltui.tui.screens.signing import SigningModal
from evaltui.tui.text import safe

HINT = "tab / enter: next field · ^s co-signs · esc cancels"

FIELDS: tuple[tuple[str, str], ...] = (
    ("key", "signing key"),
    ("key_file", "key file"),
    ("passphrase", "passphrase"),
    ("reviewer", "reviewer *"),
    ("allowed", "allowed_signers"),
)


class CosignModal(SigningModal[CoSignature | None]):
    """Co-sign one decision file; returns the written co-signature or None."""

    FIELD_ID = "cosign-{}"
    ROW_ID = "cosign-row-{}"
    ERROR_ID = "cosign-error-{}"
    FORM_ERROR_ID = "cosign-error"

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
        FORM_HELP,
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
        self.written: CoSignature | None = None
        self._signing = False

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog cosign"):
            yield Static(
                Text.assemble(("co-sign ", "bold"), safe(self.decision.name, limit=200)),
                id="cosign-title",
            )
            with Vertical(id="cosign-body"):
                for name, label in FIELDS:
                    yield from self.field_row(name, label)
                yield Static(id="cosign-error", classes="field-error")
            yield Static(id="cosign-result")
            yield Static(Text(HINT, style="dim"), id="cosign-hint")

    def on_mount(self) -> None:
        if not self.review_app.signing:
            self.app.notify(SIGNING_OFF, severity="warning", markup=False, timeout=6)
            self.dismiss(None)
            return
        self.query_one("#cosign-result").display = False
        self.hide_key_rows()
        self.input("allowed").placeholder = "optional: check the decision against this file first"
        allowed = self.review_app.settings.allowed_signers  # config file, EVALTUI_ALLOWED_SIGNERS
        self.input("allowed").value = str(allowed) if allowed else ""
        self.query_one("#cosign-body").disabled = True
        self.fetch(self.keys_found, list_keys, group="keys")

    def keys_found(self, keys: tuple[KeyChoice, ...]) -> None:
        self.keys_listed(keys)
        self.query_one("#cosign-body").disabled = False
        self.key_select().focus()

    def request(self) -> CosignRequest | None:
        chosen = self.chosen_key()
        if chosen is None:
            return None
        key, key_path, passphrase = chosen
        allowed = self.input("allowed").value.strip()
        return CosignRequest(
            decision=self.decision,
            key=key,
            key_path=key_path,
            passphrase=passphrase,
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
