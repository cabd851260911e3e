"""Reading MLflow 3 traces and their assessments without the mlflow package.

`mlflow.genai.evaluate` records one trace per evaluated row and logs on it one assessment per
scorer (a *feedback*: value, rationale or error) and per expected value (an *expectation*). Both
tracking stores are read, as MLflow 3.17 writes them:

- file store: `mlruns/<experiment>/traces/<trace id>/` with `trace_info.yaml`,
  `request_metadata/<key>` (one file per key: `mlflow.sourceRun` names the run that made the
  trace), `assessments/<assessment id>.yaml` and `artifacts/traces.json` (the spans);
- SQLite: the tables `trace_info`, `trace_request_metadata`, `assessments`, `spans` (the spans'
  JSON, in recent MLflow 3 releases; older ones kept `traces.json` in the artifact store, read
  where the trace's `mlflow.artifactLocation` tag points inside the project folder), `trace_tags`
  and `entity_associations` (trace -> run links).

A trace belongs to a run when its `mlflow.sourceRun` is the run, when the store links it to the
run, or when one of its assessments says it was made by the run (`mlflow.assessment.sourceRunId`,
as when `mlflow.genai.evaluate` scores traces that existed before). The row's inputs and outputs
are the root span's (complete); MLflow's metadata copies (`mlflow.traceInputs`, 250 characters)
and previews (1,000) are used only when the spans are not on this machine.

Every file or value read is size-limited (`MAX_*` below); anything damaged is one `InputError`.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evaltui.contract.jsonio import decode_text, parse_json_bytes, parse_json_text, read_file_bytes
from evaltui.errors import InputError
from evaltui.importers.mlflow_store import (
    SQLITE_TIME_LIMIT,
    MlflowRun,
    check_plain_tables,
    local_dir,
    read_yaml,
    time_limited,
)

MAX_METADATA_BYTES = 1 << 20  # one request_metadata file (MLflow keeps them under 250 chars)
MAX_SPANS_BYTES = 64 << 20  # one trace's spans: traces.json, or a span's JSON in the database
MAX_TRACES = 100_000  # traces read for one run
SOURCE_RUN = "mlflow.sourceRun"
SOURCE_RUN_ID = "mlflow.assessment.sourceRunId"
SCORER_DIGEST = "mlflow.assessment.scorerDigest"
TRACE_TABLES = (
    "trace_info",
    "trace_request_metadata",
    "assessments",
    "spans",
    "entity_associations",
    "trace_tags",
)


@dataclass
class Assessment:
    name: str
    kind: str  # "feedback" or "expectation"
    value: Any  # the JSON value MLflow logged (None when the scorer failed)
    error: str | None = None  # "<code>: <message>" of a failed scorer
    rationale: str | None = None
    source: str | None = None  # "<source type>:<source id>", e.g. "CODE:exact_match"
    run_id: str | None = None  # the run that logged it
    scorer_digest: str | None = None
    created: str = ""  # for ordering two assessments of one name (ISO time or epoch ms)


@dataclass
class Trace:
    trace_id: str
    state: str  # OK, ERROR, IN_PROGRESS
    request_time: str
    duration_ms: float | None
    origin: Path  # the trace's folder, or the database
    source_run: str | None = None
    linked_runs: set[str] = field(default_factory=set)
    inputs: Any = None
    outputs: Any = None
    inputs_complete: bool = True  # False when only MLflow's truncated copy was found
    assessments: list[Assessment] = field(default_factory=list)

    def belongs_to(self, run_id: str) -> bool:
        return (
            self.source_run == run_id
            or run_id in self.linked_runs
            or any(a.run_id == run_id for a in self.assessments)
        )


# -- file store -----------------------------------------------------------------------------------


class FileStoreTraces:
    """The traces of file-store experiments, read once per experiment (spans only when asked)."""

    def __init__(self) -> None:
        self._by_experiment: dict[Path, list[Trace]] = {}

    def for_run(self, run: MlflowRun) -> list[Trace]:
        exp_dir = run.origin.parent
        if exp_dir not in self._by_experiment:
            self._by_experiment[exp_dir] = _experiment_traces(exp_dir / "traces")
        traces = [t for t in self._by_experiment[exp_dir] if t.belongs_to(run.run_id)]
        for trace in traces:
            if not trace.inputs_complete:
                _file_store_spans(trace)
        return traces


def _experiment_traces(folder: Path) -> list[Trace]:
    if not folder.is_dir():
        return []
    traces: list[Trace] = []
    for trace_dir in sorted(c for c in folder.iterdir() if c.is_dir()):
        info_path = trace_dir / "trace_info.yaml"
        if not info_path.is_file():
            continue
        if len(traces) >= MAX_TRACES:
            raise InputError(folder, f"more than {MAX_TRACES:,} traces in one experiment")
        info = _mapping(read_yaml(info_path), info_path)
        metadata = _metadata_files(trace_dir / "request_metadata")
        trace = Trace(
            trace_id=_text(info.get("trace_id")) or trace_dir.name,
            state=_text(info.get("state")) or "OK",
            request_time=_text(info.get("request_time")) or "",
            duration_ms=_number(info.get("execution_duration_ms")),
            origin=trace_dir,
            source_run=metadata.get(SOURCE_RUN),
        )
        _fallback_io(trace, metadata, info.get("request_preview"), info.get("response_preview"))
        folder_a = trace_dir / "assessments"
        if folder_a.is_dir():
            for path in sorted(folder_a.glob("*.yaml")):
                trace.assessments.append(_file_assessment(_mapping(read_yaml(path), path), path))
        traces.append(trace)
    return traces


def _file_assessment(doc: dict[str, Any], path: Path) -> Assessment:
    name = _text(doc.get("assessment_name"))
    if name is None:
        raise InputError(path, "an assessment without 'assessment_name'")
    if isinstance(doc.get("feedback"), dict):
        kind, body = "feedback", doc["feedback"]
    elif isinstance(doc.get("expectation"), dict):
        kind, body = "expectation", doc["expectation"]
    else:
        raise InputError(path, f"assessment {name!r} has neither 'feedback' nor 'expectation'")
    value = body.get("value")
    if kind == "expectation" and isinstance(body.get("serialized_value"), dict):
        value = _serialized(body["serialized_value"], path)
    source: dict[str, Any] = doc["source"] if isinstance(doc.get("source"), dict) else {}
    metadata: dict[str, Any] = doc["metadata"] if isinstance(doc.get("metadata"), dict) else {}
    if doc.get("valid") is False:
        kind = "invalid"
    return Assessment(
        name=name,
        kind=kind,
        value=value,
        error=_error(body.get("error")),
        rationale=_text(doc.get("rationale")),
        source=_source(source.get("source_type"), source.get("source_id")),
        run_id=_text(metadata.get(SOURCE_RUN_ID)) or _text(doc.get("run_id")),
        scorer_digest=_text(metadata.get(SCORER_DIGEST)),
        created=_text(doc.get("create_time")) or "",
    )


def _metadata_files(folder: Path) -> dict[str, str]:
    if not folder.is_dir():
        return {}
    out: dict[str, str] = {}
    for path in sorted(p for p in folder.iterdir() if p.is_file()):
        if path.name in (SOURCE_RUN, "mlflow.traceInputs", "mlflow.traceOutputs"):
            out[path.name] = decode_text(read_file_bytes(path, limit=MAX_METADATA_BYTES), path)
    return out


def _file_store_spans(trace: Trace) -> None:
    path = trace.origin / "artifacts" / "traces.json"
    if path.is_file():
        doc = parse_json_bytes(read_file_bytes(path, limit=MAX_SPANS_BYTES), path, strict=False)
        spans = doc.get("spans") if isinstance(doc, dict) else None
        if not isinstance(spans, list):
            raise InputError(path, "not an MLflow trace: no 'spans' list")
        _root_span_io(trace, [s for s in spans if isinstance(s, dict)], path)


# -- SQLite ---------------------------------------------------------------------------------------


def sqlite_traces(db: Path, run_id: str) -> list[Trace]:
    """The traces of one run in an mlflow.db (none if the database has no trace tables)."""
    try:
        con = sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise InputError(db, f"cannot open the SQLite database: {exc}") from None
    try:
        con.execute("PRAGMA trusted_schema = OFF")
        with time_limited(con, db, SQLITE_TIME_LIMIT):
            tables = check_plain_tables(con, db, TRACE_TABLES)
            if not {"trace_info", "assessments"} <= tables:
                return []
            return _sqlite_traces(con, db, run_id, tables)
    except sqlite3.DatabaseError as exc:
        raise InputError(db, f"cannot read the MLflow database: {exc}") from None
    finally:
        con.close()


def _sqlite_traces(con: sqlite3.Connection, db: Path, run_id: str, tables: set[str]) -> list[Trace]:
    candidates = [
        "SELECT trace_id FROM assessments WHERE instr(assessment_metadata, :run) > 0 "
        "OR run_id = :run"
    ]
    if "trace_request_metadata" in tables:
        candidates.append(
            "SELECT request_id FROM trace_request_metadata "
            f"WHERE key = '{SOURCE_RUN}' AND value = :run"
        )
    if "entity_associations" in tables:
        candidates.append(
            "SELECT source_id FROM entity_associations WHERE source_type = 'trace' "
            "AND destination_type = 'run' AND destination_id = :run"
        )
    con.execute("CREATE TEMP TABLE evaltui_traces (id TEXT PRIMARY KEY)")
    con.execute(
        f"INSERT OR IGNORE INTO evaltui_traces {' UNION '.join(candidates)} LIMIT {MAX_TRACES + 1}",
        {"run": run_id},
    )
    count = con.execute("SELECT count(*) FROM evaltui_traces").fetchone()[0]
    if count > MAX_TRACES:
        raise InputError(db, f"run {run_id!r} has more than {MAX_TRACES:,} traces")
    traces: dict[str, Trace] = {}
    for trace_id, time_ms, duration, state, request, response in con.execute(
        """SELECT t.request_id, t.timestamp_ms, t.execution_time_ms, t.status,
                  t.request_preview, t.response_preview
           FROM trace_info t JOIN temp.evaltui_traces c ON c.id = t.request_id
           ORDER BY t.timestamp_ms, t.request_id"""
    ):
        trace = Trace(
            trace_id=str(trace_id),
            state=str(state or "OK"),
            request_time=f"{time_ms:020d}" if isinstance(time_ms, int) else "",
            duration_ms=_number(duration),
            origin=db,
        )
        trace.inputs, trace.outputs = request, response  # replaced below when better is known
        traces[trace.trace_id] = trace
    metadata: dict[str, dict[str, str]] = {}
    if "trace_request_metadata" in tables:
        for trace_id, key, value in con.execute(
            f"""SELECT m.request_id, m.key,
                       CASE WHEN length(CAST(m.value AS BLOB)) > {MAX_METADATA_BYTES}
                            THEN NULL ELSE m.value END
                FROM trace_request_metadata m JOIN temp.evaltui_traces c ON c.id = m.request_id
                WHERE m.key IN ('{SOURCE_RUN}', 'mlflow.traceInputs', 'mlflow.traceOutputs')"""
        ):
            if isinstance(value, str):
                metadata.setdefault(trace_id, {})[key] = value
    if "entity_associations" in tables:
        for trace_id, linked in con.execute(
            """SELECT a.source_id, a.destination_id FROM entity_associations a
               JOIN temp.evaltui_traces c ON c.id = a.source_id
               WHERE a.source_type = 'trace' AND a.destination_type = 'run'"""
        ):
            if trace_id in traces:
                traces[trace_id].linked_runs.add(str(linked))
    for trace in traces.values():
        found = metadata.get(trace.trace_id, {})
        trace.source_run = found.get(SOURCE_RUN)
        request, response = trace.inputs, trace.outputs
        trace.inputs = trace.outputs = None
        _fallback_io(trace, found, request, response)
    for row in con.execute(
        f"""SELECT a.trace_id, a.name, a.assessment_type, a.value, a.error, a.rationale,
                   a.source_type, a.source_id, a.run_id, a.assessment_metadata, a.valid,
                   a.created_timestamp
            FROM assessments a JOIN temp.evaltui_traces c ON c.id = a.trace_id
            WHERE length(CAST(a.value AS BLOB)) + length(CAST(coalesce(a.error, '') AS BLOB))
                  + length(CAST(coalesce(a.rationale, '') AS BLOB))
                  + length(CAST(coalesce(a.assessment_metadata, '') AS BLOB))
                  <= {MAX_SPANS_BYTES}
            ORDER BY a.trace_id, a.created_timestamp, a.assessment_id"""
    ):
        if row[0] in traces:
            traces[row[0]].assessments.append(_sqlite_assessment(db, row))
    if "spans" in tables:
        for trace_id, content, size in con.execute(
            f"""SELECT s.trace_id,
                       CASE WHEN length(CAST(s.content AS BLOB)) > {MAX_SPANS_BYTES}
                            THEN NULL ELSE s.content END,
                       length(CAST(s.content AS BLOB))
                FROM spans s JOIN temp.evaltui_traces c ON c.id = s.trace_id
                WHERE s.parent_span_id IS NULL ORDER BY s.trace_id, s.start_time_unix_nano"""
        ):
            spanned = traces.get(trace_id)
            if spanned is None:
                continue
            where = f"{db}: trace {trace_id}"
            if content is None and isinstance(size, int) and size > MAX_SPANS_BYTES:
                raise InputError(
                    where, f"a span of {size:,} bytes; spans are limited to {MAX_SPANS_BYTES:,}"
                )
            content = _sql_text(content, where, "spans.content")
            if not content:
                raise InputError(where, "a span without content")
            span = parse_json_text(content, where, strict=False)
            if not isinstance(span, dict):
                raise InputError(where, "a span that is not a JSON object")
            _root_span_io(spanned, [span], db)
    _spans_in_artifacts(con, db, traces, tables)
    return list(traces.values())


def _spans_in_artifacts(
    con: sqlite3.Connection, db: Path, traces: dict[str, Trace], tables: set[str]
) -> None:
    """Spans MLflow kept in the artifact store (older MLflow 3 releases, `spansLocation` not set):
    the trace's `traces.json` where `mlflow.artifactLocation` points, inside the project folder."""
    missing = [t for t in traces.values() if not t.inputs_complete]
    if not missing or "trace_tags" not in tables:
        return
    locations = dict(
        con.execute(
            """SELECT g.request_id, g.value FROM trace_tags g
               JOIN temp.evaltui_traces c ON c.id = g.request_id
               WHERE g.key = 'mlflow.artifactLocation'"""
        ).fetchall()
    )
    project = db.resolve().parent
    for trace in missing:
        folder = local_dir(locations.get(trace.trace_id), project)
        if folder is not None and (folder / "traces.json").is_file():
            trace.origin = folder.parent
            _file_store_spans(trace)
            trace.origin = db


