"""A small modal that asks the reviewer to pick one of a list (experiment, slice, outcome).

`/` opens a search box above the list: the entries narrow as you type (every word of the query,
case-insensitive, in the entry as shown), `esc` clears the search, `esc` again cancels.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from evaltui.tui.screens.base import ReviewModal
from evaltui.tui.widgets.search import SearchBox, matches


@dataclass(frozen=True, slots=True)
class Choice:
    value: str
    label: Text  # already sanitized by the caller


class ChoiceModal(ReviewModal[str | None]):
    """Returns the chosen value, or None when dismissed with `esc`."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss(None)", "cancel", tooltip="close without choosing", id="cancel"),
        Binding("q", "app.quit", "quit", show=False, tooltip="quit evaltui", id="quit"),
        Binding("j", "cursor('down')", "down", show=False, tooltip="next entry", id="down"),
        Binding("k", "cursor('up')", "up", show=False, tooltip="previous entry", id="up"),
        Binding(
            "slash",
            "search",
            "search",
            key_display="/",
            show=False,
            tooltip="search the list: entries narrow as you type",
            id="search",
        ),
    ]

    def __init__(self, what: str, choices: list[Choice], current: str | None = None) -> None:
        super().__init__()
        self.what = what
        self.choices = choices
        self.current = current

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(
                Text(f"choose {self.what}  (enter picks, / searches, esc cancels)", style="bold")
            )
            yield SearchBox(placeholder=f"search {self.what}", id="choice-search")
            yield OptionList(*self.options(""))

    def options(self, query: str) -> list[Option]:
        return [
            Option(c.label, id=str(i))
            for i, c in enumerate(self.choices)
            if matches(query, (c.label.plain,))
        ]

    def on_mount(self) -> None:
        self.highlight_current()
        self.query_one(OptionList).focus()

    def highlight_current(self) -> None:
        options = self.query_one(OptionList)
        for index in range(options.option_count):
            value = self.choices[int(options.get_option_at_index(index).id or 0)].value
            if value == self.current:
                options.highlighted = index

    def action_search(self) -> None:
        self.query_one("#choice-search", SearchBox).open()

    @on(Input.Changed, "#choice-search")
    def search_changed(self, event: Input.Changed) -> None:
        options = self.query_one(OptionList)
        options.clear_options()
        options.add_options(self.options(event.value))
        if options.option_count:
            options.highlighted = 0
            self.highlight_current()

    @on(SearchBox.Closed, "#choice-search")
    def search_closed(self) -> None:
        self.query_one(OptionList).focus()

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
