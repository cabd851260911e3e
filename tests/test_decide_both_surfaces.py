"""The same decision made through `evaltui decide` and through the app's decide form is the same
record: byte for byte, once the two fields that name the moment are set aside.

Both surfaces run `evaltui.actions.decide` (check, load the signer, sign and write); this drives
each one end to end on its own copy of the sample store with one real ssh-keygen key: the CLI
in-process through `evaltui.cli.main`, the app through Textual's Pilot (open the form with D,
type into its fields, ctrl+s). Normalised, and only these: `decision_id` (it embeds the time)
and `decided_at` in the decision file; in the log line also `logged_at`, the two file paths and
the files' sha256 (which follow from those). Both signatures are checked with
`ssh-keygen -Y verify`.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Checkbox, Input

from evaltui.decision.log import log_path_for_store, read_log
from evaltui.tui.app import EvaltuiApp
from evaltui.tui.screens.decide import DecideModal
from tests.decision_support import (
    keygen_verify,
    public_line,
    ssh_home,
    write_allowed_signers,
)
from tests.tui_helpers import drive, highlight, settle

LIMITATION = "requires production review and monitored canary"
MOMENT_FIELDS = ("decision_id", "decided_at")  # the only fields of the file set aside
LOG_FIELDS = (*MOMENT_FIELDS, "logged_at", "json_path", "sig_path", "sha256")


@dataclass(frozen=True)
class Case:
    experiment: str
    run: str
    rollback: str
    override: str | None = None
    several_eligible: bool = False  # the form needs the explicit-choice tick


CASES = [
    Case("ci-claim-gate-repair", "run_003", "ci-answerer-v1.1-regression"),
    Case(
        "ci-claim-gate-repair",
        "run_005",
        "ci-answerer-v1.1-regression",
        override="evaluator v3 was reviewed by hand",
    ),
    Case("support-router-q4", "sr-v3.5-rc3-s2", "support-router-v3.4", several_eligible=True),
]


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """~/.ssh/id_ed25519 (alice@example.com): the form's first listed key, the CLI's --key."""
    return ssh_home(tmp_path, monkeypatch)


def decide_in_the_app(store: Path, case: Case, out: Path) -> Path:
    written: list[Path] = []

    async def flow(app: EvaltuiApp, pilot: Pilot) -> None:
        await highlight(pilot, app, case.run)
        await pilot.press("D")
        await settle(pilot)
        form = app.screen
        assert isinstance(form, DecideModal) and form.data is not None

        async def type_into(field: str, text: str) -> None:
            widget = form.query_one(f"#field-{field}", Input)
            widget.focus()
            widget.value = ""
            await pilot.pause()
            await pilot.press(*text)
            assert widget.value == text

        await type_into("rollback_artifact", case.rollback)
        await type_into("limitation", LIMITATION)
        if case.override is not None:
            await type_into("override", case.override)
        if case.several_eligible:
            tick = form.query_one("#decide-explicit", Checkbox)
            tick.focus()
            await pilot.press("space")
            assert tick.value
        await type_into("out", str(out))
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert form.written is not None, [
            str(e.render()) for e in form.query(".field-error") if e.display
        ]
        written.append(form.written.json_path)

    drive(store, flow, experiment=case.experiment)
    return written[0]


def decide_on_the_cli(run_cli, store: Path, case: Case, key: Path, out: Path) -> Path:
    extra = ("--override", case.override) if case.override is not None else ()
    done = run_cli(
        "decide",
        case.run,
        "--rollback",
        case.rollback,
        "--limitation",
        LIMITATION,
        *extra,
        "--key",
        key,
        "--out",
        out,
        "--store",
        store,
        "--json",
    )
    assert done.code == 0, done.err
    return Path(json.loads(done.out)["decision"])


def set_aside(data: bytes, doc: dict, fields: tuple[str, ...]) -> bytes:
    """`data` with each value of `fields` (wherever it occurs) replaced by the field's name."""
    for name in fields:
        value = doc[name]
        assert isinstance(value, str) and value, name
        data = data.replace(json.dumps(value).encode(), json.dumps(f"<{name}>").encode())
    return data


def differences(a: object, b: object, where: str = "") -> list[str]:
    """Where two JSON documents differ (for the failure message)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return [
            d
            for k in sorted(set(a) | set(b))
            for d in differences(a.get(k, "<absent>"), b.get(k, "<absent>"), f"{where}/{k}")
        ]
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [
            d
            for i, (x, y) in enumerate(zip(a, b, strict=True))
            for d in differences(x, y, f"{where}[{i}]")
        ]
    return [] if a == b else [f"{where}: {a!r:.80} != {b!r:.80}"]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.run)
def test_the_cli_and_the_app_sign_the_same_record(
    case: Case, run_cli, sample_store: Path, home: Path, tmp_path: Path
) -> None:
    key = home / ".ssh" / "id_ed25519"
    app_store = tmp_path / "app" / "sample.duckdb"
    app_store.parent.mkdir()
    shutil.copy(sample_store, app_store)  # identical stores, each with its own decision log

    by_cli = decide_on_the_cli(run_cli, sample_store, case, key, tmp_path / "cli-out")
    by_app = decide_in_the_app(app_store, case, tmp_path / "app-out")

    cli_bytes, app_bytes = by_cli.read_bytes(), by_app.read_bytes()
    cli_doc, app_doc = json.loads(cli_bytes), json.loads(app_bytes)
    assert cli_doc["source_run_id"] == case.run and cli_doc["override"] == case.override
    assert cli_doc["decision_id"] != app_doc["decision_id"]  # two decisions, not one file twice
    assert set_aside(cli_bytes, cli_doc, MOMENT_FIELDS) == set_aside(
        app_bytes, app_doc, MOMENT_FIELDS
    ), differences(cli_doc, app_doc)

    allowed = write_allowed_signers(
        tmp_path / "allowed_signers",
        f'alice@example.com namespaces="evaltui-decision" {public_line(key)}',
    )
    for decision in (by_cli, by_app):
        checked = keygen_verify(allowed, "alice@example.com", Path(f"{decision}.sig"), decision)
        assert checked.returncode == 0, checked.stderr

    logged = []
    for store in (sample_store, app_store):
        entries, problems = read_log(log_path_for_store(store))
        assert problems == [] and len(entries) == 1
        logged.append({k: v for k, v in entries[0].entry.items() if k not in LOG_FIELDS})
    assert logged[0] == logged[1]
    assert logged[0]["reviewer"] == "alice@example.com"
