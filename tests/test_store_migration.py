"""Schema version 3 -> 4: `suites.cluster_field` (the manifest's, stored at load time)."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from evaltui.errors import StoreError
from evaltui.store.connection import Store
from evaltui.store.queries import cluster_field, get_suite
from tests._stats_data import CASES, SUITE_ID, load, routes, write_run, write_suite


def _folder(tmp_path: Path, cluster: str | None) -> Path:
    folder = tmp_path / "in"
    folder.mkdir(parents=True)
    write_suite(folder)
    if cluster is not None:
        manifest = folder / "hand.suite.json"
        doc = json.loads(manifest.read_text())
        doc["cluster_field"] = cluster
        manifest.write_text(json.dumps(doc))
    write_run(folder, "base", routes(*[c["expected_route"] for c in CASES]), day=1)
    cand = routes("ABSTAIN", "SERVE", "ABSTAIN", "ESCALATE", "SERVE", "ABSTAIN", "SERVE", "SERVE")
    write_run(folder, "cand", cand, day=2)
    return folder


def _as_version_3(store: Path) -> None:
    """What a version-3 store holds: no suites.cluster_field (it was the last column)."""
    con = duckdb.connect(str(store))
    con.execute("ALTER TABLE suites DROP COLUMN cluster_field")
    con.execute("UPDATE meta SET value = '3' WHERE key = 'schema_version'")
    con.close()


def _version(store: Path) -> str:
    con = duckdb.connect(str(store), read_only=True)
    try:
        row = con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        return str(row[0]) if row else ""
    finally:
        con.close()


def _compare(run_cli, store: Path) -> dict:
    out = run_cli("compare", "base", "cand", "--store", store, "--json")
    assert out.code == 0, out.err
    return json.loads(out.out)


def test_a_version_3_store_takes_the_manifests_cluster_field(run_cli, tmp_path: Path) -> None:
    folder = _folder(tmp_path, "tier")
    store = load(folder, tmp_path / "s.duckdb")
    expected = _compare(run_cli, store)
    assert expected["statistics"]["cluster_field"] == "tier"
    _as_version_3(store)
    with Store.open(store) as opened:  # opened for writing: migrated
        assert cluster_field(opened.con, SUITE_ID) == "tier"
        assert get_suite(opened.con, SUITE_ID).cluster_field == "tier"
    assert _version(store) == "4"
    (folder / "hand.suite.json").unlink()  # stored now: the file is no longer needed
    assert _compare(run_cli, store) == expected
    # loading the same runs again is unchanged, not a conflict
    assert run_cli("load", _folder(tmp_path / "again", "tier"), "--store", store).code == 0


def test_a_version_3_store_whose_manifest_is_gone_gets_none(run_cli, tmp_path: Path) -> None:
    folder = _folder(tmp_path, "tier")
    store = load(folder, tmp_path / "s.duckdb")
    _as_version_3(store)
    (folder / "hand.suite.json").unlink()
    with Store.open(store) as opened:
        assert cluster_field(opened.con, SUITE_ID) is None
    assert _compare(run_cli, store)["statistics"]["cluster_field"] is None


def test_a_version_3_store_opened_read_only_is_refused_unchanged(run_cli, tmp_path: Path) -> None:
    store = load(_folder(tmp_path, "tier"), tmp_path / "s.duckdb")
    _as_version_3(store)
    before = store.read_bytes()
    with pytest.raises(StoreError, match=r"schema version '3'.*load into it once"):
        Store.open(store, read_only=True)
    result = run_cli("runs", "--store", store)
    assert result.code == 2
    assert "store schema version '3', this evaltui uses '4'" in result.err
    assert "Traceback" not in result.err
    assert store.read_bytes() == before and _version(store) == "3"
