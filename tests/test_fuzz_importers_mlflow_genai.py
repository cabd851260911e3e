"""Fuzzing the MLflow GenAI reader: the real `mlflow.genai.evaluate` stores, damaged at random.

The invariant of tests/test_fuzz_importers.py: whatever the damage (an assessment, trace_info or
request metadata file of the file store changed, retyped or cut; a trace's spans JSON damaged; a
row of the SQLite tables rewritten with damaged text, bytes or another type), the import succeeds
and the store answers, or it exits 2 with one line per problem naming the store, no traceback, and
the store unchanged.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from evaltui.contract.discover import read_batch
from evaltui.store.connection import Store
from evaltui.store.loader import load_batch
from tests.conftest import FUZZ_ENV, REAL_LOGS, SAMPLE_RUNS
from tests.fuzzing import (
    check_refused_or_loaded,
    damaged_bytes,
    damaged_json_text,
    damaged_value,
    digest,
    fresh_store,
    invoke,
)

GENAI = REAL_LOGS / "mlflow_genai"
MLRUNS = GENAI / "filestore" / "mlruns"
TRACES = sorted(p for p in MLRUNS.glob("*/traces/*") if p.is_dir())
# Each example imports three runs of six traces (~1.5 s): 8 in CI, not the profile's 40; the fuzz
# profile's count when EVALTUI_FUZZ_EXAMPLES is set (120 per test ran clean once).
EXAMPLES = int(os.environ.get(FUZZ_ENV) or 8)


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("fuzz-genai-template") / "store.duckdb"
    with Store.open(path) as store:
        load_batch(store, read_batch([SAMPLE_RUNS / "ci-claim-gate"]))
    return path


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz-genai")


@st.composite
def damaged_trace_file(draw: st.DrawFn) -> tuple[str, bytes]:
    """One file of one trace folder, damaged: (path relative to mlruns/, new bytes)."""
    trace = draw(st.sampled_from(TRACES))
    kind = draw(st.sampled_from(["assessment", "trace_info", "spans", "source run"]))
    if kind == "spans":
        path = trace / "artifacts" / "traces.json"
        data = draw(damaged_json_text(json.loads(path.read_text())))
    elif kind == "source run":
        path = trace / "request_metadata" / "mlflow.sourceRun"
        data = draw(damaged_bytes(path.read_bytes()))
    else:
        path = (
            draw(st.sampled_from(sorted((trace / "assessments").glob("*.yaml"))))
            if kind == "assessment"
            else trace / "trace_info.yaml"
        )
        value = draw(damaged_value(yaml.safe_load(path.read_text())))
        data = draw(damaged_bytes(yaml.safe_dump(value, allow_unicode=True).encode()))
    return path.relative_to(MLRUNS).as_posix(), data


@settings(max_examples=EXAMPLES)
@given(damage=damaged_trace_file())
def test_damaged_genai_file_store(template: Path, workdir: Path, damage: tuple[str, bytes]) -> None:
    store = fresh_store(template, workdir / "example")
    folder = workdir / "example" / "mlruns"
    shutil.copytree(MLRUNS, folder)
    name, data = damage
    (folder / name).write_bytes(data)
    before = digest(store)
    outcome = invoke("import", "mlflow", folder, "--store", store)
    check_refused_or_loaded(outcome, store, before, folder)


# (table, column, key column) of the rows MLflow wrote for the traces
SQLITE_CELLS = [
    ("assessments", "value", "assessment_id"),
    ("assessments", "error", "assessment_id"),
    ("assessments", "assessment_metadata", "assessment_id"),
    ("assessments", "rationale", "assessment_id"),
    ("assessments", "valid", "assessment_id"),
    ("assessments", "name", "assessment_id"),
    ("spans", "content", "span_id"),
    ("spans", "parent_span_id", "span_id"),
    ("trace_info", "status", "request_id"),
    ("trace_info", "execution_time_ms", "request_id"),
    ("trace_info", "request_preview", "request_id"),
    ("trace_request_metadata", "value", "rowid"),
]


def _cells() -> dict[tuple[str, str], list[tuple[Any, Any]]]:
    con = sqlite3.connect(GENAI / "sqlite" / "mlflow.db")
    try:
        return {
            (table, column): con.execute(f"SELECT {key}, {column} FROM {table}").fetchall()
            for table, column, key in SQLITE_CELLS
        }
    finally:
        con.close()


CELLS = _cells()


@st.composite
def damaged_cell(draw: st.DrawFn) -> tuple[str, str, str, Any, Any]:
    """One cell of the trace tables, replaced by damaged text, bytes, a number or null."""
    table, column, key = draw(st.sampled_from(SQLITE_CELLS))
    row_key, original = draw(st.sampled_from(CELLS[(table, column)]))
    kind = draw(st.sampled_from(["json", "bytes", "other"]))
    if kind == "json" and isinstance(original, str):
        try:
            parsed = json.loads(original)
        except ValueError:
            parsed = original
        value: Any = draw(damaged_json_text(parsed)).decode("utf-8", "replace")
    elif kind == "bytes":
        text = original if isinstance(original, str) else json.dumps(original)
        value = draw(damaged_bytes(text.encode("utf-8")))
    else:
        value = draw(st.sampled_from([None, 0, -1, 2**62, 1.5, "", "x" * 10_000, "null", "[]"]))
    return table, column, key, row_key, value


@settings(max_examples=EXAMPLES)
@given(damage=damaged_cell())
def test_damaged_genai_sqlite(
    template: Path, workdir: Path, damage: tuple[str, str, str, Any, Any]
) -> None:
    store = fresh_store(template, workdir / "example")
    db = workdir / "example" / "mlflow.db"
    shutil.copy(GENAI / "sqlite" / "mlflow.db", db)
    table, column, key, row_key, value = damage
    con = sqlite3.connect(db)
    try:
        con.execute(f"UPDATE {table} SET {column} = ? WHERE {key} = ?", [value, row_key])
        con.commit()
    except sqlite3.IntegrityError:
        pass  # a NOT NULL or CHECK constraint MLflow declared: the database cannot hold it
    finally:
        con.close()
    before = digest(store)
    outcome = invoke("import", "mlflow", db, "--store", store)
    check_refused_or_loaded(outcome, store, before, db)
