"""`?`: every key that works on the screen below, generated from its live bindings."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Static

from evaltui.tui.screens.base import ReviewModal
from evaltui.tui.widgets.pane import ScrollPane

_SCREEN_BASE_ACTIONS = {
    b.action if isinstance(b, Binding) else b[1]
    for b in Screen.BINDINGS  # tab, shift+tab, copy
}


def binding_rows(screen: Screen[Any]) -> list[tuple[str, str, str]]:
    """(keys, what it does, where) for every active binding of `screen`, hidden ones too."""
    app = screen.app
    grouped: dict[tuple[int, str, str], list[str]] = {}
    where: dict[tuple[int, str, str], str] = {}
    for key, active in screen.active_bindings.items():
        binding: Binding = active.binding
        if not binding.description:
            continue
        ident = (id(active.node), binding.action, binding.tooltip or binding.description)
        display = app.get_key_display(Binding(key, binding.action))
        grouped.setdefault(ident, [])
        if display not in grouped[ident]:
            grouped[ident].append(display)
        node = active.node
        if node is app or (node is screen and binding.action in _SCREEN_BASE_ACTIONS):
            where[ident] = "everywhere"
        elif node is screen:
            where[ident] = "this screen"
        else:
            where[ident] = getattr(node, "HELP_NAME", type(node).__name__)
    rows = [
        (" ".join(keys), desc, where[ident])
        for ident, keys in grouped.items()
        for desc in [ident[2]]
    ]
    order = {"this screen": 0, "everywhere": 2}
    rows.sort(key=lambda row: order.get(row[2], 1))
    return rows


class HelpScreen(ReviewModal[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,question_mark,f1", "dismiss(None)", "close help", key_display="esc"),
        Binding("q", "app.quit", "quit"),
    ]

    def __init__(self, below: Screen[Any]) -> None:
        super().__init__()
        self.below = below

    def compose(self) -> ComposeResult:
        table = Table(box=None, show_header=True, header_style="bold", expand=True, pad_edge=False)
        table.add_column("keys", no_wrap=True)
        table.add_column("does")
        table.add_column("where", no_wrap=True, style="dim")
        for keys, description, where in binding_rows(self.below):
            table.add_row(Text(keys, style="bold"), Text(description), Text(where))
        title = getattr(self.below, "HELP_TITLE", type(self.below).__name__)
        with Vertical(classes="dialog help"):
            yield Static(Text(f"keys · {title}  (esc closes)", style="bold"))
            with ScrollPane(id="help-body"):
                yield Static(table)
                about = getattr(self.below, "HELP_TEXT", "")
                if about:
                    yield Static(Text("\n" + about))

    def on_mount(self) -> None:
        self.query_one("#help-body").focus()
