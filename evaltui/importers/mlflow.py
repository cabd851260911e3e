"""MLflow runs (file store `mlruns/` or the SQLite `mlflow.db` backend) with a predictions artifact.

Runs made by `mlflow.genai.evaluate` (MLflow 3) have no such table: their cases are the traces they
logged, judged by a scorer's assessment (`mlflow_genai`, `mlflow_traces`). What follows is about
predictions tables.

One run per MLflow run that logged a predictions table (`predictions*.csv|json|jsonl|parquet`,
the `eval_results_table.json` that `mlflow.evaluate` writes, or any table the run's
`mlflow.loggedArtifacts` tag records, as `log_table` does). The table's rows are the cases: the case
id column (`case_id`, `id`, ...), the expected label (`expected_route`, `expected`, `target`,
`label`, `y_true`, `ground_truth`, ...) and the predicted one (`route`, `pred`, `prediction`,
`y_pred`, `output`, ...). The route is the predicted label and the expected route the expected
one, so the run's metrics are recomputed from labels. When the table carries the per-row verdict
MLflow computed (a `<metric>/score` column of `mlflow.evaluate`, or a `correct`/`is_correct`
column, values in [0, 1]), that verdict judges the row: 1 routes it to the expected label, 0 to
the prediction (`INCORRECT` if it reads like the expected label), other values to `PARTIAL`. A table without an expected column gives
cases that expect `UNLABELED`: they load, and the `unlabeled_cases == 0` guardrail rejects the run
(nothing per case can be checked), rather than evaltui guessing labels.

The suite is the dataset input the run logged (name and digest) with the table's cases; runs on
the same dataset rows are comparable. The dataset `mlflow.evaluate` logs includes the predictions
column, so its digest differs between any two runs: it is kept as
`mlflow.evaluate_dataset_digest`, outside the contract, and the cases' fingerprint (questions and
targets) stands for the dataset. The evaluator is in the contract: `mlflow.verdict_column` and
`mlflow.evaluator_params` (the run's params named `eval*`, `judge*`, `grader*`, `scorer*`,
`metric*`). A run whose status is not FINISHED, or whose table covers fewer rows than its dataset,
is marked `incomplete`. Params, latest metrics and tags come over as logged (a
hard-coded `evaluation_sha` param stays the run's claim and is checked), with importer facts under
`mlflow.*` keys; registered model versions made from the run name the artifact (`models:/name/1`)
and their aliases are noted in tags.
"""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path, PurePosixPath
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from evaltui.contract.fingerprint import COMBINED_FIELD
from evaltui.contract.jsonio import decode_text, iter_jsonl, read_file_bytes, read_json_file
from evaltui.errors import InputError
from evaltui.importers.common import (
    BASE_GUARDRAILS,
    BASE_METRICS,
    EPOCH,
    EXPECTED_UNLABELED,
    ROUTE_CORRECT,
    ROUTE_INCORRECT,
    ROUTE_PARTIAL,
    ROUTE_UNSCORED,
    UNLABELED_GUARDRAIL,
    UNLABELED_METRIC,
    Imported,
    as_number,
    compact,
    from_unix,
    importing,
    run_doc,
    split_name,
    suite_doc,
)
from evaltui.importers.mlflow_genai import import_genai_run, is_genai_run
from evaltui.importers.mlflow_store import (
    MlflowRun,
    is_file_store,
    is_sqlite,
    read_file_store,
    read_sqlite,
)
from evaltui.importers.mlflow_traces import FileStoreTraces, Trace, sqlite_traces

TOOL = "mlflow"
COMPARISON_FIELDS = [
    COMBINED_FIELD,
    "mlflow.dataset_digest",
    "mlflow.verdict_column",
    "mlflow.evaluator_params",
]
# Per-row verdict columns, best first: `mlflow.evaluate` writes `<metric>/score`.
VERDICT_COLUMNS = ("correct", "is_correct", "exact_match", "accuracy", "match", "pass", "passed")
EVALUATOR_PARAM = re.compile(r"^(eval|judge|grader|scorer|metric)", re.I)
LOGGED_ARTIFACTS_TAG = "mlflow.loggedArtifacts"
METRICS = [*BASE_METRICS, UNLABELED_METRIC]
GUARDRAILS = [UNLABELED_GUARDRAIL, *BASE_GUARDRAILS]

