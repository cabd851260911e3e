"""benchmarks/verdict_bench.py runs as documented on a tiny pair: a `--work` folder that does not
exist yet is created (as `--data` is), and every figure it reports is a number."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.reliability_support import REPO


def _bench() -> Any:
    spec = importlib.util.spec_from_file_location(
        "verdict_bench", REPO / "benchmarks" / "verdict_bench.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["verdict_bench"] = module
    spec.loader.exec_module(module)
    return module


def test_a_work_folder_that_does_not_exist_yet_is_created(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    work = tmp_path / "not" / "there" / "yet"
    args = ["--cases", "400", "--verdicts", "100", "--repeat", "1", "--records", "1"]
    code = _bench().main([*args, "--json", "--data", str(tmp_path / "data"), "--work", str(work)])
    assert code == 0
    result = json.loads(capsys.readouterr().out)
    assert work.is_dir() and list(work.iterdir()) == []  # its own run folder is removed after
    assert result["targets"] and all(isinstance(t["met"], bool) for t in result["targets"].values())
