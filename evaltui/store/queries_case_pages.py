"""A pair's cases as a numbered list, so paging and failure jumps are index lookups.

The cases of a candidate (and its baseline) are joined and numbered once, in suite order, into a
thin table in the scratch schema (`PairCases`); each filter is a further numbered copy
(`CaseView`). A page is then `row BETWEEN a AND b`. A view's failure rows are fetched once, on
the first jump, into a sorted array: the next failure and a failure's ordinal are then binary
searches, so a keypress costs the same with 200,000 cases as with 500. Recent pages are kept
too (views never change once built). Outputs stay in the store: only ids, routes and outcomes
are copied, so a 200,000-case pair costs a few megabytes.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import duckdb
import numpy as np
import pyarrow as pa

from evaltui.store import queries_verdicts
from evaltui.store.queries import RunInfo
from evaltui.store.queries_cases import OUTCOMES, CaseFilter, filter_conditions, pair_query
from evaltui.store.scratch import drop_table, new_table_name

PAGE_COLUMNS = (
    "row",
    "pair_row",
    "case_id",
    "split",
    "slice_name",
    "expected_route",
    "baseline_route",
    "route",
    "outcome",
    "correct",
)


@dataclass(frozen=True, slots=True)
class Transition:
    """How many cases went from one route (baseline's, or expected when unpaired) to another."""

    source: str | None
    target: str | None
    count: int


@dataclass(frozen=True, slots=True)
class SliceCount:
    slice_name: str | None
    cases: int
    failures: int


@dataclass(frozen=True, slots=True)
class PairCases:
    """Every case of `run` (paired with `baseline` when given), numbered in suite order."""

    table: str
    run: RunInfo
    baseline: RunInfo | None
    total: int
    failures: int

    @property
    def paired(self) -> bool:
        return self.baseline is not None

    @classmethod
    def build(
        cls, con: duckdb.DuckDBPyConnection, run: RunInfo, baseline: RunInfo | None
    ) -> PairCases:
        sql, params = pair_query(run, baseline)
        table = new_table_name(con, "pair")
        con.execute(
            f"""CREATE TABLE {table} AS
                SELECT row_number() OVER (ORDER BY position, case_id) - 1 AS row,
                       row AS pair_row, case_id, split, slice_name, expected_route,
                       baseline_route, route, outcome, correct
                FROM ({sql}) ORDER BY row""",
            params,
        )
        total, failures = _counts(con, table)
        return cls(table, run, baseline, total, failures)

    def view(self, con: duckdb.DuckDBPyConnection, where: CaseFilter | None = None) -> CaseView:
        """The cases that pass `where`, renumbered from 0 in suite order.

        Without a filter the pair's own table is the view (nothing is copied).
        """
        where = where or CaseFilter()
        conditions, params = filter_conditions(where, self.run, self.baseline)
        ids = (self.run.run_id, self.baseline.run_id if self.baseline else None)
        if where.unjudged_only:
            conditions.append("NOT correct")
            if self.baseline is not None:  # unpaired, no verdict applies: every failure
                judged, judged_params = queries_verdicts.judged_cases_sql(
                    con, self.run.run_id, self.baseline.run_id, _today()
                )
                conditions.append(f"case_id NOT IN ({judged})")
                params += judged_params
        if not conditions:
            return CaseView(
                self.table, where, self.total, self.failures, self.paired, owned=False, pair_ids=ids
            )
        table = new_table_name(con, "view")
        con.execute(
            f"""CREATE TABLE {table} AS
                SELECT row_number() OVER (ORDER BY row) - 1 AS row, * EXCLUDE (row)
                FROM {self.table} WHERE {" AND ".join(conditions)} ORDER BY row""",
            params,
        )
        total, failures = _counts(con, table)
        return CaseView(table, where, total, failures, self.paired, owned=True, pair_ids=ids)

    def slices(self, con: duckdb.DuckDBPyConnection) -> list[SliceCount]:
        """Every slice of the pair with its case and failure counts, by name."""
        rows = con.execute(
            f"""SELECT slice_name, count(*), count(*) FILTER (WHERE NOT correct)
                FROM {self.table} GROUP BY slice_name ORDER BY slice_name NULLS LAST"""
        ).fetchall()
        return [SliceCount(name, int(n), int(bad)) for name, n, bad in rows]

    def drop(self, con: duckdb.DuckDBPyConnection) -> None:
        drop_table(con, self.table)


class _ViewCache:
    """What a view has already fetched: its failure rows and its most recent pages.

    Shared by the worker threads that read one view; a race only fetches something twice.
    """

    PAGES = 32

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.failure_rows: np.ndarray | None = None
        # the unjudged failures' rows, and the verdict tables' generation they were read at
        self.unjudged: tuple[int, np.ndarray] | None = None
        self.pages: OrderedDict[tuple[int, int], pa.Table] = OrderedDict()


@dataclass(frozen=True, slots=True)
class CaseView:
    """A pair's cases under one filter, numbered 0..total-1 (`row`)."""

    table: str
    where: CaseFilter
    total: int
    failures: int
    paired: bool
    owned: bool  # False when this is the pair's own table, which the view must not drop
    pair_ids: tuple[str, str | None] | None = None  # (run, baseline): whose verdicts count here
    _cache: _ViewCache = field(default_factory=_ViewCache, compare=False, repr=False)

    def page(self, con: duckdb.DuckDBPyConnection, start: int, count: int) -> pa.Table:
        """Rows `start` .. `start + count - 1` (fewer at the end), with PAGE_COLUMNS."""
        cache, key = self._cache, (start, count)
        with cache.lock:
            found = cache.pages.get(key)
            if found is not None:
                cache.pages.move_to_end(key)
                return found
        columns = ", ".join(PAGE_COLUMNS)
        table = con.sql(
            f"SELECT {columns} FROM {self.table} WHERE row >= ? AND row < ? ORDER BY row",
            params=[start, start + count],
        ).to_arrow_table()
        with cache.lock:
            cache.pages[key] = table
            while len(cache.pages) > cache.PAGES:
                cache.pages.popitem(last=False)
        return table

    def failure_rows(self, con: duckdb.DuckDBPyConnection) -> np.ndarray:
        """Every failure's row, ascending (fetched once per view)."""
        cache = self._cache
        if cache.failure_rows is None:
            found = con.execute(
                f"SELECT row FROM {self.table} WHERE NOT correct ORDER BY row"
            ).fetchnumpy()["row"]
            cache.failure_rows = np.asarray(found, dtype=np.int64)
        return cache.failure_rows

    def unjudged_failure_rows(self, con: duckdb.DuckDBPyConnection) -> np.ndarray:
        """The rows of failures no counting verdict judges yet, ascending (`queries_verdicts.
        judged_cases_sql`: the one definition). Read again whenever a verdict was loaded or
        recorded since; unpaired, every failure is unjudged (verdicts are on a pair's cases)."""
        run, baseline = self.pair_ids or ("", None)
        if baseline is None:
            return self.failure_rows(con)
        cache, seen = self._cache, queries_verdicts.generation
        found = cache.unjudged
        if found is not None and found[0] == seen:
            return found[1]
        if found is not None:  # verdicts recorded since: drop their rows (a reload: read all)
            judged = queries_verdicts.judged_since(con, found[0], run, baseline)
            if judged is not None:
                array = found[1]
                if judged:
                    gone = con.execute(
                        f"SELECT row FROM {self.table} WHERE case_id IN "
                        "(SELECT unnest(?::VARCHAR[]))",
                        [judged],
                    ).fetchnumpy()["row"]
                    array = array[~np.isin(array, np.asarray(gone, dtype=np.int64))]
                cache.unjudged = (seen, array)
                return array
        sql, params = queries_verdicts.judged_cases_sql(con, run, baseline, _today())
        rows = con.execute(
            f"""SELECT row FROM {self.table}
                WHERE NOT correct AND case_id NOT IN ({sql}) ORDER BY row""",
            params,
        ).fetchnumpy()["row"]
        array = np.asarray(rows, dtype=np.int64)
        cache.unjudged = (seen, array)
        return array

    def _failures(self, con: duckdb.DuckDBPyConnection, unjudged_only: bool) -> np.ndarray:
        return self.unjudged_failure_rows(con) if unjudged_only else self.failure_rows(con)

    def step_failure(
        self,
        con: duckdb.DuckDBPyConnection,
        row: int,
        steps: int,
        *,
        unjudged_only: bool = False,
    ) -> int | None:
        """The row `steps` failures after `row` (before it when negative), or the farthest there is;
        with `unjudged_only`, only failures no counting verdict judges yet are stepped through.

        None when there is no (unjudged) failure at all in that direction.
        """
        if steps == 0:
            return row
        rows = self._failures(con, unjudged_only)
        if steps > 0:
            first = int(np.searchsorted(rows, row, side="right"))  # first failure after `row`
            if first >= len(rows):
                return None
            return int(rows[min(first + steps - 1, len(rows) - 1)])
        before = int(np.searchsorted(rows, row, side="left"))  # failures before `row`
        if before == 0:
            return None
        return int(rows[max(before + steps, 0)])

    def failures_before(
        self, con: duckdb.DuckDBPyConnection, row: int, *, unjudged_only: bool = False
    ) -> int:
        """How many (unjudged) failures come before `row` (a failure at `row` is number this + 1)."""
        return int(np.searchsorted(self._failures(con, unjudged_only), row, side="left"))

    def unjudged_count(self, con: duckdb.DuckDBPyConnection) -> int:
        return len(self.unjudged_failure_rows(con))

    def prefetch(
        self,
        con: duckdb.DuckDBPyConnection,
        row: int,
        steps: int,
        count: int,
        *,
        unjudged_only: bool = False,
    ) -> None:
        """Fetch into the cache the `count`-row page of the failure `steps` away from `row`.

        Run after a jump, so that the next keypress in the same direction finds its page here.
        Quietly does nothing once the view has been dropped.
        """
        try:
            target = self.step_failure(con, row, steps, unjudged_only=unjudged_only)
            if target is not None:
                self.page(con, (target // count) * count, count)
        except duckdb.CatalogException:
            pass

    def locate(self, con: duckdb.DuckDBPyConnection, pair_row: int) -> int:
        """The row of this view at or after the pair's row `pair_row` (the last row if none)."""
        found = con.execute(
            f"SELECT min(row) FROM {self.table} WHERE pair_row >= ?", [pair_row]
        ).fetchall()[0][0]
        return max(0, self.total - 1) if found is None else int(found)

    def transitions(self, con: duckdb.DuckDBPyConnection) -> list[Transition]:
        """Baseline route x candidate route counts (expected x route when unpaired)."""
        source = "baseline_route" if self.paired else "expected_route"
        rows = con.execute(
            f"SELECT {source}, route, count(*) FROM {self.table} GROUP BY ALL ORDER BY ALL"
        ).fetchall()
        return [Transition(a, b, int(n)) for a, b, n in rows]

    def outcome_counts(self, con: duckdb.DuckDBPyConnection) -> dict[str, int]:
        """Cases per outcome (empty when unpaired), in the order of OUTCOMES."""
        if not self.paired:
            return {}
        found = dict(
            con.execute(f"SELECT outcome, count(*) FROM {self.table} GROUP BY outcome").fetchall()
        )
        return {name: int(found.get(name, 0)) for name in OUTCOMES}

    def drop(self, con: duckdb.DuckDBPyConnection) -> None:
        if self.owned:
            drop_table(con, self.table)


def _today() -> date:
    return datetime.now(UTC).date()


def _counts(con: duckdb.DuckDBPyConnection, table: str) -> tuple[int, int]:
    """Rows and failures (rows whose candidate route is not the expected one) of a table."""
    rows = con.execute(
        f"SELECT count(*), count(*) FILTER (WHERE NOT correct) FROM {table}"
    ).fetchall()
    return int(rows[0][0]), int(rows[0][1])
