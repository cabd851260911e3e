"""`evaltui serve`: the review app in a browser, through textual-serve, behind a token.

textual-serve starts one app process per websocket connection and streams its terminal to
xterm.js in the page. Everything here sits in front of that: an aiohttp middleware checks the
token on every route (page, static files, websocket, downloads) before any handler runs, so a
request without the right token gets 401 (none given) or 403 (a wrong one) and starts nothing.

The token is generated at start and travels once, in the URL printed to the person who started
the server: the first page load with `?token=...` trades it for an HttpOnly, SameSite=Strict
cookie and is redirected to `/`, so the token leaves the address bar, the history and every
Referer. The access log writes paths without query strings, so the token never reaches a log.
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import logging
import os
import secrets
import shlex
import signal
import socket
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp_jinja2
import jinja2
from aiohttp import web
from aiohttp.abc import AbstractAccessLogger
from textual_serve.server import Server

from evaltui.errors import InputError

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765  # when it is taken and no --port was given, any free port is used instead
TOKEN_PARAM = "token"
TOKEN_COOKIE = "evaltui_token"
# Long enough that a token cannot be guessed over the network (256 bits).
TOKEN_BYTES = 32
SHUTDOWN_SECONDS = 5.0  # for the apps of open tabs to quit when the server stops

log = logging.getLogger("evaltui.serve")


@dataclass(frozen=True)
class Listener:
    """A bound, listening socket and the address a browser should use for it."""

    sock: socket.socket
    host: str  # as it goes in a URL (IPv6 in brackets)
    port: int

    def url(self, token: str) -> str:
        return f"http://{self.host}:{self.port}/?{TOKEN_PARAM}={token}"


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def app_command(
    store_path: Path,
    *,
    wait: float = 0.0,
    experiment: str | None = None,
    baseline: str | None = None,
) -> str:
    """The shell command textual-serve runs per connection: the terminal app on the same
    store, opened read-only as `evaltui` without paths opens it (quoted: names come from
    outside)."""
    # --no-signing: the page's user must not sign with the keys of whoever started the server
    args = [
        sys.executable,
        "-m",
        "evaltui",
        "open",
        "--store",
        str(store_path.resolve()),
        "--no-signing",
    ]
    if wait:
        args += ["--wait", str(wait)]
    if experiment is not None:
        args += ["--experiment", experiment]
    if baseline is not None:
        args += ["--baseline", baseline]
    return shlex.join(args)


def listen(host: str, port: int | None, *, public: bool) -> Listener:
    """Bind `host:port` (the default port, else any free one, when `port` is None).

    A host that resolves to anything but loopback needs `public`; one line otherwise.
    """
    addresses = _resolve(host)
    if not public and not all(_is_loopback(info[4][0]) for info in addresses):
        raise InputError(
            None,
            f"--host {host}: not a loopback address; serving to other machines needs --public "
            "(and better an SSH tunnel or a TLS proxy, see docs/team.md)",
        )
    family, _, _, _, sockaddr = addresses[0]
    candidates = [DEFAULT_PORT, 0] if port is None else [port]
    problem: OSError | None = None
    for candidate in candidates:
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((sockaddr[0], candidate, *sockaddr[2:]))
            sock.listen(128)
        except OSError as exc:
            sock.close()
            problem = exc
            continue
        sock.setblocking(False)
        bound = sock.getsockname()[1]
        return Listener(sock, _url_host(host, family), bound)
    assert problem is not None
    raise InputError(
        None,
        f"--host {host} --port {port}: cannot listen ({problem.strerror or problem}); "
        "choose another --port, or 0 for any free one",
    )


def _resolve(host: str) -> list[Any]:
    try:
        found = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise InputError(None, f"--host {host}: cannot resolve ({exc})") from None
    if not found:
        raise InputError(None, f"--host {host}: cannot resolve")
    return found


def _is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


def _url_host(host: str, family: int) -> str:
    if host in ("0.0.0.0", "::", ""):
        host = socket.getfqdn()
    elif family == socket.AF_INET6 and ":" in host:
        host = f"[{host}]"
    return host


def same_token(given: str, token: str) -> bool:
    """Constant-time comparison, so the time a refusal takes says nothing about the token."""
    return hmac.compare_digest(given.encode("utf-8", "replace"), token.encode("utf-8"))


def token_middleware(token: str) -> Any:
    """Refuse every request without the token before its handler (and so any app) runs."""

    @web.middleware
    async def require_token(
        request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        given = request.query.get(TOKEN_PARAM)
        if given is not None:
            if not same_token(given, token):
                return _refuse(403, "wrong token")
            if request.method == "GET" and request.path == "/":
                return _enter(request, token)
        else:
            cookie = request.cookies.get(TOKEN_COOKIE)
            if cookie is None:
                return _refuse(401, "a token is required: open the URL `evaltui serve` printed")
            if not same_token(cookie, token):
                return _refuse(403, "wrong token")
        if request.path == "/ws" and not _same_origin(request):
            # a page on another port of this host is the same *site*, so the cookie alone
            # would let it drive the app; its Origin header gives it away
            return _refuse(403, "websocket from another origin")
        response = await handler(request)
        response.headers["Referrer-Policy"] = "no-referrer"
        return response

    return require_token


def _refuse(status: int, reason: str) -> web.Response:
    response = web.Response(status=status, text=f"{status}: {reason}\n")
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="evaltui"'
    return response


def _enter(request: web.Request, token: str) -> web.Response:
    """Trade the token in the URL for a cookie and come back without it."""
    kept = [(name, value) for name, value in request.query.items() if name != TOKEN_PARAM]
    target = request.rel_url.with_query(kept or None)
    response = web.Response(status=302, headers={"Location": str(target)})
    response.set_cookie(
        TOKEN_COOKIE,
        token,
        httponly=True,
        samesite="Strict",
        path="/",
        secure=request.headers.get("X-Forwarded-Proto") == "https",
    )
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def _same_origin(request: web.Request) -> bool:
    origin = request.headers.get("Origin")
    if origin is None:
        return True  # not a browser: it had to present the cookie itself
    netloc = urlsplit(origin).netloc
    return netloc in {request.host, request.headers.get("X-Forwarded-Host")}


class _PathOnlyAccessLog(AbstractAccessLogger):
    """One line per request, with the path only: a query string could hold the token."""

    def log(self, request: Any, response: Any, time: float) -> None:
        self.logger.info(
            "%s %s %s %s %.3fs",
            request.remote,
            request.method,
            request.path,
            response.status,
            time,
        )


class _BrowserServer(Server):
    """textual-serve's handlers, with the page's own URLs taken from each request.

    textual-serve writes the websocket URL into the page from a fixed public URL; a browser
    behind an SSH tunnel or a TLS proxy reaches the server under another host, port or scheme,
    so the page is given the one it actually used.
    """

    def __init__(self, command: str, *, title: str) -> None:
        super().__init__(command, title=title)
        self.sessions: set[asyncio.Task[Any]] = set()

    async def handle_websocket(self, request: web.Request) -> web.WebSocketResponse:
        task = asyncio.current_task()
        assert task is not None
        self.sessions.add(task)
        try:
            return await super().handle_websocket(request)
        finally:
            self.sessions.discard(task)

    async def end_sessions(self, _app: web.Application) -> None:
        """At shutdown, end every open tab at once: textual-serve's handler, cancelled, tells
        its app to quit and closes the websocket (instead of aiohttp waiting for idle tabs)."""
        for task in self.sessions:
            task.cancel()
        if self.sessions:
            await asyncio.wait(self.sessions, timeout=SHUTDOWN_SECONDS)

    async def handle_index(self, request: web.Request) -> Any:
        scheme = request.headers.get("X-Forwarded-Proto", request.scheme)
        host = request.headers.get("X-Forwarded-Host", request.host)
        # read synchronously by the template handler below, before it first awaits
        self.public_url = f"{'https' if scheme == 'https' else 'http'}://{host}"
        return await super().handle_index(request)


def build_app(command: str, token: str, *, title: str = "evaltui") -> web.Application:
    """The aiohttp application: textual-serve's routes behind the token check."""
    server = _BrowserServer(command, title=title)
    app = web.Application(middlewares=[token_middleware(token)])
    app.on_shutdown.append(server.end_sessions)
    aiohttp_jinja2.setup(app, loader=jinja2.FileSystemLoader(server.templates_path))
    app.add_routes(
        [
            web.get("/", server.handle_index, name="index"),
            web.get("/ws", server.handle_websocket, name="websocket"),
            web.get("/download/{key}", server.handle_download, name="download"),
            web.static("/static", server.statics_path, name="static"),
        ]
    )
    return app


