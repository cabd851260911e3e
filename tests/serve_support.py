"""A real `evaltui serve` process for the serve tests, and a count of the apps it started."""

from __future__ import annotations

import os
import re
import select
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from tests.processes import child_env

START_SECONDS = 60.0  # generous for a busy 2-core machine; never a timing assertion
URL_LINE = re.compile(r"^http://(?P<host>[^/]+)/\?token=(?P<token>[A-Za-z0-9_-]+)$")


@dataclass
class Served:
    proc: subprocess.Popen[str]
    url: str  # as printed, token included
    base: str  # http://host:port
    token: str
    stderr: list[str] = field(default_factory=list)

    def descendants(self) -> list[int]:
        """Every live process below the server: textual-serve's shell and the apps it ran."""
        parents: dict[int, int] = {}
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue  # gone meanwhile
            fields = stat.rsplit(")", 1)[1].split()
            if fields[0] != "Z":
                parents[int(entry)] = int(fields[1])
        found: list[int] = []
        frontier = [self.proc.pid]
        while frontier:
            pid = frontier.pop()
            children = [child for child, parent in parents.items() if parent == pid]
            found += children
            frontier += children
        return found


def process_group(pgid: int) -> list[int]:
    """Live processes of a process group (`served` starts the server as a group's leader)."""
    members = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if fields[0] != "Z" and int(fields[2]) == pgid:
                members.append(int(entry))
    return members


def serve_command(store: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "evaltui", "serve", "--store", str(store), *args]


@contextmanager
def served(store: Path, *args: str, env: dict[str, str] | None = None) -> Iterator[Served]:
    """`evaltui serve` on STORE (any free port unless ARGS say otherwise), stopped at the end."""
    proc = subprocess.Popen(
        serve_command(store, "--port", "0", *args),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        env={**child_env(), **(env or {})},
        start_new_session=True,  # its app processes can be stopped as one group at the end
    )
    server: Served | None = None
    try:
        ready, _, _ = select.select([proc.stdout], [], [], START_SECONDS)
        assert ready, "evaltui serve printed no URL"
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        match = URL_LINE.match(line)
        assert match, f"not a URL with a token: {line!r}"
        server = Served(proc, line, f"http://{match['host']}", match["token"])
        yield server
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=20)
        assert proc.stderr is not None
        rest = proc.stderr.read()
        if server is not None:
            server.stderr.append(rest)
