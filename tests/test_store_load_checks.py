"""The batch check after the bulk inserts, and the layout the inserts leave in the store.

Results of every run in a load are checked together (one query per suite); every bad run is
reported, with its exact rows, and nothing is written. The result files of a load are read by
one statement per format and schema, keeping each run's rows contiguous; the load is
checkpointed at once with vacuuming off (nothing left for the close to rewrite) and the setting
is restored afterwards.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from evaltui.contract.discover import read_batch
from evaltui.errors import InputError
from evaltui.store.connection import Store
from evaltui.store.loader import load_batch
from tests.conftest import EXAMPLE, digest, example_run


def write_run(folder: Path, run_id: str, cases: object, **kw: str) -> None:
    (folder / f"{run_id}.run.json").write_text(json.dumps(example_run(run_id, cases=cases, **kw)))


GOOD = [
    {"case_id": "req_205", "route": "ABSTAIN"},
    {"case_id": "reg_002", "route": "SERVE"},
    {"case_id": "hold_001", "route": "SERVE"},
    {"case_id": "hold_002", "route": "ABSTAIN"},
]


def incoming(tmp_path: Path) -> Path:
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(EXAMPLE / "ci-claim-gate-v1.suite.json", folder)
    return folder


def test_every_bad_run_of_a_batch_is_reported(tmp_path: Path, run_cli) -> None:
    store = tmp_path / "s.duckdb"
    assert run_cli("load", EXAMPLE, "--store", store).code == 0
    before = digest(store)
    folder = incoming(tmp_path)
    write_run(folder, "good_a", GOOD)
    (folder / "a.jsonl").write_text(
        "".join(json.dumps(r) + "\n" for r in [*GOOD[:3], {"case_id": "nope", "route": "SERVE"}])
    )
    write_run(folder, "bad_jsonl", "a.jsonl")
    pq.write_table(pa.Table.from_pylist([*GOOD, GOOD[1]]), folder / "b.parquet")
    write_run(folder, "bad_parquet", "b.parquet")
    write_run(folder, "good_b", GOOD)

    result = run_cli("load", folder, "--store", store)
    assert result.code == 2
    lines = result.err.strip().splitlines()
    assert len(lines) == 2, result.err
    assert "a.jsonl:4: case_id 'nope' is not in suite 'ci-claim-gate-v1'" in lines[0]
    assert "b.parquet: row 5: duplicate result for case_id 'reg_002' (first at row 2)" in lines[1]
    assert digest(store) == before


def test_each_suite_checks_its_own_case_ids(tmp_path: Path) -> None:
    """A case id of another suite in the same batch is still unknown to this run's suite."""
    folder = incoming(tmp_path)
    shutil.copy(EXAMPLE / "ci-claim-gate-v2.suite.json", folder)
    v2 = json.loads((EXAMPLE / "ci-claim-gate-v2.suite.json").read_text())
    v2_ids = {c["case_id"] for split in v2["splits"].values() for c in split}
    v1 = json.loads((EXAMPLE / "ci-claim-gate-v1.suite.json").read_text())
    v1_ids = {c["case_id"] for split in v1["splits"].values() for c in split}
    only_v2 = sorted(v2_ids - v1_ids)[0]
    write_run(folder, "on_v1", [*GOOD[:3], {"case_id": only_v2, "route": "SERVE"}])
    write_run(
        folder,
        "on_v2",
        [{"case_id": c, "route": "SERVE"} for c in sorted(v2_ids)],
        suite_id="ci-claim-gate-v2",
    )
    try:
        with Store.open(tmp_path / "s.duckdb") as store:
            load_batch(store, read_batch([folder]))
    except InputError as exc:
        assert "on_v1.run.json" in str(exc) and f"{only_v2!r} is not in suite" in str(exc)
    else:
        raise AssertionError("a result for another suite's case was accepted")


def test_counts_are_set_per_run(tmp_path: Path) -> None:
    folder = incoming(tmp_path)
    write_run(folder, "four", GOOD)
    write_run(folder, "two", GOOD[:2])
    with Store.open(tmp_path / "s.duckdb") as store:
        summary = load_batch(store, read_batch([folder]))
        counts = dict(store.con.execute("SELECT run_id, result_count FROM runs").fetchall())
    assert counts == {"four": 4, "two": 2}
    assert summary.result_rows == 6


