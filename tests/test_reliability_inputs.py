"""Hostile values in records and result files: each is refused with exit 2 and one line naming
the file (and the field), never an internal error; full disks, read-only file systems and
memory exhaustion are one clear line too. Every input is made here."""

from __future__ import annotations

import errno
import json
import math
import os
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from evaltui.actions import load as actions_load
from tests.conftest import EXAMPLE, digest, example_run
from tests.decision_support import make_key

BIG = "1" + "0" * 400  # a 401-digit integer literal


def _folder(tmp_path: Path, name: str = "in") -> Path:
    folder = tmp_path / name
    folder.mkdir()
    for source in EXAMPLE.glob("*.suite.json"):
        (folder / source.name).write_bytes(source.read_bytes())
    return folder


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    return path


def _refused(run_cli, folder: Path, store: Path, *needles: str) -> str:
    before = digest(store)
    result = run_cli("load", folder, "--store", store)
    assert result.code == 2, f"exit {result.code}: {result.err}"
    lines = result.err.strip().splitlines()
    assert len(lines) == 1, result.err
    assert "internal error" not in result.err
    for needle in needles:
        assert needle in lines[0], lines[0]
    assert digest(store) == before
    return lines[0]


@pytest.mark.parametrize("started", ["9999-12-31T23:59:59-05:00", "0001-01-01T00:00:00+05:00"])
def test_start_time_out_of_range_in_utc(run_cli, sample_store, tmp_path, started) -> None:
    folder = _folder(tmp_path)
    _write(folder / "t.run.json", json.dumps(example_run("t1", started_at=started)))
    _refused(run_cli, folder, sample_store, "t.run.json", "started_at", "years 1-9999")


@pytest.mark.parametrize("field", ["metrics", "score", "latency_ms"])
def test_a_400_digit_integer_is_refused(run_cli, sample_store, tmp_path, field) -> None:
    folder = _folder(tmp_path)
    doc = example_run("big1")
    if field == "metrics":
        doc["metrics"] = {"accuracy": 12345}
    else:
        doc["cases"][0][field] = 12345
    _write(folder / "b.run.json", json.dumps(doc).replace("12345", BIG))
    _refused(run_cli, folder, sample_store, "b.run.json", "401 digits")


def test_tokens_beyond_bigint_are_refused_inline(run_cli, sample_store, tmp_path) -> None:
    folder = _folder(tmp_path)
    doc = example_run("tok1")
    doc["cases"][0]["tokens"] = 2**70
    _write(folder / "t.run.json", json.dumps(doc))
    _refused(run_cli, folder, sample_store, "t.run.json", "'tokens'")


def test_tokens_beyond_bigint_are_refused_in_jsonl(run_cli, sample_store, tmp_path) -> None:
    folder = _folder(tmp_path)
    doc = example_run("tok2")
    rows = doc.pop("cases")
    rows[0]["tokens"] = 2**70
    _write(folder / "tok2.jsonl", "".join(json.dumps(r) + "\n" for r in rows))
    _write(folder / "t.run.json", json.dumps({**doc, "cases": "tok2.jsonl"}))
    _refused(run_cli, folder, sample_store, "tok2.jsonl")


@pytest.mark.parametrize("where", ["experiment", "output", "metadata key"])
def test_a_lone_surrogate_is_refused(run_cli, sample_store, tmp_path, where) -> None:
    folder = _folder(tmp_path)
    doc = example_run("sur1")
    if where == "experiment":
        doc["experiment"] = "SURROGATE"
    elif where == "output":
        doc["cases"][1]["output"] = "x SURROGATE y"
    else:
        doc["cases"][1]["metadata"] = {"SURROGATE": 1}
    _write(folder / "s.run.json", json.dumps(doc).replace("SURROGATE", "\\ud800"))
    line = _refused(run_cli, folder, sample_store, "s.run.json", "lone surrogate")
    if where != "metadata key":
        assert "experiment" in line if where == "experiment" else "cases[1].output" in line


