"""Paired differences when cases come in clusters (several questions on one document, several
turns of one conversation, epochs of one sample): the clustered standard error, a cluster
bootstrap, and a sign-flip permutation test with its inverted interval for few clusters.

Input: per cluster g, D_g = (cases fixed - cases broken) in the cluster and n_g its paired cases.
The difference is the ratio delta = sum D_g / sum n_g (the same delta as without clusters). Its
cluster-robust (CR1) standard error is

    se = sqrt( G / (G - 1) * sum_g (D_g - delta * n_g)^2 ) / N

(Liang & Zeger 1986; Cameron & Miller 2015, "A practitioner's guide to cluster-robust
inference"; the `stderr(cluster=...)` of inspect_ai and Miller 2024, arXiv 2411.00640). It equals
statsmodels' OLS of the per-case differences on a constant with `cov_type="cluster"`.

Which interval runs depends on the number of clusters G (stated in the output):
- G < FEW_CLUSTERS: the sign-flip permutation test (every cluster's centred sum D_g - theta * n_g
  may be flipped under the null; exact enumeration up to EXACT_CLUSTERS, else seeded Monte
  Carlo), and the interval is the set of theta it does not reject. The CLT is not trusted.
- FEW_CLUSTERS <= G < T_CLUSTERS: delta +/- t_{G-1} * se, p from the same t (Cameron & Miller's
  recommendation for a moderate number of clusters; it covers where the percentile bootstrap
  still runs a little short, see docs/statistics.md).
- T_CLUSTERS <= G <= BOOTSTRAP_CLUSTERS: the percentile cluster bootstrap (clusters resampled
  with replacement; the ends' distances from delta scaled by sqrt(G / (G - 1)), the CR1
  small-sample factor the plain bootstrap lacks), p from the clustered z statistic.
- more: the normal interval delta +/- z * se (the CLT holds comfortably).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any

import numpy as np

from evaltui.review.stats import DEFAULT_CONFIDENCE, DEFAULT_SEED, Interval, z_value

FEW_CLUSTERS = 30
T_CLUSTERS = 200  # below: Student t with G - 1 degrees of freedom on the CR1 error
EXACT_CLUSTERS = 14  # 2**14 = 16,384 sign patterns: enumerated
BOOTSTRAP_CLUSTERS = 20_000
DEFAULT_CLUSTER_RESAMPLES = 2_000
_MONTE_CARLO_FLIPS = 20_000
_CHUNK_CELLS = 2_000_000  # bootstrap draws x clusters per block: bounded memory

METHOD_PERMUTATION = "sign-flip permutation (exact)"
METHOD_PERMUTATION_MC = "sign-flip permutation (Monte Carlo)"
METHOD_ONE = "one cluster: no test possible"
METHOD_T = "clustered standard error (t, G-1 df)"
METHOD_BOOTSTRAP = "cluster bootstrap (percentile)"
METHOD_NORMAL = "clustered standard error (normal)"


@dataclass(frozen=True, slots=True)
class ClusteredPaired:
    clusters: int
    n: int
    delta: float
    se: float  # CR1 clustered standard error
    naive_se: float  # the same data as independent cases (for the design effect)
    ci: Interval
    p_value: float
    method: str
    resamples: int | None

    def can_reject(self, alpha: float) -> bool:
        """Can the test reach p < alpha at all? Not with a sign-flip test on too few clusters."""
        return self.clusters >= FEW_CLUSTERS or 2.0 ** (1 - self.clusters) < alpha

    @property
    def design_effect(self) -> float:
        """Clustered variance over naive variance (1 = clustering costs nothing)."""
        if self.naive_se <= 0:
            return 1.0
        return max(1.0, (self.se / self.naive_se) ** 2)

    def to_json(self) -> dict[str, Any]:
        return {
            "clusters": self.clusters,
            "n": self.n,
            "delta": self.delta,
            "se": self.se,
            "naive_se": self.naive_se,
            "design_effect": self.design_effect,
            "ci": self.ci.to_json(),
            "p_value": self.p_value,
            "method": self.method,
            "resamples": self.resamples,
        }


def clustered_se(sums: np.ndarray, sizes: np.ndarray) -> tuple[float, float]:
    """(delta, CR1 standard error) from per-cluster difference sums and sizes."""
    d = np.asarray(sums, dtype=np.float64)
    m = np.asarray(sizes, dtype=np.float64)
    g = d.size
    total = m.sum()
    delta = d.sum() / total
    if g < 2:
        return float(delta), float("nan")
    resid = d - delta * m
    return float(delta), float(math.sqrt(g / (g - 1) * float(resid @ resid)) / total)


def naive_paired_se(fixed: int, broken: int, n: int) -> float:
    """Standard error of (fixed - broken) / n treating the n cases as independent."""
    if n <= 1:
        return float("nan")
    p10, p01 = fixed / n, broken / n
    return math.sqrt(max((p10 + p01 - (p10 - p01) ** 2), 0.0) / n)


def _flip_matrix(g: int, seed: int) -> np.ndarray:
    if g <= EXACT_CLUSTERS:
        return np.array(list(itertools.product((1.0, -1.0), repeat=g)))
    rng = np.random.default_rng(seed)
    return rng.choice((1.0, -1.0), size=(_MONTE_CARLO_FLIPS, g))


def sign_flip_p(sums: np.ndarray, sizes: np.ndarray, theta: float, flips: np.ndarray) -> float:
    """Two-sided p of H0: difference = theta, flipping each cluster's centred sum."""
    centred = np.asarray(sums, dtype=np.float64) - theta * np.asarray(sizes, dtype=np.float64)
    observed = abs(centred.sum())
    stats = np.abs(flips @ centred)
    return float(np.count_nonzero(stats >= observed - 1e-9) / len(flips))


