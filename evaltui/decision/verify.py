"""Verifying a decision file: every check a deployment job relies on, each with its own answer.

Checks run in a fixed order and all that can run do run (so `--json` shows the whole picture);
the first failure is the reason. The signature is checked over the raw bytes before the JSON is
even parsed, so any changed byte is reported as tampering, whatever else it breaks.

signature_file, revocation (only with a revocation list: the signing key is not revoked, as
`ssh-keygen -Y verify -r` checks it; see krl.py), namespace, algorithm, signature (cryptographic), json (strict: UTF-8, no
duplicate keys), canonical (the bytes are RFC 8785), fields (every required field), signer
(allowed_signers lists the key for the decision's reviewer in this namespace), with a quorum
(`--quorum K`, or a decision with waivers) the quorum check over every co-signature file beside the
decision (signatures.py names them; each gets the same checks; quorum.py says which count), then
with a store the replay checks (see replay.py).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb

from evaltui.decision.allowed_signers import (
    AllowedSigner,
    SignerRejected,
    find_signer,
    read_allowed_signers,
)
from evaltui.decision.canonical import NotCanonical, check_canonical, parse_strict
from evaltui.decision.files import (
    read_decision_bytes,
    read_signature_bytes,
    signature_path_for,
)
from evaltui.decision.krl import RevokedKeys, read_revoked
from evaltui.decision.ledger import read_ledgers
from evaltui.decision.quorum import (
    QuorumTally,
    author_key_blobs,
    count_distinct,
    is_author,
    required_quorum,
    run_authors,
)
from evaltui.decision.record import validate_record
from evaltui.decision.replay import Check, VerdictReader, failed, passed, replay, skipped
from evaltui.decision.signatures import cosignature_files
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
from evaltui.plural import count


@dataclass(frozen=True, slots=True)
class SignatureResult:
    """One signature file's checks, and whether it counted toward the quorum."""

    path: Path
    principal: str | None  # the decider's: the record's reviewer; a co-signer's: from the name
    role: str  # "decider" or "cosigner"
    checks: tuple[Check, ...]
    signature: SshSignature | None
    counted: bool = False
    note: str = ""  # why a signature did not count

    @property
    def valid(self) -> bool:
        return (
            self.signature is not None
            and not any(c.failed for c in self.checks)
            and any(c.name == "signer" and c.status == "pass" for c in self.checks)
        )

    @property
    def reason(self) -> str | None:
        first = next((c for c in self.checks if c.failed), None)
        if first is not None:
            return first.message
        return None if self.valid else "the signer was not checked"

    def to_json(self) -> dict[str, Any]:
        key = None if self.signature is None else self.signature.public_key
        return {
            "file": str(self.path),
            "role": self.role,
            "principal": self.principal,
            "valid": self.valid,
            "counted": self.counted,
            "note": self.note or None,
            "signer": None
            if key is None
            else {"fingerprint": key.fingerprint, "key_type": key.key_type},
            "checks": [c.to_json() for c in self.checks],
        }


@dataclass(frozen=True, slots=True)
class Verification:
    decision_path: Path
    signature_path: Path
    checks: tuple[Check, ...]
    record: dict[str, Any] | None
    signature: SshSignature | None
    quorum: QuorumTally | None = None  # None: no quorum asked for or needed
    signatures: tuple[SignatureResult, ...] = ()  # with a quorum: every signature file

    @property
    def valid(self) -> bool:
        return not any(c.failed for c in self.checks)

    @property
    def reason(self) -> str | None:
        first = next((c for c in self.checks if c.failed), None)
        return None if first is None else first.message

    def to_json(self) -> dict[str, Any]:
        key = None if self.signature is None else self.signature.public_key
        quorum = self.quorum
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
            "quorum": None
            if quorum is None
            else {
                "required": quorum.required,
                "asked": quorum.asked,
                "counted": quorum.counted,
                "met": quorum.met,
                "run_authors": list(quorum.authors),
                "signers": [self.signatures[s[0]].principal for s in quorum.signers],
                "signatures": [s.to_json() for s in self.signatures],
            },
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
    quorum: int | None = None,
    ledger_dir: Path | None = None,
    read_verdicts: VerdictReader = read_ledgers,
) -> Verification:
    """Run every check. A missing decision, allowed_signers or revocation file raises (bad usage);
    every failed check, a missing signature included, is in the result.

    With `quorum` K (or for a decision with waivers, which needs 2 whatever K is), the
    co-signatures beside the decision are checked one by one exactly as the decision's own
    signature, and the `quorum` check passes when K distinct signers other than the run's author
    signed (quorum.py). `ledger_dir`: the verdict ledgers a replay checks the decision's
    verdicts against (replay.py), read by `read_verdicts` (a team store's cache reads the
    team's verdict events)."""
    decision_path = Path(decision_path)
    sig_path = Path(signature_path) if signature_path else signature_path_for(decision_path)
    data = read_decision_bytes(decision_path)
    signers = read_allowed_signers(allowed_signers)
    revocations = None if revoked is None else read_revoked(Path(revoked))
    context = _SignerContext(signers, str(allowed_signers), namespace, now, revocations)

    # -- the signature, over the raw bytes
    sig, checks = _signature_checks(sig_path, data, context)

    # -- the record
    doc, record, record_checks = check_record_bytes(data, str(decision_path))
    checks += record_checks

    # -- who signed
    if sig is None or record is None:
        checks.append(skipped("signer", "needs a readable signature and the decision's reviewer"))
    else:
        checks.append(
            _signer_check(sig, str(record["reviewer"]), context, "the decision's reviewer")
        )

    # -- how many signed
    tally: QuorumTally | None = None
    results: tuple[SignatureResult, ...] = ()
    required = required_quorum(quorum, record)
    if required is not None:
        if record is None:
            checks.append(skipped("quorum", "needs the decision's fields"))
        else:
            decider = SignatureResult(
                sig_path,
                str(record["reviewer"]),
                "decider",
                tuple(c for c in checks if c.name in (*_SIGNATURE_CHECK_NAMES, "signer")),
                sig,
            )
            tally, results, check = _quorum(
                decision_path, data, record, decider, context, quorum, required
            )
            checks.append(check)

    # -- replay
    if con is None:
        checks.append(skipped("replay", "no store given (--store)"))
    elif record is None:
        checks.append(skipped("replay", "needs the decision's fields"))
    else:
        checks += replay(con, record, ledger_dir, read_verdicts)
    return Verification(
        decision_path,
        sig_path,
        tuple(checks),
        record if record is not None else doc if isinstance(doc, dict) else None,
        sig,
        tally,
        results,
    )


