"""lm-evaluation-harness output: `results_<time>.json` with its `samples_<task>_<time>.jsonl` files.

One run per model and task. The suite of a task is its documents: a case per `doc_id`, carrying
the document and its `doc_hash` (lm-eval's SHA-256 of the document, gold answer included), so any
changed document or label changes the fingerprint.

The route is lm-eval's own verdict on the document, not a label. lm-eval's `target` belongs to the
task configuration rather than to the document (the same winogrande document has target "2" in a
generate-until variant and "always got the easier cases." in the multiple-choice one), and the
verdict comes from the task's metric (argmax of log-likelihoods, exact match after filters and
normalisation), which evaltui cannot redo from strings. So every case expects `CORRECT`, and the
route is `CORRECT` / `INCORRECT` (`PARTIAL` for a value strictly between 0 and 1) from the task's
first per-sample metric whose values lie in [0, 1]. The filtered response (or the chosen choice)
is the case output; target, raw response, prompt and every per-sample metric go to its metadata.

The evaluator is part of the comparison contract: two runs of one task on the same documents are
comparable only when they were judged alike. The run's params carry the task's output type, the
judging metric and filter, the few-shot count, the prompt/target/choice templates, the generation
settings, and `evaluator_digest`, a hash of every judging and prompting key of the task config
(`EVALUATOR_CONFIG_KEYS`; dataset location and model metadata are left out), so a
log-likelihood `acc` run and a generated `exact_match` run read `differs: output_type, ...`.

Results files are `results_<time>.json`, or `<name>_<time>.json` when lm_eval ran with
`--output_path <name>.json`; a file is only read as lm-eval's when it has lm-eval's shape (a
`results` object beside `configs`, `versions`, `n-samples` or `config`).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from evaltui.contract.fingerprint import COMBINED_FIELD
from evaltui.contract.jsonio import read_json_file
from evaltui.errors import InputError
from evaltui.importers.common import (
    EPOCH,
    EXACT_ROUTE_RATE,
    ROUTE_CORRECT,
    ROUTE_INCORRECT,
    ROUTE_PARTIAL,
    ROUTE_UNSCORED,
    BuiltSuite,
    Imported,
    as_list,
    as_number,
    as_object,
    compact,
    from_unix,
    importing,
    require_source,
    run_doc,
    slug,
    split_name,
    stream_jsonl,
    suite_doc,
    walk_files,
)
from evaltui.importers.detect import refuse_foreign_file
from evaltui.plural import agree, count

TOOL = "lm-eval"
# lm-eval's date stamp (`2024-12-23T14-45-44.695233`), ending every file name of one run.
_STAMP = r"\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d(?:\.\d+)?"
RESULTS_FILE = re.compile(rf"^(?!samples_)(?:results_(?P<stamp>.+)|.+_(?P<named>{_STAMP}))\.json$")
SAMPLES_FILE = re.compile(r"^samples_(?P<rest>.+)\.jsonl$")
# The evaluator's identity (see the module docstring): params every run of a task carries.
EVALUATOR_FIELDS = [
    "output_type",
    "metric",
    "filter",
    "num_fewshot",
    "doc_to_text",
    "doc_to_target",
    "doc_to_choice",
    "generation_kwargs",
    "evaluator_digest",
]
COMPARISON_FIELDS = [COMBINED_FIELD, "task_version", *EVALUATOR_FIELDS]
# Keys of a task config that decide how documents are prompted and judged.
EVALUATOR_CONFIG_KEYS = (
    "output_type",
    "doc_to_text",
    "doc_to_target",
    "doc_to_choice",
    "doc_to_image",
    "doc_to_audio",
    "process_results",
    "use_prompt",
    "description",
    "gen_prefix",
    "target_delimiter",
    "fewshot_delimiter",
    "fewshot_config",
    "num_fewshot",
    "metric_list",
    "filter_list",
    "generation_kwargs",
    "repeats",
    "multiple_input",
)
# A results file has a `results` object of per-task objects and at least one of these objects
# (a promptfoo results.json has `results` and `config`, but not lm-eval's `config.model`).
LM_EVAL_KEYS = ("configs", "versions", "n-samples", "n-shot")
# Keys of a sample row that are not per-sample metric values.
SAMPLE_KEYS = {
    "doc_id",
    "doc",
    "target",
    "arguments",
    "resps",
    "filtered_resps",
    "filter",
    "metrics",
    "doc_hash",
    "prompt_hash",
    "target_hash",
}


def read_lm_eval(source: Path) -> Imported:
    """Import a results file, a samples file (its results file is found beside it) or a folder."""
    require_source(source)
    with importing(TOOL) as imported:
        only_task: str | None = None
        if source.is_dir():
            files = [p for p in walk_files(source) if RESULTS_FILE.fullmatch(p.name)]
            if not files:
                raise InputError(
                    source,
                    "no lm-evaluation-harness results_*.json (or <name>_<time>.json) file here or "
                    "below; "
                    "point at the folder lm_eval --output_path wrote",
                )
        elif SAMPLES_FILE.fullmatch(source.name):
            results, only_task = _results_for_samples(source)
            files = [results]
        else:
            files = [source]
        for path in files:
            _read_results(path, imported, only_task, walked=source.is_dir())
        imported.require_runs(source, "lm-evaluation-harness task with a samples file")
        return imported


def _results_for_samples(samples: Path) -> tuple[Path, str]:
    for candidate in sorted(samples.parent.glob("*.json")):
        stamp = _stamp(candidate)
        if stamp and samples.name.endswith(f"_{stamp}.jsonl"):
            task = samples.name[len("samples_") : -len(f"_{stamp}.jsonl")]
            return candidate, task
    raise InputError(
        samples,
        "no results_<time>.json with the same time beside this samples file; "
        "import the results file or its folder",
    )


def _stamp(path: Path) -> str | None:
    """The date stamp in a results file's name (`results_<stamp>.json`, `<name>_<stamp>.json`)."""
    match = RESULTS_FILE.fullmatch(path.name)
    if match is None:
        return None
    return str(match["stamp"] or match["named"])


