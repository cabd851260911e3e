"""Statistics as short plain text, the same in the CLI and the app: confidence levels, intervals
and rates with their Wilson interval.

Plain ASCII strings (no Rich, no Textual): each surface passes its own mark for a missing value.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from evaltui.review.stats import Interval, Proportion

if TYPE_CHECKING:
    from evaltui.review.paired import PairedStats

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


def margin_verdict(stats: PairedStats) -> str | None:
    """`not worse by more than 2 points: shown (bound -0.012)`; None without a margin."""
    ni = stats.non_inferiority
    if ni is None:
        return None
    return f"{ni.verdict} (bound {ni.bound:+.3f})"


def cluster_note(stats: PairedStats, field: str | None = None) -> str | None:
    """`42 clusters (document_id), cluster bootstrap (percentile)`; None without clusters."""
    c = stats.clustered
    if c is None:
        return None
    by = f" by {field}" if field else ""
    return f"{c.clusters} clusters{by}, {c.method}, design effect {c.design_effect:.1f}"


def mdd_note(stats: PairedStats) -> str | None:
    """`detectable: 0.031 (80% power, 5% level)`."""
    if stats.n == 0:
        return None
    mdd = stats.min_detectable_difference
    power = "80%"
    alpha = level(stats.settings.alpha)
    if mdd is None:
        return f"detectable: none at {power} power and {alpha} level on {stats.n} cases"
    return f"detectable: {mdd:.3f} ({power} power, {alpha} level)"


def paired_notes(stats: PairedStats, field: str | None = None) -> list[str]:
    """The margin verdict, the cluster note and the detectable difference, in that order."""
    return [
        line
        for line in (margin_verdict(stats), cluster_note(stats, field), mdd_note(stats))
        if line
    ]
