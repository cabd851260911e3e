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


class StoreParam(click.ParamType):
    """A --store value: a DuckDB file (a Path), or a team store (an `iceberg+postgresql://` URI
    or a [stores.NAME] name of the config, kept as text: a Path would fold its `//`)."""

    name = "store"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> Path | str:
        if isinstance(value, Path):
            return value
        text = str(value)
        if not text:
            self.fail("expected a store file, a team store URI or a [stores] name", param, ctx)
        return text if settings.is_team_store(text, current_settings()) else Path(text)


STORE = StoreParam()
STORE_HELP = (
    "DuckDB store file (default: nearest .evaltui/store.duckdb), or a team store: an "
    "iceberg+postgresql://USER@HOST/DB?warehouse=... URI or the name of a [stores.NAME] "
    f"config entry (env {STORE_ENV}, config `store`; see docs/team.md)."
)


def store_option(func: F) -> F:
    """`--store PATH|URI`, and with it `--wait SECONDS` for when another process holds the
    store."""
    func = wait_option(func)
    return click.option(
        "--store",
        "store_path",
        type=STORE,
        default=from_settings("store"),
        metavar="PATH|URI",
        help=STORE_HELP,
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


def open_store(store_path: Path | str | None, *, read_only: bool, **kwargs: Any) -> Store:
    """The store a command names, waiting for it as long as --wait says (a team store: its
    local cache, with a line when a snapshot is pulled)."""
    return actions_store.open_store(
        store_path, read_only=read_only, wait=current_wait(), on_wait=say_waiting, **kwargs
    )
