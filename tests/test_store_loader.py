"""Loading: idempotence, replacement, frozen suites, all-or-nothing, and the three case formats."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from evaltui.store.connection import Store
from tests.conftest import EXAMPLE, SAMPLE_RUNS, digest, example_run


def count(store: Path, sql: str) -> int:
    with Store.open(store, read_only=True) as s:
        return int(s.con.execute(sql).fetchone()[0])


def test_loading_twice_is_a_no_op(tmp_path: Path, run_cli) -> None:
    store = tmp_path / "s.duckdb"
    first = run_cli("load", SAMPLE_RUNS, "--store", store, "--json")
    assert first.code == 0, first.err
    summary = json.loads(first.out)
    assert len(summary["suites_added"]) == 3 and len(summary["runs_added"]) == 14
    assert summary["skipped_files"] == []
    rows = count(store, "SELECT count(*) FROM results")
    again = json.loads(run_cli("load", SAMPLE_RUNS, "--store", store, "--json").out)
    assert again["runs_added"] == [] and len(again["runs_unchanged"]) == 14
    assert again["suites_unchanged"] and again["result_rows"] == 0
    assert count(store, "SELECT count(*) FROM results") == rows == 4341


def test_changed_run_needs_replace(tmp_path: Path, run_cli) -> None:
    store = tmp_path / "s.duckdb"
    run_cli("load", EXAMPLE, "--store", store)
    folder = tmp_path / "v2"
    shutil.copytree(EXAMPLE, folder)
    doc = json.loads((folder / "run_002.run.json").read_text())
    doc["cases"] = doc["cases"][:3]
    (folder / "run_002.run.json").write_text(json.dumps(doc))
    refused = run_cli("load", folder, "--store", store)
    assert refused.code == 2
    assert "run_002" in refused.err and "--replace" in refused.err
    replaced = run_cli("load", folder, "--store", store, "--replace", "--json")
    assert replaced.code == 0, replaced.err
    assert json.loads(replaced.out)["runs_replaced"] == ["run_002"]
    assert count(store, "SELECT count(*) FROM results WHERE run_id = 'run_002'") == 3
    assert count(store, "SELECT count(*) FROM runs WHERE run_id = 'run_002'") == 1


def test_all_or_nothing_across_files(tmp_path: Path, run_cli) -> None:
    """A run that fails only when its rows meet the store (unknown case id) rolls back the others."""
    folder = tmp_path / "in"
    shutil.copytree(EXAMPLE, folder)
    doc = json.loads((folder / "run_005.run.json").read_text())
    doc["cases"][0]["case_id"] = "not-in-suite"
    (folder / "run_005.run.json").write_text(json.dumps(doc))
    store = tmp_path / "s.duckdb"
    result = run_cli("load", folder, "--store", store)
    assert result.code == 2
    assert "run_005.run.json: cases[0]: case_id 'not-in-suite' is not in suite" in result.err
    assert not store.exists()  # a refused first load leaves no store file behind


def test_inline_jsonl_and_parquet_results_load_the_same(tmp_path: Path, run_cli) -> None:
    doc = example_run("run_003")
    cases = doc["cases"]
    for case in cases:
        case["score"] = 0.5
        case["metadata"] = {"k": case["case_id"]}
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(EXAMPLE / "ci-claim-gate-v1.suite.json", folder)
    (folder / "a.jsonl").write_text("".join(json.dumps(c) + "\n" for c in cases))
    pq.write_table(pa.Table.from_pylist(cases), folder / "b.parquet")
    for run_id, source in (("inline", cases), ("jsonl", "a.jsonl"), ("parquet", "b.parquet")):
        (folder / f"{run_id}.run.json").write_text(
            json.dumps({**doc, "run_id": run_id, "cases": source})
        )
    store = tmp_path / "s.duckdb"
    assert run_cli("load", folder, "--store", store).code == 0
    with Store.open(store, read_only=True) as s:
        rows = s.con.execute(
            """SELECT run_id, list(struct_pack(case_id, route, score, latency_ms, tokens, output,
                                   m := metadata::VARCHAR) ORDER BY case_id)
               FROM results GROUP BY run_id ORDER BY run_id"""
        ).fetchall()
    by_run = {run_id: values for run_id, values in rows}
    assert by_run["inline"] == by_run["jsonl"] == by_run["parquet"]
    assert json.loads(by_run["parquet"][0]["m"]) == {"k": by_run["parquet"][0]["case_id"]}


def test_suite_referencing_files_and_skipped_files_are_counted(tmp_path: Path, run_cli) -> None:
    folder = tmp_path / "in"
    shutil.copytree(SAMPLE_RUNS / "support-router", folder)
    (folder / "NOTES.md").write_text("reviewer notes")
    (folder / "other.json").write_text('{"hello": "world"}')
    result = run_cli("load", folder, "--store", tmp_path / "s.duckdb", "--json")
    assert result.code == 0, result.err
    skipped = sorted(Path(p).name for p in json.loads(result.out)["skipped_files"])
    assert skipped == ["NOTES.md", "other.json"]


def test_frozen_suite_cannot_change_under_the_same_id(tmp_path: Path, run_cli) -> None:
    store = tmp_path / "s.duckdb"
    run_cli("load", EXAMPLE / "ci-claim-gate-v1.suite.json", "--store", store)
    doc = json.loads((EXAMPLE / "ci-claim-gate-v1.suite.json").read_text())
    doc["description"] = "edited"
    (tmp_path / "x.suite.json").write_text(json.dumps(doc))
    result = run_cli("load", tmp_path / "x.suite.json", "--store", store)
    assert result.code == 2
    assert "suites are frozen" in result.err


def test_store_files_are_not_entered_when_walking(tmp_path: Path, run_cli) -> None:
    """A project folder holding its own .evaltui/ store can be loaded without reading the store."""
    project = tmp_path / "proj"
    shutil.copytree(EXAMPLE, project)
    store = project / ".evaltui" / "store.duckdb"
    assert run_cli("load", project, "--store", store).code == 0
    again = run_cli("load", project, "--store", store, "--json")
    assert again.code == 0 and json.loads(again.out)["skipped_files"] == []


def test_default_store_location_and_env(tmp_path: Path, run_cli, monkeypatch) -> None:
    work = tmp_path / "project" / "sub"
    work.mkdir(parents=True)
    (tmp_path / "project" / ".evaltui").mkdir()
    monkeypatch.chdir(work)
    assert run_cli("load", EXAMPLE).code == 0
    assert (tmp_path / "project" / ".evaltui" / "store.duckdb").exists()
    env_store = tmp_path / "env.duckdb"
    monkeypatch.setenv("EVALTUI_STORE", str(env_store))
    assert run_cli("load", EXAMPLE / "ci-claim-gate-v1.suite.json").code == 0
    assert env_store.exists()


def test_reading_a_missing_store_is_a_clear_error(tmp_path: Path, run_cli) -> None:
    result = run_cli("runs", "--store", tmp_path / "none.duckdb")
    assert result.code == 2
    assert "no store here yet" in result.err
    assert not (tmp_path / "none.duckdb").exists()


def test_a_foreign_duckdb_file_is_not_taken_for_a_store(tmp_path: Path, run_cli) -> None:
    import duckdb

    path = tmp_path / "other.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE t (x INT)")
    con.close()
    before = digest(path)
    result = run_cli("load", EXAMPLE, "--store", path)
    assert result.code == 2 and "not an evaltui store" in result.err
    assert digest(path) == before


def _compression(store: Path, column: str) -> list[tuple[str]]:
    with Store.open(store, read_only=True) as s:
        return s.con.execute(
            "SELECT DISTINCT compression FROM pragma_storage_info('cases') "
            "WHERE column_name = ? AND segment_type = 'VARCHAR'",
            [column],
        ).fetchall()


def test_canonical_texts_are_stored_with_zstd(sample_store: Path) -> None:
    # zstd compresses the JSON texts about 2.6x smaller than DuckDB's default (FSST) and inserts
    # a million of them ~40% faster; the texts read back byte for byte (test_suite_bulk.py)
    assert _compression(sample_store, "canonical") == [("ZSTD",)]
    texts = count(sample_store, "SELECT count(*) FROM cases WHERE canonical LIKE '{%}'")
    assert texts == count(sample_store, "SELECT count(*) FROM cases") > 0


def test_case_ids_are_stored_as_plain_text(sample_store: Path) -> None:
    # unique ids gain nothing from a dictionary; plain text loads faster and is looked up faster
    assert _compression(sample_store, "case_id") == [("Uncompressed",)]


def test_a_suite_is_inserted_while_its_cases_are_hashed(
    tmp_path: Path, run_cli, monkeypatch
) -> None:
    """The suite's hash runs in the background: its cases go into the store before the loader
    asks for the fingerprints, which are then the same as when hashed at once."""
    import threading

    from evaltui.contract import suite as suite_module
    from evaltui.store import loader

    inserted = threading.Event()
    waited: list[bool] = []
    digest_table = suite_module.digest_table

    def after_the_insert(*args: object) -> str:
        waited.append(inserted.wait(timeout=5))  # False: the loader waited for the hash first
        return digest_table(*args)  # type: ignore[arg-type]

    numbering = loader._routes_if_in_id_order

    def recorded(*args: object) -> object:
        inserted.set()  # the cases are in: the loader numbers them next
        return numbering(*args)  # type: ignore[arg-type]

    reference = tmp_path / "reference.duckdb"
    assert run_cli("load", EXAMPLE, "--store", reference).code == 0
    monkeypatch.setattr(suite_module, "digest_table", after_the_insert)
    monkeypatch.setattr(loader, "_routes_if_in_id_order", recorded)
    store = tmp_path / "s.duckdb"
    result = run_cli("load", EXAMPLE, "--store", store)
    assert result.code == 0, result.err
    assert waited and all(waited)
    query = "SELECT suite_id, evaluation_sha, content_sha FROM suites"
    with Store.open(reference, read_only=True) as a, Store.open(store, read_only=True) as b:
        assert a.con.execute(query).fetchall() == b.con.execute(query).fetchall()
        splits = "SELECT suite_id, split, fingerprint FROM suite_splits ORDER BY ALL"
        assert a.con.execute(splits).fetchall() == b.con.execute(splits).fetchall()
