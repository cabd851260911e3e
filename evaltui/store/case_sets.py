"""Which suite cases each run routed where, kept as bitstrings beside the results.

A suite's cases are numbered 0..n-1 in `case_id` order (suites are frozen, so the numbering never
changes). For every run and every route label it produced, table `result_sets` holds a bitstring
of n bits: bit i is set when the run routed case number i to that label. The loader writes these
in the same pass that checks the results (`check_and_record`), in the load's transaction, and a
replaced run loses them with its results. `suite_sets` holds, the same way, each suite's cases
per (split, expected route), written with the suite (`record_suite`).

The route cells of each run (cases per split, expected and predicted route: popcounts of its sets
against the suite's) are written with the sets, into `result_cells`. A review then never scans
the results: metrics and coverage are sums over a run's few cells, and the paired counts of 50
candidates against a baseline are popcounts of a few ANDs, whatever the number of cases. Tests
hold both to the queries over the results they replace.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import duckdb

if TYPE_CHECKING:
    import pyarrow as pa

TEMP_TABLE = "evaltui_load_sets"


def _numbered(suite_id_param: str = "?") -> str:
    """The suite's cases with their number (a CTE body), `case_id` order from 0."""
    return (
        "SELECT case_id, split, expected_route, "
        "(row_number() OVER (ORDER BY case_id) - 1)::UINTEGER AS number "
        f"FROM cases WHERE suite_id = {suite_id_param}"
    )


# The runs' sets are picked first, as their own step, and only for runs on the suite: bitstrings of
# different lengths cannot be ANDed, so no filter may be moved after the bit operations.
_SETS = (
    "SELECT s.run_id, s.route, s.cases FROM result_sets s JOIN runs USING (run_id) "
    "WHERE runs.suite_id = ? AND s.run_id IN (SELECT unnest(?::VARCHAR[]))"
)
_MASKS = "SELECT split, expected_route, cases FROM suite_sets WHERE suite_id = ?"


def _last(case_count: int) -> int:
    """The highest case number (bitstring_agg wants its range as literals)."""
    return max(0, int(case_count) - 1)


def record_suite(con: duckdb.DuckDBPyConnection, suite_id: str, case_count: int) -> None:
    """Write the suite's (split, expected route) case sets; its cases must be in the store."""
    con.execute(
        f"""INSERT INTO suite_sets
            WITH suite_cases AS ({_numbered()})
            SELECT ?, split, expected_route, bitstring_agg(number, 0, {_last(case_count)})
            FROM suite_cases GROUP BY split, expected_route""",
        [suite_id, suite_id],
    )


def record_suite_in_order(
    con: duckdb.DuckDBPyConnection, suite_id: str, splits: list[tuple[str, pa.ChunkedArray]]
) -> None:
    """`record_suite` for cases already in `case_id` order, split after split as given (each
    split's expected routes, in file order): case number i is row i, so there is nothing to sort
    (a million cases: 0.02 s against 0.05 s). The caller checks the order."""
    import numpy as np
    import pyarrow as pa

    sizes = [len(routes) for _, routes in splits]
    # numpy arrays handed over as buffers: `pa.array(ndarray)` would import numpy.ma (7 ms)
    positions = np.repeat(np.arange(len(splits), dtype=np.int32), sizes)
    numbers = np.arange(sum(sizes), dtype=np.uint32)
    numbered = pa.table(
        {
            "split": pa.DictionaryArray.from_arrays(
                pa.Array.from_buffers(pa.int32(), len(positions), [None, pa.py_buffer(positions)]),
                pa.array([name for name, _ in splits], pa.string()),
            ),
            "expected_route": pa.chunked_array(
                [chunk for _, routes in splits for chunk in routes.chunks], pa.string()
            ),
            "number": pa.Array.from_buffers(
                pa.uint32(), len(numbers), [None, pa.py_buffer(numbers)]
            ),
        }
    )
    con.register("_evaltui_numbered", numbered)
    try:
        con.execute(
            f"""INSERT INTO suite_sets
                SELECT ?, split::VARCHAR, expected_route,
                       bitstring_agg(number, 0, {_last(sum(sizes))})
                FROM _evaltui_numbered GROUP BY ALL""",
            [suite_id],
        )
    finally:
        con.unregister("_evaltui_numbered")


@dataclass(frozen=True, slots=True)
class ResultCheck:
    """What the load's check found in one run's results."""

    rows: int
    bad: int  # rows without a non-empty case_id and route
    unknown: int  # rows whose case_id is not in the suite
    duplicates: int  # rows beyond the first for a case id

    @property
    def ok(self) -> bool:
        return self.rows > 0 and not (self.bad or self.unknown or self.duplicates)


