"""Strict JSON reading with messages that point at the file and line.

Stricter than `json.load`: the bytes must be UTF-8, keys must not repeat inside an object
(a repeated key silently drops a value, which would make a signed or fingerprinted record
ambiguous), and NaN/Infinity are refused because they are not JSON. Logs written by other tools
are read with `strict=False`: Python's own writers emit NaN/Infinity, which then read as null.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from evaltui.errors import InputError
from evaltui.safe_files import read_regular


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


MAX_INTEGER_DIGITS = 40  # an integer literal longer than this is refused (no real value needs it)


def _bounded_int(text: str) -> int:
    """An integer literal, refused when absurdly long: a 400-digit "score" cannot become a float,
    and Python's own limit (4,300 digits) only fails later, with no file named."""
    if len(text.lstrip("-")) > MAX_INTEGER_DIGITS:
        raise ValueError(
            f"an integer with {len(text.lstrip('-'))} digits is too large "
            f"(at most {MAX_INTEGER_DIGITS} digits)"
        )
    return int(text)


_DECODER = json.JSONDecoder(
    object_pairs_hook=_no_duplicates, parse_constant=_no_constants, parse_int=_bounded_int
)
_LENIENT_DECODER = json.JSONDecoder(
    object_pairs_hook=_no_duplicates, parse_constant=lambda _name: None, parse_int=_bounded_int
)
# A \uD800-\uDFFF escape: only then can a decoded string hold a lone surrogate, which no UTF-8
# writer (DuckDB, the terminal) accepts; the document is then walked to find it.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def decode_text(data: bytes, path: Path | str) -> str:
    """Decode UTF-8 bytes (a BOM is tolerated) or say where the bad byte is."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InputError(
            path, f"not valid UTF-8 (byte {exc.start}); save the file as UTF-8", line
        ) from None


def parse_json_text(
    text: str, path: Path | str, line_offset: int = 0, *, strict: bool = True
) -> Any:
    """Parse one JSON document, turning every failure into an InputError with its line.

    `strict=False` reads NaN/Infinity as null (for logs written by other tools).
    """
    try:
        value = (_DECODER if strict else _LENIENT_DECODER).decode(text)
        if _SURROGATE_ESCAPE.search(text):
            where = lone_surrogate(value)
            if where is not None:
                raise InputError(
                    path,
                    f"{where}: a lone surrogate escape (\\ud800-\\udfff) is not text; "
                    "write the character itself or a valid pair",
                    line_offset or None,
                )
        return value
    except RecursionError:
        raise InputError(path, "invalid JSON: nested too deeply", line_offset or None) from None
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


def lone_surrogate(value: Any) -> str | None:
    """Where the first string (or key) holding a lone surrogate is (`field 'cases[3].output'`),
    None if none does."""
    stack: list[tuple[str, Any]] = [("", value)]
    while stack:
        place, item = stack.pop()
        if isinstance(item, str):
            if not _encodable(item):
                return f"field {place!r}" if place else "the value"
        elif isinstance(item, dict):
            for key, child in item.items():
                if not _encodable(key):
                    return f"a key in {place!r}" if place else "a key"
                stack.append((f"{place}.{key}" if place else key, child))
        elif isinstance(item, list):
            stack.extend((f"{place}[{index}]", child) for index, child in enumerate(item))
    return None


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def read_file_bytes(path: Path, *, limit: int | None = None) -> bytes:
    """A regular file's bytes; anything else is one `InputError` line (`safe_files.read_regular`)."""
    return read_regular(path, limit=limit)


def parse_json_bytes(
    data: bytes, path: Path | str, *, strict: bool = True, what: str = "file"
) -> Any:
    """Parse one JSON document from bytes (`what` names it if empty: a file, a zip entry)."""
    if not data.strip():
        raise InputError(path, f"{what} is empty")
    return parse_json_text(decode_text(data, path), path, strict=strict)


def read_json_file(path: Path, *, strict: bool = True) -> Any:
    """Read a whole JSON file (strictly, unless `strict=False`: see `parse_json_text`)."""
    return parse_json_bytes(read_file_bytes(path), path, strict=strict)


def iter_jsonl(path: Path, *, strict: bool = True) -> Iterator[tuple[int, Any]]:
    """Yield (line number, value) for each non-blank line of a JSON Lines file."""
    data = read_file_bytes(path)
    if not data.strip():
        raise InputError(path, "file is empty")
    text = decode_text(data, path)
    for number, line in enumerate(text.split("\n"), start=1):
        if line.strip():
            yield number, parse_json_text(line, path, line_offset=number, strict=strict)


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
