"""The anytime-valid canary test: cross-checked against scipy's distributions, and simulated
with a check after every request to show peeking does not raise the false-rollback rate."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import betabinom, binom

from evaltui.review.sequential import (
    SequentialPlan,
    baseline_trajectory,
    confidence_bounds,
    first_decision,
    log_mixture_ratio,
    simulate_stopping,
)


@pytest.mark.parametrize(("s", "t", "p"), [(0, 1, 0.9), (45, 50, 0.95), (870, 1000, 0.9)])
def test_mixture_ratio_is_beta_binomial_over_binomial(s: int, t: int, p: float) -> None:
    plan = SequentialPlan(0.93)
    a, b = plan.prior
    expected = betabinom.logpmf(s, t, a, b) - binom.logpmf(s, t, p)
    assert float(log_mixture_ratio(s, t - s, p, plan.prior)) == pytest.approx(expected, abs=1e-9)


def test_sequence_ends_are_where_the_ratio_reaches_one_over_alpha() -> None:
    plan = SequentialPlan(0.9)
    s, f = np.array([80.0, 900.0]), np.array([20.0, 100.0])
    low, high = confidence_bounds(s, f, 0.05, plan.prior)
    for bound in (low, high):
        assert log_mixture_ratio(s, f, bound, plan.prior) == pytest.approx(
            [math.log(20)] * 2, abs=1e-6
        )
    assert np.all(low < s / (s + f)) and np.all(s / (s + f) < high)


def test_a_fixed_level_test_after_every_request_stops_falsely_but_the_sequence_does_not() -> None:
    """2,000 null streams of 2,000 requests at the baseline rate, checked after every request."""
    plan = SequentialPlan(0.9, level=0.05, margin=0.02)
    codes, _stops = simulate_stopping(0.9, plan, streams=2_000, horizon=2_000, seed=11)
    false_rollbacks = float(np.mean(codes == 1))
    error = 3 * math.sqrt(plan.level * (1 - plan.level) / 2_000)
    assert false_rollbacks <= plan.level + error, false_rollbacks
    # the same streams judged by a one-sided z test at 5% after every request: far above 5%
    rng = np.random.default_rng(11)
    x = rng.random((2_000, 2_000)) < 0.9
    n = np.arange(1, 2_001)
    z = (np.cumsum(x, axis=1) - 0.9 * n) / np.sqrt(0.9 * 0.1 * n)
    naive = float(np.mean((z < -1.645).any(axis=1)))
    assert naive > 3 * plan.level, naive


def test_the_control_arm_test_keeps_its_level_under_peeking() -> None:
    plan = SequentialPlan(0.9, level=0.05, margin=0.02)
    codes, _ = simulate_stopping(0.9, plan, 2_000, 300, seed=12, control_rate=0.9)
    error = 3 * math.sqrt(0.05 * 0.95 / 2_000)
    assert float(np.mean(codes == 1)) <= 0.05 + error


def test_a_real_regression_is_rolled_back_and_a_sound_canary_promoted() -> None:
    plan = SequentialPlan(0.95, level=0.05, margin=0.02)
    codes, stops = simulate_stopping(0.90, plan, 300, 4_000, seed=13)
    assert np.mean(codes == 1) > 0.95 and np.median(stops) < 2_000
    codes, _ = simulate_stopping(0.95, plan, 300, 4_000, seed=14)
    assert np.mean(codes == 2) > 0.9 and np.mean(codes == 1) < 0.05


def test_first_decision_of_a_trajectory() -> None:
    plan = SequentialPlan(0.95)
    x = np.r_[np.ones(20), np.zeros(30)]
    traj = baseline_trajectory(np.cumsum(x), np.arange(1, 51), plan, 0.05)
    first = first_decision(traj.decision)
    assert first is not None and traj.decision[first] == 1
    assert traj.high[first] < 0.95 <= traj.high[first - 1]
