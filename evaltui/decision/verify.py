"""Verifying a decision file: every check a deployment job relies on, each with its own answer.

Checks run in a fixed order and all that can run do run (so `--json` shows the whole picture);
the first failure is the reason. The signature is checked over the raw bytes before the JSON is
even parsed, so any changed byte is reported as tampering, whatever else it breaks.

signature_file, revocation (only with a revocation list: the signing key is not revoked, as
`ssh-keygen -Y verify -r` checks it; see krl.py), namespace, algorithm, signature (cryptographic), json (strict: UTF-8, no
duplicate keys), canonical (the bytes are RFC 8785), fields (every required field), signer
(allowed_signers lists the key for the decision's reviewer in this namespace), then with a store
the replay checks (see replay.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb

from evaltui.decision.allowed_signers import SignerRejected, find_signer, read_allowed_signers
from evaltui.decision.canonical import NotCanonical, check_canonical, parse_strict
from evaltui.decision.files import (
    read_decision_bytes,
    read_signature_bytes,
    signature_path_for,
)
from evaltui.decision.krl import read_revoked
from evaltui.decision.record import validate_record
from evaltui.decision.replay import Check, failed, passed, replay, skipped
from evaltui.decision.sshsig import (
    NAMESPACE,
    SignatureRejected,
    SshSignature,
    check_algorithms,
    check_namespace,
    check_signature,
    parse,
)
from evaltui.errors import InputError


@dataclass(frozen=True, slots=True)
class Verification:
    decision_path: Path
    signature_path: Path
    checks: tuple[Check, ...]
    record: dict[str, Any] | None
    signature: SshSignature | None

    @property
    def valid(self) -> bool:
        return not any(c.failed for c in self.checks)

    @property
    def reason(self) -> str | None:
        first = next((c for c in self.checks if c.failed), None)
        return None if first is None else first.message

    def to_json(self) -> dict[str, Any]:
        key = None if self.signature is None else self.signature.public_key
        return {
            "valid": self.valid,
            "reason": self.reason,
            "decision": str(self.decision_path),
            "signature": str(self.signature_path),
            "reviewer": None if self.record is None else self.record.get("reviewer"),
            "signer": None
            if key is None
            else {"fingerprint": key.fingerprint, "key_type": key.key_type},
            "checks": [c.to_json() for c in self.checks],
        }


def verify_decision(
    decision_path: Path,
    allowed_signers: Path,
    *,
    signature_path: Path | None = None,
    con: duckdb.DuckDBPyConnection | None = None,
    namespace: str = NAMESPACE,
    now: datetime | None = None,
    revoked: Path | None = None,
) -> Verification:
    """Run every check. A missing decision, allowed_signers or revocation file raises (bad usage);
    every failed check, a missing signature included, is in the result."""
    decision_path = Path(decision_path)
    sig_path = Path(signature_path) if signature_path else signature_path_for(decision_path)
    data = read_decision_bytes(decision_path)
    signers = read_allowed_signers(allowed_signers)
    revocations = None if revoked is None else read_revoked(Path(revoked))
    checks: list[Check] = []

    # -- the signature, over the raw bytes
    sig: SshSignature | None = None
    try:
        sig = parse(read_signature_bytes(sig_path))
        key = sig.public_key
        checks.append(passed("signature_file", f"SSHSIG by {key.describe()}"))
    except FileNotFoundError:
        checks.append(
            failed("signature_file", "signature_missing", f"no signature file {sig_path}")
        )
    except OSError as exc:
        checks.append(
            failed("signature_file", "signature_missing", f"cannot read {sig_path}: {exc.strerror}")
        )
    except InputError as exc:  # a FIFO, a device, a file far too large for a signature
        checks.append(failed("signature_file", "signature_missing", exc.render()))
    except SignatureRejected as exc:
        checks.append(failed("signature_file", exc.code, exc.message))
    if revocations is not None:
        why = None if sig is None else revocations.reason(sig.public_key)
        if sig is None:
            checks.append(skipped("revocation", "no readable signature"))
        elif why is not None:
            fingerprint = sig.public_key.fingerprint
            checks.append(
                failed(
                    "revocation", "key_revoked", f"the signing key {fingerprint} is revoked: {why}"
                )
            )
        else:
            checks.append(passed("revocation", f"the signing key is not in {revocations.path}"))
    if sig is None:
        checks += [
            skipped(n, "no readable signature") for n in ("namespace", "algorithm", "signature")
        ]
    else:
        try:
            check_namespace(sig, namespace)
            checks.append(passed("namespace", f"namespace {namespace}"))
        except SignatureRejected as exc:
            checks.append(failed("namespace", exc.code, exc.message))
        try:
            check_algorithms(sig)
            checks.append(passed("algorithm", f"{sig.algorithm} over {sig.hash_algorithm}"))
            check_signature(sig, data)
            checks.append(passed("signature", "signature matches the file's bytes"))
        except SignatureRejected as exc:
            if exc.code == "signature":
                checks.append(failed("signature", exc.code, exc.message))
            else:
                checks.append(failed("algorithm", exc.code, exc.message))
                checks.append(skipped("signature", "algorithm refused"))

    # -- the record
    doc, record, record_checks = check_record_bytes(data, str(decision_path))
    checks += record_checks

    # -- who signed
    if sig is None or record is None:
        checks.append(skipped("signer", "needs a readable signature and the decision's reviewer"))
    else:
        try:
            line = find_signer(
                signers,
                sig.public_key,
                str(record["reviewer"]),
                namespace,
                now,
                source=str(allowed_signers),
            )
            checks.append(passed("signer", f"{line.where} lists the key for {record['reviewer']}"))
        except SignerRejected as exc:
            checks.append(failed("signer", exc.code, exc.message))

    # -- replay
    if con is None:
        checks.append(skipped("replay", "no store given (--store)"))
    elif record is None:
        checks.append(skipped("replay", "needs the decision's fields"))
    else:
        checks += replay(con, record)
    return Verification(
        decision_path,
        sig_path,
        tuple(checks),
        record if record is not None else doc if isinstance(doc, dict) else None,
        sig,
    )


def check_record_bytes(data: bytes, where: str) -> tuple[Any, dict[str, Any] | None, list[Check]]:
    """The json, canonical and fields checks of a decision file's bytes: the parsed document
    (None when it is not JSON), the record (None unless every field is there) and one check each."""
    checks: list[Check] = []
    doc: Any = None
    try:
        doc = parse_strict(data, where)
        checks.append(passed("json", "strict JSON (UTF-8, no duplicate keys)"))
    except InputError as exc:
        code = "duplicate_key" if "duplicate key" in exc.message else "json"
        checks.append(failed("json", code, f"decision file is not valid: {exc.message}"))
        checks += [skipped(n, "not parsed") for n in ("canonical", "fields")]
        return None, None, checks
    try:
        check_canonical(data, doc)
        checks.append(passed("canonical", "bytes are RFC 8785 canonical JSON"))
    except NotCanonical as exc:
        checks.append(failed("canonical", "not_canonical", f"decision file {exc}"))
    problems = validate_record(doc)
    if problems:
        checks.append(failed("fields", "fields", "; ".join(problems)))
        return doc, None, checks
    checks.append(passed("fields", "every required field is present"))
    return doc, doc, checks
