"""Route transition matrices: how each candidate re-routed the baseline's cases.

For the cases both runs have results for, cell (a, b) counts the cases the baseline routed `a`
and the candidate routed `b`; the diagonal is unchanged behaviour. Each cell also says how many
of its cases the change fixed or broke, so "ABSTAIN -> SERVE" can be told apart as a repair
(expected SERVE) or an unsafe answer (expected ABSTAIN). The counts are one set-based query for
all candidates (`store.queries_transitions`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import duckdb

from evaltui.errors import InputError
from evaltui.store.queries import get_runs
from evaltui.store.queries_transitions import transition_counts


@dataclass(frozen=True, slots=True)
class TransitionCell:
    baseline_route: str
    candidate_route: str
    count: int
    fixed: int  # baseline wrong, candidate right
    broken: int  # baseline right, candidate wrong

    def to_json(self) -> dict[str, Any]:
        return {
            "baseline_route": self.baseline_route,
            "candidate_route": self.candidate_route,
            "count": self.count,
            "fixed": self.fixed,
            "broken": self.broken,
        }


@dataclass(frozen=True, slots=True)
class TransitionMatrix:
    baseline_id: str
    run_id: str
    labels: tuple[str, ...]  # rows (baseline route) and columns (candidate route), sorted
    counts: tuple[tuple[int, ...], ...]  # counts[i][j]: baseline labels[i], candidate labels[j]
    cells: tuple[TransitionCell, ...]  # the non-empty cells, in row then column order

    @property
    def total(self) -> int:
        return sum(map(sum, self.counts))

    @property
    def changed(self) -> int:
        """Cases routed differently by the two runs (off the diagonal)."""
        return self.total - sum(self.counts[i][i] for i in range(len(self.labels)))

    def count(self, baseline_route: str, candidate_route: str) -> int:
        if baseline_route not in self.labels or candidate_route not in self.labels:
            return 0
        return self.counts[self.labels.index(baseline_route)][self.labels.index(candidate_route)]

    def to_json(self) -> dict[str, Any]:
        return {
            "baseline_id": self.baseline_id,
            "run_id": self.run_id,
            "labels": list(self.labels),
            "counts": [list(row) for row in self.counts],
            "total": self.total,
            "changed": self.changed,
            "cells": [c.to_json() for c in self.cells],
        }


def transition_matrices(
    con: duckdb.DuckDBPyConnection, baseline_id: str, run_ids: Iterable[str]
) -> dict[str, TransitionMatrix]:
    """Baseline route x candidate route for every candidate (all on the baseline's suite)."""
    ids = list(dict.fromkeys(run_ids))
    baseline = get_runs(con, [baseline_id])[0]
    runs = get_runs(con, ids)
    other = [r for r in runs if r.suite_id != baseline.suite_id]
    if other:
        raise InputError(
            None,
            f"{other[0].run_id} (suite {other[0].suite_id}) and {baseline_id} "
            f"(suite {baseline.suite_id}) "
            "ran on different suites; their routes cannot be paired",
        )
    cells: dict[str, list[TransitionCell]] = defaultdict(list)
    if ids:
        for run_id, base_route, route, count, fixed, broken in transition_counts(
            con, baseline_id, baseline.suite_id, ids
        ):
            cells[run_id].append(TransitionCell(base_route, route, count, fixed, broken))
    return {run_id: _matrix(baseline_id, run_id, cells[run_id]) for run_id in ids}


def transition_matrix(
    con: duckdb.DuckDBPyConnection, baseline_id: str, run_id: str
) -> TransitionMatrix:
    return transition_matrices(con, baseline_id, [run_id])[run_id]


def _matrix(baseline_id: str, run_id: str, cells: list[TransitionCell]) -> TransitionMatrix:
    labels = tuple(sorted({c.baseline_route for c in cells} | {c.candidate_route for c in cells}))
    position = {label: i for i, label in enumerate(labels)}
    grid = [[0] * len(labels) for _ in labels]
    for cell in cells:
        grid[position[cell.baseline_route]][position[cell.candidate_route]] = cell.count
    return TransitionMatrix(
        baseline_id=baseline_id,
        run_id=run_id,
        labels=labels,
        counts=tuple(tuple(row) for row in grid),
        cells=tuple(cells),
    )
