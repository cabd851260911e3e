"""Options shared by several commands, and opening the store for a command."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from evaltui.store.connection import STORE_ENV, Store, resolve_store_path

F = TypeVar("F", bound=Callable[..., Any])


def store_option(func: F) -> F:
    return click.option(
        "--store",
        "store_path",
        type=click.Path(dir_okay=False, path_type=Path),
        envvar=STORE_ENV,
        default=None,
        help=f"DuckDB store file (default: nearest .evaltui/store.duckdb; env {STORE_ENV}).",
    )(func)


def json_option(func: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts and CI.")(
        func
    )


def open_store(store_path: Path | None, *, read_only: bool) -> Store:
    return Store.open(resolve_store_path(store_path), read_only=read_only)
