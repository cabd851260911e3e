"""Turning values into what the app shows: literal, sanitized Rich Text and short numbers.

Every untrusted string (ids, routes, outputs, metadata, file names) reaches a widget through
`safe()` (Rich Text), `literal()` (Textual Content, for the command palette and titles) or
`plain()` for Line-API segments; each replaces control, zero-width and separator characters with
visible placeholders and never interprets markup. Notifications go through `notify()`, which
always turns markup off. Textual parses a plain `str` as markup in Static, Label, `update()`,
`notify()`, tooltips and the palette: a `[link=...]` there would write an OSC 8 hyperlink and a
stray `[/bold` would crash the app, so none of those receives an untrusted plain string
(tests/test_tui_markup.py checks the package for it).
"""

from __future__ import annotations

from rich.cells import cell_len, set_cell_size
from rich.text import Text
from textual.content import Content
from textual.dom import DOMNode
from textual.notifications import SeverityLevel

from evaltui.review import figures_text
from evaltui.sanitize import visible

NONE = "–"  # shown for a missing value


def plain(value: object, *, limit: int | None = None, multiline: bool = False) -> str:
    """Sanitized text for places that take a plain string (Line-API segments, option labels)."""
    return visible(value, limit=limit, multiline=multiline)


def safe(
    value: object, style: str = "", *, limit: int | None = 400, multiline: bool = False
) -> Text:
    """Untrusted text as literal Rich Text: controls made visible, markup never parsed."""
    return Text(visible(value, limit=limit, multiline=multiline), style=style)


def literal(value: object, *, limit: int | None = 400) -> Content:
    """Untrusted text as literal Textual Content (palette entries, titles): never markup."""
    return Content(visible(value, limit=limit))


def notify(
    node: DOMNode,
    message: object,
    *,
    severity: SeverityLevel = "information",
    timeout: float | None = None,
    limit: int | None = 500,
) -> None:
    """A notification whose text is shown literally (sanitized, markup off)."""
    node.app.notify(visible(message, limit=limit), severity=severity, timeout=timeout, markup=False)


def number(value: float | int | None, digits: int = 3) -> str:
    """A metric for a table cell: integers as they are, rates with `digits` decimals."""
    if value is None:
        return NONE
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int) or float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:.{digits}f}"


def signed(value: float | None, digits: int = 3) -> str:
    """`figures_text.signed` with the app's mark for a missing value."""
    return figures_text.signed(value, digits, missing=NONE)


def pvalue(value: float | None) -> str:
    """`figures_text.pvalue` with the app's mark for a missing value."""
    return figures_text.pvalue(value, missing=NONE)


def clip(text: str, width: int) -> str:
    """`text` cut to `width` terminal cells, with an ellipsis when something was cut."""
    if cell_len(text) <= width:
        return text
    if width <= 0:
        return ""
    return set_cell_size(text, width - 1) + "…"


def elide(text: str, width: int) -> str:
    """`text` in `width` cells with its middle cut out when it is too long: ids that share a
    prefix (`reg-000117`, `reg-000118`) keep the tail that tells them apart (`re…00117`)."""
    if cell_len(text) <= width:
        return text
    if width <= 2:
        return clip(text, width)
    head_cells = (width - 1) // 3
    head = set_cell_size(text, head_cells).rstrip()
    tail = ""
    for ch in reversed(text):
        if cell_len(ch + tail) > width - 1 - cell_len(head):
            break
        tail = ch + tail
    return set_cell_size(head + "…" + tail, width)


def fit(text: str, width: int, justify: str = "left", *, middle: bool = False) -> str:
    """`text` clipped (or, with `middle`, elided in the middle) or padded to exactly `width`
    cells."""
    text = elide(text, width) if middle else clip(text, width)
    pad = " " * (width - cell_len(text))
    return pad + text if justify == "right" else text + pad
