"""`evaltui serve` in a real browser: headless Chromium (the Debian package) driven over the
Chrome DevTools Protocol, with aiohttp's websocket client (textual-serve brings aiohttp).

The page draws the terminal with xterm.js on a canvas, so the text on screen is read from the
xterm.js terminal's own buffer: a script added before the page's scripts catches the terminal
object as textual-serve's client stores it (`this.terminal = new Terminal(...)`).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.serve_support import Served, served
from tests.test_tui_flows import failures

FLOW_SECONDS = 90.0  # the whole browser session; a hang fails the test instead
WAIT_SECONDS = 30.0  # one screen to appear
SCREENSHOT_ENV = "EVALTUI_SERVE_SCREENSHOT"  # a path: keep a PNG of the pair's failure there

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1280,900",
    "--remote-debugging-address=127.0.0.1",
    "--remote-debugging-port=0",
]

CATCH_TERMINAL = """
Object.defineProperty(Object.prototype, "terminal", {
  configurable: true,
  get() { return undefined; },
  set(value) {
    Object.defineProperty(this, "terminal", {
      value, writable: true, configurable: true, enumerable: true,
    });
    if (value && value.buffer && !window.__evaltuiTerminal) window.__evaltuiTerminal = value;
  },
});
"""

SCREEN_TEXT = """
(() => {
  const term = window.__evaltuiTerminal;
  if (!term) return null;
  const buffer = term.buffer.active;
  const lines = [];
  for (let row = 0; row < term.rows; row++) {
    const line = buffer.getLine(buffer.viewportY + row);
    lines.push(line ? line.translateToString(true) : "");
  }
  return lines.join("\\n");
})()
"""

KEYS = {
    "j": {"key": "j", "code": "KeyJ", "windowsVirtualKeyCode": 74, "text": "j"},
    "n": {"key": "n", "code": "KeyN", "windowsVirtualKeyCode": 78, "text": "n"},
    "enter": {"key": "Enter", "code": "Enter", "windowsVirtualKeyCode": 13, "text": "\r"},
}


def chromium() -> str:
    found = shutil.which("chromium") or (
        "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None
    )
    if found is None:
        if os.environ.get("CI", "").lower() not in ("", "0", "false"):
            pytest.fail("chromium is missing on CI; .ci/run installs the Debian package")
        pytest.skip("headless Chromium is not installed (apt-get install chromium); CI has it")
    return found


class Page:
    """One browser tab over the DevTools Protocol: commands in, their results out."""

    def __init__(self, websocket: aiohttp.ClientWebSocketResponse) -> None:
        self.websocket = websocket
        self.ids = itertools.count(1)

    async def send(self, method: str, **params: Any) -> dict[str, Any]:
        number = next(self.ids)
        await self.websocket.send_json({"id": number, "method": method, "params": params})
        while True:
            message = await self.websocket.receive_json(timeout=WAIT_SECONDS)
            if message.get("id") == number:
                assert "error" not in message, message
                return message.get("result", {})

    async def evaluate(self, expression: str) -> Any:
        result = await self.send("Runtime.evaluate", expression=expression, returnByValue=True)
        return result["result"].get("value")

    async def open(self, url: str) -> None:
        await self.send("Page.navigate", url=url)
        await self.until(lambda: self.evaluate("document.readyState"), lambda s: s == "complete")

    async def screen(self) -> str:
        return await self.evaluate(SCREEN_TEXT) or ""

    async def until(
        self, read: Callable[[], Any], good: Callable[[Any], bool], what: str = "the page"
    ) -> Any:
        deadline = time.monotonic() + WAIT_SECONDS
        value = None
        while time.monotonic() < deadline:
            value = await read()
            if good(value):
                return value
            await asyncio.sleep(0.2)
        raise AssertionError(f"{what} never came; last seen:\n{value}")

    async def screen_with(self, *texts: str) -> str:
        return await self.until(
            self.screen, lambda s: all(t in s for t in texts), what=" and ".join(texts)
        )

    async def press(self, name: str) -> None:
        key = KEYS[name]
        await self.send("Input.dispatchKeyEvent", type="keyDown", **key)
        await self.send(
            "Input.dispatchKeyEvent", type="keyUp", **{k: v for k, v in key.items() if k != "text"}
        )


@contextlib.asynccontextmanager
async def browser(binary: str) -> AsyncIterator[Page]:
    with tempfile.TemporaryDirectory(prefix="evaltui-chromium-") as profile:
        proc = subprocess.Popen(
            [binary, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "about:blank"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # the browser's helper processes go with it at the end
        )
        try:
            port_file = Path(profile) / "DevToolsActivePort"
            deadline = time.monotonic() + WAIT_SECONDS
            while not (port_file.exists() and port_file.read_text().strip()):
                assert proc.poll() is None, "chromium exited at start"
                assert time.monotonic() < deadline, "chromium opened no DevTools port"
                await asyncio.sleep(0.1)
            port = port_file.read_text().split()[0]
            async with aiohttp.ClientSession() as session:
                async with session.get(f"http://127.0.0.1:{port}/json/list") as response:
                    targets = await response.json()
                tab = next(t for t in targets if t["type"] == "page")
                async with session.ws_connect(
                    tab["webSocketDebuggerUrl"], max_msg_size=0
                ) as websocket:
                    page = Page(websocket)
                    await page.send("Page.enable")
                    await page.send("Runtime.enable")
                    await page.send("Page.addScriptToEvaluateOnNewDocument", source=CATCH_TERMINAL)
                    yield page
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=WAIT_SECONDS)


async def _review_in_the_browser(server: Served, binary: str, first_failure: str) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    async with browser(binary) as page:
        # without the token: a refusal, no terminal, and no app started for it
        await page.open(server.base + "/")
        seen["refused"] = await page.evaluate("document.body.innerText")
        seen["refused_terminal"] = await page.evaluate("document.querySelector('.xterm') !== null")
        seen["apps_without_token"] = server.descendants()

        # the printed URL: the runs screen, then j Enter n
        await page.open(server.url)
        seen["address"] = await page.evaluate("window.location.href")
        seen["runs"] = await page.screen_with("support-router-q4", "sr-v3.5-rc3-s3", "baseline")
        await page.evaluate("window.__evaltuiTerminal.focus()")
        await page.press("j")
        await page.press("enter")
        seen["side_by_side"] = await page.screen_with("side by side", "vs  sr-v3.5-rc3-s3")
        await page.press("n")
        seen["pair"] = await page.screen_with(first_failure, "failure 1 of")
        shot = await page.send("Page.captureScreenshot", format="png")
        seen["png"] = base64.b64decode(shot["data"])
    return seen


def test_review_a_pair_in_headless_chromium(sample_store: Path) -> None:
    binary = chromium()
    expected = failures(sample_store, "sr-v3.5-rc3-s3", "sr-prod-v3.4")
    # the support router, as the pilot flow of the README's first session (test_tui_flows)
    with served(sample_store, "--experiment", "support-router-q4") as server:
        seen = asyncio.run(
            asyncio.wait_for(
                _review_in_the_browser(server, binary, expected[0]), timeout=FLOW_SECONDS
            )
        )
    assert seen["refused"].startswith("401")
    assert seen["refused_terminal"] is False
    assert seen["apps_without_token"] == []
    assert server.token not in seen["address"]  # traded for a cookie, gone from the address bar
    assert "sr-v3.5-rc3-s3" in seen["runs"]
    pair = seen["pair"]
    assert f"failure 1 of {len(expected)}" in pair
    row = next(line for line in pair.splitlines() if expected[0] in line)
    assert "broken" in row or "both wrong" in row  # the failure's own row, outcome and all
    assert seen["png"].startswith(b"\x89PNG") and len(seen["png"]) > 10_000
    if os.environ.get(SCREENSHOT_ENV):
        Path(os.environ[SCREENSHOT_ENV]).write_bytes(seen["png"])
    print(json.dumps({"pair_screen": pair.splitlines()[:5]}))
