"""Co-signing and quorum with real ssh-keygen keys: every signature file verifies on its own with
plain `ssh-keygen -Y verify`, `verify --quorum K` counts distinct reviewers, and the run's author
(even with a second key) never makes the quorum of their own run."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from evaltui.decision.quorum import count_distinct, run_authors
from evaltui.decision.signatures import cosignature_files, signature_counts
from tests.conftest import SAMPLE_RUNS, digest
from tests.decision_support import (
    agent_add,
    keygen_sign,
    keygen_verify,
    make_key,
    public_line,
    running_agent,
    write_allowed_signers,
)

AUTHOR = "carol@example.com"
LIMITATION = "requires production review and monitored canary"


@pytest.fixture(autouse=True)
def _no_agent_or_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "SSH_AUTH_SOCK",
        "EVALTUI_REVIEWER",
        "EVALTUI_SIGNING_KEY",
        "EVALTUI_ALLOWED_SIGNERS",
        "EVALTUI_KEY_PASSPHRASE",
    ):
        monkeypatch.delenv(name, raising=False)


@dataclass
class Board:
    """A store whose run_003 was written by carol, keys for alice (decides), bob (co-signs),
    carol (two keys) and mallory (not trusted), and the deployer's allowed_signers."""

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
    shutil.copytree(SAMPLE_RUNS / "ci-claim-gate", runs)
    run_file = runs / "run_003.run.json"
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
        "carol": make_key(keys_dir, "carol", comment=AUTHOR),
        "carol2": make_key(keys_dir, "carol2", "ecdsa256", comment=AUTHOR),
        "mallory": make_key(keys_dir, "mallory", comment="mallory@example.com"),
    }
    allowed = write_allowed_signers(
        tmp_path / "allowed_signers",
        f"alice@example.com {public_line(keys['alice'])}",
        f'bob@example.com namespaces="evaltui-decision" {public_line(keys["bob"])}',
        f"{AUTHOR} {public_line(keys['carol'])}",
        f"{AUTHOR} {public_line(keys['carol2'])}",
        # carol's second key is also listed under a team alias: it still must not count for her
        f"release-team@example.com {public_line(keys['carol2'])}",
    )
    return Board(store, tmp_path, keys, allowed)


def decide(run_cli, board: Board, reviewer: str = "alice", *extra: str) -> Path:
    out = board.folder / "out"
    done = run_cli(
        "decide",
        "run_003",
        "--rollback",
        "ci-answerer-v1",
        "--rollback-external",
        "--limitation",
        LIMITATION,
        "--key",
        board.keys[reviewer],
        "--reviewer",
        f"{reviewer}@example.com",
        "--out",
        out,
        "--name",
        "d",
        "--no-agent",
        "--store",
        board.store,
        *extra,
    )
    assert done.code == 0, done.err
    return out / "d.decision.json"


def cosign(run_cli, decision: Path, board: Board, who: str, *extra: str | Path):
    return run_cli(
        "cosign",
        decision,
        "--key",
        board.keys[who],
        "--reviewer",
        f"{who}@example.com",
        "--no-agent",
        *extra,
    )


def verify_json(run_cli, decision: Path, board: Board, *extra: str | Path) -> tuple[int, dict]:
    done = run_cli("verify", decision, "--allowed-signers", board.allowed, "--json", *extra)
    return done.code, json.loads(done.out)


def keygen_ok(board: Board, principal: str, signature: Path, decision: Path) -> bool:
    result = keygen_verify(board.allowed, principal, signature, decision)
    return result.returncode == 0


def test_the_record_carries_the_runs_author(run_cli, board: Board) -> None:
    decision = decide(run_cli, board)
    assert run_authors(json.loads(decision.read_bytes())) == (AUTHOR,)


