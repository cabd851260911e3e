"""inspect_ai eval logs: `.eval` zip archives (deflate or zstd entries) and `.json` logs.

One run per log (a log is one task on one model). The suite of a task is its samples: a case per
sample id with the target, the input and the choices, so a changed target or input changes the
fingerprint. Epochs of a sample are one case, not new evidence: its verdict is the sample's reduced
score under the reducer of the log's headline metric (`reductions`; the mean of the epochs when a
log has none), and the epochs' own values go to the case's metadata.

The judged scorer is chosen by one rule: the first scorer (in the order of the log's results, then
of its task's scorers) with a value inspect reads as a number (C/I/P/N, yes/no, numbers) on some
sample; a dict- or list-valued scorer (judged key by key) is passed over.

Routes keep inspect's verdict and, where the target is a short label (a letter, "Yes", a class),
the label: the expected route is the target; a sample scored correct is routed to the target, an
incorrect one to the scorer's extracted answer when that is a different short label (else
`INCORRECT`). Free-text targets expect `CORRECT`. Partial credit is `PARTIAL`, `N` is `NOANSWER`,
a sample without a score is `UNSCORED`, one that raised is `ERROR`. Values are read as inspect's
`value_to_float` reads them (C=1, P=0.5, I=N=0, yes/true, no/false, numbers); the per-case score
keeps that number. A log kept without samples (`log_samples=False`) loads from its reduced scores:
cases without inputs or targets that expect `CORRECT`.

The evaluator is part of the comparison contract: task version and args, dataset, solver plan,
scorers (with their options), the judged scorer and reducer, epochs, and `evaluator_digest` (a hash
of all of these). A log that did not finish (status other than "success") or has fewer samples than
its dataset, limit and epochs declare is marked `incomplete` with the reason. The source format
(.eval or .json, e.g. after `inspect log convert`) is not part of the run.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from evaltui.contract.fingerprint import COMBINED_FIELD
from evaltui.contract.jsonio import parse_json_bytes, read_json_file
from evaltui.errors import InputError
from evaltui.importers.common import (
    EPOCH,
    EXACT_ROUTE_RATE,
    EXPECTED_UNLABELED,
    ROUTE_CORRECT,
    ROUTE_ERROR,
    ROUTE_INCORRECT,
    ROUTE_NOANSWER,
    ROUTE_PARTIAL,
    ROUTE_UNSCORED,
    Imported,
    as_list,
    as_number,
    as_object,
    compact,
    digest_text,
    importing,
    parse_time,
    require_source,
    run_doc,
    short_label,
    slug,
    suite_doc,
    walk_files,
)
from evaltui.importers.zipread import ZipArchive
from evaltui.plural import agree, count

TOOL = "inspect"
EVALUATOR_FIELDS = [
    "task_version",
    "task_args",
    "dataset",
    "solvers",
    "scorers",
    "scorer",
    "score_reducer",
    "epochs",
    "evaluator_digest",
]
COMPARISON_FIELDS = [COMBINED_FIELD, *EVALUATOR_FIELDS]
SPLIT = "samples"
SPECIAL_ROUTES = {
    ROUTE_CORRECT,
    ROUTE_INCORRECT,
    ROUTE_PARTIAL,
    ROUTE_NOANSWER,
    ROUTE_UNSCORED,
    ROUTE_ERROR,
    EXPECTED_UNLABELED,
}
LOG_LISTING = "logs.json"  # inspect's index of a log folder, not a log


def read_inspect(source: Path) -> Imported:
    """Import one `.eval` / `.json` log, or every log in a folder."""
    require_source(source)
    with importing(TOOL) as imported:
        if source.is_dir():
            for path in walk_files(source):
                suffix = path.suffix.lower()
                if suffix == ".eval":
                    _import_log(_read_eval(path), path, imported)
                elif suffix == ".json" and path.name != LOG_LISTING:
                    log = _read_json_log(path, explicit=False)
                    if log is None:
                        imported.skip(path, "not an inspect_ai log (no 'eval' header)")
                    else:
                        _import_log(log, path, imported)
        elif source.suffix.lower() == ".eval":
            _import_log(_read_eval(source), source, imported)
        elif source.suffix.lower() != ".json":
            raise InputError(
                source, "not an inspect_ai log: expected a .eval archive, a .json log or a folder"
            )
        else:
            log = _read_json_log(source, explicit=True)
            assert log is not None
            _import_log(log, source, imported)
        imported.require_runs(source, "inspect_ai log with samples")
        return imported


# -- reading the two log formats ----------------------------------------------------------------


def _read_json_log(path: Path, *, explicit: bool) -> dict[str, Any] | None:
    doc = read_json_file(path, strict=False)
    if _is_log(doc):
        samples = doc.get("samples")
        if samples is not None and not isinstance(samples, list):
            raise InputError(path, "field 'samples' of an inspect_ai log must be an array")
        return {**doc, "samples": _collect(enumerate(samples or []), path), "log_format": "json"}
    if explicit:
        raise InputError(
            path,
            "not an inspect_ai log: expected a JSON object with 'version' and an 'eval' header "
            "(as `inspect eval` writes with --log-format json)",
        )
    return None


def _is_log(doc: Any) -> bool:
    return (
        isinstance(doc, dict)
        and isinstance(doc.get("eval"), dict)
        and isinstance(doc["eval"].get("task"), str)
        and "version" in doc
    )


def _read_eval(path: Path) -> dict[str, Any]:
    """The log's header with its samples, read one archive entry at a time (`_collect`)."""
    with ZipArchive(path) as archive:
        names = archive.names()

        def entry(name: str) -> Any:
            return parse_json_bytes(
                archive.read(name), f"{path} [{name}]", strict=False, what="entry"
            )

        if "header.json" in archive:
            header = entry("header.json")
        elif "_journal/start.json" in archive:
            header = {**entry("_journal/start.json"), "status": "started"}
        else:
            raise InputError(
                path,
                "not an inspect_ai log: the archive has neither header.json nor _journal/start.json",
            )
        if not _is_log(header):
            raise InputError(path, "not an inspect_ai log: header.json has no 'eval' header")
        sample_names = sorted(n for n in names if n.startswith("samples/") and n.endswith(".json"))
        samples = _collect(enumerate(entry(n) for n in sample_names), path)
        if not samples.count:
            samples = _collect(enumerate(_summaries(archive, names, entry)), path)
            log_format = "eval (summaries only)" if samples.count else "eval"
        else:
            log_format = "eval"
        if "reductions.json" in archive:
            header = {**header, "reductions": entry("reductions.json")}
    return {**header, "samples": samples, "log_format": log_format}


