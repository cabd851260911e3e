"""Flips: the cases whose outcome changed against a baseline across a candidate's repeats."""

from __future__ import annotations

from collections.abc import Sequence

import duckdb

from evaltui.review.flips import FlipReport, flip_report


def flips(
    con: duckdb.DuckDBPyConnection, baseline_id: str, run_ids: Sequence[str] = ()
) -> FlipReport:
    """Every case's history over `run_ids` (default: the rest of the baseline's experiment on
    its suite) against the baseline, the flips among them and pass^k (`evaltui flips`, the app's
    flip view)."""
    return flip_report(con, baseline_id, run_ids)
