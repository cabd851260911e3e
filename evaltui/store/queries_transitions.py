"""SQL over the results for route transitions: baseline route x candidate route, per run.

One set-based query for all candidates; `review.transitions` turns its rows into matrices.
"""

from __future__ import annotations

import duckdb

TRANSITIONS_SQL = """
WITH base AS (SELECT case_id, route FROM results WHERE run_id = ?)
SELECT r.run_id,
       base.route,
       r.route,
       count(*),
       count(*) FILTER (WHERE base.route <> c.expected_route AND r.route = c.expected_route),
       count(*) FILTER (WHERE base.route = c.expected_route AND r.route <> c.expected_route)
FROM results r
JOIN base ON base.case_id = r.case_id
JOIN cases c ON c.suite_id = ? AND c.case_id = r.case_id
WHERE r.run_id IN (SELECT unnest(?::VARCHAR[]))
GROUP BY r.run_id, base.route, r.route
ORDER BY r.run_id, base.route, r.route
"""


def transition_counts(
    con: duckdb.DuckDBPyConnection, baseline_id: str, suite_id: str, run_ids: list[str]
) -> list[tuple[str, str, str, int, int, int]]:
    """(run, baseline route, candidate route, cases, fixed, broken) for every non-empty cell of
    every run in `run_ids` against the baseline, on the cases both have results for."""
    return [
        (run_id, base_route, route, int(count), int(fixed), int(broken))
        for run_id, base_route, route, count, fixed, broken in con.execute(
            TRANSITIONS_SQL, [baseline_id, suite_id, run_ids]
        ).fetchall()
    ]
