"""Run records: parsing and validation of everything except the bulk per-case rows.

Per-case rows in files are read by DuckDB in the store layer; this module only checks the header
and, for inline cases, the rows themselves (they are already Python objects by then).
"""

from __future__ import annotations

import hashlib
import json
import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from evaltui.contract.fields import Record, scalar_text
from evaltui.contract.jsonio import describe_type
from evaltui.contract.model import FORMAT_VERSION, KIND_RUN, CaseFile, Digest, Run
from evaltui.contract.paths import resolve_case_file
from evaltui.contract.results import inline_result_problem
from evaltui.errors import InputError, ProblemTally, raise_collected


def parse_run(
    doc: Any,
    path: Path,
    root: Path,
    *,
    line: int | None = None,
    allow_outside: bool = False,
) -> Run:
    """Validate a run record; raise InputError(s) naming the file (and line) on any problem."""
    rec = Record(doc, path, line, what="run record")
    rec.check_kind(KIND_RUN, (FORMAT_VERSION,))
    run_id = rec.string("run_id", identifier=True)
    experiment = rec.string("experiment")
    artifact = rec.string("artifact")
    suite_id = rec.string("suite_id", identifier=True)
    started_text = rec.string("started_at")
    started_at = _parse_time(rec, started_text) if started_text else datetime.fromtimestamp(0, UTC)
    params = {k: scalar_text(v) for k, v in _scalars(rec, "params").items()}
    tags = {k: scalar_text(v) for k, v in _scalars(rec, "tags").items()}
    metrics = _metrics(rec)
    artifacts = _artifacts(rec)
    incomplete = _incomplete(rec)
    if "cases" not in rec.doc:
        rec.fail(
            "missing required field 'cases' (an array of results or a relative .jsonl/.parquet path)"
        )
    raise_collected(rec.errors)

    cases = rec.doc["cases"]
    inline: tuple[dict[str, Any], ...] | None = None
    case_file: CaseFile | None = None
    if isinstance(cases, list):
        _check_inline(cases, path, line)
        inline = tuple(cases)
    elif isinstance(cases, str):
        case_file = resolve_case_file(cases, path, root, line=line, allow_outside=allow_outside)
    else:
        raise InputError(
            path,
            "field 'cases' must be an array of results or a relative .jsonl/.parquet path, "
            f"found {describe_type(cases)}",
            line,
        )
    return Run(
        run_id=run_id,
        experiment=experiment,
        artifact=artifact,
        suite_id=suite_id,
        started_at=started_at,
        params=params,
        metrics=metrics,
        tags=tags,
        artifacts=artifacts,
        cases_inline=inline,
        cases_file=case_file,
        content=_content_sha(rec.doc, case_file),
        path=path,
        line=line,
        incomplete=incomplete,
    )


def _incomplete(rec: Record) -> str | None:
    """Optional `incomplete`: one line saying why the run did not finish (absent or null: it did)."""
    if rec.raw("incomplete") is None:
        return None
    reason = rec.string("incomplete", required=False)
    if not isinstance(rec.raw("incomplete"), str):
        return None  # reported by rec.string
    if not reason.strip() or "\n" in reason or "\r" in reason:
        rec.fail(
            "field 'incomplete' must be a one-line reason (e.g. \"stopped after 14 of 40 samples\") "
            "or null for a complete run"
        )
        return None
    return reason.strip()


def _parse_time(rec: Record, text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        rec.fail(
            f"field 'started_at' is {text!r}: expected an ISO 8601 time such as 2026-11-02T14:05:00Z"
        )
        return datetime.fromtimestamp(0, UTC)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError:  # 9999-12-31T23:59:59-05:00 is in the year 10000 in UTC
        rec.fail(f"field 'started_at' is {text!r}: outside the years 1-9999 once in UTC")
        return datetime.fromtimestamp(0, UTC)


def _scalars(rec: Record, key: str) -> dict[str, Any]:
    """Params and tags: names to strings, numbers, booleans or null (no nested structures)."""
    values = rec.obj(key)
    for name, value in values.items():
        if not name:
            rec.fail(f"field {key!r} has an empty name")
        if isinstance(value, float) and not math.isfinite(value):
            rec.fail(f"{key}.{name} must be finite")
        elif isinstance(value, dict | list):
            rec.fail(
                f"{key}.{name} must be a string, number, boolean or null, "
                f"found {describe_type(value)}"
            )
    return values


def _metrics(rec: Record) -> dict[str, float]:
    out: dict[str, float] = {}
    for name, value in rec.obj("metrics").items():
        if not name:
            rec.fail("field 'metrics' has an empty name")
        elif isinstance(value, bool) or not isinstance(value, int | float):
            rec.fail(f"metrics.{name} must be a number, found {describe_type(value)}")
        elif not _finite(value):
            rec.fail(f"metrics.{name} must be a finite number")
        else:
            out[name] = float(value)
    return out


def _finite(value: float) -> bool:
    try:
        return math.isfinite(value)
    except OverflowError:  # an int too large for a float
        return False


def _artifacts(rec: Record) -> tuple[str, ...]:
    items = rec.array("artifacts")
    for index, item in enumerate(items):
        if not isinstance(item, str) or not item:
            rec.fail(f"artifacts[{index}] must be a non-empty string (a path or URI)")
    return tuple(item for item in items if isinstance(item, str))


def _check_inline(cases: list[Any], path: Path, line: int | None) -> None:
    tally = ProblemTally(path, label="cases", line=line)
    for index, case in enumerate(cases):
        problem = inline_result_problem(case)
        if problem is not None:
            tally.add(problem, index)  # 400 identical problems: one line with the count
    raise_collected(tally.errors())


def _content_sha(doc: dict[str, Any], case_file: CaseFile | None) -> Digest:
    """Identity of a run's whole content, so that loading the same run twice is a no-op.

    A case file is hashed by a background thread (in the order runs are read), so a load can
    insert rows while the files are hashed; the loader asks for the value only when it needs it.
    """
    if case_file is None:
        return Digest.of(_identity(doc, None))
    return Digest.submit(_identity, doc, case_file)


def _identity(doc: dict[str, Any], case_file: CaseFile | None) -> str:
    body = dict(doc)
    if case_file is not None:
        try:
            with case_file.path.open("rb") as handle:
                # file_digest reads into one reused buffer and releases the GIL while hashing
                digest = hashlib.file_digest(handle, "sha256").hexdigest()
        except OSError as exc:
            raise InputError(case_file.path, f"cannot read case results: {exc.strerror}") from None
        body["cases"] = {"file": case_file.declared, "sha256": digest}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode()).hexdigest()
