"""What every screen and modal of the app shares: getting data off the UI thread, and errors.

A screen asks for data with `self.fetch(then, fn, *args)`: `fn(con, *args)` runs in a thread
worker on its own DuckDB cursor, and its result comes back as a `Fetched` message, on the UI
thread, where `then(result)` updates the widgets. Workers never touch widgets. A newer fetch in
the same group cancels the older one, and a cancelled worker's result is dropped, so a fast typist
never sees an old answer overwrite a new one. Errors from a worker become one notification line.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import duckdb
from textual.binding import Binding
from textual.message import Message
from textual.screen import ModalScreen, Screen
from textual.widgets import Static
from textual.worker import Worker, WorkerState, get_current_worker

from evaltui.errors import EvaltuiError
from evaltui.sanitize import visible
from evaltui.tui.app import EvaltuiApp, StoreReleased
from evaltui.tui.text import safe

T = TypeVar("T")
Query = Callable[..., T]


class Fetched(Message):
    """A worker's result, delivered on the UI thread to the screen that asked for it."""

    def __init__(self, then: Callable[[Any], None], value: Any) -> None:
        super().__init__()
        self.then = then
        self.value = value


class DataMixin:
    """`fetch()` and worker error reporting, for screens and modals alike."""

    @property
    def review_app(self) -> EvaltuiApp:
        app = self.app  # type: ignore[attr-defined]
        assert isinstance(app, EvaltuiApp)
        return app

    def fetch(
        self,
        then: Callable[[T], None],
        fn: Callable[..., T],
        *args: Any,
        group: str | None = None,
        exclusive: bool = True,
        on_cancel: Callable[[duckdb.DuckDBPyConnection, T], None] | None = None,
    ) -> Worker[T]:
        """Run `fn(con, *args)` in a thread worker; call `then(result)` on the UI thread.

        `on_cancel(con, result)` runs in the worker instead when a newer fetch of the same group
        superseded this one (to drop a working table nobody will use).
        """
        app = self.review_app
        target: Any = self

        def job() -> T:
            worker = get_current_worker()
            with app.connection() as con:
                value = fn(con, *args)
                if worker.is_cancelled:
                    if on_cancel is not None:
                        on_cancel(con, value)
                else:
                    target.post_message(Fetched(then, value))
            return value

        return target.run_worker(
            job,
            name=getattr(fn, "__name__", "query"),
            group=group or getattr(fn, "__name__", "query"),
            thread=True,
            exclusive=exclusive,
            exit_on_error=False,
        )

    def on_fetched(self, event: Fetched) -> None:
        event.stop()
        event.then(event.value)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state != WorkerState.ERROR:
            return
        error = event.worker.error
        if isinstance(error, EvaltuiError):
            message = " / ".join(error.lines())
        elif isinstance(error, duckdb.InterruptException | StoreReleased):
            return
        else:
            message = f"internal error: {type(error).__name__}: {error}"
        self.review_app.notify(
            visible(message, limit=500), severity="error", timeout=15, markup=False
        )
        self.fetch_failed(error)

    def fetch_failed(self, error: BaseException | None) -> None:
        """Hook for screens that show a loading state: a fetch ended in an error."""

    def copy_id(self, what: str, value: str | None) -> None:
        """`y`: put a run or case id on the clipboard (OSC 52) and say what was copied.

        The id is copied as it is shown: an id with control characters gets their visible
        placeholders, never the characters themselves (a pasted newline would run a command).
        """
        if value is None:
            self.review_app.notify(f"no {what} to copy here", markup=False, timeout=3)
            return
        shown = visible(value, limit=None)
        self.review_app.copy_to_clipboard(shown)
        note = "" if shown == value else " (control characters copied as their placeholders)"
        self.review_app.notify(
            f"copied {what} {visible(value, limit=200)}{note}", markup=False, timeout=4
        )


class ReviewScreen(DataMixin, Screen[T]):
    """Base class of the app's full screens."""

    def palette_commands(self) -> list[tuple[str, str, Callable[[], Any]]]:
        """Extra command-palette entries while this screen is active: (title, help, callback)."""
        return []


FORM_HELP = Binding(
    "f1,question_mark",
    "app.help",
    "help",
    key_display="F1",
    tooltip="every key of this form (? types a question mark in a text field)",
    id="help",
)  # the help key of every form (decide, co-sign, verdict)


class ReviewModal(DataMixin, ModalScreen[T]):
    """Base class of the app's modals (forms and pickers that return a value with `dismiss`)."""

    def palette_commands(self) -> list[tuple[str, str, Callable[[], Any]]]:
        return []

    # -- a form's problems: one `.field-error` Static under each field ---------------------------

    def put_error(self, target_id: str, message: str) -> None:
        """Show `message` literally in the error line `target_id`, or hide the line when empty."""
        target = self.query_one(f"#{target_id}", Static)
        target.update(safe(message, limit=800, multiline=True) if message else "")
        target.display = bool(message)

    def clear_errors(self) -> None:
        for error in self.query(".field-error"):
            if isinstance(error, Static):
                error.update("")
                error.display = False
