"""MLflow GenAI: `mlflow.genai.evaluate` runs written by MLflow 3.17.2 (tests/real_logs/mlflow_genai).

The same three runs are in a file store and in an SQLite database; the cases are checked against
the assessments MLflow itself logged (read here with PyYAML and sqlite3, not by the importer).
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest
import yaml

from evaltui.review.report import review_runs
from evaltui.store.connection import Store
from evaltui.store.queries import get_run
from tests.importer_support import imported, refused

FILE_RUNS = {
    "genai-baseline": "adb076c07959494aa445e5bf5df20698",
    "genai-candidate": "87d8dc919fc84426964c6f67e4143a72",
    "genai-flaky": "c01879338eb24522b54fd08291cb0d2c",
}
SQLITE_RUNS = {
    "genai-baseline": "df7812118c3e423ca435d8028e70e195",
    "genai-candidate": "841b70e7a5b44e5589480a928048516b",
    "genai-flaky": "401cefce0c4e493eb71ad924203e6598",
}
SUITE = "mlflow.dataset.480c0aece5f2"


@pytest.fixture
def genai(real_logs: Path) -> Path:
    return real_logs / "mlflow_genai"


def _results(store: Path, run_id: str) -> dict[str, dict[str, Any]]:
    """The run's results by case id, with the case's fields."""
    with Store.open(store, read_only=True) as opened:
        rows = opened.con.execute(
            """SELECT r.case_id, r.route, r.score, r.output, r.metadata, c.canonical
               FROM results r JOIN runs u ON u.run_id = r.run_id
               JOIN cases c ON c.suite_id = u.suite_id AND c.case_id = r.case_id
               WHERE r.run_id = ?""",
            [run_id],
        ).fetchall()
    return {
        case: {
            "route": route,
            "score": score,
            "output": output,
            "metadata": json.loads(metadata),
            "case": json.loads(canonical),
        }
        for case, route, score, output, metadata, canonical in rows
    }


def _file_store_feedback(mlruns: Path) -> dict[str, dict[str, Any]]:
    """trace id -> assessment name -> value, from MLflow's own assessment files."""
    out: dict[str, dict[str, Any]] = {}
    for path in mlruns.glob("*/traces/*/assessments/*.yaml"):
        doc = yaml.safe_load(path.read_text())
        body = doc.get("feedback") or doc.get("expectation")
        out.setdefault(doc["trace_id"], {})[doc["assessment_name"]] = body.get("value")
    return out


def _sqlite_feedback(db: Path) -> dict[str, dict[str, Any]]:
    con = sqlite3.connect(db)
    try:
        rows = con.execute("SELECT trace_id, name, value FROM assessments").fetchall()
    finally:
        con.close()
    out: dict[str, dict[str, Any]] = {}
    for trace_id, name, value in rows:
        out.setdefault(trace_id, {})[name] = json.loads(value)
    return out


