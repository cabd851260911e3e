"""evaltui against plain DuckDB on this machine, every figure measured in one run.

    python benchmarks/bench.py [--json] [--runs 50 --cases 200000 | --small | --huge] [--repeat 2]

Generates the data it needs (benchmarks/generate.py; kept in bench-data/ for the next run), then
measures, each in its own child process so that start-up, imports and peak memory count:

  suite_load_ratio     `evaltui load` of a suite of --suite-cases cases (default 1,000,000, one
                       Parquet split) / DuckDB reading the same file into a table
  load_parquet_ratio   `evaltui load` of every run / `CREATE TABLE AS SELECT * FROM read_parquet`
                       of the same result files (both: process start to store closed, so the
                       checkpoint DuckDB writes at close is in both)
  load_jsonl_ratio     the same for JSONL results against `read_json`
  open_seconds         process start to the runs screen showing the audited runs (headless, 80x24)
  step_latency_ms_p95  `n`/`N` keypress to the next failure on screen, on the large store
  step_latency_ratio   median step on the large store / on a 1,000-row store (p95 ratio beside it)
  pair_switch_ms       `esc`, `j`, `c`: from one pair's cases to the next candidate's on screen
  compare_ratio        `evaltui compare BASELINE --json` over every run / a plain DuckDB process
                       running the join that counts the same fixed and broken cases
  peak_rss_mb          of the load processes and of the app session
  imports              benchmarks/import_bench.py at its default size (--small: its small size):
                       `evaltui import` of generated inspect_ai and lm-eval logs against
                       inspect_ai's read_eval_log and json line by line (--no-imports skips it)

--huge is the 100-million-row store: 500 runs x 200,000 cases, Parquet only (JSONL would be
15 GB), one load per side, compare of 50 runs; the load may then peak at 2 GB.

Ratios compare processes run back to back, best of --repeat each, so a busy machine slows both
sides; the load average is recorded with the figures. No figure is checked against its target
unless --check is given (then a missed target exits 1).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

import generate  # noqa: E402

PYTHON = sys.executable
SUITE_ID = "bench-router"
BASELINE = "bench-run-000"
CANDIDATE = "bench-run-001"
SMALL_STORE = (2, 500)  # runs x cases: the 1,000-row store of step_latency_ratio

TARGETS: dict[str, tuple[str, float]] = {
    "suite_load_ratio": ("<=", 2.0),
    "load_parquet_ratio": ("<=", 1.5),
    "load_jsonl_ratio": ("<=", 1.5),
    "open_seconds": ("<", 2.0),
    "step_latency_ms_p95": ("<", 50.0),
    "step_latency_ratio": ("<=", 1.5),
    "compare_ratio": ("<=", 2.0),
    "peak_rss_mb_load": ("<", 1024.0),
    "peak_rss_mb_app": ("<", 1024.0),
}

PLAIN_LOAD = """
import sys, duckdb
con = duckdb.connect(sys.argv[1])
con.execute("SET enable_progress_bar = false")
con.execute(f"CREATE TABLE results AS SELECT * FROM {sys.argv[2]}(?)", [sys.argv[3:]])
con.close()
"""

# The join a DuckDB user would write to count, for every run, the cases it fixed and broke
# against the baseline: the work `evaltui compare` must not be much slower than.
PLAIN_COMPARE = """
import sys, duckdb
con = duckdb.connect(sys.argv[1], read_only=True)
con.execute("SET enable_progress_bar = false")
chosen = sys.argv[4:]  # the candidates to compare (none: every run)
only = f"AND r.run_id IN ({', '.join('?' for _ in chosen)})" if chosen else ""
rows = con.execute(f'''
    SELECT r.run_id,
           count(*) FILTER (WHERE b.route <> c.expected_route AND r.route = c.expected_route),
           count(*) FILTER (WHERE b.route = c.expected_route AND r.route <> c.expected_route)
    FROM results r
    JOIN results b ON b.run_id = ? AND b.case_id = r.case_id
    JOIN cases c ON c.suite_id = ? AND c.case_id = r.case_id
    WHERE r.run_id <> ? {only}
    GROUP BY r.run_id''', [sys.argv[2], sys.argv[3], sys.argv[2], *chosen]).fetchall()
