"""`canary-check --stream`: a JSONL stream of canary outcomes judged by the signed stop rule.

One object a line, appended over time:

    {"arm": "canary", "metric": "exact_route_rate", "value": 1}            one request
    {"arm": "control", "metric": "exact_route_rate", "successes": 93, "n": 100}   a window

Monitored rates (the stop rule's `sequential.metrics`) go through the anytime-valid test of
`evaltui.review.sequential`, against the control arm when the stream has control lines for the
metric, else against the recorded baseline rate. Other monitored metrics are hard invariants on
the canary's running count of events (`unsafe_serve == 0`: the first unsafe serve rolls back at
once; a count only grows, so only upper limits can break mid-stream). The verdict is the one a pipeline checking after every line would have reached: the first
line at which the test crosses a boundary or an invariant breaks decides.

The file is read twice, line by line with a length cap (never whole): first to check every line
(a bad line is one error naming its number, exit 2), then to run the test in blocks of lines
with vectorised numpy. The trajectory kept for `--json` is thinned to geometric steps.
"""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from evaltui.contract.model import Guardrail
from evaltui.contract.suite import parse_predicate
from evaltui.decision.record import CONTINUE, ROLL_BACK_PREFIX
from evaltui.errors import InputError
from evaltui.plural import count
from evaltui.review.sequential import (
    SequentialPlan,
    baseline_trajectory,
    control_trajectory,
)

PROMOTE = "PROMOTE_CANARY"
MAX_LINE_BYTES = 4096
BLOCK_LINES = 50_000
_ARMS = {"canary": 0, "control": 1}
_GROWTH = 1.15  # trajectory points kept when the canary's n grows by this factor


@dataclass(slots=True)
class RateState:
    name: str
    higher_is_better: bool
    plan: SequentialPlan  # on the "good outcome" scale (1 - rate for lower-is-better)
    alpha: float
    against_control: bool = False
    canary: list[int] = field(default_factory=lambda: [0, 0])  # good outcomes, n
    control: list[int] = field(default_factory=lambda: [0, 0])
    status: str = "continue"  # continue, roll_back, promote, inconclusive
    decided_line: int | None = None
    low: float = float("nan")
    high: float = float("nan")
    log_lr: float = float("nan")
    trajectory: list[dict[str, Any]] = field(default_factory=list)
    next_mark: float = 1.0

    @property
    def reference(self) -> str:
        return "control arm" if self.against_control else "baseline rate"

    def sequence(self) -> list[float] | None:
        """The sequence's ends on the metric's own scale (rate, or canary minus control)."""
        if math.isnan(self.low):
            return None
        if self.higher_is_better:
            return [self.low, self.high]
        if self.against_control:
            return [-self.high, -self.low]
        return [1.0 - self.high, 1.0 - self.low]

    def to_json(self) -> dict[str, Any]:
        return {
            "test": "canary rate minus control rate" if self.against_control else "canary rate",
            "reference": self.reference,
            "baseline_rate": self.plan.baseline_rate
            if self.higher_is_better
            else 1 - self.plan.baseline_rate,
            "higher_is_better": self.higher_is_better,
            "alpha": self.alpha,
            "margin": self.plan.margin,
            "canary": {"good": self.canary[0], "n": self.canary[1]},
            "control": {"good": self.control[0], "n": self.control[1]},
            "sequence": self.sequence(),
            "log_likelihood_ratio": None if math.isnan(self.log_lr) else self.log_lr,
            "status": self.status,
            "decided_at_line": self.decided_line,
            "trajectory": self.trajectory,
        }


@dataclass(slots=True)
class InvariantState:
    guardrail: Guardrail
    events: int = 0
    broken_line: int | None = None


@dataclass(frozen=True, slots=True)
class StreamVerdict:
    action: str
    rollback: bool
    line: int | None  # the line that decided, None when monitoring continues
    reason: str
    lines: int
    rates: tuple[RateState, ...]
    invariants: tuple[InvariantState, ...]

    def evidence(self) -> list[str]:
        out = [self.reason]
        for r in self.rates:
            side = "canary - control" if r.against_control else "canary rate"
            seq = r.sequence()
            fmt = "+.4f" if r.against_control else ".4f"
            bounds = "no data yet" if seq is None else f"[{seq[0]:{fmt}}, {seq[1]:{fmt}}]"
            out.append(
                f"{r.name}: {side} {bounds} vs {r.reference}"
                + ("" if r.against_control else f" {r.to_json()['baseline_rate']:.4f}")
                + f"; canary n={r.canary[1]:,}"
                + (f", control n={r.control[1]:,}" if r.against_control else "")
                + f"; {r.status}"
                + ("" if r.decided_line is None else f" at line {r.decided_line:,}")
            )
        for inv in self.invariants:
            state = "broken" if inv.broken_line is not None else "holds"
            at = "" if inv.broken_line is None else f" at line {inv.broken_line:,}"
            out.append(f"{inv.guardrail.predicate}: {count(inv.events, 'event')}, {state}{at}")
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "rollback": self.rollback,
            "decided_at_line": self.line,
            "reason": self.reason,
            "lines": self.lines,
            "rates": {r.name: r.to_json() for r in self.rates},
            "invariants": [
                {
                    "predicate": inv.guardrail.predicate,
                    "events": inv.events,
                    "holds": inv.broken_line is None,
                    "broken_at_line": inv.broken_line,
                }
                for inv in self.invariants
            ],
        }


