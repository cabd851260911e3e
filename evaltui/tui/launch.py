"""`evaltui [PATH ...]` ends here: open the store read-only and run the app until the user quits."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from evaltui.actions.store import check_start, open_store
from evaltui.settings import NO_COLOR_ENV, Settings, load


def run_app(
    store_path: str | Path | None,
    *,
    experiment: str | None = None,
    baseline: str | None = None,
    wait: float = 0.0,
    on_wait: Callable[[str], None] | None = None,
    settings: Settings | None = None,
    signing: bool = True,
) -> None:
    """Run the review app on the store (`store_path`, else the settings' store, else the
    default), with the settings' keymap, theme and colours (`settings`, else read now).

    A keymap id no binding has, or an unknown theme, is an `InputError` at its config line.

    Errors opening the store (missing, empty, busy after `wait` seconds) are `StoreError`s for
    the CLI to report. The app keeps the store open read-only until it quits: other readers are
    welcome meanwhile, a load waits for it (or is refused at once, naming this process).
    """
    from evaltui.tui.app import EvaltuiApp, check_settings
    from evaltui.tui.colors import pick_theme

    settings = settings or load()
    check_settings(settings)
    environ = {**os.environ, **({NO_COLOR_ENV: "1"} if settings.no_color else {})}
    theme = settings.theme or pick_theme(environ)
    store = open_store(store_path, read_only=True, wait=wait, on_wait=on_wait)
    try:
        check_start(store, experiment=experiment, baseline=baseline)
    except BaseException:
        store.close()
        raise
    app = EvaltuiApp(
        store,
        experiment=experiment,
        baseline=baseline,
        theme=theme,
        settings=settings,
        signing=signing,
    )
    try:
        app.run()
    finally:
        app.release_store()
