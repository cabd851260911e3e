"""promptfoo results: the JSON file `promptfoo eval -o results.json` writes (results version 3).

One run per provider and prompt. The cases are the eval's tests: a case per test, holding its
`vars` (and description) and identified by a digest of them, so the same test set gives the same
suite (`promptfoo.tests.<digest>`) in every eval file and for every provider; runs over it pair
case by case. Every case expects CORRECT; the route is promptfoo's own verdict on the test:
CORRECT when the grading result passed, INCORRECT when it failed, ERROR when the provider or an
assertion errored (failureReason 2), UNSCORED when the test had no assertion. The grading score
is the case score; named scores, each assertion's result, the output, latency and tokens are kept.

How the tests were graded is the run's evaluator identity: the assertions (type, value, metric,
threshold, weight, per test) and the grading options (grader provider, rubric prompt) are digested
into `promptfoo.evaluator`, with the readable `promptfoo.assertions` and `promptfoo.grader`
beside it; all three are comparison fields, so runs graded differently are never ranked.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from evaltui.contract.fingerprint import COMBINED_FIELD, canonical_case
from evaltui.contract.jsonio import parse_json_bytes
from evaltui.errors import InputError
from evaltui.importers.common import (
    EPOCH,
    EXACT_ROUTE_RATE,
    ROUTE_CORRECT,
    ROUTE_ERROR,
    ROUTE_INCORRECT,
    ROUTE_UNSCORED,
    BuiltSuite,
    Imported,
    as_list,
    as_number,
    as_object,
    compact,
    importing,
    parse_time,
    require_source,
    run_doc,
    slug,
    suite_doc,
    walk_files,
)
from evaltui.plural import agree, count

TOOL = "promptfoo"
EVALUATOR = "promptfoo.evaluator"
ASSERTIONS = "promptfoo.assertions"
GRADER = "promptfoo.grader"
COMPARISON_FIELDS = [COMBINED_FIELD, EVALUATOR, ASSERTIONS, GRADER]
MAX_FILE_BYTES = 512 * 1024 * 1024  # one JSON document, parsed whole: bounded by this
MAX_FOLDER_FILES = 1000
FAILURE_ERROR = 2  # promptfoo's ResultFailureReason: 0 none, 1 assertion failed, 2 error
# Assertion types whose verdict comes from a model: their grader is part of the evaluator.
MODEL_GRADED = (
    "llm-rubric",
    "g-eval",
    "factuality",
    "model-graded-",
    "answer-relevance",
    "context-",
    "select-best",
    "similar",
    "classifier",
    "moderation",
    "search-rubric",
    "conversation-relevance",
)
# Grading options that change a verdict; the rest of a test's options (e.g. a prefix) do not.
GRADING_OPTIONS = ("provider", "rubricPrompt", "transform", "postprocess", "disableVarExpansion")


def read_promptfoo(source: Path) -> Imported:
    """Import one results file, or every promptfoo results file in a folder."""
    require_source(source)
    with importing(TOOL) as imported:
        if source.is_dir():
            files = [p for p in walk_files(source) if p.suffix == ".json"][:MAX_FOLDER_FILES]
            for path in files:
                doc = _read(path)
                if _is_results(doc):
                    _import_file(path, doc, imported)
                else:
                    imported.skip(path, "not a promptfoo results file (no evalId and results)")
        else:
            doc = _read(source)
            if not _is_results(doc):
                raise InputError(
                    source,
                    "not a promptfoo results file: expected the JSON `promptfoo eval -o FILE.json` "
                    'writes ({"evalId", "results": {"version", "prompts", "results"}})',
                )
            _import_file(source, doc, imported)
        imported.require_runs(source, "promptfoo results file")
        return imported


def _read(path: Path) -> Any:
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise InputError(
                path,
                f"{size:,} bytes: larger than the {MAX_FILE_BYTES / 2**20:g} MiB evaltui reads from "
                "one promptfoo results file; export fewer tests per file",
            )
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(path, f"cannot read file: {exc.strerror}") from None
    return parse_json_bytes(data, path, strict=False)


def _is_results(doc: Any) -> bool:
    inner = doc.get("results") if isinstance(doc, dict) else None
    return isinstance(inner, dict) and "evalId" in doc and isinstance(inner.get("results"), list)


# -- one results file -----------------------------------------------------------------------------


def _import_file(path: Path, doc: dict[str, Any], imported: Imported) -> None:
    body = doc["results"]
    version = body.get("version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 3:
        raise InputError(
            path,
            f"promptfoo results version {version!r}; evaltui reads version 3 and later "
            "(promptfoo 0.50 or newer): re-export with `promptfoo export`",
        )
    prompts = as_list(body.get("prompts"))
    rows = body["results"]
    for number, row in enumerate(rows):
        problem = _row_problem(row, len(prompts))
        if problem:
            raise InputError(path, f"results.results[{number}]: {problem}")
    tests = _tests(rows, path)
    groups: dict[tuple[str, int], list[dict[str, Any]]] = {}  # by provider and promptIdx
    for row in rows:
        groups.setdefault((_provider_key(row), row["promptIdx"]), []).append(row)
    if not groups:
        raise InputError(path, "the results file holds no results")
    suite = suite_doc(
        TOOL,
        "tests",
        "tests",
        [tests[index] for index in sorted(tests)],
        description=f"promptfoo tests: {len(tests)} test(s), each a case with its vars",
        comparison_fields=COMPARISON_FIELDS,
    )
    # `prompts` has one entry per provider and prompt (a column of promptfoo's table); a run's
    # name only needs the prompt when the eval had several.
    texts = {_prompt_key(group[0], prompts) for group in groups.values()}
    for (_provider, prompt_index), group in groups.items():
        _import_run(path, doc, group, prompt_index, tests, suite, len(texts) > 1, imported)


def _prompt_key(row: dict[str, Any], prompts: list[Any]) -> str:
    """Which prompt a result used: promptfoo's prompt id (a hash of the template), else its text."""
    if isinstance(row.get("promptId"), str) and row["promptId"]:
        return row["promptId"]
    index = row["promptIdx"]
    prompt = as_object(prompts[index]) if index < len(prompts) else {}
    return str(prompt.get("raw") or prompt.get("label") or index)


