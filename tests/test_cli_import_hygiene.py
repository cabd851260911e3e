"""Headless commands never import Textual, and `import evaltui` loads nothing heavy.

Each command runs in a fresh interpreter (as in harlequin's import-hygiene test); a wrapper
records which modules were imported by the time the command finished. A CI job or a script that
only asks for JSON must not pay for the review app's start-up.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, SAMPLE_RUNS

WRAPPER = """
import json, sys
from evaltui.cli.main import main
try:
    main(sys.argv[2:])
except SystemExit as exc:
    code = exc.code
else:
    code = 0
with open(sys.argv[1], "w") as out:
    json.dump({"code": code, "modules": sorted(sys.modules)}, out)
"""

APP_ONLY = ("textual",)


def imported(tmp_path: Path, *args: str | Path) -> tuple[int, set[str]]:
    report = tmp_path / "modules.json"
    subprocess.run(
        [sys.executable, "-c", WRAPPER, str(report), *map(str, args)],
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO), "NO_COLOR": "1"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        timeout=120,
        check=False,
    )
    found = json.loads(report.read_text())
    return found["code"], set(found["modules"])


def top_level(modules: set[str]) -> set[str]:
    return {m.split(".")[0] for m in modules}


@pytest.mark.parametrize(
    "args",
    [
        ("runs", "--json"),
        ("suites", "--json"),
        ("compare", "sr-prod-v3.4", "--json"),
        ("cases", "sr-v3.5-rc1", "--vs", "sr-prod-v3.4", "--failures", "--json"),
        ("drift", "sr-prod-v3.4", "sr-v3.5-rc1", "--column", "route", "--json"),
    ],
    ids=lambda a: a[0],
)
def test_headless_commands_do_not_import_textual(
    args: tuple[str, ...], sample_store: Path, tmp_path: Path
) -> None:
    code, modules = imported(tmp_path, "--store", sample_store, *args)
    assert code == 0
    assert "evaltui.cli.main" in modules and "duckdb" in modules  # the command really ran
    assert not top_level(modules) & set(APP_ONLY), sorted(m for m in modules if "textual" in m)
    assert not any(m.startswith("evaltui.tui") for m in modules)


def test_load_does_not_import_textual(tmp_path: Path) -> None:
    code, modules = imported(tmp_path, "--store", tmp_path / "s.duckdb", "load", SAMPLE_RUNS)
    assert code == 0 and "evaltui.store.loader" in modules
    assert not top_level(modules) & set(APP_ONLY)
    assert not any(m.startswith("evaltui.tui") for m in modules)


def test_importing_evaltui_is_light(tmp_path: Path) -> None:
    report = tmp_path / "modules.json"
    subprocess.run(
        [
            sys.executable,
            "-c",
            "import json, sys, evaltui; "
            f"json.dump(sorted(sys.modules), open({str(report)!r}, 'w'))",
        ],
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO)},
        check=True,
        timeout=60,
    )
    modules = set(json.loads(report.read_text()))
    assert "evaltui" in modules
    heavy = {"textual", "rich", "duckdb", "pyarrow", "numpy", "click", "cryptography"}
    assert not top_level(modules) & heavy
    assert sorted(m for m in modules if m.startswith("evaltui")) == ["evaltui"]
