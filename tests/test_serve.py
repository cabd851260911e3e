"""`evaltui serve` over HTTP: the token guards every route before any app process starts."""

from __future__ import annotations

import asyncio
import shlex
import signal
import socket
import time
from pathlib import Path

import aiohttp
import pytest

from evaltui import serve
from evaltui.errors import InputError
from tests.serve_support import Served, process_group, served

ROUTES = ["/", "/ws", "/static/js/textual.js", "/download/anything", "/no-such-page"]
PATIENCE = 60.0


async def _status(
    session: aiohttp.ClientSession, url: str, cookies: dict[str, str] | None = None
) -> int:
    async with session.get(url, allow_redirects=False, cookies=cookies) as response:
        return response.status


async def _refusals(server: Served) -> dict[str, list[int]]:
    """The status of every route without a token, with a wrong one, and with a wrong cookie."""
    seen: dict[str, list[int]] = {}
    async with aiohttp.ClientSession() as session:
        for route in ROUTES:
            seen[route] = [
                await _status(session, server.base + route),
                await _status(session, f"{server.base}{route}?token=wrong-{server.token}"),
                await _status(session, f"{server.base}{route}?token="),
                await _status(
                    session, server.base + route, cookies={serve.TOKEN_COOKIE: server.token[:-1]}
                ),
            ]
        # a websocket handshake, as the page makes it, without the cookie
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await session.ws_connect(server.base + "/ws?width=80&height=24")
        seen["ws-handshake"] = [refused.value.status]
    return seen


async def _enter_and_connect(server: Served) -> tuple[int, str, bytes]:
    """The printed URL: a cookie, the page, then the app's first bytes over the websocket."""
    # unsafe: aiohttp's jar keeps no cookie set by an IP address unless told to; browsers do
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        async with session.get(server.url, allow_redirects=False) as response:
            assert response.status == 302 and response.headers["Location"] == "/"
            assert serve.TOKEN_COOKIE in response.cookies
        async with session.get(server.base + "/") as response:
            status, page = response.status, await response.text()
        websocket = await session.ws_connect(
            server.base + "/ws?width=100&height=30", headers={"Origin": server.base}
        )
        first = b""
        deadline = time.monotonic() + PATIENCE
        while len(first) < 200 and time.monotonic() < deadline:
            message = await websocket.receive(timeout=PATIENCE)
            if message.type == aiohttp.WSMsgType.BINARY:
                first += message.data
        await websocket.close()
        return status, page, first


async def _foreign_origin(server: Served) -> int:
    async with aiohttp.ClientSession(cookies={serve.TOKEN_COOKIE: server.token}) as session:
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await session.ws_connect(server.base + "/ws", headers={"Origin": "http://127.0.0.1:1"})
        return refused.value.status


def test_no_token_no_app_then_the_printed_url_opens_the_app(sample_store: Path) -> None:
    with served(sample_store) as server:
        assert server.url.startswith("http://127.0.0.1:")
        assert len(server.token) >= 40
        seen = asyncio.run(_refusals(server))
        assert seen == {
            **{route: [401, 403, 403, 403] for route in ROUTES},
            "ws-handshake": [401],
        }
        assert server.descendants() == []  # no app process was started for any of them
        assert asyncio.run(_foreign_origin(server)) == 403
        assert server.descendants() == []

        status, page, first = asyncio.run(_enter_and_connect(server))
        assert status == 200 and 'data-session-websocket-url="ws://127.0.0.1:' in page
        assert b"\x1b[" in first  # the app drew its first screen
    # the one place the token appears is the URL on stdout: not in the server's log lines
    log = "".join(server.stderr)
    assert server.token not in log and "token=" not in log
    assert "GET /static/js/textual.js 401" in log and "GET / 403" in log  # refusals are logged


def test_an_app_process_starts_only_for_an_accepted_websocket(sample_store: Path) -> None:
    """The child count the refusal test relies on does see an app when one runs; the app
    gets no ssh-agent to sign with, though the serving user has one."""

    async def connect_and_read_environments(server: Served) -> list[bytes]:
        async with aiohttp.ClientSession(cookies={serve.TOKEN_COOKIE: server.token}) as session:
            websocket = await session.ws_connect(server.base + "/ws")
            await websocket.receive(timeout=PATIENCE)  # the app is up once it talks
            environments = [
                Path(f"/proc/{pid}/environ").read_bytes() for pid in server.descendants()
            ]
            await websocket.close()
            return environments

    async def stop_with_an_app_open(server: Served) -> list[int]:
        async with aiohttp.ClientSession(cookies={serve.TOKEN_COOKIE: server.token}) as session:
            websocket = await session.ws_connect(server.base + "/ws")
            await websocket.receive(timeout=PATIENCE)
            running = server.descendants()
            server.proc.send_signal(signal.SIGTERM)
            while not websocket.closed:  # answer the server's close, as a browser does
                await websocket.receive(timeout=PATIENCE)
            await asyncio.to_thread(server.proc.wait, PATIENCE)
            return running

    with served(sample_store, env={"SSH_AUTH_SOCK": "/tmp/agent.sock"}) as server:
        assert server.descendants() == []
        environments = asyncio.run(connect_and_read_environments(server))
        deadline = time.monotonic() + PATIENCE
        while server.descendants() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert server.descendants() == []  # the tab closed: its app ended
        assert asyncio.run(stop_with_an_app_open(server))
    # SIGTERM stopped the server cleanly and ended the app it still ran: nothing left behind
    assert server.proc.returncode == 0
    assert process_group(server.proc.pid) == []
    assert len(environments) >= 1
    assert all(b"TEXTUAL_DRIVER=" in env for env in environments)  # textual-serve's apps
    assert not any(b"SSH_AUTH_SOCK=" in env for env in environments)


