"""A metric across an experiment's runs, oldest first, recomputed rather than as logged."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evaltui.errors import NotFoundError
from evaltui.review.report import review_runs
from evaltui.review.stats import wilson_interval
from evaltui.review.trend import metric_trend
from evaltui.store.connection import Store
from evaltui.store.queries import list_runs
from tests._stats_data import load, routes, write_run, write_suite


def test_trend_is_in_time_order_and_recomputed(sample_con) -> None:
    trend = metric_trend(sample_con, "support-router-q4", "exact_route_rate")
    runs = list_runs(sample_con, experiment="support-router-q4")
    assert [p.run_id for p in trend.points] == [r.run_id for r in runs]
    assert [p.started_at for p in trend.points] == sorted(p.started_at for p in trend.points)
    review = review_runs(sample_con, runs[0].run_id)
    for point in trend.points:
        assert point.value == pytest.approx(
            review.get(point.run_id).metrics_recomputed["exact_route_rate"]
        )
        assert point.rate is not None
        assert point.rate.interval == wilson_interval(point.rate.successes, point.rate.n)
    assert trend.kind == "rate" and trend.source == "recomputed"
    assert trend.change == pytest.approx(trend.line[-1].value - trend.line[0].value)  # type: ignore[operator]


def test_trend_flags_logged_values_the_routes_do_not_give(sample_con) -> None:
    trend = metric_trend(sample_con, "support-router-q4", "unsafe_serve")
    rc4 = next(p for p in trend.points if p.run_id == "sr-v3.5-rc4")
    assert (rc4.value, rc4.logged) == (4.0, 0.0)
    warning = next(w for w in trend.warnings if w.code == "logged_differs")
    assert "sr-v3.5-rc4" in warning.message
    assert trend.kind == "count" and rc4.rate is None


def test_trend_flags_what_the_evidence_checks_flag(tmp_path: Path) -> None:
    """A logged rate over cases the run has none of (recomputed: undefined) is flagged by both."""
    folder = tmp_path / "recall"
    folder.mkdir()
    recall = {
        "name": "recall",
        "rate": {"predicted": "ESCALATE"},
        "among": {"expected": "ESCALATE"},
    }
    write_suite(folder, metrics=[recall])
    perfect = routes(
        "SERVE", "SERVE", "ABSTAIN", "ESCALATE", "ESCALATE", "ABSTAIN", "SERVE", "ABSTAIN"
    )
    write_run(folder, "full", perfect, day=1, metrics={"recall": 1.0})
    write_run(folder, "rounded", perfect, day=2, metrics={"recall": 0.9995})
    write_run(folder, "no-escalation", {"c1": "SERVE"}, day=3, metrics={"recall": 1.0})
    with Store.open(load(folder, tmp_path / "r.duckdb"), read_only=True) as store:
        trend = metric_trend(store.con, "hand", "recall")
        review = review_runs(store.con, "full")
    assert [p.value for p in trend.points] == [1.0, 1.0, None]
    warning = next(w for w in trend.warnings if w.code == "logged_differs")
    for point in trend.points:
        flagged = any(
            f.kind == "metric" and f.field == "recall" for f in review.get(point.run_id).evidence
        )
        assert (point.run_id in warning.message) == flagged == (point.run_id == "no-escalation")


def test_trend_across_suites_warns(sample_con) -> None:
    trend = metric_trend(sample_con, "ci-claim-gate-repair", "exact_route_rate")
    assert {p.suite_id for p in trend.points} == {"ci-claim-gate-v1", "ci-claim-gate-v2"}
    assert "several_suites" in {w.code for w in trend.warnings}


def test_a_metric_only_logged_is_shown_as_logged(tmp_path: Path) -> None:
    folder = tmp_path / "logged"
    folder.mkdir()
    write_suite(folder)
    same = routes(
        "SERVE", "SERVE", "ABSTAIN", "ESCALATE", "ESCALATE", "ABSTAIN", "SERVE", "ABSTAIN"
    )
    write_run(folder, "a", same, day=1, metrics={"judge_score": 0.7})
    write_run(folder, "b", same, day=2, metrics={"judge_score": 0.9})
    with Store.open(load(folder, tmp_path / "l.duckdb"), read_only=True) as store:
        trend = metric_trend(store.con, "hand", "judge_score")
        with pytest.raises(
            NotFoundError, match="known metrics: exact_route_rate, judge_score, unsafe_serve"
        ):
            metric_trend(store.con, "hand", "nope")
    assert trend.source == "logged" and [p.value for p in trend.points] == [0.7, 0.9]
    assert trend.change == pytest.approx(0.2)
    assert "not_recomputed" in {w.code for w in trend.warnings}


def test_trend_cli(sample_store: Path, run_cli) -> None:
    result = run_cli(
        "trend",
        "support-router-q4",
        "--metric",
        "exact_route_rate",
        "--store",
        sample_store,
        "--json",
    )
    assert result.code == 0, result.err
    data = json.loads(result.out)
    assert data["metric"] == "exact_route_rate" and len(data["points"]) == 9
    assert data["points"][0]["ci"][0] <= data["points"][0]["value"] <= data["points"][0]["ci"][1]
    human = run_cli("trend", "support-router-q4", "-m", "exact_route_rate", "--store", sample_store)
    assert "sr-v3.5-rc3-kb18" in human.out and "oldest first" in human.out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("ghost-experiment", "-m", "exact_route_rate"), "ghost-experiment: no such experiment"),
        (("support-router-q4", "-m", "ghost_metric"), "ghost_metric: no such metric"),
    ],
)
def test_trend_cli_errors(sample_store: Path, run_cli, args: tuple[str, ...], message: str) -> None:
    result = run_cli("trend", *args, "--store", sample_store)
    assert result.code == 2 and message in result.err and len(result.err.strip().splitlines()) == 1