print(repr(sorted(rows)))
"""


@dataclass
class Child:
    """One finished child process: wall and CPU seconds, peak memory, what it printed."""

    wall: float
    cpu: float
    rss_mb: float
    out: str
    marks: dict[str, float]  # parent-clock seconds since start at which an event line arrived


def run_child(cmd: list[str], *, events: bool = False, capture: bool = False) -> Child:
    """Run `cmd`, timing it from spawn to exit; with `events`, note when each JSON line arrives."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NO_COLOR": "1"}
    env.pop("EVALTUI_STORE", None)
    started = time.perf_counter()
    proc = subprocess.Popen(
        cmd,
        stdout=subprocess.PIPE if (events or capture) else subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
        cwd=ROOT,
    )
    marks: dict[str, float] = {}
    lines: list[str] = []
    if proc.stdout is not None:
        for raw in proc.stdout:
            line = raw.decode()
            lines.append(line)
            if events and line.startswith("{"):
                marks.setdefault(json.loads(line)["event"], time.perf_counter() - started)
    err = proc.stderr.read().decode() if proc.stderr is not None else ""
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[:4])}... exited {proc.returncode}:\n{err[-2000:]}")
    rss_mb = usage.ru_maxrss / 1024  # KiB on Linux
    return Child(wall, usage.ru_utime + usage.ru_stime, rss_mb, "".join(lines), marks)


def evaltui(store: Path, *args: str | Path, capture: bool = False) -> Child:
    return run_child(
        [PYTHON, "-m", "evaltui", "--store", str(store), *map(str, args)], capture=capture
    )


# -- data -----------------------------------------------------------------------------------------


def ensure_data(
    base: Path, runs: int, cases: int, formats: str, log: Callable[[str], None]
) -> Path:
    """bench-data/gen-RUNSxCASES with the suite and the result files, made once."""
    folder = base / f"gen-{runs}x{cases}"
    marker = folder / "generated.json"
    wanted = {"runs": runs, "cases": cases, "formats": formats, "generator": 1}
    if marker.exists() and json.loads(marker.read_text()) == wanted:
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    log(f"generating {runs} runs x {cases:,} cases ({formats}) in {folder} ...")
    generate.main([str(folder), "--runs", str(runs), "--cases", str(cases), "--format", formats])
    marker.write_text(json.dumps(wanted))
    return folder


def ensure_suite(base: Path, cases: int, log: Callable[[str], None]) -> Path:
    """bench-data/suite-CASES: a suite with every case in one Parquet split, made once."""
    folder = base / f"suite-{cases}"
    marker = folder / "generated.json"
    wanted = {"cases": cases, "generator": 1}
    if marker.exists() and json.loads(marker.read_text()) == wanted:
        return folder / "suite"
    shutil.rmtree(folder, ignore_errors=True)
    log(f"generating a {cases:,}-case suite in {folder} ...")
    generate.main([str(folder), "--cases", str(cases), "--suite-only"])
    marker.write_text(json.dumps(wanted))
    return folder / "suite"


def result_files(data: Path, fmt: str) -> list[str]:
    return sorted(str(p) for p in (data / fmt / "results").glob(f"*.{fmt}"))  # generate.py


def result_formats(formats: str) -> list[str]:
    return ["parquet", "jsonl"] if formats == "both" else [formats]


def fresh(path: Path, template: Path | None = None) -> Path:
    for old in (path, path.with_name(path.name + ".wal")):
        old.unlink(missing_ok=True)
    if template is not None:
        shutil.copy(template, path)
    return path


# -- measurements ---------------------------------------------------------------------------------


def measure_load(
    data: Path, fmt: str, template: Path, work: Path, repeat: int
) -> tuple[dict[str, Any], Path]:
    """Best of `repeat` for each side, run alternately; returns the figures and our store."""
    reader = "read_parquet" if fmt == "parquet" else "read_json"
    files = result_files(data, fmt)
    plain: list[Child] = []
    ours: list[Child] = []
    store = work / f"{fmt}.duckdb"
    for _ in range(repeat):
        target = fresh(work / f"plain-{fmt}.duckdb")
        plain.append(run_child([PYTHON, "-c", PLAIN_LOAD, str(target), reader, *files]))
        fresh(target)
        ours.append(evaltui(fresh(store, template), "load", data / fmt))
    best_plain = min(plain, key=lambda c: c.wall)
    best_ours = min(ours, key=lambda c: c.wall)
    return {
        "seconds": best_ours.wall,
        "plain_seconds": best_plain.wall,
        "ratio": best_ours.wall / best_plain.wall,
        "cpu_seconds": best_ours.cpu,
        "plain_cpu_seconds": best_plain.cpu,
        "cpu_ratio": best_ours.cpu / best_plain.cpu,
        "all_seconds": [c.wall for c in ours],
        "all_plain_seconds": [c.wall for c in plain],
        "peak_rss_mb": max(c.rss_mb for c in ours),
        "plain_peak_rss_mb": max(c.rss_mb for c in plain),
    }, store


