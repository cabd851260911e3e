"""What the reliability tests share: a capped `evaltui` process and generated hostile inputs.

`capped()` runs the real command line in a child process under a wall-clock timeout and, when
asked, an address-space limit (RLIMIT_AS, as `ulimit -v` sets it), so a hang or a memory blow-up
fails the test instead of the machine. It reports the child's peak RSS (VmHWM, Linux).
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
TIMEOUT = 60.0  # seconds: far above any refusal here, on a busy 2-core machine


@dataclass
class Capped:
    code: int
    out: str
    err: str
    peak_rss_mb: float

    def one_line(self) -> str:
        """The single stderr line of a refusal (exit 2), checked to be one line, no traceback."""
        assert self.code == 2, f"exit {self.code}: {self.err[-3000:]}"
        assert "Traceback" not in self.err, self.err[-3000:]
        lines = self.err.strip().splitlines()
        assert len(lines) == 1, self.err[-3000:]
        return lines[0]


def capped(
    *args: str | Path,
    memory_mb: int | None = None,
    timeout: float = TIMEOUT,
    code: str | None = None,
) -> Capped:
    """`evaltui ARGS` (or the Python `code`) in a child process, under the limits."""

    def limit() -> None:
        if memory_mb is not None:
            size = memory_mb << 20
            resource.setrlimit(resource.RLIMIT_AS, (size, size))

    report = Path(os.environ.get("TMPDIR", "/tmp")) / f"evaltui-rss-{os.getpid()}-{id(args)}"
    program = code if code is not None else _CLI
    env = {**os.environ, "PYTHONPATH": str(REPO), "EVALTUI_TEST_RSS": str(report)}
    done = subprocess.run(
        [sys.executable, "-c", _MEASURED + program, *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,  # a hang raises TimeoutExpired: the test fails
        preexec_fn=limit,
        env=env,
        check=False,
    )
    try:
        peak = int(report.read_text()) / 1024
        report.unlink()
    except (OSError, ValueError):
        peak = float("nan")
    return Capped(done.returncode, done.stdout, done.stderr, peak)


# The child writes its own peak RSS (kB) to a file when it exits, whatever the exit. VmHWM, not
# ru_maxrss: the latter keeps the high-water mark of the forked parent from before the exec.
_MEASURED = """
import atexit, os
def _report():
    with open("/proc/self/status") as status:
        peak = next(line.split()[1] for line in status if line.startswith("VmHWM:"))
    with open(os.environ["EVALTUI_TEST_RSS"], "w") as out:
        out.write(peak)
atexit.register(_report)
"""
_CLI = """
import sys
from evaltui.cli.main import main
main(sys.argv[1:])
"""


def inspect_log(task: str, eval_id: str, samples: int, shift: int) -> dict[str, Any]:
    """A small inspect_ai JSON log: `samples` samples, right or wrong by `shift`."""
    return {
        "version": 2,
        "status": "success",
        "eval": {
            "task": task,
            "eval_id": eval_id,
            "model": "m",
            "created": "2026-01-01T00:00:00+00:00",
        },
        "results": {"scores": [{"name": "match"}]},
        "samples": [
            {
                "id": i,
                "epoch": 1,
                "input": f"question {i}",
                "target": "A",
                "scores": {"match": {"value": "C" if (i + shift) % 2 else "I", "answer": "B"}},
            }
            for i in range(samples)
        ],
    }


def write_json(path: Path, doc: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc))
    return path
