"""`canary-check --stream` end to end: a decision signed with a real key on the sample runs, and
JSONL streams of canary outcomes: promote, roll back on evidence, roll back at once on a hard
invariant, keep monitoring, and refuse bad lines naming the line."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tests.decision_support import make_key, public_line, write_allowed_signers

ROLLBACK = "ci-answerer-v1"


@pytest.fixture(autouse=True)
def _no_agent(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SSH_AUTH_SOCK", "EVALTUI_ALLOWED_SIGNERS", "EVALTUI_SIGNING_KEY"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def signed(run_cli, sample_store: Path, tmp_path: Path) -> tuple[Path, Path, dict]:
    key = make_key(tmp_path, "alice")
    allowed = write_allowed_signers(tmp_path / "allowed", f"alice@example.com {public_line(key)}")
    done = run_cli(
        "decide", "run_003", "--rollback", ROLLBACK, "--rollback-external", "--limitation", "offline only",
        "--store", sample_store, "--key", key, "--out", tmp_path, "--name", "d",
    )  # fmt: skip
    assert done.code == 0, done.err
    decision = tmp_path / "d.decision.json"
    return decision, allowed, json.loads(decision.read_text())


def _write(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def _requests(rate: float, n: int, seed: int, arm: str = "canary") -> list[dict]:
    values = np.random.default_rng(seed).random(n) < rate
    return [{"arm": arm, "metric": "exact_route_rate", "value": int(v)} for v in values]


def test_the_signed_stop_rule_records_the_sequential_test(signed) -> None:
    _decision, _allowed, doc = signed
    seq = doc["canary_stop_rule"]["sequential"]
    assert {"method", "level", "margin", "max_samples", "metrics"} <= set(seq)
    assert "mSPRT" in seq["method"] and seq["level"] == 0.05 and seq["margin"] == 0.02
    rate = seq["metrics"]["exact_route_rate"]
    assert 0 < rate["baseline_rate"] <= 1 and rate["higher_is_better"] is True
    assert doc["canary_stop_rule"]["on_violation"] == f"ROLL_BACK_TO:{ROLLBACK}"


def test_stream_verdicts(run_cli, signed, tmp_path: Path) -> None:
    decision, allowed, doc = signed
    base = doc["canary_stop_rule"]["sequential"]["metrics"]["exact_route_rate"]["baseline_rate"]
    check = ("canary-check", decision, "--allowed-signers", allowed, "--stream")

    sound = _write(tmp_path / "sound.jsonl", _requests(min(base, 0.99), 6_000, 1))
    out = run_cli(*check, sound, "--json")
    assert out.code == 0, out.err
    data = json.loads(out.out)
    assert data["action"] == "PROMOTE_CANARY" and data["verified"] is True
    trajectory = data["rates"]["exact_route_rate"]["trajectory"]
    assert 2 < len(trajectory) < 200 and trajectory[-1]["decision"] == 2

    worse = _write(tmp_path / "worse.jsonl", _requests(base - 0.15, 6_000, 2))
    back = run_cli(*check, worse)
    assert back.code == 1 and back.out.startswith(f"ROLL_BACK_TO:{ROLLBACK}\n")
    assert "shown worse than the baseline rate" in back.err

    # control lines present: the canary is judged against the control arm, in windows
    windows = [
        {"arm": arm, "metric": "exact_route_rate", "successes": k, "n": 100}
        for _ in range(40)
        for arm, k in (("canary", 70), ("control", 95))
    ]
    against = run_cli(*check, _write(tmp_path / "ctl.jsonl", windows), "--json")
    assert against.code == 1
    assert json.loads(against.out)["rates"]["exact_route_rate"]["reference"] == "control arm"

    # a hard invariant rolls back at its first event, whatever the rates say
    unsafe = _requests(min(base, 0.99), 30, 3)
    unsafe.insert(7, {"arm": "canary", "metric": "unsafe_claim_served", "value": 1})
    hard = run_cli(*check, _write(tmp_path / "unsafe.jsonl", unsafe), "--json")
    assert hard.code == 1
    assert json.loads(hard.out)["decided_at_line"] == 8
    assert "unsafe.jsonl:8: unsafe_claim_served == 0 broken: 1 event in the canary" in hard.err

    few = run_cli(*check, _write(tmp_path / "few.jsonl", _requests(base, 10, 4)))
    assert few.code == 0 and few.out.startswith("CONTINUE_CANARY_MONITORING\n")


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("not json", "not a JSON object"),
        ('{"arm": "canary", "metric": "latency", "value": 1}', "unknown metric 'latency'"),
        ('{"arm": "canary", "metric": "exact_route_rate", "successes": -1, "n": 4}', "negative"),
        ('{"arm": "canary", "metric": "exact_route_rate", "successes": 5, "n": 4}', "exceeds"),
        ('{"arm": "canary", "metric": "exact_route_rate", "value": 2}', "0 or 1"),
        ('{"arm": "shadow", "metric": "exact_route_rate", "value": 1}', "'arm'"),
        ('{"arm": "canary", "metric": "exact_route_rate", "value": 1, "x": "' + "a" * 5000 + '"}', "longer than"),
    ],
)  # fmt: skip
def test_bad_stream_lines(run_cli, signed, tmp_path: Path, line: str, message: str) -> None:
    decision, allowed, _doc = signed
    good = json.dumps({"arm": "canary", "metric": "exact_route_rate", "value": 1})
    stream = tmp_path / "bad.jsonl"
    stream.write_text(f"{good}\n\n{line}\n{good}\n", encoding="utf-8")
    out = run_cli("canary-check", decision, "--allowed-signers", allowed, "--stream", stream)
    assert out.code == 2 and out.out == ""
    lines = out.err.strip().splitlines()
    assert len(lines) == 1 and "bad.jsonl:3: " in lines[0] and message in lines[0], out.err
    assert "Traceback" not in out.err


def test_stream_needs_a_verified_decision_or_unverified(run_cli, signed, tmp_path: Path) -> None:
    decision, _allowed, _doc = signed
    stream = _write(tmp_path / "s.jsonl", _requests(0.9, 5, 5))
    refused = run_cli("canary-check", decision, "--stream", stream)
    assert refused.code == 2 and "--unverified" in refused.err
    unchecked = run_cli("canary-check", decision, "--unverified", "--stream", stream)
    assert unchecked.code == 0 and "signature not checked" in unchecked.err
    both = run_cli(
        "canary-check", decision, "--unverified", "--stream", stream, "--observed", "a=1"
    )
    assert both.code == 2


def test_only_upper_limits_on_a_count_break_mid_stream() -> None:
    import numpy as np

    from evaltui.contract.model import Guardrail
    from evaltui.decision.canary_stream import _holds

    counts = np.array([0.0, 1.0, 2.0, 3.0])
    cases = {
        "== 2": [True, True, True, False],
        "<= 1": [True, True, False, False],
        "< 2": [True, True, False, False],
        ">= 3": [True, True, True, True],  # a lower limit cannot be judged before the end
        "!= 1": [True, True, True, True],
    }
    for text, expected in cases.items():
        op, value = text.split()
        assert _holds(Guardrail("m", op, float(value), ""), counts).tolist() == expected, text


def test_a_perfect_baseline_is_not_a_rate_of_exactly_one() -> None:
    from evaltui.decision.canary_stream import reference_rate

    assert reference_rate(1.0, 50) == pytest.approx(0.99)
    assert reference_rate(0.0, 50) == pytest.approx(0.01)
    assert reference_rate(0.9, 50) == 0.9
