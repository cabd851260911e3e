"""Power of a paired comparison of binary outcomes: the minimum detectable difference (MDD).

For n paired cases with a share psi of discordant pairs (one run right, the other wrong), the
McNemar test at two-sided level alpha detects a true difference delta = p10 - p01 with power

    power(delta) = Phi( (sqrt(n) * |delta| - z_{1-alpha/2} * sqrt(psi)) / sqrt(psi - delta^2) )

(Connor 1987, "Sample size for testing differences in proportions for the paired-sample design",
Biometrics 43:207-211; the normal approximation behind every McNemar sample-size table). The MDD is
the delta at which this power reaches the target (80%). psi is the observed discordant share but
never less than delta itself (a difference of delta needs at least that many discordant pairs). With
clustered cases, n is divided by the design effect (clustered variance / naive variance).
"""

from __future__ import annotations

import math
from statistics import NormalDist

DEFAULT_POWER = 0.8


def paired_power(delta: float, n: float, psi: float, alpha: float) -> float:
    """Approximate power of the two-sided McNemar test for a true difference `delta`."""
    if n <= 0:
        return 0.0
    d = abs(delta)
    psi = max(psi, d)
    if d == 0.0:
        return alpha
    z_a = NormalDist().inv_cdf(1 - alpha / 2)
    spread = math.sqrt(max(psi - d * d, 1e-15))
    return NormalDist().cdf((math.sqrt(n) * d - z_a * math.sqrt(psi)) / spread)


def min_detectable_difference(
    n: float,
    discordant_share: float,
    alpha: float,
    power: float = DEFAULT_POWER,
    design_effect: float = 1.0,
) -> float | None:
    """The smallest |difference| detected with `power` (None when no difference up to 1 is).

    Solved by bisection: power grows with delta on (0, 1].
    """
    if not (0 < alpha < 1 and 0 < power < 1):
        raise ValueError("alpha and power must lie in (0, 1)")
    n_eff = n / max(design_effect, 1e-12)
    if n_eff <= 0 or paired_power(1.0 - 1e-12, n_eff, discordant_share, alpha) < power:
        return None
    low, high = 0.0, 1.0
    for _ in range(60):
        mid = (low + high) / 2
        if paired_power(mid, n_eff, discordant_share, alpha) >= power:
            high = mid
        else:
            low = mid
    return high
