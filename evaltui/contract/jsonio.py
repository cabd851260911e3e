"""Strict JSON reading with messages that point at the file and line.

Stricter than `json.load`: the bytes must be UTF-8, keys must not repeat inside an object
(a repeated key silently drops a value, which would make a signed or fingerprinted record
ambiguous), and NaN/Infinity are refused because they are not JSON.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from evaltui.errors import InputError


class _DuplicateKey(ValueError):
    pass


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKey(key)
        result[key] = value
    return result


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


_DECODER = json.JSONDecoder(object_pairs_hook=_no_duplicates, parse_constant=_no_constants)


def decode_text(data: bytes, path: Path | str) -> str:
    """Decode UTF-8 bytes (a BOM is tolerated) or say where the bad byte is."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InputError(
            path, f"not valid UTF-8 (byte {exc.start}); save the file as UTF-8", line
        ) from None


def parse_json_text(text: str, path: Path | str, line_offset: int = 0) -> Any:
    """Parse one JSON document, turning every failure into an InputError with its line."""
    try:
        return _DECODER.decode(text)
    except _DuplicateKey as exc:
        raise InputError(
            path, f"duplicate key {exc.args[0]!r} in a JSON object", line_offset or None
        ) from None
    except json.JSONDecodeError as exc:
        line = exc.lineno + (line_offset - 1 if line_offset else 0)
        detail = exc.msg
        if exc.pos >= len(text.rstrip()):
            detail = f"{exc.msg} (the file looks truncated)"
        raise InputError(path, f"invalid JSON: {detail} at column {exc.colno}", line) from None
    except ValueError as exc:
        raise InputError(path, f"invalid JSON: {exc}", line_offset or None) from None


def read_file_bytes(path: Path) -> bytes:
    """A file's bytes; a missing file, a folder or an unreadable file is one `InputError` line."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise InputError(path, "file not found") from None
    except IsADirectoryError:
        raise InputError(path, "is a folder, expected a file") from None
    except OSError as exc:
        raise InputError(path, f"cannot read file: {exc.strerror}") from None


def read_json_file(path: Path) -> Any:
    """Read a whole JSON file strictly."""
    data = read_file_bytes(path)
    if not data.strip():
        raise InputError(path, "file is empty")
    return parse_json_text(decode_text(data, path), path)


def iter_jsonl(path: Path) -> Iterator[tuple[int, Any]]:
    """Yield (line number, value) for each non-blank line of a JSON Lines file."""
    data = read_file_bytes(path)
    if not data.strip():
        raise InputError(path, "file is empty")
    text = decode_text(data, path)
    for number, line in enumerate(text.split("\n"), start=1):
        if line.strip():
            yield number, parse_json_text(line, path, line_offset=number)


def describe_type(value: object) -> str:
    """The JSON name of a Python value's type, for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__
