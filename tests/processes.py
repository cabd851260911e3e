"""Real processes for the crash and concurrency tests, synchronised by pipes, never by sleeps.

The child side runs as `python -m tests.processes MODE ARGS... -- EVALTUI ARGS...`: it installs
a hook, then runs the real `evaltui` command line (`evaltui.cli.main.main`) or the real app.

Modes:
- `pause-after-run N`: a load prints `MIDWAY` after its Nth bulk insert of case results (the
  loader inserts all runs of one format in one statement; inside its transaction, holding the
  store's write lock), then blocks until a line arrives on stdin.
- `announce-run N`: a load prints `INSERTING` as it starts its Nth bulk insert and goes on, but
  stops before its COMMIT until a line arrives on stdin: a kill after `INSERTING` always lands
  before the commit, however fast the insert.
- `announce-commit`: a load prints `COMMITTING` just before its COMMIT, and goes on.
- `kill-at WHERE`: a `decide` kills itself with SIGKILL at WHERE: `json-fsync` (its temp file
  half written), `json-link` (temp file complete, before it gets its name), `sig-link` (the JSON
  in place, the signature's temp file complete) or `log` (both files in place, before the log).
- `pause-publish TABLE`: a publish prints `COMMITTED TABLE` after its commit of that team table
  (the later tables not yet committed) and blocks until a line arrives on stdin.
- `app STORE`: the review app on STORE, headless; prints `OPEN` once its first screen has
  settled, waits for a line on stdin, walks runs -> side by side -> cases, prints `SAW <json>`.

The parent side: `spawn()` starts a child with pipes; `Child.expect()` waits for a line of it.
"""

from __future__ import annotations

import asyncio
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
PATIENCE = 300.0  # seconds: generous, for a busy 2-core machine; never a timing assertion


# -- parent side ---------------------------------------------------------------------------------


class Child:
    """A running child; a thread per output pipe collects its lines as they come."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.proc = proc
        self.lines: dict[str, list[str]] = {"stdout": [], "stderr": []}
        self._queues: dict[str, queue.Queue[str | None]] = {
            "stdout": queue.Queue(),
            "stderr": queue.Queue(),
        }
        self._readers = [
            threading.Thread(target=self._read, args=(name, pipe), daemon=True)
            for name, pipe in (("stdout", proc.stdout), ("stderr", proc.stderr))
        ]
        for reader in self._readers:
            reader.start()

    def _read(self, name: str, pipe: Any) -> None:
        for line in pipe:
            self.lines[name].append(line)
            self._queues[name].put(line)
        self._queues[name].put(None)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def send(self, line: str = "go") -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def expect(self, text: str, *, stream: str = "stdout", timeout: float = PATIENCE) -> str:
        """Wait for a line of `stream` containing `text`; return it."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self._queues[stream].get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                self.kill()
                raise AssertionError(f"no {text!r} from the child in {timeout:g}s") from None
            if line is None:
                code, out, err = self.finish()
                raise AssertionError(f"the child exited ({code}) before {text!r}:\n{out}\n{err}")
            if text in line:
                return line.strip()

    def finish(self, timeout: float = PATIENCE) -> tuple[int, str, str]:
        """Wait for the exit; return (code, all stdout, all stderr)."""
        if self.proc.stdin is not None and not self.proc.stdin.closed:
            self.proc.stdin.close()
        code = self.proc.wait(timeout=timeout)
        for reader in self._readers:
            reader.join(timeout=timeout)
        return code, "".join(self.lines["stdout"]), "".join(self.lines["stderr"])

    def kill(self) -> None:
        """SIGKILL, as a crash would; the child gets no chance to clean up."""
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=PATIENCE)


def child_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVALTUI_")}
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    env.pop("SSH_AUTH_SOCK", None)
    return env


def spawn(*args: str | Path, mode: tuple[str, ...] = (), cwd: Path | None = None) -> Child:
    """Start `evaltui ARGS` (through a hook MODE, if given) with stdin/stdout/stderr as pipes."""
    command = [sys.executable, "-m", "tests.processes", *mode, "--", *map(str, args)]
    proc = subprocess.Popen(
        command,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=cwd,
        env=child_env(),
    )
    return Child(proc)


