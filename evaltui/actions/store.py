"""Open a store, and refuse an unknown experiment or baseline before anything is shown."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from evaltui import settings
from evaltui.errors import InputError, NotFoundError
from evaltui.sanitize import visible
from evaltui.store.connection import Store, resolve_store_path
from evaltui.store.queries import experiments, get_run


def open_store(
    store_path: str | Path | None,
    *,
    read_only: bool,
    wait: float = 0.0,
    on_wait: Callable[[str], None] | None = None,
    snapshots: Mapping[str, Any] | None = None,
) -> Store:
    """The store named (else EVALTUI_STORE, else the default), waiting up to `wait` seconds for
    a writer to finish. Missing, empty or busy stores are `StoreError`s.

    A team store (an `iceberg+postgresql://` URI or a [stores.NAME] name) opens as its local
    cache (`actions.team.open_team`), of its current snapshot or of `snapshots`; `on_wait`
    hears when a snapshot is pulled. A team store is written only by `evaltui publish`."""
    target = store_target(store_path)
    if settings.is_team_store(target):
        assert target is not None
        if not read_only:
            raise InputError(
                None,
                "a team store is written with `evaltui publish PATH --to URI`; load into a "
                "local store (--store PATH) instead",
            )
        from evaltui.actions.team import open_team

        return open_team(target, snapshots=snapshots, on_note=on_wait)
    return Store.open(
        resolve_store_path(store_path), read_only=read_only, wait=wait, on_wait=on_wait
    )


def is_team_store(store_path: str | Path | None) -> bool:
    """Whether `store_path` (else the settings' store) names a team store."""
    return settings.is_team_store(store_target(store_path))


def store_target(store_path: str | Path | None) -> str | Path | None:
    """`store_path`, else the settings' store (None: the default local store)."""
    return store_path if store_path else settings.load().store


def check_start(store: Store, *, experiment: str | None, baseline: str | None) -> None:
    """Refuse an unknown experiment or baseline (errors on the field `experiment`/`baseline`)."""
    if baseline is not None:
        try:
            run = get_run(store.con, baseline)
        except NotFoundError as error:
            error.field = "baseline"
            raise
        if experiment is not None and run.experiment != experiment:
            raise InputError(
                None,
                f"--baseline {visible(baseline)} belongs to experiment {visible(run.experiment)}, "
                f"not {visible(experiment)}",
                field="baseline",
            )
    if experiment is not None and experiment not in {name for name, _ in experiments(store.con)}:
        raise NotFoundError(
            f"{visible(experiment)}: no such experiment in the store (see `evaltui runs`)",
            field="experiment",
        )
