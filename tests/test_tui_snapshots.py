"""SVG snapshots that pin the layouts at 80x24, 120x40 and 60x20 (and with NO_COLOR, and 16
colors).

Update them after an intended change with `pytest tests/test_tui_snapshots.py --snapshot-update`
and look at every changed SVG (snapshot_report.html) before committing.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest
from textual.pilot import Pilot

from tests.conftest import REPO
from tests.tui_helpers import make_app, settle

Snap = Callable[..., bool]


@pytest.fixture
def sample_store(sample_store: Path) -> Path:
    """The sample store with each run's source path starting at `/repo` instead of this
    checkout's folder: the side-by-side screen shows it, and a longer checkout path wraps it
    onto one more line and moves everything below (the snapshot failed in long paths)."""
    with duckdb.connect(str(sample_store)) as con:
        con.execute(
            "UPDATE runs SET source_path = '/repo' || source_path[length(?) + 1:] "
            "WHERE starts_with(source_path, ?)",
            [str(REPO), str(REPO)],
        )
        assert con.execute("SELECT count(*) FROM runs WHERE source_path LIKE '/repo/%'").fetchone()[
            0
        ]
    return sample_store


def keys(*steps: str) -> Callable[[Pilot], object]:
    async def before(pilot: Pilot) -> None:
        await settle(pilot)
        for step in steps:
            await pilot.press(*step.split())
            await settle(pilot)

    return before


def snap(
    snap_compare: Snap,
    store: Path,
    size: tuple[int, int],
    *steps: str,
    before: Callable[[Pilot], object] | None = None,
    experiment: str | None = None,
    theme: str | None = None,
) -> None:
    """Snapshot the app on `store` (on `experiment`, in `theme`) after pressing `steps`, or after
    `before`."""
    app = make_app(store, experiment=experiment, theme=theme)
    try:
        assert snap_compare(app, terminal_size=size, run_before=before or keys(*steps))
    finally:
        app.release_store()


@pytest.mark.parametrize("size", [(80, 24), (120, 40), (60, 20)])
def test_runs_screen_with_an_incomparable_run(snap_compare: Snap, sample_store: Path, size) -> None:  # type: ignore[no-untyped-def]
    snap(snap_compare, sample_store, size, "j j j j j j j j")


@pytest.mark.parametrize("size", [(80, 24), (120, 40), (60, 20)])
def test_cases_screen_on_a_failure(snap_compare: Snap, sample_store: Path, size) -> None:  # type: ignore[no-untyped-def]
    snap(snap_compare, sample_store, size, "j j j j j", "c", "n", "n")


def test_case_detail(snap_compare: Snap, sample_store: Path) -> None:
    snap(snap_compare, sample_store, (80, 24), "j j j j j", "c", "n", "enter")


@pytest.mark.parametrize("size", [(120, 40), (80, 24)])
def test_side_by_side_of_an_incomparable_run(
    snap_compare: Snap, sample_store: Path, size: tuple[int, int]
) -> None:
    # the worked example: run_005 ran with another evaluator version (at 80 columns its status
    # breaks after an underscore, never mid-word)
    snap(
        snap_compare,
        sample_store,
        size,
        "G",
        "enter",
        "j j j j j j j j j j j j",
        experiment="ci-claim-gate-repair",
    )


def test_help(snap_compare: Snap, sample_store: Path) -> None:
    snap(snap_compare, sample_store, (80, 24), "c", "question_mark")


def test_no_color(snap_compare: Snap, sample_store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    snap(snap_compare, sample_store, (80, 24), "j j j j j", "c", "n")


def test_sixteen_colors(snap_compare: Snap, sample_store: Path) -> None:
    snap(snap_compare, sample_store, (80, 24), "j j j j j j j j", theme="ansi-dark")


def test_drift_screen(snap_compare: Snap, sample_store: Path) -> None:
    # the snapshot: reference vs current bars, PSI/JS line, warnings and slices at 80x24
    snap(snap_compare, sample_store, (80, 24), "j", "d")


def test_drift_screen_numeric_no_color(
    snap_compare: Snap, sample_store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    snap(snap_compare, sample_store, (80, 24), "j j j j j", "d", "c", "j j", "enter")


def test_decide_form_on_an_incomparable_run(
    snap_compare: Snap, sample_store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from textual.widgets import Input

    home = tmp_path / "home"  # no key: the form asks for a key file's path
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    for name in ("SSH_AUTH_SOCK", "EVALTUI_REVIEWER", "EVALTUI_SIGNING_KEY"):
        monkeypatch.delenv(name, raising=False)

    async def before(pilot: Pilot) -> None:
        await keys("G", "D")(pilot)
        screen = pilot.app.screen
        screen.query_one("#field-out", Input).value = "decisions"  # not the random tmp path
        for field in screen.query(Input):
            field.cursor_blink = False  # a blinking cursor made the picture depend on timing
        screen.query_one("#field-rollback_artifact", Input).focus()
        await settle(pilot)

    snap(snap_compare, sample_store, (80, 24), before=before, experiment="ci-claim-gate-repair")