def measure_suite_load(suite: Path, work: Path, repeat: int) -> dict[str, Any]:
    """`evaltui load` of a suite into a fresh store / DuckDB reading its Parquet into a table."""
    files = sorted(str(p) for p in suite.glob("*.parquet"))
    plain: list[Child] = []
    ours: list[Child] = []
    for _ in range(repeat):
        target = fresh(work / "plain-suite.duckdb")
        plain.append(run_child([PYTHON, "-c", PLAIN_LOAD, str(target), "read_parquet", *files]))
        fresh(target)
        store = fresh(work / "suite.duckdb")
        ours.append(evaltui(store, "load", suite))
        fresh(store)
    best_plain = min(plain, key=lambda c: c.wall)
    best_ours = min(ours, key=lambda c: c.wall)
    return {
        "seconds": best_ours.wall,
        "plain_seconds": best_plain.wall,
        "ratio": best_ours.wall / best_plain.wall,
        "cpu_seconds": best_ours.cpu,
        "plain_cpu_seconds": best_plain.cpu,
        "cpu_ratio": best_ours.cpu / best_plain.cpu,
        "all_seconds": [c.wall for c in ours],
        "all_plain_seconds": [c.wall for c in plain],
        "peak_rss_mb": max(c.rss_mb for c in ours),
        "plain_peak_rss_mb": max(c.rss_mb for c in plain),
    }


def measure_compare(store: Path, repeat: int, runs: list[str] | None = None) -> dict[str, Any]:
    """`evaltui compare` against the raw join; `runs` limits both to those candidates."""
    ours: list[Child] = []
    plain: list[Child] = []
    chosen = runs or []
    for _ in range(repeat):
        plain.append(
            run_child(
                [PYTHON, "-c", PLAIN_COMPARE, str(store), BASELINE, SUITE_ID, *chosen],
                capture=True,
            )
        )
        ours.append(evaltui(store, "compare", BASELINE, *chosen, "--json", capture=True))
    # the raw join must count exactly the flips evaltui reports, or the comparison is unfair
    review = json.loads(ours[0].out)
    reported = sorted(
        (r["run_id"], r["paired"]["fixed"], r["paired"]["broken"])
        for r in review["runs"]
        if r["paired"] is not None
    )
    if repr(reported) != plain[0].out.strip():
        raise RuntimeError("the raw join and evaltui compare disagree on fixed/broken counts")
    best_ours = min(ours, key=lambda c: c.wall)
    best_plain = min(plain, key=lambda c: c.wall)
    return {
        "runs": len(review["runs"]) + 1,
        "seconds": best_ours.wall,
        "plain_seconds": best_plain.wall,
        "ratio": best_ours.wall / best_plain.wall,
        "all_seconds": [c.wall for c in ours],
        "all_plain_seconds": [c.wall for c in plain],
    }


def measure_app(store: Path, presses: int, switches: int) -> dict[str, Any]:
    child = run_child(
        [
            PYTHON,
            str(HERE / "app_session.py"),
            str(store),
            "--candidate",
            CANDIDATE,
            "--presses",
            str(presses),
            "--switches",
            str(switches),
        ],
        events=True,
    )
    done = next(
        json.loads(line)
        for line in child.out.splitlines()
        if line.startswith("{") and json.loads(line)["event"] == "done"
    )
    steps = sorted(done["step_ms"])
    return {
        "open_seconds": child.marks["ready"],
        "open_seconds_in_process": done["open_seconds"],
        "statistics_seconds": done["statistics_seconds"],
        "pair_open_ms": done["pair_open_ms"],
        "pair_cases": done["pair_cases"],
        "pair_failures": done["pair_failures"],
        "steps": len(steps),
        "step_ms_median": statistics.median(steps),
        "step_ms_p95": percentile(steps, 0.95),
        "step_ms_max": steps[-1],
        "pair_switch_ms": done["pair_switch_ms"],
        "peak_rss_mb": child.rss_mb,
    }


def percentile(ordered: list[float], share: float) -> float:
    return ordered[max(0, round(len(ordered) * share) - 1)]


# -- the run --------------------------------------------------------------------------------------


