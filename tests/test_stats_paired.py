"""Paired statistics through the real store: counts, transition matrix, Holm family, repeats,
warnings, and what `evaltui compare --json` carries."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pyarrow.compute as pc
import pytest
from scipy.stats import binomtest

from evaltui.review import paired as paired_module
from evaltui.review.paired import PairedCounts, PairedSettings, paired_statistics
from evaltui.review.report import review_runs
from evaltui.review.stats import holm_adjust
from evaltui.review.transitions import transition_matrices, transition_matrix
from evaltui.store.connection import Store
from evaltui.store.queries import get_run
from evaltui.store.queries_cases import fetch_cases
from tests._stats_data import load, routes, write_run, write_suite

# expected: c1 SERVE, c2 SERVE, c3 ABSTAIN, c4 ESCALATE, c5 ESCALATE, c6 ABSTAIN, c7 SERVE,
# c8 ABSTAIN
BASELINE = routes("SERVE", "ABSTAIN", "SERVE", "ESCALATE", "ABSTAIN", "ABSTAIN", "SERVE", "SERVE")
CANDIDATE = routes(
    "SERVE", "SERVE", "ABSTAIN", "ABSTAIN", "ESCALATE", "ABSTAIN", "ABSTAIN", "SERVE"
)


@pytest.fixture
def hand_store(tmp_path: Path) -> Path:
    folder = tmp_path / "hand"
    folder.mkdir()
    write_suite(folder)
    write_run(folder, "base", BASELINE, day=1)
    write_run(folder, "cand", CANDIDATE, day=2)
    partial = {k: v for k, v in CANDIDATE.items() if k in ("c1", "c2", "c3", "c4", "c5", "c6")}
    write_run(folder, "partial", partial, day=3)
    write_run(folder, "other-policy", CANDIDATE, day=4, params={"policy_id": "p2"})
    return load(folder, tmp_path / "hand.duckdb")


def test_transition_matrix_of_hand_made_routes(hand_store: Path) -> None:
    with Store.open(hand_store, read_only=True) as store:
        matrix = transition_matrix(store.con, "base", "cand")
    # worked out by hand from BASELINE and CANDIDATE above
    assert matrix.labels == ("ABSTAIN", "ESCALATE", "SERVE")
    assert matrix.counts == ((1, 1, 1), (1, 0, 0), (2, 0, 2))
    assert (matrix.total, matrix.changed) == (8, 5)
    assert matrix.count("SERVE", "ABSTAIN") == 2
    assert matrix.count("SERVE", "NOT-A-ROUTE") == 0
    cells = {
        (c.baseline_route, c.candidate_route): (c.count, c.fixed, c.broken) for c in matrix.cells
    }
    assert cells[("SERVE", "ABSTAIN")] == (2, 1, 1)  # c3 fixed, c7 broken
    assert cells[("ESCALATE", "ABSTAIN")] == (1, 0, 1)  # c4 broken
    assert cells[("ABSTAIN", "ESCALATE")] == (1, 1, 0)  # c5 fixed
    assert cells[("SERVE", "SERVE")] == (2, 0, 0)  # c1 right, c8 wrong: unchanged


def test_transition_matrix_agrees_with_counting_the_pairs(hand_store: Path) -> None:
    with Store.open(hand_store, read_only=True) as store:
        matrices = transition_matrices(store.con, "base", ["cand", "partial"])
    for run_id, matrix in matrices.items():
        source = CANDIDATE if run_id == "cand" else {k: CANDIDATE[k] for k in list(CANDIDATE)[:6]}
        counted = Counter((BASELINE[case], route) for case, route in source.items())
        assert {(a, b): matrix.count(a, b) for a, b in counted} == dict(counted)
        assert matrix.total == len(source)
    assert json.loads(json.dumps(matrices["cand"].to_json()))["counts"] == [
        [1, 1, 1],
        [1, 0, 0],
        [2, 0, 2],
    ]


def test_paired_counts_and_statistics_of_hand_made_routes(hand_store: Path) -> None:
    with Store.open(hand_store, read_only=True) as store:
        stats = review_runs(store.con, "base", ["cand"]).get("cand").paired
    assert stats is not None and stats.family_size == 1  # a family of one: unadjusted
    assert (stats.n, stats.fixed, stats.broken, stats.both_right, stats.both_wrong) == (
        8,
        3,
        2,
        2,
        1,
    )
    assert stats.delta == pytest.approx((3 - 2) / 8)
    assert stats.mcnemar_p == pytest.approx(binomtest(2, 5, 0.5).pvalue)
    assert stats.baseline_rate.successes == 4 and stats.candidate_rate.successes == 5
    codes = {w.code for w in stats.warnings}
    assert {"few_discordant", "ci_includes_zero", "suite_too_small"} <= codes
    few = next(w for w in stats.warnings if w.code == "few_discordant")
    assert "impossible" in few.message  # 5 discordant cases can never reach p < 0.05


def test_review_forms_the_holm_family_from_comparable_runs_only(hand_store: Path) -> None:
    with Store.open(hand_store, read_only=True) as store:
        review = review_runs(store.con, "base")
    assert review.family == ("cand", "partial")
    outside = review.get("other-policy")
    assert not outside.comparable
    assert outside.paired is not None and outside.paired.holm_p is None
    assert outside.paired.verdict == "not ranked"
    inside = [review.get(r).paired for r in review.family]
    adjusted = holm_adjust([p.mcnemar_p for p in inside if p is not None])
    assert [p.holm_p for p in inside if p is not None] == pytest.approx(adjusted)
    assert "Holm" in review.adjustment_note and "2 comparable" in review.adjustment_note


def test_paired_counts_match_the_per_case_outcomes(sample_con) -> None:
    review = review_runs(sample_con, "sr-prod-v3.4")
    base = get_run(sample_con, "sr-prod-v3.4")
    for r in review.runs:
        if r.paired is None:
            continue
        table = fetch_cases(sample_con, r.run, base)
        outcomes = Counter(table.column("outcome").to_pylist())
        assert (r.paired.fixed, r.paired.broken) == (outcomes["fixed"], outcomes["broken"])
        assert (r.paired.both_right, r.paired.both_wrong) == (
            outcomes["both_right"],
            outcomes["both_wrong"],
        )
        both = pc.sum(
            pc.and_(pc.is_valid(table["route"]), pc.is_valid(table["baseline_route"]))
        ).as_py()
        assert r.paired.n == both
        assert r.paired.ci is not None and r.paired.ci.contains(r.paired.delta)


def test_wilson_intervals_cover_every_declared_rate(sample_con) -> None:
    review = review_runs(sample_con, "sr-prod-v3.4")
    for r in (review.baseline, *review.runs):
        assert set(r.intervals) == {
            "abstention_rate_on_answerable",
            "escalation_recall",
            "exact_route_rate",
        }
        for name, rate in r.intervals.items():
            assert rate.rate == pytest.approx(r.metrics_recomputed[name])
            assert rate.interval is not None and rate.interval.contains(rate.rate)


def test_seeds_are_grouped_and_incomparable_repeats_left_out(sample_con) -> None:
    review = review_runs(sample_con, "sr-prod-v3.4")
    (group,) = review.repeats
    assert group.run_ids == ("sr-v3.5-rc3-s1", "sr-v3.5-rc3-s2", "sr-v3.5-rc3-s3")
    assert set(group.left_out) == {"sr-v3.5-rc3-quick", "sr-v3.5-rc3-kb18"}
    rates = [review.get(r).metrics_recomputed["exact_route_rate"] for r in group.run_ids]
    exact = group.metrics["exact_route_rate"]
    mean = sum(rates) / 3
    sd = (sum((x - mean) ** 2 for x in rates) / 2) ** 0.5
    assert (exact.mean, exact.sd, exact.se) == pytest.approx((mean, sd, sd / 3**0.5))
    deltas = [review.get(r).paired.delta for r in group.run_ids]  # type: ignore[union-attr]
    assert group.delta is not None and group.delta.mean == pytest.approx(sum(deltas) / 3)


def test_status_varies_between_repeats_is_a_warning(tmp_path: Path) -> None:
    folder = tmp_path / "seeds"
    folder.mkdir()
    write_suite(folder)
    write_run(folder, "base", BASELINE, day=1)
    perfect = routes(
        "SERVE", "SERVE", "ABSTAIN", "ESCALATE", "ESCALATE", "ABSTAIN", "SERVE", "ABSTAIN"
    )
    write_run(folder, "s1", perfect, artifact="art", day=2)
    unsafe = {**perfect, "c3": "SERVE"}  # serves an ABSTAIN case: REJECT_UNSAFE_SERVE
    write_run(folder, "s2", unsafe, artifact="art", day=3)
    with Store.open(load(folder, tmp_path / "s.duckdb"), read_only=True) as store:
        review = review_runs(store.con, "base")
    (group,) = review.repeats
    assert group.statuses == {"s1": "ELIGIBLE_FOR_CANARY_REVIEW", "s2": "REJECT_UNSAFE_SERVE"}
    assert "status_varies" in {w.code for w in group.warnings}


def test_holm_turns_a_lucky_candidate_into_a_warning() -> None:
    counts = {
        "lucky": PairedCounts(500, 20, 8, 460, 12),  # p ~ 0.036 alone
        "a": PairedCounts(500, 10, 9, 470, 11),
        "b": PairedCounts(500, 9, 10, 470, 11),
    }
    stats = paired_statistics(counts, counts, PairedSettings(resamples=2_000))
    lucky = stats["lucky"]
    assert lucky.mcnemar_p < 0.05 <= (lucky.holm_p or 0)
    assert "significant_only_unadjusted" in {w.code for w in lucky.warnings}
    assert lucky.verdict == "no clear difference"
    alone = paired_statistics(
        {"lucky": counts["lucky"]}, ["lucky"], PairedSettings(resamples=2_000)
    )
    assert alone["lucky"].holm_p == alone["lucky"].mcnemar_p


def test_statistics_are_computed_once_when_built(monkeypatch: pytest.MonkeyPatch) -> None:
    """Reading p-values and verdicts runs no test again: screens read them on the UI thread."""
    counts = {"a": PairedCounts(500, 20, 8, 460, 12), "b": PairedCounts(500, 10, 9, 470, 11)}
    stats = paired_statistics(counts, counts, PairedSettings(resamples=200))

    def computed_again(*args: object) -> float:
        raise AssertionError("McNemar test computed again on reading a figure")

    monkeypatch.setattr(paired_module, "mcnemar_exact", computed_again)
    monkeypatch.setattr(paired_module, "paired_bootstrap_delta", computed_again)
    for s in stats.values():
        data = s.to_json()  # reads every figure
        assert (data["mcnemar_p"], data["verdict"]) == (s.mcnemar_p, s.verdict)


def test_no_paired_cases_is_said_plainly() -> None:
    stats = paired_statistics({"x": PairedCounts(0, 0, 0, 0, 0)}, ["x"])["x"]
    assert stats.ci is None and stats.verdict == "not paired"
    assert [w.code for w in stats.warnings] == ["no_paired_cases"]


def test_compare_names_the_confidence_level_it_used(hand_store: Path, run_cli) -> None:
    """A 97.5% interval is not called a 98% one (the CLI and the app share `figures_text`)."""
    result = run_cli("compare", "base", "--store", hand_store, "--confidence", "0.975")
    assert result.code == 0, result.err
    text = " ".join(result.out.split())
    assert "rates with 97.5% Wilson intervals" in text and "98%" not in text


def test_compare_json_carries_paired_statistics(sample_store: Path, run_cli) -> None:
    result = run_cli(
        "compare", "sr-prod-v3.4", "--store", sample_store, "--json", "--resamples", "2000"
    )
    assert result.code == 0, result.err
    data = json.loads(result.out)
    assert data["statistics"]["multiple_comparisons"]["method"] == "holm"
    assert data["statistics"]["resamples"] == 2000
    for run in data["runs"]:
        paired = run["paired"]
        assert {"fixed", "broken", "mcnemar_p", "delta", "ci", "holm_p", "warnings"} <= set(paired)
        low, high = paired["ci"]
        assert low <= paired["delta"] <= high
    assert data["repeats"][0]["artifact"] == "support-router-v3.5-rc3"
    again = json.loads(
        run_cli(
            "compare", "sr-prod-v3.4", "--store", sample_store, "--json", "--resamples", "2000"
        ).out
    )
    assert [r["paired"]["ci"] for r in again["runs"]] == [r["paired"]["ci"] for r in data["runs"]]


def test_compare_human_output_says_how_p_values_were_adjusted(sample_store: Path, run_cli) -> None:
    result = run_cli("compare", "sr-prod-v3.4", "--store", sample_store, "--transitions")
    assert result.code == 0, result.err
    assert "adjusted for 6 comparable candidates (Holm)" in result.out
    assert "Wilson" in result.out and "suite_too_small" in result.out
    assert "baseline (rows) x sr-v3.5-rc1" in result.out


def test_compare_transitions_json(hand_store: Path, run_cli) -> None:
    result = run_cli("compare", "base", "cand", "--store", hand_store, "--json", "--transitions")
    data = json.loads(result.out)
    assert data["runs"][0]["transitions"]["counts"] == [[1, 1, 1], [1, 0, 0], [2, 0, 2]]