ID_COLUMNS = ("case_id", "id", "example_id", "sample_id", "row_id", "request_id", "uid")
PREDICTED_COLUMNS = (
    "route",
    "pred",
    "prediction",
    "predicted",
    "predicted_label",
    "predictions",
    "y_pred",
    "output",
    "outputs",
    "answer",
    "response",
)
EXPECTED_COLUMNS = (
    "expected_route",
    "expected",
    "target",
    "targets",
    "label",
    "labels",
    "y_true",
    "ground_truth",
    "gold",
    "reference",
    "truth",
)
INPUT_COLUMNS = ("input", "inputs", "question", "prompt", "request", "text")
_INTEGRAL_FLOAT = re.compile(r"^(-?\d+)\.0+$")
PREDICTIONS_FILE = re.compile(
    r"(^|_)predictions?([_.-].*)?\.(csv|json|jsonl|parquet)$|^eval_results_table\.json$", re.I
)


def source_path(text: str) -> Path:
    """A path from what a user passes, including MLflow's `sqlite:///relative` and `sqlite:////abs`."""
    if text.startswith("sqlite:///"):
        return Path(text[len("sqlite:///") :])
    return Path(text)


def read_mlflow(source: Path) -> Imported:
    """Import every run with a predictions artifact from an mlruns folder, a project folder or mlflow.db."""
    if not source.exists():
        raise InputError(source, "no such file or folder")
    runs: list[MlflowRun] = []
    if source.is_file():
        if not is_sqlite(source):
            raise InputError(
                source,
                "not an MLflow store: expected an mlruns/ folder, a folder holding one, "
                "or an mlflow.db SQLite file",
            )
        runs = read_sqlite(source)
    else:
        found = False
        if (source / "mlflow.db").is_file():
            runs += read_sqlite(source / "mlflow.db")
            found = True
        for candidate in (source, source / "mlruns"):
            if candidate.is_dir() and is_file_store(candidate):
                runs += read_file_store(candidate)
                found = True
                break
        if not found:
            raise InputError(source, "no MLflow file store (mlruns/) or mlflow.db here")
    with importing(TOOL) as imported:
        file_traces = FileStoreTraces()
        for run in runs:
            _import_run(run, imported, file_traces)
        imported.require_runs(
            source, "MLflow run with a predictions artifact or mlflow.genai.evaluate traces"
        )
        return imported