def test_a_second_reviewer_makes_a_quorum_of_two(run_cli, board: Board) -> None:
    decision = decide(run_cli, board)
    before = digest(decision)
    code, doc = verify_json(run_cli, decision, board, "--quorum", "2")
    assert code == 1 and not doc["valid"]
    assert doc["quorum"]["counted"] == 1 and doc["quorum"]["required"] == 2
    assert doc["reason"].startswith("1 distinct signer counted (alice@example.com), 2 needed")
    # the default check (no quorum) is today's single-signature check
    assert run_cli("verify", decision, "--allowed-signers", board.allowed).code == 0

    done = cosign(run_cli, decision, board, "bob", "--allowed-signers", board.allowed)
    assert done.code == 0, done.err
    cosig = decision.with_name("d.decision.json.bob@example.com.sig")
    assert cosig.is_file()
    assert "wrote" in done.out and "bob@example.com" in done.out
    assert "2 signature files" in done.out
    assert digest(decision) == before  # the decision's bytes never change

    code, doc = verify_json(run_cli, decision, board, "--quorum", "2")
    assert code == 0, doc["reason"]
    quorum = doc["quorum"]
    assert quorum["met"] and quorum["counted"] == 2
    assert quorum["signers"] == ["alice@example.com", "bob@example.com"]
    assert quorum["run_authors"] == [AUTHOR]
    assert [
        (s["role"], s["principal"], s["valid"], s["counted"]) for s in quorum["signatures"]
    ] == [
        ("decider", "alice@example.com", True, True),
        ("cosigner", "bob@example.com", True, True),
    ]
    said = {c["check"]: c["message"] for c in doc["checks"]}
    assert said["quorum"].startswith(
        "2 distinct signers counted (alice@example.com, bob@example.com)"
    )
    assert (
        run_cli("verify", decision, "--allowed-signers", board.allowed, "--quorum", "3").code == 1
    )
    # each file verifies on its own with plain OpenSSH
    assert keygen_ok(board, "alice@example.com", Path(f"{decision}.sig"), decision)
    assert keygen_ok(board, "bob@example.com", cosig, decision)
    # the table form names every signature
    table = run_cli("verify", decision, "--allowed-signers", board.allowed, "--quorum", "2")
    assert table.code == 0 and "VALID" in table.out and "bob@example.com" in table.out


def test_the_authors_own_keys_never_make_the_quorum(run_cli, board: Board) -> None:
    decision = decide(run_cli, board)
    # evaltui refuses the author up front, in one line, writing nothing
    done = cosign(run_cli, decision, board, "carol")
    assert done.code == 2
    assert done.err.strip().count("\n") == 0
    assert "is the author of run run_003" in done.err
    assert sorted(p.name for p in decision.parent.iterdir()) == [
        "d.decision.json",
        "d.decision.json.sig",
    ]
    # ... and with allowed_signers also a key of the author's listed under another principal
    done = run_cli(
        "cosign", decision, "--key", board.keys["carol2"], "--reviewer", "release-team@example.com",
        "--allowed-signers", board.allowed, "--no-agent",
    )  # fmt: skip
    assert done.code == 2 and "listed for the run's author" in done.err
    # signatures made outside evaltui (plain ssh-keygen) by carol's second key do not count,
    # neither under her own name nor under the alias the key is also listed for
    for principal in (AUTHOR, "release-team@example.com"):
        copy = decision.with_name("copy.json")
        shutil.copy(decision, copy)
        made = keygen_sign(board.keys["carol2"], copy)
        made.rename(decision.with_name(f"d.decision.json.{principal}.sig"))
        copy.unlink()
        assert keygen_ok(
            board, principal, decision.with_name(f"d.decision.json.{principal}.sig"), decision
        )
    code, doc = verify_json(run_cli, decision, board, "--quorum", "2")
    assert code == 1 and doc["quorum"]["counted"] == 1
    notes = {
        s["principal"]: (s["valid"], s["counted"], s["note"]) for s in doc["quorum"]["signatures"]
    }
    assert notes[AUTHOR] == (True, False, f"{AUTHOR} is the run's author")
    assert notes["release-team@example.com"] == (
        True,
        False,
        "signed with a key allowed_signers lists for the run's author",
    )
    # a second reviewer still completes it
    assert cosign(run_cli, decision, board, "bob").code == 0
    assert verify_json(run_cli, decision, board, "--quorum", "2")[0] == 0