def big_review(folder: Path, cases: int, runs: int, fmt: str = "parquet") -> None:
    """A suite of `cases` cases in Parquet and `runs` runs of results for all of them."""
    con = duckdb.connect()
    (folder / "data").mkdir(parents=True)
    con.execute(
        f"""COPY (SELECT printf('c%07d', i) AS case_id, 'SERVE' AS expected_route
                  FROM range({cases}) t(i))
            TO '{folder / "data" / "cases.parquet"}' (FORMAT parquet)"""
    )
    suite = {
        "kind": "evaltui.suite",
        "version": 1,
        "suite_id": "big",
        "splits": {"all": "data/cases.parquet"},
        "metrics": [{"name": "right", "rate": {"correct": True}}],
        "guardrails": [],
    }
    (folder / "big.suite.json").write_text(json.dumps(suite))
    options = "FORMAT parquet, ROW_GROUP_SIZE 50000" if fmt == "parquet" else "FORMAT json"
    for k in range(runs):
        con.execute(
            f"""COPY (SELECT printf('c%07d', i) AS case_id,
                             CASE WHEN i % 7 = {k} THEN 'ABSTAIN' ELSE 'SERVE' END AS route
                      FROM range({cases}) t(i))
                TO '{folder / "data" / f"r{k}.{fmt}"}' ({options})"""
        )
        write_run(folder, f"r{k}", f"data/r{k}.{fmt}", suite_id="big")


@pytest.mark.parametrize("fmt", ["parquet", "jsonl"])
def test_runs_are_contiguous_and_checkpointed(fmt: str, tmp_path: Path) -> None:
    """Each run's rows sit together although all files are read by one multi-threaded statement,
    and the load is already in the store file when `load_batch` returns (no WAL left for the
    close). Small Parquet row groups (50,000 rows here) split each file into several batches."""
    cases, runs = 130_000, 3
    folder = tmp_path / "in"
    big_review(folder, cases, runs, fmt)
    path = tmp_path / "s.duckdb"
    with Store.open(path) as store:
        load_batch(store, read_batch([folder]))
        wal = path.with_name(path.name + ".wal")
        assert not wal.exists() or wal.stat().st_size == 0
    with Store.open(path, read_only=True) as store:
        spans = store.con.execute(
            "SELECT run_id, count(*), max(rowid) - min(rowid) + 1 FROM results GROUP BY run_id"
        ).fetchall()
    assert sorted(spans) == [(f"r{k}", cases, cases) for k in range(runs)]


def test_vacuum_setting_is_restored(tmp_path: Path) -> None:
    folder = incoming(tmp_path)
    write_run(folder, "good", GOOD)
    bad = tmp_path / "bad"
    bad.mkdir()
    shutil.copy(EXAMPLE / "ci-claim-gate-v1.suite.json", bad)
    write_run(bad, "bad", [{"case_id": "nope", "route": "SERVE"}])
    with Store.open(tmp_path / "s.duckdb") as store:
        store.con.execute("SET max_vacuum_tasks = 7")
        load_batch(store, read_batch([folder]))
        setting = "SELECT current_setting('max_vacuum_tasks')"
        assert store.con.execute(setting).fetchall() == [(7,)]
        with pytest.raises(InputError, match="'nope' is not in suite"):
            load_batch(store, read_batch([bad]))
        assert store.con.execute(setting).fetchall() == [(7,)]


def test_jsonl_strings_read_exactly(tmp_path: Path) -> None:
    """Escapes, quotes, non-ASCII and combining marks in JSONL routes arrive as written."""
    routes = ["A\u0301BSTAIN", 'say "hi"', "back\\slash", "tab\there"]
    routes += ["\U0001f600", "é", "x\u200d", "\u0301"]
    folder = incoming(tmp_path)
    expected = {}
    for ascii_only in (True, False):
        for part in (0, 1):
            name = f"r_{ascii_only}_{part}"
            rows = [
                {"case_id": c["case_id"], "route": r}
                for c, r in zip(GOOD, routes[4 * part : 4 * part + 4], strict=True)
            ]
            (folder / f"{name}.jsonl").write_text(
                "".join(json.dumps(r, ensure_ascii=ascii_only) + "\n" for r in rows),
                encoding="utf-8",
            )
            write_run(folder, name, f"{name}.jsonl")
            expected[name] = sorted((r["case_id"], r["route"]) for r in rows)
    with Store.open(tmp_path / "s.duckdb") as store:
        load_batch(store, read_batch([folder]))
        for name, rows in expected.items():
            stored = store.con.execute(
                "SELECT case_id, route FROM results WHERE run_id = ? ORDER BY case_id", [name]
            ).fetchall()
            assert stored == rows


