"""Minimum detectable difference, non-inferiority verdicts and pass^k, each checked against
independent code (scipy) or a seeded simulation."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.special import comb
from scipy.stats import bootstrap, norm

from evaltui.review.flakiness import flakiness, pass_hat_k
from evaltui.review.noninferiority import non_inferiority, points
from evaltui.review.paired import PairedCounts, PairedSettings, paired_statistics
from evaltui.review.power import min_detectable_difference, paired_power
from evaltui.review.stats import Interval, paired_bootstrap_delta


def test_mdd_solves_connors_formula() -> None:
    n, psi, alpha = 520, 0.06, 0.05
    mdd = min_detectable_difference(n, psi, alpha)
    assert mdd is not None
    z_a, z_b = norm.ppf(1 - alpha / 2), norm.ppf(0.8)
    # Connor (1987): n = (z_a sqrt(psi) + z_b sqrt(psi - d^2))^2 / d^2 at the MDD
    needed = (z_a * math.sqrt(psi) + z_b * math.sqrt(psi - mdd**2)) ** 2 / mdd**2
    assert needed == pytest.approx(n, rel=1e-6)


def test_mdd_has_80_percent_power_in_simulation() -> None:
    """Exact McNemar tests (scipy's binomial tail) on 4,000 seeded suites at the MDD."""
    n, psi, alpha = 800, 0.1, 0.05
    mdd = min_detectable_difference(n, psi, alpha)
    assert mdd is not None
    rng = np.random.default_rng(3)
    p10, p01 = (psi + mdd) / 2, (psi - mdd) / 2
    draws = rng.multinomial(n, [p10, p01, 1 - psi], size=4_000)
    fixed, broken = draws[:, 0], draws[:, 1]
    from scipy.stats import binom

    d = fixed + broken
    p = np.minimum(1.0, 2 * binom.cdf(np.minimum(fixed, broken), d, 0.5))
    power = float(np.mean(p < alpha))
    assert 0.75 <= power <= 0.85, power  # the normal approximation against the exact test
    assert paired_power(mdd, n, psi, alpha) == pytest.approx(0.8, abs=1e-6)


def test_mdd_grows_with_the_design_effect_and_is_none_when_nothing_is_detectable() -> None:
    one = min_detectable_difference(500, 0.1, 0.05)
    three = min_detectable_difference(500, 0.1, 0.05, design_effect=3.0)
    assert one is not None and three is not None
    assert three == pytest.approx(min_detectable_difference(500 / 3, 0.1, 0.05), rel=1e-9)
    assert three > one
    assert min_detectable_difference(3, 0.5, 0.05) is None


def test_non_inferiority_reads_the_lower_bound() -> None:
    shown = non_inferiority(Interval(-0.015, 0.02, 0.95), 0.02)
    assert shown is not None and shown.shown and shown.one_sided_level == pytest.approx(0.975)
    assert shown.verdict == "not worse by more than 2 points: shown"
    missed = non_inferiority(Interval(-0.021, 0.05, 0.95), 0.02)
    assert missed is not None and missed.verdict == "not worse by more than 2 points: not shown"
    assert points(0.01) == "1 point" and points(0.015) == "1.5 points"
    with pytest.raises(ValueError):
        non_inferiority(Interval(0, 0), -0.1)


def test_non_inferiority_bound_agrees_with_scipy_bootstrap_of_the_cases() -> None:
    fixed, broken, ties = 30, 41, 449
    ours = paired_bootstrap_delta(fixed, broken, ties, resamples=20_000, seed=1)
    diffs = np.r_[np.ones(fixed), -np.ones(broken), np.zeros(ties)]
    ref = bootstrap(
        (diffs,),
        np.mean,
        method="percentile",
        n_resamples=20_000,
        random_state=np.random.default_rng(2),
    ).confidence_interval
    assert ours is not None and ours.low == pytest.approx(ref.low, abs=0.004)
    stats = paired_statistics(
        {"c": PairedCounts(520, fixed, broken, 400, 49)},
        ["c"],
        PairedSettings(margin=0.02, resamples=20_000),
    )["c"]
    assert stats.non_inferiority is not None
    bound = min(stats.ci.low, stats.newcombe.low)  # type: ignore[union-attr]
    assert stats.non_inferiority.bound == bound
    assert stats.to_json()["non_inferior"] is (bound > -0.02)


def test_ranking_on_less_than_the_detectable_difference_is_warned() -> None:
    stats = paired_statistics({"c": PairedCounts(520, 15, 13, 480, 12)}, ["c"])["c"]
    mdd = stats.min_detectable_difference
    assert mdd is not None and abs(stats.delta or 0) < mdd
    warning = next(w for w in stats.warnings if w.code == "below_detectable")
    assert f"{mdd:.3f}" in warning.message and "80% power" in warning.message
    big = paired_statistics({"c": PairedCounts(520, 60, 5, 440, 15)}, ["c"])["c"]
    assert "below_detectable" not in {w.code for w in big.warnings}


def test_pass_hat_k_is_the_unbiased_combinatorial_estimate() -> None:
    c = np.array([0, 1, 3, 5, 5, 2])
    n = np.array([5, 5, 5, 5, 6, 2])
    for k in (1, 2, 3):
        with np.errstate(invalid="ignore"):
            expected = comb(c, k) / comb(n, k)  # 0/0 where a case has fewer than k attempts
        assert pass_hat_k(c, n, k) == pytest.approx(expected, nan_ok=True)
    assert np.isnan(pass_hat_k(np.array([1]), np.array([2]), 3))[0]
    summary = flakiness(c, n)
    assert summary.flaky == 3 and summary.attempts == 6
    assert summary.pass_hat[2] == pytest.approx(float(np.mean(comb(c, 2) / comb(n, 2))))
