"""Open a baseline/candidate pair, filter it, page it, step its failures and open one case.

The pair's cases are numbered once (`PairCases.build`); each filter is a numbered view
(`CaseView`) that replaces the old one. Stepping to the next failure is one indexed query and
brings the page around it in the same round trip, so one keypress is one worker call. A view
dropped while a call was on its way (the reviewer changed the filter) answers None.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import pyarrow as pa

from evaltui.actions.review import run_of
from evaltui.store.queries import RunInfo
from evaltui.store.queries_case_pages import CaseView, PairCases, SliceCount, Transition
from evaltui.store.queries_cases import CaseDetail, CaseFilter, case_detail, fetch_cases

PAGE = 100  # rows fetched at a time; a failure jump brings the page its target is on


@dataclass(frozen=True, slots=True)
class CaseRow:
    """One row of a view as stored (raw, unsanitized: sanitize when drawing)."""

    row: int
    pair_row: int
    case_id: str
    split: str
    slice_name: str | None
    expected_route: str
    baseline_route: str | None
    route: str | None
    outcome: str | None
    correct: bool


def case_rows(table: pa.Table) -> list[CaseRow]:
    """A page of a view (`CaseView.page`) as rows; a page is at most PAGE rows."""
    return [CaseRow(**record) for record in table.to_pylist()]


def list_cases(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    baseline_id: str | None,
    where: CaseFilter,
    *,
    limit: int | None = None,
) -> tuple[pa.Table, bool]:
    """The cases of a run (paired with a baseline when named) that pass `where`, in suite order,
    as Arrow (`evaltui cases`); and whether they are paired. Unknown ids err on their field."""
    run = run_of(con, run_id, "run")
    baseline = run_of(con, baseline_id, "baseline") if baseline_id else None
    return fetch_cases(con, run, baseline, where, limit=limit), baseline is not None


@dataclass(frozen=True, slots=True)
class ViewData:
    """A freshly built view and what is shown about it."""

    view: CaseView
    cursor: int
    transitions: list[Transition]
    outcomes: dict[str, int]


@dataclass(frozen=True, slots=True)
class OpenedPair:
    pair: PairCases
    slices: list[SliceCount]
    data: ViewData


def _describe(con: duckdb.DuckDBPyConnection, view: CaseView, cursor: int) -> ViewData:
    # the failure rows are read now, in bulk with the view, so even the first `n` is only a
    # binary search in memory (it queried the view, ~8 ms on a 200,000-case pair)
    view.failure_rows(con)
    return ViewData(view, cursor, view.transitions(con), view.outcome_counts(con))


def open_pair(
    con: duckdb.DuckDBPyConnection, run: RunInfo, baseline: RunInfo | None, where: CaseFilter
) -> OpenedPair:
    """Number the pair's cases, build the first view and describe it."""
    pair = PairCases.build(con, run, baseline)
    view = pair.view(con, where)
    return OpenedPair(pair, pair.slices(con), _describe(con, view, 0))


def apply_filter(
    con: duckdb.DuckDBPyConnection, pair: PairCases, where: CaseFilter, pair_row: int | None
) -> ViewData:
    """A new view of the pair; the cursor stays on `pair_row` (or the next case that passes)."""
    view = pair.view(con, where)
    cursor = 0 if pair_row is None or not view.total else view.locate(con, pair_row)
    return _describe(con, view, cursor)


def drop_view(con: duckdb.DuckDBPyConnection, data: ViewData) -> None:
    data.view.drop(con)


def drop_opened(con: duckdb.DuckDBPyConnection, opened: OpenedPair) -> None:
    opened.data.view.drop(con)
    opened.pair.drop(con)


def load_page(
    con: duckdb.DuckDBPyConnection, view: CaseView, start: int, rows: int
) -> list[CaseRow] | None:
    try:
        return case_rows(view.page(con, start, rows))
    except duckdb.CatalogException:  # the view was replaced (and dropped) meanwhile
        return None


@dataclass(frozen=True, slots=True)
class Jump:
    """Where a failure jump lands, with the page of rows around it (one worker round trip)."""

    table: str
    steps: int
    target: int | None
    failures_before: int
    page_start: int
    rows: list[CaseRow]


def jump(
    con: duckdb.DuckDBPyConnection,
    view: CaseView,
    start: int,
    steps: int,
    *,
    unjudged_only: bool = False,
) -> Jump | None:
    """`steps` failures after (or, negative, before) row `start`, and the page it is on.

    With `unjudged_only`, only failures that no counting verdict judges yet (`n`/`N` in the
    "unjudged" mode); `failures_before` then counts unjudged failures before the target.
    """
    try:
        target = view.step_failure(con, start, steps, unjudged_only=unjudged_only)
        if target is None:
            return Jump(view.table, steps, None, 0, 0, [])
        before = view.failures_before(con, target, unjudged_only=unjudged_only)
        page_start = (target // PAGE) * PAGE
        rows = case_rows(view.page(con, page_start, PAGE))
    except duckdb.CatalogException:  # the view was replaced (and dropped) meanwhile
        return None
    return Jump(view.table, steps, target, before, page_start, rows)


@dataclass(frozen=True, slots=True)
class FailureNumber:
    """Where a failure reached by hand stands: number `number` of `of` failures of the view, or,
    with `unjudged`, of its failures not judged yet."""

    table: str
    row: int
    number: int
    of: int
    unjudged: bool = False

    def label(self) -> str:
        return f"{'unjudged' if self.unjudged else 'failure'} {self.number:,} of {self.of:,}"


def failure_number(
    con: duckdb.DuckDBPyConnection, view: CaseView, row: int, unjudged_only: bool = False
) -> FailureNumber | None:
    """Number the failure at `row`: "failure k of n"; with `unjudged_only` (n/N stepping
    through unjudged failures), "unjudged k of m" when no counting verdict judges it yet (a
    judged failure keeps its "failure k of n"). None when the view was replaced meanwhile."""
    try:
        if unjudged_only:
            before = view.failures_before(con, row, unjudged_only=True)
            if view.failures_before(con, row + 1, unjudged_only=True) > before:  # it is one
                return FailureNumber(
                    view.table, row, before + 1, view.unjudged_count(con), unjudged=True
                )
        before = view.failures_before(con, row)
        return FailureNumber(view.table, row, before + 1, view.failures)
    except duckdb.CatalogException:
        return None


@dataclass(frozen=True, slots=True)
class Shown:
    """One case of a view and everything about it."""

    case: CaseRow
    detail: CaseDetail


def load_case(
    con: duckdb.DuckDBPyConnection, case: CaseRow, suite_id: str, run_ids: list[str]
) -> Shown:
    return Shown(case, case_detail(con, suite_id, case.case_id, run_ids))


def step_case(
    con: duckdb.DuckDBPyConnection,
    view: CaseView,
    row: int,
    steps: int,
    suite_id: str,
    run_ids: list[str],
    *,
    unjudged_only: bool = False,
) -> Shown | None:
    """The next (or previous) failure after `row` (with `unjudged_only`: unjudged failure) and
    its detail; None when there is none."""
    target = view.step_failure(con, row, steps, unjudged_only=unjudged_only)
    if target is None:
        return None
    case = case_rows(view.page(con, target, 1))[0]
    return Shown(case, case_detail(con, suite_id, case.case_id, run_ids))