@pytest.mark.parametrize("backend", ["filestore", "sqlite"])
def test_cases_are_mlflows_own_assessments(
    genai: Path, run_cli, tmp_path: Path, backend: str
) -> None:
    """Every case's route is MLflow's `exact_match` value on that trace; the other scorers, the
    expectations and the inputs are kept; the flaky run's failed row is an ERROR."""
    store = tmp_path / "s.duckdb"
    data = imported(run_cli, "mlflow", genai / backend, store)
    ids = FILE_RUNS if backend == "filestore" else SQLITE_RUNS
    runs = {r["run_id"]: r for r in data["runs"]}
    assert set(runs) == {f"mlflow:{i}" for i in ids.values()}
    assert {r["suite_id"] for r in runs.values()} == {SUITE}
    assert all(r["cases"] == 6 for r in runs.values())
    feedback = (
        _file_store_feedback(genai / backend / "mlruns")
        if backend == "filestore"
        else _sqlite_feedback(genai / backend / "mlflow.db")
    )
    checked = 0
    for name, run in ids.items():
        results = _results(store, f"mlflow:{run}")
        for result in results.values():
            logged = feedback[result["metadata"]["trace_id"]]
            verdict = logged["exact_match"]
            if verdict is None:  # the scorer failed: only on the flaky run's Kenya row
                assert name == "genai-flaky" and result["route"] == "ERROR"
                assert result["metadata"]["trace_state"] == "ERROR"
                errors = result["metadata"]["scorers"]["exact_match"]["error"]
                assert errors.startswith("SCORER_ERROR: ")
                continue
            assert result["route"] == ("CORRECT" if verdict else "INCORRECT")
            assert result["score"] == (1.0 if verdict else 0.0)
            kept = result["metadata"]["scorers"]
            assert kept["brevity"]["value"] == logged["brevity"]
            assert kept["capitalised"]["value"] == logged["capitalised"]
            assert result["case"]["expectations"] == {
                "expected_response": logged["expected_response"]
            }
            checked += 1
    assert checked == 17
    baseline = _results(store, f"mlflow:{ids['genai-baseline']}")
    [france] = [r for r in baseline.values() if r["output"] == "paris"]
    assert france["case"]["inputs"] == {"question": "Capital of France?"}
    assert france["route"] == "CORRECT"  # `exact_match` ignores case
    assert france["metadata"]["scorers"]["capitalised"] == {
        "value": "no",
        "rationale": "starts in lower case",
    }


def test_both_backends_give_the_same_suite_and_verdicts(
    genai: Path, run_cli, tmp_path: Path
) -> None:
    a, b = tmp_path / "a.duckdb", tmp_path / "b.duckdb"
    imported(run_cli, "mlflow", genai / "filestore" / "mlruns", a)
    imported(run_cli, "mlflow", genai / "sqlite" / "mlflow.db", b)
    for name in FILE_RUNS:
        from_files = _results(a, f"mlflow:{FILE_RUNS[name]}")
        from_db = _results(b, f"mlflow:{SQLITE_RUNS[name]}")
        assert set(from_files) == set(from_db)
        for case_id, result in from_files.items():
            other = from_db[case_id]
            assert (result["route"], result["output"], result["case"]) == (
                other["route"],
                other["output"],
                other["case"],
            ), (name, case_id)


def test_baseline_and_candidate_pair_case_by_case(genai: Path, run_cli, tmp_path: Path) -> None:
    """Same rows and scorers: comparable. The candidate fixes Japan and breaks Spain and Peru."""
    store = tmp_path / "s.duckdb"
    imported(run_cli, "mlflow", genai / "filestore", store)
    base_id, cand_id, flaky_id = (f"mlflow:{FILE_RUNS[n]}" for n in FILE_RUNS)
    with Store.open(store, read_only=True) as opened:
        review = review_runs(opened.con, base_id, [cand_id, flaky_id])
        run = get_run(opened.con, cand_id)
    base, [cand, flaky] = review.baseline, review.runs
    assert base.metrics_recomputed["exact_route_rate"] == pytest.approx(5 / 6)
    assert base.run.metrics["exact_route_rate"] == base.run.metrics["exact_match/mean"]
    assert cand.metrics_recomputed["exact_route_rate"] == pytest.approx(4 / 6)
    assert cand.comparable and cand.evidence == (), cand.differences
    assert cand.paired is not None and (cand.paired.fixed, cand.paired.broken) == (1, 2)
    # an imported suite declares no quality guardrail until a gates file does (SPEC, Trust)
    assert base.status == cand.status == "NO_GUARDRAILS"
    # The flaky run's failed row is not judged: MLflow's mean over the other five is no claim.
    assert flaky.status == "REJECT_UNSCORED"
    assert "exact_route_rate" not in flaky.run.metrics
    assert flaky.run.metrics["exact_match/mean"] == 1.0
    params = run.params
    assert params["mlflow.scorer"] == "exact_match" and params["mlflow.judging"] == "pass/fail"
    scorers = json.loads(params["mlflow.scorers"])
    assert sorted(scorers) == ["brevity", "capitalised", "exact_match"]
    assert scorers["exact_match"]["source"] == "CODE:exact_match"
    assert scorers["exact_match"]["digest"].startswith("sha256:10f2addf")
    assert params["mlflow.dataset_digest"] == "23be3be4"
    assert params["mlflow.agent"] == "__main__.predictor.<locals>.answer"
    assert run.tags["mlflow.runType"] == "genai_evaluate"


