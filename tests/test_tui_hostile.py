"""Untrusted text reaches the terminal as visible characters, never as escape sequences or markup.

A run whose output, metadata, case fields, slice, tags and artifact paths carry an OSC title
sequence, a BEL, a C1 CSI, a bidi override and Rich markup is loaded into a real store and driven
through every screen. At each step the exact bytes Textual would write to the terminal are
checked: the hostile text is there as placeholders (␛, ␇, ⟨9B⟩, ⟨RLO⟩) and literal brackets, and
no OSC, BEL, C1 or bidi control is.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from textual.pilot import Pilot

from evaltui.contract.discover import read_batch
from evaltui.store.connection import Store
from evaltui.store.loader import load_batch
from evaltui.tui.app import EvaltuiApp
from evaltui.tui.screens.case_detail import VALUE_LIMIT, CaseScreen
from evaltui.tui.screens.cases import CasesScreen
from evaltui.tui.screens.choice import ChoiceModal
from evaltui.tui.screens.compare import CompareScreen
from evaltui.tui.screens.help import HelpScreen
from tests.hostile import BIG, SHOWN_BIDI, SHOWN_C1, SHOWN_CLEAR, SHOWN_OSC52
from tests.hostile import HOSTILE as HOSTILE_FULL
from tests.hostile import SHOWN_TITLE as TITLE_SHOWN
from tests.tui_helpers import drive, screen_text, settle, terminal_bytes

TITLE = "\x1b]0;TITLE\x07"
MARKUP = "[reverse]x[/reverse]"
HOSTILE = f"answer {TITLE} then {MARKUP} and \x9b31m c1 and \u202eevil\u202c done"
SHOWN_TITLE = "␛]0;TITLE␇"
FORBIDDEN = ("\x1b]", "\x07", "\x9b", "\u202e", "\u202c", "\x1bP", "\x1b_", "\x1b^")


@pytest.fixture
def hostile_store(tmp_path: Path) -> Path:
    folder = tmp_path / "hostile"
    folder.mkdir()
    cases = [
        {
            "case_id": "c1",
            "expected_route": "SERVE",
            "slice_name": f"slice {MARKUP}",
            "input": HOSTILE,
        },
        {"case_id": "c2", "expected_route": "ABSTAIN", "slice_name": "plain", "input": "fine"},
    ]
    suite = {
        "kind": "evaltui.suite",
        "version": 1,
        "suite_id": "hostile-suite",
        "splits": {"main": cases},
    }
    (folder / "hostile.suite.json").write_text(json.dumps(suite), encoding="utf-8")

    def run(run_id: str, started: str, route: str, output: str) -> dict:
        return {
            "kind": "evaltui.run",
            "version": 1,
            "run_id": run_id,
            "experiment": "hostile",
            "artifact": f"artifact-{run_id}",
            "suite_id": "hostile-suite",
            "started_at": started,
            "params": {},
            "metrics": {},
            "tags": {"note": HOSTILE},
            "artifacts": [f"reports/{HOSTILE}.html"],
            "cases": [
                {
                    "case_id": "c1",
                    "route": route,
                    "output": output,
                    "metadata": {"why": HOSTILE, MARKUP: 1},
                },
                {"case_id": "c2", "route": "ABSTAIN", "output": "ok"},
            ],
        }

    for record in (
        run("base", "2026-01-01T00:00:00Z", "SERVE", "fine"),
        run("cand", "2026-01-02T00:00:00Z", "ABSTAIN", HOSTILE),
    ):
        (folder / f"{record['run_id']}.run.json").write_text(json.dumps(record), encoding="utf-8")
    path = tmp_path / "hostile.duckdb"
    with Store.open(path) as store:
        load_batch(store, read_batch([folder]))
    return path


def assert_harmless(app: EvaltuiApp, *expected: str) -> None:
    written = terminal_bytes(app)
    for sequence in FORBIDDEN:
        assert sequence not in written, f"{sequence!r} reached the terminal"
    text = screen_text(app)
    for shown in expected:
        assert shown in text, f"{shown!r} is not on screen"
        assert shown in written


def test_hostile_text_is_shown_literally_on_every_screen(hostile_store: Path) -> None:
    async def walk(app: EvaltuiApp, pilot: Pilot) -> None:
        # runs screen: the baseline's tags in the panel
        assert_harmless(app, SHOWN_TITLE, MARKUP)
        await pilot.press("j", "enter")  # the candidate, side by side: tags and artifact paths
        await settle(pilot)
        assert isinstance(app.screen, CompareScreen)
        await pilot.press("G")
        await settle(pilot)
        assert_harmless(app, SHOWN_TITLE, MARKUP, SHOWN_C1)
        await pilot.press("c")  # its cases: the slice name carries markup
        await settle(pilot)
        assert isinstance(app.screen, CasesScreen)
        assert_harmless(app, f"slice {MARKUP}")
        await pilot.press("n", "enter")  # the failure: output, metadata and case input
        await settle(pilot)
        assert isinstance(app.screen, CaseScreen)
        assert_harmless(app, SHOWN_TITLE, MARKUP, SHOWN_C1, SHOWN_BIDI)
        text = screen_text(app)
        assert text.count(SHOWN_TITLE) == 2  # the case's input and the candidate's output
        assert (
            '"why": "answer \\u001b]0;TITLE\\u0007 then [reverse]x[/reverse]' in text
        )  # metadata is JSON
        assert f'"{MARKUP}": 1' in text

    drive(hostile_store, walk, size=(160, 50))


def test_the_sanitizer_keeps_the_text_and_removes_only_controls() -> None:
    from evaltui.tui.text import plain, safe

    assert plain(TITLE) == SHOWN_TITLE
    assert safe(MARKUP).plain == MARKUP
    assert safe(MARKUP).spans == []  # no style was parsed out of it
    assert plain("a\nb", multiline=True) == "a\nb"
    assert plain("a\nb") == "a␊b"


def test_hostile_text_on_the_drift_decide_and_decisions_screens(
    hostile_store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from textual import events
    from textual.widgets import Checkbox, Input

    from evaltui.decision.log import log_path_for_store
    from evaltui.tui.screens.decide import DecideModal
    from evaltui.tui.screens.decisions import DecisionsScreen
    from evaltui.tui.screens.drift import DriftScreen
    from evaltui.tui.text import plain
    from tests.decision_support import make_key
    from tests.tui_helpers import pick

    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    make_key(home / ".ssh", "id_ed25519")
    monkeypatch.setenv("HOME", str(home))
    for name in ("SSH_AUTH_SOCK", "EVALTUI_REVIEWER", "EVALTUI_SIGNING_KEY"):
        monkeypatch.delenv(name, raising=False)
    log = log_path_for_store(hostile_store)
    planted = {
        "decision_id": f"old {TITLE}",
        "decided_at": "2026-01-03T00:00:00Z",
        "reviewer": HOSTILE,
        "source_run_id": "cand",
        "status": HOSTILE,
        "override": HOSTILE,
        "json_path": f"/nowhere/{HOSTILE}.decision.json",
        "sha256": "0" * 64,
    }
    log.write_text(json.dumps(planted) + "\n", encoding="utf-8")

    async def walk(app: EvaltuiApp, pilot: Pilot) -> None:
        await pilot.press("j", "d")  # drift of the candidate: slices carry markup
        await settle(pilot)
        assert isinstance(app.screen, DriftScreen)
        assert_harmless(app, f"slice {MARKUP}")
        await pilot.press("c")  # the column picker lists a metadata key made of markup
        await settle(pilot)
        assert_harmless(app, f"metadata.{MARKUP}")
        await pick(pilot, app, "output")  # bins labelled with the hostile output
        assert isinstance(app.screen, DriftScreen)
        assert_harmless(app, SHOWN_TITLE, SHOWN_C1, MARKUP)
        await pilot.press("s")
        await settle(pilot)
        assert_harmless(app, f"slice {MARKUP}")
        await pick(pilot, app, f"slice {MARKUP}")
        assert_harmless(app, f"slice {MARKUP}", SHOWN_TITLE)
        await pilot.press("escape", "D")  # decide: values typed back come back harmless
        await settle(pilot)
        form = app.screen
        assert isinstance(form, DecideModal)
        assert_harmless(app)
        rollback = form.query_one("#field-rollback_artifact", Input)
        rollback.focus()
        rollback.post_message(events.Paste(HOSTILE))  # a paste with controls is refused
        await settle(pilot)
        assert rollback.value == ""
        await pilot.press(*"x")
        rollback.post_message(events.Paste(f"{MARKUP} y"))  # markup alone is just text
        await settle(pilot)
        assert rollback.value == f"x{MARKUP} y"
        form.query_one("#field-limitation", Input).value = HOSTILE  # set from an outside value
        assert form.query_one("#field-limitation", Input).value == plain(HOSTILE)
        await pilot.press("ctrl+s")
        await settle(pilot)
        # a name with spaces is fine, but no run has it: it must be confirmed
        assert_harmless(app, MARKUP, "is not the artifact of any run", SHOWN_TITLE)
        form.query_one("#field-rollback_artifact", Input).value = "artifact-base"
        await settle(pilot)
        form.query_one("#decide-external", Checkbox).value = True  # outside the store
        form.query_one("#field-limitation", Input).value = f"limit {MARKUP}"
        form.query_one("#field-override", Input).value = f"override {MARKUP}"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert form.written is not None
        assert_harmless(app, f"override {MARKUP}", "SIGNED AND WRITTEN")
        await pilot.press("escape", "L")  # the log: ours, and a planted hostile line
        await settle(pilot)
        assert isinstance(app.screen, DecisionsScreen)
        assert_harmless(app, "2 decisions logged")
        await pilot.press("G")  # the planted line is the oldest
        await settle(pilot)
        assert_harmless(app, SHOWN_TITLE, MARKUP, SHOWN_C1, SHOWN_BIDI, "MISSING")

    drive(hostile_store, walk, size=(160, 50))


# -- the full hostile review: OSC 52, clear-screen, hyperlink markup and 1 MB single lines -------

# Textual writes its own SGR and cursor-movement CSI sequences; none of these it ever writes.
FULL_FORBIDDEN = ("\x1b]", "\x07", "\x9b", "\x1b[2J", "\u202e", "\u202c", "\x1bP", "\x1b_")


def assert_nothing_reaches_the_terminal(app: EvaltuiApp, *expected: str) -> str:
    written = terminal_bytes(app)
    for sequence in FULL_FORBIDDEN:
        assert sequence not in written, f"{sequence!r} reached the terminal"
    assert "\x1b]8;" not in written  # markup never became a hyperlink
    text = screen_text(app)
    longest = max((len(line) for line in text.splitlines()), default=0)
    assert longest <= 200, "a screen line is wider than the terminal"
    for shown in expected:
        assert shown in text, f"{shown!r} is not on screen"
    return text


def test_osc52_clear_screen_links_and_megabyte_lines(full_hostile_store: Path) -> None:
    async def walk(app: EvaltuiApp, pilot: Pilot) -> None:
        # runs screen: the experiment, artifacts and the baseline's tags carry every sequence
        assert_nothing_reaches_the_terminal(app, TITLE_SHOWN, SHOWN_OSC52)
        await pilot.press("e")  # the experiment picker lists the hostile experiment name
        await settle(pilot)
        assert isinstance(app.screen, ChoiceModal)
        assert_nothing_reaches_the_terminal(app, SHOWN_OSC52)
        await pilot.press("escape", "j", "enter")
        await settle(pilot)
        assert isinstance(app.screen, CompareScreen)
        for _ in range(3):  # the side-by-side panes, scrolled through: params of 1 MB
            assert_nothing_reaches_the_terminal(app)
            await pilot.press("pagedown")
            await settle(pilot)
        await pilot.press("c")
        await settle(pilot)
        assert isinstance(app.screen, CasesScreen)
        assert_nothing_reaches_the_terminal(app, SHOWN_CLEAR)
        await pilot.press("s")  # the slice picker: a slice name with every sequence
        await settle(pilot)
        assert isinstance(app.screen, ChoiceModal)
        assert_nothing_reaches_the_terminal(app, TITLE_SHOWN)
        await pilot.press("escape", "n", "enter")
        await settle(pilot)
        assert isinstance(app.screen, CaseScreen)
        # the 1 MB output and the 1 MB case input: cut for display, with the marker
        text = assert_nothing_reaches_the_terminal(app, TITLE_SHOWN, SHOWN_OSC52, SHOWN_CLEAR)
        assert "[link=https://x]y[/link]" in text.replace("\n", "")  # markup shown literally
        for _ in range(40):
            await pilot.press("pagedown")
        await settle(pilot)
        text = assert_nothing_reaches_the_terminal(app)
        cut = len(HOSTILE_FULL + BIG) - VALUE_LIMIT
        assert f"\u2026 (+{cut:,} chars)" in text  # the output's end: cut, and says by how much
        await pilot.press("question_mark")
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen)
        assert_nothing_reaches_the_terminal(app)

    drive(full_hostile_store, walk, size=(200, 60))
