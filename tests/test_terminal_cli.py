"""Every CLI command's output is safe for the reviewer's terminal, human tables and JSON alike.

A review whose every free-text field carries an OSC title, an OSC 52 clipboard write, a CSI
clear-screen, an 8-bit CSI, `[link=...]` markup, bidi overrides and 1 MB single lines is loaded,
then every command runs on it, once as on a pipe and once as on a color terminal (FORCE_COLOR:
Rich then writes its own SGR styling, and markup would turn into real hyperlinks). No control
character may reach stdout or stderr (Rich's SGR excepted on the color terminal); hostile text
shows up as visible placeholders, markup literally, and long fields are cut for display with a
marker while the store and the JSON keep them whole.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
import rfc8785

from evaltui.store.connection import Store
from tests.conftest import REAL_LOGS, CliResult
from tests.decision_support import make_key, public_line, write_allowed_signers
from tests.hostile import (
    BIDI,
    BIG,
    C1_CSI,
    CSI_CLEAR,
    EXPERIMENT,
    HOSTILE,
    LINK,
    OSC52,
    SGR,
    SHOWN_C1,
    SHOWN_CLEAR,
    SHOWN_OSC52,
    SHOWN_TITLE,
    terminal_problems,
    write_hostile_review,
)

LONGEST_LINE = 20_000  # no displayed line comes anywhere near the 1 MB fields
MARKER = "\u2026 (+"  # what the sanitizer appends to a value cut for display


@pytest.fixture(params=["pipe", "color-terminal"])
def styled(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> bool:
    for name in ("NO_COLOR", "FORCE_COLOR", "TTY_COMPATIBLE", "SSH_AUTH_SOCK"):
        monkeypatch.delenv(name, raising=False)
    if request.param == "color-terminal":
        monkeypatch.setenv("FORCE_COLOR", "1")
        monkeypatch.setenv("TTY_COMPATIBLE", "1")
        monkeypatch.setenv("TERM", "xterm-256color")
        return True
    return False


def assert_safe(result: CliResult, styled: bool, *, codes: tuple[int, ...] = (0,)) -> None:
    assert result.code in codes, result.err[:2000]
    for name, text in (("stdout", result.out), ("stderr", result.err)):
        assert "Traceback" not in text
        problems = terminal_problems(text, styled=styled)
        assert not problems, f"control characters reached {name}: {problems}"


def assert_display(result: CliResult, *shown: str) -> None:
    """Human output: no giant line, and the hostile text is there, made visible."""
    longest = max((len(line) for line in result.out.splitlines()), default=0)
    assert longest < LONGEST_LINE, f"a {longest}-character line reached the terminal"
    for text in shown:
        assert text in result.out, f"{text!r} is not in the output"


# (arguments after the command, strings the human output must show)
HUMAN: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "suites": (("suites",), ()),
    "runs": (("runs",), (SHOWN_TITLE, SHOWN_OSC52, SHOWN_CLEAR, SHOWN_C1, LINK)),
    "compare": (("compare", "base"), (SHOWN_TITLE, LINK, MARKER)),
    "compare-transitions": (("compare", "base", "--transitions"), (SHOWN_OSC52, LINK)),
    "cases": (("cases", "cand"), (SHOWN_TITLE, MARKER)),
    "cases-vs": (("cases", "cand", "--vs", "base"), (SHOWN_CLEAR, MARKER)),
    "drift-route": (("drift", "base", "cand", "-c", "route"), (SHOWN_TITLE,)),
    "drift-case-field": (("drift", "base", "cand", "-c", "input"), (SHOWN_TITLE, MARKER)),
    "drift-score": (("drift", "base", "cand", "-c", "score"), (SHOWN_OSC52,)),
    "trend": (("trend", EXPERIMENT, "-m", "exact_route_rate"), (SHOWN_TITLE, LINK)),
}


@pytest.mark.parametrize("name", list(HUMAN))
def test_human_output_is_safe(name: str, full_hostile_store: Path, styled: bool, run_cli) -> None:
    args, shown = HUMAN[name]
    result = run_cli(*args, "--store", full_hostile_store)
    assert_safe(result, styled)
    assert_display(result, *shown)
    if name == "runs":  # the color terminal really is one: Rich styled the table
        assert bool(SGR.search(result.out)) is styled


JSON_COMMANDS: dict[str, tuple[str, ...]] = {
    "suites": ("suites",),
    "runs": ("runs",),
    "compare": ("compare", "base", "--transitions"),
    "cases": ("cases", "cand", "--vs", "base"),
    "drift": ("drift", "base", "cand", "-c", "input"),
    "trend": ("trend", EXPERIMENT, "-m", "exact_route_rate"),
}


@pytest.mark.parametrize("name", list(JSON_COMMANDS))
def test_json_output_is_safe_and_keeps_values_whole(
    name: str, full_hostile_store: Path, styled: bool, run_cli
) -> None:
    result = run_cli(*JSON_COMMANDS[name], "--store", full_hostile_store, "--json")
    assert_safe(result, styled)
    assert result.out.isascii()  # every control and bidi character is a \u escape
    data = json.loads(result.out)
    if name == "cases":  # the 1 MB output comes out whole: JSON is for programs, not cut
        c1 = next(c for c in data["cases"] if c["case_id"] == "c1")
        assert c1["output"] == HOSTILE + BIG
        assert c1["route"] == f"ABSTAIN{HOSTILE}"
    if name == "runs":
        assert f"artifact-cand {HOSTILE}" in {r["artifact"] for r in data["runs"]}


def test_the_store_keeps_what_the_display_cuts(full_hostile_store: Path) -> None:
    with Store.open(full_hostile_store, read_only=True) as opened:
        output, param = opened.con.execute(
            "SELECT r.output, p.value FROM results r JOIN run_params p USING (run_id) "
            "WHERE r.run_id = 'cand' AND r.case_id = 'c1' AND p.key LIKE 'long%'"
        ).fetchone() or ("", "")
    assert output == HOSTILE + BIG
    assert param == BIG


@pytest.fixture
def signing(tmp_path: Path) -> tuple[Path, Path]:
    key = make_key(tmp_path, "alice")
    allowed = write_allowed_signers(
        tmp_path / "allowed_signers", f"alice@example.com {public_line(key)}"
    )
    return key, allowed


def test_decision_commands_are_safe(
    full_hostile_store: Path, signing: tuple[Path, Path], styled: bool, run_cli, tmp_path: Path
) -> None:
    key, allowed = signing
    out = tmp_path / "decisions"
    common = (
        "--rollback",
        "artifact-base",
        "--rollback-external",
        "--limitation",
        "hostile fixture only",
    )
    decided = run_cli(
        "decide", "cand2", *common,
        "--key", key, "--out", out, "--name", "d", "--store", full_hostile_store,
        "--override", "its results copy the baseline's: a fixture",
    )  # fmt: skip
    assert_safe(decided, styled)
    assert_display(decided, SHOWN_TITLE, LINK)
    as_json = run_cli(
        "decide", "cand", *common,
        "--key", key, "--out", out, "--name", "e", "--store", full_hostile_store, "--json",
    )  # fmt: skip
    assert_safe(as_json, styled)
    decision = out / "d.decision.json"

    for args in (
        ("verify", decision, "--allowed-signers", allowed, "--store", full_hostile_store),
        ("verify", decision, "--allowed-signers", allowed, "--store", full_hostile_store, "--json"),
        ("decisions", "--store", full_hostile_store),
        ("decisions", "--store", full_hostile_store, "--json"),
        ("canary-check", decision, "--unverified", "--observed", "unsafe=0"),
    ):
        result = run_cli(*args)
        assert_safe(result, styled)
        if "--json" not in args:
            assert_display(result)
    listed = run_cli("decisions", "--store", full_hostile_store).out
    assert SHOWN_TITLE in listed and LINK in listed

    # A decision file crafted by someone else: its rollback target is hostile. canary-check
    # reads it without a signature check (none was asked for) and must still print it safely.
    doc = json.loads(decision.read_bytes())
    doc["rollback_artifact"] = HOSTILE
    crafted = tmp_path / "crafted.decision.json"
    crafted.write_bytes(rfc8785.dumps(doc))
    rollback = run_cli("canary-check", crafted, "--unverified", "--observed", "unsafe=3")
    assert_safe(rollback, styled, codes=(1,))
    assert rollback.out.startswith("ROLL_BACK_TO:A" + SHOWN_TITLE)
    rejected = run_cli("verify", crafted, "--allowed-signers", allowed)
    assert_safe(rejected, styled, codes=(1,))


@pytest.fixture
def hostile_inspect_log(tmp_path: Path) -> Path:
    doc = json.loads(
        (REAL_LOGS / "inspect_ai" / "2025-05-12T20-28-13-04-00_popularity.json").read_text()
    )
    doc["eval"]["task"] = f"popularity {HOSTILE}"
    doc["eval"]["model"] = f"model {HOSTILE}"
    for sample in doc["samples"]:
        sample["output"]["choices"][0]["message"]["content"] = HOSTILE + BIG
        sample["target"] = f"Yes{HOSTILE}"
    folder = tmp_path / f"logs {HOSTILE_NAME}"
    folder.mkdir()
    path = folder / f"log {OSC_NAME}.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


OSC_NAME = "\x1b]0;FILE\x07"
# File names cannot hold "/", so no [link=...] there; every control sequence can be.
HOSTILE_NAME = f"{OSC_NAME} {OSC52}{CSI_CLEAR}{C1_CSI}{BIDI}"


def test_import_output_is_safe(
    hostile_inspect_log: Path, styled: bool, run_cli, tmp_path: Path
) -> None:
    store = tmp_path / "imported.duckdb"
    human = run_cli("import", "inspect", hostile_inspect_log, "--store", store)
    assert_safe(human, styled)
    assert_display(human, SHOWN_TITLE, "\u241b]0;FILE\u2407")
    again = run_cli("import", "inspect", hostile_inspect_log, "--store", store, "--json")
    assert_safe(again, styled)
    assert json.loads(again.out)["runs"][0]["artifact"] == f"model {HOSTILE}"
    shown = run_cli("runs", "--store", store)
    assert_safe(shown, styled)
    assert_display(shown, SHOWN_TITLE)


ErrorCase = Callable[[Path, Path], tuple[str | Path, ...]]


def _bad_run(folder: Path, store: Path) -> tuple[str | Path, ...]:
    write_hostile_review(folder)
    doc = json.loads((folder / "cand.run.json").read_text())
    doc["run_id"] = "bad"
    doc["started_at"] = HOSTILE + BIG
    doc["tags"] = [HOSTILE + BIG]
    (folder / "cand.run.json").write_text(json.dumps(doc))
    return ("load", folder, "--store", store)


def _bad_observed(folder: Path, store: Path) -> tuple[str | Path, ...]:
    return (
        "canary-check",
        folder / f"{OSC_NAME}.decision.json",
        "--unverified",
        "--observed",
        f"x={HOSTILE}",
    )


def _missing_decision(folder: Path, store: Path) -> tuple[str | Path, ...]:
    return (
        "canary-check",
        folder / f"{OSC_NAME}.decision.json",
        "--unverified",
        "--observed",
        "x=1",
    )


def _unknown_run(folder: Path, store: Path) -> tuple[str | Path, ...]:
    return ("cases", f"run {HOSTILE}", "--store", store)


def _hostile_file_name(folder: Path, store: Path) -> tuple[str | Path, ...]:
    (folder / f"evil {HOSTILE_NAME}.run.json").write_text("{" + "[" * 10)
    return ("load", folder, "--store", store)


@pytest.mark.parametrize(
    "make",
    [_bad_run, _bad_observed, _missing_decision, _unknown_run, _hostile_file_name],
    ids=lambda f: f.__name__,
)
def test_error_lines_are_safe_and_short(
    make: ErrorCase, full_hostile_store: Path, styled: bool, run_cli, tmp_path: Path
) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    result = run_cli(*make(folder, full_hostile_store))
    assert_safe(result, styled, codes=(2,))
    assert result.out == ""
    lines = result.err.strip().splitlines()
    assert lines and all(line.startswith("evaltui: ") for line in lines), lines
    for line in lines:
        assert len(line) < 2_000, f"a {len(line)}-character error line"
    if make is _bad_run:
        assert len(lines) == 2, lines  # started_at and tags
        assert "started_at" in lines[0] and MARKER in lines[0]
