"""The signing key and reviewer a form chose, with each problem tied to the form field it concerns.

The decide and co-sign forms and the CLI's `decide` and `cosign` ask the same things (a key from
the list or a key file, its passphrase, the reviewer); all of them load the signer through here,
so a wrong passphrase or an unreadable key reads the same under the same field in either form,
and as the same one line on the command line.
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
from evaltui.errors import EvaltuiError


class FieldProblem(EvaltuiError):
    """A problem with one field of a signing form (`field`), in words for that field.

    `message` is what a form shows under the field; `lines()` is what the CLI prints (the key
    error's own `path: what is wrong` when there was one).
    """

    def __init__(self, field: str, message: str, line: str | None = None) -> None:
        super().__init__(message, field=field)
        self.field = field
        self.message = message
        self.line = line or message

    def lines(self) -> list[str]:
        return [self.line]


class PassphraseNeeded(FieldProblem):
    """The key at `path` is protected and no passphrase was given: ask for one, try again."""

    def __init__(self, path: Path, line: str) -> None:
        super().__init__(
            "passphrase", "this key is protected by a passphrase: type it, then ctrl+s again", line
        )
        self.path = path


def chosen_signer(
    key: KeyChoice | None,
    key_path: Path | None,
    passphrase: str | None,
    *,
    use_agent: bool = True,
) -> Signer:
    """The signer of the listed `key`, else of the key file `key_path` (None: the default key:
    the agent's only key, else ~/.ssh/id_*)."""
    try:
        if key is not None:
            return key.signer(passphrase)
        return load_signer(key_path, passphrase, use_agent=use_agent)
    except PassphraseRequired as exc:
        raise PassphraseNeeded(Path(exc.path or key_path or ""), str(exc)) from None
    except WrongPassphrase as exc:
        raise FieldProblem(
            "passphrase", "wrong passphrase for this key: try again", str(exc)
        ) from None
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
