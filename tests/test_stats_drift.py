"""Drift: PSI and JS against the seed's example and scipy, the binning rule on real and hand-made
runs (constant and all-null columns included), per-slice figures, and the CLI."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from scipy.spatial.distance import jensenshannon
from scipy.stats import entropy

from evaltui.bars import bar, span_bar
from evaltui.errors import InputError, NotFoundError
from evaltui.review.drift import (
    EPSILON,
    THRESHOLDS,
    drift,
    drift_columns,
    js_divergence,
    noise_floor,
    psi,
    psi_reading,
)
from evaltui.store.connection import Store
from tests._stats_data import CASES, load, routes, write_run, write_suite

SEED_REF = [0.20, 0.30, 0.25, 0.25]
SEED_CUR = [0.10, 0.25, 0.30, 0.35]


def _seed_psi(ref: list[float], cur: list[float], eps: float = 1e-8) -> float:
    """Seed 001's formula, written out independently of evaltui."""
    r = np.asarray(ref, dtype=float) + eps
    c = np.asarray(cur, dtype=float) + eps
    r, c = r / r.sum(), c / c.sum()
    return float(np.sum((c - r) * np.log(c / r)))


def test_psi_of_the_seed_example() -> None:
    value = psi(SEED_REF, SEED_CUR)
    assert value == pytest.approx(_seed_psi(SEED_REF, SEED_CUR), rel=1e-12)
    # PSI is the symmetric KL divergence: KL(cur || ref) + KL(ref || cur)
    assert value == pytest.approx(
        entropy(SEED_CUR, SEED_REF) + entropy(SEED_REF, SEED_CUR), rel=1e-6
    )
    # by hand: -0.10 ln 0.5 - 0.05 ln(0.25/0.30) + 0.05 ln(0.30/0.25) + 0.10 ln 1.4
    by_hand = 0.10 * np.log(2) + 0.05 * np.log(1.2) + 0.05 * np.log(1.2) + 0.10 * np.log(1.4)
    assert value == pytest.approx(by_hand, abs=1e-7)
    assert round(value, 4) == 0.1212
    assert psi_reading(value) == "moderate"


def test_js_matches_scipy_in_nats() -> None:
    assert js_divergence(SEED_REF, SEED_CUR) == pytest.approx(
        jensenshannon(SEED_REF, SEED_CUR) ** 2, rel=1e-6
    )
    rng = np.random.default_rng(4)
    for _ in range(20):
        p, q = rng.dirichlet(np.ones(6)), rng.dirichlet(np.ones(6))
        assert js_divergence(p, q) == pytest.approx(jensenshannon(p, q) ** 2, rel=1e-6)
        assert 0 <= js_divergence(p, q) <= np.log(2)


def test_identical_distributions_give_zero_and_counts_equal_shares() -> None:
    assert psi(SEED_REF, SEED_REF) == 0.0
    assert js_divergence([3, 0, 5], [3, 0, 5]) == 0.0
    assert psi([20, 30, 25, 25], [10, 25, 30, 35]) == pytest.approx(psi(SEED_REF, SEED_CUR))
    with pytest.raises(ValueError):
        psi([0, 0], [1, 1])


def test_psi_reading_thresholds() -> None:
    assert [psi_reading(v) for v in (0.0, 0.0999, 0.1, 0.25, 0.2501)] == [
        "stable",
        "stable",
        "moderate",
        "moderate",
        "major",
    ]
    assert psi_reading(None) == "no data"


def test_noise_floor_matches_simulated_psi_of_unchanged_samples() -> None:
    rng = np.random.default_rng(11)
    shares = np.array([0.4, 0.3, 0.2, 0.1])
    values = [psi(rng.multinomial(500, shares), rng.multinomial(500, shares)) for _ in range(2000)]
    assert np.mean(values) == pytest.approx(noise_floor(4, 500, 500), rel=0.1)


@pytest.mark.parametrize(
    "column", ["route", "latency_ms", "tokens", "score", "locale", "metadata.retrieved_docs"]
)
def test_a_run_against_itself_has_no_drift(sample_con, column: str) -> None:
    result = drift(sample_con, "sr-v3.5-rc1", "sr-v3.5-rc1", column)
    assert result.psi == 0.0 and result.js == 0.0
    assert all(s.psi == 0.0 for s in result.per_slice)
    assert sum(b.reference_count for b in result.bins) == 520


