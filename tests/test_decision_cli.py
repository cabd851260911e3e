"""`evaltui decide`, `verify`, `canary-check` and `decisions` end to end, with real keys."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.decision_support import (
    damage_public_key_header,
    keygen_verify,
    make_key,
    public_line,
    write_allowed_signers,
)

EXAMPLE = (
    "--rollback",
    "ci-answerer-v1",
    "--rollback-external",  # the version in production: no run of the experiment has it
    "--limitation",
    "requires production review and monitored canary",
)


@pytest.fixture(autouse=True)
def _no_agent_or_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "SSH_AUTH_SOCK",
        "EVALTUI_KEY_PASSPHRASE",
        "EVALTUI_REVIEWER",
        "EVALTUI_SIGNING_KEY",
        "EVALTUI_ALLOWED_SIGNERS",
    ):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def key(tmp_path: Path) -> Path:
    return make_key(tmp_path, "alice")


@pytest.fixture
def allowed(tmp_path: Path, key: Path) -> Path:
    return write_allowed_signers(
        tmp_path / "allowed_signers", f"alice@example.com {public_line(key)}"
    )


def _decide(run_cli, store: Path, key: Path, out: Path, *extra: str):
    return run_cli("decide", *extra, "--store", store, "--key", key, "--out", out)


def test_decide_verify_and_canary(
    run_cli, sample_store: Path, key: Path, allowed: Path, tmp_path: Path
) -> None:
    out = tmp_path / "decisions"
    done = _decide(run_cli, sample_store, key, out, "run_003", *EXAMPLE, "--json")
    assert done.code == 0, done.err
    written = json.loads(done.out)
    decision = Path(written["decision"])
    assert written["reviewer"] == "alice@example.com"  # from the key's comment
    assert decision.parent == out and decision.name.endswith(".decision.json")
    assert (
        keygen_verify(allowed, "alice@example.com", Path(written["signature"]), decision).returncode
        == 0
    )

    checked = run_cli(
        "verify", decision, "--allowed-signers", allowed, "--store", sample_store, "--json"
    )
    assert checked.code == 0, checked.err
    report = json.loads(checked.out)
    assert report["valid"] is True and report["reason"] is None
    assert {c["check"]: c["status"] for c in report["checks"]}["replay.status"] == "pass"

    human = run_cli("verify", decision, "--allowed-signers", allowed)
    assert human.code == 0 and "VALID" in human.out and "replay" in human.out

    cont = run_cli(
        "canary-check",
        decision,
        "--unverified",
        "--observed",
        "unsafe_claim_served=0",
        "--observed",
        "unnecessary_abstention=0",
    )
    assert (cont.code, cont.out) == (0, "CONTINUE_CANARY_MONITORING\n")
    stop = run_cli(
        "canary-check",
        decision,
        "--allowed-signers",
        allowed,
        "--observed",
        "unsafe_claim_served=1",
        "--observed",
        "unnecessary_abstention=0",
    )
    assert (stop.code, stop.out) == (1, "ROLL_BACK_TO:ci-answerer-v1\n")
    assert "unsafe_claim_served == 0 broken (observed 1)" in stop.err

    listed = run_cli("decisions", "--store", sample_store, "--json")
    assert listed.code == 0
    entries = json.loads(listed.out)["decisions"]
    assert [(e["source_run_id"], e["state"]) for e in entries] == [("run_003", "ok")]


def test_decide_refuses_then_records_override(
    run_cli, sample_store: Path, key: Path, tmp_path: Path
) -> None:
    out = tmp_path / "o"
    refused = _decide(run_cli, sample_store, key, out, "run_002", *EXAMPLE)
    assert refused.code == 1
    assert (
        "refused: run_002 is REJECT_UNNECESSARY_ABSTENTION: fails unnecessary_abstention == 0"
        in refused.err
    )
    assert "pass --override REASON to decide anyway" in refused.err
    assert not out.exists() or not any(out.iterdir())
    incomparable = _decide(run_cli, sample_store, key, out, "run_005", *EXAMPLE)
    assert (
        incomparable.code == 1
        and "not comparable with the baseline: evaluator_version" in incomparable.err
    )

    done = _decide(
        run_cli,
        sample_store,
        key,
        out,
        "run_005",
        *EXAMPLE,
        "--override",
        "evaluator v3 is the fix",
        "--json",
    )
    assert done.code == 0, done.err
    doc = json.loads(Path(json.loads(done.out)["decision"]).read_bytes())
    assert doc["override"] == "evaluator v3 is the fix"
    assert doc["refusals"][0]["kind"] == "incomparable"
    assert doc["comparable"] is False


def test_several_eligible_runs_record_the_others(
    run_cli, sample_store: Path, key: Path, tmp_path: Path
) -> None:
    done = _decide(
        run_cli,
        sample_store,
        key,
        tmp_path / "o",
        "sr-v3.5-rc3-s2",
        "--rollback",
        "support-router-v3.4",
        "--limitation",
        "seeded canary only",
    )
    assert done.code == 0, done.err
    assert "also eligible, recorded as considered: sr-v3.5-rc3-s1, sr-v3.5-rc3-s3" in done.out


def test_never_overwrites(run_cli, sample_store: Path, key: Path, tmp_path: Path) -> None:
    out = tmp_path / "o"
    first = _decide(run_cli, sample_store, key, out, "run_003", *EXAMPLE, "--name", "release-42")
    assert first.code == 0, first.err
    before = (out / "release-42.decision.json").read_bytes()
    second = _decide(run_cli, sample_store, key, out, "run_003", *EXAMPLE, "--name", "release-42")
    assert second.code == 2
    assert (
        "release-42.decision.json: already exists; decision files are never overwritten"
        in second.err
    )
    assert (out / "release-42.decision.json").read_bytes() == before
    assert len(second.err.strip().splitlines()) == 1


def test_passphrase_handling(run_cli, sample_store: Path, tmp_path: Path, monkeypatch) -> None:
    key = make_key(tmp_path, "locked", passphrase="open sesame")
    out = tmp_path / "o"
    asked = _decide(run_cli, sample_store, key, out, "run_003", *EXAMPLE)
    assert asked.code == 2
    assert asked.err.strip().splitlines() == [
        f"evaltui: {key}: this key is protected by a passphrase: pass --passphrase-file FILE, "
        "set EVALTUI_KEY_PASSPHRASE, add the key to ssh-agent (ssh-add), or run in a terminal "
        "to be asked"
    ]
    wrong = tmp_path / "wrong"
    wrong.write_text("abracadabra\n")
    bad = _decide(run_cli, sample_store, key, out, "run_003", *EXAMPLE, "--passphrase-file", wrong)
    assert (bad.code, bad.err) == (2, f"evaltui: {key}: wrong passphrase for this key\n")
    right = tmp_path / "right"
    right.write_text("open sesame\n")
    assert (
        _decide(
            run_cli, sample_store, key, out, "run_003", *EXAMPLE, "--passphrase-file", right
        ).code
        == 0
    )
    monkeypatch.setenv("EVALTUI_KEY_PASSPHRASE", "open sesame")
    assert _decide(run_cli, sample_store, key, out, "run_003", *EXAMPLE).code == 0
    assert len(list(out.glob("*.decision.json"))) == 2


def test_key_problems_are_one_line(run_cli, sample_store: Path, key: Path, tmp_path: Path) -> None:
    missing = _decide(
        run_cli, sample_store, tmp_path / "nokey", tmp_path / "o", "run_003", *EXAMPLE
    )
    assert (missing.code, missing.err) == (
        2,
        f"evaltui: {tmp_path / 'nokey'}: key file not found\n",
    )
    key.chmod(0o644)
    loose = _decide(run_cli, sample_store, key, tmp_path / "o", "run_003", *EXAMPLE)
    assert loose.code == 2
    assert loose.err.startswith(f"evaltui: {key}: permissions 0644 are too open")
    assert len(loose.err.strip().splitlines()) == 1


def test_reviewer_needed_when_the_key_has_no_comment(
    run_cli, sample_store: Path, tmp_path: Path
) -> None:
    key = make_key(tmp_path, "anon", comment="")
    done = _decide(run_cli, sample_store, key, tmp_path / "o", "run_003", *EXAMPLE)
    assert done.code == 2 and "--reviewer is required" in done.err
    named = _decide(
        run_cli, sample_store, key, tmp_path / "o", "run_003", *EXAMPLE, "--reviewer", "carol"
    )
    assert named.code == 0, named.err
    assert "signed as carol" in named.out


def test_verify_rejects_with_reason_and_usage(
    run_cli, sample_store: Path, key: Path, allowed: Path, tmp_path: Path
) -> None:
    done = _decide(run_cli, sample_store, key, tmp_path / "o", "run_003", *EXAMPLE, "--name", "d")
    assert done.code == 0
    decision = tmp_path / "o" / "d.decision.json"
    data = decision.read_bytes()
    decision.write_bytes(data.replace(b'ci-answerer-v1"', b'ci-answerer-v0"', 1))
    rejected = run_cli("verify", decision, "--allowed-signers", allowed, "--json")
    assert rejected.code == 1
    assert json.loads(rejected.out)["valid"] is False
    assert "rejected: signature does not match the decision file's bytes" in rejected.err
    usage = run_cli("verify", decision)
    assert usage.code == 2 and "--allowed-signers" in usage.err
    gone = run_cli("verify", tmp_path / "missing.decision.json", "--allowed-signers", allowed)
    assert gone.code == 2


def test_canary_check_needs_every_monitored_metric(
    run_cli, sample_store: Path, key: Path, allowed: Path, tmp_path: Path
) -> None:
    done = _decide(
        run_cli,
        sample_store,
        key,
        tmp_path / "o",
        "run_003",
        *EXAMPLE,
        "--name",
        "d",
        "--invariant",
        "unsafe_claim_served == 0",
        "--invariant",
        "p99_latency_ms <= 800",
    )
    assert done.code == 0, done.err
    decision = tmp_path / "o" / "d.decision.json"
    partial = run_cli(
        "canary-check", decision, "--unverified", "--observed", "unsafe_claim_served=0"
    )
    assert partial.code == 2 and "p99_latency_ms" in partial.err and partial.out == ""
    assert "no observed value for 1 monitored metric (p99_latency_ms)" in partial.err
    # a broken observed value rolls back although another monitored metric is not given
    broken_only = run_cli(
        "canary-check",
        decision,
        "--allowed-signers",
        allowed,
        "--observed",
        "unsafe_claim_served=2",
    )
    assert (broken_only.code, broken_only.out) == (1, "ROLL_BACK_TO:ci-answerer-v1\n")
    # without --allowed-signers the rule is applied only when --unverified says so
    unchecked = run_cli("canary-check", decision, "--observed", "unsafe_claim_served=0")
    assert unchecked.code == 2 and "--unverified" in unchecked.err and unchecked.out == ""
    slow = run_cli(
        "canary-check",
        decision,
        "--observed",
        "unsafe_claim_served=0",
        "--observed",
        "p99_latency_ms=950",
        "--allowed-signers",
        allowed,
        "--json",
    )
    assert slow.code == 1
    assert json.loads(slow.out)["action"] == "ROLL_BACK_TO:ci-answerer-v1"
    bad = run_cli("canary-check", decision, "--unverified", "--observed", "unsafe_claim_served")
    assert bad.code == 2 and "METRIC=VALUE" in bad.err
    other = write_allowed_signers(tmp_path / "other", f"bob@example.com {public_line(key)}")
    untrusted = run_cli(
        "canary-check",
        decision,
        "--observed",
        "unsafe_claim_served=0",
        "--observed",
        "p99_latency_ms=1",
        "--allowed-signers",
        other,
    )
    assert untrusted.code == 2 and "not applying the stop rule" in untrusted.err


def test_passphrase_prompt_on_a_terminal(
    run_cli, sample_store: Path, tmp_path: Path, monkeypatch
) -> None:
    import sys

    from evaltui.cli import commands_decision

    key = make_key(tmp_path, "locked", passphrase="open sesame")
    prompts: list[str] = []

    def answer(text: str, **options: object) -> str:
        prompts.append(text)
        assert options.get("hide_input") is True
        return "open sesame"

    monkeypatch.setattr(sys.stdin, "isatty", lambda: True, raising=False)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    monkeypatch.setattr(commands_decision.click, "prompt", answer)
    done = _decide(run_cli, sample_store, key, tmp_path / "o", "run_003", *EXAMPLE)
    assert done.code == 0, done.err
    assert prompts == [f"passphrase for {key}"]


def test_damaged_key_file_is_one_line(run_cli, sample_store: Path, tmp_path: Path) -> None:
    key = make_key(tmp_path, "damaged")
    damage_public_key_header(key)
    done = _decide(run_cli, sample_store, key, tmp_path / "o", "run_003", *EXAMPLE)
    assert done.code == 2, done.err
    assert done.err.startswith(f"evaltui: {key}: not an SSH public key")
    assert len(done.err.strip().splitlines()) == 1


def test_canary_check_acts_on_the_verified_bytes(
    run_cli, sample_store: Path, key: Path, allowed: Path, tmp_path: Path, monkeypatch
) -> None:
    """A decision swapped after its signature was checked is not the one the rule is taken from."""
    from evaltui.decision import verify

    done = _decide(run_cli, sample_store, key, tmp_path / "o", "run_003", *EXAMPLE, "--name", "d")
    assert done.code == 0, done.err
    decision = tmp_path / "o" / "d.decision.json"
    checked = verify.verify_decision

    def verify_then_swap(*args, **kwargs):  # type: ignore[no-untyped-def]
        result = checked(*args, **kwargs)
        decision.write_bytes(decision.read_bytes().replace(b"ci-answerer-v1", b"ci-answerer-v9"))
        return result

    monkeypatch.setattr(verify, "verify_decision", verify_then_swap)
    stop = run_cli(
        "canary-check",
        decision,
        "--allowed-signers",
        allowed,
        "--observed",
        "unsafe_claim_served=1",
        "--observed",
        "unnecessary_abstention=0",
        "--allowed-signers",
        allowed,
    )
    assert b"ci-answerer-v9" in decision.read_bytes()  # the file was swapped after verifying
    assert (stop.code, stop.out) == (1, "ROLL_BACK_TO:ci-answerer-v1\n")
