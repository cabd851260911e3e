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

from evaltui.sanitize import visible
from evaltui.tui.screens.base import ReviewModal
from evaltui.tui.widgets.pane import ScrollPane

# Textual's own keys (focus, copy, the palette, text boxes, lists), described in the app's words.
# Keyed by (action, Textual's description), so a key of ours with the same action keeps its own.
TEXTUAL_WORDS: dict[tuple[str, str], str] = {
    ("app.focus_next", "Focus Next"): "move to the next list, pane or field",
    ("app.focus_previous", "Focus Previous"): "move to the previous list, pane or field",
    ("screen.copy_text", "Copy selected text"): "copy the text selected with the mouse",
    ("quit", "Quit"): "quit evaltui",
    ("command_palette", "palette"): "commands: every action of this screen, searchable",
    ("scroll_up", "Scroll Up"): "scroll up",
    ("scroll_down", "Scroll Down"): "scroll down",
    ("scroll_left", "Scroll Left"): "scroll left",
    ("scroll_right", "Scroll Right"): "scroll right",
    ("scroll_home", "Scroll Home"): "top",
    ("scroll_end", "Scroll End"): "bottom",
    ("page_up", "Page Up"): "page up",
    ("page_down", "Page Down"): "page down",
    ("page_left", "Page Left"): "page left",
    ("page_right", "Page Right"): "page right",
    ("cursor_up", "Up"): "previous entry",
    ("cursor_down", "Down"): "next entry",
    ("first", "First"): "first entry",
    ("last", "Last"): "last entry",
    ("select", "Select"): "pick the highlighted entry",
    ("cursor_left", "Move cursor left"): "cursor left",
    ("cursor_left(True)", "Move cursor left and select"): "select to the left",
    ("cursor_left_word", "Move cursor left a word"): "cursor one word left",
    ("cursor_left_word(True)", "Move cursor left a word and select"): "select a word left",
    ("cursor_right", "Move cursor right or accept the completion suggestion"): (
        "cursor right (at the end: take the suggested completion)"
    ),
    ("cursor_right(True)", "Move cursor right and select"): "select to the right",
    ("cursor_right_word", "Move cursor right a word"): "cursor one word right",
    ("cursor_right_word(True)", "Move cursor right a word and select"): "select a word right",
    ("delete_left", "Delete character left"): "delete the character before the cursor",
    ("select_all", "Select all"): "select all the text",
    ("home", "Go to start"): "cursor to the start",
    ("end", "Go to end"): "cursor to the end",
    ("home(True)", "Select line start"): "select to the start",
    ("end(True)", "Select line end"): "select to the end",
    ("delete_right", "Delete character right"): "delete the character under the cursor",
    ("submit", "Submit"): "done: apply what was typed",
    ("delete_left_word", "Delete left to start of word"): "delete the word before the cursor",
    ("delete_left_all", "Delete all to the left"): "delete everything before the cursor",
    ("delete_right_word", "Delete right to start of word"): "delete the word after the cursor",
    ("delete_right_all", "Delete all to the right"): "delete everything after the cursor",
    ("cut", "Cut selected text"): "cut the selected text",
    ("copy", "Copy selected text"): "copy the selected text",
    ("paste", "Paste text from the clipboard"): "paste",
}
# where a key of one of Textual's widgets works, in the app's words
WIDGET_WORDS = {"OptionList": "list", "Input": "text box", "DataTable": "table"}


def describe(binding: Binding) -> str:
    """What a key does, in the app's words (Textual's own keys translated)."""
    words = TEXTUAL_WORDS.get((binding.action, binding.description))
    return words or binding.tooltip or binding.description


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
        ident = (id(active.node), binding.action, describe(binding))
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
            name = type(node).__name__
            where[ident] = getattr(node, "HELP_NAME", WIDGET_WORDS.get(name, name))
    rows = [
        (" ".join(keys), desc, where[ident])
        for ident, keys in grouped.items()
        for desc in [ident[2]]
    ]
    order = {"this screen": 0, "everywhere": 2}
    rows.sort(key=lambda row: order.get(row[2], 1))
    return rows


def remap_note(app: Any) -> str:
    """A line naming the config files whose [keymap] changed the keys shown ("" if none)."""
    settings = getattr(app, "settings", None)
    if settings is None or not settings.keymap:
        return ""
    files = sorted({settings.origin(f"keymap.{ident}").path for ident in settings.keymap})
    return f"keys remapped by [keymap] in {visible(', '.join(files))}"


class HelpScreen(ReviewModal[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "escape,question_mark,f1",
            "dismiss(None)",
            "close help",
            key_display="esc",
            id="close_help",
        ),
        Binding("q", "app.quit", "quit", id="quit"),
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
            remapped = remap_note(self.app)
            if remapped:
                yield Static(Text(remapped, style="dim"))
            with ScrollPane(id="help-body"):
                yield Static(table)
                about = getattr(self.below, "HELP_TEXT", "")
                if about:
                    yield Static(Text("\n" + about))

    def on_mount(self) -> None:
        self.query_one("#help-body").focus()