def test_a_lone_surrogate_in_a_jsonl_result_file(run_cli, sample_store, tmp_path) -> None:
    folder = _folder(tmp_path)
    doc = example_run("sur2")
    rows = doc.pop("cases")
    text = "".join(json.dumps(r) + "\n" for r in rows)
    _write(folder / "sur2.jsonl", text.replace('"output": "', '"output": "\\udc80', 1))
    _write(folder / "t.run.json", json.dumps({**doc, "cases": "sur2.jsonl"}))
    result = run_cli("load", folder, "--store", sample_store)
    assert "internal error" not in result.err and "Traceback" not in result.err
    if result.code == 0:  # DuckDB replaced it: what is stored is valid text
        shown = run_cli("cases", "sur2", "--store", sample_store, "--json")
        assert shown.code == 0, shown.err
        shown.out.encode("utf-8")
    else:
        assert result.code == 2 and "sur2.jsonl" in result.err


def test_good_surrogate_pairs_still_load(run_cli, tmp_path) -> None:
    folder = _folder(tmp_path)
    doc = example_run("pair1")
    doc["cases"][0]["output"] = "EMOJI"
    _write(folder / "p.run.json", json.dumps(doc).replace("EMOJI", "\\ud83d\\ude00 \\\\ud800"))
    result = run_cli("load", folder, "--store", tmp_path / "s.duckdb")
    assert result.code == 0, result.err


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity", "1e999"])
@pytest.mark.parametrize("field", ["score", "latency_ms"])
def test_non_finite_numbers_in_a_jsonl_result_file(
    run_cli, sample_store, tmp_path, value, field
) -> None:
    folder = _folder(tmp_path)
    doc = example_run("nan1")
    rows = doc.pop("cases")
    rows[2][field] = 424242
    text = "".join(json.dumps(r) + "\n" for r in rows).replace("424242", value)
    _write(folder / "nan1.jsonl", text)
    _write(folder / "n.run.json", json.dumps({**doc, "cases": "nan1.jsonl"}))
    _refused(run_cli, folder, sample_store, "nan1.jsonl")
    assert run_cli("cases", "nan1", "--store", sample_store).code == 2  # not loaded


@pytest.mark.parametrize("value", [math.nan, math.inf])
def test_non_finite_numbers_in_a_parquet_result_file(run_cli, sample_store, tmp_path, value):
    folder = _folder(tmp_path)
    doc = example_run("nan2")
    rows = doc.pop("cases")
    table = pa.table(
        {
            "case_id": [r["case_id"] for r in rows],
            "route": [r["route"] for r in rows],
            "score": [value if i == 1 else 0.5 for i in range(len(rows))],
        }
    )
    pq.write_table(table, folder / "nan2.parquet")
    _write(folder / "n.run.json", json.dumps({**doc, "cases": "nan2.parquet"}))
    _refused(run_cli, folder, sample_store, "nan2.parquet", "score")


def test_cases_json_never_prints_a_bare_nan(run_cli, tmp_path) -> None:
    folder = _folder(tmp_path)
    doc = example_run("nan3")
    rows = doc.pop("cases")
    text = "".join(json.dumps(r) + "\n" for r in rows).replace(
        '"latency_ms": ', '"latency_ms": NaN, "x": ', 1
    )
    _write(folder / "nan3.jsonl", text)
    _write(folder / "n.run.json", json.dumps({**doc, "cases": "nan3.jsonl"}))
    store = tmp_path / "s.duckdb"
    run_cli("load", folder, "--store", store)
    shown = run_cli("cases", "nan3", "--store", store, "--json")
    assert "NaN" not in shown.out


def test_a_results_parquet_with_two_route_columns(run_cli, sample_store, tmp_path) -> None:
    folder = _folder(tmp_path)
    doc = example_run("dup1")
    rows = doc.pop("cases")
    table = pa.Table.from_arrays(
        [
            pa.array([r["case_id"] for r in rows]),
            pa.array([r["route"] for r in rows]),
            pa.array(["OTHER"] * len(rows)),
        ],
        names=["case_id", "route", "route"],
    )
    pq.write_table(table, folder / "dup1.parquet")
    _write(folder / "d.run.json", json.dumps({**doc, "cases": "dup1.parquet"}))
    _refused(run_cli, folder, sample_store, "dup1.parquet", "'route' appears more than once")


