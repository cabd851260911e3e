"""The cases of a pair, drawn with the Line API: only the rows on screen are ever rendered.

The list knows how many rows its view has and holds a few pages of them; a line whose page is
not there yet is drawn as `…` and the list posts `RowsWanted` for it. The screen fetches the page
in a worker and hands it back with `add_rows`. Each view gets a new generation number, so a page
that arrives for an old filter is ignored. The list never queries anything itself.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import ClassVar

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from evaltui.actions.cases import PAGE, CaseRow
from evaltui.actions.verdicts import CaseVerdict
from evaltui.tui.text import fit, plain

GAP = 2  # spaces between columns
MAX_PAGES = 40
OUTCOME_LABELS = {
    "fixed": "fixed",
    "broken": "broken",
    "both_right": "both right",
    "both_wrong": "both wrong",
    "missing": "missing",
}
FAILURE_MARK = "✗"
# a case's current verdict, after its failure mark; `~` (and dim) when it no longer counts
VERDICT_MARKS = {"confirm": "✓", "waive": "W", "relabel": "R", "note": "•"}
LAPSED_MARK = "~"


def verdict_mark(verdict: CaseVerdict | None) -> str:
    """Two cells: the kind's mark, then `~` for a stale or expired verdict ('' when none)."""
    if verdict is None:
        return ""
    lapsed = LAPSED_MARK if verdict.stale or verdict.expired else ""
    return VERDICT_MARKS.get(verdict.kind, "?") + lapsed


def outcome_label(case: CaseRow, *, paired: bool) -> str:
    """What a case came to: its outcome against the baseline, else right or wrong."""
    if paired:
        return OUTCOME_LABELS.get(case.outcome or "", case.outcome or "")
    return "right" if case.correct else "wrong"


@dataclass(frozen=True, slots=True)
class _Column:
    key: str
    header: str
    width: int
    justify: str = "left"


