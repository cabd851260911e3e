"""Weights & Biases: two offline runs written by wandb 0.31.0 (tests/real_logs/wandb/README.md).

Both runs logged the same six-row table `eval/predictions` (id, text, label, prediction,
confidence) for two keyword classifiers; their config and summary live only in run-<id>.wandb.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest

from evaltui.errors import InputError
from evaltui.importers.pipeline import prepare
from evaltui.importers.wandb import read_table
from tests.conftest import REPO
from tests.importer_support import imported, refused

LOGS = REPO / "tests" / "real_logs" / "wandb"
WANDB_DIR = LOGS / "wandb"
RUN_V1 = WANDB_DIR / "offline-run-20261206_031800-kat5i6y4"
RUN_V2 = WANDB_DIR / "offline-run-20261206_031802-isqgv37j"
SYNCED = LOGS / "synced_layout" / "run-20261206_031800-kat5i6y4"
TABLE_V1 = RUN_V1 / "files/media/table/eval/predictions_0_2b3dc75d9be83e206b04.table.json"
V1, V2 = "wandb:kat5i6y4:eval/predictions", "wandb:isqgv37j:eval/predictions"


def _runs(source: Path, **columns: str) -> dict[str, Any]:
    with prepare("wandb", source, columns=columns or None) as prepared:
        return {run.run_id: run for run in prepared.imported.runs}


def _table(path: Path) -> list[dict[str, Any]]:
    doc = json.loads(path.read_text(encoding="utf-8"))
    return [dict(zip(doc["columns"], row, strict=True)) for row in doc["data"]]


def test_offline_runs_read_config_summary_and_table() -> None:
    runs = _runs(WANDB_DIR)
    assert sorted(runs) == [V2, V1]  # latest-run is a link to the second, not a third run
    run = runs[V1].doc
    assert run["artifact"] == "keyword-v1"  # config "model"
    assert run["experiment"] == "wandb:intent-router"
    assert run["params"]["grader"] == "exact_match" and run["params"]["threshold"] == "0.5"
    assert run["params"]["wandb.judging"] == "labels: pred=prediction, label=label"
    assert "_wandb" not in run["params"]
    assert run["metrics"]["accuracy"] == pytest.approx(4 / 6)  # W&B's own summary value
    assert (
        run["tags"]["wandb.job_type"] == "eval" and run["tags"]["wandb.name"] == "eval-keyword-v1"
    )
    assert "config and summary read from run-kat5i6y4.wandb" in runs[V1].notes
    by_id = {r["case_id"]: r for r in run["cases"]}
    for row in _table(TABLE_V1):
        result = by_id[row["id"]]
        assert result["route"] == row["prediction"]
        assert result["metadata"] == {"confidence": row["confidence"]}


def test_two_runs_of_one_table_pair_case_by_case(run_cli, tmp_path: Path) -> None:
    store = tmp_path / "s.duckdb"
    report = imported(run_cli, "wandb", LOGS, store)  # the folder holding wandb/
    assert len(report["suites"]) == 1 and len(report["runs"]) == 2
    result = run_cli("compare", V1, V2, "--store", store, "--json")
    assert result.code == 0, result.err
    (run,) = [r for r in json.loads(result.out)["runs"] if r["run_id"] == V2]
    assert run["comparable"] is True
    # v2 fixes q3 and q5 and breaks q6 (see gen_runs.py).
    paired = run["paired"]
    assert (paired["n"], paired["fixed"], paired["broken"]) == (6, 2, 1)
    assert run["metrics"]["recomputed"]["exact_route_rate"] == pytest.approx(5 / 6)
    assert run["metrics"]["logged"]["accuracy"] == pytest.approx(5 / 6)


def test_latest_run_by_name_is_the_run_it_links(tmp_path: Path) -> None:
    assert list(_runs(WANDB_DIR / "latest-run")) == [V2]


def test_a_synced_layout_gives_the_same_config_and_summary() -> None:
    offline, synced = _runs(RUN_V1)[V1].doc, _runs(SYNCED)[V1].doc
    assert synced["suite_id"] == offline["suite_id"]
    assert synced["cases"] == offline["cases"]
    assert synced["metrics"] == offline["metrics"]
    header = ("wandb.project", "wandb.entity")
    assert {k: v for k, v in synced["params"].items() if k not in header} == {
        k: v for k, v in offline["params"].items() if k not in header
    }


def test_offline_run_without_the_wandb_package_says_how_to_get_it(
    run_cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "wandb", None)
    monkeypatch.setitem(sys.modules, "wandb.proto", None)
    line = refused(run_cli, "wandb", RUN_V1, tmp_path / "s.duckdb")
    assert line.endswith("pip install 'evaltui[wandb]'")
    assert "run-kat5i6y4.wandb" in line
    # A synced run has its config and summary as files: no package needed.
    assert list(_runs(SYNCED)) == [V1]


def test_exports_as_csv_and_json_pair(run_cli, tmp_path: Path) -> None:
    store = tmp_path / "s.duckdb"
    first = imported(run_cli, "wandb", LOGS / "export" / "keyword-v1.csv", store)
    second = imported(run_cli, "wandb", LOGS / "export" / "keyword-v2.table.json", store)
    assert first["suites"][0]["suite_id"] == second["suites"][0]["suite_id"]
    v1, v2 = first["runs"][0]["run_id"], second["runs"][0]["run_id"]
    result = run_cli("compare", v1, v2, "--store", store, "--json")
    (run,) = [r for r in json.loads(result.out)["runs"] if r["run_id"] == v2]
    assert run["comparable"] is True
    assert (run["paired"]["fixed"], run["paired"]["broken"]) == (2, 1)


def _table_file(tmp_path: Path, columns: list[str], rows: list[list[Any]]) -> Path:
    path = tmp_path / "export.table.json"
    path.write_text(json.dumps({"columns": columns, "data": rows}), encoding="utf-8")
    return path


def test_columns_override_and_the_refusal_that_asks_for_it(run_cli, tmp_path: Path) -> None:
    rows = [[row["id"], row["text"], row["label"], row["prediction"]] for row in _table(TABLE_V1)]
    path = _table_file(tmp_path, ["qid", "utterance", "gold_intent", "guess"], rows)
    line = refused(run_cli, "wandb", path, tmp_path / "s.duckdb")
    assert "no prediction column" in line and "--columns pred=COL,label=COL" in line
    (run,) = _runs(path, pred="guess", label="gold_intent", id="qid", input="utterance").values()
    assert run.doc["params"]["wandb.judging"] == "labels: pred=guess, label=gold_intent"
    assert [r["case_id"] for r in run.doc["cases"]] == ["q1", "q2", "q3", "q4", "q5", "q6"]
    assert [r["route"] for r in run.doc["cases"]][:3] == ["track_order", "refund", "account"]
    result = run_cli(
        "import", "wandb", path, "--columns", "pred=nope", "--store", tmp_path / "s.duckdb"
    )
    assert result.code == 2 and "--columns pred=nope: no such column" in result.err


def test_free_text_is_matched_and_a_verdict_column_judges(tmp_path: Path) -> None:
    long = "The answer is Paris, the capital of France, on the Seine river in the north."
    path = _table_file(
        tmp_path, ["question", "answer", "reference"], [["q?", long, long], ["r?", "no", "yes"]]
    )
    (run,) = _runs(path).values()
    assert [r["route"] for r in run.doc["cases"]] == ["CORRECT", "INCORRECT"]
    assert run.doc["params"]["wandb.judging"] == "match: pred=answer, label=reference"
    path = _table_file(
        tmp_path, ["prompt", "response", "correct"], [["a", "x", True], ["b", "y", 0]]
    )
    (run,) = _runs(path).values()
    assert [r["route"] for r in run.doc["cases"]] == ["CORRECT", "INCORRECT"]
    assert run.doc["params"]["wandb.judging"] == "verdict: pred=response, verdict=correct"


def test_differently_judged_tables_are_incomparable(run_cli, tmp_path: Path) -> None:
    store = tmp_path / "s.duckdb"
    imported(run_cli, "wandb", RUN_V1, store)
    copy = tmp_path / "wandb" / RUN_V2.name
    shutil.copytree(RUN_V2, copy)
    imported(run_cli, "wandb", copy, store, "--columns", "pred=prediction,label=label,input=text")
    result = run_cli("compare", V1, V2, "--store", store, "--json")
    (run,) = [r for r in json.loads(result.out)["runs"] if r["run_id"] == V2]
    # The same cases (input=text is the default too), so only the judging could differ: it does not.
    assert run["comparable"] is True
    imported(run_cli, "wandb", copy, store, "--columns", "pred=label,label=prediction", "--replace")
    result = run_cli("compare", V1, V2, "--store", store, "--json")
    (run,) = [r for r in json.loads(result.out)["runs"] if r["run_id"] == V2]
    assert run["comparable"] is False
    assert "wandb.judging" in {d["field"] for d in run["differences"]}


def test_a_damaged_run_log_is_refused(run_cli, tmp_path: Path) -> None:
    copy = tmp_path / RUN_V1.name
    shutil.copytree(RUN_V1, copy)
    log = copy / "run-kat5i6y4.wandb"
    data = bytearray(log.read_bytes())
    data[40] ^= 0xFF
    log.write_bytes(bytes(data))
    line = refused(run_cli, "wandb", copy, tmp_path / "s.duckdb")
    assert "damaged W&B run log: bad checksum" in line and str(log) in line


def test_a_run_without_tables_is_skipped_and_nothing_is_imported(run_cli, tmp_path: Path) -> None:
    copy = tmp_path / "wandb" / RUN_V1.name
    shutil.copytree(RUN_V1, copy)
    shutil.rmtree(copy / "files" / "media")
    line = refused(run_cli, "wandb", tmp_path / "wandb", tmp_path / "s.duckdb")
    assert line.endswith("nothing to import: logged no table (nothing under files/media/table/)")


def test_a_run_log_file_names_its_run() -> None:
    assert list(_runs(RUN_V1 / "run-kat5i6y4.wandb")) == [V1]


def test_a_log_over_several_blocks_and_a_table_logged_twice() -> None:
    """A 40 KB config value is one record split over two 32 KiB blocks (first and last chunks);
    the table key was logged at steps 30 and 31: the newest step is read."""
    (run,) = _runs(LOGS / "long" / "offline-run-20261206_033959-tirnp7sv").values()
    params = run.doc["params"]
    assert len(params["notes_blob"]) == 40_000 and params["late_key"] == "set after the first steps"
    assert params["wandb.table_file"].endswith("predictions_31_5938a7281cc5a3170c04.table.json")
    assert [r["route"] for r in run.doc["cases"]] == ["track_order", "refund"]
    assert run.doc["metrics"]["accuracy"] == 1.0
    assert not any("exit record" in note for note in run.notes)


def test_a_table_over_the_size_limit_is_refused_unread(
    run_cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from evaltui.importers import wandb

    monkeypatch.setattr(wandb, "MAX_TABLE_BYTES", 100)
    line = refused(run_cli, "wandb", RUN_V1, tmp_path / "s.duckdb")
    assert line.endswith("425 bytes: larger than the 9.53674e-05 MiB a W&B table holds")


def test_a_table_file_inside_a_run_is_read_as_that_runs_table() -> None:
    """Not as an export: the run's config, summary and table key come with it."""
    (run,) = _runs(TABLE_V1).values()
    assert run.run_id == V1 and run.doc["artifact"] == "keyword-v1"
    older = LOGS / "long" / "offline-run-20261206_033959-tirnp7sv" / "files/media/table/eval"
    (run,) = _runs(older / "predictions_30_e81835b084e511215b48.table.json").values()
    assert [r["route"] for r in run.doc["cases"]] == ["other", "other"]  # the step asked for


@pytest.mark.parametrize(("columns", "said"), [(["id"], "1 cell"), (["id", "text"], "2 cells")])
def test_a_short_table_row_names_the_cells_it_needs(
    tmp_path: Path, columns: list[str], said: str
) -> None:
    path = _table_file(tmp_path, columns, [[*columns, "extra"]])
    with pytest.raises(InputError) as caught:
        read_table(path)
    assert caught.value.message == f"row 1 must be an array of {said}"


@pytest.mark.parametrize(("row", "said"), [("a", "1 cell"), ("a,b,c", "3 cells")])
def test_a_csv_row_of_the_wrong_width_is_named(tmp_path: Path, row: str, said: str) -> None:
    path = tmp_path / "export.csv"
    path.write_text(f"id,text\n{row}\n", encoding="utf-8")
    with pytest.raises(InputError) as caught:
        read_table(path)
    assert (caught.value.message, caught.value.line) == (f"{said}, the header has 2", 2)