def _sqlite_assessment(db: Path, row: tuple[Any, ...]) -> Assessment:
    trace_id, name, kind, value, error, rationale, source_type, source_id, run_id = row[:9]
    metadata_text, valid, created = row[9:]
    where = f"{db}: trace {trace_id}, assessment {name!r}"
    name = _sql_text(name, where, "name")
    kind = _sql_text(kind, where, "assessment_type")
    if not name:
        raise InputError(where, "an assessment without a name")
    if kind not in ("feedback", "expectation"):
        raise InputError(where, f"assessment_type {kind!r}, expected feedback or expectation")
    metadata_text = _sql_text(metadata_text, where, "assessment_metadata")
    metadata = parse_json_text(metadata_text, where, strict=False) if metadata_text else {}
    if not isinstance(metadata, dict):
        raise InputError(where, "assessment_metadata is not a JSON object")
    error = _sql_text(error, where, "error")
    value = _sql_text(value, where, "value")
    return Assessment(
        name=name,
        kind=kind if valid not in (0, False) else "invalid",
        value=parse_json_text(value, where, strict=False) if value else None,
        error=_error(parse_json_text(error, where, strict=False) if error else None),
        rationale=_sql_text(rationale, where, "rationale") or None,
        source=_source(source_type, source_id),
        run_id=_text(metadata.get(SOURCE_RUN_ID)) or _text(run_id),
        scorer_digest=_text(metadata.get(SCORER_DIGEST)),
        created=f"{created:020d}" if isinstance(created, int) else "",
    )


