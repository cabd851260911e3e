"""MLflow: the real file store, and the SQLite backend on a small database built here.

The database uses the tables of MLflow's own SQLite schema (tests/db/schemas/sqlite.sql in the
mlflow repository) for everything the importer reads; mlflow itself is not a dependency.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from evaltui.review.report import review_runs
from evaltui.store.connection import Store
from evaltui.store.queries import get_run
from tests.importer_support import imported, refused

REAL_RUN = "mlflow:93d9b7fae4f44b6790cb4691ce429469"

MLFLOW_SCHEMA = """
CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL,
    CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num));
CREATE TABLE experiments (experiment_id INTEGER NOT NULL, name VARCHAR(256) NOT NULL,
    artifact_location VARCHAR(256), lifecycle_stage VARCHAR(32), creation_time BIGINT,
    last_update_time BIGINT, CONSTRAINT experiment_pk PRIMARY KEY (experiment_id), UNIQUE (name),
    CONSTRAINT experiments_lifecycle_stage CHECK (lifecycle_stage IN ('active', 'deleted')));
CREATE TABLE runs (run_uuid VARCHAR(32) NOT NULL, name VARCHAR(250), source_type VARCHAR(20),
    source_name VARCHAR(500), entry_point_name VARCHAR(50), user_id VARCHAR(256), status VARCHAR(9),
    start_time BIGINT, end_time BIGINT, source_version VARCHAR(50), lifecycle_stage VARCHAR(20),
    artifact_uri VARCHAR(200), experiment_id INTEGER, deleted_time BIGINT,
    CONSTRAINT run_pk PRIMARY KEY (run_uuid),
    FOREIGN KEY(experiment_id) REFERENCES experiments (experiment_id),
    CONSTRAINT runs_lifecycle_stage CHECK (lifecycle_stage IN ('active', 'deleted')),
    CONSTRAINT source_type CHECK (source_type IN ('NOTEBOOK', 'JOB', 'LOCAL', 'UNKNOWN', 'PROJECT')),
    CHECK (status IN ('SCHEDULED', 'FAILED', 'FINISHED', 'RUNNING', 'KILLED')));
CREATE TABLE params (key VARCHAR(250) NOT NULL, value VARCHAR(8000) NOT NULL,
    run_uuid VARCHAR(32) NOT NULL, CONSTRAINT param_pk PRIMARY KEY (key, run_uuid),
    FOREIGN KEY(run_uuid) REFERENCES runs (run_uuid));
CREATE TABLE tags (key VARCHAR(250) NOT NULL, value VARCHAR(8000), run_uuid VARCHAR(32) NOT NULL,
    CONSTRAINT tag_pk PRIMARY KEY (key, run_uuid), FOREIGN KEY(run_uuid) REFERENCES runs (run_uuid));
CREATE TABLE metrics (key VARCHAR(250) NOT NULL, value FLOAT NOT NULL, timestamp BIGINT NOT NULL,
    run_uuid VARCHAR(32) NOT NULL, step BIGINT DEFAULT '0' NOT NULL,
    is_nan BOOLEAN DEFAULT '0' NOT NULL,
    CONSTRAINT metric_pk PRIMARY KEY (key, timestamp, step, run_uuid, value, is_nan),
    FOREIGN KEY(run_uuid) REFERENCES runs (run_uuid), CHECK (is_nan IN (0, 1)));
CREATE TABLE latest_metrics (key VARCHAR(250) NOT NULL, value FLOAT NOT NULL, timestamp BIGINT,
    step BIGINT NOT NULL, is_nan BOOLEAN NOT NULL, run_uuid VARCHAR(32) NOT NULL,
    CONSTRAINT latest_metric_pk PRIMARY KEY (key, run_uuid),
    FOREIGN KEY(run_uuid) REFERENCES runs (run_uuid), CHECK (is_nan IN (0, 1)));