def bench(args: argparse.Namespace, log: Callable[[str], None]) -> dict[str, Any]:
    started = time.perf_counter()
    load_before = os.getloadavg()
    formats = "parquet" if args.huge else "both"
    data = ensure_data(args.data, args.runs, args.cases, formats, log)
    small = ensure_data(args.data, *SMALL_STORE, "parquet", log)
    suite_data = ensure_suite(args.data, args.suite_cases, log)
    work = Path(tempfile.mkdtemp(prefix="evaltui-bench-", dir=args.work))
    try:
        log(f"suite load: {args.suite_cases:,} cases ...")
        suite_load = measure_suite_load(suite_data, work, args.repeat)
        log("loading the suite (template store) ...")
        template = work / "template.duckdb"
        suite = evaltui(template, "load", data / "suite")
        log("load: parquet ...")
        parquet, large = measure_load(data, "parquet", template, work, args.repeat)
        jsonl: dict[str, Any] | None = None
        if "jsonl" in result_formats(formats):
            log("load: jsonl ...")
            jsonl, jsonl_store = measure_load(data, "jsonl", template, work, args.repeat)
            fresh(jsonl_store)
        log("compare ...")
        candidates = None
        if args.compare_runs and args.compare_runs < args.runs:
            candidates = [f"bench-run-{k:03d}" for k in range(1, args.compare_runs)]
        compare = measure_compare(large, max(args.repeat, 3), candidates)
        log("app session on the large store ...")
        app = measure_app(large, args.presses, args.switches)
        log("app session on the 1,000-row store ...")
        small_store = work / "small.duckdb"
        evaltui(small_store, "load", small / "suite", small / "parquet")
        app_small = measure_app(small_store, args.presses, 0)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    switch = app["pair_switch_ms"]
    figures = {
        "suite_load_ratio": suite_load["ratio"],
        "load_parquet_ratio": parquet["ratio"],
        "load_jsonl_ratio": None if jsonl is None else jsonl["ratio"],
        "open_seconds": app["open_seconds"],
        "step_latency_ms_p95": app["step_ms_p95"],
        "step_latency_ratio": app["step_ms_median"] / app_small["step_ms_median"],
        "step_latency_ratio_p95": app["step_ms_p95"] / app_small["step_ms_p95"],
        "pair_switch_ms": statistics.median(switch) if switch else None,
        "compare_ratio": compare["ratio"],
        "peak_rss_mb_load": max(
            parquet["peak_rss_mb"], 0 if jsonl is None else jsonl["peak_rss_mb"]
        ),
        "peak_rss_mb_app": app["peak_rss_mb"],
    }
    targets = dict(TARGETS)
    if args.huge:
        targets["peak_rss_mb_load"] = ("<", 2048.0)
    return {
        "figures": figures,
        "targets": {
            name: {"target": f"{op} {value:g}", "met": met(figures[name], op, value)}
            for name, (op, value) in targets.items()
        },
        "details": {
            "suite_load": suite_load,
            "suite_load_seconds": suite.wall,
            "load_parquet": parquet,
            "load_jsonl": jsonl,
            "compare": compare,
            "app": app,
            "app_small": app_small,
        },
        "setup": {
            "runs": args.runs,
            "cases_per_run": args.cases,
            "case_rows": args.runs * args.cases,
            "suite_cases": args.suite_cases,
            "compare_runs": compare["runs"],
            "huge": args.huge,
            "small_store_rows": SMALL_STORE[0] * SMALL_STORE[1],
            "repeat": args.repeat,
            "presses": args.presses,
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "duckdb": _version("duckdb"),
            "textual": _version("textual"),
            "load_average_before": load_before,
            "load_average_after": os.getloadavg(),
            "bench_seconds": time.perf_counter() - started,
        },
    }


def _version(package: str) -> str:
    from importlib.metadata import version

    return version(package)


def met(value: float | None, op: str, target: float) -> bool | None:
    if value is None:
        return None
    return value < target if op == "<" else value <= target


