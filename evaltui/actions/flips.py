"""Flips: the cases whose outcome changed against a baseline across a candidate's repeats, and
the flakiness of each artifact's repeats in a review (`evaltui compare`)."""

from __future__ import annotations

from collections.abc import Sequence

import duckdb

from evaltui.review.flips import FlipReport, flip_report, repeat_flakiness
from evaltui.review.report import Review


def flips(
    con: duckdb.DuckDBPyConnection,
    baseline_id: str,
    run_ids: Sequence[str] = (),
    limit: int | None = None,
) -> FlipReport:
    """Every case's history over `run_ids` (default: the rest of the baseline's experiment on
    its suite) against the baseline, the flips among them and pass^k (`evaltui flips`, the app's
    flip view); `limit` caps the changed cases listed (None: all)."""
    return flip_report(con, baseline_id, run_ids, limit=limit)


def review_flakiness(con: duckdb.DuckDBPyConnection, review: Review) -> dict[str, FlipReport]:
    """Per repeat group of `review` (an artifact's runs on the baseline's suite, the baseline
    left out, at least two of them): flips against the baseline and pass^k, no cases listed."""
    suite_id = review.baseline.run.suite_id
    groups = {}
    for group in review.repeats:
        ids = [
            r
            for r in group.run_ids
            if r != review.baseline.run_id and review.get(r).run.suite_id == suite_id
        ]
        if len(ids) >= 2:
            groups[group.artifact] = ids
    return repeat_flakiness(con, review.baseline.run_id, groups)