def _summaries(archive: ZipArchive, names: list[str], entry: Any) -> Iterator[Any]:
    """Sample summaries, when the log kept no full samples (scores, usage, times; no output)."""
    if "summaries.json" in archive:
        parts = ["summaries.json"]
    else:
        parts = sorted(
            (n for n in names if n.startswith("_journal/summaries/") and n.endswith(".json")),
            key=lambda n: (len(n), n),
        )
    for name in parts:
        value = entry(name)
        if isinstance(value, list):
            yield from value


# -- samples, kept small --------------------------------------------------------------------------

# The parts of a sample a case and its result are built from; the rest (messages, events, the
# store, attachments once resolved) is dropped as soon as the sample is parsed.
_KEPT = (
    "id",
    "epoch",
    "target",
    "choices",
    "scores",
    "error",
    "error_retries",
    "total_time",
    "model_usage",
    "metadata",
    "working_time",
    "uuid",
    "limit",
    "retries",
)


@dataclass
class _Samples:
    """A log's samples grouped by id, each kept as the compact JSON of its kept parts.

    `score_names` (in order of appearance) and `numeric` (names with a value inspect reads as a
    number on some sample) are gathered on the way, for choosing the judged scorer.
    """

    groups: dict[str, list[tuple[int, str]]] = field(default_factory=dict)  # id -> (epoch, json)
    count: int = 0
    score_names: dict[str, None] = field(default_factory=dict)
    numeric: set[str] = field(default_factory=set)


