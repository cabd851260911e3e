"""Honest run states on the worked example and on made-up variants of it: INCOMPARABLE and
INCOMPLETE shown first, NO_GUARDRAILS for suites without quality guardrails, gates files, and
copied evidence. Every test loads real records into a real DuckDB store through the CLI."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import pytest

from evaltui.review.report import review_runs
from evaltui.store.connection import Store
from evaltui.store.queries import cluster_field, get_suite
from tests.conftest import EXAMPLE, example_run

ELIGIBLE = "ELIGIBLE_FOR_CANARY_REVIEW"


def _folder(tmp_path: Path, *runs: dict, suite: dict | None = None) -> Path:
    """The example's v1 suite (or `suite`), run_001 as the baseline, and `runs`."""
    folder = tmp_path / "records"
    folder.mkdir()
    doc = suite or json.loads((EXAMPLE / "ci-claim-gate-v1.suite.json").read_text())
    (folder / "s.suite.json").write_text(json.dumps(doc))
    shutil.copy(EXAMPLE / "run_001.run.json", folder)
    for run in runs:
        (folder / f"{run['run_id']}.run.json").write_text(json.dumps(run))
    return folder


def _gates(folder: Path, name: str = "g", **fields: object) -> Path:
    path = folder / f"{name}.gates.json"
    path.write_text(
        json.dumps(
            {"kind": "evaltui.gates", "version": 1, "suite_id": "ci-claim-gate-v1", **fields}
        )
    )
    return path


def _review(store: Path, baseline: str = "run_001"):
    with Store.open(store, read_only=True) as opened:
        return review_runs(opened.con, baseline)


def test_worked_example_reads_incomparable_first(run_cli, tmp_path: Path) -> None:
    store = tmp_path / "s.duckdb"
    assert run_cli("load", EXAMPLE, "--store", store).code == 0
    result = run_cli("compare", "run_001", "--store", store, "--json")
    runs = {r["run_id"]: r for r in json.loads(result.out)["runs"]}
    for run_id in ("run_004", "run_005"):
        assert runs[run_id]["state"] == "INCOMPARABLE"
        assert runs[run_id]["status"] == ELIGIBLE  # kept: the guardrail status, as before
    assert runs["run_003"]["state"] == runs["run_003"]["status"] == ELIGIBLE
    listed = json.loads(run_cli("runs", "--store", store, "--json").out)["runs"]
    states = {r["run_id"]: r["state"] for r in listed}
    assert states["run_004"] == states["run_005"] == "INCOMPARABLE"
    text = run_cli("runs", "--store", store).out
    for line in text.splitlines():
        if line.startswith(("run_004", "run_005")):
            # the state comes before the guardrail status, in the same cell
            assert line.index("INCOMPARABLE") < line.index(ELIGIBLE)
    compare_text = run_cli("compare", "run_001", "--store", store).out
    assert (
        sum(ELIGIBLE in line and "INCOMPARABLE" not in line for line in compare_text.splitlines())
        == 1
    )


def test_empty_guardrails_give_no_guardrails_never_eligible(run_cli, tmp_path: Path) -> None:
    suite = json.loads((EXAMPLE / "ci-claim-gate-v1.suite.json").read_text())
    suite["guardrails"] = []  # declared: none (left out would mean the example's defaults)
    folder = _folder(tmp_path, example_run("run_003"), suite=suite)
    store = tmp_path / "s.duckdb"
    assert run_cli("load", folder, "--store", store).code == 0
    review = _review(store)
    candidate = review.get("run_003")
    assert candidate.status == candidate.state == "NO_GUARDRAILS"
    assert not candidate.eligible
    decided = run_cli(
        "decide",
        "run_003",
        "--store",
        store,
        "--rollback",
        "ci-answerer-v1.1-regression",
        "--limitation",
        "x",
        "--invariant",
        "unsafe_claim_served == 0",
    )
    assert decided.code != 0 and "NO_GUARDRAILS" in decided.err