def _lm_eval_shaped(doc: dict[str, Any]) -> bool:
    """lm-eval's results file: every task's results an object, and lm-eval's own sections."""
    if not all(isinstance(value, dict) for value in doc["results"].values()):
        return False
    if any(isinstance(doc.get(key), dict) for key in LM_EVAL_KEYS):
        return True
    return "model" in as_object(doc.get("config"))


def _read_results(
    path: Path, imported: Imported, only_task: str | None, *, walked: bool = False
) -> None:
    doc = read_json_file(path, strict=False)
    lm_eval_like = isinstance(doc, dict) and isinstance(doc.get("results"), dict)
    if (
        walked
        and not path.name.startswith("results_")
        and not (lm_eval_like and _lm_eval_shaped(doc))
    ):
        # Found by its time stamp alone (`<name>_<time>.json`): another file that is not lm-eval's.
        imported.skip(path, "not an lm-evaluation-harness results file")
        return
    refuse_foreign_file(path, TOOL)  # e.g. promptfoo's results.json also has a "results" key
    if not isinstance(doc, dict) or not isinstance(doc.get("results"), dict):
        raise InputError(path, "not an lm-evaluation-harness results file (no 'results' object)")
    if not _lm_eval_shaped(doc):
        raise InputError(
            path,
            "not an lm-evaluation-harness results file: its 'results' object has no per-task "
            "objects beside lm-eval's 'configs', 'versions', 'n-samples' or 'config.model'",
        )
    if not doc["results"]:
        raise InputError(path, "the results file lists no tasks")
    stamp = _stamp(path)
    configs = as_object(doc.get("configs"))
    groups = as_object(doc.get("group_subtasks"))
    for task in doc["results"]:
        if only_task is not None and task != only_task:
            continue
        samples = _samples_file(path, task, stamp) if _file_safe(task) else None
        if samples is None:
            if groups.get(task) and task not in configs:
                continue  # a group's aggregate: its subtasks are runs of their own
            imported.skip(
                path,
                f"task {task!r} has no samples_{task}_{stamp or '<time>'}.jsonl beside it "
                "(run lm_eval with --log_samples)",
            )
            continue
        suite, run, notes = _task_run(
            doc, task, as_object(configs.get(task)), samples, path, stamp, imported
        )
        imported.add(suite, run, path, notes)


def _samples_file(results: Path, task: str, stamp: str | None) -> Path | None:
    if stamp is not None:
        exact = results.parent / f"samples_{task}_{stamp}.jsonl"
        return exact if exact.is_file() else None
    found = sorted(results.parent.glob(f"samples_{_glob_escape(task)}_*.jsonl"))
    return found[0] if len(found) == 1 else None


def _glob_escape(text: str) -> str:
    return re.sub(r"([*?\[])", r"[\1]", text)


