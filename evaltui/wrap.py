"""Text that breaks between words, for the CLI's tables and the app's side-by-side pane alike.

Rich wraps only at spaces and folds anything longer mid-word, so a status or an id in a narrow
column reads `REJECT_UNSA` / `FE_SERVE`. Here a word too wide for its column may also break
after `_ - / . : , =` (the separators of ids, statuses, paths and versions): `REJECT_UNSAFE_` /
`SERVE`. Words that fit stay whole, and only a single piece wider than the column is folded. `FittedTable` gives its columns widths no narrower
than their longest unbreakable piece, shrinking the widest first, so a table that can fit without
cutting a word does. The text is never changed, only where its lines end.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, RenderResult
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

# a piece: a run of other characters followed by the separators (or spaces) that end it; a dot
# before a digit belongs to a version number ("v1.2"), not between two words
_PIECE = re.compile(r"(?:[^\s_\-/.:,=]|\.(?=\d))*(?:[\s_\-/:,=]|\.(?!\d))*")
_WORD = re.compile(r"\S+\s*|\s+")


def pieces(text: str) -> list[tuple[int, int]]:
    """(start, end) offsets of the pieces of one line; a line may break after any of them."""
    return [(m.start(), m.end()) for m in _PIECE.finditer(text) if m.end() > m.start()]


def break_points(text: str, width: int) -> list[tuple[int, int]]:
    """(start, end) offsets of the lines of `text` (no newline in it) wrapped to `width` cells.

    Words (runs without spaces) stay whole when they fit on a line; only a word wider than the
    column is broken, after its separators, and only a piece wider still is folded.
    """
    width = max(1, width)
    lines: list[tuple[int, int]] = []
    start = end = 0  # the line being filled: text[start:end]

    def fits(a: int, b: int) -> bool:
        return cell_len(text[a:b].rstrip()) <= width

    for word in _WORD.finditer(text):
        w_start, w_end = word.span()
        if fits(start, w_end):
            end = w_end
            continue
        if end > start:
            lines.append((start, end))
        start = end = w_start
        if fits(w_start, w_end):
            end = w_end
            continue
        for p_start, p_end in pieces(text[w_start:w_end]):
            p_start, p_end = w_start + p_start, w_start + p_end
            if fits(start, p_end):
                end = p_end
                continue
            if end > start:
                lines.append((start, end))
            start = end = p_start
            # one piece wider than the column: fold it, cell by cell
            for index in range(p_start, p_end):
                if not fits(start, index + 1) and index > start:
                    lines.append((start, index))
                    start = index
            end = p_end
    if end > start or not lines:
        lines.append((start, end))
    return lines


def longest_piece(text: str) -> int:
    """The width of the widest piece: the narrowest column that needs no mid-word fold."""
    return max((cell_len(text[a:b].rstrip()) for a, b in pieces(text)), default=0)


class Breakable:
    """A Text (styles kept) laid out at its column's width, breaking only between pieces."""

    def __init__(self, text: Text) -> None:
        self.text = text

    def lines(self, width: int) -> list[Text]:
        out: list[Text] = []
        for line in self.text.split("\n", allow_blank=True):
            for start, end in break_points(line.plain, width):
                part = line[start:end]
                part.rstrip()
                out.append(part)
        return out

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        lines = self.text.plain.split("\n")
        minimum = max((longest_piece(line) for line in lines), default=0)
        maximum = max((cell_len(line) for line in lines), default=0)
        return Measurement(minimum, maximum).clamp(max_width=options.max_width)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        joined = Text("\n", style=self.text.style).join(self.lines(options.max_width))
        joined.justify = self.text.justify
        joined.no_wrap = True
        joined.overflow = "fold"
        yield joined


def fit_widths(minimums: list[int], maximums: list[int], budget: int) -> list[int] | None:
    """Column widths within `budget` cells: each at most its maximum and at least its minimum,
    the widest shrunk first. None when even the minimums do not fit."""
    widths = [max(lo, hi) for lo, hi in zip(minimums, maximums, strict=True)]
    if sum(widths) <= budget:
        return widths
    if sum(minimums) > budget:
        return None
    excess = sum(widths) - budget
    while excess > 0:
        shrinkable = [i for i, w in enumerate(widths) if w > minimums[i]]
        widest = max(widths[i] for i in shrinkable)
        at_widest = [i for i in shrinkable if widths[i] == widest]
        below = max(
            [widths[i] for i in shrinkable if widths[i] < widest] + [minimums[i] for i in at_widest]
        )
        step = min(widest - below, -(-excess // len(at_widest)))
        for i in at_widest:
            if excess <= 0:
                break
            cut = min(step, excess, widths[i] - minimums[i])
            widths[i] -= cut
            excess -= cut
    return widths


class FittedTable(Table):
    """A `box=None` table whose columns are fitted to the width before it is drawn (see module)."""

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        columns = self.columns
        saved: list[int | None] = [c.width for c in columns]
        gaps = self.padding[1] + self.padding[3]  # between two columns
        budget = options.max_width - gaps * (len(columns) - 1 + (1 if self.pad_edge else 0))
        lows, highs = [], []
        for column in columns:
            cells: Iterable[object] = [column.header, *column.cells]
            low = high = 1
            for cell in cells:
                measured = Measurement.get(console, options, cell)  # type: ignore[arg-type]
                low, high = max(low, measured.minimum), max(high, measured.maximum)
            lows.append(low)
            highs.append(high)
        widths = fit_widths(lows, highs, budget)
        try:
            if widths is not None and sum(highs) > budget:
                for column, width in zip(columns, widths, strict=True):
                    column.width = width
            yield from super().__rich_console__(console, options)
        finally:
            for column, was in zip(columns, saved, strict=True):
                column.width = was
