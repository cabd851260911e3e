"""How long one next-failure keypress takes in the review app, on a store of any size.

Runs the real app headless at 80x24, opens the cases of CANDIDATE vs BASELINE, then presses `n`
(and later `N`) and times each press from the key until the cursor sits on the new failure with
its row drawn (jump query, page query if the row was not cached, both through thread workers
and messages). Also times the bare queries, and opening the pair.

Run: python benchmarks/make_large_store.py && python benchmarks/step_latency.py [STORE]
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from textual import events  # noqa: E402

from evaltui.review.case_pager import PairCases  # noqa: E402
from evaltui.store.connection import Store  # noqa: E402
from evaltui.store.queries import get_run  # noqa: E402
from evaltui.tui.app import EvaltuiApp  # noqa: E402
from evaltui.tui.screens.cases import CasesScreen  # noqa: E402
from evaltui.tui.widgets.case_list import CaseList  # noqa: E402
from evaltui.tui.widgets.runs_table import RunsTable  # noqa: E402


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def summary(label: str, samples: list[float]) -> None:
    samples = sorted(samples)
    p95 = samples[max(0, int(len(samples) * 0.95) - 1)]
    print(
        f"{label}: n={len(samples)} median {ms(statistics.median(samples))} "
        f"p95 {ms(p95)} max {ms(samples[-1])}"
    )


def bare_queries(store: Path, candidate: str, baseline: str, presses: int) -> None:
    with Store.open(store, read_only=True) as opened:
        con = opened.cursor()
        run, base = get_run(con, candidate), get_run(con, baseline)
        started = time.perf_counter()
        pair = PairCases.build(con, run, base)
        took = ms(time.perf_counter() - started)
        print(f"numbering the pair ({pair.total:,} cases, {pair.failures:,} failures): {took}")
        view = pair.view(con)
        row, steps, pages = -1, [], []
        for _ in range(presses):
            started = time.perf_counter()
            target = view.step_failure(con, row, 1)
            steps.append(time.perf_counter() - started)
            assert target is not None
            started = time.perf_counter()
            view.page(con, (target // 100) * 100, 100)
            pages.append(time.perf_counter() - started)
            row = target
        summary("step_failure query", steps)
        summary("page query (100 rows)", pages)
        pair.drop(con)


def send_key(app: EvaltuiApp, key: str) -> None:
    """Deliver a key the way the terminal driver does (Pilot.press also waits for idleness)."""
    event = events.Key(key, key)
    event.set_sender(app)
    assert app._driver is not None
    app._driver.send_message(event)


async def in_app(store: Path, candidate: str, baseline: str, presses: int) -> None:
    app = EvaltuiApp(Store.open(store, read_only=True))
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            while not app.screen.query(RunsTable) or not app.screen.query_one(RunsTable).order:
                await asyncio.sleep(0.01)
            table = app.screen.query_one(RunsTable)
            index = [r.run_id for r in table.order].index(candidate)
            for _ in range(index):
                await pilot.press("j")
            await pilot.pause(0.2)
            started = time.perf_counter()
            send_key(app, "c")
            while not isinstance(app.screen, CasesScreen):
                await asyncio.sleep(0.0005)
            screen = app.screen
            cases = screen.query_one(CaseList)
            while screen.view is None or cases.current is None:
                await asyncio.sleep(0.001)
            took = ms(time.perf_counter() - started)
            print(f"opening the pair in the app (first rows on screen): {took}")
            await pilot.pause(0.5)
            # the last N would find no failure before the first one: one press fewer
            for key, label, count in (
                ("n", "next failure (n)", presses),
                ("N", "previous (N)", presses - 1),
            ):
                samples = []
                for _ in range(count):
                    before = cases.cursor
                    started = time.perf_counter()
                    send_key(app, key)
                    while cases.cursor == before or cases.current is None:
                        await asyncio.sleep(0.0002)
                    samples.append(time.perf_counter() - started)
                    await pilot.pause(0.02)
                summary(f"keypress to new failure on screen, {label}", samples)
    finally:
        app.release_store()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "store", nargs="?", type=Path, default=ROOT / "bench-data" / "large" / "store.duckdb"
    )
    parser.add_argument("--candidate", default="large-01")
    parser.add_argument("--baseline", default="large-00")
    parser.add_argument("--presses", type=int, default=50)
    args = parser.parse_args()
    bare_queries(args.store, args.candidate, args.baseline, args.presses)
    asyncio.run(in_app(args.store, args.candidate, args.baseline, args.presses))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    print(f"peak memory (RSS): {peak:.0f} MiB")


if __name__ == "__main__":
    main()
