"""Which cases belong together (`cluster_field`), and the per-cluster paired sums of every run.

A suite manifest may name a case field whose value groups cases that are not independent (the
document several questions share, the conversation of several turns):

    {"kind": "evaltui.suite", ..., "cluster_field": "document_id"}

`cluster_field_for` is the one place that answers "which field clusters this suite's cases?";
a gates file carrying `cluster_field` is wired in there. Cases without the field form a cluster
of their own.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

import duckdb
import numpy as np

from evaltui.contract.fields import IDENTIFIER
from evaltui.errors import InputError
from evaltui.store.queries import SuiteInfo
from evaltui.store.queries_outcomes import cluster_differences

CLUSTER_KEY = "cluster_field"


def cluster_field_for(suite: SuiteInfo) -> str | None:
    """The suite's cluster field: a gates file's (stored), else its manifest's (None when it
    names none or the manifest is gone)."""
    if suite.cluster_field:
        return suite.cluster_field
    path = Path(suite.source_path)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    value = doc.get(CLUSTER_KEY) if isinstance(doc, dict) else None
    if value is None:
        return None
    if not isinstance(value, str) or not IDENTIFIER.match(value):
        raise InputError(path, f"{CLUSTER_KEY} must name a case field (one word), got {value!r}")
    return value


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
