"""A reference-vs-current bar plot of one drift result, readable at 80x24 and without colour.

Each bin is one row. The reference's share is drawn in the top half of the row and the current
run's share in the bottom half: a cell is "▀" where only the reference reaches, "▄" where only the
current run reaches and "█" where both do. The shapes carry the meaning, so the plot reads the
same in monochrome (NO_COLOR) as in colour; colour only helps. Bars are scaled so the largest
share fills the bar area; exact shares are printed at the right of every row.

The widget only draws: it takes a `DriftResult` (from `evaltui.review.drift.drift`, computed in a
worker by the screen) and never queries the store. Labels come from the data and go through
`sanitize.visible` into `rich.text.Text`, never through markup.
"""

from __future__ import annotations

from typing import ClassVar

from rich.cells import cell_len
from rich.style import Style
from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from evaltui.errors import NotFoundError
from evaltui.review.drift import DriftBin, DriftResult, SliceDrift
from evaltui.sanitize import visible
from evaltui.tui.text import fit

TOP, BOTTOM, BOTH = "\u2580", "\u2584", "\u2588"
NUMBERS_WIDTH = 14  # " 100.0% 100.0%"
MIN_BAR = 10


def bar_cells(reference: float, current: float, scale: float, width: int) -> tuple[int, int]:
    """How many cells of `width` the reference and current shares fill (rounded, shares / scale)."""
    if scale <= 0:
        return 0, 0

    def cells(share: float) -> int:
        return max(0, min(width, round(share / scale * width)))

    return cells(reference), cells(current)


class DriftPlot(Widget):
    """Bars of reference vs current shares for every bin of a drift result (or of one slice)."""

    DEFAULT_CSS = """
    DriftPlot {
        height: auto;
        width: 1fr;
    }
    DriftPlot > .drift-plot--reference { color: $primary; }
    DriftPlot > .drift-plot--current { color: $warning; }
    DriftPlot > .drift-plot--both { color: $foreground; }
    DriftPlot > .drift-plot--title { text-style: bold; }
    DriftPlot > .drift-plot--muted { color: $text-muted; }
    """

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "drift-plot--reference",
        "drift-plot--current",
        "drift-plot--both",
        "drift-plot--title",
        "drift-plot--muted",
    }

    result: reactive[DriftResult | None] = reactive(None, layout=True)
    slice_name: reactive[str | None] = reactive(None, layout=True)

    def __init__(
        self,
        result: DriftResult | None = None,
        *,
        slice_name: str | None = None,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.partial = False
        self.set_reactive(DriftPlot.result, result)
        self.set_reactive(DriftPlot.slice_name, slice_name)

    def show(
        self, result: DriftResult | None, slice_name: str | None = None, *, partial: bool = False
    ) -> None:
        """Draw another result (or another slice of it); `partial`: a run lacks whole splits,
        so the PSI gets no reading (the screen names the splits)."""
        self.partial = partial
        self.result = result
        self.slice_name = slice_name
        self.refresh()

    def _style(self, component: str) -> Style:
        return self.get_component_rich_style(f"drift-plot--{component}", partial=True)

    def render(self) -> Text:
        result = self.result
        if result is None:
            return Text("no drift computed yet", style=self._style("muted"))
        try:
            entry = result.slice(self.slice_name)
        except NotFoundError:  # an unknown slice: say so rather than fail the screen
            return Text.assemble(
                ("no ", self._style("muted")),
                visible(self.slice_name),
                (f" in {result.slice_column}", self._style("muted")),
            )
        width = max(self.content_size.width, 40)
        lines = [self._title(result, entry), self._legend(result)]
        lines += self._rows(entry.bins, width)
        if not entry.bins:
            lines.append(Text("no values in either run", style=self._style("muted")))
        return Text("\n").join(lines)

    def _title(self, result: DriftResult, entry: SliceDrift) -> Text:
        scope = (
            "all cases" if entry.name is None else f"{result.slice_column} {visible(entry.name)}"
        )
        psi = "-" if entry.psi is None else f"{entry.psi:.3f}"
        js = "-" if entry.js is None else f"{entry.js:.3f}"
        return Text.assemble(
            (visible(result.column.name), self._style("title")),
            f"  PSI {psi} {'partial' if self.partial else entry.reading}  JS {js}  ",
            f"eps {result.epsilon:g}  ",
            (f"({scope}, n {entry.reference_count}/{entry.current_count})", self._style("muted")),
        )

    def _legend(self, result: DriftResult) -> Text:
        return Text.assemble(
            (TOP, self._style("reference")),
            " reference ",
            visible(result.reference.run_id),
            "  ",
            (BOTTOM, self._style("current")),
            " current ",
            visible(result.current.run_id),
            "  ",
            (BOTH, self._style("both")),
            " both",
        )

    def _rows(self, bins: tuple[DriftBin, ...], width: int) -> list[Text]:
        if not bins:
            return []
        labels = [visible(b.label) for b in bins]
        label_width = min(max(cell_len(label) for label in labels), max(8, width // 4))
        bar_width = max(MIN_BAR, width - label_width - 1 - NUMBERS_WIDTH - 1)
        scale = max(max(b.reference_share, b.current_share) for b in bins)
        header = Text.assemble(
            " " * (label_width + 1 + bar_width + 1),
            ("   ref    cur", self._style("muted")),
        )
        rows = [header]
        for label, b in zip(labels, bins, strict=True):
            ref, cur = bar_cells(b.reference_share, b.current_share, scale, bar_width)
            both = min(ref, cur)
            only = (TOP, "reference") if ref > cur else (BOTTOM, "current")
            row = Text(f"{fit(label, label_width)} ")
            row.append(BOTH * both, self._style("both"))
            row.append(only[0] * abs(ref - cur), self._style(only[1]))
            row.append(" " * (bar_width - max(ref, cur)))
            row.append(f" {b.reference_share:6.1%} {b.current_share:6.1%}")
            rows.append(row)
        return rows
