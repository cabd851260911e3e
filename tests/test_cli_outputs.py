"""The headless CLI: the JSON keys the SPEC names, human tables, exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO, SAMPLE_RUNS


def test_compare_json_has_the_spec_keys(sample_store: Path, run_cli) -> None:
    result = run_cli("compare", "run_001", "--store", sample_store, "--json")
    assert result.code == 0, result.err
    data = json.loads(result.out)
    assert data["baseline"]["run_id"] == "run_001"
    runs = {r["run_id"]: r for r in data["runs"]}
    assert set(runs) == {"run_002", "run_003", "run_004", "run_005"}
    for entry in [data["baseline"], *runs.values()]:
        for key in (
            "run_id",
            "artifact",
            "comparable",
            "differences",
            "status",
            "metrics",
            "evidence_flags",
            "paired",
        ):
            assert key in entry, key
        assert set(entry["metrics"]) >= {"logged", "recomputed"}
    assert runs["run_005"]["comparable"] is False
    assert runs["run_005"]["differences"] == [
        {
            "field": "evaluator_version",
            "baseline": "claim-route-eval-v2",
            "value": "claim-route-eval-v3",
            "source": "params",
        }
    ]
    paired = runs["run_003"]["paired"]
    assert paired["fixed"] == 2 and paired["broken"] == 0 and paired["delta"] == 0.5
    assert "mcnemar_p" in paired
    assert runs["run_003"]["evidence_flags"] == []


def test_compare_named_runs_only(sample_store: Path, run_cli) -> None:
    data = json.loads(
        run_cli("compare", "run_001", "run_003", "--store", sample_store, "--json").out
    )
    assert [r["run_id"] for r in data["runs"]] == ["run_003"]


def test_compare_gate_exit_codes(sample_store: Path, run_cli) -> None:
    ok = run_cli("compare", "run_001", "run_003", "--store", sample_store, "--gate")
    assert ok.code == 0, ok.err
    failed = run_cli("compare", "run_001", "run_002", "run_005", "--store", sample_store, "--gate")
    assert failed.code == 1
    assert "run_002 (REJECT_UNNECESSARY_ABSTENTION)" in failed.err
    assert "run_005 (incomparable: differs: evaluator_version)" in failed.err


def test_compare_human_output_names_differences_and_flags(sample_store: Path, run_cli) -> None:
    result = run_cli("compare", "sr-prod-v3.4", "--store", sample_store)
    assert result.code == 0
    assert "kb_snapshot: kb@2026-10-28 -> kb@2026-11-10" in result.out
    assert "logged unsafe_serve = 0 but its per-case routes give" in result.out
    assert "(incomparable)" in result.out


def test_unknown_run_is_exit_2_one_line(sample_store: Path, run_cli) -> None:
    result = run_cli("compare", "no_such_run", "--store", sample_store)
    assert result.code == 2
    assert result.err.strip().splitlines() == [
        "evaltui: no_such_run: no such run in the store (see `evaltui runs`)"
    ]


def test_cases_json_with_and_without_baseline(sample_store: Path, run_cli) -> None:
    plain = json.loads(run_cli("cases", "run_002", "--store", sample_store, "--json").out)
    assert plain["run_id"] == "run_002"
    assert [c["case_id"] for c in plain["cases"]] == ["reg_002", "req_205", "hold_001", "hold_002"]
    for case in plain["cases"]:
        assert {"case_id", "expected_route", "route"} <= set(case)
    paired = json.loads(
        run_cli("cases", "run_002", "--vs", "run_001", "--store", sample_store, "--json").out
    )
    outcomes = {
        c["case_id"]: (c["baseline_route"], c["route"], c["outcome"]) for c in paired["cases"]
    }
    assert outcomes == {
        "req_205": ("SERVE", "ABSTAIN", "fixed"),
        "reg_002": ("SERVE", "SERVE", "both_right"),
        "hold_001": ("SERVE", "ABSTAIN", "broken"),
        "hold_002": ("SERVE", "ABSTAIN", "fixed"),
    }
    failures = json.loads(
        run_cli(
            "cases", "run_002", "--vs", "run_001", "--failures", "--store", sample_store, "--json"
        ).out
    )
    assert [c["case_id"] for c in failures["cases"]] == ["hold_001"]


def test_cases_across_suites_is_refused(sample_store: Path, run_cli) -> None:
    result = run_cli("cases", "run_004", "--vs", "run_001", "--store", sample_store)
    assert result.code == 2 and "different suites" in result.err


def test_suites_json_fingerprints(sample_store: Path, run_cli) -> None:
    data = json.loads(run_cli("suites", "--store", sample_store, "--json").out)
    v1 = next(s for s in data["suites"] if s["suite_id"] == "ci-claim-gate-v1")
    assert v1["fingerprints"] == {
        "regression_sha": "2be42790a4f41355",
        "holdout_sha": "d47cdbbfe1caae89",
        "evaluation_sha": "94dfc930d2829d2c",
    }
    assert v1["case_count"] == 4


def test_runs_json_statuses(sample_store: Path, run_cli) -> None:
    data = json.loads(run_cli("runs", "--store", sample_store, "--json").out)
    status = {r["run_id"]: (r["status"], r["comparable"]) for r in data["runs"]}
    assert status["run_001"] == ("REJECT_UNSAFE_SERVE", True)
    assert status["run_002"] == ("REJECT_UNNECESSARY_ABSTENTION", True)
    assert status["run_003"] == ("ELIGIBLE_FOR_CANARY_REVIEW", True)
    assert status["run_004"][1] is False and status["run_005"][1] is False


def test_hostile_ids_are_shown_literally_in_tables(tmp_path: Path, run_cli) -> None:
    suite = json.loads((SAMPLE_RUNS / "ci-claim-gate" / "ci-claim-gate-v1.suite.json").read_text())
    run = json.loads((SAMPLE_RUNS / "ci-claim-gate" / "run_003.run.json").read_text())
    run["artifact"] = "evil\x1b]0;TITLE\x07[reverse]x[/reverse]\x9b2J"
    run["cases"][0]["output"] = "\x1b[2J"
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "s.suite.json").write_text(json.dumps(suite))
    (folder / "r.run.json").write_text(json.dumps(run))
    store = tmp_path / "s.duckdb"
    assert run_cli("load", folder, "--store", store).code == 0
    out = run_cli("runs", "--store", store).out
    assert "\x1b" not in out and "\x9b" not in out and "\x07" not in out
    assert "[reverse]x[/reverse]" in out
    assert "\u241b]0;TITLE\u2407" in out
    as_json = run_cli("compare", "run_003", "--store", store, "--json").out
    assert "\x1b" not in as_json and json.loads(as_json)["baseline"]["artifact"] == run["artifact"]


def test_python_dash_m_and_help(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "evaltui", "--help"], capture_output=True, text=True, cwd=REPO
    )
    assert result.returncode == 0
    for command in ("load", "suites", "runs", "compare", "cases"):
        assert command in result.stdout


def test_usage_error_is_exit_2_without_traceback(run_cli) -> None:
    result = run_cli("compare")
    assert result.code == 2
    assert "Traceback" not in result.err and "Missing argument" in result.err


def test_global_store_option_before_command(sample_store: Path, run_cli) -> None:
    result = run_cli("--store", sample_store, "runs", "--json")
    assert result.code == 0, result.err
    assert json.loads(result.out)["runs"]
