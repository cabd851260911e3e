"""OpenAI Evals: record logs written by evals 3.0.1.post1 (tests/real_logs/openai_evals/README.md).

The same six-sample Match eval (`intents.dev.v0`, a registry made here) run offline with the
package's `dummy` completion function and a local keyword classifier (`keyword_fn.py`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from evaltui.importers import openai_evals
from evaltui.importers.pipeline import prepare
from tests.conftest import REPO
from tests.importer_support import imported, refused

LOGS = REPO / "tests" / "real_logs" / "openai_evals"
DUMMY, KEYWORD = LOGS / "dummy.jsonl", LOGS / "keyword.jsonl"
DUMMY_RUN, KEYWORD_RUN = "openai-evals:261206033425AOOQM7LQ", "openai-evals:261206033428HQBVEEP2"


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def _run(path: Path) -> dict[str, Any]:
    with prepare("openai-evals", path) as prepared:
        (run,) = prepared.imported.runs
        return run.doc


def test_routes_are_the_match_events_verdicts() -> None:
    run = _run(KEYWORD)
    by_id = {r["case_id"]: r for r in run["cases"]}
    events = [e for e in _lines(KEYWORD) if e.get("type") == "match"]
    assert len(events) == len(by_id) == 6
    for event in events:
        result = by_id[event["sample_id"]]
        assert result["route"] == ("CORRECT" if event["data"]["correct"] else "INCORRECT")
        assert result["output"] == event["data"]["sampled"]
    assert run["artifact"] == "keyword"
    assert run["metrics"]["accuracy"] == 1.0 == run["metrics"]["exact_route_rate"]
    assert run["params"]["openai_evals.eval_class"] == "evals.elsuite.basic.match:Match"
    assert json.loads(run["params"]["openai_evals.eval_args"]) == {
        "samples_jsonl": "intents/samples.jsonl"
    }
    dummy = {r["case_id"]: r for r in _run(DUMMY)["cases"]}
    assert {r["route"] for r in dummy.values()} == {"INCORRECT"}
    assert dummy["intents.dev.0"]["output"] == "This is a dummy response."


def test_two_completion_functions_pair_case_by_case(run_cli, tmp_path: Path) -> None:
    store = tmp_path / "s.duckdb"
    report = imported(run_cli, "openai-evals", LOGS, store)
    assert len(report["runs"]) == 2 and len(report["suites"]) == 1
    assert [s["path"].endswith("samples.jsonl") for s in report["skipped"]] == [True]
    result = run_cli("compare", DUMMY_RUN, KEYWORD_RUN, "--store", store, "--json")
    assert result.code == 0, result.err
    (run,) = [r for r in json.loads(result.out)["runs"] if r["run_id"] == KEYWORD_RUN]
    assert run["comparable"] is True
    assert (run["paired"]["n"], run["paired"]["fixed"], run["paired"]["broken"]) == (6, 6, 0)


def _written(tmp_path: Path, lines: list[Any]) -> Path:
    path = tmp_path / "log.jsonl"
    path.write_text("".join(json.dumps(x) + "\n" for x in lines), encoding="utf-8")
    return path


def test_another_eval_class_is_incomparable(run_cli, tmp_path: Path) -> None:
    lines = _lines(KEYWORD)
    lines[0]["spec"]["run_config"]["eval_spec"]["cls"] = "evals.elsuite.basic.includes:Includes"
    lines[0]["spec"]["run_id"] = "other"
    store = tmp_path / "s.duckdb"
    imported(run_cli, "openai-evals", DUMMY, store)
    imported(run_cli, "openai-evals", _written(tmp_path, lines), store)
    result = run_cli("compare", DUMMY_RUN, "openai-evals:other", "--store", store, "--json")
    (run,) = [r for r in json.loads(result.out)["runs"] if r["run_id"] == "openai-evals:other"]
    assert run["comparable"] is False
    assert [d["field"] for d in run["differences"]] == ["openai_evals.eval_class"]


def test_a_second_verdict_for_a_sample_is_refused(run_cli, tmp_path: Path) -> None:
    lines = _lines(KEYWORD)
    lines.append(lines[2])
    line = refused(run_cli, "openai-evals", _written(tmp_path, lines), tmp_path / "s.duckdb")
    assert "log.jsonl:9: sample 'intents.dev.3' has a second match event (first at line 3)" in line


def test_a_log_cut_before_its_final_report_loads_with_a_note(tmp_path: Path) -> None:
    lines = [x for x in _lines(KEYWORD) if "final_report" not in x][:4]
    with prepare("openai-evals", _written(tmp_path, lines)) as prepared:
        (run,) = prepared.imported.runs
    assert len(run.doc["cases"]) == 3
    assert "no final report (the run did not finish)" in run.notes
    assert "exact_route_rate" not in run.doc["metrics"]


def test_a_line_over_the_limit_is_refused(
    run_cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(openai_evals, "MAX_LINE_BYTES", 500)
    line = refused(run_cli, "openai-evals", KEYWORD, tmp_path / "s.duckdb")
    assert line.endswith("keyword.jsonl:1: a line longer than 0.000476837 MiB")


def test_a_jsonl_that_is_not_a_record_log_is_refused(run_cli, tmp_path: Path) -> None:
    path = _written(tmp_path, [{"input": "x", "ideal": "y"}])
    line = refused(run_cli, "openai-evals", path, tmp_path / "s.duckdb")
    assert "not an OpenAI Evals record log: the first line must be" in line


@pytest.mark.parametrize(
    ("unmatched", "said"),
    [
        (1, "1 sample without a match event: UNSCORED"),
        (2, "2 samples without a match event: UNSCORED"),
    ],
)
def test_samples_without_a_match_event_are_counted(
    tmp_path: Path, unmatched: int, said: str
) -> None:
    lines = _lines(KEYWORD)
    for line in [x for x in lines if x.get("type") == "match"][:unmatched]:
        line["type"] = "metrics"  # a model-graded eval's event: the sample is kept, UNSCORED
    with prepare("openai-evals", _written(tmp_path, lines)) as prepared:
        (run,) = prepared.imported.runs
    assert said in run.notes
    assert sum(r["route"] == "UNSCORED" for r in run.doc["cases"]) == unmatched
