"""Verdicts at scale (issue 14): 100,000 verdicts on a 200,000-case pair.

    python benchmarks/verdict_bench.py [--json] [--small] [--cases N --verdicts N] [--repeat 5]

Generates (once, into bench-data/verdicts-CASES/) a suite and two runs: a baseline and a
candidate that misroutes 60% of the cases (so a 200,000-case pair has 120,000 failures), loads
them into a store, and writes four reviewers' ledgers holding --verdicts events (confirm, waive,
relabel and note; some supersede earlier ones) with the ledger module itself (hash-chained,
canonical lines). Then, in this process, on the store opened read-only as the app opens it:

  open_step_ms        open the pair (number its cases: `actions.cases.open_pair`), count its
                      judged failures (`pair_progress`) and step to the next unjudged failure
                      (`jump(..., unjudged_only=True)`): median of --repeat, with no ledger and
                      with every ledger loaded
  open_step_ratio     with verdicts / without (target <= 1.5)
  step_ms             one more `n` (next unjudged failure) on the open pair, with / without
  load_ledgers_ms     reading and checking every ledger into the verdict tables
                      (`load_verdicts`: once at start and after an outside change)
  record_ms           `record_verdict` of one verdict (checks, lock, fsync'd append, tables):
                      median and max of --records (target < 50 ms), and its CPU time (this
                      process, all threads: what a loaded machine does not inflate)
  step_after_record_ms  the `n` after a verdict was recorded (the unjudged rows are read again)

--small (CI's smoke run): 20,000 cases, 10,000 verdicts. Figures are measured back to back in one
process; the load average is recorded beside them.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parent))
import generate

from evaltui.actions import verdicts as v
from evaltui.actions.cases import drop_opened, jump, open_pair
from evaltui.contract.discover import read_batch
from evaltui.decision import ledger
from evaltui.store.connection import Store
from evaltui.store.loader import load_batch
from evaltui.store.queries import get_run
from evaltui.store.queries_cases import CaseFilter

ROOT = Path(__file__).resolve().parent.parent
BASELINE, CANDIDATE = "vb-baseline", "vb-candidate"
REVIEWERS = ("alice", "bob", "carol", "dave")


def ensure_data(base: Path, cases: int, log: Any) -> Path:
    folder = base / f"verdicts-{cases}"
    marker = folder / "generated.json"
    wanted = {"cases": cases, "generator": 1}
    if marker.exists() and json.loads(marker.read_text()) == wanted:
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    log(f"generating a {cases:,}-case pair in {folder} ...")
    (folder / "runs" / "results").mkdir(parents=True)
    con = duckdb.connect()
    generate.write_suite(con, folder, cases)
    for run_id, error_rate, seed in ((BASELINE, 20, 0), (CANDIDATE, 600, 1)):
        sql = generate.RESULTS_SQL.format(seed=seed, error_rate=error_rate, suite=folder / "suite")
        data = f"results/{run_id}.parquet"
        con.execute(f"COPY ({sql}) TO '{folder / 'runs' / data}' (FORMAT parquet)")
        record = {
            "kind": "evaltui.run", "version": 1, "run_id": run_id, "experiment": "vb",
            "artifact": f"router-{run_id}", "suite_id": "bench-router",
            "started_at": f"2026-11-0{1 + seed}T00:00:00Z",
            "params": {"policy_id": "p1", "evaluator_version": "e1"},
            "metrics": {}, "tags": {}, "artifacts": [], "cases": data,
        }  # fmt: skip
        (folder / "runs" / f"{run_id}.run.json").write_text(json.dumps(record))
    marker.write_text(json.dumps(wanted))
    return folder


def write_ledgers(con: duckdb.DuckDBPyConnection, ledger_dir: Path, count: int) -> int:
    """`count` events over the pair's failures by four reviewers: each reviewer judges a
    stretch of failures (stretches overlap), one event in ten a note, one in eight a later
    verdict on a case the reviewer already judged. Returns the failures left unjudged."""
    failing = [
        r[0]
        for r in con.execute(
            """SELECT c.case_id FROM cases c JOIN results r ON r.run_id = ? AND r.case_id = c.case_id
               WHERE c.suite_id = 'bench-router' AND r.route <> c.expected_route
               ORDER BY c.case_id""",
            [CANDIDATE],
        ).fetchall()
    ]
    sha = con.execute("SELECT evaluation_sha FROM suites").fetchone()[0]  # type: ignore[index]
    ledger_dir.mkdir(parents=True, exist_ok=True)
    per = count // len(REVIEWERS)
    stride = max(1, int(per * 0.8))  # stretches overlap by a fifth
    now = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    judged: set[str] = set()
    for index, reviewer in enumerate(REVIEWERS):
        head = None
        lines = []
        start = index * stride
        for k in range(per):
            if k % 8 == 7:  # a second look at an earlier case of this reviewer's
                case = failing[(start + k // 2) % len(failing)]
            else:
                case = failing[(start + k) % len(failing)]
            kind = ("note" if k % 10 == 9 else
                    "waive" if k % 5 == 1 else "relabel" if k % 7 == 3 else "confirm")  # fmt: skip
            event = ledger.new_event(
                head, reviewer=reviewer, now=now + dt.timedelta(seconds=k), run=CANDIDATE,
                baseline=BASELINE, case_id=case, suite_id="bench-router", suite_sha=sha,
                kind=kind, reason="" if kind == "confirm" else f"bench {kind} {k}",
                expected="SERVE" if kind == "relabel" else None, expires=None,
            )  # fmt: skip
            if kind != "note":
                judged.add(case)
            head = ledger.Head(reviewer, event.seq, event.hash)
            lines.append(event.line())
        (ledger_dir / f"{reviewer}.jsonl").write_bytes(b"".join(lines))
    return len(failing) - len(judged)


def open_and_step(con: duckdb.DuckDBPyConnection) -> tuple[float, float, Any, int]:
    """Open the pair, count its progress, step to the next unjudged failure; then one more."""
    t0 = time.perf_counter()
    opened = open_pair(con, get_run(con, CANDIDATE), get_run(con, BASELINE), CaseFilter())
    progress = v.pair_progress(con, CANDIDATE, BASELINE, pair=opened.pair)
    first = jump(con, opened.data.view, -1, 1, unjudged_only=True)
    t1 = time.perf_counter()
    assert first is not None and first.target is not None
    again = jump(con, opened.data.view, first.target, 1, unjudged_only=True)
    t2 = time.perf_counter()
    assert again is not None
    return (t1 - t0) * 1000, (t2 - t1) * 1000, opened, progress[0]


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def bench(args: argparse.Namespace, log: Any) -> dict[str, Any]:
    data = ensure_data(args.data, args.cases, log)
    if args.work is not None:
        args.work.mkdir(parents=True, exist_ok=True)  # as --data is: made when missing
    work = Path(tempfile.mkdtemp(prefix="verdict-bench-", dir=args.work))
    try:
        store_path = work / ".evaltui" / "store.duckdb"
        log(f"loading the pair into {store_path} ...")
        with Store.open(store_path) as store:
            load_batch(store, read_batch([data / "suite", data / "runs"]))
        ledger_dir = v.ledger_dir_for(store_path)
        empty_dir = work / "no-verdicts"
        with Store.open(store_path, read_only=True) as store:
            log(f"writing {args.verdicts:,} verdicts into {ledger_dir} ...")
            unjudged = write_ledgers(store.con, ledger_dir, args.verdicts)
        result: dict[str, Any] = {
            "cases": args.cases,
            "verdicts": args.verdicts,
            "ledger_bytes": sum(p.stat().st_size for p in ledger_dir.iterdir()),
            "unjudged_failures": unjudged,
            "load_average": list(os.getloadavg()),
        }
        sides: dict[str, dict[str, Any]] = {}
        for side, folder in (("without", empty_dir), ("with", ledger_dir)):
            with Store.open(store_path, read_only=True) as store:
                con = store.con
                t0 = time.perf_counter()
                status = v.load_verdicts(con, folder)
                load_ms = (time.perf_counter() - t0) * 1000
                assert status.ok, status.problem_lines()
                opens, steps, judged = [], [], 0
                for _ in range(args.repeat):
                    open_ms, step_ms, opened, judged = open_and_step(con)
                    opens.append(open_ms)
                    steps.append(step_ms)
                    drop_opened(con, opened)
                sides[side] = {
                    "events": status.events,
                    "load_ledgers_ms": load_ms,
                    "open_step_ms": median(opens),
                    "step_ms": median(steps),
                    "judged_failures": judged,
                }
                if side == "with":
                    sides[side].update(record(con, ledger_dir, args.records))
        result["without"], result["with"] = sides["without"], sides["with"]
        ratio = sides["with"]["open_step_ms"] / sides["without"]["open_step_ms"]
        result["open_step_ratio"] = ratio
        result["targets"] = {
            "open_step_ratio": {"target": "<= 1.5", "value": ratio, "met": ratio <= 1.5},
            "record_ms": {
                "target": "< 50",
                "value": sides["with"]["record_ms"],
                "met": sides["with"]["record_ms"] < 50,
            },
        }
        return result
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


def record(con: duckdb.DuckDBPyConnection, ledger_dir: Path, count: int) -> dict[str, Any]:
    """Record `count` verdicts one by one on the next unjudged failures, as the app does (then
    step to the next one), timing each."""
    opened = open_pair(con, get_run(con, CANDIDATE), get_run(con, BASELINE), CaseFilter())
    view = opened.data.view
    where = jump(con, view, -1, 1, unjudged_only=True)
    times, cpu, steps = [], [], []
    for k in range(count):
        assert where is not None and where.target is not None
        case = where.rows[where.target - where.page_start].case_id
        request = v.VerdictRequest(CANDIDATE, BASELINE, case, "waive", "erin",
                                   reason=f"bench waiver {k}")  # fmt: skip
        t0, c0 = time.perf_counter(), time.process_time()
        v.record_verdict(con, ledger_dir, request)
        t1, c1 = time.perf_counter(), time.process_time()
        cpu.append((c1 - c0) * 1000)
        where = jump(con, view, where.target, 1, unjudged_only=True)
        t2 = time.perf_counter()
        times.append((t1 - t0) * 1000)
        steps.append((t2 - t1) * 1000)
    drop_opened(con, opened)
    return {
        "record_ms": median(times),
        "record_ms_max": max(times),
        "record_cpu_ms": median(cpu),
        "step_after_record_ms": median(steps),
    }


def report(result: dict[str, Any]) -> str:
    w, n = result["with"], result["without"]
    lines = [
        f"{result['cases']:,}-case pair, {result['verdicts']:,} verdicts "
        f"({result['ledger_bytes'] / 1e6:.1f} MB of ledgers), "
        f"{result['unjudged_failures']:,} failures left unjudged; load average "
        + ", ".join(f"{x:.2f}" for x in result["load_average"]),
        f"  open pair + progress + next unjudged   {n['open_step_ms']:8.1f} ms without verdicts, "
        f"{w['open_step_ms']:8.1f} ms with: ratio {result['open_step_ratio']:.2f} (target <= 1.5)",
        f"  next unjudged failure (n)              {n['step_ms']:8.2f} ms without, "
        f"{w['step_ms']:8.2f} ms with",
        f"  read and check every ledger            {w['load_ledgers_ms']:8.1f} ms "
        f"({w['events']:,} events; {n['load_ledgers_ms']:.1f} ms with none)",
        f"  record one verdict                     {w['record_ms']:8.1f} ms median, "
        f"{w['record_ms_max']:.1f} ms max, {w['record_cpu_ms']:.1f} ms CPU (target < 50)",
        f"  n after recording                      {w['step_after_record_ms']:8.1f} ms median",
        f"  failures judged when opened            {w['judged_failures']:,}",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--small", action="store_true", help="20,000 cases, 10,000 verdicts")
    parser.add_argument("--cases", type=int, default=200_000)
    parser.add_argument("--verdicts", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5, help="pair openings per side (median)")
    parser.add_argument("--records", type=int, default=20, help="verdicts recorded and timed")
    parser.add_argument("--data", type=Path, default=ROOT / "bench-data")
    parser.add_argument("--work", type=Path, default=None)
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args(argv)
    if args.small:
        args.cases, args.verdicts, args.repeat, args.records = 20_000, 10_000, 2, 5

    def log(text: str) -> None:
        print(text, file=sys.stderr, flush=True)

    result = bench(args, log)
    print(json.dumps(result, indent=2) if args.json else report(result))
    missed = [k for k, t in result["targets"].items() if not t["met"]]
    return 1 if args.check and missed else 0


if __name__ == "__main__":
    sys.exit(main())
