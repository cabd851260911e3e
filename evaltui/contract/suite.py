"""Suite manifests: parsing, case validation, metric and guardrail declarations, fingerprints.

Suite cases are the contract itself, so they are read exactly as written (JSON values, not a
database's idea of them) and encoded once; the encodings go to the store with the cases. Both
happen in bulk, over an Arrow table per split (see `fingerprint.encode_table`).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evaltui.contract.fields import IDENTIFIER, Record
from evaltui.contract.fingerprint import (
    ENCODE_SLICE,
    NotJson,
    case_order,
    digest_table,
    encode_case,
    encode_table,
    split_field,
)
from evaltui.contract.jsonio import (
    decode_text,
    describe_type,
    iter_jsonl,
    parse_json_text,
    read_file_bytes,
)
from evaltui.contract.metric_kinds import METRIC_KINDS
from evaltui.contract.model import (
    DEFAULT_COMPARISON_FIELDS,
    DEFAULT_GUARDRAILS,
    DEFAULT_METRICS,
    FORMAT_VERSION,
    GUARDRAIL_OPERATORS,
    KIND_SUITE,
    CellFilter,
    Digest,
    EncodedCases,
    Guardrail,
    MetricSpec,
    Split,
    Suite,
)
from evaltui.contract.paths import resolve_case_file
from evaltui.errors import InputError, InputErrors, first_line, raise_collected
from evaltui.plural import agree, count
from evaltui.progress import showing
from evaltui.safe_files import open_regular

if TYPE_CHECKING:
    import pyarrow as pa

KIND_NAMES = " or ".join(f"'{name}'" for name in METRIC_KINDS)  # 'count' or 'rate'

SPLIT_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
OPTIONAL_STRING_FIELDS = ("slice_name", "evidence_state", "source")
_MAX_ERRORS = 20


def parse_suite(
    doc: Any,
    path: Path,
    root: Path,
    *,
    allow_outside: bool = False,
    encoded: Mapping[str, EncodedCases] | None = None,
) -> Suite:
    """Validate a suite manifest and read its cases; raise InputError(s) on any problem.

    `encoded`: splits an importer has already checked and encoded, by the file name the manifest
    gives them (they are not read from that file).
    """
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
    cluster = manifest_cluster_field(rec)
    raise_collected(rec.errors)

    splits = [
        _read_split(name, source, path, root, allow_outside, encoded or {})
        for name, source in splits_doc.items()
    ]
    _check_unique_across_splits(splits, path)
    metric_splits = {s for m in metrics for s in (m.splits or ())}
    unknown_splits = metric_splits - {s.name for s in splits}
    if unknown_splits:
        raise InputError(
            path,
            f"metrics refer to {count(len(unknown_splits), 'unknown split')}: "
            f"{', '.join(sorted(unknown_splits))}",
        )

    # one split: the suite's list of cases is the split's. The hashes run in the background
    # (`Digest.submit`, in this order): the loader inserts the cases meanwhile
    evaluation = splits[0].digest if len(splits) == 1 else Digest.submit(_evaluation_digest, splits)
    identity = {
        "suite_id": suite_id,
        "description": description,
        "metrics": [m.to_json() for m in metrics],
        "guardrails": [g.to_json() for g in guardrails],
        "comparison_fields": list(comparison or DEFAULT_COMPARISON_FIELDS),
    }
    return Suite(
        suite_id=suite_id,
        path=path,
        splits=tuple(splits),
        metrics=metrics,
        guardrails=guardrails,
        comparison_fields=comparison or DEFAULT_COMPARISON_FIELDS,
        evaluation=evaluation,
        content=Digest.submit(_content_sha, identity, splits, evaluation),
        description=description,
        cluster_field=cluster,
    )


def _content_sha(identity: dict[str, Any], splits: list[Split], evaluation: Digest) -> str:
    """The suite's identity: its declarations, its splits' fingerprints and its case list."""
    whole = {
        **identity,
        "splits": {s.name: s.fingerprint for s in splits},
        "cases_sha256": evaluation.value(),
    }
    return hashlib.sha256(
        json.dumps(whole, sort_keys=True, separators=(",", ":")).encode()
    ).hexdigest()


def manifest_cluster_field(rec: Record) -> str | None:
    """The manifest's `cluster_field` (None when it names none); a problem is recorded in `rec`."""
    cluster = rec.string("cluster_field", required=False) or None
    if cluster is not None and not IDENTIFIER.fullmatch(cluster):
        rec.fail(f"field 'cluster_field' is {cluster!r}: name a case field such as 'document_id'")
        return None
    return cluster


