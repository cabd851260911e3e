"""SQL for per-case right/wrong across runs: the runs' outcome sets (flips, flakiness over
repeats) and the per-cluster paired sums. The statistics over them stay in review (`flips`,
`flakiness`, `clusters`)."""

from __future__ import annotations

import duckdb
import pyarrow as pa


def outcome_sets(
    con: duckdb.DuckDBPyConnection, suite_id: str, run_ids: list[str]
) -> list[tuple[str, str, str]]:
    """(run_id, present, right) for every run of `run_ids` on `suite_id` that has results.

    `present` and `right` are '0'/'1' strings of one character per suite case, numbered in
    `case_id` order (`store.case_sets`): the cases the run has a result for, and those it routed
    as expected. One grouped query over the case sets the loader recorded: the results are not
    scanned, so the cost is a few bit operations per run whatever the number of cases.
    """
    rows = con.execute(
        """WITH sets AS MATERIALIZED (
                SELECT s.run_id, s.route, s.cases FROM result_sets s JOIN runs USING (run_id)
                WHERE runs.suite_id = ? AND s.run_id IN (SELECT unnest(?::VARCHAR[]))),
                expected AS MATERIALIZED (
                SELECT expected_route, bit_or(cases) AS cases FROM suite_sets
                WHERE suite_id = ? GROUP BY expected_route)
           SELECT s.run_id, bit_or(s.cases)::VARCHAR,
                  bit_or(coalesce(s.cases & e.cases, xor(s.cases, s.cases)))::VARCHAR
           FROM sets s LEFT JOIN expected e ON e.expected_route = s.route
           GROUP BY s.run_id""",
        [suite_id, run_ids, suite_id],
    ).fetchall()
    return [(str(run_id), str(present), str(right)) for run_id, present, right in rows]


def case_ids_numbered(
    con: duckdb.DuckDBPyConnection, suite_id: str, numbers: list[int]
) -> list[str]:
    """The case ids of the suite's cases numbered `numbers` (`case_id` order from 0, as in the
    case sets), ascending."""
    rows = con.execute(
        """WITH numbered AS (
                SELECT case_id, row_number() OVER (ORDER BY case_id) - 1 AS number
                FROM cases WHERE suite_id = ?)
           SELECT case_id FROM numbered
           WHERE number IN (SELECT unnest(?::BIGINT[])) ORDER BY number""",
        [suite_id, numbers],
    ).fetchall()
    return [str(case_id) for (case_id,) in rows]


def cluster_differences(
    con: duckdb.DuckDBPyConnection,
    suite_id: str,
    field: str,
    baseline_id: str,
    run_ids: list[str],
) -> pa.Table:
    """(run_id, cluster, d, n) per run and cluster of the case field `field`: `d` the sum of
    (candidate right - baseline right), `n` the paired cases; a case without the field is its
    own cluster. One grouped query for all runs."""
    path = f'$."{field}"'
    return con.sql(
        """WITH c AS (SELECT case_id, expected_route,
                             coalesce(json_extract_string(canonical, ?), '\x00' || case_id)
                                 AS cluster
                      FROM cases WHERE suite_id = ?),
                b AS (SELECT case_id, route IS NOT DISTINCT FROM expected_route AS right
                      FROM results JOIN c USING (case_id) WHERE run_id = ?),
                r AS (SELECT run_id, case_id, route IS NOT DISTINCT FROM expected_route AS right
                      FROM results JOIN c USING (case_id)
                      WHERE run_id IN (SELECT unnest(?::VARCHAR[])))
           SELECT r.run_id, c.cluster,
                  sum(r.right::INTEGER - b.right::INTEGER)::BIGINT AS d,
                  count(*)::BIGINT AS n
           FROM r JOIN b USING (case_id) JOIN c USING (case_id)
           GROUP BY r.run_id, c.cluster
           ORDER BY r.run_id, c.cluster""",
        params=[path, suite_id, baseline_id, run_ids],
    ).to_arrow_table()
