"""Field-by-field validation of JSON records with messages that name the field and the expectation."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from evaltui.contract.jsonio import describe_type
from evaltui.errors import InputError

IDENTIFIER = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.:@/+-]*$")


class Record:
    """Reads fields out of one JSON object, collecting every problem instead of stopping at the first."""

    def __init__(self, doc: Any, path: Path | str, line: int | None = None, what: str = "record"):
        self.path = path
        self.line = line
        self.errors: list[InputError] = []
        if not isinstance(doc, dict):
            self.doc: dict[str, Any] = {}
            self.fail(f"expected a JSON object for the {what}, found {describe_type(doc)}")
        else:
            self.doc = doc

    def fail(self, message: str) -> None:
        self.errors.append(InputError(self.path, message, self.line))

    def has(self, key: str) -> bool:
        return key in self.doc

    def raw(self, key: str) -> Any:
        return self.doc.get(key)

    def string(self, key: str, *, required: bool = True, identifier: bool = False) -> str:
        if key not in self.doc or self.doc[key] is None:
            if required:
                self.fail(f"missing required field {key!r} (a string)")
            return ""
        value = self.doc[key]
        if not isinstance(value, str):
            self.fail(f"field {key!r} must be a string, found {describe_type(value)}")
            return ""
        if required and not value.strip():
            self.fail(f"field {key!r} must not be empty")
        elif identifier and value and not IDENTIFIER.fullmatch(value):
            self.fail(
                f"field {key!r} is {value!r}: use letters, digits and _ . : @ / + - "
                "(no spaces or control characters)"
            )
        return value

    def obj(self, key: str, *, required: bool = False) -> dict[str, Any]:
        if key not in self.doc or self.doc[key] is None:
            if required:
                self.fail(f"missing required field {key!r} (an object)")
            return {}
        value = self.doc[key]
        if not isinstance(value, dict):
            self.fail(f"field {key!r} must be an object, found {describe_type(value)}")
            return {}
        return value

    def array(self, key: str, *, required: bool = False) -> list[Any]:
        if key not in self.doc or self.doc[key] is None:
            if required:
                self.fail(f"missing required field {key!r} (an array)")
            return []
        value = self.doc[key]
        if not isinstance(value, list):
            self.fail(f"field {key!r} must be an array, found {describe_type(value)}")
            return []
        return value

    def string_list(self, key: str) -> tuple[str, ...] | None:
        if key not in self.doc:
            return None
        value = self.doc[key]
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            self.fail(f"field {key!r} must be an array of non-empty strings")
            return None
        return tuple(value)

    def check_kind(self, kind: str, versions: tuple[int, ...]) -> None:
        found = self.doc.get("kind")
        if found != kind:
            self.fail(f"field 'kind' must be {kind!r}, found {found!r}")
            return
        version = self.doc.get("version")
        if "version" not in self.doc:
            self.fail(
                f"missing required field 'version' (this evaltui reads version {versions[-1]})"
            )
        elif isinstance(version, bool) or version not in versions:
            self.fail(
                f"unsupported version {version!r} for {kind} "
                f"(this evaltui reads version {', '.join(map(str, versions))})"
            )


def scalar_text(value: Any) -> str:
    """How a param or tag value is stored: strings as they are, anything else as compact JSON."""
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
