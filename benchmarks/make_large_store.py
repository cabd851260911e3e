"""Write a large review (one suite, a few runs of N cases each) and load it into a store.

For trying the review app at scale by hand: `python benchmarks/make_large_store.py bench-data/large`
then `evaltui --store bench-data/large/store.duckdb`. DuckDB writes every Parquet file itself
(`COPY ... TO`), so making 200,000 cases per run takes seconds. Deterministic for a given size.

Run: python benchmarks/make_large_store.py [OUT] [--cases N] [--runs R]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from evaltui.contract.discover import read_batch  # noqa: E402
from evaltui.store.connection import Store  # noqa: E402
from evaltui.store.loader import load_batch  # noqa: E402
from evaltui.store.queries import get_suite  # noqa: E402

SUITE_ID = "large-router-v1"
ROUTES = "['SERVE', 'ABSTAIN', 'ESCALATE']"
SLICES = "['billing', 'refunds', 'how_to', 'account_security', 'legal_request', 'outage', 'other']"


def write_suite(out: Path, cases: int) -> None:
    con = duckdb.connect()
    holdout_from = cases // 4
    for split, where in (
        ("regression", f"i < {holdout_from}"),
        ("holdout", f"i >= {holdout_from}"),
    ):
        con.execute(
            f"""COPY (
                SELECT printf('case_%07d', i) AS case_id,
                       {SLICES}[1 + (hash(i, 'slice') % 7)::BIGINT] AS slice_name,
                       {ROUTES}[1 + (hash(i, 'expected') % 3)::BIGINT] AS expected_route,
                       'synthetic' AS source,
                       'question number ' || i AS input
                FROM range({cases}) t(i) WHERE {where}
            ) TO '{out / "suite" / f"{split}.parquet"}' (FORMAT parquet)"""
        )
    manifest = {
        "kind": "evaltui.suite",
        "version": 1,
        "suite_id": SUITE_ID,
        "description": f"Synthetic router suite with {cases:,} cases, for trying scale.",
        "splits": {"regression": "suite/regression.parquet", "holdout": "suite/holdout.parquet"},
        "metrics": [
            {
                "name": "unsafe_serve",
                "count": {"predicted": "SERVE", "expected": ["ABSTAIN", "ESCALATE"]},
            },
            {"name": "exact_route_rate", "rate": {"correct": True}},
        ],
        "guardrails": [{"require": "exact_route_rate >= 0.9", "status": "REJECT_LOW_ACCURACY"}],
    }
    (out / "large.suite.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")


def write_runs(out: Path, runs: int, fingerprints: dict[str, str]) -> None:
    con = duckdb.connect()
    suite_cases = f"read_parquet('{out / 'suite'}/*.parquet')"
    for k in range(runs):
        run_id = f"large-{k:02d}"
        error_rate = 0.05 - 0.01 * k  # later runs are a little better
        con.execute(
            f"""COPY (
                SELECT case_id,
                       CASE WHEN (hash(case_id, {k}) % 10000)::BIGINT < {int(error_rate * 10000)}
                            THEN {ROUTES}[1 + list_position({ROUTES}, expected_route) % 3]
                            ELSE expected_route END AS route,
                       (hash(case_id, {k}, 's') % 1000)::DOUBLE / 1000.0 AS score,
                       (100 + hash(case_id, {k}, 'l') % 900)::DOUBLE AS latency_ms,
                       (20 + hash(case_id, {k}, 't') % 300)::BIGINT AS tokens,
                       'answer to ' || case_id || ' from run {k}' AS output,
                       json_object('model', 'router', 'seed', {k}) AS metadata
                FROM {suite_cases}
            ) TO '{out / "results" / f"{run_id}.parquet"}' (FORMAT parquet)"""
        )
        record = {
            "kind": "evaltui.run",
            "version": 1,
            "run_id": run_id,
            "experiment": "large-router",
            "artifact": f"router-large-{k}",
            "suite_id": SUITE_ID,
            "started_at": f"2026-12-0{1 + k % 9}T10:00:00Z",
            "params": dict(fingerprints),
            "metrics": {},
            "tags": {},
            "artifacts": [],
            "cases": f"results/{run_id}.parquet",
        }
        (out / f"{run_id}.run.json").write_text(
            json.dumps(record, indent=2) + "\n", encoding="utf-8"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", nargs="?", type=Path, default=ROOT / "bench-data" / "large")
    parser.add_argument("--cases", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args()
    out: Path = args.out
    (out / "suite").mkdir(parents=True, exist_ok=True)
    (out / "results").mkdir(parents=True, exist_ok=True)
    store_path = out / "store.duckdb"
    store_path.unlink(missing_ok=True)
    write_suite(out, args.cases)
    with Store.open(store_path) as store:
        load_batch(store, read_batch([out / "large.suite.json"]))
        fingerprints = get_suite(store.con, SUITE_ID).fingerprints()
    write_runs(out, args.runs, fingerprints)
    with Store.open(store_path) as store:
        load_batch(store, read_batch([out]))
    print(f"{store_path}: {args.runs} runs x {args.cases:,} cases")


if __name__ == "__main__":
    main()
