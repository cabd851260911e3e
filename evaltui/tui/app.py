"""The review app: the store it reads, the keys that work everywhere, and the command palette.

The app opens on the runs screen. Each screen owns its own state and asks for data through
`ReviewScreen.fetch`; the app only hands out one DuckDB cursor per worker (`connection()`), so no
connection is ever shared between threads.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any, ClassVar

import duckdb
from textual import events
from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.command import Provider
from textual.screen import Screen

from evaltui.store.connection import Store
from evaltui.tui.palette import LiteralCommands


class StoreReleased(Exception):
    """A worker asked for a cursor while the app was closing (its result is not wanted)."""


class EvaltuiApp(App[None]):
    TITLE = "evaltui"
    CSS_PATH = "app.tcss"
    ENABLE_COMMAND_PALETTE = True
    # Textual's default provider parses command titles as markup; ours shows them literally.
    COMMANDS: ClassVar[set[type[Provider] | Callable[[], type[Provider]]]] = {LiteralCommands}
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", "quit", show=False, id="quit", tooltip="quit evaltui"),
        Binding("question_mark,f1", "help", "help", key_display="?", id="help"),
        Binding(
            "L",
            "decisions",
            "past decisions",
            show=False,
            id="decisions",
            tooltip="past decisions: the append-only log of signed decisions on this store",
        ),
    ]

    def __init__(
        self,
        store: Store,
        *,
        experiment: str | None = None,
        baseline: str | None = None,
        theme: str | None = None,
    ) -> None:
        super().__init__()
        self.store = store
        self._cursors: set[duckdb.DuckDBPyConnection] = set()
        self._cursors_idle = threading.Condition()
        self._releasing = False
        self._exiting = False
        self.start_experiment = experiment
        self.start_baseline = baseline
        if theme is not None:
            self.theme = theme

    @contextmanager
    def connection(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A DuckDB cursor of the store for the calling thread, closed afterwards.

        Cursors are made one at a time (DuckDB refuses concurrent calls on one connection) and
        counted, so `release_store` can stop them all before the store is closed.
        """
        with self._cursors_idle:
            if self._releasing:
                raise StoreReleased("the app is closing")
            cursor = self.store.cursor()
            self._cursors.add(cursor)
        try:
            yield cursor
        finally:
            with self._cursors_idle:
                self._cursors.discard(cursor)
                cursor.close()
                self._cursors_idle.notify_all()

    def release_store(self, timeout: float = 10.0) -> None:
        """Interrupt running queries, wait for the workers' cursors, then close the store."""
        with self._cursors_idle:
            self._releasing = True
            for cursor in list(self._cursors):
                cursor.interrupt()
            self._cursors_idle.wait_for(lambda: not self._cursors, timeout=timeout)
        self.store.close()

    def discard(self, fn: Callable[..., Any], *args: Any) -> None:
        """Run `fn(con, *args)` in a thread for its effect only (dropping working tables)."""

        def job() -> None:
            with self.connection() as con:
                fn(con, *args)

        self.run_worker(job, group="discard", thread=True, exit_on_error=False)

    def exit(self, *args: Any, **kwargs: Any) -> None:
        self._exiting = True
        super().exit(*args, **kwargs)

    async def on_event(self, event: events.Event) -> None:
        # Keys that arrive with the quitting one ("qe" in one read from the terminal) are queued
        # before the exit is processed; a screen they push would mount into a closing app.
        if self._exiting and isinstance(event, events.Key):
            return
        await super().on_event(event)

    def get_default_screen(self) -> Screen[Any]:
        from evaltui.tui.screens.runs import RunsScreen

        return RunsScreen(experiment=self.start_experiment, baseline=self.start_baseline)

    def action_help(self) -> None:
        from evaltui.tui.screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.screen))

    def action_decisions(self) -> None:
        from textual.screen import ModalScreen

        from evaltui.tui.screens.decisions import DecisionsScreen

        if not isinstance(self.screen, DecisionsScreen | ModalScreen):
            self.push_screen(DecisionsScreen())

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        from evaltui.tui.screens.base import ReviewModal, ReviewScreen

        if isinstance(screen, ReviewScreen | ReviewModal):
            for title, help_text, callback in screen.palette_commands():
                yield SystemCommand(title, help_text, callback)
        yield SystemCommand(
            "Past decisions", "The signed decisions logged on this store", self.action_decisions
        )
        yield SystemCommand("Help", "Every key of this screen and of the app", self.action_help)
        yield SystemCommand("Quit", "Quit evaltui", self.action_quit)
        yield SystemCommand("Theme", "Change the colors", self.action_change_theme)
