"""One review-app session, headless at 80x24, timed the way a reviewer meets it.

    python benchmarks/app_session.py STORE --candidate RUN [--presses 50] [--switches 5]

Prints JSON lines on stdout: {"event": "ready", ...} as soon as the runs screen shows the audited
runs (so a parent process can time app start to first interactive screen from its own clock),
then one {"event": "done", ...} with every timing. Keys are delivered the way the terminal
driver delivers them (`send_key`): Pilot.press waits for the app to go idle after each key,
about 100 ms, so it cannot time a keypress.

Timed, each from the key to the new state on screen:
- open: process start (before imports, the CLI's included, as `evaltui` pays them) to the runs
  table filled (`open_seconds` in-process; the parent times it from spawn as well); then to
  the paired bootstraps in, which follow in a worker (`statistics_seconds`);
- pair open: `c` on the highlighted run to the first case rows of the pair on screen;
- step: `n` (then `N`) to the cursor on the next (previous) failure with its row drawn;
- pair switch: `esc`, `j`, `c` from one pair's cases to the next run's cases on screen.
"""

from __future__ import annotations

import time

STARTED = time.perf_counter()  # before the imports: they are part of opening the app

import argparse  # noqa: E402
import asyncio  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from textual import events  # noqa: E402

import evaltui.cli.main  # noqa: E402, F401  (`evaltui` starts the app through the CLI: same imports)
from evaltui.store.connection import Store  # noqa: E402
from evaltui.tui.app import EvaltuiApp  # noqa: E402
from evaltui.tui.launch import check_start  # noqa: E402
from evaltui.tui.screens.cases import CasesScreen  # noqa: E402
from evaltui.tui.screens.runs import RunsScreen  # noqa: E402
from evaltui.tui.widgets.case_list import CaseList  # noqa: E402
from evaltui.tui.widgets.runs_table import RunsTable  # noqa: E402

POLL = 0.0002  # seconds between checks while waiting for the screen to change
TIMEOUT = 120.0


def send_key(app: EvaltuiApp, key: str) -> None:
    """Deliver a key the way the terminal driver does (Pilot.press also waits for idleness)."""
    event = events.Key(key, key)
    event.set_sender(app)
    assert app._driver is not None
    app._driver.send_message(event)


def emit(event: str, **data: object) -> None:
    sys.stdout.write(json.dumps({"event": event, **data}) + "\n")
    sys.stdout.flush()


async def wait_for(condition: object, what: str) -> None:
    deadline = time.perf_counter() + TIMEOUT
    while not condition():  # type: ignore[operator]
        if time.perf_counter() > deadline:
            raise TimeoutError(f"gave up waiting for {what}")
        await asyncio.sleep(POLL)


def runs_ready(app: EvaltuiApp) -> bool:
    screen = app.screen
    if not isinstance(screen, RunsScreen) or not screen.query(RunsTable):
        return False
    return bool(screen.query_one(RunsTable).order)


def statistics_pending(app: EvaltuiApp) -> bool:
    screen = app.screen
    assert isinstance(screen, RunsScreen) and screen.review is not None
    return screen.review.pending


def cases_ready(app: EvaltuiApp, previous: object = None) -> bool:
    screen = app.screen
    if not isinstance(screen, CasesScreen) or screen is previous or screen.view is None:
        return False
    return screen.query_one(CaseList).current is not None


async def session(store: Path, candidate: str, presses: int, switches: int) -> dict[str, object]:
    opened = Store.open(store, read_only=True)
    check_start(opened, experiment=None, baseline=None)  # what `run_app` does before the app
    app = EvaltuiApp(opened)
    out: dict[str, object] = {}
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_for(lambda: runs_ready(app), "the runs screen")
            out["open_seconds"] = time.perf_counter() - STARTED
            emit("ready", open_seconds=out["open_seconds"])
            # the bootstraps follow the runs on screen (a worker of their own): until they are
            # in, the panel shows … and a pair screen waits for them
            await wait_for(lambda: not statistics_pending(app), "the paired statistics")
            out["statistics_seconds"] = time.perf_counter() - STARTED
            table = app.screen.query_one(RunsTable)
            order = [r.run_id for r in table.order]
            for _ in range(order.index(candidate)):
                await pilot.press("j")
            await pilot.pause(0.2)

            started = time.perf_counter()
            send_key(app, "c")
            await wait_for(lambda: cases_ready(app), "the pair's cases")
            out["pair_open_ms"] = (time.perf_counter() - started) * 1000
            screen = app.screen
            assert isinstance(screen, CasesScreen) and screen.view is not None
            out["pair_cases"] = screen.view.total
            out["pair_failures"] = screen.view.failures
            await pilot.pause(0.5)
            out["step_ms"] = await steps(app, pilot, screen, presses)

            switch_ms: list[float] = []
            for _ in range(switches):
                previous = app.screen
                started = time.perf_counter()
                for key in ("escape", "j", "c"):
                    send_key(app, key)
                await wait_for(lambda p=previous: cases_ready(app, p), "the next pair")  # type: ignore[misc]
                switch_ms.append((time.perf_counter() - started) * 1000)
                await pilot.pause(0.3)
            out["pair_switch_ms"] = switch_ms
    finally:
        app.release_store()
    return out


async def steps(app: EvaltuiApp, pilot: object, screen: CasesScreen, presses: int) -> list[float]:
    """`presses` failure jumps: forward with n while there are failures ahead, then back with N."""
    cases = screen.query_one(CaseList)
    assert screen.view is not None
    failures = screen.view.failures
    if failures < 2:
        return []
    samples: list[float] = []
    seen = 1 if cases.current is not None and not cases.current.correct else 0
    key = "n"
    while len(samples) < presses:
        if key == "n" and seen >= failures:
            key = "N"
        elif key == "N" and seen <= 1:
            key = "n"
        before = cases.cursor
        started = time.perf_counter()
        send_key(app, key)
        await wait_for(
            lambda b=before: cases.cursor != b and cases.current is not None,  # type: ignore[misc]
            f"the cursor to move on {key}",
        )
        samples.append((time.perf_counter() - started) * 1000)
        seen += 1 if key == "n" else -1
        await pilot.pause(0.02)  # type: ignore[attr-defined]
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("store", type=Path)
    parser.add_argument("--candidate", required=True)
    parser.add_argument("--presses", type=int, default=50)
    parser.add_argument("--switches", type=int, default=5)
    args = parser.parse_args()
    result = asyncio.run(session(args.store, args.candidate, args.presses, args.switches))
    emit("done", **result)


if __name__ == "__main__":
    main()
