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

CELL_LIMIT = 200


def console() -> Console:
    """Rich honours NO_COLOR by itself; piped output gets a wide page instead of folded cells."""
    interactive = sys.stdout.isatty()
    return Console(highlight=False, soft_wrap=False, width=None if interactive else 240)


def safe(value: object, style: str = "", limit: int = CELL_LIMIT) -> Text:
    """Untrusted text as a literal Rich Text (no markup, controls made visible)."""
    return Text(visible(value, limit=limit), style=style)


def table(title: str | None, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> Table:
    out = Table(title=title, title_justify="left", show_edge=False, pad_edge=False, box=None)
    for name in columns:
        out.add_column(name, overflow="fold")
    for row in rows:
        out.add_row(*(cell if isinstance(cell, Text) else safe(cell) for cell in row))
    return out


def emit_json(data: Any) -> None:
    """JSON for scripts: ASCII-only, so no control byte can reach a terminal even when printed."""
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=True, default=str) + "\n")


def number(value: float | int | None, digits: int = 3) -> str:
    if value is None:
        return "-"
    if isinstance(value, int) or float(value).is_integer():
        return str(int(value))
    return f"{value:.{digits}f}"
