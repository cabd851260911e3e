"""Guardrails turn recomputed metrics into a review status.

Guardrails are checked in the suite's order; the first one that fails names the status, and every
failing one is reported. A run that passes them all is eligible for canary review, unless the
suite declares no guardrail on the candidate's quality (none at all, or only evidence checks such
as an imported suite's "no unscored case"): then it is `NO_GUARDRAILS`, never eligible. A metric
that cannot be computed (a rate over no cases) fails its guardrail: nothing passes by default.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from evaltui.contract.model import ELIGIBLE_STATUS, NO_GUARDRAILS_STATUS, Guardrail


@dataclass(frozen=True, slots=True)
class GuardrailOutcome:
    predicate: str
    metric: str
    observed: float | int | None
    passed: bool
    status_if_failed: str

    def to_json(self) -> dict[str, Any]:
        return {
            "predicate": self.predicate,
            "metric": self.metric,
            "observed": self.observed,
            "passed": self.passed,
            "status_if_failed": self.status_if_failed,
        }


@dataclass(frozen=True, slots=True)
class GuardrailVerdict:
    status: str
    outcomes: tuple[GuardrailOutcome, ...]

    @property
    def eligible(self) -> bool:
        return self.status == ELIGIBLE_STATUS

    @property
    def failed(self) -> tuple[GuardrailOutcome, ...]:
        return tuple(o for o in self.outcomes if not o.passed)


def evaluate_guardrails(
    guardrails: tuple[Guardrail, ...], metrics: Mapping[str, float | int | None]
) -> GuardrailVerdict:
    outcomes = tuple(
        GuardrailOutcome(
            predicate=g.predicate,
            metric=g.metric,
            observed=metrics.get(g.metric),
            passed=g.holds(metrics.get(g.metric)),
            status_if_failed=g.status,
        )
        for g in guardrails
    )
    failed = [o for o in outcomes if not o.passed]
    if failed:
        return GuardrailVerdict(failed[0].status_if_failed, outcomes)
    judged = any(not g.evidence for g in guardrails)
    return GuardrailVerdict(ELIGIBLE_STATUS if judged else NO_GUARDRAILS_STATUS, outcomes)
