"""The runs' case sets give exactly what the queries over the results give.

`review_runs` takes metrics, coverage and paired counts from the case sets the loader records
(`cells.py`, `store/case_sets.py`); the reference queries here (`metric_counts`, `paired_counts`,
`split_counts`) scan the results, independently of those sets. Checked on the bundled sample runs
and on random suites with every kind of metric filter (split scope, `among`, `correct` true and
false), partial runs, unpaired cases and route labels no case expects.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import duckdb
import pytest

from evaltui.contract.discover import read_batch
from evaltui.contract.model import CellFilter, MetricSpec
from evaltui.review.cells import (
    coverage_counts,
    metric_counts_from_cells,
    paired_counts_from_sets,
    route_cells,
)
from evaltui.review.evidence import recompute_fingerprints
from evaltui.review.paired import PairedCounts
from evaltui.review.report import review_runs
from evaltui.store.connection import Store
from evaltui.store.loader import load_batch
from evaltui.store.queries import get_suites, list_runs

ROUTES = ["SERVE", "ABSTAIN", "ESCALATE", "HANDOFF"]

# -- reference queries: they scan the results, independently of the case sets -----------------


def cell_condition(cell: CellFilter) -> tuple[str, list[Any]]:
    """A SQL condition (and its parameters) matching the cells a filter selects."""
    conditions: list[str] = []
    params: list[Any] = []
    for column, labels in (("c.expected_route", cell.expected), ("r.route", cell.predicted)):
        if labels is not None:
            conditions.append(f"{column} IN ({', '.join('?' for _ in labels)})")
            params.extend(labels)
    if cell.correct is True:
        conditions.append("r.route = c.expected_route")
    elif cell.correct is False:
        conditions.append("r.route <> c.expected_route")
    return (" AND ".join(conditions) or "TRUE"), params


def metric_counts(
    con: duckdb.DuckDBPyConnection,
    suite_id: str,
    metrics: tuple[MetricSpec, ...],
    run_ids: list[str],
) -> dict[str, dict[str, tuple[int, int]]]:
    """(numerator, denominator) of every metric for every run; a run without results (0, 0)."""
    out = {run_id: {m.name: (0, 0) for m in metrics} for run_id in run_ids}
    if not run_ids or not metrics:
        return out
    columns: list[str] = []
    params: list[Any] = []
    for spec in metrics:
        scope, scope_params = "TRUE", list[Any]()
        if spec.splits:
            scope = f"c.split IN ({', '.join('?' for _ in spec.splits)})"
            scope_params = list(spec.splits)
        where, where_params = cell_condition(spec.where)
        among, among_params = "TRUE", list[Any]()
        if spec.kind == "rate":
            among, among_params = cell_condition(spec.among)
        columns.append(f"count(*) FILTER (WHERE ({scope}) AND ({among}) AND ({where}))")
        columns.append(f"count(*) FILTER (WHERE ({scope}) AND ({among}))")
        params += scope_params + among_params + where_params + scope_params + among_params
    rows = con.execute(
        f"SELECT r.run_id, {', '.join(columns)}"
        " FROM results r JOIN cases c ON c.suite_id = ? AND c.case_id = r.case_id"
        " WHERE r.run_id IN (SELECT unnest(?::VARCHAR[])) GROUP BY r.run_id",
        [*params, suite_id, run_ids],
    ).fetchall()
    for run_id, *values in rows:
        out[run_id] = {
            spec.name: (int(values[2 * i]), int(values[2 * i + 1]))
            for i, spec in enumerate(metrics)
        }
    return out


def split_counts(
    con: duckdb.DuckDBPyConnection, suite_id: str, run_ids: list[str]
) -> dict[str, dict[str, int]]:
    """How many cases of each split every run has results for."""
    out: dict[str, dict[str, int]] = {run_id: {} for run_id in run_ids}
    for run_id, split, n in con.execute(
        """SELECT r.run_id, c.split, count(*) FROM results r
           JOIN cases c ON c.suite_id = ? AND c.case_id = r.case_id
           WHERE r.run_id IN (SELECT unnest(?::VARCHAR[])) GROUP BY ALL""",
        [suite_id, run_ids],
    ).fetchall():
        out[run_id][split] = int(n)
    return out


PAIR_COUNTS_SQL = """
WITH base AS (SELECT case_id, route FROM results WHERE run_id = ?)
SELECT r.run_id,
       count(*),
       count(*) FILTER (WHERE base.route <> c.expected_route AND r.route = c.expected_route),
       count(*) FILTER (WHERE base.route = c.expected_route AND r.route <> c.expected_route),
       count(*) FILTER (WHERE base.route = c.expected_route AND r.route = c.expected_route),
       count(*) FILTER (WHERE base.route <> c.expected_route AND r.route <> c.expected_route)
