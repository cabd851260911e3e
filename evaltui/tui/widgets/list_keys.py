"""The keys every list and pane of the app moves with: j/k (and the arrows), page up/down, g/G
(and home/end). Written once so a list cannot drift from the others."""

from __future__ import annotations

from textual.binding import Binding

TABLE_ACTIONS = ("cursor_down", "cursor_up", "page_down", "page_up", "scroll_top", "scroll_bottom")
SCROLL_ACTIONS = ("scroll_down", "scroll_up", "page_down", "page_up", "scroll_home", "scroll_end")


def movement_bindings(
    down: str,
    up: str,
    top: str,
    bottom: str,
    *,
    actions: tuple[str, str, str, str, str, str] = TABLE_ACTIONS,
    page_down_keys: str = "pagedown",
) -> list[Binding]:
    """Hidden bindings (the footer has no room for them; the help screen lists them) named by
    what they do in this list: `movement_bindings("next run", "previous run", "first run", ...)`.
    The default actions are a DataTable's; a scrolling pane passes `SCROLL_ACTIONS`."""
    act_down, act_up, act_page_down, act_page_up, act_top, act_bottom = actions
    return [
        Binding("down,j", act_down, down, show=False, id="down"),
        Binding("up,k", act_up, up, show=False, id="up"),
        Binding(page_down_keys, act_page_down, "page down", show=False, id="page_down"),
        Binding("pageup", act_page_up, "page up", show=False, id="page_up"),
        Binding("home,g", act_top, top, show=False, id="first"),
        Binding("end,G", act_bottom, bottom, show=False, id="last"),
    ]
