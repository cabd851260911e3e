"""Drift and trend: a column's drift between two runs, the columns it can be measured on, and a
metric's trend across an experiment."""

from __future__ import annotations

import duckdb

from evaltui.review.drift import (
    DEFAULT_BINS,
    MAX_CATEGORIES,
    Column,
    DriftResult,
    drift,
    drift_columns,
)
from evaltui.review.stats import DEFAULT_CONFIDENCE
from evaltui.review.trend import MetricTrend, metric_trend


def measure_drift(
    con: duckdb.DuckDBPyConnection,
    reference_id: str,
    current_id: str,
    column: str,
    *,
    bins: int = DEFAULT_BINS,
    by: str = "slice_name",
    max_categories: int = MAX_CATEGORIES,
) -> DriftResult:
    """PSI and JS of `column` in the current run against the reference, overall and per slice
    (`evaltui drift` and the app's drift screen)."""
    return drift(
        con, reference_id, current_id, column, bins=bins, by=by, max_categories=max_categories
    )


def trend(
    con: duckdb.DuckDBPyConnection,
    experiment: str,
    metric: str,
    *,
    confidence: float = DEFAULT_CONFIDENCE,
) -> MetricTrend:
    """`metric` across every run of `experiment`, oldest first (`evaltui trend`)."""
    return metric_trend(con, experiment, metric, confidence=confidence)


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
