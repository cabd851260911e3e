"""A view's in-memory failure index and page cache answer exactly what the queries answer.

`CaseView.step_failure` and `failures_before` binary-search the view's failure rows (fetched once)
instead of querying the scratch table on every keypress; here they are held to the SQL they
replace, from every row and for every step size, on filtered and unfiltered views.
"""

from __future__ import annotations

import duckdb
import pytest

from evaltui.store.queries_case_pages import CaseView, PairCases
from evaltui.store.queries_cases import CaseFilter


def sql_step(con: duckdb.DuckDBPyConnection, view: CaseView, row: int, steps: int) -> int | None:
    if steps == 0:
        return row
    if steps > 0:
        sql = (
            f"SELECT max(row) FROM (SELECT row FROM {view.table} WHERE NOT correct AND row > ? "
            "ORDER BY row LIMIT ?)"
        )
    else:
        sql = (
            f"SELECT min(row) FROM (SELECT row FROM {view.table} WHERE NOT correct AND row < ? "
            "ORDER BY row DESC LIMIT ?)"
        )
    found = con.execute(sql, [row, abs(steps)]).fetchall()[0][0]
    return None if found is None else int(found)


def sql_before(con: duckdb.DuckDBPyConnection, view: CaseView, row: int) -> int:
    sql = f"SELECT count(*) FROM {view.table} WHERE NOT correct AND row < ?"
    return int(con.execute(sql, [row]).fetchall()[0][0])


@pytest.mark.parametrize(
    "where",
    [CaseFilter(), CaseFilter(failures_only=True), CaseFilter(outcome="both_right")],
    ids=["all", "failures", "no-failures"],
)
def test_index_agrees_with_the_queries(
    sample_con: duckdb.DuckDBPyConnection, pair: PairCases, where: CaseFilter
) -> None:
    view = pair.view(sample_con, where)
    rows = sorted({-1, 0, view.total - 1, view.total, *range(1, view.total, 5)})
    failures = set(view.failure_rows(sample_con).tolist())
    rows = sorted({*rows, *failures, *(f + 1 for f in failures)})  # every failure and beyond
    for row in rows:
        for steps in (-1000, -3, -1, 0, 1, 2, 7, 1000):
            assert view.step_failure(sample_con, row, steps) == sql_step(
                sample_con, view, row, steps
            ), (row, steps)
        assert view.failures_before(sample_con, row) == sql_before(sample_con, view, row)
    assert len(view.failure_rows(sample_con)) == view.failures


def test_cached_pages_are_the_same_rows(
    sample_con: duckdb.DuckDBPyConnection, pair: PairCases
) -> None:
    view = pair.view(sample_con)
    first = view.page(sample_con, 100, 50)
    again = view.page(sample_con, 100, 50)
    assert again is first  # served from the cache
    for start in range(0, view.total, 10):  # more pages than the cache keeps
        view.page(sample_con, start, 10)
    fresh = view.page(sample_con, 100, 50)
    assert fresh is not first and fresh.to_pylist() == first.to_pylist()
    assert [r["row"] for r in fresh.to_pylist()] == list(range(100, 150))


def test_prefetch_puts_the_next_failure_page_in_the_cache(
    sample_con: duckdb.DuckDBPyConnection, pair: PairCases
) -> None:
    view = pair.view(sample_con)
    first = view.step_failure(sample_con, -1, 1)
    assert first is not None
    second = view.step_failure(sample_con, first, 1)
    assert second is not None
    key = ((second // 10) * 10, 10)
    assert key not in view._cache.pages
    view.prefetch(sample_con, first, 1, 10)
    assert key in view._cache.pages
    page = view.page(sample_con, *key)
    assert page is view._cache.pages[key]
    assert second in [r["row"] for r in page.to_pylist()]
    pair.drop(sample_con)
    view.prefetch(sample_con, 0, 1, 10)  # the table is gone: nothing happens, nothing raised
