"""The team store (issue 17) against plain pyiceberg and the local store, measured in one run.

    python benchmarks/team_bench.py [--json] [--runs 10 --cases 100000 | --small] [--s3]
                                    [--repeat 2]

Starts its own throwaway PostgreSQL cluster and (with --s3) a moto S3 server, as the tests do
(tests/team_servers.py), loads generated runs (benchmarks/generate.py, kept in bench-data/) into
a local store once, then measures in this process (imports and start-up excluded on both sides):

  publish_ratio        `evaltui publish --from-store` of the local store into a team store whose
                       tables exist but are empty (export from DuckDB, the dedup checks, one
                       commit per table) / pyiceberg appending the same Arrow tables, already in
                       memory, to empty tables of the same schema in the same warehouse (target <= 2 at 10 million
                       case rows: --runs 50 --cases 200000)
  pull_seconds         building the local cache of the published snapshot (first open)
  open_pair_ratio      opening the team store again (the catalog asked for the current
                       snapshot, the cache reused) and numbering a pair's cases (`open_pair`) /
                       the same `open_pair` on the local store opened from its file (target
                       <= 1.5)
  case_rows            runs x cases

The warehouse is a local folder (file://) unless --s3: moto keeps every object in its own
memory and speaks HTTP from Python, which measures moto more than evaltui. Ratios are best of
--repeat runs, both sides back to back, so a busy machine slows both.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))

import bench  # noqa: E402  (ensure_data: generated runs, kept for the next run)

BASELINE, CANDIDATE = bench.BASELINE, bench.CANDIDATE


def best(repeat: int, measure: Callable[[], float]) -> float:
    return min(measure() for _ in range(repeat))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--small", action="store_true", help="3 runs x 2,000 cases (CI smoke)")
    parser.add_argument("--s3", action="store_true", help="warehouse on moto S3, not a folder")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if args.small:
        args.runs, args.cases, args.repeat = 3, 2_000, 1

    def log(message: str) -> None:
        print(f"team_bench: {message}", file=sys.stderr)

    from tests.team_servers import start_team_servers

    data = bench.ensure_data(ROOT / "bench-data", args.runs, args.cases, "parquet", log)
    figures: dict[str, Any] = {"runs": args.runs, "cases": args.cases}
    figures["case_rows"] = args.runs * args.cases
    with (
        tempfile.TemporaryDirectory(prefix="evaltui-team-bench-") as tmp,
        start_team_servers() as servers,
    ):
        work = Path(tmp)
        os.environ.update(servers.env())
        os.environ["XDG_CACHE_HOME"] = str(work / "cache")
        os.environ.pop("EVALTUI_STORE", None)
        from evaltui.actions.cases import open_pair
        from evaltui.actions.store import open_store
        from evaltui.actions.team import connect, publish_store
        from evaltui.contract.discover import read_batch
        from evaltui.store.connection import Store
        from evaltui.store.loader import load_batch
        from evaltui.store.queries import get_run
        from evaltui.store.queries_cases import CaseFilter
        from evaltui.store.team import (
            DETAILS,
            PUBLISH_ORDER,
            TABLE_PROPERTIES,
            export_rows,
            export_schema,
        )

        local_path = work / "local.duckdb"
        log(f"loading {args.runs} x {args.cases:,} into a local store ...")
        with Store.open(local_path) as local:
            load_batch(local, read_batch([data / "suite", data / "parquet"]))

        def uri(tag: str) -> str:
            database = servers.new_database()
            if args.s3:
                return servers.s3_uri(database, servers.new_bucket(), tag)
            return servers.folder_uri(database, work / f"warehouse-{tag}")

        publish_times, direct_times = [], []
        published = ""
        for attempt in range(args.repeat):
            target = uri(f"publish{attempt}")
            with Store.open(local_path, read_only=True) as local:
                # the tables exist before the clock starts, on both sides: a team store is
                # created once and published to many times
                with connect(target) as team:
                    team.ensure_tables({n: export_schema(local.con, n) for n in PUBLISH_ORDER})
                started = time.perf_counter()
                publish_store(target, local)
                publish_times.append(time.perf_counter() - started)
            published = target
            # pyiceberg alone: the same Arrow tables, in memory before the clock starts
            direct = uri(f"direct{attempt}")
            with Store.open(local_path, read_only=True) as local:
                keys = {
                    "suites": [
                        r[0] for r in local.con.execute("SELECT suite_id FROM suites").fetchall()
                    ],
                    "runs": [r[0] for r in local.con.execute("SELECT run_id FROM runs").fetchall()],
                }
                tables = {}
                for name in PUBLISH_ORDER:
                    parent = DETAILS.get(name, name)
                    key_table = "suites" if parent == "gates" else parent
                    tables[name] = pa.concat_tables(export_rows(local.con, name, keys[key_table]))
            with connect(direct) as team:
                team.catalog.create_namespace_if_not_exists(team.location.namespace)
                iceberg = {
                    name: team.catalog.create_table(
                        f"{team.location.namespace}.{name}",
                        schema=table.schema,
                        properties=TABLE_PROPERTIES,
                    )
                    for name, table in tables.items()
                }
                started = time.perf_counter()
                for name, table in tables.items():
                    if table.num_rows:
                        iceberg[name].append(table)
                direct_times.append(time.perf_counter() - started)
            del tables
            log(f"publish {publish_times[-1]:.2f}s, pyiceberg append {direct_times[-1]:.2f}s")
        figures["publish_seconds"] = min(publish_times)
        figures["pyiceberg_append_seconds"] = min(direct_times)
        figures["publish_ratio"] = min(publish_times) / min(direct_times)

        started = time.perf_counter()
        open_store(published, read_only=True).close()  # builds the cache
        figures["pull_seconds"] = time.perf_counter() - started

        def open_team_pair() -> float:
            started = time.perf_counter()
            with open_store(published, read_only=True) as store:
                con = store.con
                open_pair(con, get_run(con, CANDIDATE), get_run(con, BASELINE), CaseFilter())
            return time.perf_counter() - started

        def open_local_pair() -> float:
            started = time.perf_counter()
            with Store.open(local_path, read_only=True) as store:
                con = store.con
                open_pair(con, get_run(con, CANDIDATE), get_run(con, BASELINE), CaseFilter())
            return time.perf_counter() - started

        repeat = max(3, args.repeat)
        team_open, local_open = best(repeat, open_team_pair), best(repeat, open_local_pair)
        figures["open_pair_team_seconds"] = team_open
        figures["open_pair_local_seconds"] = local_open
        figures["open_pair_ratio"] = team_open / local_open
    figures["warehouse"] = "s3 (moto)" if args.s3 else "folder"
    figures["load_average"] = os.getloadavg()[0]
    figures["machine"] = f"{platform.machine()}, {os.cpu_count()} cores"
    if args.json:
        print(json.dumps(figures, indent=2))
    else:
        for key, value in figures.items():
            shown = f"{value:.3f}" if isinstance(value, float) else str(value)
            print(f"{key:28} {shown}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
