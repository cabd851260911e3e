"""`evaltui flips`: cases whose outcome changed against the baseline across runs, with history."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests._stats_data import load, routes, write_run, write_suite

# expected: c1 SERVE, c2 SERVE, c3 ABSTAIN, c4 ESCALATE, c5 ESCALATE, c6 ABSTAIN, c7 SERVE, c8 ABSTAIN
EXPECTED = ("SERVE", "SERVE", "ABSTAIN", "ESCALATE", "ESCALATE", "ABSTAIN", "SERVE", "ABSTAIN")


def _with(changes: dict[int, str]) -> dict[str, str]:
    labels = list(EXPECTED)
    for index, label in changes.items():
        labels[index - 1] = label
    return routes(*labels)


@pytest.fixture
def flip_store(tmp_path: Path) -> Path:
    folder = tmp_path / "f"
    folder.mkdir()
    write_suite(folder)
    write_run(folder, "base", _with({2: "ABSTAIN"}), day=1)  # c2 wrong
    write_run(folder, "s1", _with({}), artifact="cand", day=2)  # fixes c2
    write_run(folder, "s2", _with({2: "ABSTAIN", 5: "SERVE"}), artifact="cand", day=3)
    partial = {k: v for k, v in _with({5: "SERVE"}).items() if k != "c8"}
    write_run(folder, "s3", partial, artifact="cand", day=4)  # fixes c2, breaks c5, c8 missing
    return load(folder, tmp_path / "s.duckdb")


def test_flips_lists_changed_cases_with_history(run_cli, flip_store: Path) -> None:
    out = run_cli("flips", "base", "s1", "s2", "s3", "--store", flip_store, "--json")
    assert out.code == 0, out.err
    data = json.loads(out.out)
    assert data["runs"] == ["s1", "s2", "s3"] and data["cases"] == 8
    by_case = {f["case_id"]: f for f in data["flips"]}
    assert set(by_case) == {"c2", "c5"}
    assert by_case["c2"] == {
        "case_id": "c2", "baseline": "W", "history": "RWR",
        "fixed": 2, "broken": 0, "flaky": True,
    }  # fmt: skip
    assert by_case["c5"]["history"] == "RWW" and by_case["c5"]["broken"] == 2
    assert data["flaky"] == 2
    # pass^2 over the runs: c2 has 2 of 3 right (C(2,2)/C(3,2) = 1/3), c5 1 of 3 (0), c8 2 of 2
    # (s3 has no result), the other five 3 of 3
    assert data["repeats"]["pass_hat_k"]["2"] == pytest.approx((1 / 3 + 0 + 6 * 1) / 8)
    text = run_cli("flips", "base", "--store", flip_store)
    assert text.code == 0 and "2 of 8 cases changed outcome" in text.out
    assert "RWR" in text.out


def test_flips_refuses_a_run_on_another_suite(run_cli, flip_store: Path, tmp_path: Path) -> None:
    missing = run_cli("flips", "base", "nope", "--store", flip_store)
    assert missing.code == 2 and "nope" in missing.err


def test_flip_view_in_the_app(sample_store: Path) -> None:
    from tests.tui_helpers import drive, screen_text, settle

    seen: list[str] = []

    async def flow(app, pilot) -> None:  # type: ignore[no-untyped-def]
        await pilot.press("j")  # the first candidate: three seeds of one artifact
        await settle(pilot)
        await pilot.press("F")
        await settle(pilot)
        seen.append(screen_text(app))

    drive(sample_store, flow, size=(80, 24))
    text = seen[0]
    assert "flips" in text and "(baseline)" in text
    assert "changed over 3 runs" in text and "pass^1" in text
    assert "history" in text and "flaky" in text


def test_compare_reports_flakiness_of_repeats(run_cli, flip_store: Path) -> None:
    data = json.loads(run_cli("compare", "base", "--store", flip_store, "--json").out)
    (group,) = [g for g in data["repeats"] if g["artifact"] == "cand"]
    flaky = group["flakiness"]
    assert flaky["runs"] == ["s1", "s2", "s3"] and flaky["flaky_cases"] == 2
    assert flaky["changed_vs_baseline"] == 2
    # pass^3: c2 (2 of 3) and c5 (1 of 3) give 0, five cases 1; c8 has 2 attempts: left out
    assert flaky["pass_hat_k"]["3"] == pytest.approx(5 / 7)
    text = run_cli("compare", "base", "--store", flip_store).out
    assert "2 flaky cases" in text
