"""A review opened with its bootstraps deferred (the app's runs screen) completes to exactly the
review built at once: every interval, verdict, warning and margin equal, for the same seed."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from evaltui.review import paired as paired_module
from evaltui.review.paired import (
    PENDING_VERDICT,
    PairedCounts,
    PairedSettings,
    complete,
    paired_statistics,
)
from evaltui.review.report import complete_review, review_runs
from evaltui.store.connection import Store
from evaltui.store.queries import get_run, list_runs
from tests._stats_data import load, write_run

APP_LIKE = PairedSettings(margin=0.02)  # the runs screen reviews with a margin


def _count_bootstraps(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []
    real = paired_module.paired_bootstrap_delta

    def counted(*args: object, **kwargs: object) -> object:
        calls.append(1)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(paired_module, "paired_bootstrap_delta", counted)
    return calls


def test_deferred_review_completes_to_the_eager_review_for_every_baseline(
    sample_con, monkeypatch: pytest.MonkeyPatch
) -> None:
    bootstraps = _count_bootstraps(monkeypatch)
    experiment = get_run(sample_con, "sr-prod-v3.4").experiment
    baselines = [r.run_id for r in list_runs(sample_con, experiment=experiment)]
    assert len(baselines) > 3
    for baseline in baselines:
        for settings in (PairedSettings(), APP_LIKE, PairedSettings(seed=7, resamples=500)):
            bootstraps.clear()
            quick = review_runs(sample_con, baseline, settings=settings, defer_bootstrap=True)
            assert not bootstraps, "the quick review computed a bootstrap"
            paired = [r.paired for r in quick.runs if r.paired is not None and r.paired.n]
            assert paired and all(p.pending for p in paired)
            assert quick.pending and all(p.verdict == PENDING_VERDICT for p in paired)
            full = complete_review(quick)
            assert len(bootstraps) == len(paired)
            assert not full.pending
            eager = review_runs(sample_con, baseline, settings=settings)
            assert full == eager
            assert json.dumps(full.to_json()) == json.dumps(eager.to_json())


def test_completing_each_candidate_equals_the_statistics_computed_at_once() -> None:
    """Random tables, including unpaired runs, runs outside the family and a clustered run."""
    rng = np.random.default_rng(18)
    counts: dict[str, PairedCounts] = {}
    for k in range(60):
        fixed, broken, right, wrong = (int(x) for x in rng.integers(0, [40, 40, 5000, 300]))
        if k % 17 == 0:
            fixed = broken = right = wrong = 0
        counts[f"r{k:02d}"] = PairedCounts(
            fixed + broken + right + wrong, fixed, broken, right, wrong
        )
    family = [run_id for k, run_id in enumerate(counts) if k % 5]
    clusters = {"r03": (np.array([2.0, -1.0, 3.0, 0.0]), np.array([40.0, 30.0, 50.0, 20.0]))}
    settings = PairedSettings(resamples=2_000, margin=0.01)
    eager = paired_statistics(counts, family, settings, clusters)
    deferred = paired_statistics(counts, family, settings, clusters, defer_bootstrap=True)
    assert deferred.keys() == eager.keys()
    for run_id, stats in deferred.items():
        assert stats.pending == (counts[run_id].n > 0 and run_id not in clusters), run_id
        assert complete(stats) == eager[run_id], run_id
        # what the runs table shows is final before the bootstrap
        for name in ("counts", "mcnemar_p", "holm_p", "family_size", "ranked"):
            assert getattr(stats, name) == getattr(eager[run_id], name), (run_id, name)


def test_pending_statistics_never_reach_json() -> None:
    stats = paired_statistics({"x": PairedCounts(100, 10, 3, 80, 7)}, ["x"], defer_bootstrap=True)[
        "x"
    ]
    with pytest.raises(ValueError, match="pending"):
        stats.to_json()
    assert complete(stats).to_json()["verdict"] != PENDING_VERDICT


def test_a_delta_guardrail_is_never_deferred(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A delta guardrail's status rests on the bootstrap: the review computes it at once."""
    folder = tmp_path / "d"
    folder.mkdir()
    cases = [
        {"case_id": f"q{i:03d}", "expected_route": "SERVE" if i % 2 else "ABSTAIN"}
        for i in range(200)
    ]
    doc = {
        "kind": "evaltui.suite",
        "version": 1,
        "suite_id": "hand-made",
        "splits": {"main": cases},
        "metrics": [{"name": "exact_route_rate", "rate": {"correct": True}}],
        "guardrails": [
            {"require": "delta(exact_route_rate) >= -0.02", "status": "REJECT_REGRESSION"}
        ],
        "comparison_fields": ["policy_id"],
    }
    (folder / "hand.suite.json").write_text(json.dumps(doc), encoding="utf-8")

    def routes(wrong: range) -> dict[str, str]:
        return {
            c["case_id"]: ("ESCALATE" if i in wrong else c["expected_route"])
            for i, c in enumerate(cases)
        }

    write_run(folder, "base", routes(range(0, 20)), day=1)
    write_run(folder, "cand", routes(range(10, 40)), day=2)
    bootstraps = _count_bootstraps(monkeypatch)
    with Store.open(load(folder, tmp_path / "s.duckdb"), read_only=True) as store:
        quick = review_runs(store.con, "base", defer_bootstrap=True)
        assert bootstraps and not quick.pending
        assert quick == review_runs(store.con, "base")
        assert quick.get("cand").status == "REJECT_REGRESSION"