def _copy(genai: Path, tmp_path: Path, backend: str) -> Path:
    target = tmp_path / "project"
    shutil.copytree(genai / backend, target)
    return target


def _run_traces(project: Path, run: str) -> list[Path]:
    return [
        p.parent.parent
        for p in project.glob("mlruns/*/traces/*/request_metadata/mlflow.sourceRun")
        if p.read_text() == run
    ]


def test_another_scorer_definition_is_incomparable(genai: Path, run_cli, tmp_path: Path) -> None:
    """The candidate's `exact_match` with another definition (MLflow's digest of it differs)."""
    project = _copy(genai, tmp_path, "filestore")
    for trace in _run_traces(project, FILE_RUNS["genai-candidate"]):
        for path in (trace / "assessments").glob("*.yaml"):
            path.write_text(path.read_text().replace("sha256:10f2addf", "sha256:00000000"))
    store = tmp_path / "s.duckdb"
    imported(run_cli, "mlflow", project, store)
    with Store.open(store, read_only=True) as opened:
        review = review_runs(
            opened.con,
            f"mlflow:{FILE_RUNS['genai-baseline']}",
            [f"mlflow:{FILE_RUNS['genai-candidate']}"],
        )
    [cand] = review.runs
    assert not cand.comparable and cand.reason == "differs: mlflow.scorers"


def test_without_a_pass_fail_scorer_the_score_in_0_1_judges(
    genai: Path, run_cli, tmp_path: Path
) -> None:
    """With `exact_match` and `capitalised` gone, `brevity` (a float) judges: 1 CORRECT, 1/3
    PARTIAL; and the run is judged by another scorer, so it is not ranked against the baseline."""
    project = _copy(genai, tmp_path, "filestore")
    for trace in _run_traces(project, FILE_RUNS["genai-candidate"]):
        for path in (trace / "assessments").glob("*.yaml"):
            if yaml.safe_load(path.read_text())["assessment_name"] in (
                "exact_match",
                "capitalised",
            ):
                path.unlink()
    store = tmp_path / "s.duckdb"
    imported(run_cli, "mlflow", project, store)
    results = _results(store, f"mlflow:{FILE_RUNS['genai-candidate']}")
    by_output = {r["output"]: (r["route"], r["score"]) for r in results.values()}
    assert by_output["It is Lima"] == ("PARTIAL", 0.333)
    assert by_output["Tokyo"] == ("CORRECT", 1.0)
    with Store.open(store, read_only=True) as opened:
        review = review_runs(
            opened.con,
            f"mlflow:{FILE_RUNS['genai-baseline']}",
            [f"mlflow:{FILE_RUNS['genai-candidate']}"],
        )
    [cand] = review.runs
    assert cand.run.params["mlflow.judging"] == "score in [0, 1]"
    assert not cand.comparable and "mlflow.scorer" in cand.reason


def test_a_run_without_traces_is_skipped(genai: Path, run_cli, tmp_path: Path) -> None:
    project = _copy(genai, tmp_path, "filestore")
    for trace in _run_traces(project, FILE_RUNS["genai-flaky"]):
        shutil.rmtree(trace)
    data = imported(run_cli, "mlflow", project, tmp_path / "s.duckdb")
    assert len(data["runs"]) == 2
    [skipped] = data["skipped"]
    assert "mlflow.genai.evaluate run without traces" in skipped["reason"]
    for trace in project.glob("mlruns/*/traces/*"):
        shutil.rmtree(trace)
    line = refused(run_cli, "mlflow", project, tmp_path / "t.duckdb")
    assert "nothing to import" in line


