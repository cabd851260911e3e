"""The scratch database is attached once however many worker cursors ask for it at once."""

from __future__ import annotations

import threading
from pathlib import Path

import duckdb

from evaltui.store.scratch import SCRATCH, scratch_schema


def test_cursors_attaching_together_all_get_the_scratch_schema(tmp_path: Path) -> None:
    failures: list[BaseException] = []
    for round_number in range(20):  # the race showed about once in five app sessions
        con = duckdb.connect(str(tmp_path / f"s{round_number}.duckdb"))
        start = threading.Barrier(8)

        def attach(cursor: duckdb.DuckDBPyConnection, start: threading.Barrier = start) -> None:
            start.wait()
            try:
                assert scratch_schema(cursor) == SCRATCH
            except BaseException as exc:  # collected, reported below
                failures.append(exc)

        threads = [threading.Thread(target=attach, args=(con.cursor(),)) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        names = {
            row[0] for row in con.execute("SELECT database_name FROM duckdb_databases()").fetchall()
        }
        assert SCRATCH in names
        con.close()
    assert failures == []
