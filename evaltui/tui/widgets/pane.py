"""A focusable, vertically scrolling pane with the app's keys (j/k, g/G, space) and no others."""

from __future__ import annotations

from typing import ClassVar

from textual.binding import BindingType
from textual.containers import VerticalScroll

from evaltui.tui.widgets.list_keys import SCROLL_ACTIONS, movement_bindings


class ScrollPane(VerticalScroll, can_focus=True, inherit_bindings=False):
    HELP_NAME = "pane"
    BINDINGS: ClassVar[list[BindingType]] = [
        *movement_bindings(
            "scroll down",
            "scroll up",
            "top",
            "bottom",
            actions=SCROLL_ACTIONS,
            page_down_keys="pagedown,space",
        ),
    ]
