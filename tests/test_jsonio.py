"""The strict JSON reader: every failure is one `path[:line]: ...` InputError, never a crash."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from evaltui.contract.jsonio import iter_jsonl, parse_json_text, read_json_file
from evaltui.errors import InputError
from tests.conftest import SAMPLE_RUNS

EXAMPLE = SAMPLE_RUNS / "ci-claim-gate"
DEEP = "[" * 200_000


def test_deep_nesting_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="nested too deeply") as caught:
        parse_json_text(DEEP, "x.json")
    assert caught.value.render() == "x.json: invalid JSON: nested too deeply"
    path = tmp_path / "deep.jsonl"
    path.write_text('{"a": 1}\n' + DEEP + "\n")
    with pytest.raises(InputError) as caught:
        list(iter_jsonl(path))
    assert caught.value.render() == f"{path}:2: invalid JSON: nested too deeply"


def test_non_strict_reads_nan_and_infinity_as_null(tmp_path: Path) -> None:
    text = '{"a": NaN, "b": [Infinity, -Infinity], "c": 1.5}'
    assert parse_json_text(text, "x", strict=False) == {"a": None, "b": [None, None], "c": 1.5}
    with pytest.raises(InputError, match="NaN is not valid JSON"):
        parse_json_text(text, "x")
    path = tmp_path / "f.json"
    path.write_text(text)
    assert read_json_file(path, strict=False)["a"] is None


@pytest.mark.parametrize("name", ["run_003.run.json", "batch.runs.jsonl"])
def test_load_refuses_a_deeply_nested_record(name: str, tmp_path: Path, run_cli) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(EXAMPLE / "ci-claim-gate-v1.suite.json", folder)
    good = json.dumps(json.loads((EXAMPLE / "run_003.run.json").read_text()))
    (folder / name).write_text(DEEP if name.endswith(".json") else good + "\n" + DEEP + "\n")
    result = run_cli("load", folder, "--store", tmp_path / "s.duckdb")
    assert result.code == 2, result
    lines = result.err.strip().splitlines()
    assert len(lines) == 1, result.err
    where = name if name.endswith(".json") else f"{name}:2"
    assert f"{where}: invalid JSON: nested too deeply" in lines[0]
