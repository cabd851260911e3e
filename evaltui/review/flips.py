"""Flips: the cases whose outcome changed against the baseline across N runs, with their history.

One grouped query reads every run's per-case verdict (route == expected route) on the baseline's
suite; numpy arranges it as a cases x runs matrix. A case flips when some run judged it otherwise
than the baseline did; it is flaky when the runs disagree among themselves. pass^k over the runs
is in `flakiness.py`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import duckdb
import numpy as np

from evaltui.errors import InputError
from evaltui.review.flakiness import Flakiness, flakiness
from evaltui.store.queries import RunInfo, get_runs, list_runs
from evaltui.store.queries_outcomes import case_outcomes

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
    flips: tuple[CaseFlips, ...]  # only the cases that changed in some run
    flaky: int  # cases on which the runs disagree among themselves
    repeats: Flakiness  # pass^k over the runs (the baseline not counted)

    def to_json(self) -> dict[str, Any]:
        return {
            "baseline": self.baseline,
            "runs": list(self.run_ids),
            "cases": self.cases,
            "changed": len(self.flips),
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
    other = [r.run_id for r in runs if r.suite_id != baseline.suite_id]
    if other:
        raise InputError(
            None,
            f"{', '.join(other)}: on another suite than the baseline {baseline.run_id}: "
            "no case-by-case history to compare",
        )
    return runs


def flip_report(
    con: duckdb.DuckDBPyConnection, baseline_id: str, run_ids: Sequence[str] = ()
) -> FlipReport:
    baseline = get_runs(con, [baseline_id])[0]
    runs = _runs(con, baseline, run_ids)
    ids = [baseline.run_id, *(r.run_id for r in runs)]
    table = case_outcomes(con, baseline.suite_id, ids)
    case_col = table.column("case_id").to_numpy(zero_copy_only=False)
    names, rows = np.unique(case_col, return_inverse=True)
    matrix = np.full((names.size, len(ids)), -1, dtype=np.int8)  # -1 missing, 0 wrong, 1 right
    matrix[rows, table.column("col").to_numpy()] = table.column("right").to_numpy(
        zero_copy_only=False
    )
    base, others = matrix[:, 0], matrix[:, 1:]
    present = others >= 0
    has_base = base >= 0
    fixed = ((others == 1) & (base[:, None] == 0)).sum(axis=1)
    broken = ((others == 0) & (base[:, None] == 1)).sum(axis=1)
    successes = (others == 1).sum(axis=1)
    trials = present.sum(axis=1)
    flaky = (successes > 0) & (successes < trials)
    changed = np.flatnonzero(has_base & ((fixed + broken) > 0))
    letters = np.array([MISSING, WRONG, RIGHT])  # index by value + 1
    flips = tuple(
        CaseFlips(
            str(names[i]),
            str(letters[base[i] + 1]),
            "".join(letters[others[i] + 1]),
            int(fixed[i]),
            int(broken[i]),
        )
        for i in changed
    )
    return FlipReport(
        baseline=baseline.run_id,
        run_ids=tuple(ids[1:]),
        cases=int(has_base.sum()),
        flips=flips,
        flaky=int(flaky.sum()),
        repeats=flakiness(successes[trials > 0], trials[trials > 0]),
    )
