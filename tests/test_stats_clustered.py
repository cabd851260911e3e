"""Clustered paired statistics: cross-checked against statsmodels and scipy, and a seeded
simulation showing the clustered interval covers where the naive one does not."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import statsmodels.api as sm
from scipy.stats import bootstrap, permutation_test

from evaltui.review.clustered import (
    METHOD_BOOTSTRAP,
    METHOD_NORMAL,
    METHOD_PERMUTATION,
    METHOD_T,
    _flip_matrix,
    clustered_paired,
    clustered_se,
    sign_flip_p,
)
from evaltui.review.stats import paired_bootstrap_delta
from tests._stats_data import CASES, load, routes, write_run, write_suite


def _cases(rng: np.random.Generator, g: int, sizes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-case differences in {-1, 0, 1} and their cluster labels."""
    labels = np.repeat(np.arange(g), sizes)
    shift = rng.normal(0, 0.3, g)[labels]
    d = np.clip(np.round(rng.normal(0.05, 0.6, labels.size) + shift), -1, 1)
    return d, labels


def _by_cluster(d: np.ndarray, labels: np.ndarray, g: int) -> tuple[np.ndarray, np.ndarray]:
    return np.bincount(labels, d, g), np.bincount(labels, minlength=g).astype(float)


def test_clustered_se_equals_statsmodels_cluster_robust_ols() -> None:
    rng = np.random.default_rng(1)
    g = 37
    d, labels = _cases(rng, g, rng.integers(1, 9, g))
    sums, sizes = _by_cluster(d, labels, g)
    delta, se = clustered_se(sums, sizes)
    fit = sm.OLS(d, np.ones_like(d)).fit(cov_type="cluster", cov_kwds={"groups": labels})
    assert delta == pytest.approx(fit.params[0], abs=1e-12)
    assert se == pytest.approx(fit.bse[0], rel=1e-9)


def test_sign_flip_p_equals_scipy_exact_permutation_test() -> None:
    rng = np.random.default_rng(2)
    g = 10
    d, labels = _cases(rng, g, rng.integers(2, 6, g))
    sums, sizes = _by_cluster(d, labels, g)
    ours = sign_flip_p(sums, sizes, 0.0, _flip_matrix(g, 0))
    ref = permutation_test(
        (sums,), np.sum, permutation_type="samples", n_resamples=np.inf, alternative="two-sided"
    )
    assert ours == pytest.approx(ref.pvalue, abs=1e-12)
    few = clustered_paired(sums, sizes, int((d > 0).sum()), int((d < 0).sum()))
    assert few is not None and few.method == METHOD_PERMUTATION and few.clusters == g
    assert few.p_value == pytest.approx(ref.pvalue, abs=1e-12)
    assert few.ci.low <= few.delta <= few.ci.high
    # the interval is exactly the set the test does not reject: its ends sit on the boundary
    flips = _flip_matrix(g, 0)
    assert sign_flip_p(sums, sizes, few.ci.low + 1e-6, flips) > 0.05
    assert sign_flip_p(sums, sizes, few.ci.low - 1e-3, flips) <= 0.05


def test_clustered_t_interval_equals_statsmodels_with_t() -> None:
    rng = np.random.default_rng(6)
    g = 45
    d, labels = _cases(rng, g, rng.integers(1, 9, g))
    sums, sizes = _by_cluster(d, labels, g)
    ours = clustered_paired(sums, sizes, int((d > 0).sum()), int((d < 0).sum()))
    assert ours is not None and ours.method == METHOD_T
    fit = sm.OLS(d, np.ones_like(d)).fit(
        cov_type="cluster", cov_kwds={"groups": labels}, use_t=True
    )
    low, high = fit.conf_int(alpha=0.05)[0]
    assert (ours.ci.low, ours.ci.high) == pytest.approx((low, high), rel=1e-9)
    assert ours.p_value == pytest.approx(fit.pvalues[0], rel=1e-9)