@pytest.mark.parametrize("host", ["0.0.0.0", "192.0.2.1", "::"])
def test_a_non_loopback_host_needs_public(run_cli, sample_store: Path, host: str) -> None:  # type: ignore[no-untyped-def]
    result = run_cli("serve", "--store", sample_store, "--host", host)
    assert result.code == 2
    assert result.out == ""
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 and f"--host {host}: not a loopback address" in lines[0]
    assert "--public" in lines[0]


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1"])
def test_loopback_hosts_need_nothing(host: str) -> None:
    try:
        listener = serve.listen(host, 0, public=False)
    except InputError as exc:
        if host == "::1" and "cannot" in str(exc):
            pytest.skip("this machine has no IPv6 loopback")
        raise
    with listener.sock:
        assert listener.port > 0
        address = listener.sock.getsockname()[0]
        assert serve._is_loopback(address)


def test_public_lets_a_non_loopback_address_listen() -> None:
    listener = serve.listen("0.0.0.0", 0, public=True)
    with listener.sock:
        assert listener.sock.getsockname()[0] == "0.0.0.0" and listener.port > 0
        assert listener.url("T").endswith(f":{listener.port}/?token=T")


def test_a_taken_port_is_one_line(run_cli, sample_store: Path) -> None:  # type: ignore[no-untyped-def]
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        result = run_cli("serve", "--store", sample_store, "--port", str(port))
    assert result.code == 2
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 and "cannot listen" in lines[0] and "--port" in lines[0]


def test_the_default_port_when_taken_gives_way_to_a_free_one() -> None:
    try:
        holder = socket.create_server(("127.0.0.1", serve.DEFAULT_PORT))
    except OSError:
        holder = None  # someone else holds it: the same situation
    try:
        listener = serve.listen("127.0.0.1", None, public=False)
        with listener.sock:
            assert listener.port not in (0, serve.DEFAULT_PORT)
    finally:
        if holder is not None:
            holder.close()


def test_a_missing_store_is_refused_before_serving(run_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    result = run_cli("serve", "--store", tmp_path / "none.duckdb", "--port", "0")
    assert result.code == 2 and result.out == ""
    assert len(result.err.strip().splitlines()) == 1 and "no store here yet" in result.err


def test_tokens_are_fresh_and_compared_exactly() -> None:
    first, second = serve.new_token(), serve.new_token()
    assert first != second and len(first) >= 40
    assert serve.same_token(first, first)
    assert not serve.same_token(first[:-1], first)
    assert not serve.same_token(first + "x", first)
    assert not serve.same_token("é" * 10, first)  # not ASCII: refused, not a crash


def test_the_app_command_opens_the_same_store_and_quotes_names(sample_store: Path) -> None:
    command = serve.app_command(sample_store)
    assert command.endswith(f"-m evaltui open --store {sample_store.resolve()} --no-signing")
    hostile = serve.app_command(sample_store, experiment="x; touch pwned", baseline="$(id)")
    assert shlex.split(hostile)[-4:] == ["--experiment", "x; touch pwned", "--baseline", "$(id)"]


def test_an_unknown_experiment_is_refused_before_serving(run_cli, sample_store: Path) -> None:  # type: ignore[no-untyped-def]
    result = run_cli("serve", "--store", sample_store, "--port", "0", "--experiment", "nope")
    assert result.code == 2 and result.out == ""
    assert "nope: no such experiment" in result.err


def test_behind_a_tunnel_or_a_tls_proxy_the_page_uses_the_browsers_address() -> None:
    """The page's websocket URL follows the address the browser used (an SSH tunnel's local
    port, a proxy's https host), and the cookie is Secure behind an HTTPS proxy."""
    from aiohttp.test_utils import TestClient, TestServer

    token = serve.new_token()

    async def pages() -> tuple[str, str, str]:
        client = TestClient(TestServer(serve.build_app("false", token)))
        await client.start_server()
        try:
            cookies = {serve.TOKEN_COOKIE: token}
            tunnel = await client.get("/", headers={"Host": "127.0.0.1:9000"}, cookies=cookies)
            proxied = await client.get(
                "/",
                headers={"X-Forwarded-Proto": "https", "X-Forwarded-Host": "evals.example.com"},
                cookies=cookies,
            )
            entry = await client.get(
                f"/?token={token}&fontsize=18",
                headers={"X-Forwarded-Proto": "https"},
                allow_redirects=False,
            )
            return (
                await tunnel.text(),
                await proxied.text(),
                entry.headers.getall("Set-Cookie")[0] + " " + entry.headers["Location"],
            )
        finally:
            await client.close()

    tunnel, proxied, entry = asyncio.run(pages())
    assert 'data-session-websocket-url="ws://127.0.0.1:9000/ws"' in tunnel
    assert 'data-session-websocket-url="wss://evals.example.com/ws"' in proxied
    assert "Secure" in entry and "HttpOnly" in entry and entry.endswith(" /?fontsize=18")
