"""Human output for the CLI: Rich tables whose every untrusted cell is sanitised and literal."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Sequence
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from evaltui.sanitize import visible
from evaltui.wrap import Breakable, FittedTable

CELL_LIMIT = 200
HEADER_LIMIT = 60
# An error or warning line quotes what it complains about, and that can be a 1 MB field: it is
# cut for the terminal (the marker says how much); the file itself keeps the whole value.
ERROR_LINE_LIMIT = 1000


def console() -> Console:
    """Rich honours NO_COLOR by itself; piped output gets a wide page instead of folded cells."""
    interactive = sys.stdout.isatty()
    return Console(highlight=False, soft_wrap=False, width=None if interactive else 240)


def safe(value: object, style: str = "", limit: int = CELL_LIMIT) -> Text:
    """Untrusted text as a literal Rich Text (no markup, controls made visible)."""
    return Text(visible(value, limit=limit), style=style)


def table(
    title: str | Text | None, columns: Sequence[str | Text], rows: Iterable[Sequence[Any]]
) -> Table:
    """A plain table. Headers are data too (a route label can be a column), so every string
    handed to Rich here, title and headers included, goes through `safe()`: Rich would parse a
    `str` header as markup and pass its control characters to the terminal.

    Cells break between words and at the separators of ids and statuses (`evaltui.wrap`), and
    the columns are fitted so that none is cut mid-word when the terminal is wide enough."""
    out = FittedTable(
        title=None if title is None else _literal(title),
        title_justify="left",
        show_edge=False,
        pad_edge=False,
        box=None,
    )
    for name in columns:
        out.add_column(_literal(name), overflow="fold")
    for row in rows:
        out.add_row(*(Breakable(cell if isinstance(cell, Text) else safe(cell)) for cell in row))
    return out


def _literal(value: str | Text) -> Text:
    return value if isinstance(value, Text) else safe(value, limit=HEADER_LIMIT)


def status_cell(state: str, status: str, style: str = "") -> Text:
    """A run's state first (INCOMPARABLE, INCOMPLETE or its guardrail status) and, when the
    state is not the guardrail status, that status beside it, dimmed: a run that cannot be
    ranked never reads "eligible" at a glance."""
    if state == status:
        return safe(state, style)
    return Text.assemble(safe(state, "bold"), " ", safe(status, "dim"))


def emit_json(data: Any) -> None:
    """JSON for scripts: ASCII-only, so no control byte can reach a terminal even when printed."""
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=True, default=str) + "\n")


def number(value: float | int | None, digits: int = 3) -> str:
    if value is None:
        return "-"
    if isinstance(value, int) or float(value).is_integer():
        return str(int(value))
    return f"{value:.{digits}f}"
