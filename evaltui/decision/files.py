"""Writing decision files: atomically, and never over an existing file.

`evaltui.safe_files.write_new` does the writing: a random O_EXCL|O_NOFOLLOW temporary name,
fsynced, then hard-linked to the final name (link(2) fails when the name exists, so a decision
can never replace another, and a reader never sees a half-written file).
"""

from __future__ import annotations

from pathlib import Path

from evaltui import safe_files
from evaltui.errors import InputError, NotFoundError

JSON_SUFFIX = ".decision.json"
SIG_SUFFIX = ".decision.json.sig"
FILE_MODE = 0o644  # decision files are for others to read (the umask still applies)
MAX_DECISION_BYTES = 16 << 20  # a decision record (real ones are a few KB)
MAX_SIGNATURE_BYTES = 1 << 20  # an armored SSHSIG (a few KB even for RSA keys)


class DecisionExists(InputError):
    pass


def write_new(path: Path, data: bytes) -> None:
    """Create `path` with `data`; DecisionExists if anything is already there (a symlink too)."""
    try:
        safe_files.write_new(path, data, mode=FILE_MODE)
    except safe_files.FileExists:
        raise _exists(path) from None


def _exists(path: Path) -> DecisionExists:
    return DecisionExists(
        path, "already exists; decision files are never overwritten (choose another name)"
    )


def decision_paths(out_dir: Path, name: str) -> tuple[Path, Path]:
    return out_dir / f"{name}{JSON_SUFFIX}", out_dir / f"{name}{SIG_SUFFIX}"


def signature_path_for(decision: Path) -> Path:
    return decision.with_name(decision.name + ".sig")


def read_decision_bytes(path: Path) -> bytes:
    """A decision file's bytes; missing is a NotFoundError, unreadable (a FIFO, too large) an
    InputError."""
    if not path.exists() and not path.is_symlink():
        raise NotFoundError(f"{path}: decision file not found")
    try:
        return safe_files.read_regular(path, limit=MAX_DECISION_BYTES)
    except InputError as exc:
        raise InputError(path, f"cannot read the decision file: {exc.message}") from None


def read_signature_bytes(path: Path) -> bytes:
    """A signature file's bytes (FileNotFoundError if there is none, InputError if unreadable)."""
    if not path.exists() and not path.is_symlink():
        raise FileNotFoundError(path)
    return safe_files.read_regular(path, limit=MAX_SIGNATURE_BYTES)