def _collect(samples: Iterable[tuple[int, Any]], path: Path) -> _Samples:
    """Check and group samples as they are read; only a small form of each is kept."""
    found = _Samples()
    for index, sample in samples:
        if not isinstance(sample, dict):
            raise InputError(path, f"sample {index} is not a JSON object")
        sample_id = sample.get("id")
        if isinstance(sample_id, bool) or not isinstance(sample_id, int | str) or sample_id == "":
            raise InputError(path, f"sample {index} has no usable 'id' (found {sample_id!r})")
        group = found.groups.setdefault(str(sample_id), [])
        epoch = _int(sample.get("epoch"), 1)
        if any(other == epoch for other, _kept in group):
            shown = f"{sample_id}:{epoch}" if epoch != 1 or len(group) else str(sample_id)
            raise InputError(path, f"sample {shown!r} appears twice in the log")
        for name, score in as_object(sample.get("scores")).items():
            found.score_names.setdefault(name)
            if name not in found.numeric:
                score = as_object(score)
                if "value" in score and value_to_float(score["value"]) is not None:
                    found.numeric.add(name)
        group.append((epoch, json.dumps(_small(sample), ensure_ascii=False)))
        found.count += 1
    return found


def _small(sample: dict[str, Any]) -> dict[str, Any]:
    """The kept parts of a sample, its input and output resolved against its attachments."""
    attachments = as_object(sample.get("attachments"))
    small = {key: sample[key] for key in _KEPT if key in sample}
    if "input" in sample:
        small["input"] = _input(sample.get("input"), attachments)
    output = _output_text(sample.get("output"), attachments)
    if output is not None:
        small["output"] = {"choices": [{"message": {"content": output}}]}
    return small


def _epochs(group: list[tuple[int, str]]) -> list[dict[str, Any]]:
    """A sample's epochs, first epoch first (in log order among equals)."""
    return [json.loads(kept) for _epoch, kept in sorted(group, key=lambda item: item[0])]


# -- mapping one log ------------------------------------------------------------------------------


def _import_log(log: dict[str, Any], path: Path, imported: Imported) -> None:
    header = log["eval"]
    task = header["task"]
    scorer = _primary_scorer(log)
    reducer = _headline_reducer(log, scorer)
    reduced = _reduced_scores(log, scorer, reducer)
    samples: _Samples = log["samples"]
    from_reductions = not samples.count and bool(reduced)
    if from_reductions:
        samples = _collect(enumerate({"id": sample_id} for sample_id in reduced), path)
    if not samples.count:
        imported.skip(path, "the log has no samples and no reduced scores")
        return

    cases = imported.spool(path, cases=True)
    results = imported.spool(path, cases=False)
    values: list[float | None] = []
    for case_id, group in samples.groups.items():
        case, result, value = _sample(_epochs(group), case_id, scorer, reduced.get(case_id))
        cases.add(case)
        results.add(result)
        values.append(value)

    dataset = as_object(header.get("dataset"))
    description = f"inspect_ai task {task}: {len(cases)} sample(s)" + (
        f" of dataset {dataset['name']}" if isinstance(dataset.get("name"), str) else ""
    )
    suite = suite_doc(
        TOOL,
        task,
        SPLIT,
        cases.finish(),
        description=description,
        comparison_fields=COMPARISON_FIELDS,
    )

    status = str(log["status"]) if isinstance(log.get("status"), str) else "unknown"
    metrics = _metrics(log, scorer, reducer, values)
    identifier = header.get("eval_id") or header.get("task_id") or header.get("run_id")
    if not isinstance(identifier, str) or not identifier:
        raise InputError(path, "the log's eval header has no eval_id, task_id or run_id")
    model = header.get("model") if isinstance(header.get("model"), str) else "unknown-model"
    run = run_doc(
        run_id=f"{TOOL}:{slug(task)}:{slug(identifier)}",
        experiment=f"{TOOL}:{task}",
        artifact=model,
        suite=suite,
        started_at=_started(log),
        params=_params(log, scorer, reducer, status),
        metrics=metrics,
        tags=_tags(log, path, status),
        cases=results.finish(),
        incomplete=_incomplete(log, status, len(samples.groups)),
    )
    notes = _notes(log, status, scorer, values)
    if from_reductions:
        notes.append(
            "the log kept no samples (log_samples=False): cases from the reduced scores, "
            "without inputs or targets"
        )
    imported.add(suite, run, path, notes)


