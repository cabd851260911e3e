"""The decision record (schema `evaltui.decision/1`): building it from a draft, checking its fields.

The record is what a deployment system trusts, so it carries the whole basis of the decision: the
suite fingerprints and contract values, every run considered with its status and reason, the
evidence against the baseline as the review layer reports it, the rollback target, the
limitation, and the canary stop rule in a form `evaltui canary-check` (or any script) applies.

`status` is the decision (e.g. APPROVED_FOR_CANARY); `review_status` is what the source run
earned from the guardrails (e.g. ELIGIBLE_FOR_CANARY_REVIEW), which a replay must reproduce.
"""

from __future__ import annotations

import re
import secrets
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from evaltui import __version__
from evaltui.contract.model import Guardrail
from evaltui.contract.suite import parse_predicate
from evaltui.decision.canary_plan import CanaryPlanChoices, sequential_rule
from evaltui.decision.canonical import canonical_form
from evaltui.decision.draft import CHOICE_KIND, DecisionDraft, Refusal, is_eligible_candidate
from evaltui.decision.quorum import WAIVERS_STATUS
from evaltui.errors import CheckFailed, InputError
from evaltui.plural import count
from evaltui.review.report import RunReview

SCHEMA = "evaltui.decision/1"
DEFAULT_ALIAS = "canary_candidate"
DEFAULT_STATUS = "APPROVED_FOR_CANARY"
CONTINUE = "CONTINUE_CANARY_MONITORING"
ROLL_BACK_PREFIX = "ROLL_BACK_TO:"

REQUIRED_FIELDS: dict[str, type | tuple[type, ...]] = {
    "schema": str,
    "decision_id": str,
    "decided_at": str,
    "reviewer": str,
    "experiment": str,
    "suite": dict,
    "contract": dict,
    "baseline": dict,
    "source_run_id": str,
    "artifact": str,
    "alias": str,
    "status": str,
    "review_status": str,
    "comparable": bool,
    "rollback_artifact": str,
    "limitation": str,
    "monitored_invariants": list,
    "canary_stop_rule": dict,
    "considered_runs": list,
    "eligible_run_ids": list,
    "refusals": list,
    "evidence": dict,
    "override": (str, type(None)),
    "tool": dict,
}

