"""Progress on a terminal, nothing of it in a log: the status line and DuckDB's own bar.

A load run in a terminal shows what it is doing on stderr's status line; piped into a log it
writes neither carriage returns nor escape sequences, and DuckDB's own progress bar (which would
write carriage returns on stdout for any statement over two seconds) is switched off.
"""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
from pathlib import Path

from evaltui.store.connection import Store
from tests.conftest import REPO, SAMPLE_RUNS

SHOW_SETTING = (
    "import sys; from pathlib import Path; from evaltui.store.connection import Store\n"
    "with Store.open(Path(sys.argv[1])) as s:\n"
    "    print('bar', s.con.execute(\"SELECT current_setting('enable_progress_bar')\").fetchone()[0])\n"
)


def env() -> dict[str, str]:
    out = {**os.environ, "PYTHONPATH": str(REPO), "NO_COLOR": "1"}
    out.pop("EVALTUI_STORE", None)
    return out


def run_in_pty(args: list[str]) -> tuple[int, bytes]:
    """Run a command with stdout and stderr on a pseudo-terminal; everything it wrote."""
    main, child = pty.openpty()
    proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=child, stderr=child, env=env())
    os.close(child)
    chunks = []
    while True:
        ready, _, _ = select.select([main], [], [], 60)
        if not ready:
            proc.kill()
            break
        try:
            data = os.read(main, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(main)
    return proc.wait(timeout=60), b"".join(chunks)


def test_duckdb_bar_is_off_when_not_on_a_terminal(tmp_path: Path) -> None:
    # under pytest stdout and stderr are captured, as in a piped log
    with Store.open(tmp_path / "s.duckdb") as store:
        setting = store.con.execute("SELECT current_setting('enable_progress_bar')").fetchone()
        assert setting == (False,)
    with Store.open(tmp_path / "s.duckdb", read_only=True) as store:
        setting = store.con.execute("SELECT current_setting('enable_progress_bar')").fetchone()
        assert setting == (False,)


def test_a_piped_load_writes_no_carriage_return(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "evaltui", "--store", str(tmp_path / "s.duckdb"), "load",
         str(SAMPLE_RUNS)],
        capture_output=True,
        env=env(),
        check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert b"loaded" in done.stdout
    for stream in (done.stdout, done.stderr):
        assert b"\r" not in stream and b"\x1b" not in stream


def test_a_load_in_a_terminal_shows_progress_and_clears_it(tmp_path: Path) -> None:
    code, out = run_in_pty(
        [sys.executable, "-m", "evaltui", "--store", str(tmp_path / "s.duckdb"), "load",
         str(SAMPLE_RUNS)]
    )  # fmt: skip
    assert code == 0, out
    assert b"\r\x1b[Kevaltui: checking and encoding the cases of split 'regression'" in out
    assert b"evaltui: reading the case results of" in out
    # the status line is erased before the summary is printed on a clean line
    assert b"evaltui: writing s.duckdb\r\x1b[Kloaded 3 suites" in out


def test_duckdb_bar_is_on_for_a_load_in_a_terminal(tmp_path: Path) -> None:
    code, out = run_in_pty([sys.executable, "-c", SHOW_SETTING, str(tmp_path / "s.duckdb")])
    assert code == 0, out
    assert b"bar True" in out
    done = subprocess.run(
        [sys.executable, "-c", SHOW_SETTING, str(tmp_path / "t.duckdb")],
        capture_output=True,
        env=env(),
        check=True,
    )
    assert b"bar False" in done.stdout