# -- reading ------------------------------------------------------------------------------------


def _lines(path: Path) -> Iterator[tuple[int, bytes]]:
    """(number, line) of every non-blank line, never more than MAX_LINE_BYTES held at once."""
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise InputError(path, f"cannot read the stream: {exc.strerror or exc}") from None
    with handle:
        number = 0
        while True:
            raw = handle.readline(MAX_LINE_BYTES + 1)
            if not raw:
                return
            number += 1
            if len(raw) > MAX_LINE_BYTES and not raw.endswith(b"\n"):
                raise InputError(path, f"line longer than {MAX_LINE_BYTES} bytes", number)
            if raw.strip():
                yield number, raw


def _count(obj: Mapping[str, Any], key: str, path: Path, number: int) -> int:
    value = obj[key]
    if type(value) is not int:
        raise InputError(path, f"{key!r} must be a whole number, got {value!r}", number)
    if value < 0:
        raise InputError(path, f"{key!r} must not be negative, got {value}", number)
    return value


def parse_line(raw: bytes, path: Path, number: int, known: set[str]) -> tuple[str, int, int, int]:
    """(metric, arm 0/1, events or successes K, requests N) of one line, or InputError."""
    try:
        obj = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise InputError(path, "not a JSON object (one object a line)", number) from None
    if not isinstance(obj, dict):
        raise InputError(path, "not a JSON object (one object a line)", number)
    arm = obj.get("arm")
    if arm not in _ARMS:
        raise InputError(path, f'\'arm\' must be "canary" or "control", got {arm!r}', number)
    metric = obj.get("metric")
    if not isinstance(metric, str):
        raise InputError(path, "'metric' must name a monitored metric", number)
    if metric not in known:
        raise InputError(
            path,
            f"unknown metric {metric!r}: the stop rule monitors {', '.join(sorted(known))}",
            number,
        )
    if "value" in obj:
        if "successes" in obj or "n" in obj:
            raise InputError(path, "give either 'value' or 'successes' and 'n', not both", number)
        value = obj["value"]
        if type(value) is not int or value not in (0, 1):
            raise InputError(path, f"'value' must be 0 or 1, got {value!r}", number)
        return metric, _ARMS[arm], value, 1
    if "successes" not in obj or "n" not in obj:
        raise InputError(path, "give 'value' (0 or 1) or 'successes' and 'n'", number)
    k = _count(obj, "successes", path, number)
    n = _count(obj, "n", path, number)
    if k > n:
        raise InputError(path, f"'successes' ({k}) exceeds 'n' ({n})", number)
    return metric, _ARMS[arm], k, n


# -- the rule -----------------------------------------------------------------------------------


def _states(
    rule: Mapping[str, Any], invariants: list[str]
) -> tuple[list[RateState], list[InvariantState]]:
    sequential = rule.get("sequential") if isinstance(rule, Mapping) else None
    rates: list[RateState] = []
    if isinstance(sequential, Mapping):
        per_metric = float(sequential.get("level_per_metric", sequential.get("level", 0.05)))
        for name, spec in dict(sequential.get("metrics", {})).items():
            higher = bool(spec.get("higher_is_better", True))
            rate = reference_rate(float(spec["baseline_rate"]), int(spec.get("baseline_n", 0)))
            plan = SequentialPlan(
                baseline_rate=rate if higher else 1.0 - rate,
                level=per_metric,
                margin=float(sequential.get("margin", 0.0)),
                max_samples=int(sequential.get("max_samples", 1)),
                prior_strength=float(sequential.get("prior_strength", 100.0)),
            )
            rates.append(RateState(str(name), higher, plan, per_metric))
    watched = {r.name for r in rates}
    hard = []
    for text in invariants:
        parsed = parse_predicate(text)
        # delta(...) invariants compare with the baseline: the sequential test covers them
        if parsed is not None and parsed[0] not in watched and not parsed[0].startswith("delta("):
            hard.append(InvariantState(Guardrail(parsed[0], parsed[1], parsed[2], "")))
    return rates, hard


