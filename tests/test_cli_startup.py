"""What the `evaltui` program imports: only the named command's module, and never pandas.

These run the program as a user does (`python -m evaltui`, the console script's entry point) in a
child process, since tests otherwise call `main` in their own process.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import SAMPLE_RUNS

# Runs the program's entry point, then prints which modules the process holds at exit.
PROBE = """
import atexit, json, sys
def report():
    mods = sorted(m for m in sys.modules if m.startswith("evaltui.") or m.split(".")[0] == "pandas")
    print("\\nMODULES " + json.dumps(mods), file=sys.stderr)
atexit.register(report)
sys.argv = ["evaltui", *sys.argv[1:]]
from evaltui.cli.main import run
run()
"""


def _program(*args: str | Path) -> tuple[int, str, list[str]]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    modules = json.loads(done.stderr.rsplit("MODULES ", 1)[1])
    return done.returncode, done.stdout, modules


def test_load_and_compare_run_without_pandas_even_where_it_is_installed(tmp_path: Path) -> None:
    import importlib.util

    # the dev extras install pandas (statsmodels needs it): the program must keep it out anyway
    assert importlib.util.find_spec("pandas") is not None
    store = tmp_path / "store.duckdb"
    code, _out, modules = _program("--store", store, "load", SAMPLE_RUNS)
    assert code == 0
    assert not [m for m in modules if m.split(".")[0] == "pandas"]
    runs = json.loads(_program("--store", store, "runs", "--json")[1])["runs"]
    baseline = runs[0]["run_id"]
    code, out, modules = _program("--store", store, "compare", baseline, "--json")
    assert code in (0, 1)  # 1: a guardrail failed, still a full review
    assert json.loads(out)["runs"]
    assert not [m for m in modules if m.split(".")[0] == "pandas"]


def test_a_command_imports_only_its_own_module(tmp_path: Path) -> None:
    """`evaltui load` starts without the decision, drift, review or app code."""
    code, _out, loaded = _program("--store", tmp_path / "s.duckdb", "load", SAMPLE_RUNS)
    assert code == 0
    assert "evaltui.cli.commands_store" in loaded
    for other in ("commands_decision", "commands_drift", "commands_review", "commands_verdicts"):
        assert f"evaltui.cli.{other}" not in loaded
    assert not [m for m in loaded if m.startswith(("evaltui.tui", "evaltui.decision"))]


REAL_LOGS = Path(__file__).parent / "real_logs"


def test_every_importer_runs_without_pandas(tmp_path: Path) -> None:
    """Each tool's real logs import through the program as a user runs it."""
    for tool, source in [
        ("lm-eval", REAL_LOGS / "lm_eval"),
        ("inspect", REAL_LOGS / "inspect_ai"),
        ("mlflow", REAL_LOGS / "mlflow_filestore" / "mlruns"),
    ]:
        store = tmp_path / f"{tool}.duckdb"
        code, _out, modules = _program("import", tool, source, "--store", store, "--json")
        assert code == 0, tool
        assert not [m for m in modules if m.split(".")[0] == "pandas"], tool


# Runs the program, then reports the BLAS thread setting and the process's native threads.
BLAS_PROBE = """
import atexit, json, os, sys
def report():
    import numpy
    numpy.ones((2, 2)) @ numpy.ones((2, 2))  # OpenBLAS has started its threads by now
    found = {"env": os.environ.get("OPENBLAS_NUM_THREADS"), "tasks": len(os.listdir("/proc/self/task"))}
    print("\\nBLAS " + json.dumps(found), file=sys.stderr)
atexit.register(report)
sys.argv = ["evaltui", *sys.argv[1:]]
from evaltui.cli.main import run
run()
"""


def _blas(tmp_path: Path, env: dict[str, str]) -> dict[str, object]:
    import os

    done = subprocess.run(
        [sys.executable, "-c", BLAS_PROBE, "--store", str(tmp_path / "s.duckdb"), "runs"],
        capture_output=True,
        text=True,
        timeout=120,
        env={k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"} | env,
    )
    return dict(json.loads(done.stderr.rsplit("BLAS ", 1)[1]))


def test_numpy_blas_runs_on_one_thread_unless_the_user_chose(tmp_path: Path) -> None:
    """OpenBLAS's spinning threads cost every command CPU the load's threads want."""
    import os

    if (os.cpu_count() or 1) < 2:
        pytest.skip("OpenBLAS starts no more threads than cores: one core cannot tell")
    ours = _blas(tmp_path, {})
    chosen = _blas(tmp_path, {"OPENBLAS_NUM_THREADS": "2"})
    assert ours["env"] == "1"
    assert chosen["env"] == "2"  # the user's value is kept ...
    assert int(str(chosen["tasks"])) == int(str(ours["tasks"])) + 1  # ... and takes effect
