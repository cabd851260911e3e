"""Small statistics on counts and short vectors: exact binomial tails, Wilson intervals, Holm's
adjustment, the paired bootstrap and Newcombe's score interval of a rate difference, and the
spread of repeated runs.

Everything here takes numbers that set-based SQL already counted; nothing touches the store. The
formulas and how to read them are in docs/statistics.md.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any

import numpy as np

DEFAULT_CONFIDENCE = 0.95
DEFAULT_RESAMPLES = 10_000
DEFAULT_SEED = 20_261_108  # any fixed number: the same inputs always give the same interval


@dataclass(frozen=True, slots=True)
class Interval:
    low: float
    high: float
    confidence: float = DEFAULT_CONFIDENCE

    def contains(self, value: float) -> bool:
        return self.low <= value <= self.high

    @property
    def width(self) -> float:
        return self.high - self.low

    def to_json(self) -> list[float]:
        return [self.low, self.high]


def z_value(confidence: float) -> float:
    """The two-sided normal quantile for a confidence level (1.959964 for 0.95)."""
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be between 0 and 1, not {confidence}")
    return NormalDist().inv_cdf(0.5 + confidence / 2)


def wilson_interval(
    successes: int, n: int, confidence: float = DEFAULT_CONFIDENCE
) -> Interval | None:
    """Wilson score interval of a binomial proportion; None when there are no trials.

    Unlike the normal ("Wald") interval it stays inside [0, 1] and does not collapse to a point
    when every case is right or every case is wrong, which is common on small guardrail sets.
    """
    if n <= 0:
        return None
    if not 0 <= successes <= n:
        raise ValueError(f"successes must be between 0 and n={n}, not {successes}")
    z = z_value(confidence)
    p = successes / n
    z2n = z * z / n
    centre = (p + z2n / 2) / (1 + z2n)
    half = z * math.sqrt(p * (1 - p) / n + z2n / (4 * n)) / (1 + z2n)
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == n else min(1.0, centre + half)
    return Interval(low, high, confidence)


def binomial_two_sided_half(k: int, n: int) -> float:
    """Two-sided exact binomial test of k successes in n trials at p = 1/2.

    The tail P(X <= min(k, n-k)) is summed in log space with numpy (log C(n, i) by a cumulative
    sum), so a million discordant pairs cost milliseconds instead of big-integer arithmetic.
    """
    if n < 0 or not 0 <= k <= n:
        raise ValueError(f"need 0 <= k <= n, got k={k}, n={n}")
    if n == 0:
        return 1.0
    low = min(k, n - k)
    i = np.arange(1, low + 1, dtype=np.float64)
    log_comb = np.concatenate(([0.0], np.cumsum(np.log(n - i + 1) - np.log(i))))
    log_terms = log_comb - n * math.log(2.0)
    top = float(log_terms.max())
    tail = math.exp(top) * float(np.exp(log_terms - top).sum())
    return min(1.0, 2.0 * tail)


def holm_adjust(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down adjustment: family-wise error control across several candidates.

    The i-th smallest p-value (1-based) is multiplied by (m - i + 1); adjusted values are made
    non-decreasing in that order and capped at 1. Returned in the order given.
    """
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i])
    adjusted = [0.0] * m
    running = 0.0
    for rank, index in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p_values[index]))
        adjusted[index] = running
    return adjusted


def paired_bootstrap_delta(
    fixed: int,
    broken: int,
    ties: int,
    *,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
    confidence: float = DEFAULT_CONFIDENCE,
) -> Interval | None:
    """Percentile bootstrap interval of (candidate rate - baseline rate) over paired cases.

    Resampling n paired cases with replacement and counting how many of the draws are fixed,
    broken or unchanged is a multinomial draw with those three shares, and the difference of
    the two exact-route rates is (fixed* - broken*) / n. So all resamples are drawn at once
    from the multinomial: the same distribution as resampling case indices, in O(resamples)
    memory instead of O(resamples x cases) (2000 resamples of 200,000 cases would be 3.2 GB of
    indices). Seeded: the same counts, seed and resamples always give the same interval.
    """
    n = fixed + broken + ties
    if n <= 0:
        return None
    if resamples < 1:
        raise ValueError(f"resamples must be at least 1, not {resamples}")
    z_value(confidence)  # validates the level
    rng = np.random.default_rng(seed)
    shares = np.array([fixed, broken, ties], dtype=np.float64) / n
    draws = rng.multinomial(n, shares, size=resamples)
    deltas = (draws[:, 0] - draws[:, 1]) / n
    alpha = 1.0 - confidence
    low, high = np.quantile(deltas, [alpha / 2, 1 - alpha / 2])
    return Interval(float(low), float(high), confidence)