def _scorer_candidates(log: dict[str, Any]) -> list[str]:
    """Scorer names in the log's order: its results, its task's scorers, the samples' scores."""
    names: list[str] = []
    for score in as_list(as_object(log.get("results")).get("scores")):
        score = as_object(score)
        name = score.get("scorer") if isinstance(score.get("scorer"), str) else score.get("name")
        if isinstance(name, str):
            names.append(name)
    for scorer in as_list(log["eval"].get("scorers")):
        if isinstance(scorer, dict) and isinstance(scorer.get("name"), str):
            names.append(scorer["name"])
    samples: _Samples | None = log.get("samples")
    if samples is not None:
        names.extend(samples.score_names)
    for reduction in as_list(log.get("reductions")):
        if isinstance(as_object(reduction).get("scorer"), str):
            names.append(reduction["scorer"])
    return list(dict.fromkeys(names))


def _primary_scorer(log: dict[str, Any]) -> str | None:
    """The first scorer with a value inspect reads as a number on some sample (see the docstring)."""
    candidates = _scorer_candidates(log)
    for name in candidates:
        if name in log["samples"].numeric:
            return name
        for reduction in as_list(log.get("reductions")):
            reduction = as_object(reduction)
            if reduction.get("scorer") != name:
                continue
            for item in as_list(reduction.get("samples")):
                if "value" in as_object(item) and value_to_float(item["value"]) is not None:
                    return name
    return candidates[0] if candidates else None


def _headline_reducer(log: dict[str, Any], scorer: str | None) -> str | None:
    """The epoch reducer of the scorer's logged metric: the log's headline, else its first score."""
    results = as_object(log.get("results"))
    headline = as_object(results.get("headline"))
    if scorer is not None and headline.get("scorer") == scorer:
        reducer = headline.get("reducer")
        return reducer if isinstance(reducer, str) else None
    for score in as_list(results.get("scores")):
        score = as_object(score)
        if scorer is not None and scorer in (score.get("scorer"), score.get("name")):
            reducer = score.get("reducer")
            return reducer if isinstance(reducer, str) else None
    return None


def _reduced_scores(
    log: dict[str, Any], scorer: str | None, reducer: str | None
) -> dict[str, dict[str, Any]]:
    """Each sample's reduced score (by sample id) for `scorer` under `reducer`; {} if none."""
    if scorer is None:
        return {}
    fallback: dict[str, dict[str, Any]] | None = None
    for reduction in as_list(log.get("reductions")):
        reduction = as_object(reduction)
        if reduction.get("scorer") != scorer:
            continue
        found: dict[str, dict[str, Any]] = {}
        for item in as_list(reduction.get("samples")):
            item = as_object(item)
            sample_id = item.get("sample_id")
            if isinstance(sample_id, int | str) and not isinstance(sample_id, bool):
                found.setdefault(str(sample_id), item)
        if reduction.get("reducer") == reducer:
            return found
        if fallback is None:
            fallback = found
    return fallback or {}


def _sample(
    group: list[dict[str, Any]], case_id: str, scorer: str | None, reduced: dict[str, Any] | None
) -> tuple[dict[str, Any], dict[str, Any], float | None]:
    """One case from a sample's epochs (first epoch first) and its reduced score, if logged."""
    sample = group[0]
    attachments = as_object(sample.get("attachments"))
    target = sample.get("target")
    expected = _expected(target)
    case: dict[str, Any] = {
        "case_id": case_id,
        "sample_id": sample["id"],
        "expected_route": expected or ROUTE_CORRECT,
    }
    if "target" in sample:
        case["target"] = target
    if "input" in sample:
        case["input"] = _input(sample.get("input"), attachments)
    if isinstance(sample.get("choices"), list):
        case["choices"] = sample["choices"]

    epoch_scores = [
        as_object(as_object(s.get("scores")).get(scorer)) if scorer else {} for s in group
    ]
    if reduced is not None:
        score = reduced
    elif len(group) == 1:
        score = epoch_scores[0]
    else:
        score = _mean_score(epoch_scores)
    raw = score.get("value")
    value = value_to_float(raw) if "value" in score else None
    error = next((s.get("error") for s in group if s.get("error")), None)
    if error and (value is None or len(group) == 1):
        route = ROUTE_ERROR
    elif value is None:
        route = ROUTE_UNSCORED
    elif raw == "N":
        route = ROUTE_NOANSWER
    elif value == 1.0:
        route = expected or ROUTE_CORRECT
    elif value == 0.0:
        answer = short_label(score.get("answer"))
        usable = expected is not None and answer is not None and answer != expected
        route = answer if usable and answer not in SPECIAL_ROUTES else ROUTE_INCORRECT  # type: ignore[assignment]
    else:
        route = ROUTE_PARTIAL

    result: dict[str, Any] = {"case_id": case_id, "route": route}
    if value is not None:
        result["score"] = value
    times = [t for t in (as_number(s.get("total_time")) for s in group) if t is not None]
    if times:
        result["latency_ms"] = sum(times) / len(times) * 1000.0
    tokens = [t for t in (_tokens(s.get("model_usage")) for s in group) if t is not None]
    if tokens:
        result["tokens"] = sum(tokens)
    output = _output_text(sample.get("output"), attachments)
    if output is not None:
        result["output"] = output
    meta = _sample_metadata(sample, score, error)
    if len(group) > 1:
        meta["epochs"] = [
            {"epoch": _int(s.get("epoch"), 1), "value": e.get("value"), "answer": e.get("answer")}
            for s, e in zip(group, epoch_scores, strict=True)
        ]
    retries = [r for s in group for r in as_list(s.get("error_retries"))]
    if retries:
        meta["error_retries"] = len(retries)
        meta["error_retry_messages"] = [
            _first_line(as_object(r).get("message")) for r in retries[:5]
        ]
    result["metadata"] = meta
    return case, result, value


