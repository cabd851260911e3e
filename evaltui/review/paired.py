"""Paired comparison of candidates with the baseline on the cases both have results for.

The runs' case sets give, for every candidate at once (`cells.paired_counts_from_sets`), the cases
it fixed (baseline wrong, candidate right), broke (the reverse), and those both got right or
wrong. Everything else is computed from those four counts, once, when the statistics are built:
the exact McNemar test, the paired bootstrap and Newcombe score intervals of the exact-route-rate
difference, Wilson intervals of both rates, Holm's adjustment across the candidates of one review,
the verdict and the warnings a reviewer needs before trusting a difference.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from evaltui.plural import agree, count
from evaltui.review.clustered import ClusteredPaired, clustered_paired
from evaltui.review.figures_text import level as confidence_level
from evaltui.review.noninferiority import NonInferiority, non_inferiority
from evaltui.review.power import DEFAULT_POWER, min_detectable_difference
from evaltui.review.stats import (
    DEFAULT_CONFIDENCE,
    DEFAULT_RESAMPLES,
    DEFAULT_SEED,
    Interval,
    Proportion,
    binomial_two_sided_half,
    holm_adjust,
    newcombe_paired_interval,
    paired_bootstrap_delta,
    proportion,
)


@dataclass(frozen=True, slots=True)
class PairedCounts:
    n: int
    fixed: int
    broken: int
    both_right: int
    both_wrong: int

    @property
    def delta(self) -> float | None:
        """Candidate's exact-route rate minus the baseline's, on the paired cases."""
        return (self.fixed - self.broken) / self.n if self.n else None

    @property
    def discordant(self) -> int:
        return self.fixed + self.broken

    def to_json(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "fixed": self.fixed,
            "broken": self.broken,
            "both_right": self.both_right,
            "both_wrong": self.both_wrong,
            "delta": self.delta,
        }


def mcnemar_exact(fixed: int, broken: int) -> float:
    """Two-sided exact McNemar test: a binomial test of the discordant pairs at p = 1/2."""
    return binomial_two_sided_half(min(fixed, broken), fixed + broken)


# -- statistics on the counts -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PairedSettings:
    """How the paired statistics are computed; part of the output, so a result can be replayed."""

    confidence: float = DEFAULT_CONFIDENCE
    resamples: int = DEFAULT_RESAMPLES
    seed: int = DEFAULT_SEED
    min_discordant: int = 10  # fewer discordant cases than this earns a warning
    margin: float | None = None  # non-inferiority margin M (compare --margin)

    @property
    def alpha(self) -> float:
        return 1.0 - self.confidence

    def to_json(self) -> dict[str, Any]:
        return {
            "confidence": self.confidence,
            "resamples": self.resamples,
            "seed": self.seed,
            "min_discordant": self.min_discordant,
            "margin": self.margin,
            "power": DEFAULT_POWER,
        }


@dataclass(frozen=True, slots=True)
class StatWarning:
    """Something a reviewer must know before trusting a figure. `code` is stable for scripts."""

    code: str
    message: str

    def to_json(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}


@dataclass(frozen=True, slots=True)
class PairedStats:
    """A candidate against the baseline on their shared cases: counts, test, intervals, warnings."""

    counts: PairedCounts
    ci: Interval | None  # bootstrap interval of `delta`
    baseline_rate: Proportion  # exact-route rate on the paired cases, with its Wilson interval
    candidate_rate: Proportion
    mcnemar_p: float  # exact McNemar test of the discordant cases, unadjusted
    holm_p: float | None  # None when the run is not in the adjusted family (e.g. incomparable)
    family_size: int  # how many candidates the Holm adjustment covered (0 when not adjusted)
    ranked: bool  # False for a run outside the family: its figures are shown, never ranked
    settings: PairedSettings
    verdict: str  # "better", "worse", "no clear difference", "not ranked" or "not paired"
    warnings: tuple[StatWarning, ...]
    clustered: ClusteredPaired | None = None  # when the suite names a cluster field
    non_inferiority: NonInferiority | None = None  # with a margin
    min_detectable_difference: float | None = None  # 80% power at the chosen level
    newcombe: Interval | None = None  # Newcombe's score interval of `delta` (unclustered only)
    # what margins and delta guardrails are judged on (see `decision_interval`)
    decision_ci: Interval | None = None
    decision_method: str | None = None
    # True while the bootstrap and what rests on it (the intervals, the verdict, the warnings,
    # the margin and the detectable difference) are still to be computed: see `complete`
    pending: bool = False

    @property
    def test_p(self) -> float:
        """The p-value the verdict rests on: the clustered test's when clusters apply."""
        return self.clustered.p_value if self.clustered is not None else self.mcnemar_p

    @property
    def n(self) -> int:
        return self.counts.n

    @property
    def fixed(self) -> int:
        return self.counts.fixed

    @property
    def broken(self) -> int:
        return self.counts.broken

    @property
    def both_right(self) -> int:
        return self.counts.both_right

    @property
    def both_wrong(self) -> int:
        return self.counts.both_wrong

    @property
    def discordant(self) -> int:
        return self.counts.discordant

    @property
    def delta(self) -> float | None:
        return self.counts.delta

    def to_json(self) -> dict[str, Any]:
        if self.pending:  # a file or a script must never get "…" for a verdict
            raise ValueError("paired statistics still pending: complete() them first")
        return {
            **self.counts.to_json(),
            "mcnemar_p": self.mcnemar_p,
            "discordant": self.discordant,
            "ci": None if self.ci is None else self.ci.to_json(),
            "confidence": self.settings.confidence,
            "holm_p": self.holm_p,
            "adjustment": "holm" if self.holm_p is not None else None,
            "family_size": self.family_size,
            "ranked": self.ranked,
            "baseline_rate": self.baseline_rate.to_json(),
            "candidate_rate": self.candidate_rate.to_json(),
            "bootstrap": {
                "method": "percentile, paired cases resampled with replacement",
                "resamples": self.settings.resamples,
                "seed": self.settings.seed,
            },
            "newcombe_ci": None if self.newcombe is None else self.newcombe.to_json(),
            "decision_ci": None if self.decision_ci is None else self.decision_ci.to_json(),
            "decision_method": self.decision_method,
            "clusters": None if self.clustered is None else self.clustered.clusters,
            "clustered": None if self.clustered is None else self.clustered.to_json(),
            "min_detectable_difference": self.min_detectable_difference,
            "power": DEFAULT_POWER,
            "margin": None if self.non_inferiority is None else self.non_inferiority.margin,
            "non_inferior": None if self.non_inferiority is None else self.non_inferiority.shown,
            "non_inferiority": None
            if self.non_inferiority is None
            else self.non_inferiority.to_json(),
            "verdict": self.verdict,
            "warnings": [w.to_json() for w in self.warnings],
        }