def reference_rate(rate: float, n: int) -> float:
    """The baseline rate as a reference, kept half a case away from 0 and 1.

    A baseline that got every one of its n offline cases right does not show a production rate
    of exactly 1: against 1, a single failure would reject at once. So 0 and 1 become 0.5 / n and
    1 - 0.5 / n (the usual continuity correction for a rate with no failures).
    """
    if n <= 0:
        return rate
    edge = 0.5 / n
    return min(max(rate, edge), 1.0 - edge)


def check_stream(doc: Mapping[str, Any], path: Path) -> StreamVerdict:
    rates, hard = _states(doc["canary_stop_rule"], list(doc["monitored_invariants"]))
    known = {r.name for r in rates} | {h.guardrail.metric for h in hard}
    by_name = {r.name: r for r in rates}
    total = 0
    for number, raw in _lines(path):  # pass 1: every line checked, controls found
        metric, arm, _k, _n = parse_line(raw, path, number, known)
        if arm == 1 and metric in by_name:
            by_name[metric].against_control = True
        total = number
    decided: tuple[str, int, str] | None = None  # (action, line, reason)
    block: list[tuple[int, str, int, int, int]] = []
    for number, raw in _lines(path):  # pass 2: the test, a block at a time
        metric, arm, k, n = parse_line(raw, path, number, known)
        block.append((number, metric, arm, k, n))
        if len(block) >= BLOCK_LINES:
            decided = _run_block(block, rates, hard)
            block = []
            if decided is not None:
                break
    if decided is None and block:
        decided = _run_block(block, rates, hard)
    return _verdict(doc, decided, total, rates, hard)


def _run_block(
    block: list[tuple[int, str, int, int, int]], rates: list[RateState], hard: list[InvariantState]
) -> tuple[str, int, str] | None:
    """Advance every test over the block; the first decision of the whole canary, if any.

    When the block decides at line L, the tests are rewound and run again on the lines up to L
    only, so what is reported is the state a pipeline saw when it stopped.
    """
    saved = [copy.deepcopy(r) for r in rates], [copy.deepcopy(h) for h in hard]
    decided = _advance_all(block, rates, hard)
    if decided is None:
        return None
    for rate, kept in zip(rates, saved[0], strict=True):
        _restore(rate, kept)
    for invariant, kept_invariant in zip(hard, saved[1], strict=True):
        _restore(invariant, kept_invariant)
    again = _advance_all([b for b in block if b[0] <= decided[1]], rates, hard)
    return again or decided


def _restore(target: Any, source: Any) -> None:
    for name in target.__slots__:
        setattr(target, name, getattr(source, name))


def _advance_all(
    block: list[tuple[int, str, int, int, int]], rates: list[RateState], hard: list[InvariantState]
) -> tuple[str, int, str] | None:
    lines = np.array([b[0] for b in block], dtype=np.int64)
    metrics = np.array([b[1] for b in block], dtype=object)
    arms = np.array([b[2] for b in block], dtype=np.int64)
    ks = np.array([b[3] for b in block], dtype=np.float64)
    ns = np.array([b[4] for b in block], dtype=np.float64)
    events: list[tuple[int, int, str, str]] = []  # (line, order, action, reason)
    for inv in hard:
        if inv.broken_line is not None:
            continue
        rows = (metrics == inv.guardrail.metric) & (arms == 0)
        running = inv.events + np.cumsum(ks[rows])
        bad = ~_holds(inv.guardrail, running)
        if bad.any():
            first = int(np.argmax(bad))
            inv.events = int(running[first])
            inv.broken_line = int(lines[rows][first])
            events.append(
                (
                    inv.broken_line,
                    0,
                    "roll_back",
                    f"{inv.guardrail.predicate} broken: {count(inv.events, 'event')} in the canary",
                )
            )
        elif running.size:
            inv.events = int(running[-1])
    for state in rates:
        if state.status != "continue":
            continue
        found = _advance(state, lines, metrics, arms, ks, ns)
        if found is not None:
            events.append(found)
    pending = [r for r in rates if r.status == "continue"]
    rollbacks = [e for e in events if e[2] == "roll_back"]
    first_back = min(rollbacks) if rollbacks else None
    if not pending and rates and not any(r.status == "roll_back" for r in rates):
        promoted_line = max(r.decided_line or 0 for r in rates if r.status == "promote")
        if all(r.status == "promote" for r in rates) and (
            first_back is None or promoted_line < first_back[0]
        ):
            return (
                PROMOTE,
                promoted_line,
                "every watched rate is shown not worse than its reference by more than the margin",
            )
    if first_back is not None:
        return ("roll_back", first_back[0], first_back[3])
    return None


