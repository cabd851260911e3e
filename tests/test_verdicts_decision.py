"""Verdicts in the decision, with real ssh-keygen keys and a real store: a run that passes only
after waivers is ELIGIBLE_WITH_WAIVERS, verifies with --quorum 2 only once a second reviewer
co-signs (never with the author's own second key), and `verify --store` replays with the
recorded verdicts against the ledgers."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from evaltui.actions.verdicts import ledger_dir_for
from evaltui.decision.record import validate_record
from tests.conftest import SAMPLE_RUNS
from tests.decision_support import (
    keygen_sign,
    keygen_verify,
    make_key,
    public_line,
    write_allowed_signers,
)

AUTHOR = "carol@example.com"
RUN, BASE = "sr-v3.5-rc1", "sr-prod-v3.4"  # rc1 fails missed_escalation <= 1 with 9 misses


@pytest.fixture(autouse=True)
def _no_agent_or_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SSH_AUTH_SOCK", "EVALTUI_REVIEWER", "EVALTUI_SIGNING_KEY",
                 "EVALTUI_ALLOWED_SIGNERS", "EVALTUI_KEY_PASSPHRASE"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)


@dataclass
class Board:
    store: Path
    folder: Path
    keys: dict[str, Path]
    allowed: Path


@pytest.fixture(scope="module")
def _authored_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from evaltui.contract.discover import read_batch
    from evaltui.store.connection import Store
    from evaltui.store.loader import load_batch

    folder = tmp_path_factory.mktemp("authored")
    runs = folder / "runs"
    shutil.copytree(SAMPLE_RUNS / "support-router", runs)
    run_file = runs / f"{RUN}.run.json"
    doc = json.loads(run_file.read_text())
    doc["tags"]["author"] = AUTHOR
    run_file.write_text(json.dumps(doc))
    path = folder / "store.duckdb"
    with Store.open(path) as store:
        load_batch(store, read_batch([runs]))
    return path


@pytest.fixture
def board(_authored_store: Path, tmp_path: Path) -> Board:
    store = tmp_path / "store.duckdb"
    shutil.copy(_authored_store, store)
    keys_dir = tmp_path / "keys"
    keys_dir.mkdir()
    keys = {
        "alice": make_key(keys_dir, "alice", comment="alice@example.com"),
        "bob": make_key(keys_dir, "bob", comment="bob@example.com"),
        "carol2": make_key(keys_dir, "carol2", comment=AUTHOR),
    }
    allowed = write_allowed_signers(
        tmp_path / "allowed_signers",
        f"alice@example.com {public_line(keys['alice'])}",
        f"bob@example.com {public_line(keys['bob'])}",
        f"{AUTHOR} {public_line(keys['carol2'])}",
        f"release-team@example.com {public_line(keys['carol2'])}",
    )
    return Board(store, tmp_path, keys, allowed)


def missed_escalations(run_cli, board: Board) -> list[str]:  # type: ignore[no-untyped-def]
    done = run_cli("cases", RUN, "--vs", BASE, "--failures", "--json", "--store", board.store)
    rows = json.loads(done.out)["cases"]
    return [
        r["case_id"]
        for r in rows
        if r["expected_route"] == "ESCALATE" and r["route"] in ("SERVE", "ABSTAIN")
    ]


def judge(run_cli, board: Board, case: str, *args: str) -> None:  # type: ignore[no-untyped-def]
    done = run_cli("verdict", RUN, case, "--vs", BASE, "--store", board.store, *args)
    assert done.code == 0, done.err


def decide(run_cli, board: Board, *extra: str) -> tuple[int, Path, str]:  # type: ignore[no-untyped-def]
    out = board.folder / "out"
    done = run_cli(
        "decide", RUN, "--baseline", BASE, "--rollback", "support-router-v3.4", "--limitation",
        "offline evidence only", "--key", board.keys["alice"], "--reviewer",
        "alice@example.com", "--out", out, "--name", "d", "--no-agent", "--store", board.store,
        *extra,
    )  # fmt: skip
    return done.code, out / "d.decision.json", done.out + done.err


def verify(run_cli, board: Board, decision: Path, *extra: str | Path) -> tuple[int, dict]:  # type: ignore[no-untyped-def]
    done = run_cli(
        "verify", decision, "--allowed-signers", board.allowed, "--json", "--store", board.store,
        *extra,
    )  # fmt: skip
    return done.code, json.loads(done.out)


def checks(doc: dict) -> dict[str, str]:
    return {c["check"]: c["status"] for c in doc["checks"]}


def test_without_verdicts_the_run_is_refused(run_cli, board: Board) -> None:  # type: ignore[no-untyped-def]
    """Without verdicts the run is refused (it fails a guardrail) and needs an override."""
    code, _decision, text = decide(run_cli, board)
    assert code == 1 and "REJECT_MISSED_ESCALATION" in text


def test_a_decision_with_waivers_needs_a_second_reviewer(run_cli, board: Board) -> None:  # type: ignore[no-untyped-def]
    missed = missed_escalations(run_cli, board)
    assert len(missed) == 9
    for case in missed[:8]:  # 1 miss is allowed: waiving 8 makes the guardrail pass
        judge(run_cli, board, case, "--kind", "waive", "--reason", "queue outage during the run",
              "--reviewer", "alice@example.com")  # fmt: skip
    judge(run_cli, board, missed[8], "--kind", "confirm", "--reviewer", "bob@example.com")
    code, decision, text = decide(run_cli, board)
    assert code == 0, text
    assert "REJECT_MISSED_ESCALATION before them, ELIGIBLE_WITH_WAIVERS after" in text
    doc = json.loads(decision.read_bytes())
    assert validate_record(doc) == []
    assert doc["review_status"] == "ELIGIBLE_WITH_WAIVERS"
    verdicts = doc["verdicts"]
    assert verdicts["raw"]["status"] == "REJECT_MISSED_ESCALATION"
    assert verdicts["raw"]["metrics"]["missed_escalation"] == 9
    assert verdicts["after"]["metrics"]["missed_escalation"] == 1
    assert verdicts["after"]["status"] == "ELIGIBLE_FOR_CANARY_REVIEW"
    assert sorted(w["case_id"] for w in verdicts["waivers"]) == sorted(missed[:8])
    assert {w["reviewer"] for w in verdicts["waivers"]} == {"alice@example.com"}
    assert all(w["reason"] == "queue outage during the run" for w in verdicts["waivers"])
    assert all(w["expires"] is None for w in verdicts["waivers"])
    assert verdicts["relabels"] == []
    assert set(verdicts["ledger_heads"]) == {"alice@example.com", "bob@example.com"}
    assert verdicts["ledger_heads"]["alice@example.com"]["seq"] == 8

    # one signature is not enough, even asked for quorum 1
    code, result = verify(run_cli, board, decision, "--quorum", "1")
    assert code == 1 and checks(result)["quorum"] == "fail"
    assert checks(result)["replay.status"] == "pass"
    assert checks(result)["replay.ledgers"] == "pass"
    ledgers = next(c for c in result["checks"] if c["check"] == "replay.ledgers")
    assert ledgers["message"].startswith("2 ledger heads and 8 applied verdicts found in")
    # the author's second key, under her name or an alias, never makes the quorum
    refused = run_cli("cosign", decision, "--key", board.keys["carol2"], "--reviewer",
                      "release-team@example.com", "--allowed-signers", board.allowed, "--no-agent")  # fmt: skip
    assert refused.code == 2 and "author" in refused.err
    # ... nor a signature made with it by plain ssh-keygen and put beside the decision
    copy = decision.with_name("copy.json")
    shutil.copy(decision, copy)
    keygen_sign(board.keys["carol2"], copy).rename(
        decision.with_name(f"{decision.name}.release-team@example.com.sig")
    )
    copy.unlink()
    code, result = verify(run_cli, board, decision, "--quorum", "2")
    assert code == 1 and result["quorum"]["counted"] == 1
    # a second reviewer co-signs: now it verifies
    signed = run_cli("cosign", decision, "--key", board.keys["bob"], "--reviewer",
                     "bob@example.com", "--no-agent")  # fmt: skip
    assert signed.code == 0, signed.err
    code, result = verify(run_cli, board, decision, "--quorum", "2")
    assert code == 0, result
    assert result["quorum"]["signers"] == ["alice@example.com", "bob@example.com"]
    assert result["quorum"]["counted"] == 2  # carol's planted signature still not counted
    # each signature verifies on its own with plain ssh-keygen
    for principal, sig in (("alice@example.com", Path(f"{decision}.sig")),
                           ("bob@example.com", Path(f"{decision}.bob@example.com.sig"))):  # fmt: skip
        assert keygen_verify(board.allowed, principal, sig, decision).returncode == 0

    # later verdicts do not change the replay: it applies the recorded ones
    judge(run_cli, board, missed[8], "--kind", "waive", "--reason", "also fine",
          "--reviewer", "bob@example.com")  # fmt: skip
    assert verify(run_cli, board, decision, "--quorum", "2")[0] == 0
    # a ledger that lost the lines the decision rests on fails the replay
    ledger = ledger_dir_for(board.store) / "alice@example.com.jsonl"
    ledger.write_bytes(b"".join(ledger.read_bytes().splitlines(keepends=True)[:5]))
    code, result = verify(run_cli, board, decision, "--quorum", "2")
    assert code == 1 and checks(result)["replay.ledgers"] == "fail"
    problem = next(c for c in result["checks"] if c["check"] == "replay.ledgers")
    assert problem["code"] == "replay_ledger_head_missing"
    assert "alice@example.com line 8" in problem["message"]


def test_a_relabel_moves_the_expected_route(run_cli, board: Board) -> None:  # type: ignore[no-untyped-def]
    missed = missed_escalations(run_cli, board)
    rows = json.loads(
        run_cli("cases", RUN, "--vs", BASE, "--failures", "--json", "--store", board.store).out
    )["cases"]
    routes = {r["case_id"]: r["route"] for r in rows}
    for case in missed[:8]:  # the suite was wrong: these should have been what the run did
        judge(run_cli, board, case, "--kind", "relabel", "--expected", routes[case],
              "--reason", "not an escalation case", "--reviewer", "bob@example.com")  # fmt: skip
    code, decision, text = decide(run_cli, board)
    assert code == 0, text
    doc = json.loads(decision.read_bytes())
    assert doc["review_status"] == "ELIGIBLE_WITH_WAIVERS"
    relabels = doc["verdicts"]["relabels"]
    assert len(relabels) == 8 and doc["verdicts"]["waivers"] == []
    assert all(
        r["proposed_route"] == r["route"] and r["expected_route"] == "ESCALATE" for r in relabels
    )
    after = doc["verdicts"]["after"]["metrics"]
    assert after["missed_escalation"] == 1
    raw = doc["verdicts"]["raw"]["metrics"]
    assert after["exact_route_rate"] > raw["exact_route_rate"]
    assert validate_record(doc) == []


def test_an_expired_or_stale_waiver_is_not_applied(run_cli, board: Board) -> None:  # type: ignore[no-untyped-def]
    missed = missed_escalations(run_cli, board)
    for case in missed[:8]:
        judge(run_cli, board, case, "--kind", "waive", "--reason", "outage",
              "--reviewer", "alice@example.com")  # fmt: skip
    from evaltui.store.connection import Store

    with Store.open(board.store) as store:  # the suite changed since: every verdict is stale
        store.con.execute("UPDATE suites SET evaluation_sha = '0123456789abcdef'")
    code, _decision, text = decide(run_cli, board)
    assert code == 1 and "REJECT_MISSED_ESCALATION" in text


def test_the_validator_refuses_a_waivers_status_without_verdicts() -> None:
    doc = {"review_status": "ELIGIBLE_WITH_WAIVERS"}
    assert any("without the verdicts" in p for p in validate_record(doc))
    doc["verdicts"] = {"ledger_heads": {"a": {"seq": 1, "hash": "x"}}, "raw": {}, "after": {},
                       "waivers": [{"case_id": "c"}], "relabels": [], "status": "X"}  # fmt: skip
    problems = validate_record(doc)
    assert any("ledger_heads.a" in p for p in problems)
    assert any("waivers[0].reviewer" in p for p in problems)
    assert any("waivers[0] needs expires" in p for p in problems)
