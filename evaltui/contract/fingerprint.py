"""Order-independent fingerprints of suite cases.

A fingerprint is the first 16 hex digits of SHA-256 over the canonical JSON of a list of cases:
each case an object of all its fields, the list sorted by `case_id`, serialised like
`json.dumps(cases, sort_keys=True, separators=(",", ":"))` (non-ASCII as \\uXXXX escapes).

Each case is encoded once (`canonical_case`) and kept in the store; a list's encoding is then
`"[" + ",".join(sorted encodings) + "]"`, which is byte-for-byte what `json.dumps` gives for the
whole list. That lets the store fingerprint any subset of cases (the ones a run has results for)
in SQL, without going back to Python objects.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import Any

FINGERPRINT_DIGITS = 16
COMBINED_FIELD = "evaluation_sha"

_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def canonical_case(case: Mapping[str, Any]) -> str:
    """The canonical JSON text of one case."""
    return _ENCODER.encode(case)


def digest_encoded(pairs: Iterable[tuple[str, str]]) -> str:
    """Full SHA-256 hex digest of the canonical list, from (case_id, canonical text) pairs."""
    ordered = [text for _, text in sorted(pairs, key=lambda pair: pair[0])]
    payload = "[" + ",".join(ordered) + "]"
    return hashlib.sha256(payload.encode("ascii")).hexdigest()


def fingerprint_encoded(pairs: Iterable[tuple[str, str]]) -> str:
    """Fingerprint from (case_id, canonical text) pairs, in any order."""
    return digest_encoded(pairs)[:FINGERPRINT_DIGITS]


def fingerprint_cases(cases: Iterable[Mapping[str, Any]]) -> str:
    """Fingerprint of case objects (each must have a string `case_id`)."""
    return fingerprint_encoded((case["case_id"], canonical_case(case)) for case in cases)


def split_field(split: str) -> str:
    """The parameter name a run uses to claim a split's fingerprint."""
    return f"{split}_sha"


# SQL that fingerprints the canonical texts of a set of case rows; kept next to the Python
# definition so the two cannot drift apart unnoticed (tests compare them).
SQL_FINGERPRINT_AGG = (
    "left(sha256('[' || coalesce(string_agg({canon}, ',' ORDER BY {case_id}), '') || ']'), "
    f"{FINGERPRINT_DIGITS})"
)