CREATE TABLE datasets (dataset_uuid VARCHAR(36) NOT NULL, experiment_id INTEGER NOT NULL,
    name VARCHAR(500) NOT NULL, digest VARCHAR(36) NOT NULL, dataset_source_type VARCHAR(36) NOT NULL,
    dataset_source TEXT NOT NULL, dataset_schema TEXT, dataset_profile TEXT,
    CONSTRAINT dataset_pk PRIMARY KEY (experiment_id, name, digest),
    CONSTRAINT fk_datasets_experiment_id_experiments FOREIGN KEY(experiment_id)
        REFERENCES experiments (experiment_id) ON DELETE CASCADE);
CREATE TABLE inputs (input_uuid VARCHAR(36) NOT NULL, source_type VARCHAR(36) NOT NULL,
    source_id VARCHAR(36) NOT NULL, destination_type VARCHAR(36) NOT NULL,
    destination_id VARCHAR(36) NOT NULL, step BIGINT DEFAULT '0' NOT NULL,
    CONSTRAINT inputs_pk PRIMARY KEY (source_type, source_id, destination_type, destination_id));
CREATE TABLE input_tags (input_uuid VARCHAR(36) NOT NULL, name VARCHAR(255) NOT NULL,
    value VARCHAR(500) NOT NULL, CONSTRAINT input_tags_pk PRIMARY KEY (input_uuid, name));
CREATE TABLE registered_models (name VARCHAR(256) NOT NULL, creation_time BIGINT,
    last_updated_time BIGINT, description VARCHAR(5000),
    CONSTRAINT registered_model_pk PRIMARY KEY (name), UNIQUE (name));
CREATE TABLE model_versions (name VARCHAR(256) NOT NULL, version INTEGER NOT NULL,
    creation_time BIGINT, last_updated_time BIGINT, description VARCHAR(5000), user_id VARCHAR(256),
    current_stage VARCHAR(20), source VARCHAR(500), run_id VARCHAR(32), status VARCHAR(20),
    status_message VARCHAR(500), run_link VARCHAR(500), storage_location VARCHAR(500),
    CONSTRAINT model_version_pk PRIMARY KEY (name, version),
    FOREIGN KEY(name) REFERENCES registered_models (name) ON UPDATE CASCADE);
CREATE TABLE registered_model_aliases (alias VARCHAR(256) NOT NULL, version INTEGER NOT NULL,
    name VARCHAR(256) NOT NULL, CONSTRAINT registered_model_alias_pk PRIMARY KEY (name, alias),
    CONSTRAINT registered_model_alias_name_fkey FOREIGN KEY(name) REFERENCES registered_models (name)
        ON DELETE CASCADE ON UPDATE CASCADE);
