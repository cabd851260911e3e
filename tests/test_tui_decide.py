"""The decide modal at 80x24, with real keys from ssh-keygen and signatures checked by
`ssh-keygen -Y verify`: an eligible run, a refused run and its override, a protected key, several
eligible runs, bad values shown next to their fields, and the log of past decisions."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Checkbox, Input

from evaltui.decision.log import log_path_for_store, read_log
from evaltui.tui.app import EvaltuiApp
from evaltui.tui.screens.decide import DecideModal
from evaltui.tui.screens.decisions import DecisionsScreen
from evaltui.tui.screens.help import HelpScreen
from evaltui.tui.screens.runs import RunsScreen
from tests.decision_support import (
    keygen_verify,
    make_key,
    public_line,
    ssh_home,
    write_allowed_signers,
)
from tests.tui_helpers import drive, highlight, make_app, screen_text, settle

EXAMPLE = "ci-claim-gate-repair"
LIMITATION = "requires production review and monitored canary"


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A home folder with ~/.ssh/id_ed25519 (alice@example.com), no agent, no env defaults."""
    return ssh_home(tmp_path, monkeypatch)


def modal(app: EvaltuiApp) -> DecideModal:
    assert isinstance(app.screen, DecideModal)
    return app.screen


async def open_decide(pilot: Pilot, app: EvaltuiApp, run_id: str) -> DecideModal:
    """Put the runs cursor on `run_id`, press D and wait until the form is ready."""
    await highlight(pilot, app, run_id)
    await pilot.press("D")
    await settle(pilot)
    return modal(app)


async def type_into(pilot: Pilot, app: EvaltuiApp, field: str, text: str) -> None:
    """Focus a field of the form and type `text` into it, replacing what was there."""
    widget = modal(app).query_one(f"#field-{field}", Input)
    widget.focus()
    widget.value = ""
    await pilot.pause()
    await pilot.press(*text)
    assert widget.value == text


async def sign(pilot: Pilot) -> None:
    await pilot.press("ctrl+s")
    await settle(pilot)


def error(app: EvaltuiApp, field: str) -> str:
    widget = modal(app).query_one(f"#error-{field}")
    return str(widget.render()) if widget.display else ""


def verify(home: Path, tmp_path: Path, doc: Path, key: Path | None = None) -> None:
    key = key or home / ".ssh" / "id_ed25519"
    allowed = write_allowed_signers(
        tmp_path / "allowed_signers",
        f'alice@example.com namespaces="evaltui-decision" {public_line(key)}',
    )
    result = keygen_verify(allowed, "alice@example.com", Path(f"{doc}.sig"), doc)
    assert result.returncode == 0, result.stderr
    assert b'Good "evaltui-decision" signature for alice@example.com' in result.stdout


def written(out: Path) -> list[Path]:
    return sorted(out.glob("*.decision.json"))


