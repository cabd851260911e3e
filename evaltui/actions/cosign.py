"""Co-sign a decision from the app: load the chosen key, sign the decision's bytes, write the
co-signature beside it (the CLI's `evaltui cosign` calls `evaltui.decision.cosign` directly).

Problems come back as a `CosignOutcome` naming the form field they concern, so the form can
show each under its field.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb

from evaltui.decision.cosign import CoSignature, CosignRefused, check_reviewer, cosign
from evaltui.decision.keys import (
    KeyChoice,
    PassphraseRequired,
    SigningKeyError,
    WrongPassphrase,
    available_keys,
    load_signer,
)
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


def cosign_decision(con: duckdb.DuckDBPyConnection, request: CosignRequest) -> CosignOutcome:
    """Load the key, co-sign and write (worker side; `con` is not needed)."""
    del con
    key_field = "key" if request.key is not None else "key_file"
    reviewer = request.reviewer.strip()
    if reviewer:
        try:
            reviewer = check_reviewer(reviewer)
        except InputError as exc:
            return CosignOutcome(field="reviewer", message=exc.message.removeprefix("reviewer "))
    try:
        if request.key is not None:
            signer = request.key.signer(request.passphrase)
        else:
            signer = load_signer(request.key_path, request.passphrase)
    except PassphraseRequired:
        return CosignOutcome(
            field="passphrase",
            message="this key is protected by a passphrase: type it, then ctrl+s again",
        )
    except WrongPassphrase:
        return CosignOutcome(field="passphrase", message="wrong passphrase for this key: try again")
    except SigningKeyError as exc:
        return CosignOutcome(field=key_field, message=str(exc))
    reviewer = reviewer or signer.public_key.default_reviewer
    if not reviewer:
        return CosignOutcome(
            field="reviewer",
            message="required: the principal your key is listed under in allowed_signers "
            "(the key has no one-word comment to use instead)",
        )
    try:
        written = cosign(
            request.decision, signer, reviewer, allowed_signers=request.allowed_signers
        )
    except CosignRefused as exc:
        return CosignOutcome(field=None, message=str(exc))
    except EvaltuiError as exc:
        path = getattr(exc, "path", None)
        allowed = request.allowed_signers
        field = "allowed" if path is not None and allowed and Path(path) == allowed else None
        return CosignOutcome(field=field, message=" / ".join(exc.lines()))
    return CosignOutcome(written=written)
