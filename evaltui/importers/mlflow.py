"""MLflow runs (file store `mlruns/` or the SQLite `mlflow.db` backend) with a predictions artifact.

One run per MLflow run that logged a predictions table (`predictions*.csv|json|jsonl`, or the
`eval_results_table.json` that `mlflow.evaluate` writes). The table's rows are the cases: the case
id column (`case_id`, `id`, ...), the expected label (`expected_route`, `expected`, `target`,
`label`, `y_true`, `ground_truth`, ...) and the predicted one (`route`, `pred`, `prediction`,
`y_pred`, `output`, ...). The route is the predicted label and the expected route the expected
one, so the run's metrics are recomputed from labels. A table without an expected column gives
cases that expect `UNLABELED`: they load, and the `unlabeled_cases == 0` guardrail rejects the run
(nothing per case can be checked), rather than evaltui guessing labels.

The suite is the dataset input the run logged (name and digest) with the table's cases; runs on
the same dataset rows are comparable. Params, latest metrics and tags come over as logged (a
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

from evaltui.contract.fingerprint import COMBINED_FIELD
from evaltui.contract.jsonio import decode_text, iter_jsonl, read_file_bytes, read_json_file
from evaltui.errors import InputError
from evaltui.importers.common import (
    BASE_GUARDRAILS,
    BASE_METRICS,
    EPOCH,
    EXPECTED_UNLABELED,
    ROUTE_UNSCORED,
    UNLABELED_GUARDRAIL,
    UNLABELED_METRIC,
    Imported,
    as_number,
    compact,
    from_unix,
    run_doc,
    split_name,
    suite_doc,
)
from evaltui.importers.mlflow_store import (
    MlflowRun,
    is_file_store,
    is_sqlite,
    read_file_store,
    read_sqlite,
)

TOOL = "mlflow"
COMPARISON_FIELDS = [COMBINED_FIELD, "mlflow.dataset_digest"]
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
    r"(^|_)predictions?([_.-].*)?\.(csv|json|jsonl)$|^eval_results_table\.json$", re.I
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
    imported = Imported(TOOL)
    for run in runs:
        _import_run(run, imported)
    imported.require_runs(source, "MLflow run with a predictions artifact")
    return imported


def _import_run(run: MlflowRun, imported: Imported) -> None:
    if run.lifecycle_stage == "deleted":
        imported.skip(run.origin, f"run {run.run_id!r} is deleted")
        return
    files = _artifact_files(run.artifact_dir)
    relative = _predictions_artifact(files)
    if relative is None:
        where = "no artifact folder found on this machine" if run.artifact_dir is None else "none"
        imported.skip(
            run.origin,
            f"run {run.run_id!r} ({run.name or 'unnamed'!r}) has no predictions artifact "
            f"(predictions*.csv|json|jsonl or eval_results_table.json; {where})",
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
    if pred_col is None:
        raise InputError(
            artifact,
            f"no prediction column (one of {', '.join(PREDICTED_COLUMNS)}); found {', '.join(repr(c) for c in columns)}",
        )
    used = {id_col, pred_col, expected_col, input_col}

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
        if isinstance(row.get(pred_col), str) and len(row[pred_col]) > 64:
            result["output"] = row[pred_col]
        for column, key in (("score", "score"), ("latency_ms", "latency_ms")):
            number_value = as_number(row.get(column))
            if number_value is not None:
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
    if dataset is not None:
        params.update(
            {
                "mlflow.dataset": dataset.name,
                "mlflow.dataset_digest": dataset.digest,
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
    )
    imported.add(suite, doc, run.origin, _notes(run, expected_col, dataset, len(cases), relative))


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
    if dataset is not None and dataset.profile:
        try:
            rows = json.loads(dataset.profile).get("num_rows")
        except (ValueError, AttributeError):
            rows = None
        if isinstance(rows, int) and rows != n:
            notes.append(f"the predictions cover {n} of the {rows} rows of dataset {dataset.name}")
    return notes


# -- predictions tables -----------------------------------------------------------------------------


def read_table(path: Path) -> list[dict[str, Any]]:
    """Rows of a CSV, JSON (records, columns/data, or columns of lists) or JSONL table."""
    suffix = path.suffix.lower()
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
