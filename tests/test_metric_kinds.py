"""Metric kinds come from one registry: a kind added there is parsed, counted and valued."""

from __future__ import annotations

import pytest

from evaltui.contract.metric_kinds import METRIC_KINDS, MetricKind
from evaltui.contract.suite import declarations_from_json
from evaltui.errors import InputError, InputErrors
from evaltui.review.cells import RouteCell, metric_counts_from_cells
from evaltui.review.metrics import metric_values

CELLS = [
    RouteCell("dev", "answer", "answer", 6),
    RouteCell("dev", "answer", "escalate", 2),
    RouteCell("dev", "escalate", "escalate", 2),
]


def test_the_two_declared_kinds_keep_their_values() -> None:
    metrics, _ = declarations_from_json(
        [
            {"name": "wrong", "count": {"correct": False}},
            {"name": "answer_rate", "rate": {"correct": True}, "among": {"expected": ["answer"]}},
        ],
        [],
        "suite.json",
    )
    values = metric_values(metrics, metric_counts_from_cells(metrics, CELLS))
    assert values == {"wrong": 2, "answer_rate": 6 / 8}
    assert metrics[1].describe().startswith("share of expected answer")


def test_a_kind_added_to_the_registry_works_end_to_end(monkeypatch: pytest.MonkeyPatch) -> None:
    """The parser, the counting and the values ask the registry; nothing else needs an edit."""
    odds = MetricKind(
        name="odds",
        value=lambda n, d: n / (d - n) if d > n else None,
        takes_among=True,
        tolerance=1e-3,
        has_interval=False,
        template="odds of {where} among {among}{scope}",
    )
    monkeypatch.setitem(METRIC_KINDS, "odds", odds)
    metrics, _ = declarations_from_json(
        [{"name": "right_odds", "odds": {"correct": True}, "among": {"expected": ["answer"]}}],
        [],
        "suite.json",
    )
    assert metrics[0].metric_kind is odds
    assert metrics[0].to_json()["odds"] == {"correct": True}
    values = metric_values(metrics, metric_counts_from_cells(metrics, CELLS))
    assert values == {"right_odds": 6 / 2}


def test_an_undeclared_kind_and_among_on_a_count_are_refused() -> None:
    with pytest.raises((InputError, InputErrors)) as found:
        declarations_from_json([{"name": "x", "odds": {"correct": True}}], [], "suite.json")
    assert "exactly one of 'count' or 'rate'" in str(found.value)
    with pytest.raises((InputError, InputErrors)) as found:
        declarations_from_json(
            [{"name": "x", "count": {"correct": True}, "among": {"expected": ["a"]}}],
            [],
            "suite.json",
        )
    assert "'among' only applies to a rate" in str(found.value)


def test_an_added_kind_s_tolerance_and_interval_come_from_the_registry(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Agreement with a logged value and whether a trend shows intervals ask the kind, not its
    name: before, evidence held its own count/rate tolerances and the trend widget asked for
    "rate"."""
    from evaltui.contract.model import CellFilter, MetricSpec
    from evaltui.review.evidence import agrees
    from evaltui.review.trend import MetricTrend

    loose = MetricKind(
        name="score",
        value=lambda n, d: 10 * n / d if d else None,
        takes_among=False,
        tolerance=0.5,  # logged to the nearest half point
        has_interval=True,
        template="score of {where}{scope}",
    )
    monkeypatch.setitem(METRIC_KINDS, "score", loose)
    spec = MetricSpec("quality", "score", CellFilter(correct=True))
    assert agrees(spec, 7.4, 7.0) and not agrees(spec, 7.6, 7.0)
    count = MetricSpec("wrong", "count", CellFilter(correct=False))
    assert agrees(count, 2.0, 2) and not agrees(count, 2.001, 2)
    rate = MetricSpec("right", "rate", CellFilter(correct=True))
    assert agrees(rate, 0.667, 2 / 3) and not agrees(rate, 0.67, 2 / 3)

    def trend(kind: str) -> MetricTrend:
        return MetricTrend("e", "m", kind, "recomputed", (), ())

    assert trend("score").has_interval and trend("rate").has_interval
    assert not trend("count").has_interval and not trend("logged").has_interval