def _mean_score(scores: list[dict[str, Any]]) -> dict[str, Any]:
    """inspect's default reducer (the mean of the epochs), for a log without `reductions`."""
    values = [value_to_float(s.get("value")) if "value" in s else None for s in scores]
    if not values or any(v is None for v in values):
        return {}
    return {"value": sum(values) / len(values)}  # type: ignore[arg-type]


def _first_line(text: Any) -> str:
    return text.strip().splitlines()[0] if isinstance(text, str) and text.strip() else ""


def value_to_float(value: Any) -> float | None:
    """A score value as inspect's `value_to_float` reads it; None for values it cannot reduce."""
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float):
        return as_number(value)
    if isinstance(value, str):
        if value == "C":
            return 1.0
        if value == "P":
            return 0.5
        if value in ("I", "N"):
            return 0.0
        lowered = value.lower()
        if lowered in ("yes", "true"):
            return 1.0
        if lowered in ("no", "false"):
            return 0.0
        if value.replace(".", "", 1).isnumeric():
            return float(value)
        return 0.0  # inspect warns and counts an unreadable value as 0
    return None  # dict / list values need a reducer evaltui does not guess


def _expected(target: Any) -> str | None:
    if isinstance(target, str):
        return short_label(target)
    if isinstance(target, list) and target:
        labels = [short_label(t) for t in target]
        if all(labels):
            return " | ".join(labels)  # type: ignore[arg-type]
    return None


def _resolve(text: Any, attachments: dict[str, Any]) -> Any:
    if isinstance(text, str) and text.startswith("attachment://"):
        return attachments.get(text[len("attachment://") :], text)
    return text


def _input(value: Any, attachments: dict[str, Any]) -> Any:
    """The sample input without per-run noise (message ids): role and content only."""
    if isinstance(value, list):
        messages = []
        for message in value:
            if isinstance(message, dict):
                messages.append(
                    {
                        "role": message.get("role"),
                        "content": _content(message.get("content"), attachments),
                    }
                )
        return messages
    return _resolve(value, attachments)


def _content(content: Any, attachments: dict[str, Any]) -> Any:
    if isinstance(content, list):
        parts = []
        for part in content:
            if isinstance(part, dict):
                kept = {
                    k: _resolve(part[k], attachments)
                    for k in ("type", "text", "image", "audio")
                    if k in part
                }
                parts.append(kept)
        return parts
    return _resolve(content, attachments)


def _output_text(output: Any, attachments: dict[str, Any]) -> str | None:
    output = as_object(output)
    completion = output.get("completion")
    if isinstance(completion, str) and completion:
        return str(_resolve(completion, attachments))
    for choice in as_list(output.get("choices")):
        message = as_object(as_object(choice).get("message"))
        content = _resolve(message.get("content"), attachments)
        if isinstance(content, str):
            return content
        if isinstance(content, list):
            texts = [
                str(_resolve(p.get("text"), attachments))
                for p in content
                if isinstance(p, dict) and p.get("type") == "text"
            ]
            if texts:
                return "\n".join(texts)
    return None