def _file_safe(task: str) -> bool:
    """A task name from the results file is only used to name a file beside it, never a path."""
    return bool(task) and "/" not in task and "\\" not in task and task not in (".", "..")


# -- one task -----------------------------------------------------------------------------------


def _task_run(
    doc: dict[str, Any],
    task: str,
    config: dict[str, Any],
    samples: Path,
    results_path: Path,
    stamp: str | None,
    imported: Imported,
) -> tuple[BuiltSuite, dict[str, Any], list[str]]:
    task_results = as_object(doc["results"].get(task))
    split = _split_name(config)
    from evaltui.importers import lm_eval_fast

    task_samples = TaskSamples(samples, config, task_results, task, split)
    fast = lm_eval_fast.read_task(task_samples, imported.scratch)
    if fast is not None:  # DuckDB read the file (the same cases and results, in bulk)
        metric, filter_name = fast.metric, fast.filter_name
        cases: Any = fast.cases
        results: Any = fast.results
        unscored, binary = fast.unscored, fast.binary
    else:
        metric, filter_name, cases, results, unscored, binary = _read_rows(task_samples, imported)

    description = (
        f"lm-evaluation-harness task {task}: {len(cases)} document(s) of "
        f"{config.get('dataset_path') or task}"
        + (f"/{config['dataset_name']}" if config.get("dataset_name") else "")
        + f" ({split} split)"
    )
    suite = suite_doc(
        TOOL,
        task,
        split,
        cases,
        description=description,
        comparison_fields=COMPARISON_FIELDS,
    )

    model_name = _model_name(doc)
    metrics: dict[str, Any] = {}
    for key, value in task_results.items():
        if key != "alias" and as_number(value) is not None:
            metrics[key] = value
    headline = f"{metric},{filter_name}" if metric else None
    if headline and binary and as_number(task_results.get(headline)) is not None:
        metrics[EXACT_ROUTE_RATE] = task_results[
            headline
        ]  # the tool's claim, checked against the cases

    documents = len(results)
    run = run_doc(
        run_id=f"{TOOL}:{slug(model_name.rstrip('/').split('/')[-1], 'model')}:{slug(task)}:{slug(stamp or _date_stamp(doc))}",
        experiment=f"{TOOL}:{task}",
        artifact=model_name,
        suite=suite,
        started_at=_started(doc, stamp),
        params=_params(doc, task, config, metric, filter_name, split),
        metrics=metrics,
        tags={
            "imported_from": TOOL,
            "source_file": results_path.name,
            "samples_file": samples.name,
        },
        cases=results,
        incomplete=_incomplete(doc, task, documents),
    )
    notes = []
    if metric is not None and unscored:
        verb = agree(unscored, "has", "have")
        notes.append(f"unscored: {count(unscored, 'document')} {verb} no {metric} value")
    if metric is None:
        notes.append("unscored: no per-sample metric with values in [0, 1] to judge documents by")
    else:
        notes.append(f"judged by {metric} (filter {filter_name})")
    return suite, run, notes


@dataclass(frozen=True, slots=True)
class TaskSamples:
    """One task's samples file, with what the results file says of the task."""

    path: Path
    config: dict[str, Any]
    task_results: dict[str, Any]
    task: str
    split: str


def _read_rows(
    task_samples: TaskSamples, imported: Imported
) -> tuple[str | None, str, Any, Any, int, bool]:
    """The documents read row by row in Python (`_scan`, then `rows()`): the exact reader, and
    the one that names every problem."""
    samples, config, task_results = (
        task_samples.path,
        task_samples.config,
        task_samples.task_results,
    )
    task, split = task_samples.task, task_samples.split
    scan = _scan(samples, config)
    metric = _judging_metric(scan, config, task_results)
    filter_name = scan.first.get("filter") or _filters(config)[0]

    cases = imported.spool(samples, cases=True)
    results = imported.spool(samples, cases=False)
    unscored = 0
    binary = metric is not None
    for _line, row in scan.rows():
        doc_id = row["doc_id"]
        cases.add(_case(task, row, config, split))
        route = ROUTE_UNSCORED
        value = row.get(metric) if metric is not None else None
        score = float(value) if isinstance(value, bool) else as_number(value)
        if score is None:
            binary = False  # a document without a value (NaN, missing) stays UNSCORED
            unscored += 1
        else:
            route = (
                ROUTE_CORRECT
                if score == 1.0
                else ROUTE_INCORRECT
                if score == 0.0
                else ROUTE_PARTIAL
            )
            binary = binary and score in (0.0, 1.0)
        result: dict[str, Any] = {
            "case_id": str(doc_id),
            "route": route,
            "metadata": _metadata(row),
        }
        if score is not None:
            result["score"] = score
        output = _output(row)
        if output is not None:
            result["output"] = output
        results.add(result)

    return metric, filter_name, cases.finish(), results.finish(), unscored, binary