def _row_problem(row: Any, prompt_count: int) -> str | None:
    if not isinstance(row, dict):
        return "a result must be a JSON object"
    for key in ("testIdx", "promptIdx"):
        value = row.get(key)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            return f"{key!r} must be a non-negative integer"
    if prompt_count and row["promptIdx"] >= prompt_count:
        return f"promptIdx {row['promptIdx']} is past the {count(prompt_count, 'prompt')} listed"
    if _provider_key(row) == "":
        return "no provider id"
    if not isinstance(row.get("vars", {}), dict):
        return "'vars' must be an object"
    return None


def _provider_key(row: dict[str, Any]) -> str:
    provider = row.get("provider")
    if isinstance(provider, str):
        return provider
    provider = as_object(provider)
    name = provider.get("label") or provider.get("id")
    return name if isinstance(name, str) else ""


def _tests(rows: list[dict[str, Any]], path: Path) -> dict[int, dict[str, Any]]:
    """One case per test index: its vars and description, identified by a digest of them."""
    tests: dict[int, dict[str, Any]] = {}
    ids: dict[str, int] = {}
    for row in rows:
        index = row["testIdx"]
        case = _case(row)
        known = tests.get(index)
        if known is not None:
            if canonical_case({**known, "case_id": ""}) != canonical_case({**case, "case_id": ""}):
                raise InputError(path, f"test {index} has different vars in two results")
            continue
        base = case["case_id"]
        count = ids.get(base, 0) + 1
        ids[base] = count
        if count > 1:
            case["case_id"] = f"{base}~{count}"  # two tests with the same vars
        tests[index] = case
    return tests


def _case(row: dict[str, Any]) -> dict[str, Any]:
    test = as_object(row.get("testCase"))
    variables = row.get("vars") if isinstance(row.get("vars"), dict) else test.get("vars")
    variables = variables if isinstance(variables, dict) else {}
    identity: dict[str, Any] = {"vars": variables}
    description = test.get("description")
    if isinstance(description, str) and description:
        identity["description"] = description
    digest = hashlib.sha256(canonical_case(identity).encode("utf-8")).hexdigest()[:12]
    return {"case_id": f"t-{digest}", "expected_route": ROUTE_CORRECT, **identity}