def test_the_author_deciding_does_not_count_either(run_cli, board: Board) -> None:
    decision = decide(run_cli, board, "carol")
    assert verify_json(run_cli, decision, board, "--quorum", "1")[1]["quorum"]["counted"] == 0
    assert cosign(run_cli, decision, board, "bob").code == 0
    assert verify_json(run_cli, decision, board, "--quorum", "1")[0] == 0
    code, doc = verify_json(run_cli, decision, board, "--quorum", "2")
    assert code == 1 and doc["quorum"]["signers"] == ["bob@example.com"]


def test_tampering_with_the_decision_breaks_every_signature(run_cli, board: Board) -> None:
    decision = decide(run_cli, board)
    assert cosign(run_cli, decision, board, "bob").code == 0
    data = decision.read_bytes()
    assert data.count(b"monitored canary") == 1
    decision.write_bytes(data.replace(b"monitored canary", b"monitored canarz"))
    code, doc = verify_json(run_cli, decision, board, "--quorum", "1")
    assert code == 1
    assert [(s["valid"], s["counted"]) for s in doc["quorum"]["signatures"]] == [(False, False)] * 2
    assert all("changed after signing" in s["note"] for s in doc["quorum"]["signatures"])
    assert not keygen_ok(board, "alice@example.com", Path(f"{decision}.sig"), decision)
    assert not keygen_ok(
        board,
        "bob@example.com",
        decision.with_name("d.decision.json.bob@example.com.sig"),
        decision,
    )
    # and a tampered decision is not co-signed
    done = run_cli(
        "cosign", decision, "--key", board.keys["mallory"], "--reviewer", "dave@example.com",
        "--no-agent",
    )  # fmt: skip
    assert done.code == 2 and "the decision's own signature does not verify" in done.err


def test_an_untrusted_cosigner_does_not_count(run_cli, board: Board) -> None:
    decision = decide(run_cli, board)
    # without allowed_signers cosign cannot know mallory is not trusted; verify does
    assert cosign(run_cli, decision, board, "mallory").code == 0
    code, doc = verify_json(run_cli, decision, board, "--quorum", "2")
    assert code == 1
    mallory = doc["quorum"]["signatures"][1]
    assert mallory["principal"] == "mallory@example.com"
    assert (mallory["valid"], mallory["counted"]) == (False, False)
    assert "is not listed in" in mallory["note"]
    assert "not counted: d.decision.json.mallory@example.com.sig" in doc["reason"]
    # with allowed_signers, such a co-signature is refused before anything is written
    done = run_cli(
        "cosign", decision, "--key", board.keys["mallory"], "--reviewer", "eve@example.com",
        "--allowed-signers", board.allowed, "--no-agent",
    )  # fmt: skip
    assert done.code == 2
    assert not decision.with_name("d.decision.json.eve@example.com.sig").exists()


def test_refusals_are_one_line_and_write_nothing(run_cli, board: Board) -> None:
    decision = decide(run_cli, board)
    assert cosign(run_cli, decision, board, "bob").code == 0
    listing = sorted(p.name for p in decision.parent.iterdir())
    cases = [
        (["--reviewer", "bob@example.com"], "bob", "bob@example.com already co-signed"),
        (["--reviewer", "bobby@example.com"], "bob", "already signed this decision as bob"),
        (["--reviewer", "alice@example.com"], "mallory", "already signed this decision (its own"),
        (["--reviewer", "Alice@Example.com"], "mallory", "already signed this decision (its own"),
        (["--reviewer", "eve/../x"], "mallory", "cannot name a co-signature file"),
        (["--reviewer", "dave@example.com"], "alice", "this key"),
    ]
    for extra, who, expected in cases:
        done = run_cli("cosign", decision, "--key", board.keys[who], "--no-agent", *extra)
        assert done.code == 2, (extra, done.out)
        assert expected in done.err, (extra, done.err)
        assert done.err.strip().count("\n") == 0 and "Traceback" not in done.err
        assert sorted(p.name for p in decision.parent.iterdir()) == listing
    missing = run_cli(
        "cosign", decision.with_name("nope.decision.json"), "--key", board.keys["bob"]
    )
    assert missing.code == 2 and "not found" in missing.err
    not_signed = decision.with_name("unsigned.decision.json")
    shutil.copy(decision, not_signed)
    done = cosign(run_cli, not_signed, board, "mallory")
    assert done.code == 2 and "co-sign only a signed decision" in done.err