def run(*args: str | Path, timeout: float = PATIENCE) -> subprocess.CompletedProcess[str]:
    """`evaltui ARGS` in a fresh process, to completion."""
    return subprocess.run(
        [sys.executable, "-m", "evaltui", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=child_env(),
        stdin=subprocess.DEVNULL,
    )


# -- child side ----------------------------------------------------------------------------------


def _say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def _hook_runs(after: Callable[[int, Any], None] | None, before: Callable[[int], None] | None):
    from evaltui.store import loader

    original = loader._insert_results
    count = 0

    def hooked(con: Any, runs: Any) -> Any:
        # the loader inserts every run of a load in one call, so "run N" is "insert call N"
        nonlocal count
        count += 1
        if before is not None:
            before(count)
        result = original(con, runs)
        if after is not None:
            after(count, runs)
        return result

    loader._insert_results = hooked  # type: ignore[assignment]


def _pause_after(n: int) -> None:
    def after(count: int, runs: Any) -> None:
        if count == n:
            _say("MIDWAY " + " ".join(run.run_id for run in runs))
            sys.stdin.readline()

    _hook_runs(after, None)


def _announce(n: int) -> None:
    def before(count: int) -> None:
        if count == n:
            _say("INSERTING")

    _hook_runs(None, before)
    _hook_commit(wait=True)


def _hook_commit(*, wait: bool) -> None:
    """Print `COMMITTING` just before a COMMIT; with `wait`, then block until a line on stdin."""
    from evaltui.store.connection import Store

    @contextmanager
    def transaction(self: Store) -> Iterator[Any]:  # Store.transaction, with a stop before COMMIT
        self.con.execute("BEGIN TRANSACTION")
        try:
            yield self.con
        except BaseException:
            self.con.execute("ROLLBACK")
            raise
        _say("COMMITTING")
        if wait:
            sys.stdin.readline()
        self.con.execute("COMMIT")

    Store.transaction = transaction  # type: ignore[method-assign]


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def _fd_name(fd: int) -> str:
    try:
        return os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        return ""


def _kill_at(where: str) -> None:
    real_fsync, real_link, real_open = os.fsync, os.link, os.open

    def fsync(fd: int) -> None:
        name = _fd_name(fd)
        if where == "json-fsync" and name.endswith(".tmp") and ".decision.json." in name:
            size = os.fstat(fd).st_size
            os.ftruncate(fd, size // 2)  # what a crash mid-write leaves: part of the bytes
            _die()
        real_fsync(fd)

    def link(src: Any, dst: Any, *args: Any, **kwargs: Any) -> None:
        target = str(dst)
        if (where == "json-link" and target.endswith(".decision.json")) or (
            where == "sig-link" and target.endswith(".decision.json.sig")
        ):
            _die()
        real_link(src, dst, *args, **kwargs)

    def open_(path: Any, flags: int, *args: Any, **kwargs: Any) -> int:
        if where == "log" and str(path).endswith(".decisions.jsonl"):
            _die()
        return real_open(path, flags, *args, **kwargs)

    os.fsync, os.link, os.open = fsync, link, open_  # type: ignore[assignment]


def _app(store: str) -> None:
    from evaltui.store.connection import Store
    from evaltui.tui.app import EvaltuiApp
    from evaltui.tui.screens.cases import CasesScreen
    from evaltui.tui.screens.compare import CompareScreen
    from evaltui.tui.widgets.runs_table import RunsTable
    from tests.tui_helpers import settle

    async def main() -> None:
        app = EvaltuiApp(Store.open(Path(store), read_only=True))
        try:
            async with app.run_test(size=(120, 40)) as pilot:
                await settle(pilot)
                _say("OPEN")
                await asyncio.to_thread(sys.stdin.readline)
                await pilot.press("r")  # read the store again: still the same snapshot
                await settle(pilot)
                runs = [r.run_id for r in app.screen.query_one(RunsTable).order]
                await pilot.press("j", "enter")
                await settle(pilot)
                compared = isinstance(app.screen, CompareScreen)
                await pilot.press("c")
                await settle(pilot)
                cases = isinstance(app.screen, CasesScreen)
                _say("SAW " + json.dumps({"runs": runs, "compare": compared, "cases": cases}))
        finally:
            app.release_store()

    asyncio.run(main())


def _pause_publish(table: str) -> None:
    """A publish prints `COMMITTED <table>` once its commit of `table` has landed (the other
    tables not yet), then blocks until a line arrives on stdin."""
    from evaltui.store.team import TeamStore

    original = TeamStore.append_new

    def hooked(self: TeamStore, name: str, *args: Any, **kwargs: Any) -> list[str]:
        added = original(self, name, *args, **kwargs)
        if name == table:
            _say(f"COMMITTED {name}")
            sys.stdin.readline()
        return added

    TeamStore.append_new = hooked  # type: ignore[method-assign]


def _child(argv: list[str]) -> None:
    split = argv.index("--")
    mode, rest = argv[:split], argv[split + 1 :]
    if mode and mode[0] == "app":
        _app(mode[1])
        return
    if mode and mode[0] == "pause-after-run":
        _pause_after(int(mode[1]))
    elif mode and mode[0] == "announce-run":
        _announce(int(mode[1]))
    elif mode and mode[0] == "announce-commit":
        _hook_commit(wait=False)
    elif mode and mode[0] == "kill-at":
        _kill_at(mode[1])
    elif mode and mode[0] == "pause-publish":
        _pause_publish(mode[1])
    elif mode:
        raise SystemExit(f"unknown mode {mode}")
    from evaltui.cli.main import main

    main(rest)


if __name__ == "__main__":
    _child(sys.argv[1:])
