"""Per-case rows of a run, optionally paired with a baseline, with outcomes and filters.

The query is built here (never in a widget) and returns Arrow, so callers can page through
hundreds of thousands of rows without turning them into Python objects.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import duckdb
import pyarrow as pa

from evaltui.errors import InputError, NotFoundError
from evaltui.store.queries import RunInfo

OUTCOMES = ("fixed", "broken", "both_right", "both_wrong", "missing")


@dataclass(frozen=True, slots=True)
class CaseFilter:
    failures_only: bool = False
    slice_name: str | None = None
    outcome: str | None = None
    split: str | None = None
    text: str | None = None  # substring of case id, slice, routes or output (case-insensitive)
    # failures no counting verdict judges yet (the case pager's views only: `PairCases.view`
    # reads the verdict tables; `fetch_cases` refuses it)
    unjudged_only: bool = False


def outcome_sql(candidate: str, baseline: str, expected: str) -> str:
    """SQL classifying one case of a pair."""
    return f"""CASE
        WHEN {candidate} IS NULL OR {baseline} IS NULL THEN 'missing'
        WHEN {baseline} <> {expected} AND {candidate} = {expected} THEN 'fixed'
        WHEN {baseline} = {expected} AND {candidate} <> {expected} THEN 'broken'
        WHEN {candidate} = {expected} THEN 'both_right'
        ELSE 'both_wrong' END"""


def pair_query(run: RunInfo, baseline: RunInfo | None) -> tuple[str, list[Any]]:
    """SQL and parameters for every case of `run` (paired with `baseline` when given).

    One row per suite case that either run has a result for, with its suite order (`position`),
    the pair's columns (`baseline_route` and `outcome` are NULL unpaired) and the candidate's
    other result columns. The CLI's case list and the app's numbered pair table both select from
    it, and `filter_conditions` filters either.
    """
    if baseline is not None and baseline.suite_id != run.suite_id:
        raise InputError(
            None,
            f"{run.run_id} (suite {run.suite_id}) and {baseline.run_id} (suite {baseline.suite_id}) "
            "ran on different suites; their cases cannot be paired",
        )
    if baseline is not None:
        baseline_route = "b.route"
        outcome = outcome_sql("r.route", "b.route", "c.expected_route")
        joins = "LEFT JOIN results b ON b.run_id = ? AND b.case_id = c.case_id"
        has_result = "(r.route IS NOT NULL OR b.route IS NOT NULL)"
        params: list[Any] = [run.run_id, baseline.run_id, run.suite_id]
    else:
        baseline_route, outcome, joins = "NULL::VARCHAR", "NULL::VARCHAR", ""
        has_result = "r.route IS NOT NULL"
        params = [run.run_id, run.suite_id]
    sql = f"""SELECT s.position, c.case_id, c.split, c.slice_name, c.evidence_state,
                     c.expected_route, {baseline_route} AS baseline_route, r.route,
                     {outcome} AS outcome,
                     r.route IS NOT DISTINCT FROM c.expected_route AS correct,
                     r.score, r.latency_ms, r.tokens, r.output
              FROM cases c
              LEFT JOIN results r ON r.run_id = ? AND r.case_id = c.case_id
              {joins}
              JOIN suite_splits s ON s.suite_id = c.suite_id AND s.split = c.split
              WHERE c.suite_id = ? AND {has_result}"""
    return sql, params


def filter_conditions(
    where: CaseFilter, run: RunInfo, baseline: RunInfo | None
) -> tuple[list[str], list[Any]]:
    """SQL conditions (and their parameters) for `where` over the columns of `pair_query`.

    Empty when nothing is filtered. The text is looked for in the case's id, slice and routes and
    in the output of either run.
    """
    if where.outcome is not None and where.outcome not in OUTCOMES:
        raise InputError(
            None, f"outcome must be one of {', '.join(OUTCOMES)}, not {where.outcome!r}"
        )
    if where.outcome is not None and baseline is None:
        raise InputError(None, "filtering by outcome needs a baseline to pair with (--vs RUN)")
    conditions: list[str] = []
    params: list[Any] = []
    if where.failures_only:
        conditions.append("NOT correct")
    if where.slice_name is not None:
        conditions.append("slice_name = ?")
        params.append(where.slice_name)
    if where.split is not None:
        conditions.append("split = ?")
        params.append(where.split)
    if where.outcome is not None:
        conditions.append("outcome = ?")
        params.append(where.outcome)
    if where.text:
        runs = [run.run_id] + ([baseline.run_id] if baseline else [])
        labels = "concat_ws(' ', case_id, slice_name, expected_route, baseline_route, route)"
        outputs = (
            "SELECT case_id FROM results WHERE run_id IN (SELECT unnest(?::VARCHAR[]))"
            " AND contains(lower(output), lower(?))"
        )
        conditions.append(f"(contains(lower({labels}), lower(?)) OR case_id IN ({outputs}))")
        params += [where.text, runs, where.text]
    return conditions, params


def fetch_cases(
    con: duckdb.DuckDBPyConnection,
    run: RunInfo,
    baseline: RunInfo | None = None,
    where: CaseFilter | None = None,
    limit: int | None = None,
) -> pa.Table:
    """The cases of `run` (paired with `baseline`) that pass `where`, in suite order, as Arrow.

    Unpaired, the rows have no `baseline_route` or `outcome` column.
    """
    sql, params = pair_query(run, baseline)
    if where is not None and where.unjudged_only:
        raise InputError(
            None, "the unjudged filter is the app's; list verdicts with `evaltui verdicts`"
        )
    conditions, filter_params = filter_conditions(where or CaseFilter(), run, baseline)
    hidden = "position" if baseline is not None else "position, baseline_route, outcome"
    query = (
        f"SELECT * EXCLUDE ({hidden}) FROM ({sql}) "
        f"WHERE {' AND '.join(['TRUE', *conditions])} ORDER BY position, case_id"
    )
    if limit is not None:
        query += f" LIMIT {int(limit)}"
    return con.sql(query, params=params + filter_params).to_arrow_table()


@dataclass(frozen=True, slots=True)
class CaseResult:
    """What one run produced for one case, as stored (metadata as JSON text)."""

    run_id: str
    route: str | None
    score: float | None
    latency_ms: float | None
    tokens: int | None
    output: str | None
    metadata: str | None


@dataclass(frozen=True, slots=True)
class CaseDetail:
    """One suite case with every field it was frozen with, and each run's result for it."""

    suite_id: str
    split: str
    case_id: str
    fields: dict[str, Any]
    results: dict[str, CaseResult | None]  # by run id, in the order asked; None: no result

    @property
    def expected_route(self) -> str | None:
        value = self.fields.get("expected_route")
        return None if value is None else str(value)


def case_detail(
    con: duckdb.DuckDBPyConnection, suite_id: str, case_id: str, run_ids: list[str]
) -> CaseDetail:
    """The case's suite fields (from its canonical JSON) and the named runs' results for it."""
    row = con.execute(
        "SELECT split, canonical FROM cases WHERE suite_id = ? AND case_id = ?", [suite_id, case_id]
    ).fetchone()
    if row is None:
        raise NotFoundError(f"{case_id}: no such case in suite {suite_id}")
    split, canonical = row
    found = {
        r[0]: CaseResult(*r)
        for r in con.execute(
            """SELECT run_id, route, score, latency_ms, tokens, output, CAST(metadata AS VARCHAR)
               FROM results WHERE case_id = ? AND run_id IN (SELECT unnest(?::VARCHAR[]))""",
            [case_id, run_ids],
        ).fetchall()
    }
    return CaseDetail(
        suite_id=suite_id,
        split=split,
        case_id=case_id,
        fields=json.loads(canonical),
        results={run_id: found.get(run_id) for run_id in run_ids},
    )