def test_damaged_assessment_and_trace_files_are_refused(
    genai: Path, run_cli, tmp_path: Path
) -> None:
    project = _copy(genai, tmp_path, "filestore")
    [trace, *_] = _run_traces(project, FILE_RUNS["genai-baseline"])
    [assessment, *_] = sorted((trace / "assessments").glob("*.yaml"))
    original = assessment.read_text()
    assessment.write_text("assessment_name: [unclosed\n")
    line = refused(run_cli, "mlflow", project, tmp_path / "s.duckdb")
    assert line.startswith(f"evaltui: {assessment}") and "invalid YAML" in line
    assessment.write_text(original.replace("feedback:", "nothing:").replace("expectation:", "x:"))
    line = refused(run_cli, "mlflow", project, tmp_path / "s.duckdb")
    assert "has neither 'feedback' nor 'expectation'" in line
    assessment.write_text(original)
    spans = trace / "artifacts" / "traces.json"
    spans.write_text(spans.read_text()[:100])
    line = refused(run_cli, "mlflow", project, tmp_path / "s.duckdb")
    assert line.startswith(f"evaltui: {spans}") and "invalid JSON" in line


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("UPDATE assessments SET value = '{oops' WHERE rowid = 1", "invalid JSON"),
        ("UPDATE assessments SET assessment_metadata = '[1]' WHERE rowid = 1", "not a JSON object"),
        ("UPDATE spans SET content = '{\"attributes\": ' WHERE rowid = 1", "invalid JSON"),
        ("UPDATE assessments SET assessment_type = 'vote' WHERE rowid = 1", "assessment_type"),
        # found by the fuzz test: a BLOB where MLflow writes text crashed the reader
        ("UPDATE assessments SET error = CAST('null' AS BLOB) WHERE rowid = 1", "holds bytes"),
        ("UPDATE spans SET content = x'7b7d' WHERE rowid = 1", "'spans.content' holds bytes"),
        (
            "DROP TABLE spans; CREATE VIEW spans AS SELECT * FROM trace_info",
            "'spans' is a view",
        ),
    ],
)
def test_damaged_sqlite_traces_are_refused(
    genai: Path, run_cli, tmp_path: Path, sql: str, expected: str
) -> None:
    project = _copy(genai, tmp_path, "sqlite")
    con = sqlite3.connect(project / "mlflow.db")
    con.executescript(sql)
    con.commit()
    con.close()
    line = refused(run_cli, "mlflow", project / "mlflow.db", tmp_path / "s.duckdb")
    assert str(project / "mlflow.db") in line and expected in line, line


