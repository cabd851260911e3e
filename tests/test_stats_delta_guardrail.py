"""A guardrail on the paired difference, judged on the interval's bound, through the real store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests._stats_data import load, routes, write_run

N = 400


def _suite(folder: Path, guardrail: str) -> None:
    cases = [
        {"case_id": f"q{i:04d}", "expected_route": "SERVE" if i % 2 else "ABSTAIN"}
        for i in range(N)
    ]
    doc = {
        "kind": "evaltui.suite",
        "version": 1,
        "suite_id": "hand-made",
        "splits": {"main": cases},
        "metrics": [{"name": "exact_route_rate", "rate": {"correct": True}}],
        "guardrails": [{"require": guardrail, "status": "REJECT_REGRESSION"}],
        "comparison_fields": ["policy_id"],
    }
    (folder / "hand.suite.json").write_text(json.dumps(doc), encoding="utf-8")


def _routes(wrong: set[int]) -> dict[str, str]:
    out = {}
    for i in range(N):
        right = "SERVE" if i % 2 else "ABSTAIN"
        out[f"q{i:04d}"] = ("ABSTAIN" if right == "SERVE" else "SERVE") if i in wrong else right
    return out


def test_delta_guardrail_uses_the_lower_bound(run_cli, tmp_path: Path) -> None:
    folder = tmp_path / "d"
    folder.mkdir()
    _suite(folder, "delta(exact_route_rate) >= -0.02")
    write_run(folder, "base", _routes(set(range(0, 40))), day=1)  # 90%
    write_run(folder, "same", _routes(set(range(1, 41))), day=2)  # 90%, 2 discordant
    write_run(folder, "worse", _routes(set(range(0, 60))), day=3)  # 85%
    # a point estimate of -0.005, but too few cases to show it is not 2 points worse
    write_run(folder, "close", _routes(set(range(20, 40)) | set(range(100, 122))), day=4)
    store = load(folder, tmp_path / "s.duckdb")
    data = json.loads(run_cli("compare", "base", "--store", store, "--json").out)
    assert data["baseline"]["status"] == "ELIGIBLE_FOR_CANARY_REVIEW"
    by_run = {r["run_id"]: r for r in data["runs"]}
    for run_id, status in (
        ("same", "ELIGIBLE_FOR_CANARY_REVIEW"),
        ("worse", "REJECT_REGRESSION"),
        ("close", "REJECT_REGRESSION"),
    ):
        r = by_run[run_id]
        assert r["status"] == status, run_id
        guard = r["guardrails"][0]
        # the lower end of the decision interval (the more cautious of bootstrap and Newcombe)
        assert guard["observed"] == pytest.approx(r["paired"]["decision_ci"][0])
        assert guard["observed"] <= r["paired"]["ci"][0]
    assert by_run["close"]["paired"]["delta"] > -0.02  # the point estimate alone would pass


@pytest.mark.parametrize(
    ("guardrail", "message"),
    [
        ("delta(unsafe) >= -0.02", "delta(exact_route_rate)"),
        ("delta(exact_route_rate) == 0", "takes >=, >, <= or <"),
    ],
)
def test_bad_delta_guardrails(run_cli, tmp_path: Path, guardrail: str, message: str) -> None:
    folder = tmp_path / "d"
    folder.mkdir()
    _suite(folder, guardrail)
    write_run(folder, "base", routes(), day=1)
    out = run_cli("load", folder, "--store", tmp_path / "s.duckdb")
    assert out.code == 2 and message in out.err
