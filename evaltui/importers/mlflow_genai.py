"""MLflow GenAI evaluations: the runs `mlflow.genai.evaluate` makes (MLflow 3), one case per trace.

Such a run (tag `mlflow.runType` = `genai_evaluate`) logs no predictions table: each evaluated row
is a trace holding the row's inputs and the answer, with the scorers' values and the row's
expectations logged on it as assessments (`mlflow_traces` reads them).

- **Case**: one per trace; `case_id` = `r-` + a digest of the row's inputs, so the same rows give
  the same ids in every run and two runs pair in `compare` (MLflow writes no dataset record id on
  the trace). Rows with identical inputs get `~2`, `~3` in the order of their expectations.
  Fields: `inputs`, `expectations` (name -> value, as logged); the expected route is `CORRECT`.
- **Verdict**: the judging scorer's value on the trace: true / "yes" / "pass" `CORRECT`, false /
  "no" / "fail" `INCORRECT`; a number in [0, 1]: 1 `CORRECT`, 0 `INCORRECT`, between `PARTIAL`
  (the number is the score). No value (the scorer failed or did not run) `UNSCORED`; a trace that
  failed (state ERROR) without a value `ERROR`.
- **Judging scorer**: MLflow does not record the order scorers were given in, so names decide:
  scorers named like a correctness check come first (`CORRECTNESS_NAMES`), the others by name.
  The first whose every value is pass/fail (booleans, yes/no) judges; else the first whose every
  value is a number in [0, 1]; else none (every case `UNSCORED`). Every scorer's value, rationale
  and error stay in the result's metadata.
- **Evaluator**: `mlflow.scorer` (the judging scorer) and `mlflow.scorers` (each scorer's source
  and MLflow's digest of its definition) are comparison fields, with the dataset's digest.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from evaltui.contract.fingerprint import COMBINED_FIELD
from evaltui.importers.common import (
    BASE_GUARDRAILS,
    BASE_METRICS,
    EPOCH,
    EXACT_ROUTE_RATE,
    ROUTE_CORRECT,
    ROUTE_ERROR,
    ROUTE_INCORRECT,
    ROUTE_PARTIAL,
    ROUTE_UNSCORED,
    Imported,
    as_number,
    compact,
    from_unix,
    run_doc,
    split_name,
    suite_doc,
)
from evaltui.importers.mlflow_store import Dataset, MlflowRun
from evaltui.importers.mlflow_traces import Assessment, Trace
from evaltui.plural import count

RUN_TYPE_TAG = "mlflow.runType"
GENAI_RUN_TYPE = "genai_evaluate"
COMPARISON_FIELDS = [
    COMBINED_FIELD,
    "mlflow.dataset_digest",
    "mlflow.scorer",
    "mlflow.scorers",
    "mlflow.evaluator_params",
]
PASS_WORDS = {"yes": True, "true": True, "pass": True, "no": False, "false": False, "fail": False}
# Scorers named like a check of the answer against the expectations judge first, in this order
# (`correctness` is MLflow's built-in judge that compares the answer with the expected facts).
CORRECTNESS_NAMES = (
    "correctness",
    "correct",
    "is_correct",
    "exact_match",
    "accuracy",
    "match",
    "pass",
    "passed",
)
JUDGING_PASS_FAIL = "pass/fail"
JUDGING_UNIT = "score in [0, 1]"


def is_genai_run(run: MlflowRun) -> bool:
    return run.tags.get(RUN_TYPE_TAG) == GENAI_RUN_TYPE


def import_genai_run(
    run: MlflowRun,
    traces: list[Trace],
    imported: Imported,
    *,
    dataset: Dataset | None,
    evaluator_params: str | None,
    with_outputs: bool,
    tool: str,
) -> None:
    """One run record (and its suite) from the traces `mlflow.genai.evaluate` logged for `run`."""
    rows = [(trace, _own(trace, run.run_id)) for trace in traces]
    rows.sort(key=lambda r: (r[0].request_time, r[0].trace_id))
    scorers = _scorers(rows)
    judge, judging = _judge(rows, scorers)
    case_ids = _case_ids(rows)

    cases: list[dict[str, Any]] = []
    results: list[dict[str, Any]] = []
    judged_all = True
    for (trace, assessments), case_id in zip(rows, case_ids, strict=True):
        expectations = {
            a.name: a.value
            for a in sorted(assessments.values(), key=lambda a: a.name)
            if a.kind == "expectation"
        }
        case: dict[str, Any] = {"case_id": case_id, "expected_route": ROUTE_CORRECT}
        if trace.inputs is not None:
            case["inputs"] = trace.inputs
        if expectations:
            case["expectations"] = expectations
        cases.append(case)
        judged = assessments.get(judge) if judge else None
        route, score = _verdict(judged.value if judged else None)
        if route == ROUTE_UNSCORED:
            judged_all = False
            if trace.state == "ERROR":
                route = ROUTE_ERROR
        result: dict[str, Any] = {"case_id": case_id, "route": route}
        if score is not None:
            result["score"] = score
        if trace.outputs is not None:
            result["output"] = (
                trace.outputs if isinstance(trace.outputs, str) else compact(trace.outputs)
            )
        if trace.duration_ms is not None and trace.duration_ms >= 0:
            result["latency_ms"] = trace.duration_ms
        feedback = {
            a.name: _feedback_doc(a)
            for a in sorted(assessments.values(), key=lambda a: a.name)
            if a.kind == "feedback"
        }
        metadata: dict[str, Any] = {"trace_id": trace.trace_id}
        if feedback:
            metadata["scorers"] = feedback
        if trace.state != "OK":
            metadata["trace_state"] = trace.state
        if not trace.inputs_complete:
            metadata["inputs_truncated"] = True
        result["metadata"] = metadata
        results.append(result)

    task = dataset.name if dataset else run.experiment
    split = split_name(dataset.context if dataset else None) or "eval"
    where = f"dataset {dataset.name}" if dataset else f"experiment {run.experiment}"
    suite = suite_doc(
        tool,
        task,
        split,
        cases,
        description=f"MLflow GenAI evaluation, {where}: {len(cases)} row(s)",
        comparison_fields=COMPARISON_FIELDS,
        metrics=BASE_METRICS,
        guardrails=BASE_GUARDRAILS,
    )
    params: dict[str, Any] = {
        **run.params,
        "mlflow.run_id": run.run_id,
        "mlflow.experiment_id": run.experiment_id,
        "mlflow.status": run.status,
        "mlflow.run_type": GENAI_RUN_TYPE,
        "mlflow.scorer": judge or "none",
        "mlflow.judging": judging,
        "mlflow.scorers": compact(scorers) if scorers else "none",
        "mlflow.evaluator_params": evaluator_params,
        "mlflow.scorers_digest": _tag_json(run, "mlflow.genaiEvaluate.scorersDigest", "digest"),
        "mlflow.agent": run.tags.get("mlflow.genaiEvaluate.agent.function"),
        "mlflow.agent_digest": run.tags.get("mlflow.genaiEvaluate.agent.digest"),
        "mlflow.traces": len(traces),
    }
    if dataset is not None:
        digest_key = "mlflow.evaluate_dataset_digest" if with_outputs else "mlflow.dataset_digest"
        params.update(
            {
                "mlflow.dataset": dataset.name,
                digest_key: dataset.digest,
                "mlflow.dataset_source": dataset.source,
                "mlflow.dataset_context": dataset.context,
            }
        )
    metrics: dict[str, Any] = dict(run.metrics)
    claim = run.metrics.get(f"{judge}/mean") if judge else None
    if judging == JUDGING_PASS_FAIL and judged_all and claim is not None:
        metrics[EXACT_ROUTE_RATE] = claim  # MLflow's mean of the verdicts: checked by evidence
    tags: dict[str, Any] = {
        **run.tags,
        "imported_from": tool,
        "mlflow.backend": "sqlite" if run.origin.is_file() else "file store",
    }
    model = run.models[0] if run.models else None
    doc = run_doc(
        run_id=f"{tool}:{run.run_id}",
        experiment=run.experiment,
        artifact=f"models:/{model.name}/{model.version}"
        if model
        else (run.name or f"runs:/{run.run_id}"),
        suite=suite,
        started_at=from_unix((run.start_time_ms or 0) / 1000.0) or EPOCH,
        params=params,
        metrics=metrics,
        tags=tags,
        cases=results,
        incomplete=_incomplete(run, dataset, len(cases)),
    )
    notes = [
        f"cases from {count(len(traces), 'trace')}, judged by scorer {judge or 'none'} ({judging})"
    ]
    others = sorted(set(scorers) - {judge})
    if others:
        notes.append(f"other scorers kept in each case's metadata: {', '.join(others)}")
    if not judge:
        notes.append("no scorer gives a pass/fail or a score in [0, 1]: every case is UNSCORED")
    if any(not t.inputs_complete for t in traces):
        notes.append("some traces' spans are missing: their inputs are MLflow's truncated copies")
    if run.status != "FINISHED":
        notes.append(f"MLflow status {run.status}")
    imported.add(suite, doc, run.origin, notes)


def _own(trace: Trace, run_id: str) -> dict[str, Assessment]:
    """The trace's valid assessments by name: the run's own first, then the latest."""
    best: dict[str, Assessment] = {}
    for item in trace.assessments:
        if item.kind == "invalid" or (item.run_id is not None and item.run_id != run_id):
            continue
        known = best.get(item.name)
        rank = (item.run_id == run_id, item.created)
        if known is None or rank >= (known.run_id == run_id, known.created):
            best[item.name] = item
    return best


def _scorers(rows: list[tuple[Trace, dict[str, Assessment]]]) -> dict[str, Any]:
    """Each feedback name with its source and MLflow's digest of the scorer's definition."""
    out: dict[str, Any] = {}
    for _trace, assessments in rows:
        for item in assessments.values():
            if item.kind != "feedback":
                continue
            entry = out.setdefault(item.name, {})
            if item.source and "source" not in entry:
                entry["source"] = item.source
            if item.scorer_digest and "digest" not in entry:
                entry["digest"] = item.scorer_digest
    return dict(sorted(out.items()))


def _judge(
    rows: list[tuple[Trace, dict[str, Assessment]]], scorers: dict[str, Any]
) -> tuple[str | None, str]:
    kinds: dict[str, set[str]] = {name: set() for name in scorers}
    for _trace, assessments in rows:
        for name in scorers:
            item = assessments.get(name)
            if item is not None and item.value is not None:
                kinds[name].add(_kind(item.value))

    def rank(name: str) -> tuple[int, str]:
        lowered = name.lower()
        return (
            CORRECTNESS_NAMES.index(lowered)
            if lowered in CORRECTNESS_NAMES
            else len(CORRECTNESS_NAMES),
            name,
        )

    ordered = sorted(kinds, key=rank)
    for name in ordered:
        if kinds[name] == {"pass"}:
            return name, JUDGING_PASS_FAIL
    for name in ordered:
        if kinds[name] and kinds[name] <= {"pass", "unit"}:
            return name, JUDGING_UNIT
    return None, "none"


def _kind(value: Any) -> str:
    if isinstance(value, bool) or (isinstance(value, str) and value.strip().lower() in PASS_WORDS):
        return "pass"
    number = as_number(value) if not isinstance(value, str) else None
    if number is not None and 0.0 <= number <= 1.0:
        return "unit"
    return "other"


def _verdict(value: Any) -> tuple[str, float | None]:
    if value is None:
        return ROUTE_UNSCORED, None
    if isinstance(value, str) and value.strip().lower() in PASS_WORDS:
        value = PASS_WORDS[value.strip().lower()]
    if isinstance(value, bool):
        return (ROUTE_CORRECT, 1.0) if value else (ROUTE_INCORRECT, 0.0)
    number = as_number(value) if not isinstance(value, str) else None
    if number is None or not 0.0 <= number <= 1.0:
        return ROUTE_UNSCORED, number
    if number == 1.0:
        return ROUTE_CORRECT, number
    return (ROUTE_INCORRECT if number == 0.0 else ROUTE_PARTIAL), number


def _case_ids(rows: list[tuple[Trace, dict[str, Assessment]]]) -> list[str]:
    """`r-<digest of the inputs>`, with `~2`, `~3` for repeated inputs (ordered by expectations)."""
    keys = []
    for trace, assessments in rows:
        expectations = {a.name: a.value for a in assessments.values() if a.kind == "expectation"}
        base = "r-" + hashlib.sha256(compact(trace.inputs).encode("utf-8")).hexdigest()[:12]
        keys.append((base, compact(expectations)))
    order = sorted(range(len(keys)), key=lambda i: (keys[i], rows[i][0].request_time))
    seen: dict[str, int] = {}
    ids = [""] * len(keys)
    for index in order:
        base = keys[index][0]
        seen[base] = seen.get(base, 0) + 1
        ids[index] = base if seen[base] == 1 else f"{base}~{seen[base]}"
    return ids


def _feedback_doc(item: Assessment) -> dict[str, Any]:
    doc: dict[str, Any] = {"value": item.value}
    if item.rationale:
        doc["rationale"] = item.rationale
    if item.error:
        doc["error"] = item.error
    return doc


def _tag_json(run: MlflowRun, tag: str, key: str) -> str | None:
    text = run.tags.get(tag)
    if not text:
        return None
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        return text
    return value.get(key) if isinstance(value, dict) and isinstance(value.get(key), str) else text


def _incomplete(run: MlflowRun, dataset: Dataset | None, n: int) -> str | None:
    if run.status != "FINISHED":
        return f"MLflow run status {run.status}"
    rows = dataset_rows(dataset)
    if rows is not None and n < rows:
        return f"traces cover {n} of the {rows} rows of dataset {dataset.name if dataset else ''}"
    return None


def dataset_rows(dataset: Dataset | None) -> int | None:
    if dataset is None or not dataset.profile:
        return None
    try:
        rows = json.loads(dataset.profile).get("num_rows")
    except (ValueError, AttributeError, RecursionError):
        return None
    return rows if isinstance(rows, int) and not isinstance(rows, bool) else None