def check_and_record(
    con: duckdb.DuckDBPyConnection, suite_id: str, case_count: int, run_ids: list[str]
) -> dict[str, ResultCheck]:
    """Check the results of `run_ids` (all on `suite_id`) in one pass over them.

    When every run passes, their case sets are written to `result_sets`; otherwise nothing is
    written and the caller reports the failing runs. Runs without rows are absent from the answer.
    Must run inside the load's transaction (the working table is a temporary one).
    """
    last = _last(case_count)
    con.execute(
        f"""CREATE TEMPORARY TABLE {TEMP_TABLE} AS
            WITH suite_cases AS ({_numbered()})
            SELECT r.run_id, r.route,
                   count(*) AS n,
                   count(*) FILTER (WHERE r.case_id IS NULL OR r.case_id = ''
                                    OR r.route IS NULL OR r.route = '') AS bad,
                   count(*) FILTER (WHERE r.case_id IS NOT NULL AND c.number IS NULL) AS unknown,
                   count(c.number) AS matched,
                   bitstring_agg(c.number, 0, {last}) AS cases
            FROM results r
            LEFT JOIN suite_cases c ON c.case_id = r.case_id
            WHERE r.run_id IN (SELECT unnest(?::VARCHAR[]))
            GROUP BY r.run_id, r.route""",
        [suite_id, run_ids],
    )
    try:
        found = {
            run_id: ResultCheck(int(n), int(bad), int(unknown), int(duplicates))
            for run_id, n, bad, unknown, duplicates in con.execute(
                f"""SELECT run_id, sum(n), sum(bad), sum(unknown),
                           sum(matched) - coalesce(bit_count(bit_or(cases)), 0)
                    FROM {TEMP_TABLE} GROUP BY run_id"""
            ).fetchall()
        }
        if all(found.get(run_id, ResultCheck(0, 0, 0, 0)).ok for run_id in run_ids):
            con.execute(f"INSERT INTO result_sets SELECT run_id, route, cases FROM {TEMP_TABLE}")
            con.execute(
                f"""INSERT INTO result_cells
                    WITH masks AS MATERIALIZED ({_MASKS}),
                         cells AS (SELECT s.run_id, m.split, m.expected_route, s.route,
                                          bit_count(s.cases & m.cases) AS n
                                   FROM {TEMP_TABLE} s, masks m)
                    SELECT * FROM cells WHERE n > 0""",
                [suite_id],
            )
    finally:
        con.execute(f"DROP TABLE {TEMP_TABLE}")
    return found


def route_cells(
    con: duckdb.DuckDBPyConnection, suite_id: str, run_ids: Iterable[str]
) -> list[tuple[str, str, str, str, int]]:
    """(run_id, split, expected route, route, cases) for every non-empty cell of the runs."""
    rows = con.execute(
        """SELECT c.run_id, c.split, c.expected_route, c.route, c.cases
           FROM result_cells c JOIN runs USING (run_id)
           WHERE runs.suite_id = ? AND c.run_id IN (SELECT unnest(?::VARCHAR[]))""",
        [suite_id, list(run_ids)],
    ).fetchall()
    return [(run_id, split, exp, route, int(n)) for run_id, split, exp, route, n in rows]


def paired_counts(
    con: duckdb.DuckDBPyConnection, suite_id: str, baseline_id: str, run_ids: Iterable[str]
) -> list[tuple[str, int, int, int, int, int]]:
    """(run_id, n, fixed, broken, both_right, both_wrong) of each run against the baseline.

    n counts the cases both have results for; fixed are those the baseline routed wrong and the
    run right, broken the reverse. Runs without results (or a baseline without) get n = 0.
    """
    rows = con.execute(
        f"""WITH sets AS MATERIALIZED ({_SETS}),
                 expected AS MATERIALIZED (SELECT expected_route, bit_or(cases) AS cases
                                           FROM ({_MASKS}) GROUP BY expected_route),
                 runs AS (SELECT s.run_id, bit_or(s.cases) AS present,
                                 bit_or(coalesce(s.cases & e.cases, xor(s.cases, s.cases)))
                                     AS correct
                          FROM sets s
                          LEFT JOIN expected e ON e.expected_route = s.route
                          GROUP BY s.run_id),
                 base AS (SELECT present, correct FROM runs WHERE run_id = ?)
            SELECT r.run_id,
                   bit_count(r.present & b.present),
                   bit_count(r.correct & b.present & ~b.correct),
                   bit_count(b.correct & r.present & ~r.correct),
                   bit_count(r.correct & b.correct)
            FROM runs r, base b""",
        [suite_id, [baseline_id, *run_ids], suite_id, baseline_id],
    ).fetchall()
    return [
        (run_id, int(n), int(fixed), int(broken), int(right), int(n - fixed - broken - right))
        for run_id, n, fixed, broken, right in rows
    ]
