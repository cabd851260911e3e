"""What a pair's verdicts do to a decision: the metrics and guardrails after waivers and relabels.

A decision carries the verdicts of its pair (docs/decision-file.md, "verdicts"): the raw figures
and the figures after them, every waiver and relabel applied (reviewer, reason, expiry, the
event's hash), and each reviewer's ledger head at the time (so a replay can find them again).

The rules, applied to the case cells the review already counts (`review/cells.py`), for each
case whose verdict (`actions.verdicts`: the latest counting judgment across reviewers) is

- a waive: a failing case counts as routed right (its cell moves from (split, expected, route)
  to (split, expected, expected)); a case that passes is unchanged;
- a relabel: the case's expected route is the proposed one (its cell moves to (split, proposed,
  route)), whatever the case's outcome was;
- a confirm: nothing changes (the failure stands).

The paired counts against the baseline move the same way (a waived case is right for the
candidate; a relabel judges both runs on the proposed route); a delta guardrail is then judged on
the pair's recorded decision interval moved by the change in the paired difference (its width,
clustered or not, is kept). A run that fails its guardrails raw but passes after its verdicts is
ELIGIBLE_WITH_WAIVERS, which needs a quorum of two signatures (`quorum.py`).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import duckdb

from evaltui.decision.quorum import WAIVERS_STATUS
from evaltui.review.cells import RouteCell, metric_counts_from_cells, route_cells
from evaltui.review.delta_guardrails import delta_inner
from evaltui.review.guardrails import GuardrailVerdict, evaluate_guardrails
from evaltui.review.metrics import Number, metric_values
from evaltui.review.paired import PairedCounts
from evaltui.review.report import Review, RunReview
from evaltui.store import queries_verdicts as q

APPLIED_KINDS = ("waive", "relabel")


@dataclass(frozen=True, slots=True)
class Applied:
    """A waiver or relabel the decision applies, with the case as the store has it."""

    case_id: str
    kind: str
    reviewer: str
    reason: str
    expected: str | None  # a relabel's proposed route
    expires: dt.date | None
    time: str  # as the ledger wrote it (UTC)
    hash: str  # the ledger event's hash
    split: str | None = None
    expected_route: str | None = None  # the suite's
    route: str | None = None  # the candidate's (None: no result)
    baseline_route: str | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "case_id": self.case_id,
            "reviewer": self.reviewer,
            "reason": self.reason,
            "time": self.time,
            "hash": self.hash,
            "split": self.split,
            "expected_route": self.expected_route,
            "route": self.route,
            "baseline_route": self.baseline_route,
        }
        if self.kind == "waive":
            out["expires"] = None if self.expires is None else self.expires.isoformat()
        else:
            out["proposed_route"] = self.expected
        return out

    @classmethod
    def from_json(cls, kind: str, doc: Mapping[str, Any]) -> Applied:
        expires = doc.get("expires")
        return cls(
            case_id=str(doc["case_id"]),
            kind=kind,
            reviewer=str(doc.get("reviewer", "")),
            reason=str(doc.get("reason", "")),
            expected=None if kind == "waive" else str(doc["proposed_route"]),
            expires=dt.date.fromisoformat(expires) if isinstance(expires, str) else None,
            time=str(doc.get("time", "")),
            hash=str(doc.get("hash", "")),
        )


@dataclass(frozen=True, slots=True)
class VerdictEffect:
    """The pair's verdicts and what they change."""

    applied: tuple[Applied, ...]
    heads: Mapping[str, tuple[int, str]]  # reviewer -> (seq, hash) of their ledger's last line
    raw: GuardrailVerdict
    after: GuardrailVerdict
    metrics_raw: Mapping[str, Number | None]
    metrics_after: Mapping[str, Number | None]
    paired_raw: PairedCounts | None
    paired_after: PairedCounts | None

    @property
    def status(self) -> str:
        """The run's review status with its verdicts: ELIGIBLE_WITH_WAIVERS when only they make
        it pass; else what the guardrails say after them (a relabel can make a run fail)."""
        if not self.applied:
            return self.raw.status
        if self.after.eligible and not self.raw.eligible:
            return WAIVERS_STATUS
        return self.after.status

    @property
    def changes_status(self) -> bool:
        return self.status != self.raw.status

    @property
    def waivers(self) -> tuple[Applied, ...]:
        return tuple(a for a in self.applied if a.kind == "waive")

    @property
    def relabels(self) -> tuple[Applied, ...]:
        return tuple(a for a in self.applied if a.kind == "relabel")

    def to_json(self) -> dict[str, Any]:
        return {
            "ledger_heads": {r: {"seq": s, "hash": h} for r, (s, h) in sorted(self.heads.items())},
            "status": self.status,
            "raw": _figures(self.raw, self.metrics_raw, self.paired_raw),
            "after": _figures(self.after, self.metrics_after, self.paired_after),
            "waivers": [a.to_json() for a in self.waivers],
            "relabels": [a.to_json() for a in self.relabels],
        }


def _figures(
    verdict: GuardrailVerdict, metrics: Mapping[str, Number | None], paired: PairedCounts | None
) -> dict[str, Any]:
    return {
        "status": verdict.status,
        "metrics": dict(metrics),
        "guardrails": [o.to_json() for o in verdict.outcomes],
        "paired": None if paired is None else paired.to_json(),
    }


