"""Recomputing a suite's declared metrics from per-case routes, for many runs in one query.

Metrics are never taken from what a run logged: they are counted here from the routes the run
produced and the suite's expected routes. One SQL statement per suite covers every run.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import duckdb

from evaltui.contract.model import CellFilter, MetricSpec

Number = int | float


@dataclass
class _Sql:
    """SQL text with its positional parameters kept in step."""

    parts: list[str] = field(default_factory=list)
    params: list[Any] = field(default_factory=list)

    def add(self, text: str, *params: Any) -> _Sql:
        self.parts.append(text)
        self.params.extend(params)
        return self

    @property
    def text(self) -> str:
        return "".join(self.parts)


def _in_list(column: str, labels: tuple[str, ...]) -> tuple[str, list[Any]]:
    marks = ", ".join("?" for _ in labels)
    return f"{column} IN ({marks})", list(labels)


def cell_condition(cell: CellFilter, *, expected: str, predicted: str) -> tuple[str, list[Any]]:
    """A SQL condition (and its parameters) matching the cells a filter selects."""
    conditions: list[str] = []
    params: list[Any] = []
    if cell.expected is not None:
        text, values = _in_list(expected, cell.expected)
        conditions.append(text)
        params.extend(values)
    if cell.predicted is not None:
        text, values = _in_list(predicted, cell.predicted)
        conditions.append(text)
        params.extend(values)
    if cell.correct is True:
        conditions.append(f"{predicted} = {expected}")
    elif cell.correct is False:
        conditions.append(f"{predicted} <> {expected}")
    return (" AND ".join(conditions) or "TRUE"), params


def rate_parts(
    spec: MetricSpec, *, expected: str, predicted: str, split: str
) -> tuple[tuple[str, list[Any]], tuple[str, list[Any]]]:
    """The numerator and denominator counts of a metric, as two aggregate expressions.

    For a count metric the denominator is every case in scope.
    """
    scope, scope_params = "TRUE", list[Any]()
    if spec.splits:
        scope, scope_params = _in_list(split, spec.splits)
    where, where_params = cell_condition(spec.where, expected=expected, predicted=predicted)
    among, among_params = "TRUE", list[Any]()
    if spec.kind == "rate":
        among, among_params = cell_condition(spec.among, expected=expected, predicted=predicted)
    numerator = (
        f"count(*) FILTER (WHERE ({scope}) AND ({among}) AND ({where}))",
        scope_params + among_params + where_params,
    )
    denominator = (f"count(*) FILTER (WHERE ({scope}) AND ({among}))", scope_params + among_params)
    return numerator, denominator


def metric_values(
    metrics: tuple[MetricSpec, ...], counts: dict[str, tuple[int, int]]
) -> dict[str, Number | None]:
    """Metric values from their (numerator, denominator) counts: a count is its numerator, a
    rate the share (None over no cases). Integer division in IEEE doubles, as SQL would do it."""
    out: dict[str, Number | None] = {}
    for spec in metrics:
        numerator, denominator = counts.get(spec.name, (0, 0))
        if spec.kind == "count":
            out[spec.name] = numerator
        else:
            out[spec.name] = numerator / denominator if denominator else None
    return out


def metric_counts(
    con: duckdb.DuckDBPyConnection,
    suite_id: str,
    metrics: tuple[MetricSpec, ...],
    run_ids: Iterable[str],
) -> dict[str, dict[str, tuple[int, int]]]:
    """(numerator, denominator) of every declared metric for every given run, in one query.

    The counts behind each value: a rate's successes and trials (for its Wilson interval), a
    count's cases and the cases in its scope. Runs without results get (0, 0).
    """
    ids = list(run_ids)
    out: dict[str, dict[str, tuple[int, int]]] = {
        run_id: {m.name: (0, 0) for m in metrics} for run_id in ids
    }
    if not ids or not metrics:
        return out
    sql = _Sql().add("SELECT r.run_id")
    for spec in metrics:
        (num, num_params), (den, den_params) = rate_parts(
            spec, expected="c.expected_route", predicted="r.route", split="c.split"
        )
        sql.add(f", {num}", *num_params).add(f", {den}", *den_params)
    sql.add(
        " FROM results r JOIN cases c ON c.suite_id = ? AND c.case_id = r.case_id"
        " WHERE r.run_id IN (SELECT unnest(?::VARCHAR[])) GROUP BY r.run_id",
        suite_id,
        ids,
    )
    for row in con.execute(sql.text, sql.params).fetchall():
        values = row[1:]
        out[row[0]] = {
            spec.name: (int(values[2 * i]), int(values[2 * i + 1]))
            for i, spec in enumerate(metrics)
        }
    return out
