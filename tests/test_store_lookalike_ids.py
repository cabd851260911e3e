"""A suite whose case ids differ only invisibly (NFC vs NFD, a zero-width character) loads with
one warning line naming the suite and the ids, found by one query over the suite's cases."""

from __future__ import annotations

import json
from pathlib import Path

from evaltui.contract.discover import read_batch
from evaltui.store.connection import Store
from evaltui.store.loader import load_batch


def write_suite(folder: Path, case_ids: list[str], suite_id: str = "look") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    cases = [{"case_id": c, "expected_route": "SERVE"} for c in case_ids]
    doc = {"kind": "evaltui.suite", "version": 1, "suite_id": suite_id, "splits": {"main": cases}}
    path = folder / f"{suite_id}.suite.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def test_lookalike_case_ids_give_one_warning_line(run_cli, tmp_path: Path) -> None:
    ids = ["caf\u00e9", "cafe\u0301", "ab", "a\u200bb", "a\ufeffb", "plain", "other"]
    path = write_suite(tmp_path / "in", ids)
    store = tmp_path / "s.duckdb"
    done = run_cli("load", tmp_path / "in", "--store", store)
    assert done.code == 0, done.err
    lines = done.err.strip().splitlines()
    assert len(lines) == 1
    line = lines[0]
    assert line.startswith(f"evaltui: warning: {path}: suite 'look' has 2 groups")
    assert '"cafe\\u0301" = "caf\\u00e9"' in line  # escapes show the difference
    assert '"a\\u200bb"' in line and '"a\\ufeffb"' in line and '"ab"' in line
    assert "plain" not in line
    again = run_cli("load", tmp_path / "in", "--store", store, "--json")
    assert json.loads(again.out)["warnings"] == []  # unchanged suite: nothing new to say


def test_many_groups_are_counted_not_all_listed(tmp_path: Path) -> None:
    ids = [x for n in range(50) for x in (f"id{n}", f"id\u200d{n}")] + [
        f"solo{n}" for n in range(500)
    ]
    write_suite(tmp_path / "in", ids)
    with Store.open(tmp_path / "s.duckdb") as store:
        summary = load_batch(store, read_batch([tmp_path / "in"]))
    assert len(summary.warnings) == 1
    warning = summary.warnings[0]
    assert "has 50 groups" in warning and "; +47 more groups" in warning
    assert warning.count(" = ") == 3


def test_distinct_looking_ids_give_no_warning(tmp_path: Path) -> None:
    write_suite(tmp_path / "in", ["a", "A", "e\u0301x", "\u00e9", "a b", "ab"])
    with Store.open(tmp_path / "s.duckdb") as store:
        summary = load_batch(store, read_batch([tmp_path / "in"]))
    assert summary.warnings == []