def _incomplete(doc: dict[str, Any], task: str, documents: int) -> str | None:
    """Fewer documents in the samples file than the results file says were evaluated."""
    declared = as_number(as_object(as_object(doc.get("n-samples")).get(task)).get("effective"))
    if declared is not None and documents < declared:
        return f"{documents} of the {int(declared)} documents the results file declares"
    return None


_NO_FILTER = "\x00no filter"  # the class of rows without a 'filter' key


def _filter_class(row: dict[str, Any]) -> str:
    if "filter" not in row:
        return _NO_FILTER
    return compact(row["filter"])


@dataclass
class _Class:
    """What the first pass keeps of the rows of one filter value (or of rows without one)."""

    first: dict[str, Any]
    first_line: int
    doc_ids: dict[Any, int] = field(default_factory=dict)  # doc_id -> its first line
    again: tuple[int, Any, int] | None = None  # the first repeat: (line, doc_id, first line)
    # per key: (some row has a non-null value, every non-null value is a unit value)
    values: dict[str, list[bool]] = field(default_factory=dict)


@dataclass
class _Scan:
    """A samples file read once to check it and choose its rows; `rows()` reads it again.

    The rows of the task's first filter (and those without a filter key) are the documents; a
    second pass yields them one at a time, so the file is never held in memory.
    """

    path: Path
    classes: dict[str, _Class]
    kept: list[str]  # the classes that are the documents

    @property
    def first(self) -> dict[str, Any]:
        return min((self.classes[k] for k in self.kept), key=lambda c: c.first_line).first

    def rows(self) -> Iterator[tuple[int, dict[str, Any]]]:
        kept = set(self.kept)
        every = len(kept) == len(self.classes)
        for line, row in stream_jsonl(self.path, strict=False, checked=True):
            if every or _filter_class(row) in kept:
                yield line, row

    def values(self, name: str) -> tuple[bool, bool]:
        """(some document has a value for `name`, all those values lie in [0, 1])."""
        present, unit = False, True
        for key in self.kept:
            seen = self.classes[key].values.get(name)
            if seen is not None:
                present = present or seen[0]
                unit = unit and seen[1]
        return present, unit


def _scan(samples: Path, config: dict[str, Any]) -> _Scan:
    """The sample rows of the task's first filter, one per document, checked (`_Scan`)."""
    classes: dict[str, _Class] = {}
    filters_seen: dict[str, Any] = {}  # class -> the filter value, for truthy filters
    for line, row in stream_jsonl(samples, strict=False):
        if not isinstance(row, dict) or "doc_id" not in row:
            raise InputError(samples, "not an lm-evaluation-harness sample row (no 'doc_id')", line)
        doc_id = row["doc_id"]
        if isinstance(doc_id, bool) or not isinstance(doc_id, int | str) or doc_id == "":
            raise InputError(
                samples, f"doc_id must be an integer or a string, found {doc_id!r}", line
            )
        key = _filter_class(row)
        if row.get("filter"):
            filters_seen.setdefault(key, row["filter"])
        found = classes.get(key)
        if found is None:
            found = classes[key] = _Class(row, line)
        first = found.doc_ids.setdefault(doc_id, line)
        if first != line and found.again is None:
            found.again = (line, doc_id, first)
        for name, value in row.items():
            if value is None:
                continue
            seen = found.values.get(name)
            if seen is None:
                found.values[name] = [True, _unit_value(value)]
            elif seen[1] and not _unit_value(value):
                seen[1] = False
    kept = list(classes)
    if filters_seen:
        declared = [f for f in _filters(config) if f in filters_seen.values()]
        primary = declared[0] if declared else next(iter(filters_seen.values()))
        kept = [k for k in (_NO_FILTER, compact(primary)) if k in classes]
    _refuse_repeats(samples, [classes[k] for k in kept])
    return _Scan(samples, classes, kept)


