"""The per-case result schema, and diagnostics that locate a bad row precisely.

The store reads result files in bulk with DuckDB and checks them with set-based queries. Only when
something is wrong do the functions here walk a file row by row, to name the exact line and field.
"""

from __future__ import annotations

import math
from collections.abc import Container
from pathlib import Path
from typing import Any

from evaltui.contract.jsonio import describe_type, iter_jsonl
from evaltui.errors import InputError, ProblemTally

REQUIRED_RESULT_FIELDS = ("case_id", "route")
OPTIONAL_RESULT_FIELDS = ("score", "latency_ms", "tokens", "output", "metadata")
RESULT_FIELDS = REQUIRED_RESULT_FIELDS + OPTIONAL_RESULT_FIELDS
_MAX_ERRORS = 20
MIN_TOKENS, MAX_TOKENS = -(1 << 63), (1 << 63) - 1  # stored as BIGINT


def _finite(value: float) -> bool:
    try:
        return math.isfinite(value)
    except OverflowError:  # an int too large for a float
        return False


def inline_result_problem(case: Any) -> str | None:
    """What is wrong with one result object, or None if it is valid."""
    if not isinstance(case, dict):
        return f"a case result must be a JSON object, found {describe_type(case)}"
    for key in REQUIRED_RESULT_FIELDS:
        value = case.get(key)
        if value is None:
            return f"missing required field {key!r} (a string)"
        if not isinstance(value, str) or not value:
            return f"field {key!r} must be a non-empty string, found {describe_type(value)}"
    for key in ("score", "latency_ms"):
        value = case.get(key)
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, int | float) or not _finite(value)
        ):
            return (
                f"case {case['case_id']!r}: field {key!r} must be a finite number, "
                f"found {describe_type(value)}"
            )
    tokens = case.get("tokens")
    if tokens is not None and (isinstance(tokens, bool) or not isinstance(tokens, int)):
        return f"case {case['case_id']!r}: field 'tokens' must be an integer, found {describe_type(tokens)}"
    if tokens is not None and not MIN_TOKENS <= tokens <= MAX_TOKENS:
        return f"case {case['case_id']!r}: field 'tokens' is {tokens}, outside {MIN_TOKENS}..{MAX_TOKENS}"
    metadata = case.get("metadata")
    if metadata is not None and not isinstance(metadata, dict):
        return f"case {case['case_id']!r}: field 'metadata' must be an object, found {describe_type(metadata)}"
    return None


def diagnose_rows(
    rows: Any,
    path: Path | str,
    suite_case_ids: Container[str],
    suite_id: str,
    *,
    line: int | None = None,
    label: str = "line",
) -> list[InputError]:
    """Find every bad row: invalid fields, unknown case ids, duplicate case ids. The same
    problem on many rows is one error with a count and the first position (`ProblemTally`).

    `rows` yields (position, value); position is a line number when label is "line" (JSONL),
    otherwise an index shown in the message (inline arrays, Parquet rows).
    """
    tally = ProblemTally(path, label=label, line=line)
    seen: dict[str, int] = {}
    for position, case in rows:
        problem = inline_result_problem(case)
        if problem is None:
            case_id = case["case_id"]
            if case_id not in suite_case_ids:
                problem = f"case_id {case_id!r} is not in suite {suite_id!r}"
            elif case_id in seen:
                first = (
                    f"cases[{seen[case_id]}]" if label == "cases" else f"{label} {seen[case_id]}"
                )
                problem = f"duplicate result for case_id {case_id!r} (first at {first})"
            else:
                seen[case_id] = position
        if problem is not None:
            tally.add(problem, position)  # identical problems are grouped with a count
    return tally.errors()


def diagnose_jsonl(path: Path, suite_case_ids: Container[str], suite_id: str) -> list[InputError]:
    """Walk a JSONL result file and report its bad lines (used only after a bulk check failed)."""
    try:
        return diagnose_rows(iter_jsonl(path), path, suite_case_ids, suite_id)
    except InputError as exc:  # malformed JSON stops the walk at that line
        return [exc]
