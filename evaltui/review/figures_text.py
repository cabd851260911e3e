"""Figures as short plain text, the same in the CLI and the app: p-values, signed differences,
confidence levels, intervals, rates with their Wilson interval, spreads of repeats, and the rows
of the paired (compare) and drift tables.

This is the one place a figure's format is chosen: `compare` and the app's screens both call
these, so a p-value of 0.0004 reads `<0.001` on both. Plain strings (no Rich, no Textual); each
surface passes its own mark for a missing value (`-` in the CLI, the app's en dash).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from evaltui.review.stats import Interval, Proportion, Spread

if TYPE_CHECKING:
    from evaltui.review.drift import SliceDrift
    from evaltui.review.paired import PairedStats

MISSING = "-"
P_FLOOR = 0.001  # smaller p-values read `<0.001`: more digits claim a precision they lack


def pvalue(value: float | None, *, missing: str = MISSING) -> str:
    """`0.064`, or `<0.001` below the floor."""
    if value is None:
        return missing
    return f"<{P_FLOOR}" if value < P_FLOOR else f"{value:.3f}"


def signed(value: float | None, digits: int = 3, *, missing: str = MISSING) -> str:
    """A difference with its sign: `+0.019`."""
    return missing if value is None else f"{value:+.{digits}f}"


def divergence(value: float | None, *, missing: str = MISSING) -> str:
    """PSI or JS: four decimals (the readings' thresholds are 0.1 and 0.25)."""
    return missing if value is None else f"{value:.4f}"


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


def spread(s: Spread | None, digits: int = 3, *, sign: bool = False, missing: str = MISSING) -> str:
    """Repeated runs of one artifact: `mean 0.982 · sd 0.004 · se 0.002 · range 0.977–0.985`."""
    if s is None:
        return missing
    fmt = f"{{:{'+' if sign else ''}.{digits}f}}"
    parts = [f"mean {fmt.format(s.mean)}"]
    if s.sd is not None:
        parts.append(f"sd {s.sd:.{digits}f}")
    if s.se is not None:
        parts.append(f"se {s.se:.{digits}f}")
    parts.append(f"range {fmt.format(s.low)}…{fmt.format(s.high)}")
    return " · ".join(parts)


PAIRED_COLUMNS = ("n", "fixed", "broken", "delta", "CI", "p", "p Holm", "verdict")


def paired_cells(stats: PairedStats, *, missing: str = MISSING) -> list[str]:
    """One candidate's row of the paired table (`PAIRED_COLUMNS`), as `compare` prints it."""
    return [
        f"{stats.n:,}",
        f"{stats.fixed:,}",
        f"{stats.broken:,}",
        signed(stats.delta, missing=missing),
        interval(stats.ci, missing=missing),
        pvalue(stats.test_p, missing=missing) if stats.n else missing,
        pvalue(stats.holm_p, missing=missing),
        stats.verdict,
    ]


DRIFT_COLUMNS = ("reference", "current", "PSI", "JS", "reading", "noise", "note")


def drift_cells(entry: SliceDrift, *, missing: str = MISSING) -> list[str]:
    """One slice's row of the drift table (`DRIFT_COLUMNS`, after the slice's name)."""
    return [
        f"{entry.reference_count:,}",
        f"{entry.current_count:,}",
        divergence(entry.psi, missing=missing),
        divergence(entry.js, missing=missing),
        entry.reading,
        f"~{entry.noise_floor:.3f}",
        entry.notes(),
    ]
