"""Suite manifests: parsing, case validation, metric and guardrail declarations, fingerprints.

Suite cases are the contract itself, so they are read exactly as written (JSON values, not a
database's idea of them) and encoded once; the encodings go to the store with the cases.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from evaltui.contract.fields import IDENTIFIER, Record
from evaltui.contract.fingerprint import canonical_case, digest_encoded, split_field
from evaltui.contract.jsonio import describe_type, iter_jsonl
from evaltui.contract.metric_kinds import METRIC_KINDS
from evaltui.contract.model import (
    DEFAULT_COMPARISON_FIELDS,
    DEFAULT_GUARDRAILS,
    DEFAULT_METRICS,
    FORMAT_VERSION,
    GUARDRAIL_OPERATORS,
    KIND_SUITE,
    CaseFile,
    CellFilter,
    Guardrail,
    MetricSpec,
    Split,
    Suite,
)
from evaltui.contract.paths import resolve_case_file
from evaltui.errors import InputError, first_line, raise_collected

KIND_NAMES = " or ".join(f"'{name}'" for name in METRIC_KINDS)  # 'count' or 'rate'

SPLIT_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
OPTIONAL_STRING_FIELDS = ("slice_name", "evidence_state", "source")
_MAX_ERRORS = 20


def parse_suite(doc: Any, path: Path, root: Path, *, allow_outside: bool = False) -> Suite:
    """Validate a suite manifest and read its cases; raise InputError(s) on any problem."""
    rec = Record(doc, path, what="suite manifest")
    rec.check_kind(KIND_SUITE, (FORMAT_VERSION,))
    suite_id = rec.string("suite_id", identifier=True)
    description = rec.string("description", required=False) or None
    splits_doc = rec.obj("splits", required=True)
    if rec.has("splits") and isinstance(rec.raw("splits"), dict) and not splits_doc:
        rec.fail("field 'splits' must name at least one split")
    metrics = _parse_metrics(rec)
    guardrails = _parse_guardrails(rec, metrics)
    comparison = rec.string_list("comparison_fields")
    raise_collected(rec.errors)

    splits = [
        _read_split(name, source, path, root, allow_outside) for name, source in splits_doc.items()
    ]
    _check_unique_across_splits(splits, path)
    metric_splits = {s for m in metrics for s in (m.splits or ())}
    unknown_splits = metric_splits - {s.name for s in splits}
    if unknown_splits:
        raise InputError(
            path, f"metrics refer to unknown split(s): {', '.join(sorted(unknown_splits))}"
        )

    all_pairs = [
        (cid, text) for s in splits for cid, text in zip(s.case_ids, s.canonical, strict=True)
    ]
    evaluation_digest = digest_encoded(all_pairs)
    identity = {
        "suite_id": suite_id,
        "description": description,
        "splits": {s.name: s.fingerprint for s in splits},
        "cases_sha256": evaluation_digest,
        "metrics": [m.to_json() for m in metrics],
        "guardrails": [g.to_json() for g in guardrails],
        "comparison_fields": list(comparison or DEFAULT_COMPARISON_FIELDS),
    }
    content_sha = hashlib.sha256(
        json.dumps(identity, sort_keys=True, separators=(",", ":")).encode()
    ).hexdigest()
    return Suite(
        suite_id=suite_id,
        path=path,
        splits=tuple(splits),
        metrics=metrics,
        guardrails=guardrails,
        comparison_fields=comparison or DEFAULT_COMPARISON_FIELDS,
        evaluation_sha=evaluation_digest[:16],
        content_sha=content_sha,
        description=description,
    )


# -- splits and cases ---------------------------------------------------------------------------


def _read_split(name: str, source: Any, path: Path, root: Path, allow_outside: bool) -> Split:
    if not SPLIT_NAME.fullmatch(name) or name == "evaluation":
        raise InputError(
            path,
            f"split name {name!r} must start with a letter and use letters, digits and _ "
            "('evaluation' is reserved for the combined fingerprint)",
        )
    if isinstance(source, list):
        rows: Iterable[tuple[str, Any]] = (
            (f"splits.{name}[{i}]", case) for i, case in enumerate(source)
        )
        label = "inline"
        where_path = path
        source_path = None
    elif isinstance(source, str):
        case_file = resolve_case_file(source, path, root, allow_outside=allow_outside)
        rows = _case_file_rows(case_file)
        label = case_file.declared
        where_path = case_file.path
        source_path = case_file.path
    else:
        raise InputError(
            path,
            f"split {name!r} must be an array of cases or a relative .jsonl/.parquet path, "
            f"found {describe_type(source)}",
        )
    cases, canonical, ids = _validate_cases(rows, where_path)
    if not cases:
        raise InputError(where_path, f"split {name!r} has no cases")
    digest = digest_encoded(zip(ids, canonical, strict=True))
    return Split(
        name=name,
        case_ids=tuple(ids),
        cases=tuple(cases),
        canonical=tuple(canonical),
        fingerprint=digest[:16],
        source=label,
        source_path=source_path,
    )


def _case_file_rows(case_file: CaseFile) -> Iterator[tuple[str, Any]]:
    """Yield (location, case) from a JSONL or Parquet file; location is a line or row label."""
    if case_file.format == "jsonl":
        for number, value in iter_jsonl(case_file.path):
            yield f"line {number}", value
        return
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(case_file.path)
    except Exception as exc:  # pyarrow raises several types for corrupt files
        raise InputError(case_file.path, f"cannot read Parquet file: {first_line(exc)}") from None
    raise_collected(
        [
            InputError(
                case_file.path,
                f"column {column.name!r} holds {column.type}, which has no JSON form (a suite "
                "case is a JSON object): store it as text, a number or a boolean",
            )
            for column in table.schema
            if not _json_type(column.type)
        ]
    )
    raise_collected(_non_finite(table, case_file.path))
    # Parquet has no "absent" field: a null cell means the case does not have that field.
    for index, row in enumerate(table.to_pylist(), start=1):
        yield f"row {index}", {k: v for k, v in row.items() if v is not None}


def _non_finite(table: Any, path: Path) -> list[InputError]:
    """NaN or infinity in a float column (JSON has neither), found column by column in bulk."""
    import pyarrow.compute as pc
    import pyarrow.types as t

    errors = []
    for name, column in zip(table.column_names, table.columns, strict=True):
        if not t.is_floating(column.type):
            continue
        bad = pc.invert(pc.is_finite(column))  # null stays null: an absent field is fine
        if pc.any(bad).as_py():
            row = pc.index(bad, True).as_py() + 1
            errors.append(
                InputError(path, f"row {row}: column {name!r} holds NaN or infinity, not a number")
            )
    return errors


def _json_type(kind: Any) -> bool:
    """Whether every value of this Arrow type comes out of pyarrow as a JSON value."""
    import pyarrow.types as t

    if t.is_dictionary(kind):
        return _json_type(kind.value_type)
    if t.is_list(kind) or t.is_large_list(kind) or t.is_fixed_size_list(kind):
        return _json_type(kind.value_type)
    if t.is_struct(kind):
        return all(_json_type(kind.field(i).type) for i in range(kind.num_fields))
    return bool(
        t.is_string(kind)
        or t.is_large_string(kind)
        or t.is_integer(kind)
        or t.is_floating(kind)
        or t.is_boolean(kind)
        or t.is_null(kind)
    )


def _validate_cases(
    rows: Iterable[tuple[str, Any]], path: Path
) -> tuple[list[Mapping[str, Any]], list[str], list[str]]:
    cases: list[Mapping[str, Any]] = []
    canonical: list[str] = []
    ids: list[str] = []
    seen: dict[str, str] = {}
    errors: list[InputError] = []
    for where, case in rows:
        problem = _case_problem(case)
        if problem is None:
            case_id = case["case_id"]
            if case_id in seen:
                problem = f"duplicate case_id {case_id!r} (first at {seen[case_id]})"
            else:
                seen[case_id] = where
        if problem is not None:
            line = int(where.split()[1]) if where.startswith("line ") else None
            prefix = "" if line is not None else f"{where}: "
            errors.append(InputError(path, prefix + problem, line))
            if len(errors) >= _MAX_ERRORS:
                break
            continue
        try:
            text = canonical_case(case)
        except (ValueError, TypeError) as exc:  # e.g. NaN from a Parquet float column
            errors.append(InputError(path, f"{where}: case cannot be encoded as JSON: {exc}"))
            continue
        cases.append(case)
        canonical.append(text)
        ids.append(case["case_id"])
    raise_collected(errors)
    return cases, canonical, ids


def _case_problem(case: Any) -> str | None:
    if not isinstance(case, dict):
        return f"a case must be a JSON object, found {describe_type(case)}"
    for key in ("case_id", "expected_route"):
        value = case.get(key)
        if value is None:
            return f"case is missing required field {key!r} (a string)"
        if not isinstance(value, str) or not value:
            return f"case field {key!r} must be a non-empty string, found {describe_type(value)}"
    for key in OPTIONAL_STRING_FIELDS:
        if key in case and not isinstance(case[key], str):
            return f"case {case['case_id']!r}: field {key!r} must be a string, found {describe_type(case[key])}"
    return None


def _check_unique_across_splits(splits: list[Split], path: Path) -> None:
    owner: dict[str, str] = {}
    for split in splits:
        for case_id in split.case_ids:
            if case_id in owner:
                raise InputError(
                    path,
                    f"case_id {case_id!r} appears in splits {owner[case_id]!r} and {split.name!r}; "
                    "case ids must be unique across the suite",
                )
            owner[case_id] = split.name


# -- metrics and guardrails ---------------------------------------------------------------------


def _parse_metrics(rec: Record) -> tuple[MetricSpec, ...]:
    if not rec.has("metrics"):
        return DEFAULT_METRICS
    items = rec.array("metrics")
    metrics: list[MetricSpec] = []
    names: set[str] = set()
    for index, item in enumerate(items):
        where = f"metrics[{index}]"
        if not isinstance(item, dict):
            rec.fail(f"{where} must be an object")
            continue
        name = item.get("name")
        if not isinstance(name, str) or not IDENTIFIER.fullmatch(name):
            rec.fail(f"{where}.name must be a metric name (letters, digits, _ . - ...)")
            continue
        if name in names:
            rec.fail(f"{where}: metric {name!r} is declared twice")
            continue
        names.add(name)
        kinds = [k for k in METRIC_KINDS if k in item]
        if len(kinds) != 1:
            rec.fail(f"{where} ({name}) must have exactly one of {KIND_NAMES} (a cell filter)")
            continue
        kind = kinds[0]
        where_filter = _cell_filter(rec, item[kind], f"{where}.{kind}")
        among = _cell_filter(rec, item.get("among", {}), f"{where}.among")
        if "among" in item and not METRIC_KINDS[kind].takes_among:
            rec.fail(f"{where} ({name}): 'among' only applies to a rate")
        splits = item.get("splits")
        if splits is not None and (
            not isinstance(splits, list)
            or not splits
            or not all(isinstance(s, str) for s in splits)
        ):
            rec.fail(f"{where}.splits must be a non-empty array of split names")
            splits = None
        unknown = set(item) - {"name", *METRIC_KINDS, "among", "splits", "description"}
        if unknown:
            rec.fail(f"{where} ({name}) has unknown field(s): {', '.join(sorted(unknown))}")
        if where_filter is not None and among is not None:
            metrics.append(
                MetricSpec(
                    name=name,
                    kind=kind,
                    where=where_filter,
                    among=among,
                    splits=tuple(splits) if splits else None,
                )
            )
    if not items and rec.has("metrics") and isinstance(rec.raw("metrics"), list):
        rec.fail(
            "field 'metrics' must declare at least one metric (or be left out for the defaults)"
        )
    return tuple(metrics)


def _labels(value: Any) -> tuple[str, ...] | None:
    if isinstance(value, str) and value:
        return (value,)
    if isinstance(value, list) and value and all(isinstance(v, str) and v for v in value):
        return tuple(value)
    return None


def _cell_filter(rec: Record, doc: Any, where: str) -> CellFilter | None:
    if not isinstance(doc, dict):
        rec.fail(f"{where} must be an object with 'expected', 'predicted' and/or 'correct'")
        return None
    unknown = set(doc) - {"expected", "predicted", "correct"}
    if unknown:
        rec.fail(f"{where} has unknown field(s): {', '.join(sorted(unknown))}")
        return None
    expected = predicted = None
    if "expected" in doc:
        expected = _labels(doc["expected"])
        if expected is None:
            rec.fail(f"{where}.expected must be a route label or an array of labels")
            return None
    if "predicted" in doc:
        predicted = _labels(doc["predicted"])
        if predicted is None:
            rec.fail(f"{where}.predicted must be a route label or an array of labels")
            return None
    correct = doc.get("correct")
    if "correct" in doc and not isinstance(correct, bool):
        rec.fail(f"{where}.correct must be true or false")
        return None
    return CellFilter(expected=expected, predicted=predicted, correct=correct)


_PREDICATE = re.compile(
    r"^\s*(delta\([A-Za-z0-9_][A-Za-z0-9_.:@/+-]*\)|[A-Za-z0-9_][A-Za-z0-9_.:@/+-]*)"
    r"\s*(==|!=|<=|>=|<|>)\s*(\S+)\s*$"
)  # `delta(rate)`: a guardrail on the paired difference (review/delta_guardrails.py)


def parse_predicate(text: str) -> tuple[str, str, float] | None:
    """Parse `metric OP number`, e.g. `unsafe_claim_served == 0`; None if it is not one."""
    match = _PREDICATE.fullmatch(text)
    if match is None:
        return None
    try:
        number = float(match.group(3))
    except ValueError:
        return None
    if number != number or number in (float("inf"), float("-inf")):
        return None
    return match.group(1), match.group(2), number


def _parse_guardrails(rec: Record, metrics: tuple[MetricSpec, ...]) -> tuple[Guardrail, ...]:
    declared = {m.name for m in metrics}
    if not rec.has("guardrails"):
        missing = {g.metric for g in DEFAULT_GUARDRAILS} - declared
        if missing and metrics:
            rec.fail(
                "field 'guardrails' is missing and the default guardrails need metric(s) "
                f"{', '.join(sorted(missing))}; declare the suite's guardrails"
            )
            return ()
        return DEFAULT_GUARDRAILS
    guardrails: list[Guardrail] = []
    for index, item in enumerate(rec.array("guardrails")):
        where = f"guardrails[{index}]"
        if not isinstance(item, dict) or not isinstance(item.get("require"), str):
            rec.fail(
                f"{where} must be an object with 'require' (e.g. \"unsafe_claim_served == 0\")"
            )
            continue
        parsed = parse_predicate(item["require"])
        if parsed is None:
            rec.fail(
                f"{where}.require {item['require']!r} must read 'METRIC OP NUMBER' with OP one of "
                + " ".join(GUARDRAIL_OPERATORS)
            )
            continue
        metric, op, value = parsed
        if metric.startswith("delta("):
            if metric != "delta(exact_route_rate)" or "exact_route_rate" not in declared:
                rec.fail(
                    f"{where}: a paired-difference guardrail is written on the paired rate, "
                    "delta(exact_route_rate), which the suite must declare"
                )
                continue
            if op not in (">=", ">", "<=", "<"):
                rec.fail(f"{where}: delta(...) takes >=, >, <= or <, not {op}")
                continue
        elif metric not in declared:
            rec.fail(f"{where}: metric {metric!r} is not declared in 'metrics'")
            continue
        status = item.get("status")
        if not isinstance(status, str) or not IDENTIFIER.fullmatch(status):
            rec.fail(f"{where}.status must be a status name such as REJECT_UNSAFE_SERVE")
            continue
        guardrails.append(Guardrail(metric=metric, op=op, value=value, status=status))
    return tuple(guardrails)


def declarations_from_json(
    metrics: list[Any], guardrails: list[Any], origin: str
) -> tuple[tuple[MetricSpec, ...], tuple[Guardrail, ...]]:
    """Rebuild metric and guardrail declarations stored as JSON (the manifest's own form)."""
    rec = Record({"metrics": metrics, "guardrails": guardrails}, origin)
    parsed_metrics = _parse_metrics(rec)
    parsed_guardrails = _parse_guardrails(rec, parsed_metrics)
    raise_collected(rec.errors)
    return parsed_metrics, parsed_guardrails


__all__ = ["declarations_from_json", "parse_predicate", "parse_suite", "split_field"]
