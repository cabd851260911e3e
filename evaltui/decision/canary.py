"""The canary stop rule of a decision: roll back as soon as an observed value breaks an invariant.

The rule is executable from the record alone: every monitored invariant (`metric OP number`) is
tested against the observed value of its metric. Any broken invariant means
`ROLL_BACK_TO:<rollback_artifact>`, even when other monitored metrics were not observed (a
pipeline that only watches unsafe serves must still roll back). A clean verdict,
`CONTINUE_CANARY_MONITORING`, needs every monitored metric observed: a missing value there is an
error rather than a pass, since a stop rule that silently does not look is worse than none.
A stream of per-request outcomes is judged by `canary_stream.check_stream`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evaltui.decision.files import read_decision_bytes
from evaltui.decision.record import CONTINUE, ROLL_BACK_PREFIX, parse_invariant
from evaltui.decision.verify import check_record_bytes
from evaltui.errors import InputError
from evaltui.plural import count


@dataclass(frozen=True, slots=True)
class InvariantResult:
    predicate: str
    metric: str
    observed: float
    holds: bool

    def to_json(self) -> dict[str, Any]:
        return {
            "predicate": self.predicate,
            "metric": self.metric,
            "observed": self.observed,
            "holds": self.holds,
        }


@dataclass(frozen=True, slots=True)
class CanaryVerdict:
    action: str
    rollback: bool
    results: tuple[InvariantResult, ...]
    unmonitored: tuple[str, ...]  # observed metrics no invariant watches

    @property
    def broken(self) -> tuple[InvariantResult, ...]:
        return tuple(r for r in self.results if not r.holds)

    def to_json(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "rollback": self.rollback,
            "invariants": [r.to_json() for r in self.results],
            "unmonitored": list(self.unmonitored),
        }


def parse_observed(items: Sequence[str]) -> dict[str, float]:
    out: dict[str, float] = {}
    for item in items:
        name, eq, value = item.partition("=")
        name = name.strip()
        if not eq or not name:
            raise InputError(
                None, f"--observed {item!r}: expected METRIC=VALUE, e.g. unsafe_claim_served=0"
            )
        try:
            number = float(value)
        except ValueError:
            raise InputError(None, f"--observed {item!r}: {value!r} is not a number") from None
        if not math.isfinite(number):
            raise InputError(None, f"--observed {item!r}: the value must be a finite number")
        if name in out and out[name] != number:
            raise InputError(None, f"--observed gives {name} twice with different values")
        out[name] = number
    if not out:
        raise InputError(None, "give at least one --observed METRIC=VALUE")
    return out


def read_decision(path: Path) -> dict[str, Any]:
    """A decision file read for its rule: strict, canonical, with its fields (not its signature)."""
    _doc, record, checks = check_record_bytes(read_decision_bytes(path), str(path))
    problem = next((c for c in checks if c.failed), None)
    if problem is not None or record is None:
        raise InputError(path, problem.message if problem else "not a decision file")
    return record


def apply_stop_rule(doc: Mapping[str, Any], observed: Mapping[str, float]) -> CanaryVerdict:
    invariants = [parse_invariant(text) for text in doc["monitored_invariants"]]
    results = tuple(
        InvariantResult(g.predicate, g.metric, observed[g.metric], g.holds(observed[g.metric]))
        for g in invariants
        if g.metric in observed
    )
    rollback = any(not r.holds for r in results)
    missing = sorted({g.metric for g in invariants if g.metric not in observed})
    if missing and not rollback:
        raise InputError(
            None,
            f"no observed value for {count(len(missing), 'monitored metric')} "
            f"({', '.join(missing)}): pass "
            + " ".join(f"--observed {m}=VALUE" for m in missing)
            + " (a broken value rolls back at once, but a clean verdict needs every monitored "
            "metric)",
        )
    action = ROLL_BACK_PREFIX + str(doc["rollback_artifact"]) if rollback else CONTINUE
    watched = {g.metric for g in invariants}
    return CanaryVerdict(action, rollback, results, tuple(sorted(set(observed) - watched)))
