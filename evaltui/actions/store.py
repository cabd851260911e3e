"""Open a store, and refuse an unknown experiment or baseline before anything is shown."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

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
) -> Store:
    """The store named (else EVALTUI_STORE, else the default), waiting up to `wait` seconds for
    a writer to finish. Missing, empty or busy stores are `StoreError`s."""
    return Store.open(
        resolve_store_path(store_path), read_only=read_only, wait=wait, on_wait=on_wait
    )


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