def test_a_decision_with_waivers_needs_two_whatever_quorum(run_cli, board: Board) -> None:
    decision = decide(run_cli, board, "alice", "--status", "ELIGIBLE_WITH_WAIVERS")
    for extra in ((), ("--quorum", "1")):
        code, doc = verify_json(run_cli, decision, board, *extra)
        assert code == 1, extra
        assert doc["quorum"]["required"] == 2
        assert "a decision with waivers needs 2" in doc["reason"]
    # co-signing is how it gets there, so the check before co-signing ignores the quorum
    assert cosign(run_cli, decision, board, "bob", "--allowed-signers", board.allowed).code == 0
    assert verify_json(run_cli, decision, board)[0] == 0
    assert verify_json(run_cli, decision, board, "--quorum", "1")[0] == 0
    assert verify_json(run_cli, decision, board, "--quorum", "3")[0] == 1


def test_canary_check_honours_the_quorum(run_cli, board: Board) -> None:
    decision = decide(run_cli, board)
    args = [
        "canary-check", decision, "--allowed-signers", board.allowed,
        "--observed", "unsafe_claim_served=0", "--observed", "unnecessary_abstention=0",
        "--observed", "exact_route_rate=1",
    ]  # fmt: skip
    assert run_cli(*args).code == 0
    refused = run_cli(*args, "--quorum", "2")
    assert refused.code == 2 and "1 distinct signer counted" in refused.err
    assert cosign(run_cli, decision, board, "bob").code == 0
    done = run_cli(*args, "--quorum", "2")
    assert done.code == 0 and "CONTINUE_CANARY_MONITORING" in done.out
    usage = run_cli("canary-check", decision, "--unverified", "--quorum", "2", "--observed", "a=1")
    assert usage.code == 2 and "--quorum counts verified signatures" in usage.err


def test_one_key_or_one_principal_is_one_signer(run_cli, board: Board) -> None:
    decision = decide(run_cli, board)
    assert cosign(run_cli, decision, board, "bob").code == 0
    # bob's key is also listed as bob-ci; the same signature under that name is bob again
    allowed = board.allowed
    allowed.write_text(
        allowed.read_text() + f"bob-ci@example.com {public_line(board.keys['bob'])}\n"
    )
    shutil.copy(
        decision.with_name("d.decision.json.bob@example.com.sig"),
        decision.with_name("d.decision.json.bob-ci@example.com.sig"),
    )
    code, doc = verify_json(run_cli, decision, board, "--quorum", "3")
    assert code == 1 and doc["quorum"]["counted"] == 2
    notes = [s["note"] or "" for s in doc["quorum"]["signatures"]]
    assert [n.startswith("the same signer as") for n in notes] == [False, False, True]
    # the grouping itself: shared principal or shared key joins signers
    assert count_distinct([("a", b"1"), ("b", b"2"), ("A", b"3"), ("c", b"2"), ("d", b"4")]) == [
        [0, 2],
        [1, 3],
        [4],
    ]


def test_cosign_through_ssh_agent(run_cli, board: Board, monkeypatch: pytest.MonkeyPatch) -> None:
    decision = decide(run_cli, board)
    with running_agent(board.folder) as sock:
        agent_add(sock, board.keys["bob"])
        monkeypatch.setenv("SSH_AUTH_SOCK", sock)
        done = run_cli(
            "cosign", decision, "--key", f"{board.keys['bob']}.pub", "--allowed-signers",
            board.allowed, "--json",
        )  # fmt: skip
    assert done.code == 0, done.err
    out = json.loads(done.out)
    assert out["reviewer"] == "bob@example.com"  # the key's comment
    assert out["signer"]["source"].startswith("ssh-agent") or "agent" in out["signer"]["source"]
    assert keygen_ok(board, "bob@example.com", Path(out["signature"]), decision)
    assert verify_json(run_cli, decision, board, "--quorum", "2")[0] == 0