def newcombe_paired_bounds(
    both_right: Any, fixed: Any, broken: Any, both_wrong: Any, z: float
) -> tuple[np.ndarray, np.ndarray]:
    """Newcombe's hybrid score bounds of (candidate rate - baseline rate), element-wise on arrays.

    Method 10 of Newcombe (1998, Statistics in Medicine 17:2635-2650): the Wilson interval of each
    marginal rate, p1 = (both_right + fixed) / n for the candidate and p2 = (both_right + broken)
    / n for the baseline, combined by "square and add" with the correlation of the two rates:

        low  = delta - sqrt((p1 - l1)^2 - 2 phi (p1 - l1)(u2 - p2) + (u2 - p2)^2)
        high = delta + sqrt((u1 - p1)^2 - 2 phi (u1 - p1)(p2 - l2) + (p2 - l2)^2)

    phi is the phi coefficient of the 2x2 table with Newcombe's adjustment: A = both_right x
    both_wrong - fixed x broken becomes A - n/2 when above n/2, 0 between 0 and n/2, and stays
    A when negative; phi is 0 when a margin is empty. The bounds are clipped to [-1, 1].
    Vectorised so a simulation can score thousands of tables at once; `n` must be positive.
    """
    a, b, c, d = (np.asarray(x, dtype=np.float64) for x in (both_right, fixed, broken, both_wrong))
    n = a + b + c + d
    z2 = z * z

    def wilson(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        p = x / n
        centre = (x + z2 / 2) / (n + z2)
        half = z * np.sqrt(n * p * (1 - p) + z2 / 4) / (n + z2)
        return p, np.maximum(centre - half, 0.0), np.minimum(centre + half, 1.0)

    p1, l1, u1 = wilson(a + b)  # the candidate's rate
    p2, l2, u2 = wilson(a + c)  # the baseline's rate
    margins = (a + b) * (c + d) * (a + c) * (b + d)
    cross = a * d - b * c
    adjusted = np.where(cross > n / 2, cross - n / 2, np.where(cross < 0, cross, 0.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        phi = np.where(margins > 0, adjusted / np.sqrt(margins), 0.0)
    delta = p1 - p2
    down = np.sqrt(np.maximum((p1 - l1) ** 2 - 2 * phi * (p1 - l1) * (u2 - p2) + (u2 - p2) ** 2, 0))
    up = np.sqrt(np.maximum((u1 - p1) ** 2 - 2 * phi * (u1 - p1) * (p2 - l2) + (p2 - l2) ** 2, 0))
    return np.maximum(delta - down, -1.0), np.minimum(delta + up, 1.0)


def newcombe_paired_interval(
    both_right: int,
    fixed: int,
    broken: int,
    both_wrong: int,
    confidence: float = DEFAULT_CONFIDENCE,
) -> Interval | None:
    """Newcombe's hybrid score interval of the paired rate difference; None without cases.

    Unlike the percentile bootstrap, it does not collapse onto the observed counts: with no broken
    case every bootstrap resample has delta >= 0, so the bootstrap's lower end is exactly 0 at any
    n, while this one widens as n shrinks. Built from Wilson intervals, it stays honest below a
    few hundred cases. See docs/statistics.md, "Newcombe's interval of delta".
    """
    counts = (both_right, fixed, broken, both_wrong)
    if min(counts) < 0:
        raise ValueError(f"counts must not be negative, got {counts}")
    if sum(counts) == 0:
        return None
    low, high = newcombe_paired_bounds(*counts, z_value(confidence))
    return Interval(float(low), float(high), confidence)


@dataclass(frozen=True, slots=True)
class Proportion:
    """A rate with the counts behind it and its Wilson interval."""

    successes: int
    n: int
    interval: Interval | None

    @property
    def rate(self) -> float | None:
        return self.successes / self.n if self.n else None

    def to_json(self) -> dict[str, Any]:
        return {
            "successes": self.successes,
            "n": self.n,
            "rate": self.rate,
            "ci": None if self.interval is None else self.interval.to_json(),
        }


def proportion(successes: int, n: int, confidence: float = DEFAULT_CONFIDENCE) -> Proportion:
    return Proportion(successes, n, wilson_interval(successes, n, confidence))


@dataclass(frozen=True, slots=True)
class Spread:
    """Mean, spread and standard error of one quantity over repeated runs (e.g. seeds)."""

    k: int
    mean: float
    sd: float | None  # sample standard deviation (n - 1); None for a single value
    se: float | None  # sd / sqrt(k)
    low: float
    high: float

    @property
    def range(self) -> float:
        return self.high - self.low

    def to_json(self) -> dict[str, Any]:
        return {
            "k": self.k,
            "mean": self.mean,
            "sd": self.sd,
            "se": self.se,
            "min": self.low,
            "max": self.high,
        }


def spread(values: Sequence[float | None]) -> Spread | None:
    """Summary of repeated measurements; None when there are none."""
    data = np.asarray([v for v in values if v is not None], dtype=np.float64)
    if data.size == 0:
        return None
    sd = float(data.std(ddof=1)) if data.size > 1 else None
    return Spread(
        k=int(data.size),
        mean=float(data.mean()),
        sd=sd,
        se=None if sd is None else sd / math.sqrt(data.size),
        low=float(data.min()),
        high=float(data.max()),
    )