PENDING_VERDICT = "…"  # the verdict of statistics still being computed (`pending`)

METHOD_BOOTSTRAP = "bootstrap"
METHOD_NEWCOMBE = "newcombe"
DECISION_BOTH = "wider of bootstrap and newcombe at each end"


def decision_interval(
    bootstrap: Interval | None, newcombe: Interval | None
) -> tuple[Interval | None, str | None]:
    """The interval a margin or a delta guardrail is judged on, and how it was chosen.

    The percentile bootstrap collapses onto the observed counts when they are few: with no broken
    case every resample has delta >= 0, so its lower end is exactly 0 whatever n, and 4 cases
    would "show" non-inferiority. Newcombe's score interval does not, and at thousands of cases
    the two agree. So each end is the more cautious of the two: the lower of the lower ends, the
    higher of the upper ends. Either one alone is used when the other is missing.
    """
    if bootstrap is None or newcombe is None:
        chosen = bootstrap or newcombe
        if chosen is None:
            return None, None
        return chosen, METHOD_BOOTSTRAP if chosen is bootstrap else METHOD_NEWCOMBE
    low = min(bootstrap.low, newcombe.low)
    high = max(bootstrap.high, newcombe.high)
    return Interval(low, high, bootstrap.confidence), DECISION_BOTH


def _lower_from(bootstrap: Interval | None, newcombe: Interval | None) -> str:
    """Which interval gives the decision interval's lower end: `newcombe` or `bootstrap`."""
    if newcombe is not None and (bootstrap is None or newcombe.low < bootstrap.low):
        return METHOD_NEWCOMBE
    return METHOD_BOOTSTRAP