def _refuse_repeats(samples: Path, kept: list[_Class]) -> None:
    """A doc_id twice among the documents: named at its first repeat, as a reader in file order
    would find it."""
    repeats = [c.again for c in kept if c.again is not None]
    if len(kept) == 2:
        small, large = sorted(kept, key=lambda c: len(c.doc_ids))
        for doc_id, line in small.doc_ids.items():
            other = large.doc_ids.get(doc_id)
            if other is not None:
                repeats.append((max(line, other), doc_id, min(line, other)))
    if repeats:
        line, doc_id, first = min(repeats, key=lambda r: r[0])
        raise InputError(
            samples,
            f"doc_id {doc_id!r} appears again (first at line {first}) "
            "without a 'filter' key to tell the rows apart",
            line,
        )


def _filters(config: dict[str, Any]) -> list[str]:
    names = [f.get("name") for f in as_list(config.get("filter_list")) if isinstance(f, dict)]
    return [n for n in names if isinstance(n, str) and n] or ["none"]


def _judging_metric(
    scan: _Scan, config: dict[str, Any], task_results: dict[str, Any]
) -> str | None:
    """The first metric, in the task's order, whose per-sample values all lie in [0, 1].

    A sample without a value (missing, or NaN read as null) does not disqualify the metric: that
    document is routed UNSCORED.
    """
    candidates: list[str] = []
    for item in as_list(config.get("metric_list")):
        if isinstance(item, dict) and isinstance(item.get("metric"), str):
            candidates.append(item["metric"])
    first = scan.first
    if isinstance(first.get("metrics"), list):
        candidates += [m for m in first["metrics"] if isinstance(m, str)]
    candidates += [k.split(",")[0] for k in task_results if "," in k and "_stderr" not in k]
    candidates += [k for k in first if k not in SAMPLE_KEYS]
    for name in dict.fromkeys(candidates):
        present, unit = scan.values(name)
        if present and unit:
            return name
    return None


def _unit_value(value: Any) -> bool:
    if isinstance(value, bool):
        return True
    number = as_number(value) if not isinstance(value, str) else None
    return number is not None and 0.0 <= number <= 1.0


def _split_name(config: dict[str, Any]) -> str:
    for key in ("test_split", "validation_split"):
        name = split_name(config.get(key))
        if name:
            return name
    return "docs"


def _case(task: str, row: dict[str, Any], config: dict[str, Any], split: str) -> dict[str, Any]:
    doc = row.get("doc")
    doc_hash = row.get("doc_hash")
    if not isinstance(doc_hash, str) or not doc_hash:
        # Older writers have no doc_hash: hash the document the way lm-eval does.
        text = json.dumps(doc, indent=2, ensure_ascii=False, default=str)
        doc_hash = hashlib.sha256(text.encode("utf-8")).hexdigest()
    case: dict[str, Any] = {
        "case_id": str(row["doc_id"]),
        "doc_id": row["doc_id"],
        "doc_hash": doc_hash,
        "expected_route": ROUTE_CORRECT,
        "task": task,
    }
    if doc is not None:
        case["doc"] = doc
    dataset = config.get("dataset_path")
    if isinstance(dataset, str) and dataset:
        name = config.get("dataset_name")
        case["source"] = (
            f"{dataset}/{name}:{split}" if isinstance(name, str) and name else f"{dataset}:{split}"
        )
    return case


def _metadata(row: dict[str, Any]) -> dict[str, Any]:
    meta: dict[str, Any] = {"doc_id": row["doc_id"]}
    for key in ("target", "filter", "prompt_hash", "target_hash"):
        if row.get(key) is not None:
            meta[key] = row[key]
    values = {k: v for k, v in row.items() if k not in SAMPLE_KEYS}
    if values:
        meta["metrics"] = values
    resps = row.get("resps")
    if resps is not None:
        meta["resps"] = resps
    prompt = _prompt(row.get("arguments"))
    if prompt is not None:
        meta["prompt"] = prompt
    return meta


def _prompt(arguments: Any) -> str | None:
    """The first request's context: the prompt the model saw (few-shot examples included)."""
    if isinstance(arguments, dict) and arguments:
        first = next(iter(arguments.values()))
        if isinstance(first, dict) and isinstance(first.get("arg_0"), str):
            return first["arg_0"]
    if isinstance(arguments, list) and arguments:
        first = arguments[0]
        if isinstance(first, list) and first and isinstance(first[0], str):
            return first[0]
    return None


