"""Driving the review app in tests: open it on a store, and wait until its workers are done."""

from __future__ import annotations

from pathlib import Path

from textual.pilot import Pilot
from textual.worker import WorkerState

from evaltui.store.connection import Store
from evaltui.tui.app import EvaltuiApp

BUSY = (WorkerState.PENDING, WorkerState.RUNNING)


def make_app(store_path: Path, **kwargs: str) -> EvaltuiApp:
    """The app on a read-only store; call `app.release_store()` when done (as `run_app` does)."""
    return EvaltuiApp(Store.open(store_path, read_only=True), **kwargs)


async def settle(pilot: Pilot, rounds: int = 100) -> None:
    """Wait until no worker is running and every message they caused has been handled."""
    app = pilot.app
    quiet = 0
    for _ in range(rounds):
        await app.workers.wait_for_complete()
        await pilot.pause()
        if any(w.state in BUSY for w in app.workers):
            quiet = 0
            continue
        quiet += 1
        if quiet >= 3:
            return
    raise AssertionError("the app's workers did not settle")


def screen_text(app: EvaltuiApp) -> str:
    """The visible characters of the current screen, line by line."""
    strips = app.screen._compositor.render_strips()
    return "\n".join("".join(segment.text for segment in strip) for strip in strips)


def terminal_bytes(app: EvaltuiApp) -> str:
    """Exactly what Textual would write to the terminal to draw the current screen."""
    return app.screen._compositor.render_full_update().render_segments(app.console)