def _raw(con, run_id: str, column: str) -> list[tuple[str, object]]:
    return con.execute(
        f"SELECT c.slice_name, r.{column} FROM results r JOIN cases c "
        "ON c.suite_id = 'support-router-2026.11' AND c.case_id = r.case_id WHERE r.run_id = ?",
        [run_id],
    ).fetchall()


def test_categorical_shares_and_per_slice_psi_match_independent_counts(sample_con) -> None:
    result = drift(sample_con, "sr-prod-v3.4", "sr-v3.5-rc2", "route")
    ref, cur = _raw(sample_con, "sr-prod-v3.4", "route"), _raw(sample_con, "sr-v3.5-rc2", "route")
    labels = [b.label for b in result.bins]
    ref_counts, cur_counts = Counter(r for _, r in ref), Counter(r for _, r in cur)
    assert [b.reference_count for b in result.bins] == [ref_counts[label] for label in labels]
    assert [b.current_count for b in result.bins] == [cur_counts[label] for label in labels]
    assert result.psi == pytest.approx(
        _seed_psi([ref_counts[x] / 520 for x in labels], [cur_counts[x] / 520 for x in labels])
    )
    for entry in result.per_slice:
        r = Counter(route for s, route in ref if s == entry.name)
        c = Counter(route for s, route in cur if s == entry.name)
        r_share = [r[x] / sum(r.values()) for x in labels]
        c_share = [c[x] / sum(c.values()) for x in labels]
        assert entry.psi == pytest.approx(_seed_psi(r_share, c_share))
        assert entry.js == pytest.approx(jensenshannon(r_share, c_share) ** 2, abs=1e-6)
    assert {s.name for s in result.per_slice} == {s for s, _ in ref}


def test_numeric_bins_come_from_reference_deciles(sample_con) -> None:
    result = drift(sample_con, "sr-prod-v3.4", "sr-v3.5-rc2", "latency_ms")
    ref = np.array([v for _, v in _raw(sample_con, "sr-prod-v3.4", "latency_ms")])
    cur = np.array([v for _, v in _raw(sample_con, "sr-v3.5-rc2", "latency_ms")])
    cuts = np.array(result.cut_points)
    assert len(cuts) == 9 and np.all(np.diff(cuts) > 0) and set(cuts) <= set(ref)
    # right-closed bins (c_{i-1}, c_i]: searchsorted(side="left") gives the bin index
    expected_ref = np.bincount(np.searchsorted(cuts, ref, side="left"), minlength=10)
    expected_cur = np.bincount(np.searchsorted(cuts, cur, side="left"), minlength=10)
    assert [b.reference_count for b in result.bins] == expected_ref.tolist()
    assert [b.current_count for b in result.bins] == expected_cur.tolist()
    assert all(b.reference_share == pytest.approx(0.1) for b in result.bins)  # 520 distinct values
    assert result.bins[0].label.startswith("<= ") and result.bins[-1].label.startswith("> ")
    assert result.reading == "major"  # the rc2 prompt is slower: latency moved up


def test_categories_beyond_the_cap_are_pooled(sample_con) -> None:
    result = drift(sample_con, "sr-prod-v3.4", "sr-v3.5-rc2", "output", max_categories=4)
    kinds = [b.kind for b in result.bins]
    assert kinds.count("value") == 4 and kinds[-1] == "other"
    assert sum(b.reference_count for b in result.bins) == 520
    assert "categories_capped" in {w.code for w in result.warnings}


def test_bars_in_eighths_of_a_cell() -> None:
    assert bar(0.0, 24) == "" and bar(1.0, 4) == "████" and bar(1.5, 4) == "████"
    assert bar(0.5, 3) == "█▌" and bar(1 / 32, 4) == "▏"
    # the trend's bars: the lowest value still shows, the highest fills the width
    assert span_bar(0.2, 0.2, 0.9, 8) == "▏" and span_bar(0.9, 0.2, 0.9, 8) == "█" * 8
    assert span_bar(0.5, 0.5, 0.5, 4) == "████"  # one value (or all equal): full
    assert span_bar(0.0, -1.0, 1.0, 2) == "█"  # a value of 0 is a value, not the lowest


