"""Crashes, for real: SIGKILL a load or a decision write midway, then look at what is left.

A load is one DuckDB transaction, so a load killed at any point leaves the store as it was or,
if the kill came after the commit, with the whole batch: never part of a run. The store opens
and answers afterwards, and the same load run again completes. A decision is written to a temp
file, fsynced, then linked to its name: a kill leaves no decision file with part of its bytes.

The loads are big enough to be caught in the act (3 runs x 200,000 cases, generated with
benchmarks/generate.py). The children say where they are on a pipe (tests/processes.py) and the
kill follows that line: no sleeps, no timing assertions.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from evaltui.store.connection import Store
from evaltui.store.schema import RUN_DETAIL_TABLES
from tests.conftest import REPO
from tests.decision_support import make_key, public_line, write_allowed_signers
from tests.processes import PATIENCE, run, spawn

RUNS, CASES = 3, 200_000
BIG_RUNS = {f"bench-run-{k:03d}" for k in range(RUNS)}


@pytest.fixture(scope="module")
def big_review(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    out = tmp_path_factory.mktemp("big")
    subprocess.run(
        [
            sys.executable,
            str(REPO / "benchmarks" / "generate.py"),
            str(out),
            "--runs",
            str(RUNS),
            "--cases",
            str(CASES),
            "--format",
            "parquet",
        ],
        check=True,
        capture_output=True,
        timeout=PATIENCE,
    )
    return [out / "suite", out / "parquet"]


def content(store: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, in order (for small stores: what 'unchanged' means)."""
    with Store.open(store, read_only=True) as opened:
        tables = [
            row[0]
            for row in opened.con.execute(
                "SELECT table_name FROM duckdb_tables() ORDER BY table_name"
            ).fetchall()
        ]
        return {
            t: sorted(opened.con.execute(f"SELECT * FROM {t}").fetchall(), key=repr) for t in tables
        }


def assert_consistent(store: Path) -> dict[str, int]:
    """No row belongs to a run that is not there; every run has exactly its counted results."""
    with Store.open(store, read_only=True) as opened:
        con = opened.con
        for table in RUN_DETAIL_TABLES:
            orphans = con.execute(
                f"SELECT count(*) FROM {table} WHERE run_id NOT IN (SELECT run_id FROM runs)"
            ).fetchone()
            assert orphans == (0,), f"{table} has rows of a run that is not in the store"
        counts = dict(
            con.execute(
                "SELECT r.run_id, count(x.run_id) FROM runs r LEFT JOIN results x USING (run_id) "
                "GROUP BY r.run_id"
            ).fetchall()
        )
        claimed = dict(con.execute("SELECT run_id, result_count FROM runs").fetchall())
    assert counts == claimed
    return counts


def assert_answers(store: Path) -> set[str]:
    """A fresh process opens the store and lists its runs."""
    done = run("runs", "--store", store, "--json")
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    return {r["run_id"] for r in json.loads(done.stdout)["runs"]}


def finish_the_load(store: Path, paths: list[Path]) -> None:
    done = run("load", *paths, "--store", store)
    assert done.returncode == 0, done.stderr
    counts = assert_consistent(store)
    assert all(counts[run_id] == CASES for run_id in BIG_RUNS)
    compared = run("compare", "bench-run-000", "--store", store, "--json")
    assert compared.returncode == 0, compared.stderr
    assert len(json.loads(compared.stdout)["runs"]) == RUNS - 1


@pytest.mark.parametrize(
    ("mode", "signal_line"),
    [
        # every run's rows are inserted by one statement: held after it, inside the transaction
        (("pause-after-run", "1"), "MIDWAY"),
        # killed once DuckDB starts the bulk insert; the child stops before COMMIT, so never after
        (("announce-run", "1"), "INSERTING"),
    ],
    ids=["paused-midway", "during-insert"],
)
def test_killed_load_leaves_no_partial_run(
    mode: tuple[str, ...], signal_line: str, big_review: list[Path], sample_store: Path
) -> None:
    store = sample_store
    before = content(store)
    load = spawn("load", *big_review, "--store", store, mode=mode)
    try:
        load.expect(signal_line)
    finally:
        load.kill()
    assert load.proc.returncode == -9
    assert content(store) == before  # nothing of the killed load, not even one row
    assert not BIG_RUNS & assert_answers(store)
    assert_consistent(store)
    finish_the_load(store, big_review)


