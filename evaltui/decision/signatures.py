"""Where a decision's signatures live: the decider's file and one file per co-signer.

    NAME.decision.json                       the decision (its bytes never change)
    NAME.decision.json.sig                   the decider's signature (principal: the record's reviewer)
    NAME.decision.json.PRINCIPAL.sig         a co-signature by PRINCIPAL, e.g.
    NAME.decision.json.bob@example.com.sig

Each file is a plain armored SSHSIG over the decision's bytes in the `evaltui-decision`
namespace, so each verifies on its own with
`ssh-keygen -Y verify -f allowed_signers -I PRINCIPAL -n evaltui-decision -s FILE < NAME.decision.json`.
The co-signer's principal is the file name's middle part, written exactly (not a lossy slug), so
the name says which `-I` to check it with; a principal is therefore limited to characters safe in
a file name (letters, digits and `@ . _ + = -`, starting with a letter or digit). Renaming a file
to another principal does not help anyone: the key must be listed for that principal.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from evaltui.decision.files import signature_path_for
from evaltui.errors import InputError

SIG_SUFFIX = ".sig"
MAX_PRINCIPAL = 128
MAX_COSIGNATURES = 256  # more files than any review board signs: the rest are reported, not read
_PRINCIPAL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9@._+=-]*$")


@dataclass(frozen=True, slots=True)
class SignatureFile:
    path: Path
    principal: str | None  # None: a file whose name holds no usable principal
    role: str  # "decider" (NAME.decision.json.sig) or "cosigner"


def principal_problem(principal: str) -> str | None:
    """Why `principal` cannot name a co-signature file (None when it can)."""
    if not principal:
        return "is required"
    if len(principal) > MAX_PRINCIPAL:
        return f"is longer than {MAX_PRINCIPAL} characters"
    if not _PRINCIPAL.fullmatch(principal) or principal.lower() == "sig":
        return (
            f"{principal!r} cannot name a co-signature file: use letters, digits and "
            "'@ . _ + = -', starting with a letter or digit"
        )
    return None


def cosignature_path(decision: Path, principal: str) -> Path:
    """NAME.decision.json.PRINCIPAL.sig beside the decision (InputError for a bad principal)."""
    problem = principal_problem(principal)
    if problem is not None:
        raise InputError(None, f"reviewer {problem}")
    return decision.with_name(f"{decision.name}.{principal}{SIG_SUFFIX}")


def cosignature_files(decision: Path) -> tuple[list[SignatureFile], int]:
    """The co-signature files beside `decision`, sorted by name, and how many more were left
    unread (beyond MAX_COSIGNATURES). The decider's own `.sig` is not among them."""
    prefix = decision.name + "."
    own = signature_path_for(decision).name
    folder = decision.parent
    try:
        names = sorted(
            entry.name
            for entry in os.scandir(folder)
            if entry.name.startswith(prefix)
            and entry.name.endswith(SIG_SUFFIX)
            and entry.name != own
            and len(entry.name) > len(prefix) + len(SIG_SUFFIX)
        )
    except (OSError, ValueError):  # ValueError: a NUL in a logged path
        return [], 0
    out = []
    for name in names[:MAX_COSIGNATURES]:
        middle = name[len(prefix) : -len(SIG_SUFFIX)]
        principal = middle if principal_problem(middle) is None else None
        out.append(SignatureFile(folder / name, principal, "cosigner"))
    return out, max(0, len(names) - MAX_COSIGNATURES)


def signature_counts(decisions: list[Path]) -> dict[Path, int]:
    """Signature files per decision (its own `.sig` and co-signatures), listing each folder once
    however many decisions it holds: for the app's list of past decisions."""
    by_folder: dict[Path, list[Path]] = {}
    for decision in decisions:
        by_folder.setdefault(decision.parent, []).append(decision)
    out: dict[Path, int] = {}
    for folder, members in by_folder.items():
        try:
            names = [entry.name for entry in os.scandir(folder)]
        except (OSError, ValueError):  # ValueError: a NUL in a logged path
            names = []
        wanted = {d.name: d for d in members}
        counts = dict.fromkeys(members, 0)
        for name in names:
            if not name.endswith(SIG_SUFFIX):
                continue
            stem = name[: -len(SIG_SUFFIX)]  # NAME.decision.json or NAME.decision.json.PRINCIPAL
            if stem in wanted:
                counts[wanted[stem]] += 1
                continue
            for dot in (i for i, c in enumerate(stem) if c == "."):
                owner = wanted.get(stem[:dot])
                if owner is not None and principal_problem(stem[dot + 1 :]) is None:
                    counts[owner] += 1
                    break
        out.update(counts)
    return out