def test_decide_on_an_eligible_run_signs_and_lists_it(
    sample_store: Path, home: Path, tmp_path: Path
) -> None:
    out = tmp_path / "decisions"

    async def flow(app: EvaltuiApp, pilot: Pilot) -> None:
        assert app.store.read_only  # the app never writes the store: the log sits beside it
        form = await open_decide(pilot, app, "run_003")
        text = screen_text(app)
        assert "decide on run_003" in text and "ELIGIBLE_FOR_CANARY_REVIEW" in text
        assert not form.query_one("#row-override").display  # nothing to override
        assert not form.query_one("#decide-explicit").display  # the only eligible run
        assert form.query_one("#field-rollback_artifact", Input).has_focus
        invariants = form.query_one("#field-monitored_invariants", Input).value
        assert invariants == "unsafe_claim_served == 0; unnecessary_abstention == 0"
        assert form.query_one("#field-reviewer", Input).value == "alice@example.com"
        assert form.query_one("#field-status", Input).value == "APPROVED_FOR_CANARY"
        assert form.query_one("#field-alias", Input).value == "canary_candidate"
        assert "e.g. ci-answerer-v1.1-regression" in text  # suggested, never filled in
        await pilot.press("f1")  # help works inside the form too
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen)
        assert "sign with the chosen key" in screen_text(app)
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is form and form.query_one("#field-rollback_artifact", Input).has_focus

        # required fields and bad values come back next to their field; nothing is written
        await sign(pilot)
        assert error(app, "rollback_artifact") == "is required"
        assert form.query_one("#field-rollback_artifact", Input).has_focus
        await pilot.press(*"ci-answerer-v1.2-fix-b")  # the artifact being promoted
        await pilot.press("enter")  # enter moves on to the next field
        assert form.query_one("#field-limitation", Input).has_focus
        await pilot.press(*LIMITATION)
        await sign(pilot)
        assert "is the artifact being promoted" in error(app, "rollback_artifact")
        await type_into(pilot, app, "rollback_artifact", "ci-answerer-v1")
        await type_into(pilot, app, "status", "approved")
        await sign(pilot)
        assert "must be an upper-case word" in error(app, "status")
        assert error(app, "rollback_artifact") == ""
        await type_into(pilot, app, "status", "APPROVED_FOR_CANARY")
        # the version in production is no run's artifact: signed only once confirmed
        tick = form.query_one("#decide-external", Checkbox)
        assert not tick.display
        await sign(pilot)
        assert "not the artifact of any run in this experiment" in error(app, "rollback_artifact")
        assert tick.display and not tick.value and written(out) == []
        tick.focus()
        await pilot.press("space")
        assert tick.value
        await type_into(pilot, app, "monitored_invariants", "unsafe_claim_served == 0; oops")
        await sign(pilot)
        assert "is not `metric OP number`" in error(app, "monitored_invariants")
        await type_into(pilot, app, "monitored_invariants", "unsafe_claim_served == 0")
        await type_into(pilot, app, "out", str(out))
        assert written(out) == []

        await sign(pilot)
        files = written(out)
        assert len(files) == 1
        text = screen_text(app)
        assert "SIGNED AND WRITTEN" in text
        assert files[0].name in text.replace("\n", "")
        assert "ssh-keygen -Y verify -f allowed_signers -I alice@example.com" in text
        assert form.written is not None and form.written.json_path == files[0]
        verify(home, tmp_path, files[0])
        doc = json.loads(files[0].read_bytes())
        assert doc["source_run_id"] == "run_003" and doc["baseline"]["run_id"] == "run_001"
        assert doc["rollback_artifact"] == "ci-answerer-v1"
        assert doc["limitation"] == LIMITATION
        assert doc["monitored_invariants"] == ["unsafe_claim_served == 0"]
        assert doc["override"] is None and doc["reviewer"] == "alice@example.com"
        entries, problems = read_log(log_path_for_store(app.store.path))
        assert problems == [] and [e.decision_id for e in entries] == [doc["decision_id"]]
        assert entries[0].state == "ok"

        await pilot.press("enter")  # closes the result
        await settle(pilot)
        assert isinstance(app.screen, RunsScreen)
        await pilot.press("L")
        await settle(pilot)
        assert isinstance(app.screen, DecisionsScreen)
        text = screen_text(app)
        assert "1 decision logged" in text and doc["decision_id"] in text
        assert "run_003" in text and "ok" in text
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, RunsScreen)

    drive(sample_store, flow, experiment=EXAMPLE)


def test_an_incomparable_run_is_refused_until_an_override_is_written(
    sample_store: Path, home: Path, tmp_path: Path
) -> None:
    reason = "evaluator v3 was reviewed by hand"

    async def flow(app: EvaltuiApp, pilot: Pilot) -> None:
        form = await open_decide(pilot, app, "run_005")
        text = screen_text(app)
        assert "NOT COMPARABLE" in text and "REFUSED unless you write an override" in text
        assert "evaluator_version" in text
        assert form.query_one("#row-override").display
        await type_into(pilot, app, "rollback_artifact", "ci-answerer-v1.1-regression")
        await type_into(pilot, app, "limitation", LIMITATION)
        await sign(pilot)
        assert "write an override reason" in error(app, "override")
        assert form.query_one("#field-override", Input).has_focus
        assert written(tmp_path) == [] and form.written is None
        await pilot.press(*reason)
        await sign(pilot)
        files = written(tmp_path)  # the default folder is the current one
        assert len(files) == 1
        assert "OVERRIDE  " + reason in screen_text(app)
        verify(home, tmp_path, files[0])
        doc = json.loads(files[0].read_bytes())
        assert doc["override"] == reason and doc["comparable"] is False
        assert [r["kind"] for r in doc["refusals"]] == ["incomparable"]

    drive(sample_store, flow, experiment=EXAMPLE)