def _import_run(run: MlflowRun, imported: Imported, file_traces: FileStoreTraces) -> None:
    if run.lifecycle_stage == "deleted":
        imported.skip(run.origin, f"run {run.run_id!r} is deleted")
        return
    if is_genai_run(run):
        _import_genai(run, imported, file_traces)
        return
    files = _artifact_files(run.artifact_dir)
    relative = _predictions_artifact(files) or _logged_table(run, files)
    if relative is None:
        where = "no artifact folder found on this machine" if run.artifact_dir is None else "none"
        imported.skip(
            run.origin,
            f"run {run.run_id!r} ({run.name or 'unnamed'!r}) has no predictions artifact "
            f"(predictions*.csv|json|jsonl|parquet, eval_results_table.json or a logged "
            f"table; {where})",
        )
        return
    assert run.artifact_dir is not None
    artifact = run.artifact_dir / relative
    rows = read_table(artifact)
    if not rows:
        raise InputError(artifact, "the predictions table has no rows")
    columns = list(rows[0])
    id_col = _pick(columns, ID_COLUMNS)
    pred_col = _pick(columns, PREDICTED_COLUMNS)
    expected_col = _pick(columns, EXPECTED_COLUMNS)
    input_col = _pick(columns, INPUT_COLUMNS)
    verdict_col = _verdict_column(rows, columns)
    if pred_col is None:
        raise InputError(
            artifact,
            f"no prediction column (one of {', '.join(PREDICTED_COLUMNS)}); found {', '.join(repr(c) for c in columns)}",
        )
    used = {id_col, pred_col, expected_col, input_col, verdict_col}

    cases: list[dict[str, Any]] = []
    results: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    for number, row in enumerate(rows, start=1):
        case_id = label_text(row.get(id_col)) if id_col else f"row-{number}"
        if not case_id:
            raise InputError(artifact, f"row {number}: empty {id_col!r}")
        if case_id in seen:
            raise InputError(
                artifact, f"row {number}: case id {case_id!r} repeats row {seen[case_id]}"
            )
        seen[case_id] = number
        expected = label_text(row.get(expected_col)) if expected_col else ""
        case: dict[str, Any] = {
            "case_id": case_id,
            "expected_route": expected or EXPECTED_UNLABELED,
        }
        if input_col is not None and row.get(input_col) not in (None, ""):
            case["input"] = row[input_col]
        cases.append(case)
        predicted = label_text(row.get(pred_col))
        result: dict[str, Any] = {"case_id": case_id, "route": predicted or ROUTE_UNSCORED}
        if verdict_col is not None:
            verdict = _verdict(row.get(verdict_col))
            result["route"] = _judged_route(verdict, expected, predicted)
            if verdict is not None:
                result["score"] = verdict
        if isinstance(row.get(pred_col), str) and len(row[pred_col]) > 64:
            result["output"] = row[pred_col]
        for column, key in (("score", "score"), ("latency_ms", "latency_ms")):
            number_value = as_number(row.get(column))
            if number_value is not None and key not in result:
                result[key] = number_value
        tokens = as_number(row.get("tokens"))
        if tokens is not None and tokens.is_integer():
            result["tokens"] = int(tokens)
        extra = {
            k: v
            for k, v in row.items()
            if k not in used and k not in ("score", "latency_ms", "tokens")
        }
        if extra:
            result["metadata"] = extra
        results.append(result)

    dataset = _dataset(run)
    task = dataset.name if dataset else run.experiment
    split = split_name(dataset.context if dataset else None) or "predictions"
    description = f"MLflow {'dataset ' + dataset.name if dataset else 'experiment ' + run.experiment}: {len(cases)} case(s)"
    suite = suite_doc(
        TOOL,
        task,
        split,
        cases,
        description=description,
        comparison_fields=COMPARISON_FIELDS,
        metrics=METRICS,
        guardrails=GUARDRAILS,
    )
    params: dict[str, Any] = {
        **run.params,
        "mlflow.run_id": run.run_id,
        "mlflow.experiment_id": run.experiment_id,
        "mlflow.status": run.status,
        "mlflow.predictions": relative,
        "mlflow.case_id_column": id_col,
        "mlflow.predicted_column": pred_col,
        "mlflow.expected_column": expected_col,
    }
    evaluator = {k: v for k, v in run.params.items() if EVALUATOR_PARAM.match(k)}
    params["mlflow.verdict_column"] = verdict_col
    params["mlflow.evaluator_params"] = compact(evaluator) if evaluator else None
    with_predictions = dataset is not None and _schema_has(dataset, pred_col)
    if dataset is not None:
        digest_key = (
            "mlflow.evaluate_dataset_digest" if with_predictions else "mlflow.dataset_digest"
        )
        params.update(
            {
                "mlflow.dataset": dataset.name,
                digest_key: dataset.digest,
                "mlflow.dataset_source": dataset.source,
                "mlflow.dataset_context": dataset.context,
            }
        )
    if len(run.datasets) > 1:
        params["mlflow.datasets"] = [
            {"name": d.name, "digest": d.digest, "context": d.context} for d in run.datasets
        ]
    tags: dict[str, Any] = {
        **run.tags,
        "imported_from": TOOL,
        "mlflow.backend": "sqlite" if run.origin.is_file() else "file store",
    }
    if run.models:
        tags["mlflow.model_versions"] = ", ".join(f"{m.name}/{m.version}" for m in run.models)
        aliases = [f"{m.name}@{a}" for m in run.models for a in m.aliases]
        if aliases:
            tags["mlflow.aliases"] = ", ".join(aliases)
    model = run.models[0] if run.models else None
    artifact_name = (
        f"models:/{model.name}/{model.version}" if model else (run.name or f"runs:/{run.run_id}")
    )
    doc = run_doc(
        run_id=f"{TOOL}:{run.run_id}",
        experiment=run.experiment,
        artifact=artifact_name,
        suite=suite,
        started_at=from_unix((run.start_time_ms or 0) / 1000.0) or EPOCH,
        params=params,
        metrics=run.metrics,
        tags=tags,
        cases=results,
        artifacts=files[:200],
        incomplete=_incomplete(run, dataset, len(cases)),
    )
    imported.add(suite, doc, run.origin, _notes(run, expected_col, dataset, len(cases), relative))


def _traces(run: MlflowRun, file_traces: FileStoreTraces) -> list[Trace]:
    if run.origin.is_file():
        return sqlite_traces(run.origin, run.run_id)
    return file_traces.for_run(run)


