"""Fuzzing `evaltui load`: damaged run records, suites, JSONL and Parquet files, runs.jsonl.

Each property starts from the bundled example (valid), damages it at random (tests/fuzzing.py)
and loads it into a copy of a store that already holds the example. Whatever the damage: the
load succeeds (and the store answers), or it exits 2 with one line per problem naming the file,
no traceback, and the store byte-for-byte unchanged. CI runs 40 fixed examples per property;
EVALTUI_FUZZ_EXAMPLES=N runs N random ones.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from evaltui.contract.discover import read_batch
from evaltui.store.connection import Store
from evaltui.store.loader import load_batch
from tests.conftest import EXAMPLE, digest, example_run
from tests.fuzzing import (
    check_refused_or_loaded,
    damaged_json_text,
    damaged_jsonl,
    damaged_parquet,
    damaged_value,
    dumps,
    fresh_store,
    invoke,
)


def suite_doc() -> dict[str, Any]:
    doc = json.loads((EXAMPLE / "ci-claim-gate-v1.suite.json").read_text())
    doc["suite_id"] = "fuzz-suite"
    return doc


RESULT_ROWS = example_run("run_fuzz")["cases"]


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("fuzz-template") / "store.duckdb"
    with Store.open(path) as store:
        load_batch(store, read_batch([EXAMPLE]))
    return path


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz-load")


def load_files(template: Path, workdir: Path, files: dict[str, bytes]) -> None:
    """Write `files` into a fresh folder, load it into a fresh copy of the store, check."""
    store = fresh_store(template, workdir / "example")
    folder = workdir / "example" / "in"
    folder.mkdir()
    for name, data in files.items():
        (folder / name).write_bytes(data)
    before = digest(store)
    outcome = invoke("load", folder, "--store", store)
    check_refused_or_loaded(outcome, store, before, folder)


@given(data=damaged_json_text(example_run("run_fuzz")))
def test_damaged_run_record(template: Path, workdir: Path, data: bytes) -> None:
    load_files(template, workdir, {"run_fuzz.run.json": data})


@given(data=damaged_json_text(suite_doc()))
def test_damaged_suite_manifest(template: Path, workdir: Path, data: bytes) -> None:
    load_files(template, workdir, {"fuzz.suite.json": data})


def _with_file(name: str) -> bytes:
    doc = example_run("run_fuzz")
    doc["cases"] = name
    return json.dumps(doc).encode()


@given(data=damaged_jsonl(RESULT_ROWS))
def test_damaged_results_jsonl(template: Path, workdir: Path, data: bytes) -> None:
    load_files(
        template, workdir, {"run_fuzz.run.json": _with_file("cases.jsonl"), "cases.jsonl": data}
    )


@given(data=damaged_parquet(RESULT_ROWS))
def test_damaged_results_parquet(template: Path, workdir: Path, data: bytes) -> None:
    load_files(
        template,
        workdir,
        {"run_fuzz.run.json": _with_file("cases.parquet"), "cases.parquet": data},
    )


@given(data=damaged_jsonl([example_run("run_a"), example_run("run_b"), example_run("run_c")]))
def test_damaged_runs_jsonl(template: Path, workdir: Path, data: bytes) -> None:
    load_files(template, workdir, {"batch.runs.jsonl": data})


SPLIT_ROWS = suite_doc()["splits"]["regression"] + suite_doc()["splits"]["holdout"]


@given(
    fmt=st.sampled_from(["jsonl", "parquet"]),
    jsonl=damaged_jsonl(SPLIT_ROWS),
    parquet=damaged_parquet(SPLIT_ROWS),
    header=st.none() | damaged_value({"metrics": suite_doc()["metrics"]}, 2),
)
def test_damaged_suite_split_file(
    template: Path,
    workdir: Path,
    fmt: str,
    jsonl: bytes,
    parquet: bytes,
    header: dict[str, Any] | None,
) -> None:
    doc = suite_doc()
    doc["splits"] = {"regression": f"regression.{fmt}"}
    if header is not None:
        doc.update(header)
    load_files(
        template,
        workdir,
        {
            "fuzz.suite.json": dumps(doc).encode(),
            f"regression.{fmt}": jsonl if fmt == "jsonl" else parquet,
        },
    )