def manifest_cluster_field_of(path: Path) -> str | None:
    """The `cluster_field` a manifest file names now, None if it names none, names an invalid
    one, or cannot be read (only for migrating a version-3 store; reviews read the store)."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(doc, dict):
        return None
    rec = Record(doc, path, what="suite manifest")
    cluster = manifest_cluster_field(rec)
    return None if rec.errors else cluster


def _evaluation_digest(splits: list[Split]) -> str:
    import pyarrow as pa

    # (a split kept on disk is read here: an importer's bulk splits are one per suite)
    tables = [split.case_table(["case_id", "canonical"]) for split in splits]
    # splits whose id ranges follow one another (a common layout) then need no sort
    tables.sort(key=lambda t: t.column("case_id")[0].as_py())
    return digest_table(
        pa.chunked_array([c for t in tables for c in t.column("case_id").chunks], pa.string()),
        pa.chunked_array([c for t in tables for c in t.column("canonical").chunks], pa.string()),
    )


# -- splits and cases ---------------------------------------------------------------------------
#
# A split's cases become one Arrow table and are checked and encoded column by column: Parquet
# files never become Python objects at all, JSON cases (already Python values) go into Arrow in
# one conversion (a JSON Lines file: one per batch of lines, so memory follows the batch). Only
# when a check fails does anything look at single cases, to name them.


class _Places:
    """How a row (0-based, in file order) is named in messages: a line, a row or an index."""

    def __init__(self, path: Path, noun: str, label: Any, lines: list[int] | None = None):
        self.path = path
        self.noun = noun  # "line", "row" or "case"
        self._label = label
        self._lines = lines

    def error(self, row: int, message: str) -> InputError:
        if self._lines is not None:
            return InputError(self.path, message, self._lines[row])
        return InputError(self.path, f"{self.name(row)}: {message}")

    def name(self, row: int) -> str:
        if self._lines is not None:
            return f"line {self._lines[row]}"
        return str(self._label(row))


def _read_split(
    name: str,
    source: Any,
    path: Path,
    root: Path,
    allow_outside: bool,
    encoded: Mapping[str, EncodedCases],
) -> Split:
    """The split, its cases checked and encoded (their digest is computed in the background)."""
    if not SPLIT_NAME.fullmatch(name) or name == "evaluation":
        raise InputError(
            path,
            f"split name {name!r} must start with a letter and use letters, digits and _ "
            "('evaluation' is reserved for the combined fingerprint)",
        )
    ready = encoded.get(source) if isinstance(source, str) else None
    if ready is not None and ready.count:
        return Split(name=name, cases=ready, digest=Digest.of(ready.digest), source=source)
    with showing(f"checking and encoding the cases of split {name!r}"):
        cases, label, where_path, source_path = _split_cases(
            name, source, path, root, allow_outside
        )
        if cases.num_rows == 0:
            raise InputError(where_path, f"split {name!r} has no cases")
    digest = Digest.submit(digest_table, cases.column("case_id"), cases.column("canonical"))
    return Split(name=name, cases=cases, digest=digest, source=label, source_path=source_path)


def _split_cases(
    name: str, source: Any, path: Path, root: Path, allow_outside: bool
) -> tuple[pa.Table, str, Path, Path | None]:
    """A split's cases as a table, its source label, the file to blame and the case file."""
    if isinstance(source, list):
        places = _Places(path, "case", lambda i: f"splits.{name}[{i}]")
        cases = _json_cases(source, places)
        label, where_path, source_path = "inline", path, None
    elif isinstance(source, str):
        case_file = resolve_case_file(source, path, root, allow_outside=allow_outside)
        if case_file.format == "jsonl":
            cases = _jsonl_cases(case_file.path)
        else:
            cases = _parquet_cases(case_file.path)
        label, where_path, source_path = case_file.declared, case_file.path, case_file.path
    else:
        raise InputError(
            path,
            f"split {name!r} must be an array of cases or a relative .jsonl/.parquet path, "
            f"found {describe_type(source)}",
        )
    return cases, label, where_path, source_path