def _sql_text(value: Any, where: str, column: str) -> str | None:
    """A text cell (None stays None); bytes or a number where MLflow writes text is refused."""
    if value is None or isinstance(value, str):
        return value
    raise InputError(where, f"column {column!r} holds {type(value).__name__}, not text")


# -- shared ---------------------------------------------------------------------------------------


def _root_span_io(trace: Trace, spans: list[dict[str, Any]], where: Path) -> None:
    """Inputs and outputs from the root span's attributes (JSON text, as MLflow writes them)."""
    for span in spans:
        if span.get("parent_span_id") not in (None, ""):
            continue
        attributes = span.get("attributes")
        if not isinstance(attributes, dict):
            return
        label = f"{where}: trace {trace.trace_id}"
        for key, attr in (("inputs", "mlflow.spanInputs"), ("outputs", "mlflow.spanOutputs")):
            raw = attributes.get(attr)
            if isinstance(raw, str):
                setattr(trace, key, parse_json_text(raw, label, strict=False))
        trace.inputs_complete = True
        return


def _fallback_io(trace: Trace, metadata: dict[str, str], request: Any, response: Any) -> None:
    """Inputs/outputs from MLflow's truncated copies, until the spans give the full ones."""
    trace.inputs_complete = False
    for key, copy, preview in (
        ("inputs", metadata.get("mlflow.traceInputs"), request),
        ("outputs", metadata.get("mlflow.traceOutputs"), response),
    ):
        for text in (copy, preview):
            if isinstance(text, str) and text:
                setattr(trace, key, _json_or_text(text))
                break


def _json_or_text(text: str) -> Any:
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return text


def _serialized(body: dict[str, Any], path: Path) -> Any:
    value = body.get("value")
    return parse_json_text(value, path, strict=False) if isinstance(value, str) else value


def _error(value: Any) -> str | None:
    if isinstance(value, dict):
        code = _text(value.get("error_code")) or "ERROR"
        message = _text(value.get("error_message")) or ""
        return f"{code}: {message}".strip().removesuffix(":")
    return _text(value) if value else None


def _source(kind: Any, source_id: Any) -> str | None:
    if kind is None and source_id is None:
        return None
    return f"{_text(kind) or '?'}:{_text(source_id) or '?'}"


def _mapping(doc: Any, path: Path) -> dict[str, Any]:
    if not isinstance(doc, dict):
        raise InputError(path, "not a mapping of MLflow trace fields")
    return doc


def _text(value: Any) -> str | None:
    if value is None or value == "":
        return None
    return value if isinstance(value, str) else str(value)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if value == value and abs(value) < 1e300 else None
