"""The footer of every screen: the keys in the project's words, fitted to the width.

Textual's footer keeps `^p palette` at its right edge. At 80 columns that entry takes the room
the runs screen needs for `e` (experiments) and `L` (past decisions), so below `PALETTE_WIDTH`
columns it is left out of the footer; `ctrl+p` still works, and help (`?`) lists it.
"""

from __future__ import annotations

from textual import events
from textual.widgets import Footer

PALETTE_WIDTH = 100  # columns from which the footer also shows the command palette key


class KeysFooter(Footer):
    def __init__(self) -> None:
        super().__init__(compact=True, show_command_palette=False)

    def on_resize(self, event: events.Resize) -> None:
        self.show_command_palette = event.size.width >= PALETTE_WIDTH