def serve(
    listener: Listener,
    command: str,
    token: str,
    *,
    on_ready: Callable[[], None] | None = None,
) -> None:
    """Serve until SIGINT or SIGTERM; on the way out every app process is told to quit.

    The apps inherit this process's environment, less the ssh-agent: whoever holds the token
    must not sign decisions with the keys the serving user has loaded in an agent.
    """
    os.environ.pop("SSH_AUTH_SOCK", None)
    _log_to_stderr()
    asyncio.run(_serve(listener, build_app(command, token), on_ready))


async def _serve(
    listener: Listener, app: web.Application, on_ready: Callable[[], None] | None
) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    runner = web.AppRunner(
        app,
        access_log_class=_PathOnlyAccessLog,
        access_log=log,
        shutdown_timeout=SHUTDOWN_SECONDS,
    )
    await runner.setup()
    try:
        await web.SockSite(runner, listener.sock).start()
        if on_ready is not None:
            on_ready()
        await stop.wait()
    finally:
        await runner.cleanup()


def _log_to_stderr() -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("evaltui serve: %(message)s"))
    for name in ("evaltui.serve", "textual-serve"):
        logger = logging.getLogger(name)
        logger.setLevel(logging.INFO)
        logger.addHandler(handler)
        logger.propagate = False