class CaseList(ScrollView, can_focus=True, inherit_bindings=False):
    """A keyboard-driven list of any number of cases with a fixed header line.

    It does not inherit ScrollView's keys: there is nothing to scroll sideways, and every key it
    has moves the cursor (the view follows).
    """

    HELP_NAME = "cases list"
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "case-list--header",
        "case-list--cursor",
        "case-list--fixed",
        "case-list--broken",
        "case-list--both-right",
        "case-list--both-wrong",
        "case-list--missing",
        "case-list--wrong",
        "case-list--pending",
        "case-list--lapsed",
    }
    DEFAULT_CSS = """
    CaseList { overflow-x: hidden; overflow-y: auto; }
    CaseList > .case-list--header { text-style: bold; }
    CaseList > .case-list--cursor {
        background: $block-cursor-background;
        color: $block-cursor-foreground;
        text-style: bold;
    }
    CaseList:blur > .case-list--cursor {
        background: $block-cursor-blurred-background;
        text-style: none;
    }
    CaseList > .case-list--fixed { color: $text-success; }
    CaseList > .case-list--broken { color: $text-error; text-style: bold; }
    CaseList > .case-list--both-wrong { color: $text-warning; }
    CaseList > .case-list--both-right { color: $text-muted; }
    CaseList > .case-list--missing { color: $text-muted; text-style: italic; }
    CaseList > .case-list--wrong { color: $text-error; }
    CaseList > .case-list--pending { color: $text-muted; }
    CaseList > .case-list--lapsed { text-style: dim; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("down,j", "move(1)", "next case", show=False, id="down"),
        Binding("up,k", "move(-1)", "previous case", show=False, id="up"),
        Binding("pagedown", "page(1)", "page down", show=False, id="page_down"),
        Binding("pageup", "page(-1)", "page up", show=False, id="page_up"),
        Binding("ctrl+d", "half_page(1)", "half page down", show=False, id="half_page_down"),
        Binding("ctrl+u", "half_page(-1)", "half page up", show=False, id="half_page_up"),
        Binding("g,home", "first", "first case", show=False, id="first"),
        Binding("G,end", "last", "last case", show=False, id="last"),
        Binding("enter", "open", "open", key_display="enter", id="open"),
    ]

    class RowsWanted(Message):
        """Rows [start, start + count) of view `generation` are needed on screen."""

        def __init__(self, generation: int, start: int, count: int) -> None:
            super().__init__()
            self.generation = generation
            self.start = start
            self.count = count

    class CursorMoved(Message):
        def __init__(self, row: int, case: CaseRow | None) -> None:
            super().__init__()
            self.row = row
            self.case = case

    class Opened(Message):
        def __init__(self, case: CaseRow) -> None:
            super().__init__()
            self.case = case

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.generation = 0
        self.total = 0
        self.paired = True
        self.cursor = 0
        self.route_width = 9
        self.case_width = 12  # widened to the longest id of the first page that arrives
        self._pages: OrderedDict[int, list[CaseRow]] = OrderedDict()
        self._pending: set[int] = set()
        self._open_when_loaded = False
        # verdicts by case id (the screen fills it page by page); None: the list has no verdicts
        self.verdicts: dict[str, CaseVerdict] | None = None

    # -- data in --------------------------------------------------------------------------------

    def reset(self, generation: int, total: int, *, paired: bool, cursor: int = 0) -> None:
        """Show a new view of `total` rows (numbered 0..total-1), cursor on `cursor`."""
        self.generation = generation
        self.total = total
        self.paired = paired
        self._pages.clear()
        self._pending.clear()
        self._open_when_loaded = False
        self.cursor = max(0, min(cursor, total - 1)) if total else 0
        self.virtual_size = Size(self.size.width, total + 1)
        self._scroll_cursor_into_view(center=cursor > 0)
        self.refresh()
        self._announce()

    def add_rows(self, generation: int, start: int, rows: list[CaseRow]) -> None:
        """A page arrived from a worker (ignored when it belongs to an older view)."""
        if generation != self.generation:
            return
        page = start // PAGE
        if not self._pages and rows:
            self.case_width = max(self.case_width, *(cell_len(plain(r.case_id)) for r in rows))
        self._pending.discard(page)
        self._pages[page] = rows
        self._pages.move_to_end(page)
        while len(self._pages) > MAX_PAGES:
            self._pages.popitem(last=False)
        self.refresh()
        if page == self.cursor // PAGE:
            self._announce()
            if self._open_when_loaded:
                self._open_when_loaded = False
                self.action_open()

    def row_at(self, index: int) -> CaseRow | None:
        page = self._pages.get(index // PAGE)
        if page is None:
            return None
        offset = index - (index // PAGE) * PAGE
        return page[offset] if offset < len(page) else None

    @property
    def current(self) -> CaseRow | None:
        return self.row_at(self.cursor) if self.total else None

    def loaded_case_ids(self) -> list[str]:
        """The case ids of the rows the list holds."""
        return [r.case_id for page in self._pages.values() for r in page]

    def set_verdicts(self, verdicts: dict[str, CaseVerdict], case_ids: list[str]) -> None:
        """The current verdicts of `case_ids` (a case not in `verdicts` has none any more)."""
        if self.verdicts is None:
            self.verdicts = {}
        for case_id in case_ids:
            found = verdicts.get(case_id)
            if found is None:
                self.verdicts.pop(case_id, None)
            else:
                self.verdicts[case_id] = found
        self.refresh()

    # -- movement -------------------------------------------------------------------------------

    def move_to(self, index: int, *, center: bool = False) -> None:
        if not self.total:
            return
        index = max(0, min(index, self.total - 1))
        if index == self.cursor:
            return
        self.cursor = index
        self._scroll_cursor_into_view(center=center)
        self.refresh()
        self._announce()

    @property
    def _list_height(self) -> int:
        return max(1, self.scrollable_content_region.height - 1)

    def _scroll_cursor_into_view(self, *, center: bool = False) -> None:
        top = round(self.scroll_y)
        height = self._list_height
        if top <= self.cursor < top + height:
            return
        target = (
            self.cursor - height // 3
            if center
            else (self.cursor if self.cursor < top else self.cursor - height + 1)
        )
        # force: until a layout pass has seen the new virtual size, Textual thinks there is no
        # scrollbar and drops the scroll (a jump can arrive from its worker before that pass)
        self.scroll_to(y=max(0, target), animate=False, immediate=True, force=True)

    def _announce(self) -> None:
        self.post_message(self.CursorMoved(self.cursor, self.current))

    def action_move(self, delta: int) -> None:
        self.move_to(self.cursor + delta)

    def action_page(self, direction: int) -> None:
        self.move_to(self.cursor + direction * self._list_height)

    def action_half_page(self, direction: int) -> None:
        self.move_to(self.cursor + direction * max(1, self._list_height // 2))

    def action_first(self) -> None:
        self.move_to(0)

    def action_last(self) -> None:
        self.move_to(self.total - 1)

    def action_open(self) -> None:
        case = self.current
        if case is not None:
            self.post_message(self.Opened(case))
        elif self.total:
            self._open_when_loaded = True

    def on_resize(self) -> None:
        self.virtual_size = Size(self.size.width, self.total + 1)

    # -- drawing --------------------------------------------------------------------------------

    def columns(self, width: int) -> list[_Column]:
        """The columns for `width` cells: routes and outcome fixed, id and slice share the rest."""
        route = max(8, min(self.route_width, 16))

        def route_column(key: str, header: str) -> _Column:
            return _Column(key, header, max(route, len(header)))

        mark = _Column("mark", "", 3 if self.verdicts is not None else 1)
        fixed = [mark, route_column("expected_route", "expected")]
        if self.paired:
            fixed += [
                route_column("baseline_route", "baseline"),
                route_column("route", "candidate"),
                _Column("outcome", "outcome", 10),
            ]
        else:
            fixed += [route_column("route", "route"), _Column("outcome", "result", 6)]
        gaps = GAP * (len(fixed) + 1) + 1  # between columns, and one space at the left edge
        rest = width - sum(c.width for c in fixed) - gaps  # for the case id and the slice
        show_split = rest >= 60
        if show_split:
            rest -= 11 + GAP
        # a narrow terminal drops the slice before it cuts the case id (ids are elided in the
        # middle, so the tail that tells them apart stays: `re…00117`)
        show_slice = rest >= 8 + 6
        if show_slice:
            case_width = max(8, min(self.case_width, rest // 2, 40))
        else:
            case_width = max(4, min(self.case_width, rest + GAP, 40))
        columns = [fixed[0], _Column("case_id", "case", case_width)]
        if show_split:
            columns.append(_Column("split", "split", 11))
        if show_slice:
            columns.append(_Column("slice_name", "slice", max(6, rest - case_width)))
        columns += fixed[1:]
        return columns

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        base = self.rich_style
        columns = self.columns(width)
        if y == 0:
            style = base + self.get_component_rich_style("case-list--header")
            return self._strip([(c.header, c) for c in columns], style, width)
        index = round(self.scroll_y) + y - 1
        if index >= self.total:
            return Strip.blank(width, base)
        case = self.row_at(index)
        if case is None:
            self._want(index)
            style = base + self.get_component_rich_style("case-list--pending")
            if index == self.cursor:
                style += self.get_component_rich_style("case-list--cursor")
            return self._strip([("…", columns[1])], style, width)
        style = base + self._row_style(case)
        if index == self.cursor:
            style += self.get_component_rich_style("case-list--cursor")
        strip = self._strip([(self._cell(case, c.key), c) for c in columns], style, width)
        verdict = self.verdicts.get(case.case_id) if self.verdicts is not None else None
        if verdict is not None and (verdict.stale or verdict.expired):
            # a verdict that no longer counts is dim as well as marked with `~`
            lapsed = self.get_component_rich_style("case-list--lapsed")
            strip = Strip.join(
                [strip.crop(0, 2), strip.crop(2, 4).apply_style(lapsed), strip.crop(4, width)]
            )
        return strip

    def _row_style(self, case: CaseRow) -> Style:
        if self.paired and case.outcome is not None:
            return self.get_component_rich_style(f"case-list--{case.outcome.replace('_', '-')}")
        return Style() if case.correct else self.get_component_rich_style("case-list--wrong")

    def _cell(self, case: CaseRow, key: str) -> str:
        if key == "mark":
            mark = " " if case.correct else FAILURE_MARK
            if self.verdicts is not None:
                mark += verdict_mark(self.verdicts.get(case.case_id))
            return mark
        if key == "outcome":
            return outcome_label(case, paired=self.paired)
        value = getattr(case, key)
        return "(none)" if value is None else plain(value, limit=200)

    @staticmethod
    def _strip(cells: list[tuple[str, _Column]], style: Style, width: int) -> Strip:
        text = (" " * GAP).join(
            fit(value, column.width, column.justify, middle=column.key == "case_id")
            for value, column in cells
        )
        return Strip([Segment(" " + text, style)]).crop_extend(0, width, style)

    def _want(self, index: int) -> None:
        page = index // PAGE
        if page in self._pending:
            return
        self._pending.add(page)
        self.post_message(self.RowsWanted(self.generation, page * PAGE, PAGE))
