"""The exact McNemar p-value: the same as a big-integer sum and as scipy, fast at any size."""

from __future__ import annotations

import math

import pytest
from scipy.stats import binomtest

from evaltui.review.paired import mcnemar_exact


def _big_integer(fixed: int, broken: int) -> float:
    n = fixed + broken
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, i) for i in range(min(fixed, broken) + 1)) / 2**n
    return min(1.0, 2 * tail)


@pytest.mark.parametrize(
    ("fixed", "broken"),
    [(0, 0), (1, 0), (0, 40), (5, 2), (17, 7), (18, 6), (15, 13), (50, 50), (970, 760), (300, 2)],
)
def test_matches_the_exact_sum(fixed: int, broken: int) -> None:
    assert mcnemar_exact(fixed, broken) == pytest.approx(_big_integer(fixed, broken), rel=1e-10)
    assert mcnemar_exact(fixed, broken) == mcnemar_exact(broken, fixed)


@pytest.mark.parametrize(("fixed", "broken"), [(9705, 7607), (9840, 5696), (40_000, 40_100)])
def test_large_pairs_agree_with_scipy(fixed: int, broken: int) -> None:
    expected = binomtest(min(fixed, broken), fixed + broken, 0.5).pvalue
    assert mcnemar_exact(fixed, broken) == pytest.approx(expected, rel=1e-8)