@pytest.fixture
def edge_store(tmp_path: Path) -> Path:
    """Reference: score constant 0.5, no tokens; current: score 0.4/0.5/0.6, tokens present."""
    folder = tmp_path / "edge"
    folder.mkdir()
    write_suite(folder)
    ids = [c["case_id"] for c in CASES]
    same = routes(
        "SERVE", "SERVE", "ABSTAIN", "ESCALATE", "ESCALATE", "ABSTAIN", "SERVE", "ABSTAIN"
    )
    write_run(
        folder,
        "ref",
        same,
        day=1,
        extra={
            i: {"score": 0.5, "metadata": {"model": "m1", "docs": n}} for n, i in enumerate(ids)
        },
    )
    scores = [0.4, 0.4, 0.4, 0.5, 0.5, 0.5, 0.6, 0.6]
    write_run(
        folder,
        "cur",
        same,
        day=2,
        extra={
            i: {"score": s, "tokens": 100 + n, "metadata": {"model": "m2", "docs": n}}
            for n, (i, s) in enumerate(zip(ids, scores, strict=True))
        },
    )
    return load(folder, tmp_path / "edge.duckdb")


def test_constant_reference_column_gets_below_equal_above_bins(edge_store: Path) -> None:
    with Store.open(edge_store, read_only=True) as store:
        result = drift(store.con, "ref", "cur", "score")
    assert [b.label for b in result.bins] == ["< 0.5", "= 0.5", "> 0.5"]
    assert [b.reference_count for b in result.bins] == [0, 8, 0]
    assert [b.current_count for b in result.bins] == [3, 3, 2]
    assert result.psi == pytest.approx(_seed_psi([0, 1, 0], [3 / 8, 3 / 8, 2 / 8]))
    assert "constant_reference" in {w.code for w in result.warnings}


def test_all_null_columns_do_not_break_drift(edge_store: Path) -> None:
    with Store.open(edge_store, read_only=True) as store:
        nothing = drift(store.con, "ref", "cur", "latency_ms")  # null in both runs
        appears = drift(store.con, "ref", "cur", "tokens")  # null in the reference only
    assert nothing.psi == 0.0 and [b.label for b in nothing.bins] == ["(any value)", "(null)"]
    assert [(b.reference_count, b.current_count) for b in appears.bins] == [(0, 8), (8, 0)]
    assert appears.reading == "major"
    assert "no_reference_values" in {w.code for w in appears.warnings}


def test_a_slice_without_values_next_to_one_with_values(tmp_path: Path) -> None:
    folder = tmp_path / "half"
    folder.mkdir()
    write_suite(folder)
    same = routes(
        "SERVE", "SERVE", "ABSTAIN", "ESCALATE", "ESCALATE", "ABSTAIN", "SERVE", "ABSTAIN"
    )
    billing = {f"c{i}": {"latency_ms": 100.0 * i} for i in range(1, 5)}  # legal: no latency at all
    write_run(folder, "ref", same, day=1, extra=billing)
    write_run(folder, "cur", same, day=2, extra=billing)
    with Store.open(load(folder, tmp_path / "h.duckdb"), read_only=True) as store:
        result = drift(store.con, "ref", "cur", "latency_ms", bins=4)
    legal = result.slice("legal")
    assert [b.label for b in legal.bins if b.reference_count] == ["(null)"]
    assert legal.psi == 0.0 and result.psi == 0.0
    assert sum(b.reference_count for b in result.slice("billing").bins if b.kind == "range") == 4


def test_bins_empty_on_one_side_are_warned_about_in_both_directions(tmp_path: Path) -> None:
    folder = tmp_path / "one-sided"
    folder.mkdir()
    write_suite(folder)
    same = routes(*["SERVE"] * 8)
    ref_outputs = ["a", "a", "a", "a", "a", "b", "b", "b"]  # b: 3 values, gone from current
    cur_outputs = ["a", "a", "a", "a", "c", "c", "d", "d"]  # c, d: 4 values, new in current
    write_run(
        folder,
        "ref",
        same,
        day=1,
        extra={f"c{i}": {"output": o} for i, o in enumerate(ref_outputs, 1)},
    )
    write_run(
        folder,
        "cur",
        same,
        day=2,
        extra={f"c{i}": {"output": o} for i, o in enumerate(cur_outputs, 1)},
    )
    with Store.open(load(folder, tmp_path / "o.duckdb"), read_only=True) as store:
        result = drift(store.con, "ref", "cur", "output")
    assert [b.label for b in result.bins] == ["a", "b", "c", "d"]
    assert result.overall.one_sided_bins == 3
    warnings = {w.code: w.message for w in result.warnings}
    assert warnings["unseen_in_reference"] == (
        "4 current values fall in bins empty in the reference (c, d); with epsilon 1e-08 "
        "each such bin adds about share x ln(share / epsilon) to PSI"
    )
    assert warnings["vanished_in_current"] == (
        "3 reference values fall in bins empty in the current run (b); with epsilon 1e-08 "
        "each such bin adds about share x ln(share / epsilon) to PSI"
    )