def test_signature_files_are_found_and_counted(tmp_path: Path) -> None:
    folder = tmp_path / "d"
    folder.mkdir()
    for name in (
        "a.decision.json",
        "a.decision.json.sig",
        "a.decision.json.bob@example.com.sig",
        "a.decision.json.x.y.sig",
        "a.decision.json.bad name.sig",
        "a.decision.json.other",
        "b.decision.json",
        "b.decision.json.sig",
    ):
        (folder / name).write_text("")
    files, more = cosignature_files(folder / "a.decision.json")
    assert more == 0
    assert [(f.path.name, f.principal) for f in files] == [
        ("a.decision.json.bad name.sig", None),
        ("a.decision.json.bob@example.com.sig", "bob@example.com"),
        ("a.decision.json.x.y.sig", "x.y"),
    ]
    counts = signature_counts([folder / "a.decision.json", folder / "b.decision.json"])
    assert counts == {folder / "a.decision.json": 3, folder / "b.decision.json": 1}


def test_each_cosignature_gets_the_revocation_and_namespace_checks(run_cli, board: Board) -> None:
    decision = decide(run_cli, board)
    assert cosign(run_cli, decision, board, "bob").code == 0
    revoked = board.folder / "revoked.keys"
    revoked.write_text(Path(f"{board.keys['bob']}.pub").read_text())
    code, doc = verify_json(run_cli, decision, board, "--quorum", "2", "--revoked", revoked)
    assert code == 1
    bob = doc["quorum"]["signatures"][1]
    assert not bob["counted"] and "is revoked" in bob["note"]
    assert verify_json(run_cli, decision, board, "--quorum", "1", "--revoked", revoked)[0] == 0
    # a signature made for another purpose (namespace "file") beside the decision does not count
    copy = decision.with_name("copy.json")
    shutil.copy(decision, copy)
    keygen_sign(board.keys["mallory"], copy, namespace="file").rename(
        decision.with_name("d.decision.json.mallory@example.com.sig")
    )
    allowed = board.allowed
    allowed.write_text(
        allowed.read_text() + f"mallory@example.com {public_line(board.keys['mallory'])}\n"
    )
    code, doc = verify_json(run_cli, decision, board, "--quorum", "3")
    assert code == 1 and doc["quorum"]["counted"] == 2
    mallory = doc["quorum"]["signatures"][2]
    assert mallory["principal"] == "mallory@example.com" and "namespace" in mallory["note"]


def test_counting_survives_a_logged_path_that_cannot_exist(tmp_path: Path) -> None:
    # the log is a file anyone can edit: a NUL in a path must not break the app's list
    bad = tmp_path / "x\x00y" / "d.decision.json"
    assert signature_counts([bad]) == {bad: 0}
    assert cosignature_files(bad) == ([], 0)


def test_cosign_takes_key_reviewer_and_signers_from_the_config(
    run_cli, board: Board, tmp_path: Path
) -> None:
    """Like `decide`, `cosign` takes its defaults from the settings (config file, then
    environment): before, it read only EVALTUI_* and ignored config.toml."""
    decision = decide(run_cli, board)
    config = tmp_path / "xdg-config" / "evaltui" / "config.toml"  # the tests' XDG_CONFIG_HOME
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(
        f'reviewer = "bob@example.com"\nsigning_key = "{board.keys["bob"]}"\n'
        f'allowed_signers = "{board.allowed}"\n',
        encoding="utf-8",
    )
    done = run_cli("cosign", decision, "--no-agent")
    assert done.code == 0, done.err
    signature = decision.with_name(decision.name + ".bob@example.com.sig")
    assert signature.is_file()
    assert keygen_ok(board, "bob@example.com", signature, decision)