def _paired(
    counts: PairedCounts,
    mcnemar_p: float,
    settings: PairedSettings,
    holm_p: float | None,
    family_size: int,
    ranked: bool,
    clustered: ClusteredPaired | None = None,
) -> PairedStats:
    """Every paired statistic of one candidate, from its four counts and McNemar p (pure).

    Each figure, the verdict included, is computed here once: reading a `PairedStats` costs
    nothing, so a screen can show it on the UI thread. With clusters, the interval and the test
    are the clustered ones and the detectable difference grows by the design effect.
    """
    ties = counts.both_right + counts.both_wrong
    ci = (
        clustered.ci
        if clustered is not None
        else paired_bootstrap_delta(
            counts.fixed,
            counts.broken,
            ties,
            resamples=settings.resamples,
            seed=settings.seed,
            confidence=settings.confidence,
        )
    )
    decision_method: str | None
    if clustered is not None:  # the cluster-aware interval already accounts for the design
        newcombe = None
        decision, decision_method = ci, clustered.method
        bound_method = clustered.method
    else:
        newcombe = newcombe_paired_interval(
            counts.both_right, counts.fixed, counts.broken, counts.both_wrong, settings.confidence
        )
        decision, decision_method = decision_interval(ci, newcombe)
        bound_method = _lower_from(ci, newcombe)
    test_p = clustered.p_value if clustered is not None else mcnemar_p
    baseline_rate, candidate_rate = _rates(counts, settings)
    stats = PairedStats(
        counts=counts,
        ci=ci,
        baseline_rate=baseline_rate,
        candidate_rate=candidate_rate,
        mcnemar_p=mcnemar_p,
        holm_p=holm_p,
        family_size=family_size,
        ranked=ranked,
        settings=settings,
        verdict=_verdict(counts, ci, test_p, holm_p, ranked, settings.alpha),
        warnings=(),
        clustered=clustered,
        non_inferiority=None
        if settings.margin is None
        else non_inferiority(decision, settings.margin, bound_method),
        min_detectable_difference=min_detectable_difference(
            counts.n,
            counts.discordant / counts.n if counts.n else 0.0,
            settings.alpha,
            design_effect=1.0 if clustered is None else clustered.design_effect,
        )
        if counts.n and (clustered is None or clustered.can_reject(settings.alpha))
        else None,
        newcombe=newcombe,
        decision_ci=decision,
        decision_method=decision_method,
    )
    return replace(stats, warnings=paired_warnings(stats))


def _rates(counts: PairedCounts, settings: PairedSettings) -> tuple[Proportion, Proportion]:
    """Both runs' rates of right answers over the paired cases, with their intervals."""
    base_right = counts.both_right + counts.broken
    cand_right = counts.both_right + counts.fixed
    return (
        proportion(base_right, counts.n, settings.confidence),
        proportion(cand_right, counts.n, settings.confidence),
    )


def _pending(
    counts: PairedCounts,
    mcnemar_p: float,
    settings: PairedSettings,
    holm_p: float | None,
    family_size: int,
    ranked: bool,
) -> PairedStats:
    """A candidate's counts and tests without the bootstrap and what rests on it (`pending`).

    The counts, McNemar p, its Holm adjustment and both rates are final; `complete` adds the
    rest, exactly as `_paired` computes it. A review of 500 runs opens without 499 bootstraps.
    """
    baseline_rate, candidate_rate = _rates(counts, settings)
    return PairedStats(
        counts=counts,
        ci=None,
        baseline_rate=baseline_rate,
        candidate_rate=candidate_rate,
        mcnemar_p=mcnemar_p,
        holm_p=holm_p,
        family_size=family_size,
        ranked=ranked,
        settings=settings,
        verdict=PENDING_VERDICT,
        warnings=(),
        pending=True,
    )


def complete(stats: PairedStats) -> PairedStats:
    """`stats` with every figure computed: what `paired_statistics` gives without deferring."""
    if not stats.pending:
        return stats
    return _paired(
        stats.counts,
        stats.mcnemar_p,
        stats.settings,
        stats.holm_p,
        stats.family_size,
        stats.ranked,
    )


def _verdict(
    counts: PairedCounts,
    ci: Interval | None,
    test_p: float,
    holm_p: float | None,
    ranked: bool,
    alpha: float,
) -> str:
    """ "better" / "worse" only when the interval excludes 0 and the (adjusted) p agrees.

    A run outside the family (incomparable with the baseline) is "not ranked", whatever its
    figures say: it is never put above or below the baseline.
    """
    if counts.n == 0 or ci is None or counts.delta is None:
        return "not paired"
    if not ranked:
        return "not ranked"
    p = holm_p if holm_p is not None else test_p
    if p < alpha and ci.low > 0:
        return "better"
    if p < alpha and ci.high < 0:
        return "worse"
    return "no clear difference"


def min_discordant_for(alpha: float) -> int:
    """The fewest discordant cases for which the exact test can reach p < alpha at all."""
    # the smallest two-sided p with d discordant cases is 2 * 0.5**d (all of them one way)
    return math.floor(math.log2(2.0 / alpha)) + 1


