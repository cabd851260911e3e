"""Writing decision files: atomically, and never over an existing file.

Each file is written to a fresh temporary name in the target folder, flushed and fsynced, then
hard-linked to its final name. link(2) fails when the name exists, so a decision can never
replace another, and a reader never sees a half-written file. Where the filesystem has no hard
links, the file is created with O_EXCL instead (still never overwriting, though a crash could
then leave a partial file, which fails verification).
"""

from __future__ import annotations

import errno
import os
import secrets
from pathlib import Path

from evaltui.errors import InputError, NotFoundError

JSON_SUFFIX = ".decision.json"
SIG_SUFFIX = ".decision.json.sig"
FILE_MODE = 0o644  # decision files are for others to read (the umask still applies)


class DecisionExists(InputError):
    pass


def write_new(path: Path, data: bytes) -> None:
    """Create `path` with `data`; DecisionExists if anything is already there."""
    folder = path.parent
    temp = folder / f".{path.name}.{secrets.token_hex(6)}.tmp"
    try:
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except OSError as exc:
        raise InputError(folder, f"cannot write here: {exc.strerror}") from None
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(temp, path)
        except FileExistsError:
            raise _exists(path) from None
        except OSError as exc:
            if exc.errno not in (
                errno.EPERM,
                errno.ENOTSUP,
                errno.EOPNOTSUPP,
                errno.EXDEV,
                errno.EMLINK,
            ):
                raise InputError(path, f"cannot write the decision file: {exc.strerror}") from None
            _write_exclusive(path, data)
    finally:
        temp.unlink(missing_ok=True)
    _fsync_dir(folder)


def _write_exclusive(path: Path, data: bytes) -> None:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError:
        raise _exists(path) from None
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def _exists(path: Path) -> DecisionExists:
    return DecisionExists(
        path, "already exists; decision files are never overwritten (choose another name)"
    )


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some filesystems cannot fsync a directory; the files themselves are synced
    finally:
        os.close(fd)


def decision_paths(out_dir: Path, name: str) -> tuple[Path, Path]:
    return out_dir / f"{name}{JSON_SUFFIX}", out_dir / f"{name}{SIG_SUFFIX}"


def signature_path_for(decision: Path) -> Path:
    return decision.with_name(decision.name + ".sig")


def read_decision_bytes(path: Path) -> bytes:
    """A decision file's bytes; missing is a NotFoundError, unreadable an InputError."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise NotFoundError(f"{path}: decision file not found") from None
    except OSError as exc:
        raise InputError(path, f"cannot read the decision file: {exc.strerror}") from None
