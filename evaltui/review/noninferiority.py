"""Non-inferiority: is the candidate worse than the baseline by more than a margin M?

Promotion is a non-inferiority question, not "are they different?". The answer is read off the
lower end of the paired difference's decision interval (paired.decision_interval: the lower of the
bootstrap and Newcombe lower ends, or the clustered interval): when it lies above -M, the candidate
is shown not to be worse by more than M. The lower end of a two-sided
interval at level c is a one-sided bound at level (1 + c) / 2 (97.5% for the usual 95%), the
convention of regulatory non-inferiority trials (ICH E9, E10). See docs/statistics.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from evaltui.review.stats import Interval

DEFAULT_MARGIN = 0.02  # 2 points: the app's margin, and the canary test's default


@dataclass(frozen=True, slots=True)
class NonInferiority:
    margin: float  # M, as a rate difference (0.02 = 2 points)
    bound: float  # the interval's lower end
    one_sided_level: float  # (1 + confidence) / 2
    method: str = "interval"  # which interval gave the bound: `newcombe`, `bootstrap`, clustered

    @property
    def shown(self) -> bool:
        return self.bound > -self.margin

    @property
    def verdict(self) -> str:
        """`not worse by more than 2 points: shown` (or `not shown`)."""
        return f"not worse by more than {points(self.margin)}: {'shown' if self.shown else 'not shown'}"

    def to_json(self) -> dict[str, Any]:
        return {
            "margin": self.margin,
            "bound": self.bound,
            "method": self.method,
            "one_sided_level": self.one_sided_level,
            "non_inferior": self.shown,
            "verdict": self.verdict,
        }


def points(margin: float) -> str:
    """0.02 -> `2 points`, 0.015 -> `1.5 points`, 0.01 -> `1 point`."""
    value = margin * 100
    text = f"{value:.0f}" if abs(value - round(value)) < 1e-9 else f"{value:.2g}"
    return f"{text} point" + ("" if text == "1" else "s")


def non_inferiority(
    ci: Interval | None, margin: float, method: str = "interval"
) -> NonInferiority | None:
    """The verdict for margin M >= 0 from the difference's interval; None without an interval.

    `method` names where the interval's lower end came from, for the output.
    """
    if not 0.0 <= margin < 1.0:
        raise ValueError(f"the margin must be a rate difference in [0, 1), not {margin}")
    if ci is None:
        return None
    return NonInferiority(margin, ci.low, (1.0 + ci.confidence) / 2, method)