def test_a_protected_key_asks_for_its_passphrase(
    sample_store: Path, home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    keys = tmp_path / "keys"
    keys.mkdir()
    key = make_key(keys, "release_key", passphrase="correct horse")
    monkeypatch.setenv("EVALTUI_SIGNING_KEY", str(key))  # the form starts on this key file

    async def flow(app: EvaltuiApp, pilot: Pilot) -> None:
        form = await open_decide(pilot, app, "run_003")
        assert form.query_one("#row-key_file").display
        assert form.query_one("#field-key_file", Input).value == str(key)
        assert not form.query_one("#row-passphrase").display  # not known to be needed yet
        await type_into(pilot, app, "rollback_artifact", "ci-answerer-v1.1-regression")
        await type_into(pilot, app, "limitation", LIMITATION)
        await type_into(pilot, app, "reviewer", "alice@example.com")
        await sign(pilot)
        passphrase = form.query_one("#field-passphrase", Input)
        assert form.query_one("#row-passphrase").display and passphrase.has_focus
        assert passphrase.password  # typed characters are not shown
        assert "protected by a passphrase" in error(app, "passphrase")
        await pilot.press(*"wrong horse")
        assert "wrong horse" not in screen_text(app)
        await pilot.press("enter")  # enter in the passphrase field signs again
        await settle(pilot)
        assert "wrong passphrase" in error(app, "passphrase")
        assert written(tmp_path) == []
        await type_into(pilot, app, "passphrase", "correct horse")
        await pilot.press("enter")
        await settle(pilot)
        files = written(tmp_path)
        assert len(files) == 1 and form.written is not None
        verify(home, tmp_path, files[0], key)

    drive(sample_store, flow, experiment=EXAMPLE)


def test_a_protected_key_in_ssh_shows_the_passphrase_field_at_once(
    sample_store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "home"
    (folder / ".ssh").mkdir(parents=True)
    make_key(folder / ".ssh", "id_ed25519", passphrase="s3cret phrase")
    monkeypatch.setenv("HOME", str(folder))
    for name in ("SSH_AUTH_SOCK", "EVALTUI_REVIEWER", "EVALTUI_SIGNING_KEY"):
        monkeypatch.delenv(name, raising=False)

    async def flow(app: EvaltuiApp, pilot: Pilot) -> None:
        form = await open_decide(pilot, app, "run_003")
        assert "(passphrase)" in screen_text(app)  # the key picker says so
        assert form.query_one("#row-passphrase").display
        await type_into(pilot, app, "rollback_artifact", "ci-answerer-v1.1-regression")
        await type_into(pilot, app, "limitation", LIMITATION)
        await type_into(pilot, app, "passphrase", "s3cret phrase")
        await sign(pilot)
        files = written(tmp_path)
        assert len(files) == 1
        verify(folder, tmp_path, files[0])

    drive(sample_store, flow, experiment=EXAMPLE)


def test_several_eligible_runs_need_an_explicit_choice(
    sample_store: Path, home: Path, tmp_path: Path
) -> None:
    async def flow(app: EvaltuiApp, pilot: Pilot) -> None:
        form = await open_decide(pilot, app, "sr-v3.5-rc3-s1")
        text = screen_text(app)
        assert "3 runs are eligible" in text and "[ ] I choose sr-v3.5-rc3-s1 explicitly" in text
        box = form.query_one("#decide-explicit")
        # the first text field has focus: a space typed into a focused box would tick it
        assert form.query_one("#field-rollback_artifact", Input).has_focus
        await type_into(pilot, app, "rollback_artifact", "support-router-v3.4")
        await type_into(pilot, app, "limitation", LIMITATION)
        await sign(pilot)
        assert "tick the box" in error(app, "choice") and box.has_focus
        assert written(tmp_path) == []
        await pilot.press("space")
        assert "[x] I choose sr-v3.5-rc3-s1 explicitly" in screen_text(app)
        await sign(pilot)
        files = written(tmp_path)
        assert len(files) == 1
        verify(home, tmp_path, files[0])
        doc = json.loads(files[0].read_bytes())
        assert doc["source_run_id"] == "sr-v3.5-rc3-s1"
        assert sorted(doc["eligible_run_ids"]) == [
            "sr-v3.5-rc3-s1",
            "sr-v3.5-rc3-s2",
            "sr-v3.5-rc3-s3",
        ]
        roles = {r["run_id"]: r["role"] for r in doc["considered_runs"]}
        assert roles["sr-v3.5-rc3-s1"] == "chosen" and roles["sr-v3.5-rc3-s3"] == "candidate"
        assert roles["sr-prod-v3.4"] == "baseline" and len(roles) == 9

    drive(sample_store, flow)


def test_a_second_decision_is_listed_first_and_a_changed_file_is_flagged(
    sample_store: Path, home: Path, tmp_path: Path
) -> None:
    async def decide(app: EvaltuiApp, pilot: Pilot, run_id: str, override: str = "") -> None:
        await open_decide(pilot, app, run_id)
        await type_into(pilot, app, "rollback_artifact", "ci-answerer-v1.1-regression")
        await type_into(pilot, app, "limitation", LIMITATION)
        if override:
            await type_into(pilot, app, "override", override)
        await sign(pilot)
        assert modal(app).written is not None
        await pilot.press("escape")
        await settle(pilot)

    async def flow(app: EvaltuiApp, pilot: Pilot) -> None:
        await decide(app, pilot, "run_003")
        await decide(app, pilot, "run_002", override="one abstention is acceptable here")
        first = sorted(tmp_path.glob("*run_003*.decision.json"))[0]
        first.write_bytes(first.read_bytes() + b" ")  # someone edited the signed file
        await pilot.press("D")  # the runs cursor is still on run_002: the form says it
        await settle(pilot)
        assert "1 earlier decision on this run" in screen_text(app)
        await pilot.press("escape")
        await settle(pilot)
        await pilot.press("L")
        await settle(pilot)
        text = screen_text(app)
        assert "2 decisions logged" in text
        rows = [line for line in text.splitlines() if "run_00" in line and "APPROVED" in line]
        assert [("run_002" in r, "yes" in r, "ok" in r) for r in rows] == [
            (True, True, True),
            (False, False, False),
        ]
        assert "CHANGED" in rows[1]
        assert "OVERRIDE" in text and "one abstention is acceptable here" in text
        await pilot.press("j")
        await settle(pilot)
        assert "CHANGED: the decision file no longer holds the bytes" in screen_text(app)

    drive(sample_store, flow, experiment=EXAMPLE)


def test_text_typed_while_the_form_loads_lands_in_its_first_field(
    sample_store: Path, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a reviewer who knows the form types at once; the draft comes from a worker a moment later.
    # The worker is held until the keys are in, so they certainly arrive before the form.
    import threading

    from evaltui.tui.screens import decide

    real, gate = decide.load_judged_decide, threading.Event()

    def held(*args: object, **kwargs: object) -> decide.DecideData:
        assert gate.wait(60), "the test never released the draft"
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(decide, "load_judged_decide", held)

    async def flow(app: EvaltuiApp, pilot: Pilot) -> None:
        await highlight(pilot, app, "run_003")
        await pilot.press("D")
        await pilot.pause()
        form = modal(app)
        await pilot.press(*"ci-answerer-v1")
        assert form.data is None  # still loading: every key above came before the form
        gate.set()
        await settle(pilot)
        rollback = form.query_one("#field-rollback_artifact", Input)
        assert rollback.has_focus
        assert rollback.value == "ci-answerer-v1"
        await pilot.press("escape")  # a half-filled form is not thrown away at once
        await settle(pilot)
        assert app.screen is form and "esc again discards" in screen_text(app)
        await pilot.press("x")  # any other key keeps editing
        await settle(pilot)
        assert rollback.value == "ci-answerer-v1x" and "esc again" not in screen_text(app)
        await pilot.press("escape", "escape")
        await settle(pilot)
        assert not isinstance(app.screen, DecideModal)

    try:
        drive(sample_store, flow, experiment=EXAMPLE)
    finally:
        gate.set()


def test_tab_accepts_the_shown_completion_and_otherwise_moves_on(
    sample_store: Path, home: Path
) -> None:
    async def flow(app: EvaltuiApp, pilot: Pilot) -> None:
        form = await open_decide(pilot, app, "run_003")
        rollback = form.query_one("#field-rollback_artifact", Input)
        await pilot.press(*"ci-answ")
        await settle(pilot)
        await pilot.press("tab")  # the baseline's artifact is suggested first
        await settle(pilot)
        assert rollback.value == "ci-answerer-v1.1-regression" and rollback.has_focus
        await pilot.press("tab")  # nothing more to complete: the next field
        await settle(pilot)
        assert form.query_one("#field-limitation", Input).has_focus
        await pilot.press("escape")  # a value was typed: esc asks first
        await settle(pilot)
        assert app.screen is form
        await pilot.press("escape")
        await settle(pilot)
        assert not isinstance(app.screen, DecideModal)

    drive(sample_store, flow, experiment=EXAMPLE)


def test_an_untouched_form_closes_with_one_escape(sample_store: Path, home: Path) -> None:
    async def flow(app: EvaltuiApp, pilot: Pilot) -> None:
        await open_decide(pilot, app, "run_003")
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, RunsScreen)

    drive(sample_store, flow, experiment=EXAMPLE)


def test_without_signing_the_forms_do_not_open(sample_store: Path, home: Path) -> None:
    """`evaltui serve` runs the app with signing off: D and C say so and open no form, so the
    page's user cannot sign with the keys of whoever started the server."""
    from evaltui.tui.app import SIGNING_OFF
    from evaltui.tui.screens.cosign import CosignModal
    from evaltui.tui.screens.decide import DecideModal as Form

    async def main() -> None:
        app = make_app(sample_store, experiment="ci-claim-gate-repair", signing=False)
        try:
            async with app.run_test(size=(80, 24)) as pilot:
                await settle(pilot)
                await highlight(pilot, app, "run_003")
                await pilot.press("D")
                await settle(pilot)
                assert not isinstance(app.screen, Form)
                assert any(SIGNING_OFF in str(n.message) for n in app._notifications)
                app.push_screen(CosignModal(home / "d.decision.json"))  # as C in the log does
                await settle(pilot)
                assert not isinstance(app.screen, CosignModal)
        finally:
            app.release_store()

    asyncio.run(main())
