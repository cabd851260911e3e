"""Repeated runs of one artifact (e.g. seeds) summarised together: mean, spread, standard error.

A single run is one draw; a reviewer who sees three seeds of one candidate should see how much
they disagree before trusting any one of them. Only runs that are comparable with the baseline
are pooled (a run on another suite or knowledge base is not a repeat); the others of the same
artifact are listed as left out, with the reason.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from evaltui.review.paired import StatWarning
from evaltui.review.stats import Spread, spread

if TYPE_CHECKING:
    from evaltui.review.report import RunReview


@dataclass(frozen=True, slots=True)
class RepeatGroup:
    artifact: str
    run_ids: tuple[str, ...]  # in time order
    metrics: dict[str, Spread]  # every recomputed metric with a value in at least one run
    delta: Spread | None  # exact-route-rate difference vs the baseline (candidates only)
    statuses: dict[str, str]  # run_id -> guardrail status
    left_out: dict[str, str]  # run_id -> why it is not pooled
    warnings: tuple[StatWarning, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "artifact": self.artifact,
            "run_ids": list(self.run_ids),
            "k": len(self.run_ids),
            "metrics": {name: s.to_json() for name, s in self.metrics.items()},
            "delta": None if self.delta is None else self.delta.to_json(),
            "statuses": dict(self.statuses),
            "left_out": dict(self.left_out),
            "warnings": [w.to_json() for w in self.warnings],
        }


def group_repeats(
    reviews: Sequence[RunReview], metric_names: Sequence[str]
) -> tuple[RepeatGroup, ...]:
    """Groups of two or more comparable runs sharing an artifact, in order of first appearance."""
    pooled: dict[str, list[RunReview]] = defaultdict(list)
    left_out: dict[str, dict[str, str]] = defaultdict(dict)
    for review in reviews:
        if review.comparable:
            pooled[review.run.artifact].append(review)
        else:
            left_out[review.run.artifact][review.run_id] = review.reason or "not comparable"
    groups = []
    for artifact, members in pooled.items():
        if len(members) < 2:
            continue
        members = sorted(members, key=lambda r: (r.run.started_at, r.run_id))
        metrics = {}
        for name in metric_names:
            summary = spread([_as_float(r.metrics_recomputed.get(name)) for r in members])
            if summary is not None:
                metrics[name] = summary
        delta = spread(
            [r.paired.delta for r in members if not r.is_baseline and r.paired is not None]
        )
        statuses = {r.run_id: r.status for r in members}
        groups.append(
            RepeatGroup(
                artifact=artifact,
                run_ids=tuple(r.run_id for r in members),
                metrics=metrics,
                delta=delta,
                statuses=statuses,
                left_out=left_out.get(artifact, {}),
                warnings=_warnings(delta, statuses),
            )
        )
    return tuple(groups)


def _as_float(value: float | int | None) -> float | None:
    return None if value is None else float(value)


def _warnings(delta: Spread | None, statuses: dict[str, str]) -> tuple[StatWarning, ...]:
    out = []
    distinct = sorted(set(statuses.values()))
    if len(distinct) > 1:
        listing = ", ".join(f"{run_id} {status}" for run_id, status in statuses.items())
        out.append(
            StatWarning(
                "status_varies",
                f"the guardrail status differs between repeats ({listing}): the artifact does "
                "not pass or fail reliably",
            )
        )
    if delta is not None and delta.k > 1 and delta.range >= abs(delta.mean):
        out.append(
            StatWarning(
                "seed_spread",
                f"the difference from the baseline moves by {delta.range:.3f} between repeats, "
                f"as much as its mean {delta.mean:+.3f}: no single repeat stands for the artifact",
            )
        )
    return tuple(out)
