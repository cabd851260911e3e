"""The worked example end to end: statuses, the comparability audit, evidence checks and paired counts."""

from __future__ import annotations

from evaltui.review.report import default_baseline, review_runs


def test_example_statuses_and_recomputed_metrics(sample_con) -> None:
    review = review_runs(sample_con, "run_001")
    assert review.baseline.status == "REJECT_UNSAFE_SERVE"
    by_id = {r.run_id: r for r in review.runs}
    assert by_id["run_002"].status == "REJECT_UNNECESSARY_ABSTENTION"
    assert by_id["run_003"].status == "ELIGIBLE_FOR_CANARY_REVIEW"
    assert review.baseline.metrics_recomputed == {
        "unsafe_claim_served": 2,
        "unnecessary_abstention": 0,
        "exact_route_rate": 0.5,
    }
    assert by_id["run_002"].metrics_recomputed["exact_route_rate"] == 0.75
    assert by_id["run_003"].metrics_recomputed["exact_route_rate"] == 1.0
    # run_002 is rejected even though it fixed the incident: the rejection reason stays visible
    failed = [o.predicate for o in by_id["run_002"].verdict.failed]
    assert failed == ["unnecessary_abstention == 0"]


def test_incomparable_runs_name_every_differing_field(sample_con) -> None:
    review = review_runs(sample_con, "run_001")
    by_id = {r.run_id: r for r in review.runs}
    assert by_id["run_002"].comparable and by_id["run_003"].comparable
    changed_suite = by_id["run_004"]
    assert not changed_suite.comparable
    fields = {d.field: (d.baseline, d.value) for d in changed_suite.differences}
    assert fields["suite_id"] == ("ci-claim-gate-v1", "ci-claim-gate-v2")
    assert fields["holdout_sha"][0] == "d47cdbbfe1caae89"
    assert fields["holdout_sha"][1] != "d47cdbbfe1caae89"
    assert fields["evaluation_sha"][0] == "94dfc930d2829d2c"
    assert "regression_sha" not in fields  # same regression split: not a difference
    evaluator = by_id["run_005"]
    assert [(d.field, d.baseline, d.value) for d in evaluator.differences] == [
        ("evaluator_version", "claim-route-eval-v2", "claim-route-eval-v3")
    ]
    # incomparable runs still carry their own guardrail status, from their own results
    assert evaluator.status == "ELIGIBLE_FOR_CANARY_REVIEW"


def test_claims_that_match_raise_no_flags(sample_con) -> None:
    review = review_runs(sample_con, "run_001")
    for run in (review.baseline, *review.runs):
        assert run.evidence == (), run.run_id


def test_hard_coded_metric_is_flagged_and_status_uses_recomputed_value(sample_con) -> None:
    review = review_runs(sample_con, "sr-prod-v3.4", ["sr-v3.5-rc4"])
    lying = review.runs[0]
    assert lying.run.metrics["unsafe_serve"] == 0  # what it logged
    assert lying.metrics_recomputed["unsafe_serve"] > 0
    assert lying.status == "REJECT_UNSAFE_SERVE"
    [flag] = [f for f in lying.evidence if f.kind == "metric"]
    assert flag.field == "unsafe_serve"
    assert flag.claimed == 0
    assert flag.recomputed == lying.metrics_recomputed["unsafe_serve"]


def test_partial_run_claiming_full_fingerprint_is_flagged_and_incomparable(sample_con) -> None:
    review = review_runs(sample_con, "sr-prod-v3.4", ["sr-v3.5-rc3-quick"])
    quick = review.runs[0]
    kinds = sorted({f.kind for f in quick.evidence})
    assert kinds == ["coverage", "fingerprint"]
    evaluation = next(f for f in quick.evidence if f.field == "evaluation_sha")
    assert evaluation.claimed == review.suite.evaluation_sha
    assert evaluation.recomputed == review.suite.fingerprints()["regression_sha"]
    assert quick.coverage.covered == 160 and quick.coverage.total == 520
    assert not quick.comparable
    assert {d.source for d in quick.differences} == {"recomputed"}


def test_paired_counts_match_the_example(sample_con) -> None:
    review = review_runs(sample_con, "run_001", ["run_002", "run_003"])
    by_id = {r.run_id: r.paired for r in review.runs}
    # run_001 serves everything: wrong on req_205 and hold_002
    assert by_id["run_003"] is not None
    assert (by_id["run_003"].fixed, by_id["run_003"].broken) == (2, 0)
    assert by_id["run_003"].delta == 0.5
    assert (by_id["run_002"].fixed, by_id["run_002"].broken) == (2, 1)
    assert by_id["run_002"].both_right == 1 and by_id["run_002"].both_wrong == 0


def test_default_baseline_is_the_earliest_run(sample_con) -> None:
    assert default_baseline(sample_con, "ci-claim-gate-repair") == "run_001"
    assert default_baseline(sample_con, "support-router-q4") == "sr-prod-v3.4"


def test_rate_metric_with_a_base(sample_con) -> None:
    """abstention_rate_on_answerable counts ABSTAIN among expected SERVE, cross-checked in SQL."""
    review = review_runs(sample_con, "sr-prod-v3.4", ["sr-v3.5-rc2"])
    rc2 = review.runs[0]
    expected = sample_con.execute(
        """SELECT avg((r.route = 'ABSTAIN')::INT) FROM results r
           JOIN cases c ON c.suite_id = 'support-router-2026.11' AND c.case_id = r.case_id
           WHERE r.run_id = 'sr-v3.5-rc2' AND c.expected_route = 'SERVE'"""
    ).fetchone()[0]
    assert rc2.metrics_recomputed["abstention_rate_on_answerable"] == expected
    assert rc2.status == "REJECT_UNNECESSARY_ABSTENTION"