def test_evidence_only_guardrails_read_no_guardrails_until_gates_declare_some(
    run_cli, tmp_path: Path
) -> None:
    suite = json.loads((EXAMPLE / "ci-claim-gate-v1.suite.json").read_text())
    # what an imported suite declares: only an evidence check
    suite["guardrails"] = [
        {"require": "unsafe_claim_served == 0", "status": "REJECT_UNSAFE_SERVE", "evidence": True}
    ]
    folder = _folder(tmp_path, example_run("run_003"), suite=suite)
    store = tmp_path / "s.duckdb"
    assert run_cli("load", folder, "--store", store).code == 0
    review = _review(store)
    assert review.get("run_003").status == "NO_GUARDRAILS"
    assert review.baseline.status == "REJECT_UNSAFE_SERVE"  # the evidence check still rejects

    gates = tmp_path / "gates"
    gates.mkdir()
    _gates(
        gates,
        metrics=[{"name": "route_rate", "rate": {"correct": True}}],
        guardrails=[{"require": "route_rate >= 0.9", "status": "REJECT_LOW_RATE"}],
        cluster_field="slice_name",
    )
    loaded = run_cli("load", gates, "--store", store)
    assert loaded.code == 0, loaded.err
    assert "gates for 1 suite" in loaded.out
    review = _review(store)
    assert review.get("run_003").status == ELIGIBLE
    assert review.baseline.status == "REJECT_UNSAFE_SERVE"  # the suite's evidence check stays
    predicates = [g.predicate for g in review.suite.guardrails]
    assert predicates == ["unsafe_claim_served == 0", "route_rate >= 0.9"]
    with Store.open(store, read_only=True) as opened:
        assert cluster_field(opened.con, "ci-claim-gate-v1") == "slice_name"
        assert get_suite(opened.con, "ci-claim-gate-v1").cluster_field == "slice_name"

    again = run_cli("load", gates, "--store", store, "--json")
    assert again.code == 0 and json.loads(again.out)["gates_unchanged"] == ["ci-claim-gate-v1"]
    _gates(
        gates,
        metrics=[{"name": "route_rate", "rate": {"correct": True}}],
        guardrails=[{"require": "route_rate >= 1.5", "status": "REJECT_LOW_RATE"}],
    )
    changed = run_cli("load", gates, "--store", store)
    assert changed.code == 2 and "--replace" in changed.err
    assert run_cli("load", gates, "--store", store, "--replace").code == 0
    assert _review(store).get("run_003").status == "REJECT_LOW_RATE"


def test_gates_errors_are_one_clear_line(run_cli, tmp_path: Path) -> None:
    store = tmp_path / "s.duckdb"
    assert run_cli("load", EXAMPLE, "--store", store).code == 0
    folder = tmp_path / "gates"
    folder.mkdir()
    path = folder / "x.gates.json"
    path.write_text(
        json.dumps(
            {"kind": "evaltui.gates", "version": 1, "suite_id": "no-such-suite", "guardrails": []}
        )
    )
    result = run_cli("load", folder, "--store", store)
    assert result.code == 2
    assert result.err.strip().splitlines() == [
        f"evaltui: {path}: suite 'no-such-suite' is not in the store; load its suite "
        "(or import its runs) first, or in the same call"
    ]
    _gates(folder, name="x", guardrails=[{"require": "nope >= 1", "status": "REJECT_X"}])
    result = run_cli("load", folder, "--store", store)
    assert result.code == 2 and "metric 'nope' is declared neither" in result.err


def test_gates_override_the_contract_fields(run_cli, tmp_path: Path) -> None:
    folder = _folder(tmp_path, example_run("run_005", evaluator_version="x"))
    shutil.copy(EXAMPLE / "run_005.run.json", folder)
    store = tmp_path / "s.duckdb"
    assert run_cli("load", folder, "--store", store).code == 0
    assert _review(store).get("run_005").state == "INCOMPARABLE"
    gates = tmp_path / "gates"
    gates.mkdir()
    _gates(gates, comparison_fields=["regression_sha", "holdout_sha", "evaluation_sha"])
    assert run_cli("load", gates, "--store", store).code == 0
    review = _review(store)
    assert review.get("run_005").state == ELIGIBLE
    assert list(review.suite.comparison_fields) == [
        "regression_sha",
        "holdout_sha",
        "evaluation_sha",
    ]


def test_incomplete_run_is_never_eligible_and_says_why(run_cli, tmp_path: Path) -> None:
    reason = "stopped after 14 of 40 samples (status: started)"
    folder = _folder(tmp_path, example_run("run_003", incomplete=reason))
    store = tmp_path / "s.duckdb"
    assert run_cli("load", folder, "--store", store).code == 0
    run = _review(store).get("run_003")
    assert run.comparable and run.status == ELIGIBLE
    assert run.state == "INCOMPLETE" and not run.eligible
    data = json.loads(run_cli("compare", "run_001", "--store", store, "--json").out)
    entry = data["runs"][0]
    assert (entry["state"], entry["incomplete"]) == ("INCOMPLETE", reason)
    assert data["statistics"]["multiple_comparisons"]["family"] == []
    decided = run_cli(
        "decide",
        "run_003",
        "--store",
        store,
        "--rollback",
        "ci-answerer-v1.1-regression",
        "--limitation",
        "x",
    )
    assert decided.code != 0 and reason in decided.err
    assert "INCOMPLETE" in run_cli("runs", "--store", store).out


@pytest.mark.parametrize("value", ["", "two\nlines", 3])
def test_bad_incomplete_reason_is_refused(run_cli, tmp_path: Path, value: object) -> None:
    folder = _folder(tmp_path, example_run("run_003", incomplete=value))
    result = run_cli("load", folder, "--store", tmp_path / "s.duckdb")
    assert result.code == 2 and "'incomplete'" in result.err


