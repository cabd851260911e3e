"""OpenAI Evals record logs: the JSONL `oaieval COMPLETION_FN EVAL --record_path FILE` writes.

The first line is `{"spec": {...}}` (the completion functions, the eval's name, class and args,
the run id), one line is `{"final_report": {...}}` (accuracy and the eval's other metrics), and
every other line is an event: `{"run_id", "event_id", "sample_id", "type", "data", ...}`. One run
per log. A case per sample that has a `match` event (what the basic Match, Includes and FuzzyMatch
evals record): the case holds the sample id, its expected answer and, when a `sampling` event
recorded it, the prompt; every case expects CORRECT and the route is the event's `correct`
(CORRECT / INCORRECT). The sampled text is the output, the picked option and options metadata.
Samples with only other events (model-graded `metrics`, ...) are UNSCORED, their events kept.

The eval's class and args are the evaluator identity (`openai_evals.eval_class` and
`openai_evals.eval_args`, comparison fields). The log is read line by line, so memory holds the
per-sample results, not the file; a line longer than MAX_LINE_BYTES is refused.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from evaltui.contract.fingerprint import COMBINED_FIELD
from evaltui.contract.jsonio import decode_text, parse_json_text
from evaltui.errors import InputError
from evaltui.importers.common import (
    EPOCH,
    EXACT_ROUTE_RATE,
    ROUTE_CORRECT,
    ROUTE_INCORRECT,
    ROUTE_UNSCORED,
    Imported,
    as_number,
    as_object,
    compact,
    importing,
    parse_time,
    require_source,
    run_doc,
    slug,
    split_name,
    suite_doc,
    walk_files,
)
from evaltui.plural import count

TOOL = "openai-evals"
EVAL_CLASS = "openai_evals.eval_class"
EVAL_ARGS = "openai_evals.eval_args"
COMPARISON_FIELDS = [COMBINED_FIELD, EVAL_CLASS, EVAL_ARGS]
MAX_LINE_BYTES = 64 * 1024 * 1024
MAX_FOLDER_FILES = 1000


def read_openai_evals(source: Path) -> Imported:
    """Import one record log, or every record log (`*.jsonl` starting with a spec) in a folder."""
    require_source(source)
    with importing(TOOL) as imported:
        if source.is_dir():
            for path in [p for p in walk_files(source) if p.suffix == ".jsonl"][:MAX_FOLDER_FILES]:
                if _starts_with_spec(path):
                    _import_log(path, imported)
                else:
                    imported.skip(path, "not an OpenAI Evals record log (no spec line first)")
        else:
            _import_log(source, imported)
        imported.require_runs(source, "OpenAI Evals record log")
        return imported


def _starts_with_spec(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            return handle.read(16).lstrip().startswith(b'{"spec"')
    except OSError:
        return False


def _lines(path: Path) -> Any:
    """(line number, JSON value) for each non-blank line, read one line at a time."""
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise InputError(path, f"cannot read file: {exc.strerror}") from None
    with handle:
        number = 0
        while True:
            raw = handle.readline(MAX_LINE_BYTES + 1)
            if not raw:
                break
            number += 1
            if len(raw) > MAX_LINE_BYTES:
                raise InputError(path, f"a line longer than {MAX_LINE_BYTES / 2**20:g} MiB", number)
            text = decode_text(raw, path) if number > 1 else decode_text(raw, path).lstrip("\ufeff")
            if text.strip():
                yield number, parse_json_text(text, path, line_offset=number, strict=False)


def _import_log(path: Path, imported: Imported) -> None:
    spec: dict[str, Any] | None = None
    report: dict[str, Any] | None = None
    samples: dict[str, dict[str, Any]] = {}  # sample id -> {"match", "prompt", "events"}
    for line, value in _lines(path):
        if not isinstance(value, dict):
            raise InputError(path, "expected a JSON object on every line", line)
        if spec is None:
            if not isinstance(value.get("spec"), dict):
                raise InputError(
                    path,
                    'not an OpenAI Evals record log: the first line must be {"spec": {...}}',
                    line,
                )
            spec = value["spec"]
            continue
        if "final_report" in value:
            report = as_object(value["final_report"])
            continue
        _event(path, line, value, samples)
    if spec is None:
        raise InputError(path, "file is empty")
    if not samples:
        imported.skip(path, "the log records no sample events")
        return
    _build_run(path, spec, report, samples, imported)


def _event(
    path: Path, line: int, event: dict[str, Any], samples: dict[str, dict[str, Any]]
) -> None:
    sample_id = event.get("sample_id")
    kind = event.get("type")
    if not isinstance(sample_id, str) or not sample_id or not isinstance(kind, str):
        raise InputError(path, "an event needs a string 'sample_id' and 'type'", line)
    data = as_object(event.get("data"))
    sample = samples.setdefault(sample_id, {"match": None, "prompt": None, "events": {}})
    if kind == "match":
        if sample["match"] is not None:
            raise InputError(
                path,
                f"sample {sample_id!r} has a second match event (first at line "
                f"{sample['match'][0]}); evaltui reads one verdict per sample",
                line,
            )
        if not isinstance(data.get("correct"), bool):
            raise InputError(
                path, f"sample {sample_id!r}: match 'correct' must be true or false", line
            )
        sample["match"] = (line, data)
    elif kind == "sampling" and sample["prompt"] is None and "prompt" in data:
        sample["prompt"] = data["prompt"]
    else:
        sample["events"].setdefault(kind, []).append(data)


def _build_run(
    path: Path,
    spec: dict[str, Any],
    report: dict[str, Any] | None,
    samples: dict[str, dict[str, Any]],
    imported: Imported,
) -> None:
    name = spec.get("eval_name")
    eval_name: str = name if isinstance(name, str) and name else path.stem
    run_config = as_object(spec.get("run_config"))
    eval_spec = as_object(run_config.get("eval_spec"))
    cases: list[dict[str, Any]] = []
    results: list[dict[str, Any]] = []
    for sample_id in sorted(samples):
        sample = samples[sample_id]
        case: dict[str, Any] = {"case_id": sample_id, "expected_route": ROUTE_CORRECT}
        result: dict[str, Any] = {"case_id": sample_id, "route": ROUTE_UNSCORED}
        metadata: dict[str, Any] = {}
        if sample["match"] is not None:
            data = sample["match"][1]
            if "expected" in data:
                case["expected"] = data["expected"]
            result["route"] = ROUTE_CORRECT if data["correct"] else ROUTE_INCORRECT
            sampled = data.get("sampled")
            if sampled is not None:
                result["output"] = sampled if isinstance(sampled, str) else compact(sampled)
            for key in ("picked", "options"):
                if key in data:
                    metadata[key] = data[key]
        if sample["prompt"] is not None:
            case["prompt"] = sample["prompt"]
        if sample["events"]:
            metadata["events"] = sample["events"]
        if metadata:
            result["metadata"] = metadata
        cases.append(case)
        results.append(result)
    split = split_name(spec.get("split")) or "samples"
    suite = suite_doc(
        TOOL,
        eval_name,
        split,
        cases,
        description=f"OpenAI Evals {eval_name}: {len(cases)} sample(s)",
        comparison_fields=COMPARISON_FIELDS,
    )
    completion_fns = [f for f in spec.get("completion_fns") or [] if isinstance(f, str)]
    logged_id = spec.get("run_id")
    run_id: str = logged_id if isinstance(logged_id, str) and logged_id else path.stem
    metrics = {k: v for k, v in (report or {}).items() if as_number(v) is not None}
    judged = all(s["match"] is not None for s in samples.values())
    if judged and as_number(metrics.get("accuracy")) is not None:
        metrics[EXACT_ROUTE_RATE] = metrics["accuracy"]  # the tool's claim, checked by evidence
    params = {
        EVAL_CLASS: eval_spec.get("cls"),
        EVAL_ARGS: eval_spec.get("args"),
        "openai_evals.eval_name": eval_name,
        "openai_evals.base_eval": spec.get("base_eval"),
        "openai_evals.split": spec.get("split"),
        "openai_evals.completion_fns": ", ".join(completion_fns) or None,
        "openai_evals.run_id": run_id,
        "openai_evals.seed": run_config.get("seed"),
        "openai_evals.max_samples": run_config.get("max_samples"),
        "openai_evals.registry_path": eval_spec.get("registry_path"),
    }
    doc = run_doc(
        run_id=f"{TOOL}:{slug(run_id, 'run')}",
        experiment=f"{TOOL}:{eval_name}",
        artifact=", ".join(completion_fns) or "unknown-completion-fn",
        suite=suite,
        started_at=parse_time(spec.get("created_at")) or EPOCH,
        params=params,
        metrics=metrics,
        tags={
            "imported_from": TOOL,
            "source_file": path.name,
            "created_by": spec.get("created_by") or None,
        },
        cases=results,
    )
    notes = []
    if report is None:
        notes.append("no final report (the run did not finish)")
    unscored = sum(1 for r in results if r["route"] == ROUTE_UNSCORED)
    if unscored:
        notes.append(f"{count(unscored, 'sample')} without a match event: UNSCORED")
    imported.add(suite, doc, path, notes)
