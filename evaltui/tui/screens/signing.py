"""The base of the decide and co-sign forms: the key picker, the key file, its passphrase and
the reviewer, laid out and behaving the same in both, and each problem shown under its field.

A form subclasses `SigningModal`, names its widget ids (`FIELD_ID`, `ROW_ID`, `ERROR_ID`:
format strings taking the field name; `FORM_ERROR_ID` for a problem of no field) and keeps the
rest of its own layout. It composes each row with `field_row`, calls `hide_key_rows` on mount,
`keys_listed` when its worker has listed the keys and `chosen_key` to read the signer's fields
into the worker's request.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar, TypeVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widget import Widget
from textual.widgets import Input, Label, Select, Static

from evaltui.decision.keys import KeyChoice
from evaltui.tui.screens.base import ReviewModal
from evaltui.tui.text import safe
from evaltui.tui.widgets.safe_input import SafeInput

T = TypeVar("T")

KEY_FILE = "file"  # the key picker's "type a key file's path" entry
LOADING = "loading"  # the key picker's only entry until the keys are listed


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


class SigningModal(ReviewModal[T]):
    """A form that signs with a key the reviewer picks: its key, key file, passphrase, reviewer."""

    FIELD_ID: ClassVar[str] = "field-{}"
    ROW_ID: ClassVar[str] = "row-{}"
    ERROR_ID: ClassVar[str] = "error-{}"
    FORM_ERROR_ID: ClassVar[str] = "form-error"  # a problem that belongs to no field

    def __init__(self) -> None:
        super().__init__()
        self.keys: tuple[KeyChoice, ...] | None = None  # None: not listed yet
        self._auto_reviewer = ""  # the reviewer the form filled in (replaced on a key change)

    # -- layout -------------------------------------------------------------------------------

    def field_row(self, name: str, label: str, widget: Widget | None = None) -> ComposeResult:
        """A labelled row for field `name` (the key picker, a password input for the passphrase,
        else `widget` or a text input) and the error line under it."""
        if widget is None:
            if name == "key":
                widget = Select[str](
                    [(Text("looking for keys…"), LOADING)],
                    id=self.FIELD_ID.format(name),
                    allow_blank=False,
                    compact=True,
                )
            else:
                widget = SafeInput(
                    id=self.FIELD_ID.format(name), compact=True, password=name == "passphrase"
                )
        with Horizontal(classes="field", id=self.ROW_ID.format(name)):
            yield Label(label, classes="field-label")
            yield widget
        yield Static(classes="field-error", id=self.ERROR_ID.format(name))

    def input(self, name: str) -> Input:
        return self.query_one(f"#{self.FIELD_ID.format(name)}", Input)

    def row(self, name: str) -> Widget:
        return self.query_one(f"#{self.ROW_ID.format(name)}")

    def key_select(self) -> Select[str]:
        return self.query_one(f"#{self.FIELD_ID.format('key')}", Select)

    def hide_key_rows(self) -> None:
        """Before the keys are listed: no key file, no passphrase; the placeholders."""
        for name in ("key_file", "passphrase"):
            self.row(name).display = False
        self.input("key_file").placeholder = "path of an SSH private key (or a .pub in ssh-agent)"
        self.input("reviewer").placeholder = "your principal in allowed_signers"

    # -- keys ---------------------------------------------------------------------------------

    def keys_listed(self, keys: Sequence[KeyChoice]) -> None:
        """Offer the keys found, then a key file; the configured key (config file,
        EVALTUI_SIGNING_KEY) goes in the key file field and is chosen."""
        self.keys = tuple(keys)
        options: list[tuple[Text, str]] = [
            (safe(key_label(k), limit=200), str(i)) for i, k in enumerate(self.keys)
        ]
        options.append((Text("a key file (type its path below)"), KEY_FILE))
        select = self.key_select()
        select.set_options(options)
        configured = self.review_app.settings.signing_key
        env_key = str(configured) if configured else ""
        if env_key:
            self.input("key_file").value = env_key
        select.value = "0" if self.keys and not env_key else KEY_FILE
        self.key_changed()

    def selected_key(self) -> KeyChoice | None:
        value = self.key_select().value
        if self.keys is None or not isinstance(value, str) or value in (KEY_FILE, LOADING):
            return None
        return self.keys[int(value)]

    @on(Select.Changed)
    def _key_picked(self, event: Select.Changed) -> None:
        if event.select.id == self.FIELD_ID.format("key"):
            self.key_changed()

    def key_changed(self) -> None:
        """Show the key file or the passphrase as the key needs; suggest the reviewer (the
        settings', else the key's comment) unless one was typed."""
        key = self.selected_key()
        self.row("key_file").display = key is None
        self.row("passphrase").display = key is not None and key.needs_passphrase
        self.input("passphrase").value = ""
        self.show_error("passphrase", "")
        reviewer = self.input("reviewer")
        suggested = self.review_app.settings.reviewer or (
            key.public_key.default_reviewer if key is not None else ""
        )
        if reviewer.value in ("", self._auto_reviewer):
            reviewer.value = suggested
            self._auto_reviewer = suggested

    def chosen_key(self) -> tuple[KeyChoice | None, Path | None, str | None] | None:
        """(listed key, key file, passphrase) for the worker; None (the key file field shows
        why) when neither a key nor a key file is given."""
        key = self.selected_key()
        key_path: Path | None = None
        if key is None:
            typed = self.input("key_file").value.strip()
            if not typed:
                self.show_error("key_file", "is required: the path of your SSH private key")
                self.input("key_file").focus()
                return None
            key_path = Path(typed).expanduser()
        passphrase = self.input("passphrase").value if self.row("passphrase").display else ""
        return key, key_path, passphrase or None

    # -- problems -----------------------------------------------------------------------------

    def show_error(self, field: str | None, message: str) -> None:
        self.put_error(
            self.FORM_ERROR_ID if field is None else self.ERROR_ID.format(field), message
        )
