"""Every kind of bad input: exit 2, one line per problem naming the file (and line), no traceback,
and the store byte-for-byte as it was."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.conftest import SAMPLE_RUNS

EXAMPLE = SAMPLE_RUNS / "ci-claim-gate"


def suite_doc() -> dict:
    return json.loads((EXAMPLE / "ci-claim-gate-v1.suite.json").read_text())


def run_doc(run_id: str = "run_new") -> dict:
    doc = json.loads((EXAMPLE / "run_003.run.json").read_text())
    doc["run_id"] = run_id
    return doc


def write(path: Path, doc: object) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def jsonl(path: Path, rows: list[object]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def results_rows() -> list[dict]:
    return [
        {"case_id": "req_205", "route": "ABSTAIN"},
        {"case_id": "reg_002", "route": "SERVE"},
        {"case_id": "hold_001", "route": "SERVE"},
        {"case_id": "hold_002", "route": "ABSTAIN"},
    ]


def run_with_file(folder: Path, name: str) -> None:
    doc = run_doc()
    doc["cases"] = name
    write(folder / "run_new.run.json", doc)


# Each builder fills `folder` with something bad; it returns (file named in the error, line or None).
Builder = Callable[[Path], tuple[str, int | None]]


def truncated_json(folder: Path) -> tuple[str, int | None]:
    text = json.dumps(run_doc(), indent=1)
    (folder / "run_new.run.json").write_text(text[: len(text) // 2])
    return "run_new.run.json", None


def non_utf8(folder: Path) -> tuple[str, int | None]:
    data = json.dumps(run_doc(), indent=1).encode().replace(b"fix-b", b"fix-\xff\xfe", 1)
    (folder / "run_new.run.json").write_bytes(data)
    return "run_new.run.json", None


def unknown_kind(folder: Path) -> tuple[str, int | None]:
    write(folder / "thing.json", {"kind": "evaltui.experiment", "version": 1})
    return "thing.json", None


def unknown_version(folder: Path) -> tuple[str, int | None]:
    write(folder / "run_new.run.json", {**run_doc(), "version": 2})
    return "run_new.run.json", None


def missing_field(folder: Path) -> tuple[str, int | None]:
    doc = run_doc()
    del doc["artifact"]
    write(folder / "run_new.run.json", doc)
    return "run_new.run.json", None


def wrong_types(folder: Path) -> tuple[str, int | None]:
    write(folder / "run_new.run.json", {**run_doc(), "params": ["x"], "metrics": {"a": "high"}})
    return "run_new.run.json", None


def unknown_suite(folder: Path) -> tuple[str, int | None]:
    write(folder / "run_new.run.json", {**run_doc(), "suite_id": "no-such-suite"})
    return "run_new.run.json", None


def unknown_case_ids(folder: Path) -> tuple[str, int | None]:
    doc = run_doc()
    doc["cases"][2]["case_id"] = "hold_999"
    write(folder / "run_new.run.json", doc)
    return "run_new.run.json", None


def duplicate_suite_case_ids(folder: Path) -> tuple[str, int | None]:
    doc = suite_doc()
    doc["suite_id"] = "dup-suite"
    doc["splits"]["holdout"][1]["case_id"] = "hold_001"
    write(folder / "dup.suite.json", doc)
    return "dup.suite.json", None


def duplicate_results_jsonl(folder: Path) -> tuple[str, int | None]:
    rows = results_rows()
    rows.append({"case_id": "reg_002", "route": "ABSTAIN"})
    jsonl(folder / "cases.jsonl", rows)
    run_with_file(folder, "cases.jsonl")
    return "cases.jsonl", 5


def missing_referenced_file(folder: Path) -> tuple[str, int | None]:
    run_with_file(folder, "results/none.parquet")
    return "run_new.run.json", None


def corrupt_parquet(folder: Path) -> tuple[str, int | None]:
    (folder / "cases.parquet").write_bytes(b"PAR1 this is not parquet PAR1")
    run_with_file(folder, "cases.parquet")
    return "cases.parquet", None


def parquet_without_route(folder: Path) -> tuple[str, int | None]:
    pq.write_table(
        pa.table({"case_id": ["req_205"], "answer": ["SERVE"]}), folder / "cases.parquet"
    )
    run_with_file(folder, "cases.parquet")
    return "cases.parquet", None


def parquet_null_route(folder: Path) -> tuple[str, int | None]:
    rows = results_rows()
    rows[3]["route"] = None
    pq.write_table(pa.Table.from_pylist(rows), folder / "cases.parquet")
    run_with_file(folder, "cases.parquet")
    return "cases.parquet", None


def path_leaves_folder(folder: Path) -> tuple[str, int | None]:
    jsonl(folder.parent / "outside.jsonl", results_rows())
    run_with_file(folder, "../outside.jsonl")
    return "run_new.run.json", None


def absolute_path(folder: Path) -> tuple[str, int | None]:
    target = jsonl(folder.parent / "abs.jsonl", results_rows())
    run_with_file(folder, str(target.resolve()))
    return "run_new.run.json", None


def symlink_escape(folder: Path) -> tuple[str, int | None]:
    target = jsonl(folder.parent / "secret.jsonl", results_rows())
    os.symlink(target, folder / "link.jsonl")
    run_with_file(folder, "link.jsonl")
    return "run_new.run.json", None


def empty_file(folder: Path) -> tuple[str, int | None]:
    (folder / "run_new.run.json").write_text("")
    return "run_new.run.json", None


def empty_results_file(folder: Path) -> tuple[str, int | None]:
    (folder / "cases.jsonl").write_text("\n")
    run_with_file(folder, "cases.jsonl")
    return "cases.jsonl", None


def bad_jsonl_line(folder: Path) -> tuple[str, int | None]:
    text = "".join(json.dumps(r) + "\n" for r in results_rows())
    lines = text.splitlines()
    lines[2] = lines[2][:-3]  # cut the closing of line 3
    (folder / "cases.jsonl").write_text("\n".join(lines) + "\n")
    run_with_file(folder, "cases.jsonl")
    return "cases.jsonl", 3


def jsonl_route_not_a_string(folder: Path) -> tuple[str, int | None]:
    rows: list[dict] = results_rows()
    rows[1]["route"] = 1
    jsonl(folder / "cases.jsonl", rows)
    run_with_file(folder, "cases.jsonl")
    return "cases.jsonl", 2


def bad_line_in_runs_jsonl(folder: Path) -> tuple[str, int | None]:
    good = run_doc("run_a")
    bad = {**run_doc("run_b"), "started_at": "yesterday"}
    (folder / "batch.runs.jsonl").write_text(json.dumps(good) + "\n" + json.dumps(bad) + "\n")
    return "batch.runs.jsonl", 2


def duplicate_json_keys(folder: Path) -> tuple[str, int | None]:
    text = json.dumps(run_doc())
    text = text.replace('"artifact":', '"artifact": "x", "artifact":', 1)
    (folder / "run_new.run.json").write_text(text)
    return "run_new.run.json", None


def suite_without_splits(folder: Path) -> tuple[str, int | None]:
    write(
        folder / "s.suite.json",
        {"kind": "evaltui.suite", "version": 1, "suite_id": "s", "splits": {}},
    )
    return "s.suite.json", None


def guardrail_unknown_metric(folder: Path) -> tuple[str, int | None]:
    doc = suite_doc()
    doc["suite_id"] = "g"
    doc["guardrails"] = [{"require": "made_up_metric == 0", "status": "REJECT_X"}]
    write(folder / "g.suite.json", doc)
    return "g.suite.json", None


def changed_run_same_id(folder: Path) -> tuple[str, int | None]:
    doc = json.loads((EXAMPLE / "run_003.run.json").read_text())
    doc["metrics"]["exact_route_rate"] = 0.99
    write(folder / "run_003.run.json", doc)
    return "run_003.run.json", None


def changed_suite_same_id(folder: Path) -> tuple[str, int | None]:
    doc = suite_doc()
    doc["splits"]["holdout"][0]["expected_route"] = "ABSTAIN"
    write(folder / "ci-claim-gate-v1.suite.json", doc)
    return "ci-claim-gate-v1.suite.json", None


def metadata_not_object(folder: Path) -> tuple[str, int | None]:
    rows: list[dict] = results_rows()
    rows[3]["metadata"] = [1, 2]
    jsonl(folder / "cases.jsonl", rows)
    run_with_file(folder, "cases.jsonl")
    return "cases.jsonl", 4


BUILDERS: list[Builder] = [
    truncated_json,
    non_utf8,
    unknown_kind,
    unknown_version,
    missing_field,
    wrong_types,
    unknown_suite,
    unknown_case_ids,
    duplicate_suite_case_ids,
    duplicate_results_jsonl,
    missing_referenced_file,
    corrupt_parquet,
    parquet_without_route,
    parquet_null_route,
    path_leaves_folder,
    absolute_path,
    symlink_escape,
    empty_file,
    empty_results_file,
    bad_jsonl_line,
    jsonl_route_not_a_string,
    bad_line_in_runs_jsonl,
    duplicate_json_keys,
    suite_without_splits,
    guardrail_unknown_metric,
    changed_run_same_id,
    changed_suite_same_id,
    metadata_not_object,
]


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("build", BUILDERS, ids=lambda b: b.__name__)
def test_bad_input_is_refused_cleanly(build: Builder, tmp_path: Path, run_cli) -> None:
    store = tmp_path / "store.duckdb"
    assert run_cli("load", EXAMPLE, "--store", store).code == 0
    before = digest(store)

    folder = tmp_path / "incoming"
    folder.mkdir()
    shutil.copy(EXAMPLE / "ci-claim-gate-v1.suite.json", folder)
    named, line = build(folder)

    result = run_cli("load", folder, "--store", store)
    assert result.code == 2, result
    assert result.out == ""
    assert "Traceback" not in result.err
    lines = result.err.strip().splitlines()
    assert 1 <= len(lines) <= 21, result.err
    first = lines[0]
    assert named in first, first
    if line is not None:
        assert f"{named}:{line}:" in first, first
    assert digest(store) == before, "a refused load must leave the store byte-for-byte unchanged"


def test_runs_jsonl_problem_names_the_line(tmp_path: Path, run_cli) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(EXAMPLE / "ci-claim-gate-v1.suite.json", folder)
    bad_line_in_runs_jsonl(folder)
    result = run_cli("load", folder, "--store", tmp_path / "s.duckdb")
    assert "batch.runs.jsonl:2: field 'started_at' is 'yesterday'" in result.err


def test_all_problems_in_one_pass(tmp_path: Path, run_cli) -> None:
    """Several broken files: every one is reported, nothing is loaded."""
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(EXAMPLE / "ci-claim-gate-v1.suite.json", folder)
    write(folder / "a.run.json", {**run_doc("run_a"), "version": 9})
    write(folder / "b.run.json", {**run_doc("run_b"), "suite_id": ""})
    store = tmp_path / "s.duckdb"
    result = run_cli("load", folder, "--store", store)
    assert result.code == 2
    assert "a.run.json" in result.err and "b.run.json" in result.err
    assert (
        not store.exists() or run_cli("runs", "--store", store, "--json").out.count("run_id") == 0
    )


def test_allow_outside_lets_a_reference_leave_the_folder(tmp_path: Path, run_cli) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(EXAMPLE / "ci-claim-gate-v1.suite.json", folder)
    path_leaves_folder(folder)
    store = tmp_path / "s.duckdb"
    assert run_cli("load", folder, "--store", store).code == 2
    result = run_cli("load", folder, "--store", store, "--allow-outside")
    assert result.code == 0, result.err


def test_error_lines_show_hostile_file_names_literally(tmp_path: Path, run_cli) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "evil\x1b]0;TITLE\x07.run.json").write_text("{")
    result = run_cli("load", folder, "--store", tmp_path / "s.duckdb")
    assert result.code == 2
    assert "\x1b" not in result.err and "\x07" not in result.err
    assert "evil\u241b]0;TITLE\u2407.run.json" in result.err
