"""Driving the review app in tests: open it on a store, and wait until its workers are done."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

from textual.pilot import Pilot
from textual.widgets import OptionList
from textual.worker import WorkerState

from evaltui.store.connection import Store
from evaltui.store.queries import experiments
from evaltui.tui.app import EvaltuiApp
from evaltui.tui.screens.runs import RunsScreen
from evaltui.tui.widgets.runs_table import RunsTable

BUSY = (WorkerState.PENDING, WorkerState.RUNNING)


def make_app(
    store_path: Path,
    *,
    experiment: str | None = None,
    baseline: str | None = None,
    theme: str | None = None,
    default_start: bool = False,
    signing: bool = True,
) -> EvaltuiApp:
    """The app on a read-only store; call `app.release_store()` when done (as `run_app` does).

    Without `experiment` or `baseline` it opens on the store's most recently active experiment
    (the sample's support router, which most flows walk through); `default_start=True` leaves
    the choice to the app's own rule (`actions.review.first_experiment`).
    """
    store = Store.open(store_path, read_only=True)
    if not default_start and experiment is None and baseline is None:
        names = experiments(store.con)
        if names:
            experiment = names[0][0]
    return EvaltuiApp(store, experiment=experiment, baseline=baseline, theme=theme, signing=signing)


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


Flow = Callable[[EvaltuiApp, Pilot], Awaitable[None]]


def drive(
    store: Path, flow: Flow, size: tuple[int, int] = (80, 24), experiment: str | None = None
) -> None:
    """Run `flow` against the app on `store` at `size`, once its first workers have settled."""

    async def main() -> None:
        app = make_app(store, experiment=experiment)
        try:
            async with app.run_test(size=size) as pilot:
                await settle(pilot)
                await flow(app, pilot)
        finally:
            app.release_store()

    asyncio.run(main())


def runs_table(app: EvaltuiApp) -> RunsTable:
    assert isinstance(app.screen, RunsScreen)
    return app.screen.query_one(RunsTable)


async def highlight(pilot: Pilot, app: EvaltuiApp, run_id: str) -> None:
    """Move the runs cursor to `run_id` with j/k only."""
    table = runs_table(app)
    target = [r.run_id for r in table.order].index(run_id)
    while table.cursor_row != target:
        await pilot.press("j" if table.cursor_row < target else "k")
    await settle(pilot)


async def pick(pilot: Pilot, app: EvaltuiApp, startswith: str) -> None:
    """In an open picker (ChoiceModal), move with j/k to the option starting with `startswith`
    and choose it with enter."""
    options = app.screen.query_one(OptionList)
    labels = [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]
    target = next(i for i, label in enumerate(labels) if label.startswith(startswith))
    while options.highlighted != target:
        await pilot.press("j" if (options.highlighted or 0) < target else "k")
    await pilot.press("enter")
    await settle(pilot)