def _import_genai(run: MlflowRun, imported: Imported, file_traces: FileStoreTraces) -> None:
    """A run `mlflow.genai.evaluate` made: its traces are the cases (see `mlflow_genai`)."""
    traces = _traces(run, file_traces)
    if not traces:
        imported.skip(
            run.origin,
            f"run {run.run_id!r} ({run.name or 'unnamed'!r}) is an mlflow.genai.evaluate run "
            "without traces in this store",
        )
        return
    dataset = _dataset(run)
    evaluator = {k: v for k, v in run.params.items() if EVALUATOR_PARAM.match(k)}
    import_genai_run(
        run,
        traces,
        imported,
        dataset=dataset,
        evaluator_params=compact(evaluator) if evaluator else None,
        with_outputs=dataset is not None and _schema_has(dataset, "outputs"),
        tool=TOOL,
    )


def _verdict_column(rows: list[dict[str, Any]], columns: list[str]) -> str | None:
    """The column holding MLflow's per-row verdict (see the module docstring), if any."""
    by_metric = {
        c.lower().removesuffix("/score"): c for c in columns if c.lower().endswith("/score")
    }
    plain = {c.lower(): c for c in columns}
    candidates = [by_metric.get(name) or plain.get(name) for name in VERDICT_COLUMNS]
    if len(by_metric) == 1:
        candidates.append(next(iter(by_metric.values())))
    for column in candidates:
        if column is None:
            continue
        values = [_verdict(row.get(column)) for row in rows if row.get(column) not in (None, "")]
        if values and all(v is not None for v in values):
            return column
    return None


def _verdict(value: Any) -> float | None:
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return 1.0 if value.strip().lower() == "true" else 0.0
    number = as_number(value)
    return number if number is not None and 0.0 <= number <= 1.0 else None


def _judged_route(verdict: float | None, expected: str, predicted: str) -> str:
    if verdict is None:
        return ROUTE_UNSCORED
    if verdict == 1.0:
        return expected or ROUTE_CORRECT
    if verdict == 0.0:
        return predicted if predicted and predicted != expected else ROUTE_INCORRECT
    return ROUTE_PARTIAL


def _schema_has(dataset: Any, column: str) -> bool:
    """Whether the dataset's column spec lists `column` (the dataset then holds predictions)."""
    try:
        spec = json.loads(dataset.schema or "{}")
    except (ValueError, RecursionError):
        return False
    cols = spec.get("mlflow_colspec") if isinstance(spec, dict) else None
    return isinstance(cols, list) and any(
        isinstance(c, dict) and c.get("name") == column for c in cols
    )


def _incomplete(run: MlflowRun, dataset: Any, n: int) -> str | None:
    if run.status != "FINISHED":
        return f"MLflow run status {run.status}"
    rows = _dataset_rows(dataset)
    if rows is not None and n < rows:
        return f"the predictions cover {n} of the {rows} rows of dataset {dataset.name}"
    return None


def _dataset_rows(dataset: Any) -> int | None:
    if dataset is None or not dataset.profile:
        return None
    try:
        rows = json.loads(dataset.profile).get("num_rows")
    except (ValueError, AttributeError, RecursionError):
        return None
    return rows if isinstance(rows, int) and not isinstance(rows, bool) else None


def _logged_table(run: MlflowRun, files: list[str]) -> str | None:
    """The first table the run's `mlflow.loggedArtifacts` tag records that is on disk."""
    try:
        logged = json.loads(run.tags.get(LOGGED_ARTIFACTS_TAG) or "[]")
    except (ValueError, RecursionError):
        return None
    present = set(files)
    for item in logged if isinstance(logged, list) else []:
        if isinstance(item, dict) and item.get("type") == "table":
            path = item.get("path")
            if isinstance(path, str) and path in present and path.lower().endswith(TABLE_SUFFIXES):
                return path
    return None


def _artifact_files(folder: Path | None) -> list[str]:
    """Every file in a run's artifact folder, as sorted relative paths (one walk per run)."""
    if folder is None:
        return []
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def _predictions_artifact(files: list[str]) -> str | None:
    """The predictions table among `files`, at most three levels deep."""
    paths = [PurePosixPath(f) for f in files]
    found = [p for p in paths if PREDICTIONS_FILE.search(p.name) and len(p.parts) <= 3]
    # Shallowest first; a file named exactly predictions.* before variants; then by path.
    found.sort(key=lambda p: (len(p.parts), p.stem.lower() != "predictions", p.name, p.parts))
    return found[0].as_posix() if found else None