"""

BASE_RUN, CAND_RUN, DELETED_RUN, BARE_RUN = "a" * 32, "b" * 32, "c" * 32, "d" * 32
LABELS = [
    ("c1", "greet", "greet"),
    ("c2", "refund", "refund"),
    ("c3", "cancel", "refund"),
    ("c4", "greet", "cancel"),
]
CANDIDATE = {"c1": "greet", "c2": "refund", "c3": "cancel", "c4": "refund"}


def _predictions(folder: Path, rows: list[tuple[str, str, str]]) -> None:
    folder.mkdir(parents=True)
    lines = ["case_id,expected,pred,score"] + [
        f"{c},{e},{p},{1.0 if e == p else 0.0}" for c, e, p in rows
    ]
    (folder / "predictions.csv").write_text("\n".join(lines) + "\n")


def _build_project(project: Path, *, candidate_claims: str | None = None) -> Path:
    """mlflow.db with two labelled runs on one dataset, a deleted run and one without predictions."""
    project.mkdir()
    db = project / "mlflow.db"
    con = sqlite3.connect(db)
    con.executescript(MLFLOW_SCHEMA)
    con.execute("INSERT INTO alembic_version VALUES ('1b5f0d9ad7c1')")
    con.execute(
        "INSERT INTO experiments VALUES (1, 'router-eval', ?, 'active', 1, 1)",
        [str(project / "mlruns/1")],
    )
    base_artifacts = project / "mlruns" / "1" / BASE_RUN / "artifacts"
    runs = [
        (BASE_RUN, "baseline", 1_700_000_000_000, "active", str(base_artifacts)),
        (
            CAND_RUN,
            "cand-b",
            1_700_000_100_000,
            "active",
            f"mlflow-artifacts:/1/{CAND_RUN}/artifacts",
        ),
        (DELETED_RUN, "oops", 1_700_000_200_000, "deleted", str(project / "mlruns/1/x")),
        (BARE_RUN, "no-preds", 1_700_000_300_000, "active", "/etc"),
    ]
    for run_id, name, start, stage, uri in runs:
        con.execute(
            "INSERT INTO runs VALUES (?, ?, 'LOCAL', 'train.py', '', 'alice', 'FINISHED', ?, ?, '', ?, ?, 1, NULL)",
            [run_id, name, start, start + 5000, stage, uri],
        )
        con.execute("INSERT INTO params VALUES ('model', ?, ?)", [f"m-{name}", run_id])
        con.execute("INSERT INTO tags VALUES ('mlflow.runName', ?, ?)", [name, run_id])
    if candidate_claims is not None:
        con.execute(
            "INSERT INTO params VALUES ('evaluation_sha', ?, ?)", [candidate_claims, CAND_RUN]
        )
    # accuracy logged twice for the candidate: the latest (step 1) is what is imported
    con.executemany(
        "INSERT INTO metrics VALUES ('accuracy', ?, ?, ?, ?, 0)",
        [(0.5, 10, BASE_RUN, 0), (0.25, 10, CAND_RUN, 0), (0.75, 20, CAND_RUN, 1)],
    )
    con.executemany(
        "INSERT INTO latest_metrics VALUES ('accuracy', ?, ?, ?, 0, ?)",
        [(0.5, 10, 0, BASE_RUN), (0.75, 20, 1, CAND_RUN)],
    )
    con.execute(
        "INSERT INTO datasets VALUES ('ds1', 1, 'intent-suite-v2', 'abc12345', 'local', "
        '\'{"uri": "suite.csv"}\', NULL, \'{"num_rows": 4}\')'
    )
    for n, run_id in enumerate((BASE_RUN, CAND_RUN)):
        con.execute(
            "INSERT INTO inputs VALUES (?, 'DATASET', 'ds1', 'RUN', ?, 0)", [f"in{n}", run_id]
        )
        con.execute("INSERT INTO input_tags VALUES (?, 'mlflow.data.context', 'eval')", [f"in{n}"])
    con.execute("INSERT INTO registered_models VALUES ('router', 1, 1, NULL)")
    con.execute(
        "INSERT INTO model_versions VALUES ('router', 3, 1, 1, NULL, NULL, 'None', 's', ?, 'READY', NULL, NULL, NULL)",
        [BASE_RUN],
    )
    con.execute("INSERT INTO registered_model_aliases VALUES ('champion', 3, 'router')")
    con.commit()
    con.close()
    _predictions(base_artifacts, LABELS)
    _predictions(
        project / "mlartifacts" / "1" / CAND_RUN / "artifacts",
        [(c, e, CANDIDATE[c]) for c, e, _ in LABELS],
    )
    (project / "mlruns" / "1" / DELETED_RUN / "artifacts").mkdir(parents=True)
    return db


@pytest.mark.parametrize("where", ["mlruns", "project"])
def test_real_file_store(real_logs: Path, run_cli, tmp_path: Path, where: str) -> None:
    root = real_logs / "mlflow_filestore"
    store = tmp_path / "s.duckdb"
    data = imported(run_cli, "mlflow", root / "mlruns" if where == "mlruns" else root, store)
    [run] = data["runs"]
    assert run["run_id"] == REAL_RUN and run["cases"] == 1 and run["experiment"] == "evaltui-demo"
    assert run["artifact"] == "models:/router/1"
    assert any("1 of the 2 rows" in note for note in run["notes"])
    with Store.open(store, read_only=True) as opened:
        review = review_runs(opened.con, REAL_RUN)
        case = opened.con.execute("SELECT case_id, route FROM results").fetchall()
    info = review.baseline.run
    assert info.metrics == {"accuracy": 0.75}  # latest of 0.5 (step 0) and 0.75 (step 1)
    assert info.params["model"] == "m-small" and info.params["temperature"] == "0.0"
    assert info.params["mlflow.dataset"] == "intent-suite-v1"
    assert info.params["mlflow.dataset_digest"] == "fd98504c"
    assert info.params["mlflow.dataset_context"] == "eval"
    assert info.tags["candidate"] == "A" and info.tags["mlflow.runName"] == "cand-a"
    assert info.tags["mlflow.aliases"] == "router@champion"
    assert info.artifacts == ("predictions.csv",)
    assert case == [("c1", "greet")]
    # predictions.csv has no expected column: nothing per case can be checked, and the status says so
    assert review.baseline.metrics_recomputed["unlabeled_cases"] == 1
    assert review.baseline.status == "REJECT_UNLABELED"


def test_sqlite_backend(run_cli, tmp_path: Path) -> None:
    db = _build_project(tmp_path / "project")
    store = tmp_path / "s.duckdb"
    data = imported(run_cli, "mlflow", db, store)
    runs = {r["run_id"]: r for r in data["runs"]}
    assert set(runs) == {f"mlflow:{BASE_RUN}", f"mlflow:{CAND_RUN}"}
    assert runs[f"mlflow:{BASE_RUN}"]["artifact"] == "models:/router/3"
    assert runs[f"mlflow:{CAND_RUN}"]["artifact"] == "cand-b"
    assert runs[f"mlflow:{BASE_RUN}"]["suite_id"] == runs[f"mlflow:{CAND_RUN}"]["suite_id"]
    reasons = {Path(s["path"]).name: s["reason"] for s in data["skipped"]}
    skipped = " ".join(s["reason"] for s in data["skipped"])
    assert set(reasons) == {"mlflow.db"} and DELETED_RUN in skipped and BARE_RUN in skipped
    assert "deleted" in skipped and "no predictions artifact" in skipped
    with Store.open(store, read_only=True) as opened:
        review = review_runs(opened.con, f"mlflow:{BASE_RUN}")
        cand = get_run(opened.con, f"mlflow:{CAND_RUN}")
    base, [candidate] = review.baseline, review.runs
    assert base.metrics_recomputed["exact_route_rate"] == 0.5  # c1, c2 right; c3, c4 wrong
    assert candidate.metrics_recomputed["exact_route_rate"] == 0.75
    assert base.status == candidate.status == "NO_GUARDRAILS"  # imported: only evidence checks
    assert candidate.comparable and candidate.evidence == ()
    paired = candidate.paired
    assert paired is not None and (paired.n, paired.fixed, paired.broken) == (4, 1, 0)
    assert cand.metrics == {"accuracy": 0.75}
    assert cand.params["mlflow.dataset_digest"] == "abc12345" and cand.params["model"] == "m-cand-b"
    assert cand.tags["mlflow.backend"] == "sqlite"
    assert base.run.tags["mlflow.aliases"] == "router@champion"
    assert base.run.tags["mlflow.model_versions"] == "router/3"


def test_sqlite_uri_and_project_folder(run_cli, tmp_path: Path) -> None:
    _build_project(tmp_path / "project")  # the tests run in tmp_path, so the URI is relative to it
    by_uri = imported(run_cli, "mlflow", "sqlite:///project/mlflow.db", tmp_path / "a.duckdb")
    by_folder = imported(run_cli, "mlflow", tmp_path / "project", tmp_path / "b.duckdb")
    assert sorted(r["run_id"] for r in by_uri["runs"]) == sorted(
        r["run_id"] for r in by_folder["runs"]
    )
    assert len(by_uri["runs"]) == 2


def test_hard_coded_fingerprint_param_is_flagged(run_cli, tmp_path: Path) -> None:
    db = _build_project(tmp_path / "project", candidate_claims="0000000000000000")
    store = tmp_path / "s.duckdb"
    imported(run_cli, "mlflow", db, store)
    with Store.open(store, read_only=True) as opened:
        review = review_runs(opened.con, f"mlflow:{BASE_RUN}")
    [candidate] = review.runs
    assert candidate.run.params["evaluation_sha"] == "0000000000000000"  # the run's claim is kept
    assert [f.kind for f in candidate.evidence] == ["fingerprint"]
    assert not candidate.comparable  # the claimed fingerprint differs from the baseline's


def test_not_an_mlflow_store_is_refused(run_cli, tmp_path: Path) -> None:
    text = tmp_path / "mlflow.db"
    text.write_text("hello")
    assert "not an MLflow store" in refused(run_cli, "mlflow", text, tmp_path / "s.duckdb")
    other = tmp_path / "other.db"
    con = sqlite3.connect(other)
    con.execute("CREATE TABLE things (x)")
    con.commit()
    con.close()
    assert "not an MLflow tracking database" in refused(
        run_cli, "mlflow", other, tmp_path / "s.duckdb"
    )
    (tmp_path / "empty").mkdir()
    assert "no MLflow file store" in refused(
        run_cli, "mlflow", tmp_path / "empty", tmp_path / "s.duckdb"
    )


def test_store_without_predictions_is_refused(run_cli, tmp_path: Path) -> None:
    db = _build_project(tmp_path / "project")
    for path in (tmp_path / "project").rglob("predictions.csv"):
        path.unlink()
    line = refused(run_cli, "mlflow", db, tmp_path / "s.duckdb")
    assert "nothing to import" in line and "predictions" in line


def test_empty_predictions_file_is_refused(run_cli, tmp_path: Path) -> None:
    db = _build_project(tmp_path / "project")
    target = tmp_path / "project" / "mlruns" / "1" / BASE_RUN / "artifacts" / "predictions.csv"
    target.write_text("")
    line = refused(run_cli, "mlflow", db, tmp_path / "s.duckdb")
    assert "predictions.csv: file is empty" in line


def test_predictions_tables_in_every_shape(tmp_path: Path) -> None:
    from evaltui.importers.mlflow import label_text, read_table

    expected = [
        {"id": "q1", "label": 1, "prediction": 1.0},
        {"id": "q2", "label": 0, "prediction": 1.0},
    ]
    shapes = {
        "records.json": expected,
        "split.json": {
            "columns": ["id", "label", "prediction"],
            "data": [["q1", 1, 1.0], ["q2", 0, 1.0]],
        },
        "columns.json": {
            "id": {"0": "q1", "1": "q2"},
            "label": {"0": 1, "1": 0},
            "prediction": {"0": 1.0, "1": 1.0},
        },
    }
    for name, doc in shapes.items():
        (tmp_path / name).write_text(json.dumps(doc))
        assert read_table(tmp_path / name) == expected, name
    (tmp_path / "rows.jsonl").write_text("".join(json.dumps(r) + "\n" for r in expected))
    assert read_table(tmp_path / "rows.jsonl") == expected
    (tmp_path / "rows.csv").write_text("id,label,prediction\nq1,1,1.0\nq2,0,1.0\n")
    assert read_table(tmp_path / "rows.csv")[1] == {"id": "q2", "label": "0", "prediction": "1.0"}
    # A label 1 and a prediction 1.0 are the same route, in JSON and in CSV text alike.
    assert label_text(1) == label_text(1.0) == label_text("1.0") == label_text(" 1 ") == "1"
    assert (
        label_text(" yes ") == "yes" and label_text("1.5") == "1.5" and label_text("10.00") == "10"
    )


# -- a file store written by MLflow 3.17.2 (tests/real_logs/mlflow_generated) ----------------------

EVALUATE_BASELINE = "mlflow:da6bc935259e4ad2a0308109b6eb1d0e"
EVALUATE_CANDIDATE = "mlflow:9b75c882071c45a4a596519ec26ae6f1"
LOGGED_TABLE = "mlflow:a9cda7a7f0a74575a103ca6b856b3d37"
PARQUET = "mlflow:9f462c6e905d4ca0879ef917cfaa73a4"


def test_mlflow_evaluate_runs_are_judged_by_mlflows_verdict_and_comparable(
    real_logs: Path, run_cli, tmp_path: Path
) -> None:
    """`paris` for `Paris` is right by the `correct` metric MLflow logged per row; the dataset
    `mlflow.evaluate` logs holds the predictions, so its digest is not the contract."""
    store = tmp_path / "s.duckdb"
    imported(run_cli, "mlflow", real_logs / "mlflow_generated", store)
    with Store.open(store, read_only=True) as opened:
        review = review_runs(opened.con, EVALUATE_BASELINE, [EVALUATE_CANDIDATE])
    base, [cand] = review.baseline, review.runs
    assert base.run.params["mlflow.verdict_column"] == "correct/score"
    assert "mlflow.dataset_digest" not in base.run.params
    assert base.metrics_recomputed["exact_route_rate"] == pytest.approx(5 / 6)
    assert base.run.metrics["correct/mean"] == pytest.approx(5 / 6)
    assert cand.metrics_recomputed["exact_route_rate"] == pytest.approx(4 / 6)
    assert cand.comparable, cand.differences
    assert cand.paired is not None and (cand.paired.fixed, cand.paired.broken) == (1, 2)


def test_tables_found_by_the_logged_artifacts_tag_and_parquet(
    real_logs: Path, run_cli, tmp_path: Path
) -> None:
    store = tmp_path / "s.duckdb"
    data = imported(run_cli, "mlflow", real_logs / "mlflow_generated", store)
    runs = {r["run_id"]: r for r in data["runs"]}
    assert runs[LOGGED_TABLE]["cases"] == runs[PARQUET]["cases"] == 6
    with Store.open(store, read_only=True) as opened:
        table = get_run(opened.con, LOGGED_TABLE)
        parquet = get_run(opened.con, PARQUET)
    assert table.params["mlflow.predictions"] == "eval/answers.json"
    assert parquet.params["mlflow.predictions"] == "predictions.parquet"
    assert table.params["mlflow.evaluator_params"] == '{"judge":"case-insensitive match"}'


def _store_copy(real_logs: Path, tmp_path: Path) -> Path:
    import shutil

    target = tmp_path / "project"
    shutil.copytree(real_logs / "mlflow_generated", target)
    return target


def test_runs_judged_by_other_evaluator_params_are_incomparable(
    real_logs: Path, run_cli, tmp_path: Path
) -> None:
    project = _store_copy(real_logs, tmp_path)
    [judge] = project.glob(f"mlruns/*/{PARQUET.split(':')[1]}/params/judge")
    judge.write_text("exact match")
    store = tmp_path / "s.duckdb"
    imported(run_cli, "mlflow", project, store)
    with Store.open(store, read_only=True) as opened:
        review = review_runs(opened.con, LOGGED_TABLE, [PARQUET])
    [parquet] = review.runs
    assert not parquet.comparable and parquet.reason == "differs: mlflow.evaluator_params"


def test_a_run_that_did_not_finish_is_incomplete(real_logs: Path, tmp_path: Path) -> None:
    from evaltui.importers.mlflow import read_mlflow

    project = _store_copy(real_logs, tmp_path)
    [meta] = project.glob(f"mlruns/*/{PARQUET.split(':')[1]}/meta.yaml")
    meta.write_text(meta.read_text().replace("status: 3", "status: 5"))  # KILLED
    runs = {r.run_id: r.doc for r in read_mlflow(project).runs}
    assert runs[PARQUET]["incomplete"] == "MLflow run status KILLED"
    assert "incomplete" not in runs[LOGGED_TABLE]
