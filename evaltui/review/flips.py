"""Flips: the cases whose outcome changed against the baseline across N runs, with their history.

One grouped query reads every run's outcome sets (which suite cases it has a result for, which it
routed as expected: bitstrings over the suite's cases in case-id order, `store.case_sets`); numpy
unpacks them into a cases x runs matrix and counts, with no pass over the cases in Python and no
sort of case ids. Only the changed cases a caller lists are looked up by id. A case flips when
some run judged it otherwise than the baseline did; it is flaky when the runs disagree among
themselves. pass^k over the runs is in `flakiness.py`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import duckdb
import numpy as np

from evaltui.errors import InputError
from evaltui.review.flakiness import Flakiness, flakiness
from evaltui.store.queries import RunInfo, get_runs, get_suite, list_runs
from evaltui.store.queries_outcomes import case_ids_numbered, outcome_sets

RIGHT, WRONG, MISSING = "R", "W", "-"


@dataclass(frozen=True, slots=True)
class CaseFlips:
    case_id: str
    baseline: str  # R, W or - (no result)
    history: str  # one letter per run, in the runs' order
    fixed: int
    broken: int

    @property
    def flaky(self) -> bool:
        seen = set(self.history) - {MISSING}
        return len(seen) > 1

    def to_json(self) -> dict[str, Any]:
        return {
            "case_id": self.case_id,
            "baseline": self.baseline,
            "history": self.history,
            "fixed": self.fixed,
            "broken": self.broken,
            "flaky": self.flaky,
        }


@dataclass(frozen=True, slots=True)
class FlipReport:
    baseline: str
    run_ids: tuple[str, ...]
    cases: int  # cases with a baseline result
    changed: int  # cases that changed against the baseline in some run
    flips: tuple[CaseFlips, ...]  # the changed cases listed (case-id order; maybe fewer)
    flaky: int  # cases on which the runs disagree among themselves
    repeats: Flakiness  # pass^k over the runs (the baseline not counted)

    def to_json(self) -> dict[str, Any]:
        return {
            "baseline": self.baseline,
            "runs": list(self.run_ids),
            "cases": self.cases,
            "changed": self.changed,
            "flaky": self.flaky,
            "repeats": self.repeats.to_json(),
            "legend": {"R": "right", "W": "wrong", "-": "no result"},
            "flips": [f.to_json() for f in self.flips],
        }


def _runs(
    con: duckdb.DuckDBPyConnection, baseline: RunInfo, run_ids: Sequence[str]
) -> list[RunInfo]:
    if run_ids:
        runs = [r for r in get_runs(con, list(run_ids)) if r.run_id != baseline.run_id]
    else:
        runs = [
            r
            for r in list_runs(con, experiment=baseline.experiment)
            if r.run_id != baseline.run_id and r.suite_id == baseline.suite_id
        ]
    return _on_suite(baseline, runs)


def _on_suite(baseline: RunInfo, runs: list[RunInfo]) -> list[RunInfo]:
    other = [r.run_id for r in runs if r.suite_id != baseline.suite_id]
    if other:
        raise InputError(
            None,
            f"{', '.join(other)}: on another suite than the baseline {baseline.run_id}: "
            "no case-by-case history to compare",
        )
    return runs


def _outcomes(sets: dict[str, tuple[str, str]], ids: Sequence[str], cases: int) -> np.ndarray:
    """cases x runs int8 matrix of the runs' outcomes: -1 no result, 0 wrong, 1 right."""
    matrix = np.full((cases, len(ids)), -1, dtype=np.int8, order="F")  # a run's column contiguous
    one = ord("1")
    for col, run_id in enumerate(ids):  # one column per run, each set in bulk
        if run_id not in sets:
            continue
        present, right = (
            np.frombuffer(bits.encode("ascii"), dtype=np.uint8)[:cases] == one
            for bits in sets[run_id]
        )
        matrix[present, col] = right[present]
    return matrix


@dataclass(frozen=True, slots=True)
class _Counts:
    base: np.ndarray  # -1, 0, 1 per case
    others: np.ndarray  # cases x runs
    fixed: np.ndarray
    broken: np.ndarray
    changed: np.ndarray  # case numbers that changed against the baseline, ascending


