"""A review's per-case results in one pass: every run's cases counted by route cell.

A cell is (split, expected route, predicted route, whether the baseline got the case right). One
query over results joined with the suite's cases counts the cells of every run at once; the
recomputed metrics, the coverage per split and the paired counts against the baseline are all
sums over those few hundred cells. That is one scan of the results instead of one per figure,
which is what keeps a review of 50 runs of 200,000 cases close to the cost of the join itself.

The baseline's routes are joined to the suite's cases first (a table as small as the suite), so
the results are probed once, not twice. Every function here gives exactly what the dedicated
queries give (`metric_counts`, `paired_counts`, the coverage counts of `recompute_fingerprints`);
tests hold them to it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import duckdb

from evaltui.contract.model import CellFilter, MetricSpec
from evaltui.review.paired import PairedCounts


@dataclass(frozen=True, slots=True)
class RouteCell:
    """How many of a run's cases fall in one (split, expected, predicted, baseline) cell."""

    split: str
    expected: str
    predicted: str
    baseline_correct: (
        bool | None
    )  # None: the baseline has no result for these cases (or no baseline)
    count: int


ROUTE_CELLS_SQL = """
WITH suite_cases AS (
    SELECT c.case_id, c.split, c.expected_route,
           {baseline_correct} AS baseline_correct
    FROM cases c
    {baseline_join}
    WHERE c.suite_id = ?
)
SELECT r.run_id, c.split, c.expected_route, r.route, c.baseline_correct, count(*)
FROM results r
JOIN suite_cases c ON c.case_id = r.case_id
WHERE r.run_id IN (SELECT unnest(?::VARCHAR[]))
GROUP BY ALL
"""


def route_cells(
    con: duckdb.DuckDBPyConnection,
    suite_id: str,
    run_ids: Iterable[str],
    baseline_id: str | None = None,
) -> dict[str, tuple[RouteCell, ...]]:
    """The cells of every given run (all on `suite_id`); runs without results get none.

    With `baseline_id` (a run on the same suite), each cell also says whether the baseline routed
    those cases as expected, so paired counts come from the same pass.
    """
    ids = list(dict.fromkeys(run_ids))
    out: dict[str, list[RouteCell]] = {run_id: [] for run_id in ids}
    if not ids:
        return {}
    params: list[object] = []
    if baseline_id is None:
        baseline_correct, baseline_join = "NULL::BOOLEAN", ""
    else:
        baseline_correct = "b.route = c.expected_route"
        baseline_join = "LEFT JOIN results b ON b.run_id = ? AND b.case_id = c.case_id"
        params.append(baseline_id)
    sql = ROUTE_CELLS_SQL.format(baseline_correct=baseline_correct, baseline_join=baseline_join)
    for run_id, split, expected, predicted, base_ok, n in con.execute(
        sql, [*params, suite_id, ids]
    ).fetchall():
        out[run_id].append(RouteCell(split, expected, predicted, base_ok, int(n)))
    return {run_id: tuple(cells) for run_id, cells in out.items()}


def _matches(cell_filter: CellFilter, expected: str, predicted: str) -> bool:
    """Python twin of `metrics.cell_condition` (routes are never NULL in the store)."""
    if cell_filter.expected is not None and expected not in cell_filter.expected:
        return False
    if cell_filter.predicted is not None and predicted not in cell_filter.predicted:
        return False
    if cell_filter.correct is True and predicted != expected:
        return False
    return not (cell_filter.correct is False and predicted == expected)


def metric_counts_from_cells(
    metrics: tuple[MetricSpec, ...], cells: Iterable[RouteCell]
) -> dict[str, tuple[int, int]]:
    """(numerator, denominator) of every metric, as `metrics.metric_counts` gives them."""
    out = {spec.name: [0, 0] for spec in metrics}
    for cell in cells:
        for spec in metrics:
            if spec.splits and cell.split not in spec.splits:
                continue
            if spec.kind == "rate" and not _matches(spec.among, cell.expected, cell.predicted):
                continue
            counts = out[spec.name]
            counts[1] += cell.count
            if _matches(spec.where, cell.expected, cell.predicted):
                counts[0] += cell.count
    return {name: (numerator, denominator) for name, (numerator, denominator) in out.items()}


def split_counts(cells: Iterable[RouteCell]) -> dict[str, int]:
    """How many cases of each split a run has results for."""
    out: dict[str, int] = {}
    for cell in cells:
        out[cell.split] = out.get(cell.split, 0) + cell.count
    return out


def paired_counts_from_cells(cells: Iterable[RouteCell]) -> PairedCounts:
    """The run against the baseline on the cases both have results for (`paired_counts`)."""
    n = fixed = broken = both_right = both_wrong = 0
    for cell in cells:
        if cell.baseline_correct is None:
            continue
        right = cell.predicted == cell.expected
        n += cell.count
        if cell.baseline_correct and right:
            both_right += cell.count
        elif cell.baseline_correct:
            broken += cell.count
        elif right:
            fixed += cell.count
        else:
            both_wrong += cell.count
    return PairedCounts(n, fixed, broken, both_right, both_wrong)


def coverage_counts(cells: Mapping[str, Iterable[RouteCell]]) -> dict[str, dict[str, int]]:
    """`split_counts` of every run, the form `recompute_fingerprints` takes."""
    return {run_id: split_counts(run_cells) for run_id, run_cells in cells.items()}