def _dataset(run: MlflowRun) -> Any:
    if not run.datasets:
        return None
    for context in ("eval", "evaluation", "test", "validation"):
        for dataset in run.datasets:
            if (dataset.context or "").lower() == context:
                return dataset
    return run.datasets[0]


def _notes(
    run: MlflowRun, expected_col: str | None, dataset: Any, n: int, artifact: str
) -> list[str]:
    notes = [f"cases from {artifact}"]
    if expected_col is None:
        notes.append(
            "no expected-label column: cases expect UNLABELED, so the run cannot pass review"
        )
    if run.status not in ("FINISHED",):
        notes.append(f"MLflow status {run.status}")
    rows = _dataset_rows(dataset)
    if rows is not None and rows != n:
        notes.append(f"the predictions cover {n} of the {rows} rows of dataset {dataset.name}")
    return notes


# -- predictions tables -----------------------------------------------------------------------------


TABLE_SUFFIXES = (".csv", ".json", ".jsonl", ".parquet")


def read_table(path: Path) -> list[dict[str, Any]]:
    """Rows of a CSV, JSON (records, columns/data, or columns of lists), JSONL or Parquet table."""
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        return _parquet_rows(path)
    if suffix == ".csv":
        text = decode_text(read_file_bytes(path), path)
        if not text.strip():
            raise InputError(path, "file is empty")
        return _csv_rows(text, path)
    if suffix == ".jsonl":
        rows = [value for _, value in iter_jsonl(path, strict=False)]
    else:
        doc = read_json_file(path, strict=False)
        rows = _json_rows(doc, path)
    for index, row in enumerate(rows):
        if not isinstance(row, dict):
            raise InputError(path, f"row {index + 1} is not an object")
    return rows


def _parquet_rows(path: Path) -> list[dict[str, Any]]:
    try:
        table = pq.read_table(path)
    except (pa.ArrowException, OSError) as exc:
        raise InputError(
            path, f"not a readable Parquet table: {str(exc).splitlines()[0]}"
        ) from None
    return table.to_pylist()


def _csv_rows(text: str, path: Path) -> list[dict[str, Any]]:
    """CSV rows as dicts (as csv.DictReader makes them: blank rows skipped, missing cells None);
    a row with more cells than the header is an error rather than a column without a name."""
    reader = csv.reader(io.StringIO(text, newline=""))
    rows: list[dict[str, Any]] = []
    try:
        header = next(reader, [])
        for cells in reader:
            if not cells:
                continue
            if len(cells) > len(header):
                raise InputError(
                    path,
                    f"this row has {len(cells)} cells but the header names {len(header)} "
                    "(quote cells that hold commas)",
                    reader.line_num,
                )
            rows.append(
                {name: (cells[i] if i < len(cells) else None) for i, name in enumerate(header)}
            )
    except csv.Error as exc:
        raise InputError(path, f"invalid CSV: {exc}", reader.line_num) from None
    return rows


def _json_rows(doc: Any, path: Path) -> list[Any]:
    if isinstance(doc, list):
        return doc
    if (
        isinstance(doc, dict)
        and isinstance(doc.get("columns"), list)
        and isinstance(doc.get("data"), list)
    ):
        columns = [str(c) for c in doc["columns"]]
        return [
            dict(zip(columns, row, strict=False)) for row in doc["data"] if isinstance(row, list)
        ]
    if isinstance(doc, dict) and doc and all(isinstance(v, list | dict) for v in doc.values()):
        by_column = {k: list(v.values()) if isinstance(v, dict) else v for k, v in doc.items()}
        length = max(len(v) for v in by_column.values())
        return [
            {k: (v[i] if i < len(v) else None) for k, v in by_column.items()} for i in range(length)
        ]
    raise InputError(
        path, "not a table: expected a list of rows, {columns, data}, or columns of values"
    )


def _pick(columns: list[str], names: tuple[str, ...]) -> str | None:
    lowered = {c.lower(): c for c in columns}
    for name in names:
        if name in lowered:
            return lowered[name]
    return None


def label_text(value: Any) -> str:
    """A cell as a route label: strings stripped, integral numbers without '.0', others as JSON.

    pandas writes an integer column as `1` and a float column as `1.0`; both are the label `1`.
    """
    if value is None:
        return ""
    if isinstance(value, str):
        text = value.strip()
        return _INTEGRAL_FLOAT.sub(r"\1", text)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return compact(value)
