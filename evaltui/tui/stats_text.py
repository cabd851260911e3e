"""How the paired statistics read in the app: intervals, p-values, verdicts and warnings.

Every figure here was computed in a worker, with the review; these functions only format them,
so the runs panel, the side-by-side screen and the cases screen say the same thing the same way.
The plain-text forms shared with the CLI live in `evaltui.review.figures_text`; these use the
app's mark for a missing value. The verdict is a word, never only a color: "better" / "worse"
need the interval to exclude 0 and the (Holm-adjusted) p to agree.
"""

from __future__ import annotations

from rich.text import Text

from evaltui.plural import count
from evaltui.review import figures_text
from evaltui.review.figures_text import level
from evaltui.review.paired import PENDING_VERDICT, PairedStats
from evaltui.review.stats import Interval, Proportion, Spread
from evaltui.tui.text import NONE, pvalue, signed

WARNING_MARK = "⚠"
PENDING = PENDING_VERDICT  # a figure still being computed
STRONG_VERDICTS = ("better", "worse")


def interval(ci: Interval | None, digits: int = 3) -> str:
    """A difference's interval, signed: `[-0.002, +0.040]`."""
    return figures_text.interval(ci, digits, missing=NONE)


def rate(p: Proportion | None, digits: int = 3) -> str:
    """A rate with its Wilson interval: `0.965 [0.945, 0.978]`."""
    return figures_text.rate(p, digits, missing=NONE)


def holm(figures: PairedStats | None) -> str:
    if figures is None:
        return NONE
    if figures.holm_p is None:
        return f"{NONE} (not in the ranked family)"
    if figures.family_size <= 1:
        return f"{pvalue(figures.holm_p)} (1 candidate: unadjusted)"
    return f"{pvalue(figures.holm_p)} ({count(figures.family_size, 'candidate')})"


def verdict_style(verdict: str) -> str:
    return "bold" if verdict in STRONG_VERDICTS else ""


def compact(figures: PairedStats | None, confidence: float, *, count_warnings: bool = True) -> Text:
    """One line that fits 80 columns: verdict, Δ with its interval, McNemar and Holm p, warnings.

    `no clear difference · Δ +0.019, 95% CI +0.000…+0.038 · p 0.064, Holm 0.383 ⚠3`
    (`⚠3`: three warnings, listed where there is room for them).
    """
    if figures is None:
        return Text(f"paired {NONE}: no shared cases with the baseline", style="dim")
    out = Text(figures.verdict, style=verdict_style(figures.verdict) or "italic")
    ci = figures.ci
    span = NONE if ci is None else f"{ci.low:+.3f}…{ci.high:+.3f}"
    if figures.pending:  # the bootstrap is on its way (the runs screen's review)
        span = PENDING
    out.append(f" · Δ {signed(figures.delta)}, {level(confidence)} CI {span}")
    out.append(f" · p {pvalue(figures.test_p)}")
    if figures.holm_p is not None and figures.family_size > 1:
        out.append(f", Holm {pvalue(figures.holm_p)}")
    if figures.warnings and count_warnings:
        out.append(f" {WARNING_MARK}{len(figures.warnings)}", style="bold")
    return out


def power_line(figures: PairedStats | None) -> Text:
    """The pair header's second line, within 80 columns: the margin verdict, the detectable
    difference and the clusters.

    `not worse by more than 2 points: shown · MDD 0.028 · 12 clusters` (MDD: the minimum
    detectable difference at 80% power; the cluster field and method are in the side by side).
    """
    if figures is None or figures.n == 0:
        return Text("")
    out = Text()
    ni = figures.non_inferiority
    if ni is not None:
        head, _, answer = ni.verdict.rpartition(": ")
        out.append(f"{head}: ")
        out.append(answer, style="bold" if ni.shown else "bold italic")
        out.append(" · ")
    mdd = figures.min_detectable_difference
    out.append("MDD " + (NONE if mdd is None else f"{mdd:.3f}"))
    c = figures.clustered
    if c is not None:
        out.append(f" · {c.clusters:,} clusters")
    return out


def spread(s: Spread | None, digits: int = 3, *, sign: bool = False) -> str:
    """Repeated runs of one artifact: `mean 0.982 · sd 0.004 · se 0.002 · range 0.977–0.985`."""
    return figures_text.spread(s, digits, sign=sign, missing=NONE)
