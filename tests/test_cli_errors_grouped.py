"""Errors a user meets first: the same bad value on many rows is one line with a count, a
mistyped command is named as one, and a folder with nothing to load says so (exit 2)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from tests.conftest import EXAMPLE, example_run


def _suite_and(folder: Path, run: dict) -> Path:
    folder.mkdir()
    shutil.copy(EXAMPLE / "ci-claim-gate-v1.suite.json", folder)
    (folder / "r.run.json").write_text(json.dumps(run))
    return folder


def test_identical_bad_routes_are_one_line_with_a_count(run_cli, tmp_path: Path) -> None:
    cases = [{"case_id": f"c{i}", "route": None} for i in range(400)]
    cases[7] = {"case_id": "c7", "route": "SERVE", "tokens": 1.5}  # a different problem
    folder = _suite_and(tmp_path / "inline", example_run("run_009", cases=cases))
    result = run_cli("load", folder, "--store", tmp_path / "s.duckdb")
    assert result.code == 2
    lines = result.err.strip().splitlines()
    assert lines == [
        f"evaltui: {folder / 'r.run.json'}: 399 cases: missing required field 'route' "
        "(a string), first at cases[0]",
        f"evaltui: {folder / 'r.run.json'}: cases[7]: case 'c7': field 'tokens' must be an "
        "integer, found a number",
    ]


def test_identical_bad_lines_of_a_case_file_are_grouped(run_cli, tmp_path: Path) -> None:
    folder = _suite_and(tmp_path / "file", example_run("run_009", cases="r.jsonl"))
    rows = [{"case_id": "req_205", "route": 5}] * 400
    (folder / "r.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    result = run_cli("load", folder, "--store", tmp_path / "s.duckdb")
    assert result.code == 2
    assert result.err.strip().splitlines() == [
        f"evaltui: {folder / 'r.jsonl'}: 400 lines: field 'route' must be a non-empty string, "
        "found a number, first at line 1"
    ]


def test_many_different_problems_end_with_a_count_of_the_rest(run_cli, tmp_path: Path) -> None:
    cases = [{"case_id": f"unknown-{i}", "route": "SERVE"} for i in range(50)]
    folder = _suite_and(tmp_path / "unknown", example_run("run_009", cases=cases))
    result = run_cli("load", folder, "--store", tmp_path / "s.duckdb")
    lines = result.err.strip().splitlines()
    assert result.code == 2 and len(lines) == 20
    assert lines[0].endswith("cases[0]: case_id 'unknown-0' is not in suite 'ci-claim-gate-v1'")
    assert lines[-1].endswith("... and 31 more bad cases (other problems)")


def test_a_mistyped_command_is_named_with_a_suggestion(run_cli, tmp_path: Path) -> None:
    result = run_cli("comapre", "run_001")
    assert result.code == 2
    assert "no such command 'comapre' (did you mean 'compare'?)" in result.err
    assert "no such file or folder" not in result.err.split("and no such")[0]
    other = run_cli("frobnicate")
    assert other.code == 2 and "no such command or file 'frobnicate'" in other.err
    # an existing folder of that name is still opened as a path, not taken for a command
    (tmp_path / "comapre").mkdir()
    assert "no such command" not in run_cli("comapre", "--store", tmp_path / "s.duckdb").err


def test_a_folder_with_nothing_loadable_is_one_clear_line(run_cli, tmp_path: Path) -> None:
    folder = tmp_path / "logs"
    folder.mkdir()
    (folder / "notes.txt").write_text("hello")
    (folder / "other.json").write_text('{"results": {}}')
    result = run_cli("load", folder, "--store", tmp_path / "s.duckdb")
    assert result.code == 2
    assert result.err.strip().splitlines() == [
        f"evaltui: {folder}: nothing to load: no suite, run or gates record found "
        "(2 other files skipped); logs of other tools go through `evaltui import TOOL SOURCE`"
    ]
    assert not (tmp_path / "s.duckdb").exists()  # no store created for nothing