def test_cluster_bootstrap_agrees_with_scipy_bootstrap_over_clusters() -> None:
    rng = np.random.default_rng(3)
    g = 250
    d, labels = _cases(rng, g, rng.integers(1, 12, g))
    sums, sizes = _by_cluster(d, labels, g)
    ours = clustered_paired(
        sums, sizes, int((d > 0).sum()), int((d < 0).sum()), resamples=20_000, seed=5
    )
    assert ours is not None and ours.method == METHOD_BOOTSTRAP and ours.clusters == g
    ref = bootstrap(
        (np.arange(g),),
        lambda i, axis=-1: sums[i].sum(axis=axis) / sizes[i].sum(axis=axis),
        method="percentile",
        n_resamples=20_000,
        random_state=np.random.default_rng(9),
    ).confidence_interval
    # ours scales the ends by sqrt(G / (G - 1)) around delta (CR1's factor)
    factor = np.sqrt(g / (g - 1))
    assert ours.ci.low == pytest.approx(ours.delta - factor * (ours.delta - ref.low), abs=0.004)
    assert ours.ci.high == pytest.approx(ours.delta + factor * (ref.high - ours.delta), abs=0.004)
    # the z test of the clustered SE: p from statsmodels' cluster-robust fit (normal, not t)
    fit = sm.OLS(d, np.ones_like(d)).fit(
        cov_type="cluster", cov_kwds={"groups": labels, "use_correction": True}, use_t=False
    )
    assert ours.p_value == pytest.approx(fit.pvalues[0], rel=1e-6)


def test_many_clusters_use_the_normal_interval() -> None:
    rng = np.random.default_rng(4)
    g = 25_000
    d, labels = _cases(rng, g, np.full(g, 2))
    sums, sizes = _by_cluster(d, labels, g)
    out = clustered_paired(sums, sizes, int((d > 0).sum()), int((d < 0).sum()))
    assert out is not None and out.method == METHOD_NORMAL
    assert out.ci.high - out.delta == pytest.approx(1.959964 * out.se, rel=1e-5)


def _coverage(g: int, m: int, reps: int) -> tuple[float, float, set[str]]:
    """Share of seeded data sets (ICC 0.3 in each arm, true difference 0) whose clustered and
    naive intervals cover 0, and the clustered methods that ran."""
    rng = np.random.default_rng(20_261_206)
    rho, mu = 0.3, 0.7
    a, b = mu * (1 - rho) / rho, (1 - mu) * (1 - rho) / rho
    base = rng.random((reps, g, m)) < rng.beta(a, b, (reps, g, 1))
    cand = rng.random((reps, g, m)) < rng.beta(a, b, (reps, g, 1))
    sums = (cand.astype(np.int64) - base).sum(axis=2)
    fixed = (cand & ~base).sum(axis=(1, 2))
    broken = (~cand & base).sum(axis=(1, 2))
    sizes = np.full(g, m)
    clustered = naive = 0
    methods = set()
    for r in range(reps):
        out = clustered_paired(
            sums[r], sizes, int(fixed[r]), int(broken[r]), resamples=1_000, seed=r
        )
        assert out is not None
        methods.add(out.method)
        clustered += out.ci.contains(0.0)
        ties = g * m - int(fixed[r]) - int(broken[r])
        plain = paired_bootstrap_delta(int(fixed[r]), int(broken[r]), ties, resamples=1_000, seed=r)
        assert plain is not None
        naive += plain.contains(0.0)
    return clustered / reps, naive / reps, methods


def test_clustered_interval_covers_where_the_naive_one_does_not() -> None:
    """40 clusters of 10 cases, ICC 0.3, 2,000 seeded data sets: the t interval on CR1."""
    clustered, naive, methods = _coverage(40, 10, 2_000)
    assert methods == {METHOD_T}
    assert 0.935 <= clustered <= 0.965, clustered
    assert naive < 0.85, naive  # the naive interval visibly under-covers


def test_cluster_bootstrap_covers_with_many_clusters() -> None:
    """200 clusters of 5 cases, ICC 0.3, 1,000 seeded data sets: the cluster bootstrap."""
    clustered, naive, methods = _coverage(200, 5, 1_000)
    assert methods == {METHOD_BOOTSTRAP}
    assert 0.935 <= clustered <= 0.965, clustered
    assert naive < 0.9, naive


@pytest.fixture
def clustered_store(tmp_path: Path) -> Path:
    folder = tmp_path / "clustered"
    folder.mkdir()
    write_suite(folder)
    manifest = folder / "hand.suite.json"
    doc = json.loads(manifest.read_text())
    doc["cluster_field"] = "tier"
    manifest.write_text(json.dumps(doc))
    write_run(folder, "base", routes(*[c["expected_route"] for c in CASES]), day=1)
    cand = routes("ABSTAIN", "SERVE", "ABSTAIN", "ESCALATE", "SERVE", "ABSTAIN", "SERVE", "SERVE")
    write_run(folder, "cand", cand, day=2)
    return load(folder, tmp_path / "s.duckdb")