def test_copied_results_under_another_artifact_are_flagged(run_cli, tmp_path: Path) -> None:
    copy = example_run("run_003_copy", artifact="someone-elses-model")
    copy["started_at"] = "2026-11-02T12:00:00Z"
    same_artifact = example_run("run_003_rerun")  # a repeat of one artifact is not a copy
    folder = _folder(tmp_path, example_run("run_003"), copy, same_artifact)
    store = tmp_path / "s.duckdb"
    assert run_cli("load", folder, "--store", store).code == 0
    review = _review(store)
    flags = review.get("run_003_copy").evidence
    assert [f.kind for f in flags] == ["copied_evidence"]
    assert "run_003 (ci-answerer-v1.2-fix-b)" in flags[0].message
    assert [f.kind for f in review.get("run_003").evidence] == ["copied_evidence"]
    assert review.baseline.evidence == ()
    # one different output is not a copy
    changed = example_run("run_003_other", artifact="another-model")
    changed["cases"][0] = {**changed["cases"][0], "output": "a different answer"}
    folder2 = tmp_path / "more"
    folder2.mkdir()
    (folder2 / "r.run.json").write_text(json.dumps(changed))
    assert run_cli("load", folder2, "--store", store).code == 0
    assert _review(store).get("run_003_other").evidence == ()


def test_store_of_the_previous_schema_is_refused(run_cli, tmp_path: Path) -> None:
    store = tmp_path / "old.duckdb"
    con = duckdb.connect(str(store))
    con.execute("CREATE TABLE meta (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL)")
    con.execute("INSERT INTO meta VALUES ('schema_version', '2')")
    con.close()
    result = run_cli("runs", "--store", store)
    assert result.code == 2
    assert "store schema version '2', this evaltui uses '4'" in result.err


# -- the rollback target ---------------------------------------------------------------------


@pytest.fixture
def signing_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    from tests.decision_support import make_key

    for name in ("SSH_AUTH_SOCK", "EVALTUI_KEY_PASSPHRASE", "EVALTUI_SIGNING_KEY"):
        monkeypatch.delenv(name, raising=False)
    keys = tmp_path / "keys"
    keys.mkdir()
    return make_key(keys, "alice")


def test_rollback_target_is_a_known_artifact_or_confirmed_external(
    run_cli, tmp_path: Path, signing_key: Path
) -> None:
    baseline = json.loads((EXAMPLE / "run_001.run.json").read_text())
    baseline["artifact"] = "router-v3 [prod]"  # spaces and brackets: a real artifact name
    folder = _folder(tmp_path, example_run("run_003"))
    (folder / "run_001.run.json").write_text(json.dumps(baseline))
    store = tmp_path / "s.duckdb"
    assert run_cli("load", folder, "--store", store).code == 0

    def decide(*extra: str):
        return run_cli(
            "decide", "run_003", "--limitation", "canary only", "--store", store,
            "--key", signing_key, "--out", tmp_path / "out", "--json", *extra,
        )  # fmt: skip

    truncated = decide("--rollback", "router-v3")  # a cut-off completion
    assert truncated.code == 2
    assert "'router-v3' is not the artifact of any run in experiment" in truncated.err
    assert "--rollback-external" in truncated.err
    assert not (tmp_path / "out").exists()  # nothing signed
    typo = decide("--rollback", "no-such-artifact")
    assert typo.code == 2 and "no-such-artifact" in typo.err
    hidden = decide("--rollback", "router-v3\u200b[prod]", "--rollback-external")
    assert hidden.code == 2 and "U+200B" in hidden.err

    known = decide("--rollback", "router-v3 [prod]")
    assert known.code == 0, known.err
    doc = json.loads(Path(json.loads(known.out)["decision"]).read_text())
    assert doc["rollback_artifact"] == "router-v3 [prod]"
    assert doc["canary_stop_rule"]["on_violation"] == "ROLL_BACK_TO:router-v3 [prod]"
    external = decide("--rollback", "ci-answerer-v1 (prod)", "--rollback-external")
    assert external.code == 0, external.err


def test_decisions_are_listed_newest_first(run_cli, tmp_path: Path, signing_key: Path) -> None:
    store = tmp_path / "s.duckdb"
    assert run_cli("load", EXAMPLE, "--store", store).code == 0
    for run_id, extra in (("run_003", ()), ("run_002", ("--override", "test"))):
        done = run_cli(
            "decide", run_id, "--rollback", "ci-answerer-v1.1-regression",
            "--limitation", "x", "--store", store,
            "--key", signing_key, "--out", tmp_path / "out", *extra,
        )  # fmt: skip
        assert done.code == 0, done.err
    listed = json.loads(run_cli("decisions", "--store", store, "--json").out)["decisions"]
    assert [d["source_run_id"] for d in listed] == ["run_002", "run_003"]
    text = run_cli("decisions", "--store", store).out
    assert text.index("run_002") < text.index("run_003")


def test_a_gates_cluster_field_must_be_one_whole_identifier(run_cli, tmp_path: Path) -> None:
    # 'doc\n' passed a prefix match anchored with `$` (which also matches before a final newline)
    store = tmp_path / "s.duckdb"
    assert run_cli("load", EXAMPLE, "--store", store).code == 0
    folder = tmp_path / "gates"
    folder.mkdir()
    for bad in ("doc\n", "two words"):
        _gates(folder, cluster_field=bad)
        result = run_cli("load", folder, "--store", store)
        assert result.code == 2, bad
        assert "field 'cluster_field' is" in result.err