def _import_run(
    path: Path,
    doc: dict[str, Any],
    rows: list[dict[str, Any]],
    prompt_index: int,
    tests: dict[int, dict[str, Any]],
    suite: BuiltSuite,
    several_prompts: bool,
    imported: Imported,
) -> None:
    body = doc["results"]
    prompts = as_list(body.get("prompts"))
    prompt = as_object(prompts[prompt_index]) if prompt_index < len(prompts) else {}
    provider = rows[0].get("provider")
    provider = provider if isinstance(provider, dict) else {"id": provider}
    provider_name = _provider_key(rows[0])
    seen: dict[int, int] = {}
    results = []
    for number, row in enumerate(rows):
        index = row["testIdx"]
        if index in seen:
            raise InputError(
                path,
                f"provider {provider_name!r} has two results for test {index} (promptfoo --repeat?); "
                "evaltui reads one result per test and provider",
            )
        seen[index] = number
        results.append(_result(row, tests[index]["case_id"]))
    evaluator = _evaluator(rows, as_object(doc.get("config")))
    metrics = _metrics(as_object(prompt.get("metrics")), len(rows))
    metadata = as_object(doc.get("metadata"))
    config = as_object(doc.get("config"))
    eval_id = str(doc.get("evalId") or path.stem)
    label = prompt.get("label") if isinstance(prompt.get("label"), str) else None
    artifact = provider_name + (
        f" [{label or f'prompt {prompt_index}'}]" if several_prompts else ""
    )
    params: dict[str, Any] = {
        **evaluator,
        "promptfoo.provider_id": provider.get("id"),
        "promptfoo.provider_label": provider.get("label"),
        "promptfoo.provider_config": _provider_config(config, provider),
        "promptfoo.prompt_id": prompt.get("id") or rows[0].get("promptId"),
        "promptfoo.prompt": prompt.get("raw"),
        "promptfoo.prompt_label": label,
        "promptfoo.eval_id": eval_id,
        "promptfoo.version": metadata.get("promptfooVersion"),
        "promptfoo.node_version": metadata.get("nodeVersion"),
        "promptfoo.repeat": as_object(doc.get("runtimeOptions")).get("repeat"),
        "promptfoo.description": config.get("description"),
    }
    tags: dict[str, Any] = {
        "imported_from": TOOL,
        "source_file": path.name,
        **{f"promptfoo.tag.{k}": v for k, v in as_object(config.get("tags")).items()},
    }
    started = parse_time(body.get("timestamp")) or parse_time(metadata.get("evaluationCreatedAt"))
    prompt_id = str(prompt.get("id") or rows[0].get("promptId") or prompt_index)
    prompt_part = f":{slug(prompt_id[:12], 'prompt')}" if several_prompts else ""
    run = run_doc(
        run_id=f"{TOOL}:{slug(eval_id, 'eval')}:{slug(provider_name, 'provider')}{prompt_part}",
        experiment=suite.suite_id,  # the test set: every eval of it, however graded, side by side
        artifact=artifact,
        suite=suite,
        started_at=started or EPOCH,
        params=params,
        metrics=metrics,
        tags=tags,
        cases=results,
    )
    notes = [f"graded by {evaluator[ASSERTIONS] or 'no assertion'}"]
    missing = len(tests) - len(rows)
    if missing:
        verb = agree(missing, "has", "have")
        notes.append(f"{count(missing, 'test')} {verb} no result for this provider")
    errors = sum(1 for r in results if r["route"] == ROUTE_ERROR)
    if errors:
        notes.append(f"{count(errors, 'test')} errored")
    imported.add(suite, run, path, notes)


def _result(row: dict[str, Any], case_id: str) -> dict[str, Any]:
    grading = row.get("gradingResult")
    grading = grading if isinstance(grading, dict) else None
    if row.get("failureReason") == FAILURE_ERROR:
        route = ROUTE_ERROR
    elif grading is None or not isinstance(grading.get("pass"), bool):
        route = ROUTE_ERROR if row.get("error") else ROUTE_UNSCORED
    else:
        route = ROUTE_CORRECT if grading["pass"] else ROUTE_INCORRECT
    result: dict[str, Any] = {"case_id": case_id, "route": route}
    score = as_number((grading or {}).get("score", row.get("score")))
    if score is not None:
        result["score"] = score
    latency = as_number(row.get("latencyMs"))
    if latency is not None and latency >= 0:
        result["latency_ms"] = latency
    tokens = as_number(as_object(row.get("tokenUsage")).get("total"))
    if tokens is not None and tokens.is_integer() and 0 <= tokens < 2**63:
        result["tokens"] = int(tokens)
    output = as_object(row.get("response")).get("output")
    if output is not None:
        result["output"] = output if isinstance(output, str) else compact(output)
    metadata: dict[str, Any] = {"test_index": row["testIdx"]}
    named = row.get("namedScores") or (grading or {}).get("namedScores")
    if isinstance(named, dict) and named:
        metadata["named_scores"] = named
    if grading is not None:
        if isinstance(grading.get("reason"), str):
            metadata["reason"] = grading["reason"]
        components = [
            {
                "type": as_object(c.get("assertion")).get("type"),
                "metric": as_object(c.get("assertion")).get("metric"),
                "pass": c.get("pass"),
                "score": c.get("score"),
                "reason": c.get("reason"),
            }
            for c in as_list(grading.get("componentResults"))
            if isinstance(c, dict)
        ]
        if components:
            metadata["assertions"] = components
    if isinstance(row.get("error"), str) and route == ROUTE_ERROR:
        metadata["error"] = row["error"][:4000]
    cost = as_number(row.get("cost"))
    if cost:
        metadata["cost"] = cost
    result["metadata"] = metadata
    return result


