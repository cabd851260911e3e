"""`evaltui serve`: the review app in a browser (see evaltui/serve.py)."""

from __future__ import annotations

from pathlib import Path

import click

from evaltui.cli.options import current_wait, open_store, say_waiting, store_option
from evaltui.sanitize import visible
from evaltui.store.connection import Store, resolve_store_path


@click.command("serve")
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on; anything but loopback needs --public.",
)
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=None,
    help="Port to listen on (default 8765, or any free port when that one is taken; 0: any).",
)
@click.option(
    "--public",
    is_flag=True,
    help="Allow a non-loopback --host. Traffic is plain HTTP: prefer an SSH tunnel or a TLS proxy.",
)
@click.option("--experiment", help="Open this experiment first.")
@click.option("--baseline", help="Pin this run as the baseline.")
@store_option
def serve_command(
    host: str,
    port: int | None,
    public: bool,
    experiment: str | None,
    baseline: str | None,
    store_path: Path | None,
) -> None:
    """Serve the review app to a browser, behind a token printed at start.

    Every browser connection runs its own copy of the app on the store, opened read-only;
    the keys are those of the terminal app. Stop with Ctrl+C.
    """
    from evaltui import serve  # aiohttp and textual-serve only for this command
    from evaltui.actions.store import is_team_store
    from evaltui.tui.launch import check_start

    # a missing, empty or busy store, or an unknown experiment, is one line now, not a dead
    # page in the browser later; a team store is pulled into its local cache now, and the
    # browser apps read that snapshot (restart the server for a newer one)
    if is_team_store(store_path):
        with open_store(store_path, read_only=True) as store:
            check_start(store, experiment=experiment, baseline=baseline)
            path = store.path.resolve()
    else:
        path = resolve_store_path(store_path).resolve()
        with Store.open(path, read_only=True, wait=current_wait(), on_wait=say_waiting) as store:
            check_start(store, experiment=experiment, baseline=baseline)
    listener = serve.listen(host, port, public=public)
    token = serve.new_token()

    def ready() -> None:
        click.echo(f"evaltui: serving {visible(str(path))} read-only; open in a browser:", err=True)
        click.echo(listener.url(token))
        if public:
            click.echo(
                "evaltui: --public: plain HTTP; anyone who can reach this address and has the "
                "URL can review (see docs/team.md for an SSH tunnel or a TLS proxy)",
                err=True,
            )
        click.echo("evaltui: Ctrl+C stops the server and every app it started", err=True)

    command = serve.app_command(path, wait=current_wait(), experiment=experiment, baseline=baseline)
    serve.serve(listener, command, token, on_ready=ready)
