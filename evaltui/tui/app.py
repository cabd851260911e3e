"""The review app: the store it reads, the keys that work everywhere, and the command palette.

The app opens on the runs screen. Each screen owns its own state and asks for data through
`ReviewScreen.fetch`; the app only hands out one DuckDB cursor per worker (`connection()`), so no
connection is ever shared between threads.

Every binding of every screen and widget has an `id`; the config's `[keymap]` table (binding id
= keys) goes to Textual's `App.set_keymap`, so the footer and the help screen show the keys the
user chose. The same id on several screens (`next_failure`, `back`, `down` ...) is one idea:
remapping it moves it everywhere.
"""

from __future__ import annotations

import difflib
import importlib
import pkgutil
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, ClassVar

import duckdb
from textual import events
from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.command import Provider
from textual.dom import DOMNode
from textual.filter import Monochrome, NoColor
from textual.screen import Screen
from textual.theme import BUILTIN_THEMES

from evaltui.errors import InputError, raise_collected
from evaltui.sanitize import visible
from evaltui.settings import KEYMAP_TABLE, Settings
from evaltui.settings import load as load_settings
from evaltui.store.connection import Store
from evaltui.tui.palette import LiteralCommands


class StoreReleased(Exception):
    """A worker asked for a cursor while the app was closing (its result is not wanted)."""


SIGNING_OFF = (
    "signing is off in the browser: the page must not sign with the server's keys; sign in a "
    "terminal with `evaltui decide` or `evaltui cosign`"
)


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
        settings: Settings | None = None,
        signing: bool = True,
    ) -> None:
        super().__init__()
        # False in a browser (`evaltui serve`): whoever holds the page's token must not sign
        # decisions with the keys of the user who started the server
        self.signing = signing
        self.settings = settings if settings is not None else load_settings()
        if self.settings.no_color and not self.no_color:
            # Textual reads only the NO_COLOR variable; the config's no_color gets its filter
            self.no_color = True
            self._filters.append(NoColor() if self.native_ansi_color else Monochrome())
        if self.settings.keymap:
            self.set_keymap(dict(self.settings.keymap))
        self.store = store
        self._cursors: set[duckdb.DuckDBPyConnection] = set()
        self._cursors_idle = threading.Condition()
        self._releasing = False
        self._exiting = False
        self.start_experiment = experiment
        self.start_baseline = baseline
        if theme is not None:
            self.theme = theme
        elif self.settings.theme is not None:
            self.theme = self.settings.theme

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

    def on_mount(self) -> None:
        # Textual's own clash report (handle_bindings_clash) flags every remapped binding that
        # has two keys and misses a key taken from an unmapped binding: evaltui checks itself.
        clashes = keymap_clashes(self.settings.keymap)
        if clashes:
            self.notify(
                visible("keymap: " + "; ".join(clashes), limit=400),
                severity="warning",
                timeout=10,
                markup=False,
            )

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


def bound_classes() -> list[type[DOMNode]]:
    """Every screen and widget class loaded (evaltui's, all imported first, and Textual's)."""
    import evaltui.tui.screens
    import evaltui.tui.widgets

    for package in (evaltui.tui.screens, evaltui.tui.widgets):
        for module in pkgutil.iter_modules(package.__path__, package.__name__ + "."):
            importlib.import_module(module.name)
    found: list[type[DOMNode]] = []
    classes: list[type[DOMNode]] = [DOMNode]
    while classes:
        cls = classes.pop()
        classes.extend(cls.__subclasses__())
        found.append(cls)
    return found


def _bindings(cls: type[DOMNode]) -> list[Binding]:
    return [b for b in getattr(cls, "BINDINGS", ()) if isinstance(b, Binding)]


def binding_ids() -> set[str]:
    """Every binding id a keymap can name."""
    return {b.id for cls in bound_classes() for b in _bindings(cls) if b.id}


def keymap_clashes(keymap: Mapping[str, str]) -> list[str]:
    """'x on CasesScreen: next_failure, no longer clear_filters' for each remapped key that
    takes the key of a binding the keymap leaves alone, on the same screen or widget."""
    if not keymap:
        return []
    wanted = {
        ident: set(App._normalize_keymap({ident: keys})[ident].split(","))
        for ident, keys in keymap.items()
    }
    told: list[str] = []
    for cls in bound_classes():
        if not cls.__module__.startswith("evaltui."):
            continue
        bindings = _bindings(cls)
        for ident in sorted({b.id for b in bindings if b.id in wanted}):
            for other in bindings:
                if other.id in wanted or other.id == ident:
                    continue
                taken = wanted[ident] & {k.strip() for k in other.key.split(",")}
                for key in sorted(taken):
                    told.append(
                        f"{key} on {cls.__name__}: {ident}, no longer {other.id or other.action}"
                    )
    return told


def check_settings(settings: Settings) -> None:
    """Refuse, at the config line that names it, a keymap id no binding has or an unknown theme."""
    known = binding_ids()
    problems: list[InputError] = []
    for ident in settings.keymap:
        if ident not in known:
            close = difflib.get_close_matches(ident, known, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            problems.append(
                settings.origin(f"{KEYMAP_TABLE}.{ident}").error(
                    f"[{KEYMAP_TABLE}] {ident!r}: no key binding has this id{hint}; "
                    "the ids are listed in docs/user-guide.md, Configuration"
                )
            )
    if settings.theme is not None and settings.theme not in BUILTIN_THEMES:
        problems.append(
            settings.origin("theme").error(
                f"theme {settings.theme!r} is not one of Textual's themes "
                f"({', '.join(sorted(BUILTIN_THEMES))})"
            )
        )
    raise_collected(problems)