def test_jsonl_non_string_case_id_is_refused(tmp_path: Path) -> None:
    folder = incoming(tmp_path)
    rows = [*GOOD[:3], {"case_id": 5, "route": "SERVE"}]
    (folder / "n.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    write_run(folder, "numbers", "n.jsonl")
    with Store.open(tmp_path / "s.duckdb") as store, pytest.raises(InputError) as caught:
        load_batch(store, read_batch([folder]))
    assert "n.jsonl:4:" in str(caught.value) and "'case_id' must be a non-empty string" in str(
        caught.value
    )


def test_the_unreadable_jsonl_file_of_a_batch_is_named(tmp_path: Path, run_cli) -> None:
    folder = incoming(tmp_path)
    good = "".join(json.dumps(r) + "\n" for r in GOOD)
    for name in ("a", "b", "c"):
        (folder / f"{name}.jsonl").write_text(good)
        write_run(folder, f"run_{name}", f"{name}.jsonl")
    lines = good.splitlines()
    lines[2] = lines[2][:-2]  # line 3 of b.jsonl loses its closing
    (folder / "b.jsonl").write_text("\n".join(lines) + "\n")
    result = run_cli("load", folder, "--store", tmp_path / "s.duckdb")
    assert result.code == 2
    assert result.err.startswith(f"evaltui: {folder / 'b.jsonl'}:3: "), result.err


def test_runs_sharing_a_jsonl_file_each_get_its_rows(tmp_path: Path) -> None:
    folder = incoming(tmp_path)
    (folder / "shared.jsonl").write_text("".join(json.dumps(r) + "\n" for r in GOOD))
    write_run(folder, "first", "shared.jsonl")
    write_run(folder, "second", "shared.jsonl")
    with Store.open(tmp_path / "s.duckdb") as store:
        load_batch(store, read_batch([folder]))
        counts = store.con.execute(
            "SELECT run_id, count(*) FROM results GROUP BY run_id ORDER BY run_id"
        ).fetchall()
    assert counts == [("first", 4), ("second", 4)]


def test_run_identity_covers_the_case_file(tmp_path: Path) -> None:
    """The background hash gives the same identity for the same bytes, another for others."""
    folder = incoming(tmp_path)
    (folder / "a.jsonl").write_text("".join(json.dumps(r) + "\n" for r in GOOD))
    write_run(folder, "hashed", "a.jsonl")
    first = read_batch([folder]).runs[0]
    again = read_batch([folder]).runs[0]
    assert first.content_sha == again.content_sha and len(first.content_sha) == 64
    (folder / "a.jsonl").write_text("".join(json.dumps(r) + "\n" for r in reversed(GOOD)))
    changed = read_batch([folder]).runs[0]
    assert changed.content_sha != first.content_sha
    changed.content.cancel()  # too late to cancel: the value stays available
    assert len(changed.content_sha) == 64
    with Store.open(tmp_path / "s.duckdb") as store:
        load_batch(store, read_batch([folder]))
        stored = store.con.execute("SELECT content_sha FROM runs").fetchall()
    assert stored == [(changed.content_sha,)]


def test_long_jsonl_lines_load(tmp_path: Path) -> None:
    """A case result line longer than DuckDB's default JSON object size (16 MB) still loads."""
    folder = incoming(tmp_path)
    rows = [dict(r) for r in GOOD]
    rows[1]["output"] = "x" * (17 << 20)
    (folder / "long.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    write_run(folder, "long", "long.jsonl")
    with Store.open(tmp_path / "s.duckdb") as store:
        load_batch(store, read_batch([folder]))
        found = store.con.execute("SELECT max(length(output)) FROM results").fetchall()
    assert found == [(17 << 20,)]


def test_threads_are_restored_after_a_one_file_read_good_or_failed(tmp_path: Path) -> None:
    """One JSON Lines results file is read on one thread; the count comes back either way."""
    folder = incoming(tmp_path)
    (folder / "a.jsonl").write_text("".join(json.dumps(r) + "\n" for r in GOOD))
    write_run(folder, "run_a", "a.jsonl")
    bad = tmp_path / "bad"
    bad.mkdir()
    shutil.copy(EXAMPLE / "ci-claim-gate-v1.suite.json", bad)
    lines = [json.dumps(r) for r in GOOD]
    lines[2] = lines[2][:-2]  # line 3 loses its closing: DuckDB's read fails
    (bad / "b.jsonl").write_text("\n".join(lines) + "\n")
    write_run(bad, "run_b", "b.jsonl")
    setting = "SELECT current_setting('threads')"
    with Store.open(tmp_path / "s.duckdb") as store:
        store.con.execute("SET threads = 3")
        load_batch(store, read_batch([folder]))
        assert store.con.execute(setting).fetchall() == [(3,)]
        assert store.con.execute("SELECT count(*) FROM results").fetchall() == [(4,)]
        with pytest.raises(InputError, match=r"b\.jsonl"):
            load_batch(store, read_batch([bad]))
        assert store.con.execute(setting).fetchall() == [(3,)]
        assert store.con.execute("SELECT count(*) FROM results").fetchall() == [(4,)]
