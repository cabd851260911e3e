"""Anytime-valid sequential test of a canary's success rate: a confidence sequence that may be
checked after every request without raising its error rate.

Method: the beta-binomial mixture confidence sequence (Robbins 1970, "Statistical methods related
to the law of the iterated logarithm"; Howard, Ramdas, McAuliffe & Sekhon 2021, "Time-uniform,
nonparametric, nonasymptotic confidence sequences", Ann. Statist. 49(2), section 3). For S
successes and F failures and a Beta(a, b) mixing distribution, the mixture likelihood ratio against
a rate p,

    Lambda_t(p) = B(a + S, b + F) / B(a, b) / (p^S (1 - p)^F),

is a non-negative martingale with mean 1 when p is the true rate, so by Ville's inequality it ever
reaches 1/alpha with probability at most alpha: {p : Lambda_t(p) < 1/alpha} holds the true rate at
every t at once, with probability at least 1 - alpha. This is the mixture SPRT (mSPRT) with an
exact Bernoulli likelihood, the test Johari et al. 2017 ("Peeking at A/B tests", KDD) and Lindon et
al. 2022 (Netflix canaries, arXiv 2205.14762) use in its Gaussian form. Lambda is convex in log
form, so the set is an interval around S/t.

Decisions (higher rate is better; a lower-is-better metric is passed as 1 - value):
- against the baseline rate r: roll back when the sequence lies wholly below r (a regression is
  shown), promote when it lies wholly above r - M (not worse by more than M, shown);
- against a control arm: each arm gets a sequence at alpha/2 (union bound); roll back when the
  canary's upper end is below the control's lower end, promote when the canary's lower end minus
  the control's upper end exceeds -M.
The chance of ever rolling back a canary that is no worse than its reference is at most alpha.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

METHOD = "beta-binomial mixture confidence sequence (mSPRT, Robbins 1970)"
DEFAULT_LEVEL = 0.05
DEFAULT_MARGIN = 0.02
DEFAULT_MAX_SAMPLES = 50_000
DEFAULT_PRIOR_STRENGTH = 100.0  # a + b of the mixing Beta, centred on the baseline rate
_EPS = 1e-12

ROLL_BACK = "roll_back"
PROMOTE = "promote"
CONTINUE = "continue"


@dataclass(frozen=True, slots=True)
class SequentialPlan:
    """What the decision's signed stop rule records for one monitored rate."""

    baseline_rate: float
    level: float = DEFAULT_LEVEL
    margin: float = DEFAULT_MARGIN
    max_samples: int = DEFAULT_MAX_SAMPLES
    prior_strength: float = DEFAULT_PRIOR_STRENGTH

    def __post_init__(self) -> None:
        if not 0.0 <= self.baseline_rate <= 1.0:
            raise ValueError(f"baseline rate must lie in [0, 1], not {self.baseline_rate}")
        if not 0.0 < self.level < 1.0:
            raise ValueError(f"level must lie in (0, 1), not {self.level}")
        if not 0.0 <= self.margin < 1.0:
            raise ValueError(f"margin must lie in [0, 1), not {self.margin}")
        if self.max_samples < 1 or self.prior_strength <= 0:
            raise ValueError("max_samples and prior_strength must be positive")

    @property
    def prior(self) -> tuple[float, float]:
        r = min(max(self.baseline_rate, 0.01), 0.99)
        return self.prior_strength * r, self.prior_strength * (1.0 - r)


def log_mixture_ratio(
    successes: np.ndarray | float,
    failures: np.ndarray | float,
    rate: np.ndarray | float,
    prior: tuple[float, float],
) -> np.ndarray:
    """log Lambda_t(rate), vectorised over any broadcastable arrays."""
    from scipy.special import betaln, xlog1py, xlogy

    s = np.asarray(successes, dtype=np.float64)
    f = np.asarray(failures, dtype=np.float64)
    p = np.clip(np.asarray(rate, dtype=np.float64), 0.0, 1.0)
    a, b = prior
    with np.errstate(divide="ignore", invalid="ignore"):
        log_lik = xlogy(s, p) + xlog1py(f, -p)
    return np.asarray(betaln(a + s, b + f) - betaln(a, b) - log_lik)


