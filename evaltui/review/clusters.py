"""Which cases belong together (`cluster_field`), and the per-cluster paired sums of every run.

A suite manifest may name a case field whose value groups cases that are not independent (the
document several questions share, the conversation of several turns):

    {"kind": "evaltui.suite", ..., "cluster_field": "document_id"}

`cluster_field_for` is the one place that answers "which field clusters this suite's cases?":
a gates file's `cluster_field`, else the manifest's. Both are read and validated at load time and
stored (`gates.cluster_field`, `suites.cluster_field`); a review never reads the manifest file, so
it does not change when the file moves or is edited, and a team store's cache (where the file is
on another machine) reviews the same. Cases without the field form a cluster of their own.
"""

from __future__ import annotations

from collections.abc import Iterable

import duckdb
import numpy as np

from evaltui.store.queries import SuiteInfo
from evaltui.store.queries_outcomes import cluster_differences


def cluster_field_for(suite: SuiteInfo) -> str | None:
    """The suite's cluster field as stored: a gates file's, else its manifest's (None: none)."""
    return suite.cluster_field or None


def cluster_sums(
    con: duckdb.DuckDBPyConnection,
    suite_id: str,
    field: str,
    baseline_id: str,
    run_ids: Iterable[str],
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per run: each cluster's (fixed - broken) sum and its paired cases, one grouped query."""
    ids = [r for r in dict.fromkeys(run_ids) if r != baseline_id]
    out = {run_id: (np.zeros(0), np.zeros(0)) for run_id in ids}
    if not ids:
        return out
    table = cluster_differences(con, suite_id, field, baseline_id, ids)
    runs = table.column("run_id").to_numpy(zero_copy_only=False)
    d = table.column("d").to_numpy()
    n = table.column("n").to_numpy()
    for run_id in ids:
        mask = runs == run_id
        out[run_id] = (d[mask].astype(np.float64), n[mask].astype(np.float64))
    return out
