"""Guardrails on the paired difference: `delta(exact_route_rate) >= -0.02`.

Such a guardrail is judged on the decision interval of the candidate-minus-baseline difference
(paired.decision_interval: the more cautious of the bootstrap and Newcombe ends, safe at small n;
the clustered interval with clusters), not on the point estimate: a lower limit (`>=`, `>`) is
tested against the interval's lower end, an upper limit (`<=`, `<`) against its upper end. So `delta(exact_route_rate) >= -0.02` passes only when
the candidate is shown not worse by more than 2 points (the non-inferiority test). The baseline's
difference with itself is exactly 0; a run without paired cases has no value, and fails.
"""

from __future__ import annotations

from collections.abc import Iterable

from evaltui.contract.model import Guardrail
from evaltui.review.paired import PairedStats

PAIRED_METRIC = "exact_route_rate"  # the rate the paired statistics compare
PREFIX = "delta("


def delta_inner(metric: str) -> str | None:
    """`delta(exact_route_rate)` -> `exact_route_rate`; None for a plain metric name."""
    if metric.startswith(PREFIX) and metric.endswith(")"):
        return metric[len(PREFIX) : -1]
    return None


def delta_values(
    guardrails: Iterable[Guardrail], paired: PairedStats | None, is_baseline: bool
) -> dict[str, float | None]:
    """The value each delta guardrail is judged on, keyed by its metric name."""
    out: dict[str, float | None] = {}
    for g in guardrails:
        if delta_inner(g.metric) is None:
            continue
        if is_baseline:
            out[g.metric] = 0.0
        elif paired is None or paired.decision_ci is None:
            out[g.metric] = None
        else:
            ci = paired.decision_ci
            out[g.metric] = ci.low if g.op in (">=", ">") else ci.high
    return out