def test_trace_readers_are_bounded(
    genai: Path, run_cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A trace's spans over the limit are refused, not read (files and database rows alike)."""
    from evaltui.importers import mlflow_traces

    monkeypatch.setattr(mlflow_traces, "MAX_SPANS_BYTES", 400)  # the real ones are ~580 bytes
    line = refused(run_cli, "mlflow", genai / "filestore", tmp_path / "a.duckdb")
    assert "traces.json" in line and "limited to 400" in line
    line = refused(run_cli, "mlflow", genai / "sqlite", tmp_path / "b.duckdb")
    assert "mlflow.db: trace tr-" in line and "spans are limited to 400" in line
    monkeypatch.setattr(mlflow_traces, "MAX_SPANS_BYTES", 64 << 20)
    monkeypatch.setattr(mlflow_traces, "MAX_TRACES", 5)
    line = refused(run_cli, "mlflow", genai / "filestore", tmp_path / "c.duckdb")
    assert "more than 5 traces" in line
    line = refused(run_cli, "mlflow", genai / "sqlite", tmp_path / "d.duckdb")
    assert "more than 5 traces" in line


def test_judging_rules() -> None:
    from evaltui.importers.mlflow_genai import _case_ids, _judge, _verdict
    from evaltui.importers.mlflow_traces import Assessment, Trace

    assert _verdict(True) == ("CORRECT", 1.0) and _verdict("No") == ("INCORRECT", 0.0)
    assert _verdict(0.5) == ("PARTIAL", 0.5) and _verdict(4) == ("UNSCORED", 4.0)
    assert _verdict(None) == ("UNSCORED", None) and _verdict("maybe") == ("UNSCORED", None)

    def row(inputs: Any, **values: Any) -> tuple[Trace, dict[str, Assessment]]:
        trace = Trace("t", "OK", "", None, Path("."), inputs=inputs)
        return trace, {n: Assessment(n, "feedback", v) for n, v in values.items()}

    # A correctness-like name first, then by name; pass/fail before a score in [0, 1].
    rows = [row(1, alpha="yes", correctness=True, zeta=0.5), row(2, alpha="no", correctness=False)]
    scorers = {"alpha": {}, "correctness": {}, "zeta": {}}
    assert _judge(rows, scorers) == ("correctness", "pass/fail")
    assert _judge([row(1, zeta=0.5, alpha=3)], {"alpha": {}, "zeta": {}}) == (
        "zeta",
        "score in [0, 1]",
    )
    assert _judge([row(1, alpha=3)], {"alpha": {}}) == (None, "none")

    # Repeated inputs: `~2` goes by expectations, then time, whatever the order traces are read in.
    def trace(name: str, time: str, expected: str) -> tuple[Trace, dict[str, Assessment]]:
        found = Trace(name, "OK", time, None, Path("."), inputs={"q": 1})
        return found, {"e": Assessment("e", "expectation", expected)}

    late_a, early_b = trace("a", "2", "A"), trace("b", "1", "B")
    first, second = _case_ids([late_a, early_b])
    assert first.startswith("r-") and second == first + "~2"
    assert _case_ids([early_b, late_a]) == [second, first]
    same_a, same_b = trace("a", "2", "A"), trace("b", "1", "A")
    assert _case_ids([same_a, same_b]) == [second, first]  # equal expectations: the earlier first


def test_spans_outside_the_database(genai: Path, run_cli, tmp_path: Path) -> None:
    """Spans in the artifact store (older MLflow 3 releases) are read from the trace's
    `mlflow.artifactLocation` inside the project; with no spans at all, MLflow's copies of the
    inputs and outputs give the same cases, with a note."""
    project = _copy(genai, tmp_path, "sqlite")
    db = project / "mlflow.db"
    con = sqlite3.connect(db)
    spans = con.execute("SELECT trace_id, content FROM spans").fetchall()
    con.execute(
        "UPDATE trace_tags SET value = replace(value, '/home/reviewer/project/sqlite', ?)",
        [str(project)],
    )
    con.execute("DELETE FROM spans")
    con.commit()
    con.close()
    bare = imported(run_cli, "mlflow", db, tmp_path / "bare.duckdb")
    assert all("truncated copies" in " ".join(r["notes"]) for r in bare["runs"])
    for trace_id, content in spans:
        folder = project / "mlruns" / "1" / "traces" / trace_id / "artifacts"
        folder.mkdir(parents=True)
        span = json.loads(content)
        span["attributes"]["mlflow.spanOutputs"] = json.dumps("from the artifact store")
        (folder / "traces.json").write_text(json.dumps({"spans": [span]}))
    data = imported(run_cli, "mlflow", db, tmp_path / "files.duckdb")
    assert not any("truncated copies" in " ".join(r["notes"]) for r in data["runs"])
    assert all(r["notes"][0].startswith("cases from 6 traces, judged by") for r in data["runs"])
    run = f"mlflow:{SQLITE_RUNS['genai-baseline']}"
    from_files = _results(tmp_path / "files.duckdb", run)
    from_copies = _results(tmp_path / "bare.duckdb", run)
    assert set(from_files) == set(from_copies)  # short inputs: the copies are whole
    assert {r["output"] for r in from_files.values()} == {"from the artifact store"}
    assert all(r["metadata"]["inputs_truncated"] for r in from_copies.values())
    assert "paris" in {r["output"] for r in from_copies.values()}
