"""One status line on the terminal while a long load or import works, and never anywhere else.

`showing(text)` writes `evaltui: text` on stderr's current line while its block runs and erases
it afterwards (also when the block fails, so an error message starts on a clean line). Only when
stderr is a terminal: a piped or redirected log never receives a carriage return or an escape
sequence. The text may hold untrusted names (files, suite ids); it is made visible first.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

from evaltui.sanitize import visible

_CLEAR_LINE = "\r\x1b[K"


def on_terminal() -> bool:
    """Whether stderr is a terminal (a person is watching; a log file is not)."""
    stream = sys.stderr
    try:
        return bool(stream is not None and stream.isatty())
    except ValueError:  # closed
        return False


@contextmanager
def showing(text: str) -> Iterator[None]:
    """Show `text` as the status line while the block runs (on a terminal only)."""
    live = on_terminal()
    if live:
        _write(f"{_CLEAR_LINE}evaltui: {visible(text)}")
    try:
        yield
    finally:
        if live:
            _write(_CLEAR_LINE)


def _write(text: str) -> None:
    try:
        sys.stderr.write(text)
        sys.stderr.flush()
    except (OSError, ValueError):  # the terminal went away: the load goes on
        pass