def test_killed_at_commit_is_all_or_nothing(big_review: list[Path], sample_store: Path) -> None:
    store = sample_store
    before = assert_answers(store)
    load = spawn("load", *big_review, "--store", store, mode=("announce-commit",))
    try:
        load.expect("COMMITTING")  # the kill lands during (or just before, or after) COMMIT
    finally:
        load.kill()
    after = assert_answers(store)
    assert after in (before, before | BIG_RUNS), "a commit is all or nothing"
    counts = assert_consistent(store)
    if after != before:
        assert all(counts[run_id] == CASES for run_id in BIG_RUNS)
    finish_the_load(store, big_review)


def test_killed_first_load_leaves_a_usable_store(big_review: list[Path], tmp_path: Path) -> None:
    store = tmp_path / "new.duckdb"
    load = spawn("load", *big_review, "--store", store, mode=("pause-after-run", "1"))
    try:
        load.expect("MIDWAY")
    finally:
        load.kill()
    assert assert_answers(store) == set()
    assert assert_consistent(store) == {}
    finish_the_load(store, big_review)


# -- decision files ------------------------------------------------------------------------------

OBSERVED = ("--observed", "unsafe_claim_served=0", "--observed", "unnecessary_abstention=0")
DECIDE = (
    "--rollback",
    "ci-answerer-v1",
    "--rollback-external",
    "--limitation",
    "requires a monitored canary",
)


@pytest.fixture
def deciding(sample_store: Path, tmp_path: Path) -> tuple[Path, Path, Path]:
    key = make_key(tmp_path, "alice")
    allowed = write_allowed_signers(
        tmp_path / "allowed_signers", f"alice@example.com {public_line(key)}"
    )
    return sample_store, key, allowed


def decide(store: Path, key: Path, out: Path, name: str, *, kill_at: str | None = None) -> Any:
    args = ("decide", "run_003", *DECIDE, "--key", key, "--reviewer", "alice@example.com")
    args += ("--out", out, "--name", name, "--store", store)
    if kill_at is None:
        return run(*args)
    child = spawn(*args, mode=("kill-at", kill_at))
    code, out_text, err = child.finish()
    assert code == -9, f"the child was not killed where asked ({kill_at}):\n{out_text}\n{err}"
    return child


@pytest.mark.parametrize("where", ["json-fsync", "json-link", "sig-link", "log"])
def test_killed_decision_write_leaves_no_partial_file(
    where: str, deciding: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    store, key, allowed = deciding
    out = tmp_path / "decisions"
    decide(store, key, out, "d", kill_at=where)
    decision, signature = out / "d.decision.json", out / "d.decision.json.sig"
    visible_files = {p.name for p in out.iterdir() if not p.name.startswith(".")}
    leftovers = {p.name for p in out.iterdir() if p.name.startswith(".")}
    assert all(name.endswith(".tmp") for name in leftovers), leftovers  # hidden, never read

    if where in ("json-fsync", "json-link"):
        assert visible_files == set()  # the name appears only with every byte behind it
    elif where == "sig-link":
        assert visible_files == {decision.name}
        # complete and canonical, but unsigned: verify rejects it, and says why
        readable = run("canary-check", decision, "--unverified", *OBSERVED)
        assert readable.returncode == 0, readable.stderr
        rejected = run("verify", decision, "--allowed-signers", allowed)
        assert rejected.returncode == 1
        assert "Traceback" not in rejected.stderr
        assert "signature" in rejected.stderr.strip().splitlines()[-1]
        again = decide(store, key, out, "d")  # the name is taken: never overwritten
        assert again.returncode == 2 and "never overwritten" in again.stderr
    else:  # killed before the log line: the decision itself is whole and valid
        assert visible_files == {decision.name, signature.name}
        assert run("verify", decision, "--allowed-signers", allowed).returncode == 0
        listed = run("decisions", "--store", store, "--json")
        assert listed.returncode == 0 and json.loads(listed.stdout)["decisions"] == []

    # the reviewer simply decides again
    retry_name = "d" if where in ("json-fsync", "json-link") else "d2"
    done = decide(store, key, out, retry_name)
    assert done.returncode == 0, done.stderr
    verified = run("verify", out / f"{retry_name}.decision.json", "--allowed-signers", allowed)
    assert verified.returncode == 0, verified.stderr


def test_killed_decision_leaves_the_store_readable(
    deciding: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    """decide reads the store read-only: a crash in it cannot harm the store."""
    store, key, _ = deciding
    copy = tmp_path / "before.duckdb"
    shutil.copy(store, copy)
    decide(store, key, tmp_path / "out", "d", kill_at="json-fsync")
    assert content(store) == content(copy)