_SIGNATURE_CHECK_NAMES = ("signature_file", "revocation", "namespace", "algorithm", "signature")


@dataclass(frozen=True, slots=True)
class _SignerContext:
    signers: list[AllowedSigner]
    source: str
    namespace: str
    now: datetime | None
    revocations: RevokedKeys | None


def _signature_checks(
    sig_path: Path, data: bytes, context: _SignerContext
) -> tuple[SshSignature | None, list[Check]]:
    """signature_file, revocation (with a list), namespace, algorithm and signature: one file."""
    checks: list[Check] = []
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
    revocations = context.revocations
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
        return None, checks
    try:
        check_namespace(sig, context.namespace)
        checks.append(passed("namespace", f"namespace {context.namespace}"))
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
    return sig, checks


def _signer_check(sig: SshSignature, principal: str, context: _SignerContext, who: str) -> Check:
    """allowed_signers lists the key for `principal` in the namespace, now."""
    try:
        line = find_signer(
            context.signers,
            sig.public_key,
            principal,
            context.namespace,
            context.now,
            source=context.source,
        )
        return passed("signer", f"{line.where} lists the key for {principal}")
    except SignerRejected as exc:
        message = exc.message.replace("the decision's reviewer", who)
        return failed("signer", exc.code, message)


def check_signature_file(
    sig_path: Path, principal: str, data: bytes, context: _SignerContext, role: str = "cosigner"
) -> SignatureResult:
    """One signature file checked exactly as the decision's own signature is."""
    sig, checks = _signature_checks(sig_path, data, context)
    if sig is None:
        checks.append(skipped("signer", "no readable signature"))
    else:
        checks.append(_signer_check(sig, principal, context, "the file's principal"))
    return SignatureResult(sig_path, principal, role, tuple(checks), sig)


def _quorum(
    decision_path: Path,
    data: bytes,
    record: dict[str, Any],
    decider: SignatureResult,
    context: _SignerContext,
    asked: int | None,
    required: int,
) -> tuple[QuorumTally, tuple[SignatureResult, ...], Check]:
    files, unread = cosignature_files(decision_path)
    results = [decider]
    for file in files:
        if file.principal is None:
            results.append(
                SignatureResult(
                    file.path,
                    None,
                    "cosigner",
                    (
                        failed(
                            "signature_file",
                            "signature_name",
                            f"{file.path.name}: the name holds no principal "
                            "(NAME.decision.json.PRINCIPAL.sig)",
                        ),
                    ),
                    None,
                )
            )
        else:
            results.append(check_signature_file(file.path, file.principal, data, context))
    authors = run_authors(record)
    author_blobs = author_key_blobs(context.signers, authors)
    candidates: list[int] = []
    notes: dict[int, str] = {}
    for index, result in enumerate(results):
        if not result.valid or result.signature is None or result.principal is None:
            notes[index] = result.reason or "not valid"
        elif is_author(result.principal, authors):
            notes[index] = f"{result.principal} is the run's author"
        elif result.signature.public_key.blob in author_blobs:
            notes[index] = "signed with a key allowed_signers lists for the run's author"
        else:
            candidates.append(index)
    pairs: list[tuple[str, bytes]] = []
    for i in candidates:
        principal, sig = results[i].principal, results[i].signature
        assert principal is not None and sig is not None
        pairs.append((principal, sig.public_key.blob))
    groups = count_distinct(pairs)
    signers: list[tuple[int, ...]] = []
    for group in groups:
        members = tuple(candidates[g] for g in group)
        signers.append(members)
        first = results[members[0]]
        for other in members[1:]:
            notes[other] = f"the same signer as {first.path.name} (shared principal or key)"
    tally = QuorumTally(required, asked, authors, tuple(signers))
    counted = {s[0] for s in signers}
    final = tuple(
        replace(r, counted=i in counted, note=notes.get(i, "")) for i, r in enumerate(results)
    )
    names = ", ".join(str(final[s[0]].principal) for s in signers) or "none"
    waivers = " (a decision with waivers needs 2)" if required != (asked or 1) else ""
    extra = f"; {count(unread, 'more signature file')} not read" if unread else ""
    if tally.met:
        check = passed(
            "quorum",
            f"{count(tally.counted, 'distinct signer')} counted ({names}), {required} needed{waivers}"
            + extra,
        )
    else:
        left_out = "; ".join(f"{r.path.name}: {r.note}" for r in final if not r.counted and r.note)
        check = failed(
            "quorum",
            "quorum_not_met",
            f"{count(tally.counted, 'distinct signer')} counted ({names}), {required} needed{waivers}"
            + (f"; not counted: {left_out}" if left_out else "")
            + extra,
        )
    return tally, final, check


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