def report(result: dict[str, Any]) -> str:
    setup = result["setup"]
    lines = [
        f"evaltui bench: {setup['runs']} runs x {setup['cases_per_run']:,} cases "
        f"({setup['case_rows']:,} rows), {setup['cpus']} CPUs, duckdb {setup['duckdb']}, "
        f"load average {_load(setup['load_average_before'])} -> "
        f"{_load(setup['load_average_after'])}, {setup['bench_seconds']:.0f} s",
    ]
    for name, value in result["figures"].items():
        target = result["targets"].get(name)
        verdict = ""
        if target is not None:
            verdict = f"  (target {target['target']}: {'met' if target['met'] else 'MISSED'})"
        shown = "-" if value is None else f"{value:,.3f}"
        lines.append(f"  {name:24} {shown:>10}{verdict}")
    d = result["details"]
    x = d["suite_load"]
    lines.append(
        f"  suite load, {setup['suite_cases']:,} cases: evaltui {x['seconds']:.2f} s "
        f"(cpu {x['cpu_seconds']:.1f} s, {x['peak_rss_mb']:.0f} MB) | DuckDB read_parquet "
        f"{x['plain_seconds']:.2f} s (cpu {x['plain_cpu_seconds']:.1f} s, "
        f"{x['plain_peak_rss_mb']:.0f} MB) | ratio {x['ratio']:.2f}"
    )
    for fmt in ("parquet", "jsonl"):
        x = d[f"load_{fmt}"]
        if x is None:
            continue
        lines.append(
            f"  load {fmt}: evaltui {x['seconds']:.1f} s (cpu {x['cpu_seconds']:.1f} s), "
            f"plain {x['plain_seconds']:.1f} s (cpu {x['plain_cpu_seconds']:.1f} s)"
        )
    c = d["compare"]
    lines.append(
        f"  compare {c['runs']} runs: evaltui {c['seconds']:.2f} s, raw join {c['plain_seconds']:.2f} s"
    )
    a, s = d["app"], d["app_small"]
    lines.append(
        f"  open: runs on screen {a['open_seconds']:.2f} s, paired bootstraps in "
        f"{a['statistics_seconds']:.2f} s (1,000 rows: {s['open_seconds']:.2f} s)"
    )
    lines.append(
        f"  steps: median {a['step_ms_median']:.1f} ms (1,000 rows: {s['step_ms_median']:.1f} ms), "
        f"p95 {a['step_ms_p95']:.1f} ms ({s['step_ms_p95']:.1f} ms); pair open {a['pair_open_ms']:.0f} ms"
    )
    return "\n".join(lines)


def _load(values: tuple[float, float, float] | list[float]) -> str:
    return "/".join(f"{v:.2f}" for v in values)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--cases", type=int, default=200_000, help="cases per run")
    parser.add_argument(
        "--small", action="store_true", help="a quick smoke run (4 runs x 3,000 cases, 1 repeat)"
    )
    parser.add_argument(
        "--huge",
        action="store_true",
        help="the 100M-row store: 500 runs x 200,000 cases, Parquet only, 1 repeat",
    )
    parser.add_argument(
        "--suite-cases", type=int, default=1_000_000, help="cases of the suite-load figure"
    )
    parser.add_argument(
        "--compare-runs", type=int, default=0, help="runs in the compare figure (0: all)"
    )
    parser.add_argument("--repeat", type=int, default=2, help="loads per side (best is kept)")
    parser.add_argument("--presses", type=int, default=50, help="failure jumps per store")
    parser.add_argument("--switches", type=int, default=5, help="candidate switches timed")
    parser.add_argument("--data", type=Path, default=ROOT / "bench-data")
    parser.add_argument("--work", type=Path, default=None, help="folder for the stores")
    parser.add_argument("--keep", action="store_true", help="keep the stores afterwards")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument(
        "--no-imports", action="store_true", help="skip the import benchmark (import_bench.py)"
    )
    args = parser.parse_args(argv)
    if args.small and args.huge:
        parser.error("--small and --huge exclude each other")
    if args.small:
        args.runs, args.cases, args.repeat = 4, 3_000, 1
        args.suite_cases = min(args.suite_cases, 20_000)
        args.presses, args.switches = min(args.presses, 10), min(args.switches, 2)
    if args.huge:
        args.runs, args.cases, args.repeat = 500, 200_000, 1
        args.compare_runs = args.compare_runs or 50
    if args.runs < 3:
        parser.error("--runs must be at least 3 (a baseline and candidates to switch between)")

    def log(text: str) -> None:
        print(text, file=sys.stderr, flush=True)

    result = bench(args, log)
    if not args.no_imports:  # importing large foreign logs: benchmarks/import_bench.py
        import import_bench

        log("importing generated inspect_ai and lm-eval logs (import_bench.py)")
        size = "small" if args.small else "default"
        result["imports"] = import_bench.bench(
            size, zstd=True, inspect_python=import_bench.INSPECT_PYTHON
        )
    print(json.dumps(result, indent=2) if args.json else report(result))
    if "imports" in result and not args.json:
        print("\nImporting large logs\n" + import_bench.show(result["imports"]))
    missed = [name for name, t in result["targets"].items() if t["met"] is False]
    return 1 if args.check and missed else 0


if __name__ == "__main__":
    sys.exit(main())