_TOKEN = re.compile(r"^[^\s\x00-\x1f\x7f-\x9f]+$")  # one printable word: artifacts, aliases, ids
_STATUS = re.compile(r"^[A-Z][A-Z0-9_]*$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


class InvalidChoice(InputError):
    """A value the reviewer typed is not acceptable; `field` names the form field."""

    def __init__(self, field_name: str, message: str) -> None:
        self.field = field_name
        super().__init__(None, f"{field_name}: {message}")


class UnknownRollback(InvalidChoice):
    """The rollback target is no artifact of the experiment's runs and was not confirmed."""

    def __init__(self, name: str, experiment: str, known: Sequence[str]) -> None:
        self.name = name
        listed = ", ".join(repr(a) for a in known[:5]) + (" ..." if len(known) > 5 else "")
        super().__init__(
            "rollback_artifact",
            f"{name!r} is not the artifact of any run in experiment {experiment!r} "
            f"(those are {listed}); if it is outside the store, confirm it "
            "(decide --rollback-external)",
        )


class DecisionRefused(CheckFailed):
    """The run may not be promoted as asked; one line per reason."""

    def __init__(self, refusals: Sequence[Refusal], hint: str) -> None:
        self.refusals = tuple(refusals)
        self.hint = hint
        super().__init__("; ".join(r.message for r in self.refusals))

    def lines(self) -> list[str]:
        return [f"refused: {r.message}" for r in self.refusals] + ([self.hint] if self.hint else [])


@dataclass(frozen=True, slots=True)
class DecisionChoices:
    """What the reviewer decides (the decide form, or the CLI's options)."""

    rollback_artifact: str
    limitation: str
    reviewer: str
    alias: str = DEFAULT_ALIAS
    status: str = DEFAULT_STATUS
    monitored_invariants: tuple[str, ...] | None = None  # None: the suite's guardrail predicates
    override: str | None = None
    chosen_explicitly: bool = (
        False  # the CLI names the run; the app sets it when the reviewer picks
    )
    canary: CanaryPlanChoices | None = None  # the sequential test's settings (None: defaults)
    # the reviewer confirms a rollback target that no run of the experiment has (e.g. the
    # version in production): without it such a name is refused, so a typo is never signed
    rollback_external: bool = False


@dataclass(frozen=True, slots=True)
class DecisionRecord:
    doc: Mapping[str, Any]
    data: bytes = field(repr=False)  # the canonical bytes: what is written and signed

    @property
    def decision_id(self) -> str:
        return str(self.doc["decision_id"])

    @property
    def name(self) -> str:
        """File name stem: NAME.decision.json."""
        return self.decision_id


@dataclass(frozen=True, slots=True)
class CheckedChoices:
    """The reviewer's choices, trimmed and checked against the draft (reviewer "" if not given)."""

    rollback_artifact: str
    limitation: str
    reviewer: str
    alias: str
    status: str
    monitored_invariants: tuple[str, ...]
    override: str | None


def check_choices(draft: DecisionDraft, choices: DecisionChoices) -> CheckedChoices:
    """Check the choices against the draft, before a key is loaded or a passphrase asked for.

    Raises InvalidChoice for a bad value and DecisionRefused when the run needs an override (or
    an explicit choice among several eligible runs) that was not given. An empty reviewer is
    allowed here (it may come from the key); build_record requires one.
    """
    rollback = _printable_name(choices.rollback_artifact, "rollback_artifact")
    alias = _token(choices.alias, "alias")
    reviewer = _token(choices.reviewer, "reviewer") if (choices.reviewer or "").strip() else ""
    limitation = _text(choices.limitation, "limitation")
    status = choices.status.strip()
    if not _STATUS.fullmatch(status):
        raise InvalidChoice(
            "status", f"must be an upper-case word like {DEFAULT_STATUS}, got {status!r}"
        )
    if rollback == draft.run.run.artifact:
        raise InvalidChoice(
            "rollback_artifact",
            f"{rollback} is the artifact being promoted; name what to go back to",
        )
    known = known_artifacts(draft)
    if rollback not in known and not choices.rollback_external:
        raise UnknownRollback(rollback, draft.run.run.experiment, known)
    invariants = normalise_invariants(
        draft.default_invariants
        if choices.monitored_invariants is None
        else choices.monitored_invariants
    )
    override = choices.override.strip() if choices.override and choices.override.strip() else None
    if override is not None:
        override = _text(override, "override")
    if draft.refusals and override is None:
        raise DecisionRefused(
            draft.refusals, "write an override reason to decide anyway (it is recorded in the file)"
        )
    if override is not None and not draft.refusals:
        raise InvalidChoice(
            "override", f"nothing to override: {draft.run.run_id} is comparable, clean and eligible"
        )
    if draft.several_eligible and not choices.chosen_explicitly:
        raise DecisionRefused(
            [
                Refusal(
                    CHOICE_KIND,
                    f"{len(draft.eligible_run_ids)} runs are eligible: "
                    + ", ".join(draft.eligible_run_ids),
                )
            ],
            "choose one explicitly; the others are recorded as considered",
        )
    return CheckedChoices(rollback, limitation, reviewer, alias, status, invariants, override)


def build_record(
    draft: DecisionDraft,
    choices: DecisionChoices,
    *,
    now: datetime | None = None,
    decision_id: str | None = None,
    team_store: Mapping[str, Any] | None = None,
) -> DecisionRecord:
    """Check the choices (check_choices, and a reviewer is required) and build the record.

    `team_store` ({"uri", "snapshots"}) records the team store snapshot the review was read
    from, so `verify --store URI` replays against exactly that snapshot."""
    checked = check_choices(draft, choices)
    if not checked.reviewer:
        raise InvalidChoice("reviewer", "is required")
    moment = (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    run = draft.run
    doc: dict[str, Any] = {
        "schema": SCHEMA,
        "decision_id": decision_id or new_decision_id(run.run_id, moment),
        "decided_at": moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "reviewer": checked.reviewer,
        "experiment": run.run.experiment,
        "suite": {
            "suite_id": draft.review.suite.suite_id,
            "fingerprints": draft.review.suite.fingerprints(),
            "comparison_fields": list(draft.review.suite.comparison_fields),
            "case_count": draft.review.suite.case_count,
        },
        "contract": dict(run.contract),
        "baseline": _run_summary(draft.baseline),
        "source_run_id": run.run_id,
        "artifact": run.run.artifact,
        "alias": checked.alias,
        "status": checked.status,
        "review_status": draft.review_status,
        "comparable": run.comparable,
        "rollback_artifact": checked.rollback_artifact,
        "limitation": checked.limitation,
        "monitored_invariants": list(checked.monitored_invariants),
        "canary_stop_rule": stop_rule(
            checked.rollback_artifact,
            sequential_rule(draft, checked.monitored_invariants, choices.canary),
        ),
        "considered_runs": [_considered(r, draft) for r in draft.considered()],
        "eligible_run_ids": list(draft.eligible_run_ids),
        "refusals": [r.to_json() for r in draft.refusals],
        "override": checked.override,
        "evidence": {"baseline": draft.baseline.to_json(), "source": run.to_json()},
        "tool": {"name": "evaltui", "version": __version__},
    }
    if team_store is not None:
        doc["team_store"] = {
            "uri": str(team_store["uri"]),
            # snapshot ids are 64-bit: as text, since canonical JSON numbers are doubles
            "snapshots": {
                name: None if sid is None else str(sid)
                for name, sid in sorted(dict(team_store["snapshots"]).items())
            },
        }
    if draft.verdicts is not None and (draft.verdicts.applied or draft.verdicts.heads):
        doc["verdicts"] = draft.verdicts.to_json()  # absent: no ledger had any verdict
    plain_doc, data = canonical_form(doc)
    return DecisionRecord(plain_doc, data)


def known_artifacts(draft: DecisionDraft) -> list[str]:
    """Artifacts of the runs the draft considered (the experiment's), the baseline's first."""
    return list(dict.fromkeys(r.run.artifact for r in draft.considered()))


def stop_rule(rollback: str, sequential: Mapping[str, Any] | None = None) -> dict[str, Any]:
    rule: dict[str, Any] = {
        "rule": "roll back when any observed value breaks a monitored invariant",
        "on_violation": ROLL_BACK_PREFIX + rollback,
        "otherwise": CONTINUE,
        "unobserved": "a broken observed value rolls back at once; a clean verdict needs every "
        "monitored metric observed",
    }
    if sequential is not None:
        rule["sequential"] = dict(sequential)
    return rule


def new_decision_id(run_id: str, moment: datetime) -> str:
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", run_id).strip("._") or "run"
    return f"{moment:%Y%m%dT%H%M%SZ}-{slug[:48]}-{secrets.token_hex(3)}"


def normalise_invariants(texts: Sequence[str]) -> tuple[str, ...]:
    """Each invariant as `metric op number` (the guardrail predicate form); at least one."""
    out = []
    for text in texts:
        parsed = parse_predicate(text)
        if parsed is None:
            raise InvalidChoice(
                "monitored_invariants",
                f"{text!r} is not `metric OP number` (e.g. unsafe_claim_served == 0)",
            )
        predicate = Guardrail(parsed[0], parsed[1], parsed[2], "").predicate
        if predicate not in out:
            out.append(predicate)
    if not out:
        raise InvalidChoice(
            "monitored_invariants", "name at least one invariant: the canary needs a stop rule"
        )
    return tuple(out)


def parse_invariant(text: str) -> Guardrail:
    parsed = parse_predicate(text)
    if parsed is None:
        raise ValueError(f"{text!r} is not `metric OP number`")
    return Guardrail(parsed[0], parsed[1], parsed[2], "")


def _run_summary(review: RunReview) -> dict[str, Any]:
    return {"run_id": review.run_id, "artifact": review.run.artifact, "status": review.status}


def _considered(review: RunReview, draft: DecisionDraft) -> dict[str, Any]:
    if review.run_id == draft.run.run_id:
        role = "chosen"  # even when it is the baseline itself; `baseline` names that run
    elif review.is_baseline:
        role = "baseline"
    else:
        role = "candidate"
    return {
        "run_id": review.run_id,
        "artifact": review.run.artifact,
        "suite_id": review.run.suite_id,
        "role": role,
        "status": review.status,
        "comparable": review.comparable,
        "eligible": is_eligible_candidate(review),
        "reason": _reason(review),
        "differences": [d.to_json() for d in review.differences],
        "evidence_flags": [f.to_json() for f in review.evidence],
    }


def _reason(review: RunReview) -> str:
    if not review.comparable:
        return "incomparable: " + review.reason
    if review.evidence:
        return f"{count(len(review.evidence), 'evidence flag')}: " + review.evidence[0].message
    failed = review.verdict.failed
    if failed:
        return "fails " + ", ".join(o.predicate for o in failed)
    return "passes every guardrail"


def _token(value: str, name: str) -> str:
    text = (value or "").strip()
    if not text:
        raise InvalidChoice(name, "is required")
    if not _TOKEN.fullmatch(text):
        raise InvalidChoice(
            name, f"must be one word without spaces or control characters, got {text!r}"
        )
    return text


_UNPRINTABLE = frozenset(("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"))


def _printable_name(value: str, name: str) -> str:
    """A name as people write it: spaces and brackets are fine (`router-v3 [prod]`), but not
    control, format (zero-width) or separator characters that would hide what was signed."""
    text = (value or "").strip()
    if not text:
        raise InvalidChoice(name, "is required")
    bad = next((c for c in text if unicodedata.category(c) in _UNPRINTABLE), None)
    if bad is not None:
        raise InvalidChoice(
            name, f"must be printable text, found the invisible character U+{ord(bad):04X}"
        )
    return text


def _text(value: str, name: str) -> str:
    text = (value or "").strip()
    if not text:
        raise InvalidChoice(name, "is required")
    if _CONTROL.search(text):
        raise InvalidChoice(name, "must be one line of text without control characters")
    return text


def validate_record(doc: Any) -> list[str]:
    """Problems with a parsed decision's fields (empty when it has every field it must)."""
    if not isinstance(doc, dict):
        return ["the decision file must hold a JSON object"]
    problems = []
    if doc.get("schema") != SCHEMA and "schema" in doc:
        problems.append(f"schema is {doc.get('schema')!r}, expected {SCHEMA!r}")
    for name, kind in REQUIRED_FIELDS.items():
        if name not in doc:
            problems.append(f"missing field {name!r}")
        elif not isinstance(doc[name], kind):
            problems.append(f"field {name!r} has the wrong type")
    for name in ("reviewer", "rollback_artifact", "limitation", "artifact", "source_run_id"):
        if isinstance(doc.get(name), str) and not doc[name].strip():
            problems.append(f"field {name!r} is empty")
    suite = doc.get("suite")
    if isinstance(suite, dict) and not (
        isinstance(suite.get("suite_id"), str) and isinstance(suite.get("fingerprints"), dict)
    ):
        problems.append("field 'suite' needs suite_id and fingerprints")
    problems += _verdict_problems(doc)
    invariants = doc.get("monitored_invariants")
    if isinstance(invariants, list):
        if not invariants:
            problems.append("monitored_invariants is empty")
        for text in invariants:
            if not isinstance(text, str) or parse_predicate(text) is None:
                problems.append(f"monitored invariant {text!r} is not `metric OP number`")
    return problems


_HEX64 = re.compile(r"^[0-9a-f]{64}$")


def _verdict_problems(doc: Mapping[str, Any]) -> list[str]:
    """The optional `verdicts` section (docs/decision-file.md): its shape, and that a decision
    whose review status is ELIGIBLE_WITH_WAIVERS applies at least one waiver or relabel."""
    verdicts = doc.get("verdicts")
    if verdicts is None:
        if doc.get("review_status") == WAIVERS_STATUS:
            return [f"review_status {WAIVERS_STATUS} without the verdicts it rests on"]
        return []
    if not isinstance(verdicts, dict):
        return ["field 'verdicts' has the wrong type"]
    problems = []
    for name, kind in (
        ("ledger_heads", dict),
        ("raw", dict),
        ("after", dict),
        ("waivers", list),
        ("relabels", list),
        ("status", str),
    ):
        if not isinstance(verdicts.get(name), kind):
            problems.append(f"verdicts.{name} is missing or has the wrong type")
    heads = verdicts.get("ledger_heads")
    for reviewer, head in heads.items() if isinstance(heads, dict) else []:
        if not (
            isinstance(head, dict)
            and isinstance(head.get("seq"), int)
            and isinstance(head.get("hash"), str)
            and _HEX64.fullmatch(head["hash"])
        ):
            problems.append(f"verdicts.ledger_heads.{reviewer} needs seq and a 64-digit hash")
    for key, extra in (("waivers", "expires"), ("relabels", "proposed_route")):
        items = verdicts.get(key)
        for index, item in enumerate(items if isinstance(items, list) else []):
            where = f"verdicts.{key}[{index}]"
            if not isinstance(item, dict):
                problems.append(f"{where} must be an object")
                continue
            for name in ("case_id", "reviewer", "reason", "hash"):
                if not isinstance(item.get(name), str) or not item[name].strip():
                    problems.append(f"{where}.{name} must be a non-empty string")
            if extra not in item:
                problems.append(f"{where} needs {extra}")
    applied = sum(
        len(verdicts.get(k) or [])
        for k in ("waivers", "relabels")
        if isinstance(verdicts.get(k), list)
    )
    if doc.get("review_status") == WAIVERS_STATUS and not applied:
        problems.append(f"review_status {WAIVERS_STATUS} but no waiver or relabel is recorded")
    return problems
