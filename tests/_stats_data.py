"""Hand-made suites and runs for the statistics and drift tests, written as real files and
loaded through the real loader into a real DuckDB store."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

SUITE_ID = "hand-made"

# eight cases, two slices; the expected routes are what the hand-made routes below are judged by
CASES: list[dict[str, Any]] = [
    {
        "case_id": "c1",
        "slice_name": "billing",
        "expected_route": "SERVE",
        "tier": "gold",
        "weight": 1,
    },
    {
        "case_id": "c2",
        "slice_name": "billing",
        "expected_route": "SERVE",
        "tier": "gold",
        "weight": 2,
    },
    {
        "case_id": "c3",
        "slice_name": "billing",
        "expected_route": "ABSTAIN",
        "tier": "silver",
        "weight": 3,
    },
    {
        "case_id": "c4",
        "slice_name": "billing",
        "expected_route": "ESCALATE",
        "tier": "silver",
        "weight": 4,
    },
    {
        "case_id": "c5",
        "slice_name": "legal",
        "expected_route": "ESCALATE",
        "tier": "gold",
        "weight": 5,
    },
    {
        "case_id": "c6",
        "slice_name": "legal",
        "expected_route": "ABSTAIN",
        "tier": "bronze",
        "weight": 6,
    },
    {
        "case_id": "c7",
        "slice_name": "legal",
        "expected_route": "SERVE",
        "tier": "bronze",
        "weight": 7,
    },
    {
        "case_id": "c8",
        "slice_name": "legal",
        "expected_route": "ABSTAIN",
        "tier": "gold",
        "weight": 8,
    },
]


def write_suite(
    folder: Path,
    cases: list[dict[str, Any]] | None = None,
    *,
    metrics: list[dict[str, Any]] | None = None,
) -> None:
    """The hand-made suite; `metrics` are declared after its two own."""
    cases = CASES if cases is None else cases
    doc = {
        "kind": "evaltui.suite",
        "version": 1,
        "suite_id": SUITE_ID,
        "splits": {"main": cases},
        "metrics": [
            {
                "name": "unsafe_serve",
                "count": {"predicted": "SERVE", "expected": ["ABSTAIN", "ESCALATE"]},
            },
            {"name": "exact_route_rate", "rate": {"correct": True}},
            *(metrics or []),
        ],
        "guardrails": [{"require": "unsafe_serve == 0", "status": "REJECT_UNSAFE_SERVE"}],
        "comparison_fields": ["policy_id"],
    }
    (folder / "hand.suite.json").write_text(json.dumps(doc), encoding="utf-8")


def write_run(
    folder: Path,
    run_id: str,
    routes: Mapping[str, str],
    *,
    artifact: str | None = None,
    day: int = 1,
    extra: Mapping[str, Mapping[str, Any]] | None = None,
    params: Mapping[str, Any] | None = None,
    metrics: Mapping[str, Any] | None = None,
) -> None:
    cases = []
    for case_id, route in routes.items():
        row: dict[str, Any] = {"case_id": case_id, "route": route}
        row.update((extra or {}).get(case_id, {}))
        cases.append(row)
    doc = {
        "kind": "evaltui.run",
        "version": 1,
        "run_id": run_id,
        "experiment": "hand",
        "artifact": artifact or run_id,
        "suite_id": SUITE_ID,
        "started_at": f"2026-11-{day:02d}T10:00:00Z",
        "params": {"policy_id": "p1", **(params or {})},
        "metrics": dict(metrics or {}),
        "cases": cases,
    }
    (folder / f"{run_id}.run.json").write_text(json.dumps(doc), encoding="utf-8")


def load(folder: Path, store: Path) -> Path:
    from evaltui.contract.discover import read_batch
    from evaltui.store.connection import Store
    from evaltui.store.loader import load_batch

    with Store.open(store) as s:
        load_batch(s, read_batch([folder]))
    return store


def routes(*labels: str) -> dict[str, str]:
    """routes("SERVE", "ABSTAIN", ...): the routes of c1, c2, ... in order."""
    return {f"c{i}": route for i, route in enumerate(labels, start=1)}