def test_a_suite_parquet_with_a_repeated_column(run_cli, tmp_path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    suite = json.loads((EXAMPLE / "ci-claim-gate-v1.suite.json").read_text())
    split, cases = next(
        (name, value) for name, value in suite["splits"].items() if isinstance(value, list)
    )
    table = pa.Table.from_arrays(
        [
            pa.array([c["case_id"] for c in cases]),
            pa.array([c["expected_route"] for c in cases]),
            pa.array(["X"] * len(cases)),
        ],
        names=["case_id", "expected_route", "expected_route"],
    )
    pq.write_table(table, folder / "cases.parquet")
    suite["splits"][split] = "cases.parquet"
    _write(folder / "s.suite.json", json.dumps(suite))
    store = tmp_path / "s.duckdb"
    result = run_cli("load", folder, "--store", store)
    assert result.code == 2, result.err
    # read by batches, pyarrow takes the file and the suite check names the column
    assert "cases.parquet: column 'expected_route' appears more than once" in result.err
    assert result.err.count("\n") == 1


@pytest.mark.parametrize("field", ["run_id", "suite_id"])
def test_a_trailing_newline_does_not_pass_an_id_pattern(run_cli, sample_store, tmp_path, field):
    folder = _folder(tmp_path)
    doc = example_run("run_nl")
    doc[field] = doc[field] + "\n"
    _write(folder / "n.run.json", json.dumps(doc))
    _refused(run_cli, folder, sample_store, "n.run.json", field)


def test_a_split_name_with_a_trailing_newline_is_refused(run_cli, tmp_path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    suite = json.loads((EXAMPLE / "ci-claim-gate-v1.suite.json").read_text())
    suite["suite_id"] = "nl-suite"
    name = next(iter(suite["splits"]))
    suite["splits"] = {name + "\n": suite["splits"][name]}
    _write(folder / "s.suite.json", json.dumps(suite))
    result = run_cli("load", folder, "--store", tmp_path / "s.duckdb")
    assert result.code == 2, result.err
    assert "s.suite.json" in result.err


def test_decide_refuses_a_name_with_a_trailing_newline(run_cli, sample_store, tmp_path):
    key = make_key(tmp_path, "alice")
    out = tmp_path / "decisions"
    result = run_cli(
        "decide",
        "run_003",
        "--store",
        sample_store,
        "--key",
        key,
        "--out",
        out,
        "--rollback",
        "ci-answerer-v1",
        "--rollback-external",
        "--limitation",
        "canary first",
        "--name",
        "evil\n",
    )
    assert result.code == 2, result.err
    assert "decision name" in result.err
    assert not out.exists() or not any(out.iterdir())


@pytest.mark.parametrize("key", ["params", "tags"])
def test_params_and_tags_refuse_nested_values(run_cli, sample_store, tmp_path, key) -> None:
    folder = _folder(tmp_path)
    _write(folder / "p.run.json", json.dumps(example_run("nest1", **{key: {"a": {"b": 1}}})))
    _refused(run_cli, folder, sample_store, "p.run.json", f"{key}.a must be a string, number")


def test_a_metric_without_a_name_is_refused(run_cli, sample_store, tmp_path) -> None:
    folder = _folder(tmp_path)
    _write(folder / "m.run.json", json.dumps(example_run("m1", metrics={"": 1.0})))
    _refused(run_cli, folder, sample_store, "m.run.json", "'metrics' has an empty name")


# -- the machine, not the input ---------------------------------------------------------------------


def _fails_with(monkeypatch, exc: BaseException) -> None:
    def failing(*_args: object, **_kwargs: object) -> None:
        raise exc

    monkeypatch.setattr(actions_load, "load_batch", failing)  # the load both surfaces call


@pytest.mark.parametrize(
    ("exc", "said"),
    [
        (OSError(errno.ENOSPC, os.strerror(errno.ENOSPC)), "no space left on the device"),
        (OSError(errno.EROFS, os.strerror(errno.EROFS)), "the file system is read-only"),
        (MemoryError(), "out of memory"),
        (duckdb.IOException("Could not write file: No space left on device"), "no space left"),
        (duckdb.IOException("Cannot open file: Read-only file system"), "read-only"),
    ],
)
def test_a_full_or_read_only_disk_or_no_memory_is_one_line(
    run_cli, tmp_path, monkeypatch, exc, said
) -> None:
    _fails_with(monkeypatch, exc)
    folder = _folder(tmp_path)
    _write(folder / "r.run.json", json.dumps(example_run("r1")))
    result = run_cli("load", folder, "--store", tmp_path / "s.duckdb")
    assert result.code == 2, result.err
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 and said in lines[0] and "internal error" not in lines[0], result.err


def test_a_new_store_on_a_read_only_file_system(run_cli, tmp_path, monkeypatch) -> None:
    real_mkdir = Path.mkdir

    def read_only(self: Path, *args: object, **kwargs: object) -> None:
        if self.name == "ro":
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(self))
        real_mkdir(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Path, "mkdir", read_only)
    folder = _folder(tmp_path)
    _write(folder / "r.run.json", json.dumps(example_run("r1")))
    result = run_cli("load", folder, "--store", tmp_path / "ro" / "store.duckdb")
    assert result.code == 2, result.err
    assert "read-only" in result.err and "internal error" not in result.err


def test_a_full_disk_during_decide_writes_nothing(run_cli, sample_store, tmp_path, monkeypatch):
    key = make_key(tmp_path, "alice")
    out = tmp_path / "decisions"
    out.mkdir()
    real_fsync = os.fsync

    def full(fd: int) -> None:
        if os.path.basename(os.readlink(f"/proc/self/fd/{fd}")).startswith("."):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", full)
    result = run_cli(
        "decide",
        "run_003",
        "--store",
        sample_store,
        "--key",
        key,
        "--out",
        out,
        "--rollback",
        "ci-answerer-v1",
        "--rollback-external",
        "--limitation",
        "canary first",
    )
    assert result.code == 2, result.err
    assert "no space left on the device" in result.err
    assert list(out.iterdir()) == []


# -- importers: the same values in foreign logs ------------------------------------------------------

STAMP = "2026-01-01T00-00-00.000000"


def _lm_eval(folder: Path, results_acc: str = "0.5", response: str = "yes") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    _write(
        folder / f"results_{STAMP}.json",
        '{"results": {"t": {"acc,none": ACC}}, "configs": {"t": {"task": "t"}}}'.replace(
            "ACC", results_acc
        ),
    )
    rows = [
        {
            "doc_id": i,
            "doc": {"q": f"question {i}"},
            "target": "yes",
            "arguments": [["question", " yes"]],
            "resps": [["RESPONSE"]],
            "filtered_resps": ["RESPONSE"],
            "filter": "none",
            "metrics": ["acc"],
            "acc": i % 2,
        }
        for i in range(3)
    ]
    text = "".join(json.dumps(r) + "\n" for r in rows).replace("RESPONSE", response)
    _write(folder / f"samples_t_{STAMP}.jsonl", text)
    return folder


def test_a_plain_lm_eval_log_imports(run_cli, tmp_path) -> None:
    log = _lm_eval(tmp_path / "lm")
    result = run_cli("import", "lm-eval", log, "--store", tmp_path / "s.duckdb")
    assert result.code == 0, result.err


@pytest.mark.parametrize(
    ("acc", "response", "needle"),
    [
        (BIG, "yes", "401 digits"),
        ("0.5", "\\ud800 yes", "lone surrogate"),
    ],
    ids=["400-digit-result", "surrogate-response"],
)
def test_hostile_values_in_an_lm_eval_log(run_cli, tmp_path, acc, response, needle) -> None:
    log = _lm_eval(tmp_path / "lm", acc, response)
    store = tmp_path / "s.duckdb"
    result = run_cli("import", "lm-eval", log, "--store", store)
    assert result.code == 2, result.err
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0] and "internal error" not in lines[0], result.err
    assert ("results_" in lines[0]) or ("samples_t_" in lines[0])
    assert not store.exists()


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_non_finite_numbers_in_a_parquet_suite_column(run_cli, tmp_path, value) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    suite = json.loads((EXAMPLE / "ci-claim-gate-v1.suite.json").read_text())
    suite["suite_id"] = "nan-suite"
    split, cases = next(
        (name, value) for name, value in suite["splits"].items() if isinstance(value, list)
    )
    table = pa.table(
        {
            "case_id": [c["case_id"] for c in cases],
            "expected_route": [c["expected_route"] for c in cases],
            "weight": [value if i == 1 else 1.0 for i in range(len(cases))],
        }
    )
    pq.write_table(table, folder / "cases.parquet")
    suite["splits"] = {split: "cases.parquet"}
    _write(folder / "s.suite.json", json.dumps(suite))
    store = tmp_path / "s.duckdb"
    result = run_cli("load", folder, "--store", store)
    assert result.code == 2, result.err
    assert "cases.parquet: row 2: field 'weight' holds NaN or infinity" in result.err
    assert not store.exists()
