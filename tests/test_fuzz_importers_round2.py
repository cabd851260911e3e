"""Fuzzing the promptfoo, W&B and OpenAI Evals readers: their real logs (tests/real_logs), damaged at random.

The same invariant as tests/test_fuzz_importers.py: whatever the damage (fields dropped, retyped,
duplicated or given huge values; files cut short or with bytes that are not UTF-8; table columns
missing; a binary run log with flipped or cut bytes), the import succeeds and the store answers,
or it exits 2 with one line per problem naming the log, no traceback, and the store unchanged.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from evaltui.contract.discover import read_batch
from evaltui.store.connection import Store
from evaltui.store.loader import load_batch
from tests.conftest import REPO, SAMPLE_RUNS
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

LOGS = REPO / "tests" / "real_logs"
PROMPTFOO = LOGS / "promptfoo" / "results.json"
RUN = LOGS / "wandb" / "wandb" / "offline-run-20261206_031800-kat5i6y4"
TABLE = "files/media/table/eval/predictions_0_2b3dc75d9be83e206b04.table.json"
RUN_LOG = "run-kat5i6y4.wandb"
SYNCED = LOGS / "wandb" / "synced_layout" / "run-20261206_031800-kat5i6y4"
CSV_EXPORT = LOGS / "wandb" / "export" / "keyword-v1.csv"


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("fuzz-template") / "store.duckdb"
    with Store.open(path) as store:
        load_batch(store, read_batch([SAMPLE_RUNS / "ci-claim-gate"]))
    return path


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz-import2")


def import_files(
    template: Path,
    workdir: Path,
    tool: str,
    files: dict[str, bytes],
    *,
    copy: Path | None = None,
    source: str = "",
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
    outcome = invoke("import", tool, folder / source, "--store", store)
    check_refused_or_loaded(outcome, store, before, folder)


def _json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


@given(results=damaged_json_text(_json(PROMPTFOO)), as_folder=st.booleans())
def test_damaged_promptfoo_results(
    template: Path, workdir: Path, results: bytes, as_folder: bool
) -> None:
    """The file itself, or the folder holding it (where a non-results JSON is skipped)."""
    source = "" if as_folder else "results.json"
    import_files(template, workdir, "promptfoo", {"results.json": results}, source=source)


@given(table=damaged_json_text(_json(RUN / TABLE)))
def test_damaged_wandb_table(template: Path, workdir: Path, table: bytes) -> None:
    import_files(template, workdir, "wandb", {TABLE: table}, copy=RUN)


@st.composite
def damaged_run_log(draw: st.DrawFn) -> bytes:
    """The binary log with bytes flipped, cut short, or a chunk's length changed."""
    data = bytearray((RUN / RUN_LOG).read_bytes())
    damage = draw(st.sampled_from(["flip", "cut", "length", "header"]))
    if damage == "flip":
        for _ in range(draw(st.integers(1, 4))):
            data[draw(st.integers(0, len(data) - 1))] ^= draw(st.integers(1, 255))
    elif damage == "cut":
        del data[draw(st.integers(0, len(data) - 1)) :]
    elif damage == "length":
        data[11:13] = draw(st.sampled_from([b"\xff\xff", b"\x00\x00", b"\x00\x80"]))
    else:
        data[:7] = draw(st.sampled_from([b"", b"PK\x03\x04", b":W&B\x00\x00\x09"]))
    return bytes(data)


@given(log=damaged_run_log())
def test_damaged_wandb_run_log(template: Path, workdir: Path, log: bytes) -> None:
    import_files(template, workdir, "wandb", {RUN_LOG: log}, copy=RUN)


@st.composite
def damaged_synced_file(draw: st.DrawFn) -> dict[str, bytes]:
    """A synced run's config.yaml or wandb-summary.json, damaged."""
    if draw(st.booleans()):
        value = draw(damaged_value(yaml.safe_load((SYNCED / "files/config.yaml").read_text())))
        text = yaml.safe_dump(value, allow_unicode=True).encode()
        return {"files/config.yaml": draw(damaged_bytes(text))}
    summary = _json(SYNCED / "files/wandb-summary.json")
    return {"files/wandb-summary.json": draw(damaged_json_text(summary))}


@given(files=damaged_synced_file())
def test_damaged_wandb_synced_files(template: Path, workdir: Path, files: dict[str, bytes]) -> None:
    import_files(template, workdir, "wandb", files, copy=SYNCED)


@st.composite
def damaged_csv(draw: st.DrawFn) -> bytes:
    """The CSV export with a column dropped or renamed, a row cut, or hostile cells."""
    lines = CSV_EXPORT.read_text(encoding="utf-8").splitlines()
    damage = draw(st.sampled_from(["drop-column", "rename", "cut-row", "cell", "huge"]))
    rows = [line.split(",") for line in lines]
    if damage == "drop-column":
        at = draw(st.integers(0, len(rows[0]) - 1))
        rows = [r[:at] + r[at + 1 :] for r in rows]
    elif damage == "rename":
        rows[0][draw(st.integers(0, len(rows[0]) - 1))] = draw(st.sampled_from(["", "id", "x"]))
    elif damage == "cut-row":
        row = draw(st.integers(1, len(rows) - 1))
        rows[row] = rows[row][: draw(st.integers(0, len(rows[row]) - 1))]
    elif damage == "cell":
        row, col = draw(st.integers(0, len(rows) - 1)), draw(st.integers(0, len(rows[0]) - 1))
        rows[row][col] = draw(st.sampled_from(['"', '"a""b', "\x00", "", "\u202e", "a\nb"]))
    else:
        row, col = draw(st.integers(1, len(rows) - 1)), draw(st.integers(0, len(rows[0]) - 1))
        rows[row][col] = draw(st.sampled_from(["1e999", "9" * 400, "x" * 100_000, "-0.0"]))
    text = "\n".join(",".join(r) for r in rows) + "\n"
    return draw(damaged_bytes(text.encode("utf-8")))


@given(table=damaged_csv())
def test_damaged_wandb_csv_export(template: Path, workdir: Path, table: bytes) -> None:
    import_files(template, workdir, "wandb", {"export.csv": table}, source="export.csv")


OPENAI_LOG = LOGS / "openai_evals" / "keyword.jsonl"


@given(log=damaged_jsonl([json.loads(x) for x in OPENAI_LOG.read_text().splitlines() if x]))
def test_damaged_openai_evals_log(template: Path, workdir: Path, log: bytes) -> None:
    import_files(template, workdir, "openai-evals", {"log.jsonl": log}, source="log.jsonl")
