"""Resolving files that a manifest or run record refers to.

References are relative to the record's own file and must stay inside the folder being loaded:
no absolute paths, no `..` escapes, no symlinks pointing elsewhere. A record from an untrusted
folder must not make evaltui read `/etc/passwd` or a reviewer's private files.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath, PureWindowsPath

from evaltui.contract.model import CaseFile
from evaltui.errors import InputError

CASE_FILE_FORMATS = {".jsonl": "jsonl", ".parquet": "parquet"}


def check_inside(path: Path, root: Path, *, allow_outside: bool = False) -> None:
    """Refuse a file found inside `root` that is a symlink to somewhere outside it.

    Walking a folder finds such a link like any file; reading it would read whatever it points
    at (another project's records, a file of the reviewer's), so it gets the same rule as a
    path written in a record.
    """
    if allow_outside or not path.is_symlink():
        return
    try:
        resolved = path.resolve(strict=True)
    except FileNotFoundError:
        raise InputError(path, "is a symlink to a file that does not exist") from None
    except (OSError, RuntimeError) as exc:
        raise InputError(path, f"cannot be opened: {exc}") from None
    if not resolved.is_relative_to(root.resolve()):
        raise InputError(
            path,
            f"is a symlink to a file outside the loaded folder {str(root)!r}; "
            "copy the file in (or pass --allow-outside)",
        )


def resolve_case_file(
    declared: str,
    record_path: Path,
    root: Path,
    *,
    line: int | None = None,
    allow_outside: bool = False,
) -> CaseFile:
    """Turn a path written in a record into a checked `CaseFile`."""
    if not declared.strip():
        raise InputError(record_path, "referenced case file path is empty", line)
    if "\x00" in declared:
        raise InputError(record_path, "referenced case file path contains a NUL byte", line)
    suffix = PurePosixPath(declared).suffix.lower()
    fmt = CASE_FILE_FORMATS.get(suffix)
    if fmt is None:
        raise InputError(
            record_path,
            f"referenced case file {declared!r} must end in .jsonl or .parquet",
            line,
        )
    is_absolute = PurePosixPath(declared).is_absolute() or PureWindowsPath(declared).is_absolute()
    if is_absolute and not allow_outside:
        raise InputError(
            record_path,
            f"referenced case file {declared!r} is an absolute path; use a path relative to "
            "this file (or pass --allow-outside)",
            line,
        )
    candidate = (record_path.parent / declared) if not is_absolute else Path(declared)
    try:
        resolved = candidate.resolve(strict=True)
    except FileNotFoundError:
        raise InputError(
            record_path, f"referenced case file {declared!r} not found", line
        ) from None
    except (OSError, RuntimeError) as exc:
        raise InputError(
            record_path, f"referenced case file {declared!r} cannot be opened: {exc}", line
        ) from None
    if not allow_outside and not resolved.is_relative_to(root.resolve()):
        raise InputError(
            record_path,
            f"referenced case file {declared!r} resolves outside the loaded folder {str(root)!r}; "
            "move it inside (or pass --allow-outside)",
            line,
        )
    if not resolved.is_file():
        raise InputError(record_path, f"referenced case file {declared!r} is not a file", line)
    return CaseFile(declared=declared, path=resolved, format=fmt)  # type: ignore[arg-type]