def _tokens(usage: Any) -> int | None:
    total = 0
    found = False
    for model_usage in as_object(usage).values():
        counts = as_object(model_usage)
        value = counts.get("total_tokens")
        if value is None and ("input_tokens" in counts or "output_tokens" in counts):
            value = (counts.get("input_tokens") or 0) + (counts.get("output_tokens") or 0)
        if isinstance(value, int) and not isinstance(value, bool):
            total += value
            found = True
    return total if found else None


def _sample_metadata(sample: dict[str, Any], score: dict[str, Any], error: Any) -> dict[str, Any]:
    meta: dict[str, Any] = {}
    if score:
        for key in ("value", "answer", "explanation"):
            if score.get(key) is not None:
                meta[key] = score[key]
    scores = {
        name: as_object(s).get("value") for name, s in as_object(sample.get("scores")).items()
    }
    if len(scores) > 1:
        meta["scores"] = scores
    for key in ("metadata", "model_usage", "working_time", "uuid", "limit", "retries"):
        if sample.get(key) not in (None, {}, []):
            meta["sample_metadata" if key == "metadata" else key] = sample[key]
    if error:
        message = as_object(error).get("message") if isinstance(error, dict) else error
        meta["error"] = message if isinstance(message, str) else compact(error)
    return meta


# -- run header -----------------------------------------------------------------------------------


def _metrics(
    log: dict[str, Any], scorer: str | None, reducer: str | None, values: list[float | None]
) -> dict[str, Any]:
    """The logged metrics; a scorer logged under several reducers names each (`name/reducer/metric`).

    `exact_route_rate` is the accuracy of the judged scorer under the reducer the cases use.
    """
    metrics: dict[str, Any] = {}
    headline = None
    scores = [as_object(score) for score in as_list(as_object(log.get("results")).get("scores"))]
    names = [score.get("name") for score in scores]
    for score in scores:
        name = score.get("name")
        own = score.get("reducer")
        prefix = f"{name}/{own}" if names.count(name) > 1 and isinstance(own, str) else name
        for metric in as_object(score.get("metrics")).values():
            metric = as_object(metric)
            if isinstance(name, str) and isinstance(metric.get("name"), str):
                metrics[f"{prefix}/{metric['name']}"] = metric.get("value")
                judged = name == scorer and (reducer is None or own in (None, reducer))
                if judged and metric["name"] == "accuracy" and headline is None:
                    headline = as_number(metric.get("value"))
    binary = bool(values) and all(v in (0.0, 1.0) for v in values)
    if headline is not None and binary:
        metrics[EXACT_ROUTE_RATE] = headline  # inspect's accuracy, checked against the cases
    for model, usage in as_object(as_object(log.get("stats")).get("model_usage")).items():
        for key in ("input_tokens", "output_tokens", "total_tokens"):
            if key in as_object(usage):
                metrics[f"usage/{model}/{key}"] = usage[key]
    return metrics


def _started(log: dict[str, Any]) -> datetime:
    for text in (as_object(log.get("stats")).get("started_at"), log["eval"].get("created")):
        when = parse_time(text)
        if when is not None:
            return when
    return EPOCH


