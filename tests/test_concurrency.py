"""Several processes on one store, for real: app sessions, loads and readers at the same time.

DuckDB lets one process write a store file or any number read it. The behaviour evaltui
promises on top (docs/reliability.md): readers (the app, `runs`, `compare` ...) share the store;
a load while anyone has it open, or anything while a load writes, fails at once with one line
naming the process that holds the store, or with `--wait SECONDS` waits for it (saying so once)
and then goes on. Never a traceback, never a half-loaded or lost run.

Every step is synchronised through the children's pipes (a line they print at a known point, a
line they wait for on stdin); nothing here depends on how fast the machine is.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from tests.conftest import EXAMPLE, digest, example_run
from tests.processes import run, spawn


def incoming(folder: Path, *run_ids: str) -> Path:
    """A folder with the example suite and a copy of run_003 under each of `run_ids`."""
    folder.mkdir(parents=True)
    shutil.copy(EXAMPLE / "ci-claim-gate-v1.suite.json", folder)
    for run_id in run_ids:
        (folder / f"{run_id}.run.json").write_text(json.dumps(example_run(run_id)))
    return folder


def run_ids(store: Path) -> dict[str, int]:
    done = run("runs", "--store", store, "--json")
    assert done.returncode == 0, done.stderr
    return {r["run_id"]: r["cases"] for r in json.loads(done.stdout)["runs"]}


def one_line(stderr: str) -> str:
    assert "Traceback" not in stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    return lines[0]


def test_two_app_sessions_read_one_store_at_once(sample_store: Path) -> None:
    first = spawn(mode=("app", str(sample_store)))
    second = spawn(mode=("app", str(sample_store)))
    try:
        first.expect("OPEN")
        second.expect("OPEN")  # both hold the store now
        also = run("runs", "--store", sample_store, "--json")  # and a third reader is welcome too
        assert also.returncode == 0, also.stderr
        first.send()
        second.send()
        seen = [json.loads(child.expect("SAW ").removeprefix("SAW ")) for child in (first, second)]
        for child in (first, second):
            code, _, err = child.finish()
            assert code == 0, err
            assert "Traceback" not in err
    finally:
        first.kill()
        second.kill()
    assert seen[0] == seen[1]
    assert seen[0]["compare"] and seen[0]["cases"]
    assert set(seen[0]["runs"]) <= set(run_ids(sample_store)) and len(seen[0]["runs"]) >= 2


def test_a_load_while_the_app_is_open_is_refused_or_waits(
    sample_store: Path, tmp_path: Path
) -> None:
    folder = incoming(tmp_path / "in", "run_new")
    before = set(run_ids(sample_store))
    app = spawn(mode=("app", str(sample_store)))
    try:
        app.expect("OPEN")
        unchanged = digest(sample_store)
        refused = run("load", folder, "--store", sample_store)
        assert refused.returncode == 2
        line = one_line(refused.stderr)
        assert f"the store is busy: process {app.pid} has it open" in line, line
        assert "--wait" in line
        assert digest(sample_store) == unchanged

        reader = run("runs", "--store", sample_store, "--json")  # readers are not refused
        assert reader.returncode == 0, reader.stderr

        waiting = spawn("load", folder, "--store", sample_store, "--wait", "600")
        said = waiting.expect("waiting up to 600s", stream="stderr")
        assert f"process {app.pid}" in said
        app.send()  # the reviewer carries on, then quits
        saw = json.loads(app.expect("SAW ").removeprefix("SAW "))
        assert "run_new" not in saw["runs"]  # the app reads its snapshot
        assert app.finish()[0] == 0
        code, out, err = waiting.finish()
        assert code == 0, err
        assert "loaded 0 suites, 1 run" in out
    finally:
        app.kill()
    assert set(run_ids(sample_store)) == before | {"run_new"}


def test_two_loads_and_a_reader_at_once(sample_store: Path, tmp_path: Path) -> None:
    first_folder = incoming(tmp_path / "a", "run_a1", "run_a2")
    second_folder = incoming(tmp_path / "b", "run_b")
    before = run_ids(sample_store)
    first = spawn("load", first_folder, "--store", sample_store, mode=("pause-after-run", "1"))
    waiting_load = waiting_reader = None
    try:
        first.expect("MIDWAY")  # run_a1 and run_a2 inserted, not committed: the transaction is open

        refused = run("load", second_folder, "--store", sample_store)
        assert refused.returncode == 2
        assert f"process {first.pid} has it open" in one_line(refused.stderr)
        reader = run("runs", "--store", sample_store, "--json")
        assert reader.returncode == 2
        assert f"process {first.pid} is writing to it (a load?)" in one_line(reader.stderr)
        app = run(
            "--store", sample_store
        )  # the review app itself: the same line, before any screen
        assert app.returncode == 2
        assert f"process {first.pid} is writing to it" in one_line(app.stderr)

        waiting_load = spawn("load", second_folder, "--store", sample_store, "--wait", "600")
        waiting_load.expect("waiting up to 600s", stream="stderr")
        waiting_reader = spawn("runs", "--store", sample_store, "--json", "--wait", "600")
        waiting_reader.expect("waiting up to 600s", stream="stderr")

        first.send()
        code, _, err = first.finish()
        assert code == 0, err
        code, _, err = waiting_load.finish()
        assert code == 0, err
        code, out, err = waiting_reader.finish()
        assert code == 0, err
        seen = {r["run_id"]: r["cases"] for r in json.loads(out)["runs"]}
        # the reader came in after the first load, before or after the second: never midway
        assert {"run_a1", "run_a2"} <= set(seen)
        assert set(seen) in ({*before, "run_a1", "run_a2"}, {*before, "run_a1", "run_a2", "run_b"})
    finally:
        for child in (first, waiting_load, waiting_reader):
            if child is not None:
                child.kill()
    after = run_ids(sample_store)
    assert set(after) == {*before, "run_a1", "run_a2", "run_b"}
    assert after["run_a1"] == after["run_a2"] == after["run_b"] == 4


def test_wait_gives_up_with_one_line(sample_store: Path, tmp_path: Path) -> None:
    """A bounded wait ends: still busy after it, the load says so and leaves the store alone."""
    folder = incoming(tmp_path / "in", "run_new")
    app = spawn(mode=("app", str(sample_store)))
    try:
        app.expect("OPEN")
        gave_up = run("load", folder, "--store", sample_store, "--wait", "0.5")
        assert gave_up.returncode == 2
        lines = gave_up.stderr.strip().splitlines()
        assert "Traceback" not in gave_up.stderr
        assert len(lines) == 2, lines  # "waiting up to", then the verdict
        assert "waiting up to 0.5s" in lines[0]
        assert "still busy after 0.5s" in lines[1]
        app.send()
        assert app.finish()[0] == 0
    finally:
        app.kill()
    assert "run_new" not in run_ids(sample_store)


def test_wait_is_accepted_before_the_command(sample_store: Path, run_cli) -> None:
    result = run_cli("--wait", "1", "--store", sample_store, "runs", "--json")
    assert result.code == 0, result.err
    assert json.loads(result.out)["runs"]
    negative = run_cli("runs", "--store", sample_store, "--wait", "-1")
    assert negative.code == 2 and "--wait" in negative.err