FROM results r
JOIN base ON base.case_id = r.case_id
JOIN cases c ON c.suite_id = ? AND c.case_id = r.case_id
WHERE r.run_id IN (SELECT unnest(?::VARCHAR[]))
GROUP BY r.run_id
"""


def paired_counts(
    con: duckdb.DuckDBPyConnection, baseline_id: str, suite_id: str, run_ids: list[str]
) -> dict[str, PairedCounts]:
    """Counts for every candidate (on the baseline's suite) against the baseline."""
    out = {run_id: PairedCounts(0, 0, 0, 0, 0) for run_id in run_ids}
    if run_ids:
        for run_id, n, fixed, broken, right, wrong in con.execute(
            PAIR_COUNTS_SQL, [baseline_id, suite_id, run_ids]
        ).fetchall():
            out[run_id] = PairedCounts(int(n), int(fixed), int(broken), int(right), int(wrong))
    return out


def assert_cells_agree(con: duckdb.DuckDBPyConnection) -> int:
    """Compare every figure for every suite and every baseline choice; return pairs checked."""
    runs = list_runs(con)
    suites = get_suites(con, {r.suite_id for r in runs})
    checked = 0
    for suite_id, suite in suites.items():
        ids = [r.run_id for r in runs if r.suite_id == suite_id]
        cells = route_cells(con, suite, ids)
        reference = metric_counts(con, suite_id, suite.metrics, ids)
        for run_id in ids:
            assert metric_counts_from_cells(suite.metrics, cells[run_id]) == reference[run_id]
        _, by_query = recompute_fingerprints(con, suite, ids, split_counts(con, suite_id, ids))
        _, by_cells = recompute_fingerprints(con, suite, ids, coverage_counts(cells))
        assert by_cells == by_query
        for baseline in ids:
            others = [r for r in ids if r != baseline]
            paired = paired_counts_from_sets(con, suite, baseline, others)
            assert paired == paired_counts(con, baseline, suite_id, others)
            checked += len(others)
    return checked


def test_sample_runs_agree(sample_con: duckdb.DuckDBPyConnection) -> None:
    assert assert_cells_agree(sample_con) > 50


def random_review(folder: Path, seed: int) -> Path:
    """A suite of three splits and runs that skip, fix and break cases at random."""
    rng = random.Random(seed)
    splits: dict[str, list[dict[str, str]]] = {}
    for split in ("regression", "holdout", "extra"):
        splits[split] = [
            {"case_id": f"{split[:3]}_{i:03d}", "expected_route": rng.choice(ROUTES[:3])}
            for i in range(rng.randint(1, 40))
        ]
    suite = {
        "kind": "evaltui.suite",
        "version": 1,
        "suite_id": f"random-{seed}",
        "splits": splits,
        "metrics": [
            {
                "name": "unsafe",
                "count": {"predicted": "SERVE", "expected": ["ABSTAIN", "ESCALATE"]},
            },
            {"name": "wrong_holdout", "count": {"correct": False}, "splits": ["holdout"]},
            {"name": "right", "rate": {"correct": True}},
            {
                "name": "recall",
                "rate": {"predicted": "ESCALATE"},
                "among": {"expected": "ESCALATE"},
            },
            {
                "name": "wrong_served",
                "rate": {"correct": False},
                "among": {"predicted": ["SERVE", "HANDOFF"]},
                "splits": ["regression", "extra"],
            },
        ],
        "guardrails": [{"require": "unsafe == 0", "status": "REJECT_UNSAFE"}],
    }
    (folder / "random.suite.json").write_text(json.dumps(suite))
    cases = [c for split in splits.values() for c in split]
    for k in range(4):
        keep = rng.random()
        results = [
            {
                "case_id": c["case_id"],
                "route": c["expected_route"] if rng.random() < 0.6 else rng.choice(ROUTES),
            }
            for c in cases
            if rng.random() < 0.5 + keep / 2  # some runs skip cases, so pairs are partial
        ] or [{"case_id": cases[0]["case_id"], "route": "SERVE"}]
        run = {
            "kind": "evaltui.run",
            "version": 1,
            "run_id": f"random-{seed}-{k}",
            "experiment": "random",
            "artifact": f"candidate-{k}",
            "suite_id": f"random-{seed}",
            "started_at": f"2026-01-0{k + 1}T00:00:00Z",
            "cases": results,
        }
        (folder / f"run-{k}.run.json").write_text(json.dumps(run))
    return folder


@pytest.mark.parametrize("seed", range(6))
def test_random_reviews_agree(seed: int, tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    with Store.open(tmp_path / "s.duckdb") as store:
        load_batch(store, read_batch([random_review(folder, seed)]))
        assert assert_cells_agree(store.con) == 12


def test_review_uses_the_same_figures(sample_con: duckdb.DuckDBPyConnection) -> None:
    """What the review reports per run is what the reference queries count."""
    review = review_runs(sample_con, "sr-prod-v3.4")
    suite = review.suite
    ids = [review.baseline.run_id, *(r.run_id for r in review.runs)]
    reference = paired_counts(sample_con, "sr-prod-v3.4", suite.suite_id, ids[1:])
    quick = review.get("sr-v3.5-rc3-quick")
    assert quick.coverage.covered == 160 and not quick.coverage.complete
    for run in review.runs:
        assert run.paired is not None
        assert run.paired.counts == reference[run.run_id]


def test_replaced_run_brings_its_new_sets(tmp_path: Path, run_cli) -> None:
    """--replace swaps a run's case sets with its results, so reviews follow the new routes."""
    folder = tmp_path / "in"
    folder.mkdir()
    random_review(folder, 7)
    store = tmp_path / "s.duckdb"
    assert run_cli("load", folder, "--store", store).code == 0
    doc = json.loads((folder / "run-1.run.json").read_text())
    for case in doc["cases"]:
        case["route"] = "HANDOFF" if case["route"] != "HANDOFF" else "SERVE"
    (folder / "run-1.run.json").write_text(json.dumps(doc))
    assert run_cli("load", folder, "--store", store, "--replace").code == 0
    with Store.open(store, read_only=True) as opened:
        assert assert_cells_agree(opened.con) == 12
        routes = opened.con.execute(
            "SELECT list(route ORDER BY route) FROM result_sets WHERE run_id = 'random-7-1'"
        ).fetchone()
    assert routes is not None and "HANDOFF" in routes[0]


def test_runs_of_another_suite_get_no_cells(sample_con: duckdb.DuckDBPyConnection) -> None:
    suite = get_suites(sample_con, ["ci-claim-gate-v1"])["ci-claim-gate-v1"]
    cells = route_cells(sample_con, suite, ["run_001", "run_004"])  # run_004 is on v2
    assert cells["run_004"] == () and sum(c.count for c in cells["run_001"]) == 4
