"""A review's figures from the runs' case sets, without scanning their results.

A route cell is (split, expected route, predicted route) with the number of a run's cases in it.
The cells of every run come from the case sets the loader recorded (`store.case_sets`); the
recomputed metrics and the coverage per split are sums over those few cells, and the paired
counts against the baseline are popcounts over the same sets. A review of 50 runs of 200,000
cases therefore costs milliseconds, not a pass over ten million rows.

Every function here gives exactly what a query over the results would give; tests hold them to
reference queries that scan the results (tests/test_review_cells.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import duckdb

from evaltui.contract.model import CellFilter, MetricSpec
from evaltui.review.paired import PairedCounts
from evaltui.store import case_sets
from evaltui.store.queries import SuiteInfo


@dataclass(frozen=True, slots=True)
class RouteCell:
    """How many of a run's cases fall in one (split, expected, predicted) cell."""

    split: str
    expected: str
    predicted: str
    count: int


def route_cells(
    con: duckdb.DuckDBPyConnection, suite: SuiteInfo, run_ids: Iterable[str]
) -> dict[str, tuple[RouteCell, ...]]:
    """The cells of every given run (all on `suite`); a run without results has none."""
    ids = list(dict.fromkeys(run_ids))
    out: dict[str, list[RouteCell]] = {run_id: [] for run_id in ids}
    if ids:
        for run_id, split, expected, predicted, n in case_sets.route_cells(
            con, suite.suite_id, ids
        ):
            out[run_id].append(RouteCell(split, expected, predicted, n))
    return {run_id: tuple(cells) for run_id, cells in out.items()}


def paired_counts_from_sets(
    con: duckdb.DuckDBPyConnection, suite: SuiteInfo, baseline_id: str, run_ids: Iterable[str]
) -> dict[str, PairedCounts]:
    """Every run (on the baseline's suite) against the baseline: fixed, broken, both right/wrong."""
    ids = [r for r in dict.fromkeys(run_ids) if r != baseline_id]
    out = {run_id: PairedCounts(0, 0, 0, 0, 0) for run_id in ids}
    if ids:
        for run_id, *counts in case_sets.paired_counts(con, suite.suite_id, baseline_id, ids):
            if run_id in out:
                out[run_id] = PairedCounts(*counts)
    return out


def _matches(cell_filter: CellFilter, expected: str, predicted: str) -> bool:
    """Does a cell filter select this (expected, predicted) cell (routes are never NULL)?"""
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
    """(numerator, denominator) of every metric: a rate's successes and trials (for its Wilson
    interval), a count's cases and the cases in its scope; (0, 0) over no cells."""
    out = {spec.name: [0, 0] for spec in metrics}
    narrowed = {spec.name for spec in metrics if spec.metric_kind.takes_among}
    for cell in cells:
        for spec in metrics:
            if spec.splits and cell.split not in spec.splits:
                continue
            if spec.name in narrowed and not _matches(spec.among, cell.expected, cell.predicted):
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


def coverage_counts(cells: Mapping[str, Iterable[RouteCell]]) -> dict[str, dict[str, int]]:
    """`split_counts` of every run, the form `recompute_fingerprints` takes."""
    return {run_id: split_counts(run_cells) for run_id, run_cells in cells.items()}
