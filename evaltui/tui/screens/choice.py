"""A small modal that asks the reviewer to pick one of a list (experiment, slice, outcome)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from evaltui.tui.screens.base import ReviewModal


@dataclass(frozen=True, slots=True)
class Choice:
    value: str
    label: Text  # already sanitized by the caller


class ChoiceModal(ReviewModal[str | None]):
    """Returns the chosen value, or None when dismissed with `esc`."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss(None)", "cancel"),
        Binding("q", "app.quit", "quit", show=False),
        Binding("j", "cursor('down')", "down", show=False),
        Binding("k", "cursor('up')", "up", show=False),
    ]

    def __init__(self, what: str, choices: list[Choice], current: str | None = None) -> None:
        super().__init__()
        self.what = what
        self.choices = choices
        self.current = current

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(Text(f"choose {self.what}  (enter picks, esc cancels)", style="bold"))
            yield OptionList(*(Option(c.label, id=str(i)) for i, c in enumerate(self.choices)))

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        for index, choice in enumerate(self.choices):
            if choice.value == self.current:
                options.highlighted = index
        options.focus()

    def action_cursor(self, direction: str) -> None:
        options = self.query_one(OptionList)
        if direction == "down":
            options.action_cursor_down()
        else:
            options.action_cursor_up()

    @on(OptionList.OptionSelected)
    def picked(self, event: OptionList.OptionSelected) -> None:
        index = int(event.option.id or 0)
        self.dismiss(self.choices[index].value)
