"""The review of a set of runs against a baseline: contract audit, metrics, status, evidence.

This is the one answer every surface shows: the runs screen, `evaltui compare`, and the decision
file. A run's *state* is what a reader must see first: `INCOMPLETE` (the run says it did not
finish), `INCOMPARABLE` (it breaks the baseline's contract), otherwise its guardrail *status*.
Only a run whose state is `ELIGIBLE_FOR_CANARY_REVIEW` may be ranked or promoted without an
override. All runs are reviewed together with a fixed number of set-based queries over the runs' case sets
(`cells.py`, `store/case_sets.py`): metrics, coverage and paired counts never scan the results.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import duckdb

from evaltui.contract.model import ELIGIBLE_STATUS, INCOMPARABLE_STATE, INCOMPLETE_STATE
from evaltui.errors import NotFoundError
from evaltui.review.cells import (
    coverage_counts,
    metric_counts_from_cells,
    paired_counts_from_sets,
    route_cells,
)
from evaltui.review.clusters import cluster_field_for, cluster_sums
from evaltui.review.comparability import Difference, audit_contract, contract_values, short_reason
from evaltui.review.delta_guardrails import delta_inner, delta_values
from evaltui.review.evidence import Coverage, EvidenceFlag, evidence_flags, recompute_fingerprints
from evaltui.review.guardrails import GuardrailVerdict, evaluate_guardrails
from evaltui.review.metrics import Number, metric_values
from evaltui.review.paired import PairedSettings, PairedStats, complete, paired_statistics
from evaltui.review.repeats import RepeatGroup, group_repeats
from evaltui.review.stats import Proportion, proportion
from evaltui.store.queries import RunInfo, SuiteInfo, copies, get_runs, get_suites, list_runs


@dataclass(frozen=True, slots=True)
class RunReview:
    run: RunInfo
    is_baseline: bool
    differences: tuple[Difference, ...]
    verdict: GuardrailVerdict
    metrics_recomputed: Mapping[str, Number | None]
    evidence: tuple[EvidenceFlag, ...]
    coverage: Coverage
    contract: Mapping[str, str | None]
    paired: PairedStats | None  # None for the baseline and for runs on another suite
    intervals: Mapping[str, Proportion] = field(default_factory=dict)  # declared rates, Wilson

    @property
    def run_id(self) -> str:
        return self.run.run_id

    @property
    def comparable(self) -> bool:
        return not self.differences

    @property
    def status(self) -> str:
        """The guardrail status (what the suite's guardrails say, comparable or not)."""
        return self.verdict.status

    @property
    def state(self) -> str:
        """INCOMPLETE, INCOMPARABLE, or else the guardrail status: what to show first."""
        if self.run.incomplete is not None:
            return INCOMPLETE_STATE
        if not self.comparable:
            return INCOMPARABLE_STATE
        return self.verdict.status

    @property
    def eligible(self) -> bool:
        """Complete, comparable and passing every guardrail of a suite that declares some."""
        return self.state == ELIGIBLE_STATUS

    @property
    def state_label(self) -> str:
        """The state with the guardrail status beside it when they differ, for plain text."""
        if self.state == self.status:
            return self.state
        return f"{self.state} ({self.status})"

    @property
    def reason(self) -> str:
        """Why this run may not be ranked, in a few words (empty when comparable)."""
        return short_reason(self.differences)

    def logged_differs(self, metric: str) -> bool:
        """The run logged a value of `metric` its per-case routes do not give (an evidence flag)."""
        return any(f.kind == "metric" and f.field == metric for f in self.evidence)

    def to_json(self) -> dict[str, Any]:
        return {
            "run_id": self.run.run_id,
            "experiment": self.run.experiment,
            "artifact": self.run.artifact,
            "suite_id": self.run.suite_id,
            "started_at": self.run.started_at.isoformat(),
            "comparable": self.comparable,
            "differences": [d.to_json() for d in self.differences],
            "state": self.state,
            "status": self.status,
            "incomplete": self.run.incomplete,
            "guardrails": [o.to_json() for o in self.verdict.outcomes],
            "metrics": {
                "logged": dict(self.run.metrics),
                "recomputed": dict(self.metrics_recomputed),
            },
            "evidence_flags": [f.to_json() for f in self.evidence],
            "coverage": {"covered": self.coverage.covered, "total": self.coverage.total},
            "contract": dict(self.contract),
            "params": dict(self.run.params),
            "tags": dict(self.run.tags),
            "artifacts": list(self.run.artifacts),
            "intervals": {name: p.to_json() for name, p in self.intervals.items()},
            "paired": None if self.paired is None else self.paired.to_json(),
        }


@dataclass(frozen=True, slots=True)
class Review:
    suite: SuiteInfo  # the baseline's suite: it defines the contract
    baseline: RunReview
    runs: tuple[RunReview, ...]
    suites: Mapping[str, SuiteInfo]
    settings: PairedSettings = PairedSettings()  # noqa: RUF009 - frozen, safe as a default
    family: tuple[str, ...] = ()  # candidates whose McNemar p-values were Holm-adjusted together
    repeats: tuple[RepeatGroup, ...] = ()
    cluster_field: str | None = None  # the case field clustering the suite's cases, if any

    @property
    def adjustment_note(self) -> str:
        """One sentence on how the p-values were adjusted, for every surface that shows them."""
        m = len(self.family)
        if m == 0:
            return "no comparable candidate shares cases with the baseline: nothing to adjust"
        if m == 1:
            return "McNemar p for 1 comparable candidate: no adjustment needed"
        return (
            f"McNemar p-values adjusted for {m} comparable candidates (Holm); "
            "incomparable runs are outside the family and keep their raw p"
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "suite": {
                "suite_id": self.suite.suite_id,
                "fingerprints": self.suite.fingerprints(),
                "comparison_fields": list(self.suite.comparison_fields),
                "guardrails": [g.predicate for g in self.suite.guardrails],
            },
            "baseline": self.baseline.to_json(),
            "runs": [r.to_json() for r in self.runs],
            "repeats": [g.to_json() for g in self.repeats],
            "statistics": {
                **self.settings.to_json(),
                "cluster_field": self.cluster_field,
                "multiple_comparisons": {
                    "method": "holm",
                    "family": list(self.family),
                    "size": len(self.family),
                    "note": self.adjustment_note,
                },
            },
        }

    @property
    def pending(self) -> bool:
        """Some run's paired statistics still wait for their bootstrap (`complete_review`)."""
        return any(r.paired is not None and r.paired.pending for r in self.runs)

    def get(self, run_id: str) -> RunReview:
        if run_id == self.baseline.run_id:
            return self.baseline
        for review in self.runs:
            if review.run_id == run_id:
                return review
        raise NotFoundError(f"{run_id}: not part of this review")


def default_baseline(con: duckdb.DuckDBPyConnection, experiment: str) -> str:
    """The experiment's earliest run."""
    runs = list_runs(con, experiment=experiment)
    if not runs:
        raise NotFoundError(f"{experiment}: no runs in this experiment")
    return runs[0].run_id


def review_runs(
    con: duckdb.DuckDBPyConnection,
    baseline_id: str,
    run_ids: Iterable[str] | None = None,
    settings: PairedSettings = PairedSettings(),  # noqa: B008 - frozen, safe as a default
    *,
    defer_bootstrap: bool = False,
) -> Review:
    """Review `run_ids` (default: every other run of the baseline's experiment) against it.

    Paired statistics cover the runs on the baseline's suite; the comparable ones form the Holm
    family. Repeats (comparable runs of one artifact) are summarised in `Review.repeats`.

    With `defer_bootstrap` the paired statistics may come back `pending` (see
    `paired.paired_statistics`) and `complete_review` finishes them: the app shows the runs
    first. Not when a suite has a delta guardrail: a run's status, so its rank, then rests on
    the bootstrap, and everything is computed at once.
    """
    baseline_run = get_runs(con, [baseline_id])[0]
    if run_ids is None:
        others = [
            r for r in list_runs(con, experiment=baseline_run.experiment) if r.run_id != baseline_id
        ]
    else:
        others = [r for r in get_runs(con, run_ids) if r.run_id != baseline_id]
    everyone = [baseline_run, *others]
    suites = get_suites(con, {r.suite_id for r in everyone})
    contract_suite = suites[baseline_run.suite_id]
    fields = contract_suite.comparison_fields

    by_suite: dict[str, list[str]] = defaultdict(list)
    for run in everyone:
        by_suite[run.suite_id].append(run.run_id)
    metrics: dict[str, dict[str, Number | None]] = {}
    fingerprints: dict[str, dict[str, str]] = {}
    coverage: dict[str, Coverage] = {}
    counts: dict[str, dict[str, tuple[int, int]]] = {}
    for suite_id, ids in by_suite.items():
        # metrics and coverage from the runs' case sets: no pass over the results
        suite = suites[suite_id]
        cells = route_cells(con, suite, ids)
        for run_id in ids:
            counts[run_id] = metric_counts_from_cells(suite.metrics, cells.get(run_id, ()))
            metrics[run_id] = metric_values(suite.metrics, counts[run_id])
        prints, cover = recompute_fingerprints(con, suite, ids, coverage_counts(cells))
        fingerprints.update(prints)
        coverage.update(cover)
    same_suite = [r.run_id for r in others if r.suite_id == baseline_run.suite_id]
    pair_counts = paired_counts_from_sets(con, contract_suite, baseline_id, same_suite)
    differences = {
        run.run_id: audit_contract(
            baseline_run, run, fields, fingerprints[baseline_id], fingerprints[run.run_id]
        )
        for run in others
    }
    unfinished = {r.run_id for r in others if r.incomplete is not None}
    family = tuple(
        r for r in same_suite if not differences[r] and r not in unfinished and pair_counts[r].n > 0
    )
    cluster_field = cluster_field_for(contract_suite)
    clusters = (
        cluster_sums(con, contract_suite.suite_id, cluster_field, baseline_id, same_suite)
        if cluster_field
        else None
    )
    deltas = any(delta_inner(g.metric) is not None for s in suites.values() for g in s.guardrails)
    paired = paired_statistics(
        pair_counts, family, settings, clusters, defer_bootstrap=defer_bootstrap and not deltas
    )
    copied = copies(con, [r.run_id for r in everyone])

    def build(run: RunInfo, is_baseline: bool) -> RunReview:
        suite = suites[run.suite_id]
        judged = {
            **metrics[run.run_id],
            **delta_values(suite.guardrails, paired.get(run.run_id), is_baseline),
        }
        return RunReview(
            run=run,
            is_baseline=is_baseline,
            differences=() if is_baseline else differences[run.run_id],
            verdict=evaluate_guardrails(suite.guardrails, judged),
            metrics_recomputed=metrics[run.run_id],
            evidence=evidence_flags(
                run,
                suite,
                fingerprints[run.run_id],
                coverage[run.run_id],
                metrics[run.run_id],
                copied.get(run.run_id, ()),
            ),
            coverage=coverage[run.run_id],
            contract=contract_values(run, fields),
            paired=paired.get(run.run_id),
            intervals={
                m.name: proportion(*counts[run.run_id][m.name], settings.confidence)
                for m in suite.metrics
                if m.metric_kind.has_interval
            },
        )

    baseline = build(baseline_run, True)
    reviews = tuple(build(run, False) for run in others)
    return Review(
        suite=contract_suite,
        baseline=baseline,
        runs=reviews,
        suites=suites,
        settings=settings,
        family=family,
        repeats=group_repeats([baseline, *reviews], [m.name for m in contract_suite.metrics]),
        cluster_field=cluster_field,
    )


def complete_review(review: Review) -> Review:
    """`review` with every pending paired statistic computed (`paired.complete`).

    Equal to the review `review_runs` builds without deferring: deferring happens only when no
    guardrail rests on the paired interval, so statuses, ranks and repeats stay as they are.
    """
    if not review.pending:
        return review
    runs = tuple(
        r if r.paired is None or not r.paired.pending else replace(r, paired=complete(r.paired))
        for r in review.runs
    )
    return replace(review, runs=runs)
