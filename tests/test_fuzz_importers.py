"""Fuzzing the importers: real lm-eval, inspect_ai and MLflow logs, damaged at random.

Each property copies a real log (tests/real_logs), damages one of its files the way
tests/fuzzing.py damages records (fields dropped, retyped, duplicated, truncated; lines broken;
archive entries damaged; YAML values changed) and imports it into a copy of a store. Whatever the
damage: the import succeeds (and the store answers), or it exits 2 with one line per problem
naming the log, no traceback, and the store byte-for-byte unchanged. CI runs 40 fixed examples
per property; EVALTUI_FUZZ_EXAMPLES=N runs N random ones.
"""

from __future__ import annotations

import io
import json
import shutil
import zipfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from evaltui.contract.discover import read_batch
from evaltui.store.connection import Store
from evaltui.store.loader import load_batch
from tests.conftest import REAL_LOGS, SAMPLE_RUNS
from tests.fuzzing import (
    check_refused_or_loaded,
    damaged_bytes,
    damaged_json_text,
    damaged_jsonl,
    damaged_value,
    digest,
    fresh_store,
    invoke,
)
from tests.importer_support import EXAONE_DIR, EXAONE_RESULTS, EXAONE_SAMPLES

LM_EVAL = REAL_LOGS / "lm_eval" / EXAONE_DIR
LM_RESULTS = LM_EVAL / EXAONE_RESULTS
LM_SAMPLES = LM_EVAL / EXAONE_SAMPLES
INSPECT_JSON = REAL_LOGS / "inspect_ai" / "2025-05-12T20-28-13-04-00_popularity.json"
INSPECT_EVAL = REAL_LOGS / "inspect_ai" / "log_read_sample.eval"
MLRUNS = REAL_LOGS / "mlflow_filestore" / "mlruns"
MLFLOW_RUN = "420363470196949355/93d9b7fae4f44b6790cb4691ce429469"


def _json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def _jsonl(path: Path) -> list[Any]:
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("fuzz-template") / "store.duckdb"
    with Store.open(path) as store:
        load_batch(store, read_batch([SAMPLE_RUNS / "ci-claim-gate"]))
    return path


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz-import")


def import_files(
    template: Path, workdir: Path, tool: str, files: dict[str, bytes], *, copy: Path | None = None
) -> None:
    """Lay out a log folder (a copy of `copy`, then `files` over it), import it, check."""
    store = fresh_store(template, workdir / "example")
    folder = workdir / "example" / "log"
    if copy is not None:
        shutil.copytree(copy, folder)
    folder.mkdir(exist_ok=True)
    for name, data in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
    before = digest(store)
    outcome = invoke("import", tool, folder, "--store", store)
    check_refused_or_loaded(outcome, store, before, folder)


@given(results=damaged_json_text(_json(LM_RESULTS)))
def test_damaged_lm_eval_results(template: Path, workdir: Path, results: bytes) -> None:
    import_files(
        template,
        workdir,
        "lm-eval",
        {LM_RESULTS.name: results, LM_SAMPLES.name: LM_SAMPLES.read_bytes()},
    )


@given(samples=damaged_jsonl(_jsonl(LM_SAMPLES)))
def test_damaged_lm_eval_samples(template: Path, workdir: Path, samples: bytes) -> None:
    import_files(
        template,
        workdir,
        "lm-eval",
        {LM_RESULTS.name: LM_RESULTS.read_bytes(), LM_SAMPLES.name: samples},
    )


@given(log=damaged_json_text(_json(INSPECT_JSON)))
def test_damaged_inspect_json_log(template: Path, workdir: Path, log: bytes) -> None:
    import_files(template, workdir, "inspect", {INSPECT_JSON.name: log})


def _entries(path: Path) -> dict[str, bytes]:
    if not path.is_file():
        return {}
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


EVAL_ENTRIES = _entries(INSPECT_EVAL)


