"""Drift and trend for a pair: the columns drift can be measured on, a metric's trend."""

from __future__ import annotations

import duckdb

from evaltui.review.drift import Column, drift_columns
from evaltui.review.trend import MetricTrend, metric_trend


def list_columns(
    con: duckdb.DuckDBPyConnection, reference_id: str, current_id: str
) -> tuple[str, tuple[Column, ...]]:
    """Every column drift can be measured on for this pair, tagged with the current run."""
    return current_id, tuple(drift_columns(con, reference_id, current_id))


def trend_against(
    con: duckdb.DuckDBPyConnection, experiment: str, metric: str, baseline: str
) -> MetricTrend:
    """The trend, with the runs not comparable with the pinned baseline left out of its line."""
    return metric_trend(con, experiment, metric, baseline=baseline)
