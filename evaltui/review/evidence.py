"""Evidence checks: does what a run claims match what its results show?

A run can log a suite fingerprint or a metric value that its per-case results do not support
(a hard-coded `log_param`, a metric computed on other data, a run that skipped cases). Each such
claim is flagged with both values. Statuses never depend on claims, only on recomputed values.

A run is also flagged when another run of a different artifact has exactly the same per-case
results (routes, scores, outputs): one of them is a copy, not a second piece of evidence. Runs
are matched by a digest of their results recorded at load time (`store.queries.copies`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import duckdb

from evaltui.contract.fingerprint import SQL_FINGERPRINT_AGG
from evaltui.contract.model import MetricSpec
from evaltui.store.queries import RunCopy, RunInfo, SuiteInfo

COPIED = "copied_evidence"


@dataclass(frozen=True, slots=True)
class EvidenceFlag:
    kind: str  # "fingerprint", "metric", "coverage" or COPIED
    field: str
    claimed: Any
    recomputed: Any
    message: str

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "field": self.field,
            "claimed": self.claimed,
            "recomputed": self.recomputed,
            "message": self.message,
        }


@dataclass(frozen=True, slots=True)
class Coverage:
    """How many of the suite's cases a run has results for, per split and overall."""

    covered: int
    total: int
    per_split: Mapping[str, tuple[int, int]]

    @property
    def complete(self) -> bool:
        return self.covered == self.total


def recompute_fingerprints(
    con: duckdb.DuckDBPyConnection,
    suite: SuiteInfo,
    run_ids: Iterable[str],
    split_counts: Mapping[str, Mapping[str, int]],
) -> tuple[dict[str, dict[str, str]], dict[str, Coverage]]:
    """Fingerprints of the cases each run has results for, and each run's coverage.

    `split_counts` (run -> split -> cases with results) comes from the runs' case sets
    (`cells.coverage_counts`). Where a run covers a whole split, its fingerprint is the suite's by
    definition (case ids are unique and must exist in the suite), so only partially covered splits
    are hashed in SQL.
    """
    ids = list(run_ids)
    split_sizes = {s.name: s.case_count for s in suite.splits}
    fingerprints: dict[str, dict[str, str]] = {}
    coverage: dict[str, Coverage] = {}
    partial: list[str] = []
    for run_id in ids:
        counted = split_counts.get(run_id, {})
        per_split = {name: (counted.get(name, 0), size) for name, size in split_sizes.items()}
        covered = sum(c for c, _ in per_split.values())
        coverage[run_id] = Coverage(covered, suite.case_count, per_split)
        if covered == suite.case_count:
            fingerprints[run_id] = suite.fingerprints()
        else:
            partial.append(run_id)
    if partial:
        agg = SQL_FINGERPRINT_AGG.format(canon="c.canonical", case_id="c.case_id")
        rows = con.execute(
            f"""SELECT r.run_id, c.split, {agg} FROM results r
                JOIN cases c ON c.suite_id = ? AND c.case_id = r.case_id
                WHERE r.run_id IN (SELECT unnest(?::VARCHAR[]))
                GROUP BY GROUPING SETS ((r.run_id, c.split), (r.run_id))""",
            [suite.suite_id, partial],
        ).fetchall()
        empty = SQL_FINGERPRINT_AGG.format(canon="NULL::VARCHAR", case_id="1")
        empty_sha = con.execute(f"SELECT {empty}").fetchone()[0]  # type: ignore[index]
        for run_id in partial:
            fingerprints[run_id] = {f"{name}_sha": empty_sha for name in split_sizes}
            fingerprints[run_id]["evaluation_sha"] = empty_sha
        for run_id, split, sha in rows:
            field = "evaluation_sha" if split is None else f"{split}_sha"
            fingerprints[run_id][field] = sha
    return fingerprints, coverage


def evidence_flags(
    run: RunInfo,
    suite: SuiteInfo,
    recomputed_fingerprints: Mapping[str, str],
    coverage: Coverage,
    recomputed_metrics: Mapping[str, float | int | None],
    copies: Iterable[RunCopy] = (),
) -> tuple[EvidenceFlag, ...]:
    flags: list[EvidenceFlag] = []
    copied = list(copies)
    if copied:
        names = ", ".join(f"{c.run_id} ({c.artifact})" for c in copied[:3])
        more = f" and {len(copied) - 3} more" if len(copied) > 3 else ""
        flags.append(
            EvidenceFlag(
                COPIED,
                "results",
                run.artifact,
                [c.run_id for c in copied],
                f"per-case results identical to {names}{more}, a different artifact: "
                "one of them is a copy, not new evidence",
            )
        )
    for field, actual in recomputed_fingerprints.items():
        claimed = run.params.get(field)
        if claimed is not None and claimed != actual:
            flags.append(
                EvidenceFlag(
                    "fingerprint",
                    field,
                    claimed,
                    actual,
                    f"claims {field} {claimed} but the cases it has results for fingerprint to {actual}",
                )
            )
    if not coverage.complete:
        missing = ", ".join(
            f"{name} {n}/{size}" for name, (n, size) in coverage.per_split.items() if n < size
        )
        flags.append(
            EvidenceFlag(
                "coverage",
                "cases",
                coverage.total,
                coverage.covered,
                f"has results for {coverage.covered} of {coverage.total} suite cases ({missing})",
            )
        )
    specs = {m.name: m for m in suite.metrics}
    for name, logged in run.metrics.items():
        spec = specs.get(name)
        if spec is None:
            continue
        value = recomputed_metrics.get(name)
        if not agrees(spec, logged, value):
            flags.append(
                EvidenceFlag(
                    "metric",
                    name,
                    logged,
                    value,
                    f"logged {name} = {_fmt(logged)} but its per-case routes give {_fmt(value)}",
                )
            )
    return tuple(flags)


def agrees(spec: MetricSpec, logged: float, actual: float | int | None) -> bool:
    """Does a logged metric value match the one its per-case routes give? An undefined
    recomputed value (a rate over no cases) never does; the metric's kind says how far a logged
    value may sit from it (a rate is allowed its rounding)."""
    if actual is None:
        return False
    return math.isclose(logged, actual, rel_tol=0.0, abs_tol=spec.metric_kind.tolerance)


def _fmt(value: float | int | None) -> str:
    if value is None:
        return "undefined"
    if float(value).is_integer():
        return str(int(value))
    return f"{value:.4g}"