JSONL_BATCH_BYTES = 8 << 20  # bytes of a JSON Lines split parsed and encoded at once


def _jsonl_cases(path: Path, batch_bytes: int | None = None) -> pa.Table:
    """A JSON Lines split's cases, read, checked and encoded a batch of lines at a time.

    Only one batch is ever held as Python values (the cases themselves are the Arrow table's
    columns), so memory follows the batch, not the file. Any problem in the file (bad UTF-8 or
    JSON, a case that fails a check, a case id repeated across batches) sends it to the
    whole-file reader, which names every problem as it always has; a valid file never goes there.
    """
    import pyarrow as pa

    try:
        tables = list(_jsonl_batches(path, batch_bytes or JSONL_BATCH_BYTES))
    except (InputError, InputErrors, UnicodeDecodeError, OSError):
        tables = None
    if tables:
        cases = pa.concat_tables(tables)
        if _repeated(cases.column("case_id")) is None:
            return cases
    values, lines = _jsonl_values(path)  # names the problem (raises)
    return _json_cases(values, _Places(path, "line", None, lines))


def _jsonl_batches(path: Path, batch_bytes: int) -> Iterator[pa.Table]:
    """Each batch of whole lines of a JSON Lines file, as checked and encoded cases."""
    number = 1  # the line number of the batch's first line
    with open_regular(path) as handle:
        first = True
        while chunk := handle.readlines(batch_bytes):
            data = b"".join(chunk)
            text = data.decode("utf-8-sig" if first else "utf-8")  # a bad byte: see above
            first = False
            lines = text.split("\n")
            if text.endswith("\n"):
                lines.pop()  # the empty remainder after the last newline
            numbered = [(number + i, line) for i, line in enumerate(lines) if line.strip()]
            number += len(lines)
            if not numbered:
                continue
            values = parse_json_text("[" + ",".join(line for _, line in numbered) + "]", path)
            if len(values) != len(numbered):
                raise InputError(path, "more than one value on a line")
            yield _json_cases(values, _Places(path, "line", None, [n for n, _ in numbered]))


def _jsonl_values(path: Path) -> tuple[list[Any], list[int]]:
    """Every value of a JSON Lines file, parsed as one array; and each value's line number."""
    data = read_file_bytes(path)
    if not data.strip():
        raise InputError(path, "file is empty")
    text = decode_text(data, path)
    lines = text.split("\n")
    numbered = [(n, line) for n, line in enumerate(lines, start=1) if line.strip()]
    try:
        values = parse_json_text("[" + ",".join(line for _, line in numbered) + "]", path)
        if len(values) != len(numbered):  # a line such as `1, 2` holds two values
            raise InputError(path, "more than one value on a line")
    except InputError:
        # name the first bad line exactly as the line-by-line reader does
        values = [value for _, value in iter_jsonl(path)]
    return values, [n for n, _ in numbered]


def _json_cases(values: list[Any], places: _Places) -> pa.Table:
    """Cases that are JSON values: check them and encode each with the per-case encoder."""
    import pyarrow as pa

    if set(map(type, values)) <= {dict}:
        try:
            stored = pa.array(values, _stored_struct())
        except (pa.ArrowException, UnicodeEncodeError):
            stored = None
    else:
        stored = None
    if stored is None:  # a case that is not an object, or a field of the wrong type: say which
        raise_collected(_json_case_problems(values, places))
        raise AssertionError("Arrow refused cases that pass every check")  # pragma: no cover
    table = pa.Table.from_struct_array(stored)
    raise_collected(_table_problems(table, places))
    canonical = pa.array(map(encode_case, values), pa.string(), size=len(values))
    raise_collected(_explicit_nulls(values, canonical, places))
    return table.append_column("canonical", canonical)