def current_applied(
    con: duckdb.DuckDBPyConnection, run_id: str, baseline_id: str, today: dt.date
) -> list[Applied]:
    """The pair's counting waivers and relabels in the connection's verdict tables."""
    out = []
    n = len(q.EVENT_COLUMNS)
    for row in q.current_verdicts(con, run_id, baseline_id, None, today):
        values = dict(zip(q.EVENT_COLUMNS, row[:n], strict=True))
        counts = row[n + 1]
        if not counts or values["kind"] not in APPLIED_KINDS:
            continue
        out.append(
            Applied(
                case_id=values["case_id"],
                kind=values["kind"],
                reviewer=values["reviewer"],
                reason=values["reason"],
                expected=values["expected"],
                expires=values["expires"],
                time=values["time"].strftime(q.TIME_FORMAT),
                hash=values["hash"],
            )
        )
    return out


def pair_effect(
    con: duckdb.DuckDBPyConnection, review: Review, run_id: str, today: dt.date | None = None
) -> VerdictEffect | None:
    """The effect of the verdicts loaded on `con` on the run against the review's baseline;
    None for the baseline itself."""
    run = review.get(run_id)
    if run.is_baseline:
        return None
    today = today or dt.datetime.now(dt.UTC).date()
    applied = current_applied(con, run_id, review.baseline.run_id, today)
    return effect_of(con, review, run, applied, q.heads(con))


def effect_of(
    con: duckdb.DuckDBPyConnection,
    review: Review,
    run: RunReview,
    applied: Sequence[Applied],
    heads: Mapping[str, tuple[int, str]],
) -> VerdictEffect:
    """Apply `applied` (from the verdict tables, or as a decision recorded them) to the run."""
    suite = review.suites[run.run.suite_id]
    baseline_id = review.baseline.run_id
    found = {
        case_id: (split, expected, route, base)
        for case_id, split, expected, route, base in q.pair_case_routes(
            con, suite.suite_id, run.run_id, baseline_id, [a.case_id for a in applied]
        )
    }
    filled = tuple(
        replace(a, split=s, expected_route=e, route=r, baseline_route=b)
        for a in sorted(applied, key=lambda a: a.case_id)
        if a.case_id in found
        for s, e, r, b in [found[a.case_id]]
    )
    cells = Counter(
        {
            (c.split, c.expected, c.predicted): c.count
            for c in route_cells(con, suite, [run.run_id]).get(run.run_id, ())
        }
    )
    paired_raw = None if run.paired is None else run.paired.counts
    moved = Counter[str]()
    for a in filled:
        if a.route is None or a.split is None or a.expected_route is None:
            continue  # no result: nothing to count differently
        old = (a.split, a.expected_route, a.route)
        if a.kind == "waive":
            new = (a.split, a.expected_route, a.expected_route)
        else:
            new = (a.split, str(a.expected), a.route)
        if new != old and cells[old] > 0:
            cells[old] -= 1
            cells[new] += 1
        if a.baseline_route is not None:
            expected = a.expected_route if a.kind == "waive" else str(a.expected)
            was = _outcome(a.route == a.expected_route, a.baseline_route == a.expected_route)
            cand_ok = True if a.kind == "waive" else a.route == expected
            now = _outcome(cand_ok, a.baseline_route == expected)
            if was != now:
                moved[was] -= 1
                moved[now] += 1
    after_cells = [RouteCell(s, e, p, n) for (s, e, p), n in cells.items() if n > 0]
    metrics_after = metric_values(
        suite.metrics, metric_counts_from_cells(suite.metrics, after_cells)
    )
    paired_after = None
    if paired_raw is not None:
        paired_after = PairedCounts(
            n=paired_raw.n,
            fixed=paired_raw.fixed + moved["fixed"],
            broken=paired_raw.broken + moved["broken"],
            both_right=paired_raw.both_right + moved["both_right"],
            both_wrong=paired_raw.both_wrong + moved["both_wrong"],
        )
    deltas = _moved_deltas(run, paired_raw, paired_after, suite.guardrails)
    after = evaluate_guardrails(suite.guardrails, {**metrics_after, **deltas})
    return VerdictEffect(
        applied=filled,
        heads=dict(heads),
        raw=run.verdict,
        after=after,
        metrics_raw=dict(run.metrics_recomputed),
        metrics_after=metrics_after,
        paired_raw=paired_raw,
        paired_after=paired_after,
    )


def _outcome(candidate_ok: bool, baseline_ok: bool) -> str:
    if candidate_ok and baseline_ok:
        return "both_right"
    if candidate_ok:
        return "fixed"
    if baseline_ok:
        return "broken"
    return "both_wrong"


def _moved_deltas(
    run: RunReview,
    raw: PairedCounts | None,
    after: PairedCounts | None,
    guardrails: Sequence[Any],
) -> dict[str, float | None]:
    """Each delta guardrail's value after the verdicts: the recorded decision interval's end,
    moved by the change in the paired difference."""
    out: dict[str, float | None] = {}
    ci = None if run.paired is None else run.paired.decision_ci
    shift = 0.0
    if raw is not None and after is not None and raw.delta is not None and after.delta is not None:
        shift = after.delta - raw.delta
    for g in guardrails:
        if delta_inner(g.metric) is None:
            continue
        if ci is None:
            out[g.metric] = None
        else:
            out[g.metric] = (ci.low if g.op in (">=", ">") else ci.high) + shift
    return out
