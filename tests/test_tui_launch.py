"""`evaltui [PATH ...]`: load, check the start options, open the app, and release the store."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from evaltui.tui.app import EvaltuiApp
from evaltui.tui.colors import ANSI_THEME, DEFAULT_THEME, color_system, pick_theme
from tests.conftest import SAMPLE_RUNS


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Replace the terminal session by a record of how the app would have started."""
    calls: list[dict[str, Any]] = []

    def run(self: EvaltuiApp, *args: Any, **kwargs: Any) -> None:
        calls.append(
            {
                "experiment": self.start_experiment,
                "baseline": self.start_baseline,
                "theme": self.theme,
                "read_only": self.store.read_only,
                "store": self.store,
            }
        )

    monkeypatch.setattr(EvaltuiApp, "run", run)
    return calls


def test_paths_are_loaded_then_the_app_opens_read_only(run_cli, started, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    result = run_cli("--store", tmp_path / "s.duckdb", SAMPLE_RUNS)
    assert result.code == 0, result.err
    assert "loaded 3 suites, 14 runs" in result.err
    assert len(started) == 1 and started[0]["read_only"]
    with pytest.raises(Exception, match="closed"):
        started[0]["store"].con.execute("SELECT 1")  # released when the app ended


def test_start_options_reach_the_app(run_cli, started, sample_store: Path) -> None:  # type: ignore[no-untyped-def]
    result = run_cli(
        "--store", sample_store, "--experiment", "ci-claim-gate-repair", "--baseline", "run_003"
    )
    assert result.code == 0, result.err
    assert started[0]["experiment"] == "ci-claim-gate-repair"
    assert started[0]["baseline"] == "run_003"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--baseline", "nope"), "nope: no such run"),
        (("--experiment", "nope"), "nope: no such experiment"),
        (("--experiment", "support-router-q4", "--baseline", "run_003"), "belongs to experiment"),
    ],
)
def test_bad_start_options_are_one_line_before_the_screen_changes(
    run_cli, started, sample_store: Path, args: tuple[str, ...], message: str
) -> None:  # type: ignore[no-untyped-def]
    result = run_cli("--store", sample_store, *args)
    assert result.code == 2
    assert message in result.err and len(result.err.strip().splitlines()) == 1
    assert started == []


def test_a_missing_store_is_an_error_not_an_empty_app(run_cli, started, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    result = run_cli("--store", tmp_path / "none.duckdb")
    assert result.code == 2 and "load runs first" in result.err
    assert started == []


@pytest.mark.parametrize(
    ("environ", "system", "theme"),
    [
        ({"TERM": "xterm-256color"}, "256", DEFAULT_THEME),
        ({"COLORTERM": "truecolor", "TERM": "xterm"}, "truecolor", DEFAULT_THEME),
        ({"TERM": "xterm"}, "standard", ANSI_THEME),
        ({"TERM": "linux"}, "standard", ANSI_THEME),
        ({"TERM": "xterm-256color", "TEXTUAL_COLOR_SYSTEM": "standard"}, "standard", ANSI_THEME),
        ({"TERM": "xterm", "NO_COLOR": "1"}, "standard", DEFAULT_THEME),
    ],
)
def test_sixteen_color_terminals_get_the_ansi_theme(
    environ: dict[str, str], system: str, theme: str
) -> None:
    assert color_system(environ) == system
    assert pick_theme(environ) == theme