@st.composite
def damaged_eval_archive(draw: st.DrawFn) -> bytes:
    """The .eval zip with one JSON entry damaged, or dropped, or the archive's bytes cut."""
    entries = dict(EVAL_ENTRIES)
    name = draw(st.sampled_from(sorted(entries)))
    damage = draw(st.sampled_from(["entry", "entry", "drop", "archive"]))
    if damage == "entry":
        entries[name] = draw(damaged_json_text(json.loads(entries[name])))
    elif damage == "drop":
        del entries[name]
    sink = io.BytesIO()
    with zipfile.ZipFile(sink, "w", zipfile.ZIP_DEFLATED) as archive:
        for entry, data in entries.items():
            archive.writestr(entry, data)
    data = sink.getvalue()
    return draw(damaged_bytes(data)) if damage == "archive" else data


@given(archive=damaged_eval_archive())
def test_damaged_inspect_eval_archive(template: Path, workdir: Path, archive: bytes) -> None:
    import_files(template, workdir, "inspect", {INSPECT_EVAL.name: archive})


PREDICTIONS = [
    {"case_id": f"c{i}", "input": f"question {i}", "expected": label, "pred": pred}
    for i, (label, pred) in enumerate(
        [("greet", "greet"), ("bye", "greet"), ("greet", "greet"), ("help", "help")]
    )
]


def _csv(rows: list[Any]) -> bytes:
    """Rows as CSV text (damaged rows may lack columns or hold other types: written as text)."""
    columns: list[str] = []
    for row in rows:
        for key in row if isinstance(row, dict) else []:
            if str(key) not in columns:
                columns.append(str(key))
    lines = [",".join(columns)]
    for row in rows:
        values = row if isinstance(row, dict) else {}
        lines.append(",".join(json.dumps(values.get(c)) if c in values else "" for c in columns))
    return ("\n".join(lines) + "\n").encode()


def _yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text()) if path.is_file() else {}


MLFLOW_TARGETS = {
    "run meta.yaml": f"{MLFLOW_RUN}/meta.yaml",
    "experiment meta.yaml": "420363470196949355/meta.yaml",
    "model version meta.yaml": "models/router/version-1/meta.yaml",
}


@st.composite
def damaged_mlflow_file(draw: st.DrawFn) -> dict[str, bytes]:
    """Predictions with labels, plus one damaged file of the MLflow file store."""
    files = {f"{MLFLOW_RUN}/artifacts/predictions.csv": _csv(PREDICTIONS)}
    target = draw(st.sampled_from([*MLFLOW_TARGETS, "predictions", "metric", "param"]))
    if target in MLFLOW_TARGETS:
        name = MLFLOW_TARGETS[target]
        value = draw(damaged_value(_yaml(MLRUNS / name)))
        text = yaml.safe_dump(value, allow_unicode=True).encode()
        files[name] = draw(damaged_bytes(text))
    elif target == "predictions":
        rows = draw(damaged_value(PREDICTIONS))
        files[f"{MLFLOW_RUN}/artifacts/predictions.csv"] = draw(
            damaged_bytes(_csv(rows if isinstance(rows, list) else [rows]))
        )
    elif target == "metric":
        line = draw(
            st.sampled_from(["1795325054385 x 0", "oops", "", "1 2", "1 nan 0", "1 1e999 0"])
        )
        files[f"{MLFLOW_RUN}/metrics/accuracy"] = draw(damaged_bytes(line.encode()))
    else:
        files[f"{MLFLOW_RUN}/params/temperature"] = draw(
            damaged_bytes(draw(st.sampled_from(["", "\x00", "1" * 10_000, "é"])).encode())
        )
    return files


@given(files=damaged_mlflow_file())
def test_damaged_mlflow_file_store(template: Path, workdir: Path, files: dict[str, bytes]) -> None:
    import_files(template, workdir, "mlflow", files, copy=MLRUNS)
