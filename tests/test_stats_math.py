"""The statistics primitives, each checked against an independent computation."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import binomtest

from evaltui.review.paired import mcnemar_exact, min_discordant_for
from evaltui.review.stats import (
    binomial_two_sided_half,
    holm_adjust,
    paired_bootstrap_delta,
    spread,
    wilson_interval,
    z_value,
)


@pytest.mark.parametrize("n", [1, 2, 5, 10, 29, 61, 200])
def test_mcnemar_matches_scipy_binomtest_for_every_split(n: int) -> None:
    for fixed in range(n + 1):
        broken = n - fixed
        expected = binomtest(fixed, n, 0.5, alternative="two-sided").pvalue
        assert mcnemar_exact(fixed, broken) == pytest.approx(expected, rel=1e-10, abs=1e-300)


@pytest.mark.parametrize(
    ("fixed", "broken"),
    [
        (24_000, 26_000),
        (4_990, 5_010),
        (120, 4_000),
        (18, 11),
        (9705, 7607),
        (9840, 5696),
        (40_000, 40_100),
    ],
)
def test_mcnemar_large_counts_match_scipy(fixed: int, broken: int) -> None:
    expected = binomtest(fixed, fixed + broken, 0.5).pvalue
    assert mcnemar_exact(fixed, broken) == pytest.approx(expected, rel=1e-8)


def _big_integer(fixed: int, broken: int) -> float:
    """The two-sided exact McNemar p-value as an exact integer sum."""
    n = fixed + broken
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, i) for i in range(min(fixed, broken) + 1)) / 2**n
    return min(1.0, 2 * tail)


@pytest.mark.parametrize(
    ("fixed", "broken"),
    [(0, 0), (1, 0), (0, 40), (5, 2), (17, 7), (18, 6), (15, 13), (50, 50), (970, 760), (300, 2)],
)
def test_mcnemar_matches_the_big_integer_sum(fixed: int, broken: int) -> None:
    assert mcnemar_exact(fixed, broken) == pytest.approx(_big_integer(fixed, broken), rel=1e-10)
    assert mcnemar_exact(fixed, broken) == mcnemar_exact(broken, fixed)


def test_mcnemar_is_symmetric_and_one_without_discordant_pairs() -> None:
    assert mcnemar_exact(0, 0) == 1.0
    assert mcnemar_exact(3, 9) == mcnemar_exact(9, 3)
    assert binomial_two_sided_half(5, 10) == 1.0


def test_min_discordant_for_is_where_the_exact_test_can_first_reach_alpha() -> None:
    for alpha in (0.05, 0.01, 0.1):
        d = min_discordant_for(alpha)
        assert mcnemar_exact(d, 0) < alpha <= mcnemar_exact(d - 1, 0)


@pytest.mark.parametrize(
    ("k", "n"), [(0, 10), (1, 10), (5, 10), (10, 10), (509, 520), (3, 242), (60, 60), (1, 1)]
)
@pytest.mark.parametrize("confidence", [0.9, 0.95, 0.99])
def test_wilson_matches_scipy(k: int, n: int, confidence: float) -> None:
    ci = wilson_interval(k, n, confidence)
    assert ci is not None
    expected = binomtest(k, n).proportion_ci(confidence_level=confidence, method="wilson")
    assert ci.low == pytest.approx(expected.low, abs=1e-12)
    assert ci.high == pytest.approx(expected.high, abs=1e-12)
    assert 0.0 <= ci.low <= k / n <= ci.high <= 1.0


def test_wilson_without_trials_is_none_and_z_is_the_normal_quantile() -> None:
    assert wilson_interval(0, 0) is None
    assert z_value(0.95) == pytest.approx(1.959963984540054)
    with pytest.raises(ValueError):
        wilson_interval(4, 3)


def _holm_by_definition(p: list[float]) -> list[float]:
    """Holm by definition: running max over sorted ranks r <= i of (m - r) p_(r), capped at 1."""
    m = len(p)
    order = sorted(range(m), key=lambda i: p[i])
    out = [0.0] * m
    for position, i in enumerate(order):
        out[i] = min(1.0, max((m - r) * p[order[r]] for r in range(position + 1)))
    return out


def test_holm_hand_example() -> None:
    # sorted 0.005, 0.01, 0.03, 0.04 -> x4, x3, x2, x1 = 0.02, 0.03, 0.06, 0.04 -> monotone 0.06
    assert holm_adjust([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])


def test_holm_matches_its_definition_on_random_families() -> None:
    rng = np.random.default_rng(7)
    for m in (1, 2, 3, 6, 15):
        p = list(rng.uniform(0, 0.2, size=m))
        adjusted = holm_adjust(p)
        assert adjusted == pytest.approx(_holm_by_definition(p))
        assert all(a >= b for a, b in zip(adjusted, p, strict=True))
    assert holm_adjust([]) == []
    assert holm_adjust([0.7, 0.9]) == [1.0, 1.0]


def _index_bootstrap(base: np.ndarray, cand: np.ndarray, resamples: int, seed: int) -> np.ndarray:
    """The textbook paired bootstrap: resample case indices, recompute the rate difference."""
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, base.size, size=(resamples, base.size))
    return cand[idx].mean(axis=1) - base[idx].mean(axis=1)


@pytest.mark.parametrize(("fixed", "broken", "ties"), [(18, 11, 491), (5, 2, 153), (30, 10, 60)])
def test_bootstrap_interval_agrees_with_index_resampling(
    fixed: int, broken: int, ties: int
) -> None:
    base = np.array([0] * fixed + [1] * broken + [1] * ties, dtype=float)
    cand = np.array([1] * fixed + [0] * broken + [1] * ties, dtype=float)
    n = base.size
    ci = paired_bootstrap_delta(fixed, broken, ties, resamples=20_000, seed=3)
    assert ci is not None
    reference = np.quantile(_index_bootstrap(base, cand, 20_000, seed=99), [0.025, 0.975])
    # two Monte Carlo estimates of the same quantiles of a lattice with step 1/n
    assert ci.low == pytest.approx(reference[0], abs=2.5 / n)
    assert ci.high == pytest.approx(reference[1], abs=2.5 / n)
    assert ci.contains((fixed - broken) / n)


def test_bootstrap_is_reproducible_and_seeded() -> None:
    a = paired_bootstrap_delta(18, 11, 491, resamples=2_000, seed=1)
    b = paired_bootstrap_delta(18, 11, 491, resamples=2_000, seed=1)
    c = paired_bootstrap_delta(18, 11, 491, resamples=2_000, seed=2)
    assert a == b
    assert a != c


def test_bootstrap_edge_cases() -> None:
    assert paired_bootstrap_delta(0, 0, 0) is None
    still = paired_bootstrap_delta(0, 0, 40)
    assert still is not None and (still.low, still.high) == (0.0, 0.0)
    all_fixed = paired_bootstrap_delta(12, 0, 0)
    assert all_fixed is not None and (all_fixed.low, all_fixed.high) == (1.0, 1.0)


def test_spread_matches_numpy_and_the_standard_error_formula() -> None:
    values = [0.9788, 0.975, 0.9846]
    s = spread(values)
    assert s is not None
    assert s.mean == pytest.approx(np.mean(values))
    assert s.sd == pytest.approx(np.std(values, ddof=1))
    assert s.se == pytest.approx(np.std(values, ddof=1) / math.sqrt(3))
    assert (s.low, s.high, s.k) == (0.975, 0.9846, 3)
    single = spread([0.5, None])
    assert single is not None and single.sd is None and single.se is None and single.k == 1
    assert spread([]) is None
