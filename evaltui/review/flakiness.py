"""Repeats of one artifact over the same cases: per-case pass^k, flaky cases, flips vs a baseline.

Inputs are per-case counts and outcome matrices the store already produced; everything here is
vectorised numpy. pass^k is the chance that k fresh attempts at a case all succeed, estimated
without bias from c successes in n attempts as C(c, k) / C(n, k) (tau-bench, Yao et al. 2024,
arXiv 2406.12045); a flaky case succeeded in some attempts and failed in others.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


def pass_hat_k(successes: np.ndarray, trials: np.ndarray, k: int) -> np.ndarray:
    """C(c, k) / C(n, k) per case (NaN where n < k): computed as a product, no big numbers."""
    c = np.asarray(successes, dtype=np.float64)
    n = np.asarray(trials, dtype=np.float64)
    if k < 1:
        raise ValueError(f"k must be at least 1, not {k}")
    out = np.ones(np.broadcast(c, n).shape)
    for j in range(k):
        with np.errstate(divide="ignore", invalid="ignore"):
            out = out * np.clip(c - j, 0, None) / (n - j)
    return np.where(n >= k, out, np.nan)


@dataclass(frozen=True, slots=True)
class Flakiness:
    cases: int
    attempts: int  # the largest number of attempts any case has
    flaky: int  # cases with both outcomes
    pass_at_1: float  # mean success share
    pass_hat: dict[int, float]  # k -> mean pass^k over cases with at least k attempts

    def to_json(self) -> dict[str, Any]:
        return {
            "cases": self.cases,
            "attempts": self.attempts,
            "flaky": self.flaky,
            "pass_at_1": self.pass_at_1,
            "pass_hat_k": {str(k): v for k, v in self.pass_hat.items()},
        }


def flakiness(successes: np.ndarray, trials: np.ndarray) -> Flakiness:
    c = np.asarray(successes, dtype=np.int64)
    n = np.asarray(trials, dtype=np.int64)
    if c.shape != n.shape or np.any(c < 0) or np.any(c > n):
        raise ValueError("need 0 <= successes <= trials for every case")
    keep = n > 0
    c, n = c[keep], n[keep]
    attempts = int(n.max()) if n.size else 0
    pass_hat = {}
    for k in range(1, attempts + 1):
        values = pass_hat_k(c, n, k)
        pass_hat[k] = float(np.nanmean(values)) if np.any(~np.isnan(values)) else float("nan")
    return Flakiness(
        cases=int(n.size),
        attempts=attempts,
        flaky=int(np.count_nonzero((c > 0) & (c < n))),
        pass_at_1=float((c / n).mean()) if n.size else float("nan"),
        pass_hat=pass_hat,
    )


def flip_counts(baseline: np.ndarray, runs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(fixed, broken) per case: how many runs got right a case the baseline got wrong, and the reverse.

    `baseline` is a bool vector (cases), `runs` a bool matrix (cases x runs); missing results are
    passed as masked entries (np.ma) and count as neither.
    """
    base = np.asarray(baseline, dtype=bool)[:, None]
    matrix = np.ma.asarray(runs)
    fixed = np.ma.sum(matrix.astype(bool) & ~base, axis=1).filled(0)
    broken = np.ma.sum(~matrix.astype(bool) & base, axis=1).filled(0)
    return np.asarray(fixed, dtype=np.int64), np.asarray(broken, dtype=np.int64)
