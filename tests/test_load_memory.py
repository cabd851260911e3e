"""A load caps DuckDB's memory and gives the store its own setting back afterwards.

Left at DuckDB's default (80% of RAM), one INSERT of 500 result files held 3.2 GB at 100 million
rows (docs/performance.md); the cap keeps a load under 2 GB.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import evaltui.store.loader as loader
from evaltui.contract.discover import read_batch
from evaltui.store.connection import Store
from tests.conftest import SAMPLE_RUNS


def memory_limit(store: Store) -> float:
    row = store.con.execute("SELECT current_setting('memory_limit')").fetchone()
    return loader._megabytes(row[0])


def test_load_runs_under_the_memory_cap_and_restores_the_setting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[float] = []
    check = loader._check_results

    def watching(con, runs, summary):  # the moment the load holds the most
        row = con.execute("SELECT current_setting('memory_limit')").fetchone()
        seen.append(loader._megabytes(row[0]))
        return check(con, runs, summary)

    monkeypatch.setattr(loader, "_check_results", watching)
    with Store.open(tmp_path / "s.duckdb") as store:
        store.con.execute("SET memory_limit = '8GB'")
        before = memory_limit(store)
        loader.load_batch(store, read_batch([SAMPLE_RUNS]))
        assert seen and max(seen) <= loader.LOAD_MEMORY_LIMIT_MB
        assert memory_limit(store) == pytest.approx(before, rel=0.02)  # as DuckDB prints it


def test_a_lower_limit_already_set_is_kept(tmp_path: Path) -> None:
    with Store.open(tmp_path / "s.duckdb") as store:
        store.con.execute("SET memory_limit = '300MB'")
        loader.load_batch(store, read_batch([SAMPLE_RUNS]))
        assert memory_limit(store) == pytest.approx(286.1, abs=1)  # 300 MB in MiB


def test_sizes_are_read_in_every_unit_duckdb_prints() -> None:
    assert loader._megabytes("18.7 GiB") == pytest.approx(18.7 * 1024)
    assert loader._megabytes("1.4 GiB") == pytest.approx(1433.6)
    assert loader._megabytes("512.0 MiB") == 512
    assert loader._megabytes("976.5 KiB") == pytest.approx(976.5 / 1024)
    assert loader._megabytes("no limit") == float("inf")
