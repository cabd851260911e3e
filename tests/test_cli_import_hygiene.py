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


def _imports_of(package: Path) -> dict[str, set[str]]:
    """Every module a package's files import, by file (read with ast, nothing is executed)."""
    import ast

    found: dict[str, set[str]] = {}
    for source in sorted(package.rglob("*.py")):
        names: set[str] = set()
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names.add(node.module)
        found[str(source.relative_to(REPO))] = names
    return found


def test_the_application_layer_never_imports_textual_or_rich() -> None:
    """`evaltui.actions` serves the CLI and the app alike: rendering belongs to the surfaces."""
    files = _imports_of(REPO / "evaltui" / "actions")
    assert files, "no application layer found"
    for name, modules in files.items():
        surface = {m for m in modules if m.split(".")[0] in ("textual", "rich")}
        surface |= {m for m in modules if m.startswith(("evaltui.tui", "evaltui.cli"))}
        assert not surface, f"{name} imports {sorted(surface)}"


def test_the_app_never_imports_duckdb_or_builds_sql() -> None:
    """The app's screens and widgets ask the application layer; queries stay below it.

    `tui/app.py` and `tui/screens/base.py` own the worker connection, so they may name its type.
    """
    owners = {"evaltui/tui/app.py", "evaltui/tui/screens/base.py"}
    for name, modules in _imports_of(REPO / "evaltui" / "tui").items():
        if name in owners:
            continue
        assert "duckdb" not in modules, f"{name} imports duckdb"
        text = (REPO / name).read_text(encoding="utf-8")
        for keyword in ("SELECT ", "INSERT INTO", "CREATE TEMP"):
            assert keyword not in text, f"{name} holds SQL ({keyword.strip()})"


# the steps of drafting and signing a decision: only the application layer composes them
SIGNING_STEPS = {
    "prepare",
    "draft_for",
    "check_choices",
    "build_record",
    "load_signer",
    "available_keys",
    "sign_and_write",
    "cosign",
    "check_reviewer",
    "read_log",
}


def test_the_surfaces_sign_only_through_the_application_layer() -> None:
    """The CLI's decide and cosign and the two signing forms call `evaltui.actions`; none of them
    imports a step of the decision layer's sequence itself (so there is one sequence)."""
    import ast

    surfaces = [
        REPO / "evaltui" / "cli" / "commands_decision.py",
        REPO / "evaltui" / "tui" / "screens" / "decide.py",
        REPO / "evaltui" / "tui" / "screens" / "cosign.py",
    ]
    for source in surfaces:
        tree = ast.parse(source.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
                "evaltui.decision"
            ):
                steps = {alias.name for alias in node.names} & SIGNING_STEPS
                if steps == {"read_log"} and source.name == "commands_decision.py":
                    continue  # `evaltui decisions` prints the log as it is
                assert not steps, f"{source.relative_to(REPO)} imports {sorted(steps)}"