def _explicit_nulls(values: list[Any], canonical: pa.Array, places: _Places) -> list[InputError]:
    """Optional string fields written as `null` (Arrow reads them as absent; JSON says null).

    A field's `"key":null` can only appear in canonical text as that field or a nested one
    (inside a string its quotes would be escaped), so the texts narrow the search.
    """
    import pyarrow.compute as pc

    problems: list[InputError] = []
    for key in OPTIONAL_STRING_FIELDS:
        candidates = _indices(pc.match_substring(canonical, f'"{key}":null'))
        rows = [i for i in candidates if key in values[i] and values[i][key] is None]
        problems.extend(
            _grouped(
                rows,
                lambda row, key=key: (
                    f"case {values[row]['case_id']!r}: field {key!r} must be a string, found null"
                ),
                places,
            )
        )
    return problems


def _parquet_cases(path: Path) -> pa.Table:
    """Cases in a Parquet file: checked and encoded column by column, null meaning absent."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        # ParquetFile, not read_table (which imports pyarrow.dataset and pandas, ~0.4 s); in
        # batches of the encoder's slice, which is faster than one `read` here
        with pq.ParquetFile(path) as parquet:
            batches = list(parquet.iter_batches(batch_size=ENCODE_SLICE))
            table = (
                pa.Table.from_batches(batches) if batches else parquet.schema_arrow.empty_table()
            )
    except Exception as exc:  # pyarrow raises several types for corrupt files
        raise InputError(path, f"cannot read Parquet file: {first_line(exc)}") from None
    names = table.column_names
    repeated = sorted({n for n in names if names.count(n) > 1})
    raise_collected(
        [
            InputError(path, f"column {n!r} appears more than once (a case field is one column)")
            for n in repeated
        ]
        + [
            InputError(
                path,
                f"column {column.name!r} holds {column.type}, which has no JSON form (a suite "
                "case is a JSON object): store it as text, a number or a boolean",
            )
            for column in table.schema
            if not _json_type(column.type)
        ]
    )
    places = _Places(path, "row", lambda i: f"row {i + 1}")
    columns: dict[str, pa.ChunkedArray] = {}
    problems: list[InputError] = []
    wrong: list[tuple[str, list[int], str]] = []
    for key in STORED_FIELDS:
        if key not in names:
            columns[key] = pa.chunked_array([pa.nulls(table.num_rows, pa.string())])
            continue
        column = table.column(key)
        value_type = column.type.value_type if pa.types.is_dictionary(column.type) else column.type
        if pa.types.is_string(value_type) or pa.types.is_large_string(value_type):
            columns[key] = column.cast(pa.string())
            continue
        columns[key] = pa.chunked_array([pa.nulls(table.num_rows, pa.string())])
        wrong.append((key, _indices(column.is_valid()), _arrow_json_name(value_type)))
    stored = pa.table(columns)
    for key, rows, found in wrong:
        problems.extend(_field_type_problem(key, rows, found, stored.column("case_id"), places))
    problems.extend(_table_problems(stored, places, typed=problems))
    raise_collected(problems)
    try:
        canonical = encode_table(table)
    except NotJson as exc:
        column, rows = exc.column, exc.rows
        message = (
            f"field {column!r} holds NaN or infinity, which JSON cannot write; store null "
            "(the field is then absent) or a number"
        )
        raise_collected(_grouped(rows, lambda _row: message, places))
        raise  # pragma: no cover (raise_collected raised)
    # every column chunked alike (zero-copy): DuckDB inserts such a table about twice as fast
    cases = stored.append_column("canonical", canonical)
    return pa.Table.from_batches(cases.to_batches(), schema=cases.schema)


STORED_FIELDS = ("case_id", "expected_route", *OPTIONAL_STRING_FIELDS)
REQUIRED_FIELDS = ("case_id", "expected_route")


def _stored_struct() -> pa.DataType:
    import pyarrow as pa

    return pa.struct([(key, pa.string()) for key in STORED_FIELDS])


def _table_problems(
    table: pa.Table, places: _Places, typed: list[InputError] | None = None
) -> list[InputError]:
    """Set-based checks on the stored fields: required ones present and non-empty, ids unique."""
    import pyarrow.compute as pc

    problems: list[InputError] = []
    if typed:  # a column of the wrong type already explains those rows
        return problems
    for key in REQUIRED_FIELDS:
        column = table.column(key)
        missing = _indices(column.is_null())
        problems.extend(
            _grouped(
                missing,
                lambda _row, key=key: f"case is missing required field {key!r} (a string)",
                places,
            )
        )
        empty = _indices(pc.equal(column, ""))
        problems.extend(
            _grouped(
                empty,
                lambda _row, key=key: (
                    f"case field {key!r} must be a non-empty string, found an empty string"
                ),
                places,
            )
        )
    if problems:
        return problems
    repeated = _repeated(table.column("case_id"))
    if repeated is None:
        return problems
    first_id, more, others = repeated
    rows = _indices(pc.equal(table.column("case_id"), first_id))
    tail = ""
    if more:
        shown = ", ".join(repr(v) for v in others)
        verb = agree(more, "repeats", "repeat")
        tail = f"; {count(more, 'more case id')} {verb} ({shown}{', ...' if more > len(others) else ''})"
    problems.append(
        places.error(
            rows[1], f"duplicate case_id {first_id!r} (first at {places.name(rows[0])}){tail}"
        )
    )
    return problems


def _repeated(case_ids: Any) -> tuple[str, int, list[str]] | None:
    """The first case id that repeats, how many others do, and a few of them (by sorting)."""
    import pyarrow.compute as pc

    order = case_order(case_ids)
    ordered = case_ids if order is None else pc.take(case_ids, order)
    if len(ordered) < 2:
        return None
    same = pc.equal(ordered.slice(0, len(ordered) - 1), ordered.slice(1))
    if not pc.any(same).as_py():
        return None
    ids = pc.unique(pc.filter(ordered.slice(1), same))
    return ids[0].as_py(), len(ids) - 1, ids.slice(1, 4).to_pylist()


def _field_type_problem(
    key: str, rows: list[int], found: str, case_ids: pa.ChunkedArray, places: _Places
) -> list[InputError]:
    if key in REQUIRED_FIELDS:
        return _grouped(
            rows,
            lambda _row: f"case field {key!r} must be a non-empty string, found {found}",
            places,
        )

    def message(row: int) -> str:
        case_id = case_ids[row].as_py()
        case = f"case {case_id!r}: " if case_id else ""
        return f"{case}field {key!r} must be a string, found {found}"

    return _grouped(rows, message, places)


def _grouped(rows: list[int], message: Any, places: _Places) -> list[InputError]:
    """One error for a problem found in `rows`: the first row, and how many more share it."""
    if not rows:
        return []
    text = message(rows[0])
    if len(rows) > 1:
        others = ", ".join(places.name(r) for r in rows[1:4])
        more = len(rows) - 1
        text += f"; the same in {count(more, 'more ' + places.noun)} ({others}{', ...' if more > 3 else ''})"
    return [places.error(rows[0], text)]


def _indices(mask: Any) -> list[int]:
    import pyarrow as pa
    import pyarrow.compute as pc

    if isinstance(mask, pa.ChunkedArray):
        mask = mask.combine_chunks()
    return pc.indices_nonzero(pc.fill_null(mask, False)).to_pylist()


def _json_case_problems(values: list[Any], places: _Places) -> list[InputError]:
    """Walk JSON cases one by one (only after the bulk conversion refused them)."""
    found: dict[str, list[int]] = {}
    for row, case in enumerate(values):
        problem = _case_problem(case)
        if problem is not None:
            found.setdefault(problem, []).append(row)
    errors: list[InputError] = []
    for problem, rows in found.items():
        errors.extend(_grouped(rows, lambda _row, problem=problem: problem, places))
        if len(errors) >= _MAX_ERRORS:
            break
    return errors


def _case_problem(case: Any) -> str | None:
    if not isinstance(case, dict):
        return f"a case must be a JSON object, found {describe_type(case)}"
    for key in REQUIRED_FIELDS:
        value = case.get(key)
        if value is None:
            return f"case is missing required field {key!r} (a string)"
        if not isinstance(value, str) or not value:
            found = "an empty string" if value == "" else describe_type(value)
            return f"case field {key!r} must be a non-empty string, found {found}"
    for key in OPTIONAL_STRING_FIELDS:
        if key in case and not isinstance(case[key], str):
            return f"case {case['case_id']!r}: field {key!r} must be a string, found {describe_type(case[key])}"
    for key in STORED_FIELDS:
        if isinstance(case.get(key), str) and not _is_text(case[key]):
            return (
                f"case field {key!r} holds an unpaired surrogate escape (\\ud800 to \\udfff "
                "without its pair), which is not text"
            )
    return None


def _is_text(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _arrow_json_name(kind: Any) -> str:
    """What a value of this Arrow type is in JSON, for messages."""
    import pyarrow.types as t

    if t.is_boolean(kind):
        return "a boolean"
    if t.is_integer(kind) or t.is_floating(kind):
        return "a number"
    if t.is_struct(kind):
        return "an object"
    if t.is_list(kind) or t.is_large_list(kind) or t.is_fixed_size_list(kind):
        return "an array"
    return str(kind)


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


def _check_unique_across_splits(splits: list[Split], path: Path) -> None:
    import pyarrow as pa
    import pyarrow.compute as pc

    if len(splits) < 2:
        return
    ids = {s.name: s.case_table(["case_id"]).column("case_id") for s in splits}
    ordered = sorted(ids.values(), key=lambda column: column[0].as_py())
    repeated = _repeated(pa.chunked_array([c for col in ordered for c in col.chunks], pa.string()))
    if repeated is None:
        return
    case_id, more, _ = repeated
    owners = [s.name for s in splits if pc.any(pc.equal(ids[s.name], case_id)).as_py()]
    verb = agree(more, "is", "are")
    tail = f" ({count(more, 'more case id')} {verb} in two splits too)" if more else ""
    raise InputError(
        path,
        f"case_id {case_id!r} appears in splits {owners[0]!r} and {owners[-1]!r}; "
        f"case ids must be unique across the suite{tail}",
    )


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
            rec.fail(
                f"{where} ({name}) has {count(len(unknown), 'unknown field')}: {', '.join(sorted(unknown))}"
            )
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
        rec.fail(
            f"{where} has {count(len(unknown), 'unknown field')}: {', '.join(sorted(unknown))}"
        )
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


def _parse_guardrails(
    rec: Record, metrics: tuple[MetricSpec, ...], *, check_metrics: bool = True
) -> tuple[Guardrail, ...]:
    declared = {m.name for m in metrics}
    if not rec.has("guardrails"):  # left out: the worked example's guardrails, not "none"
        missing = {g.metric for g in DEFAULT_GUARDRAILS} - declared
        if missing and metrics:
            rec.fail(
                "field 'guardrails' is missing and the default guardrails need "
                f"{agree(len(missing), 'the metric', 'the metrics')} {', '.join(sorted(missing))}; "
                "declare the suite's guardrails"
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
        elif check_metrics and metric not in declared:
            rec.fail(f"{where}: metric {metric!r} is not declared in 'metrics'")
            continue
        status = item.get("status")
        if not isinstance(status, str) or not IDENTIFIER.fullmatch(status):
            rec.fail(f"{where}.status must be a status name such as REJECT_UNSAFE_SERVE")
            continue
        evidence = item.get("evidence", False)
        if not isinstance(evidence, bool):
            rec.fail(f"{where}.evidence must be true or false")
            continue
        guardrails.append(Guardrail(metric, op, value, status, evidence))
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


def parse_declarations(
    rec: Record,
) -> tuple[tuple[MetricSpec, ...] | None, tuple[Guardrail, ...] | None]:
    """A gates file's metrics and guardrails, each None when left out.

    Guardrails may name the suite's own metrics, which only the store knows: it checks them.
    """
    metrics = _parse_metrics(rec) if rec.has("metrics") else None
    guardrails = (
        _parse_guardrails(rec, metrics or (), check_metrics=False)
        if rec.has("guardrails")
        else None
    )
    return metrics, guardrails


__all__ = [
    "declarations_from_json",
    "parse_declarations",
    "parse_predicate",
    "parse_suite",
    "split_field",
]
