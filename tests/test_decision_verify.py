"""Verification: each way a decision can be wrong is rejected with its own check and message."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from evaltui.decision.verify import Verification, verify_decision
from evaltui.errors import InputError, NotFoundError
from evaltui.store.connection import Store
from tests.decision_support import (
    SignedDecision,
    keygen_sign,
    keygen_verify,
    make_key,
    public_line,
    resign,
    sign_sample_decision,
    write_allowed_signers,
)

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def signed(sample_store: Path, tmp_path: Path) -> SignedDecision:
    return sign_sample_decision(sample_store, tmp_path)


def _first_failure(result: Verification) -> tuple[str, str, str]:
    check = next(c for c in result.checks if c.failed)
    return check.name, check.code, check.message


def test_valid_decision_passes_every_check(signed: SignedDecision, sample_store: Path) -> None:
    with Store.open(sample_store, read_only=True) as store:
        result = verify_decision(signed.decision, signed.allowed, con=store.con)
    assert result.valid, result.reason
    assert [c.name for c in result.checks][:8] == [
        "signature_file",
        "namespace",
        "algorithm",
        "signature",
        "json",
        "canonical",
        "fields",
        "signer",
    ]
    assert {c.name for c in result.checks} >= {
        "replay.suite",
        "replay.status",
        "replay.comparable",
        "replay.evidence",
    }
    assert all(c.status == "pass" for c in result.checks)
    said = {c.name: c.message for c in result.checks}
    assert said["replay.evidence"] == "0 evidence flags, as recorded"
    # and plain OpenSSH agrees
    done = keygen_verify(signed.allowed, "alice@example.com", signed.signature, signed.decision)
    assert done.returncode == 0, done.stderr


def test_we_accept_ssh_keygen_signature_of_our_file(signed: SignedDecision) -> None:
    copy = signed.folder / "copy.decision.json"
    shutil.copy(signed.decision, copy)
    theirs = keygen_sign(signed.key, copy)
    result = verify_decision(copy, signed.allowed, signature_path=theirs)
    assert result.valid, result.reason


def test_any_changed_byte_is_tampering(signed: SignedDecision) -> None:
    original = signed.decision.read_bytes()
    positions = sorted(
        {0, 1, len(original) // 3, len(original) // 2, len(original) - 2, len(original) - 1}
    )
    for index in positions:
        tampered = bytearray(original)
        tampered[index] = ord("X") if tampered[index] != ord("X") else ord("Y")
        signed.decision.write_bytes(bytes(tampered))
        result = verify_decision(signed.decision, signed.allowed)
        name, code, message = _first_failure(result)
        assert (name, code) == ("signature", "signature"), index
        assert "changed after signing" in message
    signed.decision.write_bytes(original + b" ")
    assert _first_failure(verify_decision(signed.decision, signed.allowed))[1] == "signature"


def test_tampered_signature_file(signed: SignedDecision) -> None:
    lines = signed.signature.read_text().splitlines()
    middle = lines[len(lines) // 2]
    lines[len(lines) // 2] = middle[:10] + ("A" if middle[10] != "A" else "B") + middle[11:]
    signed.signature.write_text("\n".join(lines) + "\n")
    result = verify_decision(signed.decision, signed.allowed)
    assert not result.valid
    assert _first_failure(result)[0] in ("signature_file", "signature", "algorithm")


def test_unlisted_signer(signed: SignedDecision) -> None:
    other = make_key(signed.folder, "mallory")
    allowed = write_allowed_signers(
        signed.folder / "others", f"alice@example.com {public_line(other)}"
    )
    name, code, message = _first_failure(verify_decision(signed.decision, allowed))
    assert (name, code) == ("signer", "signer_unlisted")
    assert "is not listed in" in message


def test_principal_mismatch(signed: SignedDecision) -> None:
    allowed = write_allowed_signers(
        signed.folder / "bob", f"bob@example.com {public_line(signed.key)}"
    )
    name, code, message = _first_failure(verify_decision(signed.decision, allowed))
    assert (name, code) == ("signer", "principal_mismatch")
    assert "not for the decision's reviewer 'alice@example.com'" in message
    assert (
        keygen_verify(allowed, "alice@example.com", signed.signature, signed.decision).returncode
        != 0
    )


def test_wrong_namespace(signed: SignedDecision) -> None:
    signed.signature.unlink()
    keygen_sign(signed.key, signed.decision, namespace="file")
    name, code, message = _first_failure(verify_decision(signed.decision, signed.allowed))
    assert (name, code) == ("namespace", "namespace")
    assert "'file'" in message


def test_namespace_not_allowed_for_the_signer(signed: SignedDecision) -> None:
    allowed = write_allowed_signers(
        signed.folder / "git_only", f'alice@example.com namespaces="git" {public_line(signed.key)}'
    )
    assert _first_failure(verify_decision(signed.decision, allowed))[1] == "namespace_not_allowed"


def test_duplicate_keys_are_rejected_even_when_signed(signed: SignedDecision) -> None:
    data = signed.decision.read_bytes()
    resign(signed, data[:-1] + b',"alias":"production"}')
    name, code, message = _first_failure(verify_decision(signed.decision, signed.allowed))
    assert (name, code) == ("json", "duplicate_key")
    assert "'alias'" in message


def test_non_canonical_bytes_are_rejected_even_when_signed(signed: SignedDecision) -> None:
    doc = json.loads(signed.decision.read_bytes())
    resign(signed, json.dumps(doc, indent=2, sort_keys=True).encode())
    name, code, message = _first_failure(verify_decision(signed.decision, signed.allowed))
    assert (name, code) == ("canonical", "not_canonical")
    assert "RFC 8785" in message


def test_missing_fields_are_rejected(signed: SignedDecision) -> None:
    import rfc8785

    doc = json.loads(signed.decision.read_bytes())
    del doc["rollback_artifact"]
    doc["limitation"] = ""
    resign(signed, rfc8785.dumps(doc))
    name, code, message = _first_failure(verify_decision(signed.decision, signed.allowed))
    assert (name, code) == ("fields", "fields")
    assert "missing field 'rollback_artifact'" in message and "'limitation' is empty" in message


def test_missing_signature_is_a_rejection(signed: SignedDecision) -> None:
    signed.signature.unlink()
    name, code, _ = _first_failure(verify_decision(signed.decision, signed.allowed))
    assert (name, code) == ("signature_file", "signature_missing")


def test_missing_inputs_are_usage_errors(signed: SignedDecision) -> None:
    with pytest.raises(NotFoundError):
        verify_decision(signed.folder / "nope.decision.json", signed.allowed)
    with pytest.raises(InputError, match="allowed_signers file not found"):
        verify_decision(signed.decision, signed.folder / "nope")


def test_replay_after_the_suite_changed(signed: SignedDecision, tmp_path: Path) -> None:
    """A store where ci-claim-gate-v1 has one relabelled case: same ids, different contract."""
    from evaltui.contract.discover import read_batch
    from evaltui.store.loader import load_batch

    folder = tmp_path / "changed"
    shutil.copytree(REPO / "sample_runs" / "ci-claim-gate", folder)
    suite_file = folder / "ci-claim-gate-v1.suite.json"
    suite = json.loads(suite_file.read_text())
    suite["splits"]["holdout"][1]["evidence_state"] = "partial_stacktrace"
    suite_file.write_text(json.dumps(suite))
    changed = tmp_path / "changed.duckdb"
    with Store.open(changed) as store:
        load_batch(store, read_batch([folder]))
    with Store.open(changed, read_only=True) as store:
        result = verify_decision(signed.decision, signed.allowed, con=store.con)
    name, code, message = _first_failure(result)
    assert (name, code) == ("replay.suite", "replay_suite_changed")
    assert message.startswith("suite ci-claim-gate-v1 changed since the decision: ")
    assert "holdout_sha is now" in message and "the decision recorded d47cdbbfe1caae89" in message
    by_name = {c.name: c for c in result.checks}
    assert by_name["signature"].status == "pass"  # the file itself is intact
    assert by_name["replay.evidence"].failed  # the runs' claimed holdout_sha no longer holds


def test_replay_after_the_run_changed(signed: SignedDecision, tmp_path: Path) -> None:
    """The source run re-loaded with a case now served unsafely: the status no longer replays."""
    from evaltui.contract.discover import read_batch
    from evaltui.store.loader import load_batch

    folder = tmp_path / "rerun"
    shutil.copytree(REPO / "sample_runs" / "ci-claim-gate", folder)
    run_file = folder / "run_003.run.json"
    run = json.loads(run_file.read_text())
    for case in run["cases"]:
        if case["case_id"] == "req_205":
            case["route"] = "SERVE"
    run_file.write_text(json.dumps(run))
    store_path = tmp_path / "rerun.duckdb"
    with Store.open(store_path) as store:
        load_batch(store, read_batch([folder]))
    with Store.open(store_path, read_only=True) as store:
        result = verify_decision(signed.decision, signed.allowed, con=store.con)
    name, code, message = _first_failure(result)
    assert (name, code) == ("replay.status", "replay_status_changed")
    assert (
        "run_003 now earns REJECT_UNSAFE_SERVE, the decision recorded ELIGIBLE_FOR_CANARY_REVIEW"
        in message
    )
