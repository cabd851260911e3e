"""Horizontal bars drawn in eighths of a cell, for the CLI and the app alike (no Textual, no Rich).

`bar` draws a share of 0..1 (an empty string for 0); `span_bar` draws a value between the lowest
and the highest of a series, the lowest as one eighth of a cell so that it still shows.
"""

from __future__ import annotations

FULL, PARTS = "█", " ▏▎▍▌▋▊▉"


def bar(share: float, width: int) -> str:
    """A bar of `share` (clamped to 0..1) of `width` cells, rounded to eighths of a cell."""
    eighths = round(max(0.0, min(1.0, share)) * width * 8)
    full, rest = divmod(eighths, 8)
    return FULL * full + (PARTS[rest] if rest else "")


def span_bar(value: float, low: float, high: float, width: int) -> str:
    """A bar between `low` (one eighth of a cell) and `high` (the full width); all of it when
    `low == high`."""
    share = 1.0 if high == low else (value - low) / (high - low)
    return bar(share, width) or PARTS[1]