def _params(
    log: dict[str, Any], scorer: str | None, reducer: str | None, status: str
) -> dict[str, Any]:
    header = log["eval"]
    config = as_object(header.get("config"))
    dataset = as_object(header.get("dataset"))
    plan = as_object(log.get("plan"))
    results = as_object(log.get("results"))
    revision = as_object(header.get("revision"))
    evaluator: dict[str, Any] = {
        "task_version": header.get("task_version"),
        "task_args": header.get("task_args") or None,
        "dataset": dataset.get("name"),
        "solvers": [
            {"solver": s.get("solver"), "params": s.get("params")}
            for s in as_list(plan.get("steps"))
            if isinstance(s, dict)
        ]
        or None,
        "scorers": _scorers(log),
        "scorer": scorer,
        "score_reducer": reducer,
        "epochs": _int(config.get("epochs"), 1),
    }
    return {
        **evaluator,
        "evaluator_digest": digest_text(compact(evaluator)),
        "task": header.get("task"),
        "task_file": header.get("task_file"),
        "task_registry_name": header.get("task_registry_name"),
        "dataset_location": dataset.get("location"),
        "dataset_samples": dataset.get("samples"),
        "model": header.get("model"),
        "model_args": header.get("model_args") or None,
        "model_generate_config": header.get("model_generate_config") or None,
        "plan_config": plan.get("config") or None,
        "limit": config.get("limit"),
        "epochs_reducer": config.get("epochs_reducer"),
        "total_samples": results.get("total_samples"),
        "completed_samples": results.get("completed_samples"),
        "status": status,
        "eval_id": header.get("eval_id"),
        "eval_run_id": header.get("run_id"),
        "task_id": header.get("task_id"),
        "revision_commit": revision.get("commit"),
        "revision_origin": revision.get("origin"),
        "inspect_version": as_object(header.get("packages")).get("inspect_ai"),
    }


def _scorers(log: dict[str, Any]) -> list[dict[str, Any]] | None:
    """The task's scorers with their options (older logs name them only in their results)."""
    declared = [s for s in as_list(log["eval"].get("scorers")) if isinstance(s, dict)]
    if declared:
        return [{"name": s.get("name"), "options": s.get("options") or None} for s in declared]
    names = [n for n in _scorer_candidates({**log, "samples": None}) if n]
    return [{"name": name, "options": None} for name in names] or None


def _tags(log: dict[str, Any], path: Path, status: str) -> dict[str, Any]:
    # The log's name without its suffix: a log converted between .eval and .json is the same run.
    tags: dict[str, Any] = {"imported_from": TOOL, "source_log": path.stem, "status": status}
    for name in as_list(log["eval"].get("tags")):
        if isinstance(name, str) and name:
            tags[f"tag:{name}"] = "true"
    for key, value in as_object(log["eval"].get("metadata")).items():
        tags[f"metadata.{key}"] = value
    return tags


def _notes(
    log: dict[str, Any], status: str, scorer: str | None, values: list[float | None]
) -> list[str]:
    notes = []
    samples = count(log["samples"].count, "sample")
    if status != "success":
        notes.append(f"status {status}: loaded the {samples} the log has")
    error = log.get("error")
    if isinstance(error, dict) and isinstance(error.get("message"), str):
        notes.append(
            f"error: {error['message'].strip().splitlines()[0] if error['message'].strip() else ''}"
        )
    unscored = sum(1 for v in values if v is None)
    if scorer is None:
        notes.append(f"unscored: no scorer ran ({samples} routed UNSCORED)")
    elif unscored:
        verb = agree(unscored, "has", "have")
        notes.append(f"unscored: {unscored:,} of {samples} {verb} no {scorer} score")
    if log.get("log_format") == "eval (summaries only)":
        notes.append("the log kept sample summaries only: no outputs")
    return notes


def _incomplete(log: dict[str, Any], status: str, samples: int) -> str | None:
    """Why the log is not a finished run (see the module docstring); None when it is."""
    expected = _expected_samples(log["eval"])
    of = f" of {expected}" if expected is not None else ""
    if status != "success":
        return f"inspect_ai status {status!r}: {samples}{of} samples logged"
    if expected is not None and samples < expected:
        return f"{samples} of the {expected} samples the log declares"
    return None


def _expected_samples(header: dict[str, Any]) -> int | None:
    """How many samples the run set out to score: the dataset, cut by `limit` or `sample_id`."""
    total = as_number(as_object(header.get("dataset")).get("samples"))
    if total is None:
        return None
    expected = int(total)
    config = as_object(header.get("config"))
    limit = config.get("limit")
    if isinstance(limit, int) and not isinstance(limit, bool):
        expected = min(expected, limit)
    elif isinstance(limit, list) and len(limit) == 2 and all(isinstance(x, int) for x in limit):
        expected = max(0, min(expected, limit[1]) - limit[0])
    chosen = config.get("sample_id")
    if isinstance(chosen, list):
        expected = min(expected, len(chosen))
    elif isinstance(chosen, int | str) and not isinstance(chosen, bool):
        expected = min(expected, 1)
    return expected


def _int(value: Any, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default
