"""The decisions list's co-sign key at 80x24: a second reviewer signs a logged decision with the
key in ~/.ssh, the list counts the signatures, and plain ssh-keygen accepts the new file."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Input

from evaltui.decision.keys import load_signer
from evaltui.decision.log import log_path_for_store
from evaltui.decision.record import DecisionChoices, build_record
from evaltui.decision.writer import sign_and_write
from evaltui.store.connection import Store
from evaltui.tui.app import EvaltuiApp
from evaltui.tui.screens.cosign import CosignModal
from evaltui.tui.screens.decisions import DecisionsScreen
from evaltui.tui.screens.help import HelpScreen
from tests.conftest import digest
from tests.decision_support import (
    keygen_verify,
    make_key,
    public_line,
    ssh_home,
    write_allowed_signers,
)
from tests.tui_helpers import drive, screen_text, settle

EXAMPLE = "ci-claim-gate-repair"


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """bob's home: ~/.ssh/id_ed25519 (bob@example.com), no agent, no env defaults."""
    return ssh_home(tmp_path, monkeypatch, comment="bob@example.com")


def alice_decides(store: Path, folder: Path) -> tuple[Path, Path]:
    """alice's signed, logged decision on run_003, and the allowed_signers of alice and bob."""
    from evaltui.decision.draft import prepare

    key = make_key(folder, "alice")
    with Store.open(store, read_only=True) as opened:
        draft = prepare(opened.con, "run_003")
    record = build_record(
        draft,
        DecisionChoices(
            rollback_artifact="ci-answerer-v1",  # the version in production: outside the store
            rollback_external=True,
            limitation="requires production review and monitored canary",
            reviewer="alice@example.com",
            chosen_explicitly=True,
        ),
    )
    written = sign_and_write(
        record,
        load_signer(key, use_agent=False),
        folder / "out",
        name="d",
        log_path=log_path_for_store(store),
    )
    return written.json_path, key


def test_cosign_from_the_decisions_list(sample_store: Path, home: Path, tmp_path: Path) -> None:
    decision, alice = alice_decides(sample_store, tmp_path)
    before = digest(decision)
    bob = home / ".ssh" / "id_ed25519"
    allowed = write_allowed_signers(
        tmp_path / "allowed_signers",
        f"alice@example.com {public_line(alice)}",
        f"bob@example.com {public_line(bob)}",
    )
    cosig = decision.with_name("d.decision.json.bob@example.com.sig")

    async def flow(app: EvaltuiApp, pilot: Pilot) -> None:
        await pilot.press("L")
        await settle(pilot)
        assert isinstance(app.screen, DecisionsScreen)
        text = screen_text(app)
        assert "sigs" in text and "C co-sign" in text.replace("  ", " ")
        row = next(line for line in text.splitlines() if "run_003" in line)
        assert row.rstrip(" │▎▊").endswith("1"), row  # one signature so far
        await pilot.press("question_mark")
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen)
        assert "co-sign the highlighted decision" in screen_text(app)
        await pilot.press("escape")
        await settle(pilot)

        await pilot.press("C")
        await settle(pilot)
        form = app.screen
        assert isinstance(form, CosignModal)
        assert form.query_one("#cosign-reviewer", Input).value == "bob@example.com"
        assert "co-sign d.decision.json" in screen_text(app)
        # the author of the decision cannot co-sign it: the refusal is shown, nothing written
        form.query_one("#cosign-reviewer", Input).value = "alice@example.com"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert "already signed this decision" in screen_text(app)
        assert not cosig.exists()
        form.query_one("#cosign-reviewer", Input).value = "bob@example.com"
        form.query_one("#cosign-allowed", Input).value = str(allowed)
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert form.written is not None
        text = screen_text(app)
        assert "CO-SIGNED" in text and "bob@example.com.sig" in text.replace("\n", "")
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, DecisionsScreen)
        row = next(line for line in screen_text(app).splitlines() if "run_003" in line)
        assert row.rstrip(" │▎▊").endswith("2"), row
        assert "2 files: the decider's and co-signatures" in screen_text(app)

    drive(sample_store, flow, experiment=EXAMPLE)
    assert cosig.is_file() and digest(decision) == before
    done = keygen_verify(allowed, "bob@example.com", cosig, decision)
    assert done.returncode == 0, done.stderr


def test_a_protected_key_asks_for_its_passphrase(
    sample_store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "home2"
    (folder / ".ssh").mkdir(parents=True)
    (folder / ".ssh").chmod(0o700)
    make_key(folder / ".ssh", "id_ed25519", comment="dave@example.com", passphrase="s3cret")
    monkeypatch.setenv("HOME", str(folder))
    for name in ("SSH_AUTH_SOCK", "EVALTUI_REVIEWER", "EVALTUI_SIGNING_KEY"):
        monkeypatch.delenv(name, raising=False)
    decision, _alice = alice_decides(sample_store, tmp_path)
    cosig = decision.with_name("d.decision.json.dave@example.com.sig")

    async def flow(app: EvaltuiApp, pilot: Pilot) -> None:
        await pilot.press("L")
        await settle(pilot)
        await pilot.press("C")
        await settle(pilot)
        form = app.screen
        assert isinstance(form, CosignModal)
        assert form.query_one("#cosign-row-passphrase").display  # the key says it needs one
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert "protected by a passphrase" in screen_text(app)
        assert form.query_one("#cosign-passphrase", Input).has_focus
        await pilot.press(*"wrong")
        await pilot.press("enter")
        await settle(pilot)
        assert "wrong passphrase" in screen_text(app) and not cosig.exists()
        form.query_one("#cosign-passphrase", Input).value = ""
        await pilot.press(*"s3cret")
        await pilot.press("enter")
        await settle(pilot)
        assert form.written is not None and "CO-SIGNED" in screen_text(app)
        assert "s3cret" not in screen_text(app)

    drive(sample_store, flow, experiment=EXAMPLE)
    assert cosig.is_file()