def _inverted_interval(
    sums: np.ndarray, sizes: np.ndarray, delta: float, alpha: float, flips: np.ndarray
) -> Interval:
    """Every theta the sign-flip test does not reject at alpha (bisection on each side)."""

    def edge(outer: float) -> float:
        inside, outside = delta, outer
        if sign_flip_p(sums, sizes, outside, flips) > alpha:
            return outside
        for _ in range(40):
            mid = (inside + outside) / 2
            if sign_flip_p(sums, sizes, mid, flips) > alpha:
                inside = mid
            else:
                outside = mid
        return inside

    return Interval(edge(-1.0), edge(1.0), 1.0 - alpha)


def _bootstrap(
    sums: np.ndarray, sizes: np.ndarray, confidence: float, resamples: int, seed: int
) -> Interval:
    g = sums.size
    rng = np.random.default_rng(seed)
    block = max(1, _CHUNK_CELLS // g)
    deltas = np.empty(resamples)
    done = 0
    while done < resamples:
        size = min(block, resamples - done)
        idx = rng.integers(0, g, size=(size, g))
        deltas[done : done + size] = sums[idx].sum(axis=1) / sizes[idx].sum(axis=1)
        done += size
    alpha = 1.0 - confidence
    low, high = np.quantile(deltas, [alpha / 2, 1 - alpha / 2])
    # the bootstrap's spread lacks CR1's G / (G - 1): scale the ends' distances from delta by it
    centre = float(sums.sum() / sizes.sum())
    factor = math.sqrt(g / (g - 1))
    return Interval(
        float(centre - factor * (centre - low)),
        float(centre + factor * (high - centre)),
        confidence,
    )


def clustered_paired(
    sums: np.ndarray,
    sizes: np.ndarray,
    fixed: int,
    broken: int,
    *,
    confidence: float = DEFAULT_CONFIDENCE,
    resamples: int = DEFAULT_CLUSTER_RESAMPLES,
    seed: int = DEFAULT_SEED,
) -> ClusteredPaired | None:
    """The clustered interval and test of the paired difference; None without paired cases.

    `sums`/`sizes` are per cluster (clusters without paired cases left out); `fixed`/`broken` are
    the totals, for the naive standard error the design effect compares against.
    """
    d = np.asarray(sums, dtype=np.float64)
    m = np.asarray(sizes, dtype=np.float64)
    keep = m > 0
    d, m = d[keep], m[keep]
    g = int(d.size)
    if g == 0:
        return None
    z_value(confidence)
    n = int(m.sum())
    if g == 1:  # every paired case in one cluster: one observation, nothing can be shown
        delta = float(d.sum() / n)
        naive_one = naive_paired_se(fixed, broken, n)
        return ClusteredPaired(
            1, n, delta, 0.0, 0.0 if math.isnan(naive_one) else naive_one,
            Interval(-1.0, 1.0, confidence), 1.0, METHOD_ONE, None,
        )  # fmt: skip
    delta, se = clustered_se(d, m)
    naive = naive_paired_se(fixed, broken, n)
    alpha = 1.0 - confidence
    used: int | None
    if g < FEW_CLUSTERS:
        flips = _flip_matrix(g, seed)
        method = METHOD_PERMUTATION if g <= EXACT_CLUSTERS else METHOD_PERMUTATION_MC
        p = sign_flip_p(d, m, 0.0, flips)
        ci = _inverted_interval(d, m, delta, alpha, flips)
        used = len(flips)
    elif g < T_CLUSTERS:
        from scipy.stats import t as student_t

        z = delta / se if se > 0 else (0.0 if delta == 0 else math.inf)
        p = float(2 * student_t.sf(abs(z), g - 1)) if math.isfinite(z) else 0.0
        half = float(student_t.ppf(0.5 + confidence / 2, g - 1)) * se
        ci = Interval(delta - half, delta + half, confidence)
        method = METHOD_T
        used = None
    else:
        z = delta / se if se > 0 else (0.0 if delta == 0 else math.inf)
        p = 2 * (1 - NormalDist().cdf(abs(z))) if math.isfinite(z) else 0.0
        if g <= BOOTSTRAP_CLUSTERS:
            method = METHOD_BOOTSTRAP
            ci = _bootstrap(d, m, confidence, resamples, seed)
            used = resamples
        else:
            method = METHOD_NORMAL
            half = z_value(confidence) * se
            ci = Interval(delta - half, delta + half, confidence)
            used = None
    return ClusteredPaired(g, n, delta, se, naive, ci, min(1.0, p), method, used)
