"""Co-signing a decision: another reviewer's SSHSIG file beside it, the decision's bytes untouched.

`cosign()` is the one entry point for the CLI and the app. Before anything is signed it checks
that the file is a decision (strict, canonical, every field), that the decision's own signature
holds (against allowed_signers when given, else at least cryptographically over the bytes), and
that this principal and this key have not signed it yet (the decider's signature included). The
run's author is refused too: their signature never counts toward the quorum of their own run.
With allowed_signers, the co-signer's key must be listed for the principal and not be one of the
author's keys, so a co-signature that would never count is refused up front.

The file is NAME.decision.json.PRINCIPAL.sig (signatures.py), written once through
`safe_files.write_new`: never over an existing file, never through a symlink.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from evaltui.decision.allowed_signers import SignerRejected, find_signer, read_allowed_signers
from evaltui.decision.files import (
    read_decision_bytes,
    read_signature_bytes,
    signature_path_for,
    write_new,
)
from evaltui.decision.keys import Signer
from evaltui.decision.quorum import author_key_blobs, is_author, run_authors
from evaltui.decision.signatures import cosignature_files, cosignature_path, principal_problem
from evaltui.decision.sshsig import (
    NAMESPACE,
    SignatureRejected,
    keygen_verify_command,
    parse,
    sign,
    verify,
)
from evaltui.decision.verify import check_record_bytes, verify_decision
from evaltui.errors import InputError


class CosignRefused(InputError):
    """The decision may not be co-signed as asked: one line `path: why`, exit 2, nothing written."""


@dataclass(frozen=True, slots=True)
class CoSignature:
    decision_path: Path
    sig_path: Path
    reviewer: str
    sha256: str  # of the decision's bytes, which did not change
    signer_fingerprint: str
    signer_key_type: str
    signer_source: str
    signatures: int  # signature files the decision has now, this one included

    @property
    def check_command(self) -> str:
        return keygen_verify_command(self.reviewer, self.sig_path, self.decision_path)

    def to_json(self) -> dict[str, Any]:
        return {
            "decision": str(self.decision_path),
            "signature": str(self.sig_path),
            "reviewer": self.reviewer,
            "sha256": self.sha256,
            "signer": {
                "fingerprint": self.signer_fingerprint,
                "key_type": self.signer_key_type,
                "source": self.signer_source,
            },
            "namespace": NAMESPACE,
            "signatures": self.signatures,
            "check": self.check_command,
        }


def check_reviewer(reviewer: str) -> str:
    """The co-signer's principal, trimmed; InputError when it cannot name a file."""
    principal = (reviewer or "").strip()
    problem = principal_problem(principal)
    if problem is not None:
        raise InputError(None, f"reviewer {problem}")
    return principal


def cosign(
    decision_path: Path,
    signer: Signer,
    reviewer: str,
    *,
    allowed_signers: Path | None = None,
    revoked: Path | None = None,
    now: datetime | None = None,
) -> CoSignature:
    """Sign `decision_path`'s bytes as `reviewer` and write the co-signature file beside it."""
    decision_path = Path(decision_path)
    principal = check_reviewer(reviewer)
    data = read_decision_bytes(decision_path)
    _doc, record, record_checks = check_record_bytes(data, str(decision_path))
    problem = next((c for c in record_checks if c.failed), None)
    if record is None or problem is not None:
        message = problem.message if problem is not None else "not a decision record"
        raise CosignRefused(decision_path, f"not co-signing: {message}")
    own_sig_path = signature_path_for(decision_path)
    if allowed_signers is not None:
        verification = verify_decision(decision_path, allowed_signers, revoked=revoked, now=now)
        # the quorum is what co-signing is for: a decision with waivers fails it until co-signed
        broken = next((c for c in verification.checks if c.failed and c.name != "quorum"), None)
        if broken is not None:
            raise CosignRefused(
                decision_path,
                f"not co-signing: the decision's own signature does not verify: {broken.message}",
            )
    else:
        _check_own_signature(decision_path, own_sig_path, data)
    decider = str(record["reviewer"])
    if principal.casefold() == decider.casefold():
        raise CosignRefused(
            decision_path,
            f"{principal} already signed this decision (its own signature "
            f"{own_sig_path.name}); a co-signature must come from another reviewer",
        )
    authors = run_authors(record)
    if is_author(principal, authors):
        raise CosignRefused(
            decision_path,
            f"{principal} is the author of run {record['source_run_id']}: "
            "the author's signature never counts toward the quorum of their own run",
        )
    key = signer.public_key
    existing = [(own_sig_path, decider), *((f.path, f.principal) for f in _cosigs(decision_path))]
    for path, who in existing:
        if who is not None and who.casefold() == principal.casefold():
            raise CosignRefused(path, f"{principal} already co-signed this decision")
        other = _key_blob(path)
        if other == key.blob:
            raise CosignRefused(
                path,
                f"this key ({key.fingerprint}) already signed this decision"
                + (f" as {who}" if who else "")
                + "; each signature needs its own key",
            )
    if allowed_signers is not None:
        signers = read_allowed_signers(allowed_signers)
        try:
            find_signer(signers, key, principal, NAMESPACE, now, source=str(allowed_signers))
        except SignerRejected as exc:
            raise CosignRefused(
                allowed_signers,
                "the co-signature would not count: "
                + exc.message.replace("the decision's reviewer", "the co-signer"),
            ) from None
        if key.blob in author_key_blobs(signers, authors):
            raise CosignRefused(
                allowed_signers,
                f"the key {key.fingerprint} is listed for the run's author "
                f"({', '.join(authors)}): it never counts toward the quorum of their own run",
            )
    sig_path = cosignature_path(decision_path, principal)
    signature = sign(data, signer).encode("ascii")
    write_new(sig_path, signature)
    files, more = cosignature_files(decision_path)
    return CoSignature(
        decision_path=decision_path,
        sig_path=sig_path,
        reviewer=principal,
        sha256=hashlib.sha256(data).hexdigest(),
        signer_fingerprint=key.fingerprint,
        signer_key_type=key.key_type,
        signer_source=signer.source,
        signatures=int(own_sig_path.exists()) + len(files) + more,
    )


def _cosigs(decision_path: Path) -> list[Any]:
    files, _more = cosignature_files(decision_path)
    return files


def _check_own_signature(decision_path: Path, sig_path: Path, data: bytes) -> None:
    """Without allowed_signers: the decision's own signature is there and matches the bytes."""
    try:
        verify(parse(read_signature_bytes(sig_path)), data)
    except FileNotFoundError:
        raise CosignRefused(
            decision_path,
            f"not co-signing: no signature file {sig_path} (co-sign only a signed decision)",
        ) from None
    except (OSError, InputError) as exc:
        raise CosignRefused(sig_path, f"not co-signing: cannot read the signature: {exc}") from None
    except SignatureRejected as exc:
        raise CosignRefused(
            decision_path,
            f"not co-signing: the decision's own signature does not verify: {exc.message}",
        ) from None


def _key_blob(path: Path) -> bytes | None:
    """The public key of a signature file, or None when it cannot be read."""
    try:
        return parse(read_signature_bytes(path)).public_key.blob
    except (OSError, InputError, SignatureRejected):
        return None
