"""A focusable, vertically scrolling pane with the app's keys (j/k, g/G, space) and no others."""

from __future__ import annotations

from typing import ClassVar

from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll


class ScrollPane(VerticalScroll, can_focus=True, inherit_bindings=False):
    HELP_NAME = "pane"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("down,j", "scroll_down", "scroll down", show=False, id="down"),
        Binding("up,k", "scroll_up", "scroll up", show=False, id="up"),
        Binding("pagedown,space", "page_down", "page down", show=False, id="page_down"),
        Binding("pageup", "page_up", "page up", show=False, id="page_up"),
        Binding("home,g", "scroll_home", "top", show=False, id="first"),
        Binding("end,G", "scroll_end", "bottom", show=False, id="last"),
    ]
