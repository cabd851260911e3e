"""What a decision on one run would rest on, before anyone signs: `prepare()`.

A draft reviews the whole experiment against the baseline (so every run looked at ends up in the
record, rejected ones included) and lists the reasons the chosen run may not be promoted without
an override: incomparable with the baseline, a failed guardrail, evidence flags. When several
runs are eligible, the draft says so; the reviewer must have picked this one explicitly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import duckdb

from evaltui.contract.model import NO_GUARDRAILS_STATUS
from evaltui.decision.verdicts import VerdictEffect, pair_effect
from evaltui.plural import count
from evaltui.review.paired import PairedSettings
from evaltui.review.report import Review, RunReview, default_baseline, review_runs
from evaltui.store.queries import get_run, list_runs

CHOICE_KIND = "choice"  # several eligible runs and no explicit choice: choosing answers it


@dataclass(frozen=True, slots=True)
class Refusal:
    """One reason the run may not be promoted without a written override."""

    # incomplete, incomparable, guardrail or evidence (an override answers these), or CHOICE_KIND
    kind: str
    message: str

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "message": self.message}


@dataclass(frozen=True, slots=True)
class DecisionDraft:
    review: Review
    run: RunReview
    refusals: tuple[Refusal, ...]
    eligible_run_ids: tuple[str, ...]  # comparable, evidence-clean, eligible candidates
    # the pair's verdicts (waivers, relabels) and what they change; None: none were read
    verdicts: VerdictEffect | None = None

    @property
    def review_status(self) -> str:
        """The run's status with its verdicts applied (ELIGIBLE_WITH_WAIVERS when only they
        make it pass): what the record's `review_status` says and a replay must reproduce."""
        return self.run.status if self.verdicts is None else self.verdicts.status

    @property
    def baseline(self) -> RunReview:
        return self.review.baseline

    @property
    def needs_override(self) -> bool:
        return bool(self.refusals)

    @property
    def several_eligible(self) -> bool:
        """More than one candidate is eligible: the choice of this one must be explicit."""
        return len(self.eligible_run_ids) > 1

    @property
    def other_eligible(self) -> tuple[str, ...]:
        return tuple(r for r in self.eligible_run_ids if r != self.run.run_id)

    @property
    def default_invariants(self) -> tuple[str, ...]:
        """The canary keeps watching what the suite's guardrails demanded offline."""
        return tuple(g.predicate for g in self.review.suite.guardrails)

    @property
    def suggested_rollback(self) -> str:
        """The baseline's artifact: usually what serves today. Never filled in silently."""
        return self.baseline.run.artifact

    def considered(self) -> list[RunReview]:
        return [self.review.baseline, *self.review.runs]


def is_eligible_candidate(review: RunReview) -> bool:
    return not review.is_baseline and review.eligible and not review.evidence


def refusals_for(review: RunReview, verdicts: VerdictEffect | None = None) -> tuple[Refusal, ...]:
    """Why the run may not be promoted without an override; with `verdicts`, the guardrails are
    judged after the pair's waivers and relabels."""
    out = []
    verdict = review.verdict if verdicts is None else verdicts.after
    status = review.status if verdicts is None else verdicts.status
    if review.run.incomplete is not None:
        out.append(
            Refusal("incomplete", f"{review.run_id} did not finish: {review.run.incomplete}")
        )
    if not review.comparable:
        fields = "; ".join(d.describe() for d in review.differences)
        out.append(
            Refusal(
                "incomparable", f"{review.run_id} is not comparable with the baseline: {fields}"
            )
        )
    if status == NO_GUARDRAILS_STATUS:
        out.append(
            Refusal(
                "guardrail",
                f"{review.run_id} is {NO_GUARDRAILS_STATUS}: suite {review.run.suite_id} declares "
                "no guardrail on quality (give one in a gates file)",
            )
        )
    elif not verdict.eligible:
        failed = ", ".join(
            f"{o.predicate} (observed {'undefined' if o.observed is None else o.observed})"
            for o in verdict.failed
        )
        after = "" if verdicts is None or not verdicts.applied else " after its verdicts"
        out.append(Refusal("guardrail", f"{review.run_id} is {status}{after}: fails {failed}"))
    if review.evidence:
        out.append(
            Refusal(
                "evidence",
                f"{review.run_id} has {count(len(review.evidence), 'evidence flag')}: "
                + "; ".join(f.message for f in review.evidence),
            )
        )
    return tuple(out)


def prepare(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    baseline_id: str | None = None,
    settings: PairedSettings = PairedSettings(),  # noqa: B008 - frozen, safe as a default
) -> DecisionDraft:
    """Review `run_id` and the rest of the baseline's experiment against the baseline.

    The baseline defaults to the run's experiment's earliest run (what the CLI does; the app
    passes its pinned baseline). `settings` are the paired statistics' (the application layer
    passes the ones the app reviews with, so both surfaces record the same evidence).
    """
    run = get_run(con, run_id)
    if baseline_id is None:
        baseline_id = default_baseline(con, run.experiment)
    baseline = get_run(con, baseline_id)
    ids = [
        r.run_id for r in list_runs(con, experiment=baseline.experiment) if r.run_id != baseline_id
    ]
    if run_id not in ids and run_id != baseline_id:
        ids.append(run_id)
    review = review_runs(con, baseline_id, ids, settings)
    return draft_for(review, run_id, pair_effect(con, review, run_id))


def draft_for(review: Review, run_id: str, verdicts: VerdictEffect | None = None) -> DecisionDraft:
    """The draft for `run_id` from a review that holds it (the app passes its pinned review),
    with the pair's verdicts when given (`verdicts.pair_effect`)."""
    chosen = review.get(run_id)
    eligible = tuple(r.run_id for r in review.runs if is_eligible_candidate(r))
    return DecisionDraft(review, chosen, refusals_for(chosen, verdicts), eligible, verdicts)