def confidence_bounds(
    successes: np.ndarray, failures: np.ndarray, alpha: float, prior: tuple[float, float]
) -> tuple[np.ndarray, np.ndarray]:
    """(low, high) of the confidence sequence at each point, by vectorised bisection.

    log Lambda(p) = m - loglik(p) with the mixture term m fixed per point, so the bisection
    solves loglik(p) = m - log(1/alpha) on each side of S/t.
    """
    from scipy.special import betaln, xlog1py, xlogy

    s = np.asarray(successes, dtype=np.float64)
    f = np.asarray(failures, dtype=np.float64)
    t = s + f
    centre = np.where(t > 0, s / np.maximum(t, 1), 0.5)
    a, b = prior
    floor = betaln(a + s, b + f) - betaln(a, b) - math.log(1.0 / alpha)  # reject: loglik <= floor

    def loglik(p: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.asarray(xlogy(s, p) + xlog1py(f, -p))

    def edge(outer: float) -> np.ndarray:
        inside = centre.copy()
        outside = np.full_like(centre, outer)
        reject_outer = loglik(outside) <= floor
        for _ in range(32):  # 2**-32: far below any rate shown
            mid = (inside + outside) / 2
            rejected = loglik(mid) <= floor
            outside = np.where(rejected, mid, outside)
            inside = np.where(rejected, inside, mid)
        return np.where(reject_outer, inside, outer)

    return edge(0.0), edge(1.0)


@dataclass(frozen=True, slots=True)
class Trajectory:
    """Per checked point: the canary's (and control's) counts and the test's state."""

    canary_n: np.ndarray
    canary_successes: np.ndarray
    low: np.ndarray  # lower end for the canary rate (vs baseline) or the difference (vs control)
    high: np.ndarray
    log_lr: np.ndarray  # log Lambda at the reference (baseline rate, or NaN vs control)
    decision: np.ndarray  # 1 roll back, 2 promote, 0 continue, at each point


def baseline_trajectory(
    canary_successes: np.ndarray,
    canary_n: np.ndarray,
    plan: SequentialPlan,
    alpha: float,
    *,
    bounds: bool = True,
) -> Trajectory:
    """The test against the recorded baseline rate at every point of cumulative counts.

    The decisions need only Lambda at two rates; `bounds=False` skips the sequence's ends (NaN),
    which the simulations do not need.
    """
    s = np.asarray(canary_successes, dtype=np.float64)
    n = np.asarray(canary_n, dtype=np.float64)
    f = n - s
    r = plan.baseline_rate
    threshold = math.log(1.0 / alpha)
    rate = np.where(n > 0, s / np.maximum(n, 1), np.nan)
    lr_ref = log_mixture_ratio(s, f, r, plan.prior)
    lr_margin = log_mixture_ratio(s, f, r - plan.margin, plan.prior)
    back = (rate < r) & (lr_ref >= threshold)
    promote = (rate > r - plan.margin) & (lr_margin >= threshold)
    if bounds:
        low, high = confidence_bounds(s, f, alpha, plan.prior)
    else:
        low = high = np.full(s.shape, np.nan)
    decision = np.where(back, 1, np.where(promote, 2, 0))
    return Trajectory(n, s, low, high, lr_ref, decision)


def control_trajectory(
    canary_successes: np.ndarray,
    canary_n: np.ndarray,
    control_successes: np.ndarray,
    control_n: np.ndarray,
    plan: SequentialPlan,
    alpha: float,
) -> Trajectory:
    """The test of canary minus control (each arm's sequence at alpha / 2) at every point."""
    cs = np.asarray(canary_successes, dtype=np.float64)
    cn = np.asarray(canary_n, dtype=np.float64)
    ks = np.asarray(control_successes, dtype=np.float64)
    kn = np.asarray(control_n, dtype=np.float64)
    c_low, c_high = confidence_bounds(cs, cn - cs, alpha / 2, plan.prior)
    k_low, k_high = confidence_bounds(ks, kn - ks, alpha / 2, plan.prior)
    both = (cn > 0) & (kn > 0)
    low = np.where(both, c_low - k_high, -1.0)
    high = np.where(both, c_high - k_low, 1.0)
    decision = np.where(high < 0, 1, np.where(low > -plan.margin, 2, 0))
    return Trajectory(cn, cs, low, high, np.full(cn.shape, np.nan), decision)


def first_decision(decision: np.ndarray) -> int | None:
    """Index of the first point that rolls back or promotes, or None."""
    hits = np.flatnonzero(decision != 0)
    return int(hits[0]) if hits.size else None


def simulate_stopping(
    true_rate: float,
    plan: SequentialPlan,
    streams: int,
    horizon: int,
    seed: int,
    control_rate: float | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Seeded Monte Carlo of one request per check: (decision code, stopping n) per stream.

    Decision 0 means none within `horizon` requests. With `control_rate`, every step adds one
    request to each arm. Used by the tests and benchmarks/power_table.py.
    """
    rng = np.random.default_rng(seed)
    alpha = plan.level
    steps = np.arange(1, horizon + 1, dtype=np.float64)
    codes = np.zeros(streams, dtype=np.int64)
    stops = np.full(streams, horizon, dtype=np.int64)
    block = max(1, 4_000_000 // horizon)
    for start in range(0, streams, block):
        rows = min(block, streams - start)
        canary = np.cumsum(rng.random((rows, horizon)) < true_rate, axis=1, dtype=np.float64)
        if control_rate is None:
            traj = baseline_trajectory(
                canary, np.broadcast_to(steps, canary.shape), plan, alpha, bounds=False
            )
        else:
            control = np.cumsum(
                rng.random((rows, horizon)) < control_rate, axis=1, dtype=np.float64
            )
            n = np.broadcast_to(steps, canary.shape)
            traj = control_trajectory(canary, n, control, n, plan, alpha)
        hit = traj.decision != 0
        any_hit = hit.any(axis=1)
        first = np.argmax(hit, axis=1)
        codes[start : start + rows] = np.where(any_hit, traj.decision[np.arange(rows), first], 0)
        stops[start : start + rows] = np.where(any_hit, first + 1, horizon)
    return codes, stops


def to_json_plan(plan: SequentialPlan) -> dict[str, Any]:
    return {
        "baseline_rate": plan.baseline_rate,
        "level": plan.level,
        "margin": plan.margin,
        "max_samples": plan.max_samples,
        "prior_strength": plan.prior_strength,
    }
