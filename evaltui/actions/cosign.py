"""Co-sign a decision: check the co-signer's principal, then sign the decision's bytes with the
chosen key and write the co-signature beside it. The CLI's `evaltui cosign` and the app's co-sign
form run the same steps (`check_cosigner`, `actions.signing.chosen_signer`, `cosign_as`).

Problems are EvaltuiErrors with `field=` the form field (`reviewer`, `key`, `key_file`,
`passphrase`, `allowed`); the form's worker (`cosign_decision`) returns them as a `CosignOutcome`
so the form can show each under its field.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb

from evaltui.actions.signing import FieldProblem, chosen_signer, reviewer_for
from evaltui.decision.cosign import CoSignature, CosignRefused, check_reviewer, cosign
from evaltui.decision.keys import KeyChoice, Signer, available_keys
from evaltui.errors import EvaltuiError, InputError


@dataclass(frozen=True, slots=True)
class CosignRequest:
    decision: Path
    key: KeyChoice | None  # None: the key file `key_path`
    key_path: Path | None
    passphrase: str | None
    reviewer: str
    allowed_signers: Path | None


@dataclass(frozen=True, slots=True)
class CosignOutcome:
    """The written co-signature, or the problem and the field it belongs to (None: the form)."""

    written: CoSignature | None = None
    field: str | None = None
    message: str = ""


def list_keys(con: duckdb.DuckDBPyConnection) -> tuple[KeyChoice, ...]:
    del con
    return tuple(available_keys())


def check_cosigner(reviewer: str) -> str:
    """The co-signer's principal as typed, trimmed and checked ("" when none was typed: the key's
    comment is used); refused before a passphrase is asked for."""
    reviewer = reviewer.strip()
    if not reviewer:
        return ""
    try:
        return check_reviewer(reviewer)
    except InputError as exc:
        exc.field = "reviewer"
        raise


def cosign_as(
    decision: Path,
    signer: Signer,
    reviewer: str,
    *,
    allowed_signers: Path | None = None,
    revoked: Path | None = None,
) -> CoSignature:
    """Co-sign `decision` with `signer` as `reviewer` (default: the key's comment) and write the
    signature file beside it; a problem with the allowed_signers file is under `allowed`."""
    reviewer = reviewer_for(reviewer, signer)
    try:
        return cosign(decision, signer, reviewer, allowed_signers=allowed_signers, revoked=revoked)
    except CosignRefused:
        raise
    except EvaltuiError as exc:
        path = getattr(exc, "path", None)
        if path is not None and allowed_signers and Path(path) == allowed_signers:
            exc.field = "allowed"
        raise


def cosign_decision(con: duckdb.DuckDBPyConnection, request: CosignRequest) -> CosignOutcome:
    """Check the principal, load the key, co-sign and write (worker side; `con` is not needed)."""
    del con
    try:
        reviewer = check_cosigner(request.reviewer)
        signer = chosen_signer(request.key, request.key_path, request.passphrase)
        written = cosign_as(
            request.decision, signer, reviewer, allowed_signers=request.allowed_signers
        )
    except FieldProblem as problem:
        return CosignOutcome(field=problem.field, message=problem.message)
    except CosignRefused as exc:
        return CosignOutcome(field=None, message=str(exc))
    except InputError as exc:
        if exc.field == "reviewer":
            return CosignOutcome(field="reviewer", message=exc.message.removeprefix("reviewer "))
        return CosignOutcome(field=exc.field, message=" / ".join(exc.lines()))
    except EvaltuiError as exc:
        return CosignOutcome(field=exc.field, message=" / ".join(exc.lines()))
    return CosignOutcome(written=written)
