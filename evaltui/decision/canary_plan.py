"""The sequential part of a decision's canary stop rule: what it tests, against what, how strictly.

Recorded (and signed) in `canary_stop_rule.sequential`, so `canary-check --stream` applies
exactly the rule the reviewer signed: the method, the level (split evenly over the monitored
rates), the non-inferiority margin, the maximum canary sample size, the mixing prior's strength,
and per monitored rate its baseline value and which direction is better. See
docs/statistics.md, "Sequential canary".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from evaltui.contract.suite import parse_predicate
from evaltui.review.sequential import (
    DEFAULT_LEVEL,
    DEFAULT_MARGIN,
    DEFAULT_MAX_SAMPLES,
    DEFAULT_PRIOR_STRENGTH,
    METHOD,
)

if TYPE_CHECKING:
    from evaltui.decision.draft import DecisionDraft

PRIMARY_RATE = "exact_route_rate"  # always watched when the suite has it (higher is better)
REFERENCES = (
    "Robbins 1970, Statistical methods related to the law of the iterated logarithm",
    "Howard et al. 2021, Time-uniform nonparametric nonasymptotic confidence sequences",
    "Lindon et al. 2022, Rapid regression detection in software deployments, arXiv 2205.14762",
)


@dataclass(frozen=True, slots=True)
class CanaryPlanChoices:
    level: float = DEFAULT_LEVEL
    margin: float = DEFAULT_MARGIN
    max_samples: int = DEFAULT_MAX_SAMPLES


def watched_rates(rate_names: set[str], invariants: Sequence[str]) -> dict[str, bool]:
    """Rate metrics the sequential test watches -> higher is better.

    A monitored invariant on a rate (`rate >= x` or `rate <= x`) gives its direction; the
    primary rate is watched whenever the suite declares it. `==` invariants stay hard checks.
    """
    out: dict[str, bool] = {}
    if PRIMARY_RATE in rate_names:
        out[PRIMARY_RATE] = True
    for text in invariants:
        parsed = parse_predicate(text)
        if parsed is None or parsed[0] not in rate_names or parsed[1] in ("==", "!="):
            continue
        out.setdefault(parsed[0], parsed[1] in (">=", ">"))
    return out


def sequential_rule(
    draft: DecisionDraft, invariants: Sequence[str], choices: CanaryPlanChoices | None
) -> dict[str, Any] | None:
    """The `sequential` object of the stop rule; None when the suite has no rate to watch."""
    plan = choices or CanaryPlanChoices()
    suite = draft.review.suite
    rates = {m.name for m in suite.metrics if m.metric_kind.has_interval}
    baseline = draft.baseline
    metrics: dict[str, Any] = {}
    for name, higher in watched_rates(rates, invariants).items():
        value = baseline.metrics_recomputed.get(name)
        wilson = baseline.intervals.get(name)
        if value is None or wilson is None or not wilson.n:
            continue
        metrics[name] = {
            "baseline_rate": float(value),
            "baseline_n": wilson.n,
            "higher_is_better": higher,
        }
    if not metrics:
        return None
    return {
        "method": METHOD,
        "references": list(REFERENCES),
        "level": plan.level,
        "level_per_metric": plan.level / len(metrics),
        "margin": plan.margin,
        "max_samples": plan.max_samples,
        "prior_strength": DEFAULT_PRIOR_STRENGTH,
        "baseline_run_id": baseline.run_id,
        "metrics": metrics,
        "reference": "the control arm when the stream has control lines for a metric, "
        "else the baseline rate",
        "roll_back_when": "the confidence sequence shows the canary worse than its reference",
        "promote_when": "every watched rate is shown not worse than its reference by more than "
        "the margin, and no invariant is broken",
    }