def _report(baseline: str, ids: Sequence[str], matrix: np.ndarray) -> tuple[FlipReport, _Counts]:
    """The report over the outcome matrix (first column the baseline), no cases listed."""
    base, others = matrix[:, 0], matrix[:, 1:]
    has_base = base >= 0
    base_right, base_wrong = base == 1, base == 0
    fixed, broken, successes, trials = (np.zeros(base.size, dtype=np.int64) for _ in range(4))
    for col in range(others.shape[1]):  # one run at a time, over all its cases at once
        right, wrong = others[:, col] == 1, others[:, col] == 0
        fixed += right & base_wrong
        broken += wrong & base_right
        successes += right
        trials += right | wrong
    flaky = (successes > 0) & (successes < trials)
    changed = np.flatnonzero(has_base & ((fixed + broken) > 0))
    report = FlipReport(
        baseline=baseline,
        run_ids=tuple(ids[1:]),
        cases=int(has_base.sum()),
        changed=int(changed.size),
        flips=(),
        flaky=int(flaky.sum()),
        repeats=flakiness(successes[trials > 0], trials[trials > 0]),
    )
    return report, _Counts(base, others, fixed, broken, changed)


def _listed(
    con: duckdb.DuckDBPyConnection, suite_id: str, counts: _Counts, limit: int | None
) -> tuple[CaseFlips, ...]:
    """The first `limit` changed cases (all when None) in case-id order, with their history."""
    rows = counts.changed if limit is None else counts.changed[:limit]
    if rows.size == 0:
        return ()
    names = case_ids_numbered(con, suite_id, rows.tolist())
    letters = np.array([MISSING, WRONG, RIGHT])  # index by value + 1
    base = letters[counts.base[rows] + 1].tolist()
    runs = counts.others.shape[1]
    grid = np.ascontiguousarray(letters[counts.others[rows] + 1].astype("<U1"))
    history = grid.view(f"<U{runs}").ravel().tolist() if runs else [""] * rows.size
    fixed = counts.fixed[rows].tolist()
    broken = counts.broken[rows].tolist()
    # building the listed rows' records: the output itself, not a pass over the case data
    return tuple(map(CaseFlips, names, base, history, fixed, broken))


def flip_report(
    con: duckdb.DuckDBPyConnection,
    baseline_id: str,
    run_ids: Sequence[str] = (),
    *,
    limit: int | None = None,
) -> FlipReport:
    """Flips and pass^k of `run_ids` (default: the rest of the baseline's experiment on its
    suite) against the baseline; `limit` caps the changed cases listed (None: all, 0: none)."""
    baseline = get_runs(con, [baseline_id])[0]
    runs = _runs(con, baseline, run_ids)
    ids = [baseline.run_id, *(r.run_id for r in runs)]
    sets = {run_id: (p, r) for run_id, p, r in outcome_sets(con, baseline.suite_id, ids)}
    matrix = _outcomes(sets, ids, get_suite(con, baseline.suite_id).case_count)
    report, counts = _report(baseline.run_id, ids, matrix)
    if limit == 0:
        return report
    return replace(report, flips=_listed(con, baseline.suite_id, counts, limit))


def repeat_flakiness(
    con: duckdb.DuckDBPyConnection, baseline_id: str, groups: Mapping[str, Sequence[str]]
) -> dict[str, FlipReport]:
    """Per named group of runs (an artifact's repeats): flips against the baseline and pass^k,
    no cases listed. One query reads every group's outcome sets."""
    if not groups:
        return {}
    baseline = get_runs(con, [baseline_id])[0]
    named = dict.fromkeys(r for ids in groups.values() for r in ids if r != baseline.run_id)
    known = {r.run_id: r for r in get_runs(con, named)}
    chosen = {
        name: _on_suite(baseline, [known[r] for r in dict.fromkeys(ids) if r in known])
        for name, ids in groups.items()
    }
    every = [baseline.run_id, *named]
    sets = {run_id: (p, r) for run_id, p, r in outcome_sets(con, baseline.suite_id, every)}
    cases = get_suite(con, baseline.suite_id).case_count
    out = {}
    for name, runs in chosen.items():  # one pass per repeat group, in bulk over its cases
        ids = [baseline.run_id, *(r.run_id for r in runs)]
        out[name] = _report(baseline.run_id, ids, _outcomes(sets, ids, cases))[0]
    return out
