"""A metric across an experiment's runs in time order.

Values are recomputed from the per-case routes (the runs' case sets, as the review counts them),
never taken from what a run logged; the logged value is shown beside it. Rates carry their Wilson
interval, so a reviewer can see whether a step between two runs is larger than the noise.
A metric no suite declares but runs logged is shown as logged, and marked so.

Only runs comparable with the baseline (the experiment's earliest run unless one is given; the
review's comparison contract, fingerprints recomputed) make the line: the others stay in the
list, marked with the fields that differ, but take no part in the spark line, the bars' range or
the change from first to last, and a warning counts them.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import duckdb

from evaltui.contract.metric_kinds import METRIC_KINDS
from evaltui.contract.model import MetricSpec
from evaltui.errors import NotFoundError
from evaltui.plural import count
from evaltui.review.cells import coverage_counts, metric_counts_from_cells, route_cells
from evaltui.review.comparability import audit_contract, short_reason
from evaltui.review.evidence import agrees, recompute_fingerprints
from evaltui.review.metrics import Number, metric_values
from evaltui.review.paired import StatWarning
from evaltui.review.stats import DEFAULT_CONFIDENCE, Proportion, proportion
from evaltui.store.queries import get_suites, list_runs

LOGGED = "logged"  # a trend's kind when no suite declares the metric: the logged values


@dataclass(frozen=True, slots=True)
class TrendPoint:
    run_id: str
    artifact: str
    suite_id: str
    started_at: datetime
    value: float | None  # recomputed (or logged, when the trend's source is "logged")
    logged: float | None
    rate: Proportion | None  # rate metrics: counts and Wilson interval
    differs: str = ""  # why the run is not comparable with the baseline ("" when it is)

    @property
    def comparable(self) -> bool:
        return not self.differs

    def to_json(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "artifact": self.artifact,
            "suite_id": self.suite_id,
            "started_at": self.started_at.isoformat(),
            "value": self.value,
            "logged": self.logged,
            "ci": None
            if self.rate is None or self.rate.interval is None
            else self.rate.interval.to_json(),
            "successes": None if self.rate is None else self.rate.successes,
            "n": None if self.rate is None else self.rate.n,
            "comparable": self.comparable,
            "differs": self.differs or None,
        }


@dataclass(frozen=True, slots=True)
class MetricTrend:
    experiment: str
    metric: str
    kind: str  # the metric's kind (`contract.metric_kinds`), or "logged" (no suite declares it)
    source: Literal["recomputed", "logged"]
    points: tuple[TrendPoint, ...]  # oldest first, incomparable runs included (marked)
    warnings: tuple[StatWarning, ...]
    baseline: str = ""  # the run comparability is judged against

    @property
    def has_interval(self) -> bool:
        """Its points carry a Wilson interval (the metric's kind is a proportion)."""
        return self.kind in METRIC_KINDS and METRIC_KINDS[self.kind].has_interval

    @property
    def line(self) -> tuple[TrendPoint, ...]:
        """The points the trend is drawn through: runs comparable with the baseline."""
        return tuple(p for p in self.points if p.comparable)

    @property
    def change(self) -> float | None:
        """Last value minus first value over the line (runs without a value skipped)."""
        values = [p.value for p in self.line if p.value is not None]
        return values[-1] - values[0] if len(values) >= 2 else None

    def to_json(self) -> dict[str, Any]:
        return {
            "experiment": self.experiment,
            "baseline": self.baseline,
            "metric": self.metric,
            "kind": self.kind,
            "source": self.source,
            "change": self.change,
            "points": [p.to_json() for p in self.points],
            "warnings": [w.to_json() for w in self.warnings],
        }


def metric_trend(
    con: duckdb.DuckDBPyConnection,
    experiment: str,
    metric: str,
    *,
    baseline: str | None = None,
    confidence: float = DEFAULT_CONFIDENCE,
) -> MetricTrend:
    """`metric` for every run of `experiment`, oldest first; runs not comparable with `baseline`
    (default: the earliest run) are marked and left out of the line."""
    runs = list_runs(con, experiment=experiment)
    if not runs:
        raise NotFoundError(f"{experiment}: no such experiment in the store (see `evaltui runs`)")
    base = runs[0] if baseline is None else next((r for r in runs if r.run_id == baseline), None)
    if base is None:
        raise NotFoundError(f"{baseline}: no such run in experiment {experiment}")
    suites = get_suites(con, {r.suite_id for r in runs})
    specs = {
        sid: next((m for m in s.metrics if m.name == metric), None) for sid, s in suites.items()
    }
    declared = {sid: spec for sid, spec in specs.items() if spec is not None}
    logged_anywhere = any(metric in r.metrics for r in runs)
    if not declared and not logged_anywhere:
        known = sorted(
            {m.name for s in suites.values() for m in s.metrics}
            | {k for r in runs for k in r.metrics}
        )
        raise NotFoundError(
            f"{metric}: no such metric in experiment {experiment}; "
            f"known metrics: {', '.join(known)}"
        )
    by_suite: dict[str, list[str]] = defaultdict(list)
    for run in runs:
        by_suite[run.suite_id].append(run.run_id)
    values: dict[str, Number | None] = {}
    rates: dict[str, Proportion] = {}
    fingerprints: dict[str, dict[str, str]] = {}
    for suite_id, ids in by_suite.items():
        # from the runs' case sets, as the review counts them: no pass over the results
        suite_cells = route_cells(con, suites[suite_id], ids)
        prints, _ = recompute_fingerprints(con, suites[suite_id], ids, coverage_counts(suite_cells))
        fingerprints.update(prints)
        spec = declared.get(suite_id)
        if spec is None:
            continue
        for run_id, cells in suite_cells.items():
            counted = metric_counts_from_cells((spec,), cells)
            values[run_id] = metric_values((spec,), counted)[metric]
            if spec.metric_kind.has_interval:
                rates[run_id] = proportion(*counted[metric], confidence)
    fields = suites[base.suite_id].comparison_fields
    differs = {
        run.run_id: short_reason(
            audit_contract(base, run, fields, fingerprints[base.run_id], fingerprints[run.run_id])
        )
        for run in runs
        if run.run_id != base.run_id
    }
    source: Literal["recomputed", "logged"] = "recomputed" if declared else "logged"
    # the kind drawn: one with an interval when any suite declares the metric so (a proportion)
    kinds = sorted({spec.metric_kind for spec in declared.values()}, key=lambda k: k.name)
    kind = max(kinds, key=lambda k: k.has_interval).name if kinds else LOGGED
    points = tuple(
        TrendPoint(
            run_id=run.run_id,
            artifact=run.artifact,
            suite_id=run.suite_id,
            started_at=run.started_at,
            value=_float(values.get(run.run_id)) if declared else run.metrics.get(metric),
            logged=run.metrics.get(metric),
            rate=rates.get(run.run_id),
            differs=differs.get(run.run_id, ""),
        )
        for run in runs
    )
    warnings = _warnings(points, declared, source) + _left_out(points, base.run_id)
    return MetricTrend(experiment, metric, kind, source, points, warnings, base.run_id)


def _left_out(points: tuple[TrendPoint, ...], baseline: str) -> tuple[StatWarning, ...]:
    out = [p for p in points if not p.comparable]
    if not out:
        return ()
    listed = "; ".join(f"{p.run_id} ({p.differs})" for p in out[:5])
    return (
        StatWarning(
            "incomparable_left_out",
            f"{count(len(out), 'run')} not comparable with baseline {baseline} "
            f"left out of the line: {listed}",
        ),
    )


def _float(value: Number | None) -> float | None:
    return None if value is None else float(value)


def _warnings(
    points: tuple[TrendPoint, ...], declared: dict[str, MetricSpec], source: str
) -> tuple[StatWarning, ...]:
    out = []
    suites_used = list(dict.fromkeys(p.suite_id for p in points))
    if len(suites_used) > 1:
        out.append(
            StatWarning(
                "several_suites",
                f"the runs span {len(suites_used)} suites ({', '.join(suites_used)}): "
                "values on different suites are not comparable",
            )
        )
    if source == "logged":
        out.append(
            StatWarning(
                "not_recomputed",
                "no suite declares this metric: values are as logged, not recomputed",
            )
        )
    else:
        missing = [p.run_id for p in points if p.suite_id not in declared]
        if missing:
            out.append(
                StatWarning(
                    "not_declared",
                    f"{count(len(missing), 'run')} on a suite that does not declare this "
                    "metric: "
                    f"{', '.join(missing[:5])}",
                )
            )
        # the evidence checks' rule, with the metric as the point's own suite declares it
        disagree = [
            p.run_id
            for p in points
            if p.logged is not None
            and p.suite_id in declared
            and not agrees(declared[p.suite_id], p.logged, p.value)
        ]
        if disagree:
            out.append(
                StatWarning(
                    "logged_differs",
                    f"{count(len(disagree), 'run')} logged a value their per-case routes do "
                    "not give: "
                    f"{', '.join(disagree[:5])}",
                )
            )
    return tuple(out)
