"""Decision drafts and records on the bundled sample runs: refusals, overrides, explicit choices."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
import rfc8785

from evaltui.decision.canonical import NotCanonical, canonical_bytes, check_canonical
from evaltui.decision.draft import prepare
from evaltui.decision.record import (
    SCHEMA,
    DecisionChoices,
    DecisionRefused,
    InvalidChoice,
    build_record,
    validate_record,
)

NOW = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
CHOICES = DecisionChoices(
    rollback_artifact="ci-answerer-v1",
    rollback_external=True,
    limitation="requires production review and monitored canary",
    reviewer="alice@example.com",
    chosen_explicitly=True,
)


def test_eligible_run_makes_the_worked_example_record(sample_con) -> None:
    draft = prepare(sample_con, "run_003")
    assert draft.baseline.run_id == "run_001"  # the experiment's earliest run
    assert draft.refusals == ()
    assert draft.eligible_run_ids == ("run_003",)
    record = build_record(draft, CHOICES, now=NOW)
    doc = json.loads(record.data)
    assert record.data == rfc8785.dumps(doc)
    assert validate_record(doc) == []
    assert validate_record({k: v for k, v in doc.items() if k != "comparable"}) == [
        "missing field 'comparable'"  # the replay reads it; it is not guessed from the refusals
    ]
    assert doc["schema"] == SCHEMA
    assert doc["decided_at"] == "2026-11-20T09:30:00Z"
    assert doc["source_run_id"] == "run_003"
    assert doc["artifact"] == "ci-answerer-v1.2-fix-b"
    assert doc["alias"] == "canary_candidate"
    assert doc["review_status"] == "ELIGIBLE_FOR_CANARY_REVIEW"
    assert doc["rollback_artifact"] == "ci-answerer-v1"
    assert doc["suite"]["fingerprints"]["evaluation_sha"] == doc["contract"]["evaluation_sha"]
    assert doc["monitored_invariants"] == [
        "unsafe_claim_served == 0",
        "unnecessary_abstention == 0",
    ]
    assert doc["canary_stop_rule"]["on_violation"] == "ROLL_BACK_TO:ci-answerer-v1"
    assert doc["override"] is None
    considered = {r["run_id"]: r for r in doc["considered_runs"]}
    assert set(considered) == {"run_001", "run_002", "run_003", "run_004", "run_005"}
    assert considered["run_002"]["status"] == "REJECT_UNNECESSARY_ABSTENTION"  # rejected runs stay
    assert considered["run_004"]["comparable"] is False
    assert considered["run_004"]["reason"].startswith("incomparable")
    assert considered["run_003"]["role"] == "chosen"
    assert doc["evidence"]["source"]["paired"]["fixed"] == 2
    assert doc["evidence"]["source"]["metrics"]["recomputed"]["unsafe_claim_served"] == 0


@pytest.mark.parametrize(
    ("run_id", "kinds"),
    [
        ("run_002", {"guardrail"}),
        ("run_005", {"incomparable"}),
        ("run_004", {"incomparable"}),
    ],
)
def test_refusals_and_override(sample_con, run_id: str, kinds: set[str]) -> None:
    draft = prepare(sample_con, run_id)
    assert {r.kind for r in draft.refusals} == kinds
    with pytest.raises(DecisionRefused) as caught:
        build_record(draft, CHOICES, now=NOW)
    assert caught.value.exit_code == 1
    assert all(line.startswith("refused: ") for line in caught.value.lines()[:-1])
    record = build_record(
        draft, DecisionChoices(**{**_fields(CHOICES), "override": "hotfix approved by on-call"})
    )
    assert record.doc["override"] == "hotfix approved by on-call"
    assert {r["kind"] for r in record.doc["refusals"]} == kinds


def test_evidence_flags_refuse(sample_con) -> None:
    draft = prepare(sample_con, "sr-v3.5-rc4")
    assert {r.kind for r in draft.refusals} == {"guardrail", "evidence"}
    message = next(r.message for r in draft.refusals if r.kind == "evidence")
    assert message.startswith("sr-v3.5-rc4 has 1 evidence flag: "), message


def test_several_eligible_runs_need_an_explicit_choice(sample_con) -> None:
    draft = prepare(sample_con, "sr-v3.5-rc3-s2")
    assert draft.eligible_run_ids == ("sr-v3.5-rc3-s1", "sr-v3.5-rc3-s2", "sr-v3.5-rc3-s3")
    assert draft.several_eligible and draft.other_eligible == ("sr-v3.5-rc3-s1", "sr-v3.5-rc3-s3")
    choices = DecisionChoices(
        rollback_artifact="support-router-v3.4", limitation="canary only", reviewer="alice"
    )
    with pytest.raises(DecisionRefused, match="3 runs are eligible"):
        build_record(draft, choices)
    record = build_record(draft, DecisionChoices(**{**_fields(choices), "chosen_explicitly": True}))
    roles = {r["run_id"]: r["role"] for r in record.doc["considered_runs"]}
    assert roles["sr-v3.5-rc3-s2"] == "chosen"
    assert roles["sr-v3.5-rc3-s1"] == roles["sr-v3.5-rc3-s3"] == "candidate"
    assert record.doc["eligible_run_ids"] == list(draft.eligible_run_ids)
    assert len(record.doc["considered_runs"]) == 9  # every run of the experiment, rejected ones too
    assert record.doc["monitored_invariants"][0] == "unsafe_serve == 0"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"rollback_artifact": ""}, "rollback_artifact"),
        ({"rollback_artifact": "zero\u200bwidth"}, "rollback_artifact"),
        ({"rollback_artifact": "ci-answ", "rollback_external": False}, "rollback_artifact"),
        ({"rollback_artifact": "ci-answerer-v1.2-fix-b"}, "rollback_artifact"),
        ({"limitation": "   "}, "limitation"),
        ({"limitation": "line\nbreak"}, "limitation"),
        ({"reviewer": ""}, "reviewer"),
        ({"alias": "canary\x1b[2J"}, "alias"),
        ({"status": "approved"}, "status"),
        ({"monitored_invariants": ("unsafe_claim_served is zero",)}, "monitored_invariants"),
        ({"monitored_invariants": ()}, "monitored_invariants"),
        ({"override": "no reason needed"}, "override"),
    ],
)
def test_invalid_choices_name_the_field(sample_con, change: dict, field: str) -> None:
    draft = prepare(sample_con, "run_003")
    with pytest.raises(InvalidChoice) as caught:
        build_record(draft, DecisionChoices(**{**_fields(CHOICES), **change}))
    assert caught.value.field == field


def test_invariants_are_normalised(sample_con) -> None:
    draft = prepare(sample_con, "run_003")
    choices = DecisionChoices(
        **{
            **_fields(CHOICES),
            "monitored_invariants": ("unsafe_claim_served==0.0", "p99_ms <= 800"),
        }
    )
    assert build_record(draft, choices).doc["monitored_invariants"] == [
        "unsafe_claim_served == 0",
        "p99_ms <= 800",
    ]


def test_canonical_form_is_checked_byte_for_byte() -> None:
    doc = {"b": [1.0, 1e21, "é"], "a": None}
    data = canonical_bytes(doc)
    assert data == '{"a":null,"b":[1,1e+21,"é"]}'.encode()
    check_canonical(data, json.loads(data))
    for variant in (json.dumps(doc).encode(), data + b"\n", data.replace(b":", b": ", 1)):
        with pytest.raises(NotCanonical):
            check_canonical(variant, json.loads(variant))


def test_plain_values() -> None:
    assert (
        canonical_bytes({"x": float("nan"), "y": (1, 2), "z": 2**60})
        == b'{"x":null,"y":[1,2],"z":"1152921504606846976"}'
    )


def _fields(choices: DecisionChoices) -> dict:
    return {name: getattr(choices, name) for name in DecisionChoices.__dataclass_fields__}


def test_deciding_on_the_baseline_itself(sample_con) -> None:
    draft = prepare(sample_con, "run_001")
    assert draft.run.is_baseline and {r.kind for r in draft.refusals} == {"guardrail"}
    choices = DecisionChoices(**{**_fields(CHOICES), "override": "keep serving while fix-b bakes"})
    doc = build_record(draft, choices).doc
    roles = {r["run_id"]: r["role"] for r in doc["considered_runs"]}
    assert roles["run_001"] == "chosen" and doc["baseline"]["run_id"] == "run_001"
    assert doc["evidence"]["source"]["paired"] is None
