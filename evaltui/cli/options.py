"""Options shared by several commands, and opening the store for a command."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from click.core import ParameterSource

from evaltui import settings
from evaltui.actions import store as actions_store
from evaltui.sanitize import visible
from evaltui.settings import STORE_ENV, WAIT_ENV, Settings
from evaltui.store.connection import Store

F = TypeVar("F", bound=Callable[..., Any])

_WAIT_KEY = "evaltui.wait"
_SETTINGS_KEY = "evaltui.settings"


def current_settings() -> Settings:
    """The settings of the command being run (config files and environment), read once.

    Options take them as defaults, so a flag given on the command line still wins.
    """
    ctx = click.get_current_context(silent=True)
    if ctx is None:
        return settings.load()
    found = ctx.meta.get(_SETTINGS_KEY)
    if not isinstance(found, Settings):
        found = ctx.meta[_SETTINGS_KEY] = settings.load()
    return found


def from_settings(name: str) -> Callable[[], Any]:
    """An option default: the setting `name` of `current_settings()` (None when unset)."""
    return lambda: getattr(current_settings(), name)


def store_option(func: F) -> F:
    """`--store PATH`, and with it `--wait SECONDS` for when another process holds the store."""
    func = wait_option(func)
    return click.option(
        "--store",
        "store_path",
        type=click.Path(dir_okay=False, path_type=Path),
        default=from_settings("store"),
        help="DuckDB store file (default: nearest .evaltui/store.duckdb; "
        f"env {STORE_ENV}, config `store`).",
    )(func)


def _remember_wait(ctx: click.Context, param: click.Parameter, value: float | None) -> None:
    # ctx.meta is shared by a group and its subcommands, so `evaltui import --wait 5 lm-eval X`
    # and `evaltui import lm-eval X --wait 5` both count; an unset inner option (whose value is
    # the settings' default) keeps the outer.
    if value is None:
        return
    from_default = ctx.get_parameter_source(param.name or "") is ParameterSource.DEFAULT
    if not (from_default and _WAIT_KEY in ctx.meta):
        ctx.meta[_WAIT_KEY] = value


def wait_option(func: F) -> F:
    return click.option(
        "--wait",
        type=click.FloatRange(min=0),
        default=from_settings("wait"),
        expose_value=False,
        callback=_remember_wait,
        metavar="SECONDS",
        help="If another process has the store (a load, or the review app), wait up to this "
        f"long for it instead of failing at once (default 0; env {WAIT_ENV}, config `wait`).",
    )(func)


def current_wait() -> float:
    """The --wait of the command being run (0 outside a command)."""
    ctx = click.get_current_context(silent=True)
    return float(ctx.meta.get(_WAIT_KEY, 0.0)) if ctx is not None else 0.0


def say_waiting(message: str) -> None:
    click.echo(f"evaltui: {visible(message)}", err=True)


def json_option(func: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts and CI.")(
        func
    )


def confidence_option(help_text: str) -> Callable[[F], F]:
    """`--confidence LEVEL` (0.95 unless told), the level of the intervals `help_text` names."""
    return click.option(
        "--confidence",
        type=click.FloatRange(0.5, 0.999),
        default=0.95,
        show_default=True,
        help=help_text,
    )


def open_store(store_path: Path | None, *, read_only: bool) -> Store:
    """The store a command names, waiting for it as long as --wait says."""
    return actions_store.open_store(
        store_path, read_only=read_only, wait=current_wait(), on_wait=say_waiting
    )
