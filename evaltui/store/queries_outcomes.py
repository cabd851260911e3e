"""SQL over the results for per-case right/wrong across runs: the flip matrix and the per-cluster
paired sums. Both return Arrow; the statistics over them stay in review (`flips`, `clusters`)."""

from __future__ import annotations

import duckdb
import pyarrow as pa


def case_outcomes(con: duckdb.DuckDBPyConnection, suite_id: str, run_ids: list[str]) -> pa.Table:
    """(case_id, col, right) for every result of `run_ids`: `col` is the run's index in
    `run_ids`, `right` whether it routed the case as expected; in case-id order."""
    return con.sql(
        """SELECT c.case_id, list_position(?::VARCHAR[], r.run_id) - 1 AS col,
                  r.route IS NOT DISTINCT FROM c.expected_route AS right
           FROM results r JOIN cases c ON c.case_id = r.case_id AND c.suite_id = ?
           WHERE r.run_id IN (SELECT unnest(?::VARCHAR[]))
           ORDER BY c.case_id""",
        params=[run_ids, suite_id, run_ids],
    ).to_arrow_table()


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
