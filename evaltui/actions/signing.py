"""The signing key and reviewer a form chose, with each problem tied to the form field it concerns.

The decide and co-sign forms ask the same things (a key from the list or a key file, its
passphrase, the reviewer); both workers load the signer through here so a wrong passphrase or an
unreadable key reads the same under the same field in either form.
"""

from __future__ import annotations

from pathlib import Path

from evaltui.decision.keys import (
    KeyChoice,
    PassphraseRequired,
    Signer,
    SigningKeyError,
    WrongPassphrase,
    load_signer,
)


class FieldProblem(Exception):
    """A problem with one field of a signing form (`field`), in words for that field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def chosen_signer(key: KeyChoice | None, key_path: Path | None, passphrase: str | None) -> Signer:
    """The signer of the listed `key`, else of the key file `key_path`."""
    try:
        if key is not None:
            return key.signer(passphrase)
        return load_signer(key_path, passphrase)
    except PassphraseRequired:
        raise FieldProblem(
            "passphrase", "this key is protected by a passphrase: type it, then ctrl+s again"
        ) from None
    except WrongPassphrase:
        raise FieldProblem("passphrase", "wrong passphrase for this key: try again") from None
    except SigningKeyError as exc:
        raise FieldProblem("key" if key is not None else "key_file", str(exc)) from None


def reviewer_for(given: str, signer: Signer) -> str:
    """The reviewer typed, else the key's one-word comment; one of them is required."""
    reviewer = given or signer.public_key.default_reviewer
    if not reviewer:
        raise FieldProblem(
            "reviewer",
            "required: the principal your key is listed under in allowed_signers "
            "(the key has no one-word comment to use instead)",
        )
    return reviewer