def _holds(guardrail: Guardrail, values: np.ndarray) -> np.ndarray:
    """False where a running count has broken the invariant for good.

    A count only grows, so only upper limits can break mid-stream: `== v` and `<= v` once the
    count exceeds v, `< v` once it reaches v. Lower limits (`>=`, `>`) and `!=` cannot be judged
    before the canary ends and never roll back from a stream.
    """
    op, limit = guardrail.op, guardrail.value
    if op in ("==", "<="):
        return np.asarray(values <= limit, dtype=bool)
    if op == "<":
        return np.asarray(values < limit, dtype=bool)
    return np.ones(values.shape, dtype=bool)


def _advance(
    state: RateState,
    lines: np.ndarray,
    metrics: np.ndarray,
    arms: np.ndarray,
    ks: np.ndarray,
    ns: np.ndarray,
) -> tuple[int, int, str, str] | None:
    rows = metrics == state.name
    if state.against_control:
        arm = arms[rows]
    else:
        rows &= arms == 0
        arm = arms[rows]
    if not rows.any():
        return None
    k, n = ks[rows], ns[rows]
    good = k if state.higher_is_better else n - k
    is_canary = arm == 0
    cs = state.canary[0] + np.cumsum(np.where(is_canary, good, 0))
    cn = state.canary[1] + np.cumsum(np.where(is_canary, n, 0))
    ks_ = state.control[0] + np.cumsum(np.where(is_canary, 0, good))
    kn = state.control[1] + np.cumsum(np.where(is_canary, 0, n))
    if state.against_control:
        traj = control_trajectory(cs, cn, ks_, kn, state.plan, state.alpha)
    else:
        traj = baseline_trajectory(cs, cn, state.plan, state.alpha)
    line_numbers = lines[rows]
    decision = traj.decision.copy()
    over = cn >= state.plan.max_samples
    stop = np.flatnonzero((decision != 0) | over)
    end = int(stop[0]) if stop.size else len(decision) - 1
    _keep_points(state, traj, line_numbers, kn, ks_, end)
    state.canary = [int(cs[end]), int(cn[end])]
    state.control = [int(ks_[end]), int(kn[end])]
    state.low, state.high = float(traj.low[end]), float(traj.high[end])
    state.log_lr = float(traj.log_lr[end])
    if not stop.size:
        return None
    line = int(line_numbers[end])
    state.decided_line = line
    name = state.name
    if decision[end] == 1:
        state.status = "roll_back"
        return (
            line,
            1,
            "roll_back",
            f"{name}: the canary is shown worse than the {state.reference}",
        )
    if decision[end] == 2:
        state.status = "promote"
        return (line, 2, "promote", f"{name}: non-inferiority shown")
    state.status = "inconclusive"
    return (line, 3, "inconclusive", f"{name}: maximum sample size reached, inconclusive")


def _keep_points(
    state: RateState,
    traj: Any,
    line_numbers: np.ndarray,
    control_n: np.ndarray,
    control_good: np.ndarray,
    end: int,
) -> None:
    for i in range(end + 1):
        n = float(traj.canary_n[i])
        if n < state.next_mark and i != end:
            continue
        while state.next_mark <= n:
            state.next_mark *= _GROWTH
        state.trajectory.append(
            {
                "line": int(line_numbers[i]),
                "canary_n": int(n),
                "canary_good": int(traj.canary_successes[i]),
                "control_n": int(control_n[i]),
                "control_good": int(control_good[i]),
                "low": None if math.isnan(traj.low[i]) else float(traj.low[i]),
                "high": None if math.isnan(traj.high[i]) else float(traj.high[i]),
                "log_lr": None if math.isnan(traj.log_lr[i]) else float(traj.log_lr[i]),
                "decision": int(traj.decision[i]),
            }
        )
        if len(state.trajectory) > 400:  # the marks keep it shorter; this bounds it for sure
            del state.trajectory[1:-200]


def _verdict(
    doc: Mapping[str, Any],
    decided: tuple[str, int, str] | None,
    total: int,
    rates: list[RateState],
    hard: list[InvariantState],
) -> StreamVerdict:
    rollback_to = ROLL_BACK_PREFIX + str(doc["rollback_artifact"])
    if decided is not None and decided[0] == "roll_back":
        return StreamVerdict(
            rollback_to, True, decided[1], decided[2], total, tuple(rates), tuple(hard)
        )
    if decided is not None and decided[0] == PROMOTE:
        return StreamVerdict(
            PROMOTE, False, decided[1], decided[2], total, tuple(rates), tuple(hard)
        )
    if any(r.status == "inconclusive" for r in rates):
        reason = "maximum sample size reached without a decision: inconclusive, decide by hand"
    elif not rates:
        reason = "no monitored rate to test; every invariant holds so far"
    else:
        reason = "not enough evidence yet either way: keep monitoring"
    return StreamVerdict(CONTINUE, False, None, reason, total, tuple(rates), tuple(hard))
