"""Replaying a decision against a store: would the same review give the same answer today?

The suite the decision rests on must still have the recorded fingerprints, and the source run,
reviewed against the recorded baseline, must still earn the recorded status, comparability and
evidence flags. Each disagreement is its own check with its own message.

A decision that carries its pair's verdicts (`verdicts`: waivers, relabels, ledger heads) is
replayed with them: each reviewer's recorded ledger head and each applied verdict must still be in
the ledgers (`ledger_dir`, read afresh; a damaged ledger fails the check), and the status is
recomputed from the store's cells with the recorded waivers and relabels applied
(`decision/verdicts.py`), which must give the recorded `review_status` again.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from evaltui.decision.ledger import read_ledgers
from evaltui.decision.verdicts import Applied, effect_of
from evaltui.errors import InputError, NotFoundError
from evaltui.plural import agree, count
from evaltui.review.report import default_baseline, review_runs
from evaltui.store import queries_verdicts
from evaltui.store.queries import get_run, get_suites


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    status: str  # "pass", "fail" or "skip"
    code: str
    message: str

    @property
    def failed(self) -> bool:
        return self.status == "fail"

    def to_json(self) -> dict[str, Any]:
        return {
            "check": self.name,
            "status": self.status,
            "code": self.code,
            "message": self.message,
        }


def passed(name: str, message: str) -> Check:
    return Check(name, "pass", "ok", message)


def failed(name: str, code: str, message: str) -> Check:
    return Check(name, "fail", code, message)


def skipped(name: str, message: str) -> Check:
    return Check(name, "skip", "skipped", message)


# reads the verdicts a replay checks against into the connection's verdict tables: the ledgers
# in a folder (`read_ledgers`), or a team store's events (`actions.verdicts.read_verdicts`)
VerdictReader = Callable[[duckdb.DuckDBPyConnection, Path], list[InputError]]


def replay(
    con: duckdb.DuckDBPyConnection,
    doc: Mapping[str, Any],
    ledger_dir: Path | None = None,
    read_verdicts: VerdictReader = read_ledgers,
) -> list[Check]:
    suite_doc = doc["suite"]
    suite_id = str(suite_doc["suite_id"])
    recorded: dict[str, Any] = dict(suite_doc["fingerprints"])
    checks: list[Check] = []
    found = get_suites(con, [suite_id])
    if suite_id not in found:
        checks.append(
            failed("replay.suite", "replay_suite_missing", f"suite {suite_id} is not in the store")
        )
    else:
        current = found[suite_id].fingerprints()
        changed = [
            f"{name} is now {current.get(name, '(absent)')}, the decision recorded {value}"
            for name, value in sorted(recorded.items())
            if current.get(name) != value
        ]
        changed += [
            f"{name} is new ({value})"
            for name, value in sorted(current.items())
            if name not in recorded
        ]
        if changed:
            checks.append(
                failed(
                    "replay.suite",
                    "replay_suite_changed",
                    f"suite {suite_id} changed since the decision: " + "; ".join(changed),
                )
            )
        else:
            checks.append(passed("replay.suite", f"suite {suite_id} fingerprints unchanged"))

    run_id = str(doc["source_run_id"])
    baseline_id = str(doc["baseline"].get("run_id", ""))
    try:  # only the source run against the baseline: its status, contract and flags
        source = get_run(con, run_id)
        baseline_id = baseline_id or default_baseline(con, source.experiment)
        review = review_runs(con, baseline_id, [run_id])
        run = review.get(run_id)
    except NotFoundError as exc:
        checks.append(failed("replay.run", "replay_run_missing", f"cannot replay: {exc}"))
        return checks
    status = run.status
    verdicts = doc.get("verdicts")
    if isinstance(verdicts, Mapping):
        applied = _recorded_applied(verdicts)
        checks.append(_ledger_check(con, verdicts, applied, ledger_dir, read_verdicts))
        effect = effect_of(con, review, run, applied, {})
        status = effect.status
        if len(effect.applied) != len(applied):
            gone = sorted({a.case_id for a in applied} - {a.case_id for a in effect.applied})
            checks.append(
                failed(
                    "replay.verdicts",
                    "replay_verdict_case_missing",
                    f"{count(len(gone), 'judged case')} {agree(len(gone), 'is', 'are')} "
                    f"no longer in suite {suite_id}: " + ", ".join(gone[:5]),
                )
            )
    with_verdicts = " with its recorded verdicts" if isinstance(verdicts, Mapping) else ""
    if status == doc["review_status"]:
        checks.append(passed("replay.status", f"{run_id} still earns {status}{with_verdicts}"))
    else:
        checks.append(
            failed(
                "replay.status",
                "replay_status_changed",
                f"{run_id} now earns {status}{with_verdicts}, the decision recorded "
                f"{doc['review_status']}",
            )
        )
    was_comparable = bool(doc["comparable"])
    if run.comparable == was_comparable:
        checks.append(
            passed(
                "replay.comparable",
                f"{run_id} is {'' if run.comparable else 'still not '}comparable "
                f"with {baseline_id}",
            )
        )
    else:
        now = "comparable" if run.comparable else f"not comparable ({run.reason})"
        checks.append(
            failed(
                "replay.comparable",
                "replay_comparability_changed",
                f"{run_id} is now {now} with {baseline_id}; the decision recorded the opposite",
            )
        )
    recorded_flags = _flag_keys(doc["evidence"].get("source", {}).get("evidence_flags", []))
    now_flags = {(f.kind, f.field) for f in run.evidence}
    if recorded_flags == now_flags:
        checks.append(
            passed("replay.evidence", f"{count(len(now_flags), 'evidence flag')}, as recorded")
        )
    else:
        checks.append(
            failed(
                "replay.evidence",
                "replay_evidence_changed",
                f"{run_id}'s evidence flags are now {_show(now_flags)}, "
                f"the decision recorded {_show(recorded_flags)}",
            )
        )
    return checks


def _recorded_applied(verdicts: Mapping[str, Any]) -> list[Applied]:
    out = []
    for kind, key in (("waive", "waivers"), ("relabel", "relabels")):
        for item in verdicts.get(key) or []:
            out.append(Applied.from_json(kind, item))
    return out


def _ledger_check(
    con: duckdb.DuckDBPyConnection,
    verdicts: Mapping[str, Any],
    applied: list[Applied],
    ledger_dir: Path | None,
    read_verdicts: VerdictReader,
) -> Check:
    """The recorded ledger heads and applied verdicts are still in the reviewers' ledgers."""
    name = "replay.ledgers"
    if ledger_dir is None:
        return skipped(name, "no ledger folder to check the verdicts' heads against")
    problems = read_verdicts(con, ledger_dir)
    if problems:
        return failed(name, "replay_ledger_damaged", f"a ledger is damaged: {problems[0].render()}")
    heads = verdicts.get("ledger_heads") or {}
    missing = [
        f"{reviewer} line {head.get('seq')}"
        for reviewer, head in sorted(heads.items())
        if not queries_verdicts.head_present(
            con, str(reviewer), int(head.get("seq", 0)), str(head.get("hash", ""))
        )
    ]
    if missing:
        return failed(
            name,
            "replay_ledger_head_missing",
            f"the ledgers in {ledger_dir} no longer hold the heads the decision used: "
            + ", ".join(missing),
        )
    present = queries_verdicts.events_present(con, [a.hash for a in applied])
    lost = [a.case_id for a in applied if a.hash not in present]
    if lost:
        return failed(
            name,
            "replay_verdict_missing",
            f"{count(len(lost), 'applied verdict')} {agree(len(lost), 'is', 'are')} "
            "not in the ledgers: " + ", ".join(lost[:5]),
        )
    return passed(
        name,
        f"{count(len(heads), 'ledger head')} and {count(len(applied), 'applied verdict')} "
        f"found in {ledger_dir}",
    )


def _flag_keys(flags: Any) -> set[tuple[str, str]]:
    out = set()
    for flag in flags if isinstance(flags, list) else []:
        if isinstance(flag, dict):
            out.add((str(flag.get("kind")), str(flag.get("field"))))
    return out


def _show(flags: set[tuple[str, str]]) -> str:
    return ", ".join(f"{k}:{f}" for k, f in sorted(flags)) or "none"
