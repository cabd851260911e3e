"""Statistics as short plain text, the same in the CLI and the app: confidence levels, intervals
and rates with their Wilson interval.

Plain ASCII strings (no Rich, no Textual): each surface passes its own mark for a missing value.
"""

from __future__ import annotations

from evaltui.review.stats import Interval, Proportion

MISSING = "-"


def level(confidence: float) -> str:
    """`0.95` -> `95%`, `0.995` -> `99.5%`."""
    percent = confidence * 100
    return f"{percent:.0f}%" if abs(percent - round(percent)) < 1e-9 else f"{percent:.1f}%"


def interval(ci: Interval | None, digits: int = 3, *, missing: str = MISSING) -> str:
    """A difference's interval, signed: `[-0.002, +0.040]`."""
    if ci is None:
        return missing
    return f"[{ci.low:+.{digits}f}, {ci.high:+.{digits}f}]"


def rate(p: Proportion | None, digits: int = 3, *, missing: str = MISSING) -> str:
    """A rate with its Wilson interval: `0.965 [0.945, 0.978]`."""
    if p is None or p.rate is None:
        return missing
    if p.interval is None:
        return f"{p.rate:.{digits}f}"
    return f"{p.rate:.{digits}f} [{p.interval.low:.{digits}f}, {p.interval.high:.{digits}f}]"