def test_case_fields_and_metadata_keys_are_columns(edge_store: Path) -> None:
    with Store.open(edge_store, read_only=True) as store:
        columns = {c.name: c.kind for c in drift_columns(store.con, "ref", "cur")}
        tier = drift(store.con, "ref", "cur", "tier")
        weight = drift(store.con, "ref", "cur", "case.weight")
        model = drift(store.con, "ref", "cur", "metadata.model")
        prefixed = drift(store.con, "ref", "cur", "case.slice_name")
        docs = drift(store.con, "ref", "cur", "metadata.docs", bins=4)
    assert columns["tier"] == "categorical" and columns["weight"] == "numeric"
    assert columns["metadata.docs"] == "numeric" and columns["metadata.model"] == "categorical"
    assert tier.psi == 0.0 and weight.psi == 0.0  # same cases on both sides
    assert dict(Counter(c["tier"] for c in CASES)) == {
        b.label: b.reference_count for b in tier.bins
    }
    assert [b.label for b in model.bins] == ["m1", "m2"] and model.reading == "major"
    assert docs.psi == 0.0 and sum(b.reference_count for b in docs.bins) == 8
    assert prefixed.column.source == "cases" and [b.label for b in prefixed.bins] == [
        "billing",
        "legal",
    ]


def test_unknown_column_run_or_option_is_a_clear_error(sample_con) -> None:
    with pytest.raises(NotFoundError, match=r"no such column.*known columns: route"):
        drift(sample_con, "sr-prod-v3.4", "sr-v3.5-rc2", "nope")
    with pytest.raises(NotFoundError, match="no such run"):
        drift(sample_con, "sr-prod-v3.4", "missing-run", "route")
    with pytest.raises(InputError, match="--by"):
        drift(sample_con, "sr-prod-v3.4", "sr-v3.5-rc2", "route", by="route")
    result = drift(sample_con, "sr-prod-v3.4", "sr-v3.5-rc2", "route")
    with pytest.raises(NotFoundError):
        result.slice("no-such-slice")


def test_drift_cli_json(sample_store: Path, run_cli) -> None:
    result = run_cli(
        "drift",
        "sr-prod-v3.4",
        "sr-v3.5-rc2",
        "--column",
        "route",
        "--store",
        sample_store,
        "--json",
    )
    assert result.code == 0, result.err
    data = json.loads(result.out)
    assert {"psi", "js", "epsilon", "bins", "per_slice"} <= set(data)
    assert data["epsilon"] == EPSILON == 1e-8
    assert {"label", "reference_share", "current_share"} <= set(data["bins"][0])
    assert sum(b["reference_share"] for b in data["bins"]) == pytest.approx(1.0)
    assert {s["slice"] for s in data["per_slice"]} >= {"billing", "legal_request"}
    assert data["per_slice"][0]["reading"] in {"stable", "moderate", "major"}


def test_drift_cli_human_output(sample_store: Path, run_cli) -> None:
    result = run_cli(
        "drift", "sr-prod-v3.4", "sr-v3.5-rc2", "-c", "latency_ms", "--store", sample_store
    )
    assert result.code == 0, result.err
    assert "PSI" in result.out and "major" in result.out and "per slice_name" in result.out
    # the thresholds and the notes read as on the drift screen
    assert THRESHOLDS in result.out
    assert "noisy" in result.out and "small sample" not in result.out
    one = run_cli(
        "drift",
        "sr-prod-v3.4",
        "sr-v3.5-rc2",
        "-c",
        "route",
        "--slice",
        "billing",
        "--store",
        sample_store,
    )
    assert "slice_name = billing" in one.out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("sr-prod-v3.4", "sr-v3.5-rc2", "--column", "nope"), "nope: no such column"),
        (("sr-prod-v3.4", "ghost", "--column", "route"), "ghost: no such run"),
        (
            ("sr-prod-v3.4", "sr-v3.5-rc2", "--column", "route", "--slice", "ghost"),
            "ghost: no such slice_name",
        ),
    ],
)
def test_drift_cli_errors_are_one_line_exit_2(
    sample_store: Path, run_cli, args: tuple[str, ...], message: str
) -> None:
    result = run_cli("drift", *args, "--store", sample_store)
    assert result.code == 2
    assert result.out == ""
    assert len(result.err.strip().splitlines()) == 1 and message in result.err
