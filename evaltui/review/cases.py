"""Per-case rows of a run, optionally paired with a baseline, with outcomes and filters.

The query is built here (never in a widget) and returns Arrow, so callers can page through
hundreds of thousands of rows without turning them into Python objects.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import duckdb
import pyarrow as pa

from evaltui.errors import InputError
from evaltui.store.queries import RunInfo

OUTCOMES = ("fixed", "broken", "both_right", "both_wrong", "missing")


@dataclass(frozen=True, slots=True)
class CaseFilter:
    failures_only: bool = False
    slice_name: str | None = None
    outcome: str | None = None
    split: str | None = None
    text: str | None = None  # substring of case id, slice, routes or output (case-insensitive)


def outcome_sql(candidate: str, baseline: str, expected: str) -> str:
    """SQL classifying one case of a pair."""
    return f"""CASE
        WHEN {candidate} IS NULL OR {baseline} IS NULL THEN 'missing'
        WHEN {baseline} <> {expected} AND {candidate} = {expected} THEN 'fixed'
        WHEN {baseline} = {expected} AND {candidate} <> {expected} THEN 'broken'
        WHEN {candidate} = {expected} THEN 'both_right'
        ELSE 'both_wrong' END"""


def case_query(run: RunInfo, baseline: RunInfo | None, where: CaseFilter) -> tuple[str, list[Any]]:
    """SQL and parameters for the rows of `run` (paired with `baseline` when given)."""
    if where.outcome is not None and where.outcome not in OUTCOMES:
        raise InputError(
            None, f"--outcome must be one of {', '.join(OUTCOMES)}, not {where.outcome!r}"
        )
    if where.outcome is not None and baseline is None:
        raise InputError(None, "--outcome needs a baseline (--vs RUN)")
    params: list[Any] = [run.run_id]
    select = [
        "c.case_id",
        "c.split",
        "c.slice_name",
        "c.evidence_state",
        "c.expected_route",
    ]
    joins = "LEFT JOIN results r ON r.run_id = ? AND r.case_id = c.case_id"
    if baseline is not None:
        select.append("b.route AS baseline_route")
        joins += " LEFT JOIN results b ON b.run_id = ? AND b.case_id = c.case_id"
        params.append(baseline.run_id)
    select += ["r.route", "r.route IS NOT DISTINCT FROM c.expected_route AS correct"]
    if baseline is not None:
        select.append(f"{outcome_sql('r.route', 'b.route', 'c.expected_route')} AS outcome")
    select += ["r.score", "r.latency_ms", "r.tokens", "r.output"]
    conditions = ["c.suite_id = ?"]
    params.append(run.suite_id)
    if baseline is not None:
        conditions.append("(r.route IS NOT NULL OR b.route IS NOT NULL)")
    else:
        conditions.append("r.route IS NOT NULL")
    if where.failures_only:
        conditions.append("r.route IS DISTINCT FROM c.expected_route")
    if where.slice_name is not None:
        conditions.append("c.slice_name = ?")
        params.append(where.slice_name)
    if where.split is not None:
        conditions.append("c.split = ?")
        params.append(where.split)
    if where.outcome is not None:
        conditions.append(f"{outcome_sql('r.route', 'b.route', 'c.expected_route')} = ?")
        params.append(where.outcome)
    if where.text:
        haystack = "concat_ws(' ', c.case_id, c.slice_name, c.expected_route, r.route, r.output)"
        conditions.append(f"contains(lower({haystack}), lower(?))")
        params.append(where.text)
    sql = (
        f"SELECT {', '.join(select)} FROM cases c {joins} "
        f"JOIN suite_splits s ON s.suite_id = c.suite_id AND s.split = c.split "
        f"WHERE {' AND '.join(conditions)} ORDER BY s.position, c.case_id"
    )
    return sql, params


def fetch_cases(
    con: duckdb.DuckDBPyConnection,
    run: RunInfo,
    baseline: RunInfo | None = None,
    where: CaseFilter | None = None,
) -> pa.Table:
    if baseline is not None and baseline.suite_id != run.suite_id:
        raise InputError(
            None,
            f"{run.run_id} (suite {run.suite_id}) and {baseline.run_id} (suite {baseline.suite_id}) "
            "ran on different suites; their cases cannot be paired",
        )
    sql, params = case_query(run, baseline, where or CaseFilter())
    return con.sql(sql, params=params).to_arrow_table()