def _output(row: dict[str, Any]) -> str | None:
    """What the model answered: the filtered response, or the choice with the best log-likelihood."""
    filtered = row.get("filtered_resps")
    if isinstance(filtered, str):
        return filtered
    if not isinstance(filtered, list) or not filtered:
        return None
    if len(filtered) == 1 and isinstance(filtered[0], str):
        return filtered[0]
    scores = [_loglikelihood(item) for item in filtered]
    if all(s is not None for s in scores):
        best = max(range(len(scores)), key=lambda i: scores[i])  # type: ignore[arg-type,return-value]
        return f"choice {best}" if len(scores) > 1 else f"loglikelihood {scores[0]}"
    return json.dumps(filtered, ensure_ascii=False)


def _loglikelihood(item: Any) -> float | None:
    """A multiple-choice response is [log-likelihood, is_greedy] (older writers: strings)."""
    if isinstance(item, list) and item:
        return as_number(item[0])
    return as_number(item) if isinstance(item, int | float) else None


# -- run header -----------------------------------------------------------------------------------


def _model_name(doc: dict[str, Any]) -> str:
    name = doc.get("model_name")
    if isinstance(name, str) and name:
        return name
    args = as_object(doc.get("config")).get("model_args")
    if isinstance(args, str):
        for part in args.split(","):
            key, _, value = part.partition("=")
            if key.strip() in ("pretrained", "model", "model_name") and value.strip():
                return value.strip()
    model = as_object(doc.get("config")).get("model")
    return model if isinstance(model, str) and model else "unknown-model"


def _started(doc: dict[str, Any], stamp: str | None) -> datetime:
    date = as_number(doc.get("date"))
    when = from_unix(date) if date is not None else None
    if when is not None:
        return when
    if stamp:
        try:
            return datetime.fromisoformat(re.sub(r"T(\d\d)-(\d\d)-(\d\d)", r"T\1:\2:\3", stamp))
        except ValueError:
            pass
    return EPOCH


def _date_stamp(doc: dict[str, Any]) -> str:
    return _started(doc, None).strftime("%Y-%m-%dT%H-%M-%S")


def _evaluator_digest(config: dict[str, Any], metric: str | None, filter_name: str) -> str:
    """A hash of how the task prompts and judges (`EVALUATOR_CONFIG_KEYS`), with the metric and
    filter evaltui judges by; readable fields sit beside it in the params."""
    judged = {key: config.get(key) for key in EVALUATOR_CONFIG_KEYS if config.get(key) is not None}
    judged["judged_by"] = [metric, filter_name]
    return hashlib.sha256(compact(judged).encode("utf-8")).hexdigest()[:16]


def _params(
    doc: dict[str, Any],
    task: str,
    config: dict[str, Any],
    metric: str | None,
    filter_name: str,
    split: str,
) -> dict[str, Any]:
    run_config = as_object(doc.get("config"))
    n_samples = as_object(as_object(doc.get("n-samples")).get(task))
    params: dict[str, Any] = {
        "task": task,
        "task_version": as_object(doc.get("versions")).get(task),
        "task_hash": as_object(doc.get("task_hashes")).get(task),
        "output_type": config.get("output_type"),
        "num_fewshot": as_object(doc.get("n-shot")).get(task, config.get("num_fewshot")),
        "metric": metric,
        "filter": filter_name,
        "dataset_path": config.get("dataset_path"),
        "dataset_name": config.get("dataset_name"),
        "split": split,
        "doc_to_text": config.get("doc_to_text"),
        "doc_to_target": config.get("doc_to_target"),
        "doc_to_choice": config.get("doc_to_choice"),
        "generation_kwargs": config.get("generation_kwargs"),
        "evaluator_digest": _evaluator_digest(config, metric, filter_name),
        "samples_original": n_samples.get("original"),
        "samples_effective": n_samples.get("effective"),
    }
    for key in (
        "model",
        "model_args",
        "model_sha",
        "model_dtype",
        "model_revision",
        "model_num_parameters",
        "batch_size",
        "limit",
        "gen_kwargs",
        "random_seed",
        "numpy_seed",
        "torch_seed",
        "fewshot_seed",
        "bootstrap_iters",
    ):
        params[key] = run_config.get(key)
    for key in (
        "lm_eval_version",
        "git_hash",
        "transformers_version",
        "model_source",
        "chat_template_sha",
        "system_instruction_sha",
        "fewshot_as_multiturn",
        "max_length",
    ):
        params[key] = doc.get(key)
    return params
