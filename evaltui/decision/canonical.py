"""Canonical JSON (RFC 8785, JCS) for decision files: the exact bytes that are signed.

JCS fixes key order, number formatting and string escaping, so one record has one byte form and a
verifier can tell a re-serialised or hand-edited file from the signed original. Values are made
plain first: tuples become lists, numpy-like scalars become Python numbers, and non-finite floats
(which JSON cannot hold) become null, so new evidence fields from the review layer flow in as they
are. Reading is strict: UTF-8 only, no repeated keys, no NaN.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import rfc8785

from evaltui.contract.jsonio import parse_json_text
from evaltui.errors import InputError

MAX_SAFE_INTEGER = 2**53 - 1  # JCS numbers are IEEE doubles; larger integers would change


class NotCanonical(ValueError):
    """Bytes that are not the canonical form of the JSON they hold."""


def plain(value: Any) -> Any:
    """A JSON-ready copy of `value` (dicts, lists, str, finite numbers, bool, None)."""
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        return value if abs(value) <= MAX_SAFE_INTEGER else str(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    item = getattr(value, "item", None)  # numpy scalars
    if callable(item):
        return plain(item())
    if hasattr(value, "isoformat"):
        return value.isoformat()
    raise TypeError(f"cannot put a {type(value).__name__} into a decision record")


def canonical_form(value: Any) -> tuple[Any, bytes]:
    """`plain(value)` and its RFC 8785 bytes."""
    doc = plain(value)
    return doc, rfc8785.dumps(doc)


def canonical_bytes(value: Any) -> bytes:
    """RFC 8785 bytes of `value` after `plain()`."""
    return canonical_form(value)[1]


def parse_strict(data: bytes, path: str) -> Any:
    """Parse a decision file's bytes: UTF-8 without BOM, no duplicate keys, no NaN.

    Raises InputError whose message says what is wrong (a duplicate key is named).
    """
    if data.startswith(b"\xef\xbb\xbf"):
        raise InputError(path, "starts with a byte order mark; decision files are plain UTF-8")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(path, f"not valid UTF-8 (byte {exc.start})") from None
    return parse_json_text(text, path)


def check_canonical(data: bytes, doc: Any) -> None:
    """Raise NotCanonical unless `data` is exactly the JCS form of `doc`."""
    try:
        expected = rfc8785.dumps(doc)
    except rfc8785.CanonicalizationError as exc:
        raise NotCanonical(f"holds a value JCS cannot encode: {exc}") from None
    if data == expected:
        return
    index = next(
        (i for i, (a, b) in enumerate(zip(data, expected, strict=False)) if a != b),
        min(len(data), len(expected)),
    )
    raise NotCanonical(
        f"bytes are not RFC 8785 canonical JSON (first difference at byte {index}; "
        f"{len(data)} bytes, canonical form has {len(expected)})"
    )