def paired_warnings(stats: PairedStats) -> tuple[StatWarning, ...]:
    """Honest caveats on one paired comparison (see docs/statistics.md, "Warnings")."""
    s = stats.settings
    level = confidence_level(s.confidence)
    if stats.n == 0:
        return (
            StatWarning(
                "no_paired_cases", "no case has results from both runs: nothing to compare"
            ),
        )
    out: list[StatWarning] = []
    d = stats.discordant
    if d < s.min_discordant:
        floor = min_discordant_for(s.alpha)
        unreachable = (
            f"; with fewer than {floor}, p < {s.alpha:g} is impossible" if d < floor else ""
        )
        out.append(
            StatWarning(
                "few_discordant",
                f"only {count(d, 'case')} {agree(d, 'differs', 'differ')} between the runs "
                f"({stats.fixed} fixed, {stats.broken} broken): "
                f"too few for the McNemar test to show a change{unreachable}",
            )
        )
    ci, delta = stats.ci, stats.delta
    if ci is not None and delta is not None:
        if ci.contains(0.0):
            out.append(
                StatWarning(
                    "ci_includes_zero",
                    f"the {level} interval of the difference [{ci.low:+.3f}, {ci.high:+.3f}] "
                    "includes 0: these cases do not show that the candidate differs from the "
                    "baseline",
                )
            )
        few_clusters = stats.clustered is not None and not stats.clustered.can_reject(s.alpha)
        if delta != 0 and ci.width > abs(delta) and not few_clusters:
            needed = math.ceil(stats.n * (ci.width / abs(delta)) ** 2)
            out.append(
                StatWarning(
                    "suite_too_small",
                    f"the {level} interval is {ci.width:.3f} wide, wider than the "
                    f"{delta:+.3f} difference claimed: about {needed:,} paired cases "
                    f"(now {stats.n:,}) would pin a difference of "
                    "this size, if the share of changed cases stays the same",
                )
            )
    if stats.clustered is not None and not stats.clustered.can_reject(s.alpha):
        out.append(
            StatWarning(
                "few_clusters",
                f"only {stats.clustered.clusters} clusters: the {stats.clustered.method} test "
                f"cannot reach p < {s.alpha:g} whatever the cases say",
            )
        )
    mdd = stats.min_detectable_difference
    if delta is not None and delta != 0 and (mdd is None or abs(delta) < mdd):
        out.append(
            StatWarning(
                "below_detectable",
                f"the difference {delta:+.3f} is smaller than the "
                + ("largest possible" if mdd is None else f"{mdd:.3f}")
                + f" this suite detects with {DEFAULT_POWER:.0%} power at {s.alpha:g}"
                + ("" if stats.clustered is None else f" ({stats.clustered.clusters} clusters)")
                + ": do not rank on it",
            )
        )
    holm = stats.holm_p
    if holm is not None and stats.family_size > 1 and stats.test_p < s.alpha <= holm:
        out.append(
            StatWarning(
                "significant_only_unadjusted",
                f"p = {stats.test_p:.3g} is below {s.alpha:g} only before adjusting for "
                f"{stats.family_size} candidates (Holm p = {holm:.3g}): with several "
                "candidates one of them looks better by chance",
            )
        )
    return tuple(out)


def paired_statistics(
    counts: Mapping[str, PairedCounts],
    family: Iterable[str],
    settings: PairedSettings = PairedSettings(),  # frozen: safe as a default
    clusters: Mapping[str, tuple[np.ndarray, np.ndarray]] | None = None,
    *,
    defer_bootstrap: bool = False,
) -> dict[str, PairedStats]:
    """Statistics for every candidate; the p-values of `family` are Holm-adjusted together.

    The family is the set of candidates a reviewer ranks against the baseline (the comparable
    ones); runs outside it keep their unadjusted p-value and `holm_p` None. `clusters` gives,
    per run, each cluster's (fixed - broken) sum and paired-case count (see clustered.py); the
    clustered test's p then replaces McNemar's in the family.

    With `defer_bootstrap`, a run with paired cases and no clusters gets `pending` statistics
    (`_pending`): everything but the bootstrap and what rests on it, which `complete` adds
    later, in a worker. The bootstrap is most of a review's cost (1 to 5 ms a run).
    """
    p_values = {run_id: mcnemar_exact(c.fixed, c.broken) for run_id, c in counts.items()}
    clustered: dict[str, ClusteredPaired | None] = {
        run_id: (
            clustered_paired(
                *clusters[run_id],
                c.fixed,
                c.broken,
                confidence=settings.confidence,
                seed=settings.seed,
            )
            if clusters is not None and run_id in clusters
            else None
        )
        for run_id, c in counts.items()
    }
    test_p = {
        run_id: p if clustered[run_id] is None else clustered[run_id].p_value  # type: ignore[union-attr]
        for run_id, p in p_values.items()
    }
    members = [
        run_id for run_id in dict.fromkeys(family) if run_id in counts and counts[run_id].n > 0
    ]
    adjusted = dict(zip(members, holm_adjust([test_p[m] for m in members]), strict=True))

    def stats_of(run_id: str, c: PairedCounts) -> PairedStats:
        in_family = run_id in adjusted
        size = len(members) if in_family else 0
        if defer_bootstrap and c.n > 0 and clustered[run_id] is None:
            return _pending(c, p_values[run_id], settings, adjusted.get(run_id), size, in_family)
        return _paired(
            c, p_values[run_id], settings, adjusted.get(run_id), size, in_family, clustered[run_id]
        )

    return {run_id: stats_of(run_id, c) for run_id, c in counts.items()}
