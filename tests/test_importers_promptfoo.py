"""promptfoo: results files written by promptfoo 0.121.20 (tests/real_logs/promptfoo/README.md).

Two evals of the same six tests, each over two providers (promptfoo's `echo` and a local `exec:`
keyword classifier): `results.json` graded by `icontains`, `results-equals.json` by `equals`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from evaltui.importers import promptfoo
from evaltui.importers.pipeline import prepare
from tests.conftest import REPO
from tests.importer_support import imported, refused

LOGS = REPO / "tests" / "real_logs" / "promptfoo"
ICONTAINS = LOGS / "results.json"
EQUALS = LOGS / "results-equals.json"
EVAL_ID = "eval-TjD-2026-12-06T03:20:55"
ECHO = f"promptfoo:{EVAL_ID}:echo"
CLASSIFIER = f"promptfoo:{EVAL_ID}:keyword-classifier"


def _tool_rows(path: Path) -> list[dict[str, Any]]:
    return json.loads(path.read_text(encoding="utf-8"))["results"]["results"]


def _runs(path: Path) -> dict[str, dict[str, Any]]:
    with prepare("promptfoo", path) as prepared:
        return {run.run_id: run.doc for run in prepared.imported.runs}


def _suite_cases(path: Path) -> list[dict[str, Any]]:
    with prepare("promptfoo", path) as prepared:
        (suite,) = prepared.imported.suites.values()
        return suite.doc["splits"]["tests"]


def test_one_run_per_provider_and_routes_are_promptfoos_verdicts() -> None:
    runs = _runs(ICONTAINS)
    assert sorted(runs) == [ECHO, CLASSIFIER]
    assert runs[ECHO]["artifact"] == "echo"
    cases = {c["case_id"]: c for c in _suite_cases(ICONTAINS)}
    assert len(cases) == 6
    by_vars = {json.dumps(c["vars"], sort_keys=True): c["case_id"] for c in cases.values()}
    for row in _tool_rows(ICONTAINS):
        run = runs[ECHO if row["provider"]["label"] == "echo" else CLASSIFIER]
        case_id = by_vars[json.dumps(row["vars"], sort_keys=True)]
        (result,) = [r for r in run["cases"] if r["case_id"] == case_id]
        if row["failureReason"] == 2:
            assert result["route"] == "ERROR"
            assert "classifier crashed" in result["metadata"]["error"]
        else:
            assert result["route"] == ("CORRECT" if row["gradingResult"]["pass"] else "INCORRECT")
            assert result["score"] == row["gradingResult"]["score"]
            assert result["metadata"]["named_scores"] == row["namedScores"]
            assert result["output"] == row["response"]["output"]
    # The case holds the test's vars; every case expects CORRECT.
    parcel = cases[by_vars[json.dumps({"intent": "track_order", "text": "Where is my parcel?"})]]
    assert parcel["description"] == "parcel" and parcel["expected_route"] == "CORRECT"


def test_evaluator_identity_is_in_params_and_the_contract() -> None:
    run = _runs(ICONTAINS)[ECHO]
    params = run["params"]
    assert params["promptfoo.assertions"] == "icontains:intent_match, javascript:brevity"
    assert params["promptfoo.grader"] == "none (no model-graded assertion)"
    assert len(params["promptfoo.evaluator"]) == 16
    assert params["promptfoo.version"] == "0.121.20"
    assert params["promptfoo.provider_id"] == "echo"
    assert run["metrics"]["named.intent_match"] == pytest.approx(1 / 6)
    with prepare("promptfoo", ICONTAINS) as prepared:
        (suite,) = prepared.imported.suites.values()
    assert {"promptfoo.evaluator", "promptfoo.assertions", "promptfoo.grader"} <= set(
        suite.doc["comparison_fields"]
    )


def test_two_providers_pair_case_by_case(run_cli, tmp_path: Path) -> None:
    store = tmp_path / "s.duckdb"
    report = imported(run_cli, "promptfoo", ICONTAINS, store)
    assert len(report["suites"]) == 1 and len(report["runs"]) == 2
    result = run_cli("compare", ECHO, CLASSIFIER, "--store", store, "--json")
    assert result.code == 0, result.err
    (run,) = [r for r in json.loads(result.out)["runs"] if r["run_id"] == CLASSIFIER]
    assert run["comparable"] is True
    # echo passes only "cancel"; the classifier passes four and errors on one (see the log).
    paired = run["paired"]
    assert (paired["n"], paired["fixed"], paired["broken"], paired["both_right"]) == (6, 3, 0, 1)
    assert run["metrics"]["recomputed"]["exact_route_rate"] == pytest.approx(4 / 6)
    assert run["metrics"]["logged"]["exact_route_rate"] == pytest.approx(4 / 6)
    assert run["status"] == "REJECT_UNSCORED"  # the errored test was never judged


def test_differently_graded_runs_are_incomparable(run_cli, tmp_path: Path) -> None:
    store = tmp_path / "s.duckdb"
    first = imported(run_cli, "promptfoo", ICONTAINS, store)
    second = imported(run_cli, "promptfoo", EQUALS, store)
    # The same tests make the same suite, whichever file and grading.
    assert first["suites"][0]["suite_id"] == second["suites"][0]["suite_id"]
    other_echo = "promptfoo:eval-iPi-2026-12-06T03:21:20:echo"
    result = run_cli("compare", ECHO, other_echo, "--store", store, "--json")
    assert result.code == 0, result.err
    (run,) = [r for r in json.loads(result.out)["runs"] if r["run_id"] == other_echo]
    assert run["comparable"] is False
    fields = {d["field"]: d for d in run["differences"]}
    assert set(fields) == {"promptfoo.evaluator", "promptfoo.assertions"}
    assert fields["promptfoo.assertions"]["value"] == "equals:intent_match, javascript:brevity"


def test_reimport_is_a_no_op(run_cli, tmp_path: Path) -> None:
    store = tmp_path / "s.duckdb"
    imported(run_cli, "promptfoo", ICONTAINS, store)
    again = imported(run_cli, "promptfoo", LOGS, store)  # the folder: both files
    assert len(again["runs"]) == 4
    assert sorted(again["load"]["runs_unchanged"]) == [ECHO, CLASSIFIER]


def test_other_importers_refuse_a_promptfoo_file_with_a_hint(run_cli, tmp_path: Path) -> None:
    for tool in ("lm-eval", "inspect", "mlflow", "wandb"):
        line = refused(run_cli, tool, ICONTAINS, tmp_path / "s.duckdb")
        assert (
            f"this looks like a promptfoo results file: evaltui import promptfoo {ICONTAINS}"
            in line
        )
    # lm-eval reads results_*.json in a folder: promptfoo's file under that name is named too.
    folder = tmp_path / "out"
    folder.mkdir()
    (folder / "results_2026-12-06.json").write_bytes(ICONTAINS.read_bytes())
    line = refused(run_cli, "lm-eval", folder, tmp_path / "s.duckdb")
    assert "this looks like a promptfoo results file" in line


def _edited(tmp_path: Path, edit: Any) -> Path:
    doc = json.loads(ICONTAINS.read_text(encoding="utf-8"))
    edit(doc)
    path = tmp_path / "results.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def test_an_old_results_version_is_refused(run_cli, tmp_path: Path) -> None:
    path = _edited(tmp_path, lambda d: d["results"].update(version=2))
    line = refused(run_cli, "promptfoo", path, tmp_path / "s.duckdb")
    assert "promptfoo results version 2" in line


def test_repeated_results_for_one_test_are_refused(run_cli, tmp_path: Path) -> None:
    path = _edited(tmp_path, lambda d: d["results"]["results"].append(d["results"]["results"][0]))
    line = refused(run_cli, "promptfoo", path, tmp_path / "s.duckdb")
    assert "two results for test 0" in line and "--repeat" in line


def test_a_bad_result_row_is_named(run_cli, tmp_path: Path) -> None:
    path = _edited(tmp_path, lambda d: d["results"]["results"][3].update(testIdx="3"))
    line = refused(run_cli, "promptfoo", path, tmp_path / "s.duckdb")
    assert line.endswith("results.results[3]: 'testIdx' must be a non-negative integer")


def test_a_file_over_the_size_limit_is_refused_unread(
    run_cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(promptfoo, "MAX_FILE_BYTES", 1000)
    line = refused(run_cli, "promptfoo", ICONTAINS, tmp_path / "s.duckdb")
    assert line.endswith(
        f"{ICONTAINS.stat().st_size:,} bytes: larger than the 0.000953674 MiB evaltui reads from "
        "one promptfoo results file; export fewer tests per file"
    )


def test_a_json_file_that_is_not_promptfoos_is_refused(run_cli, tmp_path: Path) -> None:
    path = tmp_path / "other.json"
    path.write_text('{"results": []}', encoding="utf-8")
    line = refused(run_cli, "promptfoo", path, tmp_path / "s.duckdb")
    assert "not a promptfoo results file" in line


def test_a_prompts_list_that_is_not_a_list_is_not_needed(tmp_path: Path) -> None:
    path = _edited(tmp_path, lambda d: d["results"].update(prompts={"not": "a list"}))
    runs = _runs(path)
    assert sorted(runs) == [ECHO, CLASSIFIER]
    assert "promptfoo.prompt" not in runs[ECHO]["params"]


def _notes(path: Path) -> dict[str, tuple[str, ...]]:
    with prepare("promptfoo", path) as prepared:
        return {run.run_id: run.notes for run in prepared.imported.runs}


@pytest.mark.parametrize(
    ("dropped", "said"),
    [
        (1, "1 test has no result for this provider"),
        (2, "2 tests have no result for this provider"),
    ],
)
def test_missing_results_are_counted_in_the_notes(tmp_path: Path, dropped: int, said: str) -> None:
    def drop(doc: dict[str, Any]) -> None:
        rows = doc["results"]["results"]
        echo = [i for i, r in enumerate(rows) if r["provider"]["label"] == "echo"][:dropped]
        doc["results"]["results"] = [r for i, r in enumerate(rows) if i not in echo]

    notes = _notes(_edited(tmp_path, drop))
    assert said in notes[ECHO]
    assert "1 test errored" in notes[CLASSIFIER]  # the classifier crashed on one test


def test_a_prompt_index_past_the_prompts_is_named(run_cli, tmp_path: Path) -> None:
    path = _edited(tmp_path, lambda d: d["results"].update(prompts=d["results"]["prompts"][:1]))
    line = refused(run_cli, "promptfoo", path, tmp_path / "s.duckdb")
    assert line.endswith("results.results[1]: promptIdx 1 is past the 1 prompt listed")
