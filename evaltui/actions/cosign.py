"""Co-sign a decision from the app: load the chosen key, sign the decision's bytes, write the
co-signature beside it (the CLI's `evaltui cosign` calls `evaltui.decision.cosign` directly).

Problems come back as a `CosignOutcome` naming the form field they concern, so the form can
show each under its field.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb

from evaltui.actions.signing import FieldProblem, chosen_signer, reviewer_for
from evaltui.decision.cosign import CoSignature, CosignRefused, check_reviewer, cosign
from evaltui.decision.keys import (
    KeyChoice,
    available_keys,
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
    reviewer = request.reviewer.strip()
    if reviewer:
        try:
            reviewer = check_reviewer(reviewer)
        except InputError as exc:
            return CosignOutcome(field="reviewer", message=exc.message.removeprefix("reviewer "))
    try:
        signer = chosen_signer(request.key, request.key_path, request.passphrase)
        reviewer = reviewer_for(reviewer, signer)
    except FieldProblem as problem:
        return CosignOutcome(field=problem.field, message=problem.message)
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