# -- the run header -------------------------------------------------------------------------------


def _evaluator(rows: list[dict[str, Any]], config: dict[str, Any]) -> dict[str, str]:
    """The evaluator identity: a digest of every test's assertions and grading options."""
    per_test: dict[int, Any] = {}
    types: dict[str, None] = {}
    graders: dict[str, None] = {}
    default_options = as_object(as_object(config.get("defaultTest")).get("options"))
    for row in rows:
        test = as_object(row.get("testCase"))
        asserts = [a for a in as_list(test.get("assert")) if isinstance(a, dict)]
        options = {**default_options, **as_object(test.get("options"))}
        grading = {k: options[k] for k in GRADING_OPTIONS if k in options}
        per_test[row["testIdx"]] = {"assert": _assertions(asserts), "options": grading}
        for item in asserts:
            kind = item.get("type")
            if isinstance(kind, str):
                metric = item.get("metric")
                types[f"{kind}:{metric}" if isinstance(metric, str) and metric else kind] = None
                if kind.removeprefix("not-").startswith(MODEL_GRADED):
                    provider = item.get("provider") or grading.get("provider")
                    graders[_grader_name(provider)] = None
    identity = {"tests": [per_test[index] for index in sorted(per_test)]}
    digest = hashlib.sha256(canonical_case(identity).encode("utf-8")).hexdigest()[:16]
    return {
        EVALUATOR: digest,
        ASSERTIONS: ", ".join(sorted(types)),
        GRADER: ", ".join(sorted(graders)) or "none (no model-graded assertion)",
    }


def _assertions(asserts: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    keep = ("type", "value", "metric", "threshold", "weight", "provider", "transform", "assert")
    return [{k: a[k] for k in keep if k in a} for a in asserts]


def _grader_name(provider: Any) -> str:
    if isinstance(provider, str) and provider:
        return provider
    if isinstance(provider, dict):
        name = provider.get("id") or provider.get("label")
        if isinstance(name, str) and name:
            return name
        return compact(provider)
    return "promptfoo default grader"


def _provider_config(config: dict[str, Any], provider: dict[str, Any]) -> Any:
    for item in as_list(config.get("providers")):
        if (
            isinstance(item, dict)
            and item.get("id") == provider.get("id")
            and item.get("label") in (None, provider.get("label"))
        ):
            return item.get("config")
    return None


def _metrics(prompt_metrics: dict[str, Any], count: int) -> dict[str, Any]:
    metrics: dict[str, Any] = {}
    for key in (
        "score",
        "testPassCount",
        "testFailCount",
        "testErrorCount",
        "assertPassCount",
        "assertFailCount",
        "totalLatencyMs",
        "cost",
    ):
        if as_number(prompt_metrics.get(key)) is not None:
            metrics[key] = prompt_metrics[key]
    counts = as_object(prompt_metrics.get("namedScoresCount"))
    for name, total in as_object(prompt_metrics.get("namedScores")).items():
        total_value, seen = as_number(total), as_number(counts.get(name))
        if total_value is not None and seen:
            metrics[f"named.{name}"] = total_value / seen
    passed = as_number(prompt_metrics.get("testPassCount"))
    judged = [
        as_number(prompt_metrics.get(k))
        for k in ("testPassCount", "testFailCount", "testErrorCount")
    ]
    if passed is not None and all(v is not None for v in judged):
        total_count = sum(v for v in judged if v is not None)
        if total_count == count and count:
            metrics[EXACT_ROUTE_RATE] = (
                passed / count
            )  # promptfoo's claim, checked against the cases
    return metrics
