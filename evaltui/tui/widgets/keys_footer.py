"""The footer of every screen: the keys in the project's words, fitted to the width.

Textual's footer keeps `^p palette` at its right edge. At 80 columns that entry takes the room
the runs screen needs for `e` (experiments) and `L` (past decisions), so below `PALETTE_WIDTH`
columns it is left out of the footer; `ctrl+p` still works, and help (`?`) lists it. Below
`NARROW_WIDTH` columns `enter open` goes too (every list opens its entry with enter), so that
the cases screen keeps `? help` on screen at 60 columns.
"""

from __future__ import annotations

from textual import events
from textual.app import ComposeResult
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

PALETTE_WIDTH = 100  # columns from which the footer also shows the command palette key
NARROW_WIDTH = 70  # below this, the footer leaves out the keys of WIDE_ONLY actions
WIDE_ONLY = frozenset({"open"})


class KeysFooter(Footer):
    DEFAULT_CSS = """
    KeysFooter.-narrow FooterKey.-wide-only { display: none; }
    """

    def __init__(self) -> None:
        super().__init__(compact=True, show_command_palette=False)

    def compose(self) -> ComposeResult:
        for widget in super().compose():
            if isinstance(widget, FooterKey) and widget.action in WIDE_ONLY:
                widget.add_class("-wide-only")
            yield widget

    def on_resize(self, event: events.Resize) -> None:
        self.show_command_palette = event.size.width >= PALETTE_WIDTH
        self.set_class(event.size.width < NARROW_WIDTH, "-narrow")
