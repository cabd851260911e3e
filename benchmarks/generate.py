"""Generate a large, realistic native-format review for benchmarks.

    python benchmarks/generate.py OUT --runs 50 --cases 200000 [--format parquet|jsonl|both]
    python benchmarks/generate.py OUT --cases 1000000 --suite-only   # one split, no runs

Writes OUT/suite/ (a suite manifest whose cases live in one Parquet file per split) and
OUT/parquet/ and/or OUT/jsonl/ (one run record per run with its results in a Parquet or JSONL
file). DuckDB writes every data file itself, so generating ten million rows takes seconds.
Routes follow the support-router shape: SERVE/ABSTAIN/ESCALATE with each run making its own
mix of mistakes, so failures are spread through the list as in a real review.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import duckdb

SPLITS = (("regression", 0.3), ("holdout", 0.6), ("adversarial", 0.1))
SLICES = [
    "billing",
    "outage_status",
    "account_security",
    "refunds",
    "how_to",
    "legal_request",
    "prompt_injection",
]


def write_suite(
    con: duckdb.DuckDBPyConnection,
    out: Path,
    cases: int,
    split_shares: tuple[tuple[str, float], ...] = SPLITS,
) -> dict[str, str]:
    folder = out / "suite"
    folder.mkdir(parents=True, exist_ok=True)
    start = 0
    splits: dict[str, str] = {}
    for name, share in split_shares:
        size = round(cases * share) if name != split_shares[-1][0] else cases - start
        path = folder / f"{name}.parquet"
        con.execute(
            f"""COPY (
                SELECT printf('{name[:3]}_%08d', i) AS case_id,
                       list_extract(?::VARCHAR[], 1 + (hash(i, 'slice') % 7)::INT) AS slice_name,
                       CASE hash(i, 'evidence') % 4 WHEN 0 THEN 'no_source' WHEN 1 THEN 'kb_article'
                            WHEN 2 THEN 'account_record' ELSE 'policy_doc' END AS evidence_state,
                       CASE WHEN hash(i, 'evidence') % 4 = 0 THEN 'ABSTAIN'
                            WHEN hash(i, 'slice') % 7 IN (2, 5) THEN 'ESCALATE'
                            ELSE 'SERVE' END AS expected_route,
                       '{name}' AS source,
                       'Customer question number ' || i || ' about ' ||
                           list_extract(?::VARCHAR[], 1 + (hash(i, 'slice') % 7)::INT) AS input
                FROM range({start}, {start + size}) t(i)
            ) TO '{path}' (FORMAT parquet, COMPRESSION zstd)""",
            [SLICES, SLICES],
        )
        splits[name] = f"{name}.parquet"
        start += size
    manifest = {
        "kind": "evaltui.suite",
        "version": 1,
        "suite_id": "bench-router",
        "description": f"Generated benchmark suite, {cases:,} cases",
        "splits": splits,
        "metrics": [
            {
                "name": "unsafe_serve",
                "count": {"predicted": "SERVE", "expected": ["ABSTAIN", "ESCALATE"]},
            },
            {
                "name": "missed_escalation",
                "count": {"predicted": ["SERVE", "ABSTAIN"], "expected": "ESCALATE"},
            },
            {"name": "exact_route_rate", "rate": {"correct": True}},
        ],
        "guardrails": [
            {"require": "unsafe_serve <= 50", "status": "REJECT_UNSAFE_SERVE"},
            {"require": "exact_route_rate >= 0.9", "status": "REJECT_LOW_ACCURACY"},
        ],
        "comparison_fields": ["evaluation_sha", "policy_id", "evaluator_version"],
    }
    (folder / "bench.suite.json").write_text(json.dumps(manifest, indent=2))
    return splits


RESULTS_SQL = """
SELECT c.case_id,
       CASE WHEN hash(c.case_id, {seed}) % 1000 < {error_rate}
            THEN CASE c.expected_route WHEN 'SERVE' THEN 'ABSTAIN' WHEN 'ABSTAIN' THEN 'ESCALATE'
                                       ELSE 'ABSTAIN' END
            ELSE c.expected_route END AS route,
       (hash(c.case_id, {seed}, 's') % 10000) / 10000.0 AS score,
       200 + (hash(c.case_id, {seed}, 'l') % 3000)::DOUBLE / 3 AS latency_ms,
       (40 + hash(c.case_id, {seed}, 't') % 400)::BIGINT AS tokens,
       'Generated answer for ' || c.case_id || ' by run {seed}' AS output
FROM read_parquet('{suite}/*.parquet') c
"""


def write_runs(con: duckdb.DuckDBPyConnection, out: Path, runs: int, fmt: str) -> None:
    folder = out / fmt
    (folder / "results").mkdir(parents=True, exist_ok=True)
    for k in range(runs):
        run_id = f"bench-run-{k:03d}"
        data = f"results/{run_id}.{fmt}"
        sql = RESULTS_SQL.format(seed=k, error_rate=20 + (k * 7) % 60, suite=out / "suite")
        option = "FORMAT parquet, COMPRESSION zstd" if fmt == "parquet" else "FORMAT json"
        con.execute(f"COPY ({sql}) TO '{folder / data}' ({option})")
        record = {
            "kind": "evaltui.run",
            "version": 1,
            "run_id": run_id,
            "experiment": "bench",
            "artifact": f"router-candidate-{k % 10}",
            "suite_id": "bench-router",
            "started_at": f"2026-11-{1 + k % 28:02d}T{k % 24:02d}:00:00Z",
            "params": {"policy_id": "p1", "evaluator_version": "e1", "seed": k},
            "metrics": {},
            "tags": {},
            "artifacts": [],
            "cases": data,
        }
        (folder / f"{run_id}.run.json").write_text(json.dumps(record))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--cases", type=int, default=200_000)
    parser.add_argument("--format", choices=["parquet", "jsonl", "both"], default="both")
    parser.add_argument(
        "--suite-only", action="store_true", help="only the suite, all cases in one Parquet split"
    )
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    con = duckdb.connect()
    if args.suite_only:
        write_suite(con, args.out, args.cases, (("holdout", 1.0),))
        print(f"wrote a {args.cases:,}-case suite to {args.out}", file=sys.stderr)
        return
    write_suite(con, args.out, args.cases)
    formats = ["parquet", "jsonl"] if args.format == "both" else [args.format]
    for fmt in formats:
        write_runs(con, args.out, args.runs, fmt)
    print(
        f"wrote {args.runs} runs x {args.cases:,} cases ({', '.join(formats)}) to {args.out} "
        f"in {time.perf_counter() - started:.1f}s",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
