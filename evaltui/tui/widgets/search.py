"""`/` in a list: a one-line search box that filters the list as you type.

The box is hidden until the screen opens it. Every change posts `Input.Changed` (the screen
filters on it); `esc` empties and hides the box (the whole list is back), `enter` keeps the filter
and gives the keys back to the list. What is typed is a `SafeInput`: no control character gets in,
and a screen shows the query only through `text.safe()`. Matching is `matches()`: every word of
the query, case-insensitive, in the row's visible text.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

from textual.binding import Binding, BindingType
from textual.message import Message

from evaltui.tui.text import plain
from evaltui.tui.widgets.safe_input import SafeInput


def matches(query: str, fields: Iterable[object]) -> bool:
    """True when every word of `query` is in one of `fields` as shown (case-insensitive)."""
    words = query.casefold().split()
    if not words:
        return True
    shown = " ".join(plain(field).casefold() for field in fields if field is not None)
    return all(word in shown for word in words)


class SearchBox(SafeInput):
    """The search box of a list screen (see module); `open()` shows and focuses it."""

    HELP_NAME = "search box"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "escape",
            "clear",
            "clear",
            key_display="esc",
            tooltip="clear the search",
            id="clear_search",
        ),
        Binding(
            "enter",
            "keep",
            "keep",
            key_display="enter",
            tooltip="keep the filter, back to the list",
            id="keep_search",
        ),
    ]

    class Closed(Message):
        """The box gave the keys back to the list (`cleared`: the filter is gone too)."""

        def __init__(self, box: SearchBox, cleared: bool) -> None:
            super().__init__()
            self.box = box
            self.cleared = cleared

        @property
        def control(self) -> SearchBox:
            return self.box

    def __init__(self, *, placeholder: str = "search", id: str | None = None) -> None:
        super().__init__(placeholder=f"{placeholder} (esc clears, enter keeps)", id=id)

    def on_mount(self) -> None:
        self.display = bool(self.value)

    def open(self) -> None:
        self.display = True
        self.focus()

    def action_clear(self) -> None:
        self.value = ""
        self.display = False
        self.post_message(self.Closed(self, cleared=True))

    def action_keep(self) -> None:
        self.display = bool(self.value)
        self.post_message(self.Closed(self, cleared=not self.value))