def test_compare_json_reports_clusters_margin_and_detectable_difference(
    run_cli, clustered_store: Path
) -> None:
    out = run_cli(
        "compare", "base", "cand", "--store", clustered_store, "--json", "--margin", "0.02"
    )
    assert out.code == 0, out.err
    data = json.loads(out.out)
    paired = data["runs"][0]["paired"]
    assert data["statistics"]["cluster_field"] == "tier"
    assert paired["clusters"] == 3  # gold, silver, bronze
    assert paired["clustered"]["method"] == METHOD_PERMUTATION
    assert paired["ci"] == paired["clustered"]["ci"]  # the interval accounts for the clusters
    assert paired["margin"] == 0.02 and paired["non_inferior"] is False
    # 3 clusters: no sign-flip test reaches 5%, so nothing is detectable and it says so
    assert paired["min_detectable_difference"] is None
    assert "few_clusters" in {w["code"] for w in paired["warnings"]}
    text = run_cli("compare", "base", "cand", "--store", clustered_store, "--margin", "0.02")
    assert (
        "3 clusters by tier" in text.out
        and "not worse by more than 2 points: not shown" in text.out
    )


def test_a_suite_without_cluster_field_is_not_clustered(run_cli, tmp_path: Path) -> None:
    folder = tmp_path / "plain"
    folder.mkdir()
    write_suite(folder)
    write_run(folder, "base", routes(*[c["expected_route"] for c in CASES]), day=1)
    cand = routes("ABSTAIN", "SERVE", "ABSTAIN", "ESCALATE", "SERVE", "ABSTAIN", "SERVE", "SERVE")
    write_run(folder, "cand", cand, day=2)
    store = load(folder, tmp_path / "plain.duckdb")
    data = json.loads(run_cli("compare", "base", "cand", "--store", store, "--json").out)
    paired = data["runs"][0]["paired"]
    assert data["statistics"]["cluster_field"] is None
    assert paired["clusters"] is None and paired["margin"] is None
    assert paired["min_detectable_difference"] > 0


def _compare_json(run_cli, store: Path) -> str:
    out = run_cli("compare", "base", "cand", "--store", store, "--json", "--margin", "0.02")
    assert out.code == 0, out.err
    return str(out.out)


def test_the_review_does_not_read_the_manifest_again(run_cli, clustered_store: Path) -> None:
    """The manifest's cluster_field is stored at load time: deleting or editing the file (a
    moved folder, a team store's cache on another machine) changes nothing."""
    manifest = clustered_store.parent / "clustered" / "hand.suite.json"
    before = _compare_json(run_cli, clustered_store)
    assert json.loads(before)["statistics"]["cluster_field"] == "tier"
    doc = json.loads(manifest.read_text())
    doc["cluster_field"] = "slice_name"
    manifest.write_text(json.dumps(doc))
    assert _compare_json(run_cli, clustered_store) == before
    del doc["cluster_field"]
    manifest.write_text(json.dumps(doc))
    assert _compare_json(run_cli, clustered_store) == before
    manifest.unlink()
    assert _compare_json(run_cli, clustered_store) == before


def test_reloading_with_another_cluster_field_is_refused(run_cli, clustered_store: Path) -> None:
    manifest = clustered_store.parent / "clustered" / "hand.suite.json"
    doc = json.loads(manifest.read_text())
    doc["cluster_field"] = "slice_name"
    manifest.write_text(json.dumps(doc))
    before = clustered_store.read_bytes()
    result = run_cli("load", manifest.parent, "--store", clustered_store)
    assert result.code == 2
    assert "already in the store with cluster_field 'tier'" in result.err
    assert "Traceback" not in result.err
    assert clustered_store.read_bytes() == before


@pytest.mark.parametrize("value", ["two words", "doc\n", 5])
def test_an_invalid_cluster_field_is_refused_at_load(run_cli, tmp_path: Path, value) -> None:
    folder = tmp_path / "bad"
    folder.mkdir()
    write_suite(folder)
    manifest = folder / "hand.suite.json"
    doc = json.loads(manifest.read_text())
    doc["cluster_field"] = value
    manifest.write_text(json.dumps(doc))
    result = run_cli("load", folder, "--store", tmp_path / "bad.duckdb")
    assert result.code == 2
    assert "cluster_field" in result.err and "Traceback" not in result.err
    assert not (tmp_path / "bad.duckdb").exists()


def test_one_cluster_shows_nothing() -> None:
    from evaltui.review.clustered import METHOD_ONE

    out = clustered_paired(np.array([5.0]), np.array([40.0]), 5, 0)
    assert out is not None and out.method == METHOD_ONE and out.clusters == 1
    assert (out.ci.low, out.ci.high, out.p_value) == (-1.0, 1.0, 1.0)
    assert not out.can_reject(0.05)
    assert clustered_paired(np.array([]), np.array([]), 0, 0) is None
