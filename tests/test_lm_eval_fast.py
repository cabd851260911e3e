"""lm-eval's fast path (DuckDB reads the samples file) against the Python path, store by store.

Every log here is imported twice, once with the fast path forced on every file size and once
with it off (the per-row Python reader, the oracle), and the two stores must hold the same
suites (ids, fingerprints, content_sha), the same case rows (canonical texts byte for byte), the
same runs (params, metrics, tags) and the same results (route, score, output and the metadata
text as stored). A log the fast path cannot reproduce must fall back (the test checks which
path ran), so an equal store is never an accident of both runs taking the Python path.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from evaltui.contract.model import EncodedCases
from evaltui.importers import lm_eval_fast
from evaltui.importers.common import INLINE_LIMIT
from evaltui.importers.pipeline import prepare, read_source
from evaltui.store.connection import Store
from evaltui.store.loader import load_batch
from tests.importer_support import tree_bytes
from tests.reliability_support import REPO

BENCH = REPO / "benchmarks" / "import_bench.py"


def _bench() -> Any:
    import importlib.util
    import sys

    module = sys.modules.get("import_bench")
    if module is None:
        spec = importlib.util.spec_from_file_location("import_bench", BENCH)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules["import_bench"] = module
        spec.loader.exec_module(module)
    return module


LM_STAMP = _bench().LM_STAMP

QUERIES = {
    "suites": "SELECT suite_id, description, evaluation_sha, content_sha, case_count, metrics, "
    "guardrails, comparison_fields FROM suites ORDER BY 1",
    "splits": "SELECT suite_id, split, fingerprint, case_count FROM suite_splits ORDER BY 1, 2",
    "cases": "SELECT suite_id, split, case_id, expected_route, slice_name, evidence_state, "
    "source, canonical FROM cases ORDER BY 1, 2, 3",
    "runs": "SELECT run_id, experiment, artifact, suite_id, started_at, result_count, "
    "incomplete, results_digest FROM runs ORDER BY 1",
    "params": "SELECT * FROM run_params ORDER BY 1, 2",
    "metrics": "SELECT * FROM run_metrics ORDER BY 1, 2",
    "tags": "SELECT run_id, key, value FROM run_tags WHERE key <> 'samples_file' ORDER BY 1, 2",
    "results": "SELECT run_id, case_id, route, score, latency_ms, tokens, output, "
    "metadata::VARCHAR FROM results ORDER BY 1, 2",
}


def _store_rows(store: Path) -> dict[str, list[Any]]:
    with Store.open(store, read_only=True) as opened:
        return {name: opened.con.execute(sql).fetchall() for name, sql in QUERIES.items()}


def _import(source: Path, store: Path, *, fast: bool, monkeypatch: pytest.MonkeyPatch) -> bool:
    """Import `source` into `store`; whether the fast path read it."""
    monkeypatch.setattr(lm_eval_fast, "ENABLED", fast)
    monkeypatch.setattr(lm_eval_fast, "FAST_MIN_BYTES", 0)
    monkeypatch.setattr(lm_eval_fast, "MIN_ROWS", 1)
    with prepare("lm-eval", source) as prepared:
        used = any(
            isinstance(cases, EncodedCases)
            for suite in prepared.imported.suites.values()
            for cases in suite.doc["splits"].values()
        )
        with Store.open(store) as opened:
            load_batch(opened, prepared.batch)
    return used


def _both_ways(
    source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[bool, dict[str, list[Any]], dict[str, list[Any]]]:
    slow, fast = tmp_path / "python.duckdb", tmp_path / "fast.duckdb"
    _import(source, slow, fast=False, monkeypatch=monkeypatch)
    used = _import(source, fast, fast=True, monkeypatch=monkeypatch)
    return used, _store_rows(slow), _store_rows(fast)


def _assert_same(python: dict[str, list[Any]], fast: dict[str, list[Any]]) -> None:
    """Equal stores. A run of at most INLINE_LIMIT results keeps them inline on the Python path,
    whose metadata text then keeps the keys in `_metadata`'s order (the fast path never reads
    such a file outside these tests): its metadata is compared as parsed JSON."""
    for name in QUERIES:
        if name == "results" and len(python[name]) <= INLINE_LIMIT:
            assert _parsed(fast[name]) == _parsed(python[name]), name
        else:
            assert fast[name] == python[name], name


def _parsed(rows: list[Any]) -> list[Any]:
    return [(*row[:-1], json.loads(row[-1])) for row in rows]


def _generated(folder: Path, lines: int) -> Path:
    _bench().write_lm_eval_log(folder, lines)
    return folder


def _edited(tmp_path: Path, edit: Any, *, name: str = "edited") -> Path:
    """The generated log of 2,100 lines (more than INLINE_LIMIT: the results' metadata is
    compared byte for byte) with its rows changed by `edit(rows) -> rows`."""
    folder = _generated(tmp_path / name, 2_100)
    samples = folder / f"samples_winogrande_{LM_STAMP}.jsonl"
    rows = [json.loads(line) for line in samples.read_text().splitlines()]
    lines = (json.dumps(row, ensure_ascii=False) + "\n" for row in edit(rows))  # as lm-eval
    samples.write_text("".join(lines), encoding="utf-8")
    return folder


@pytest.mark.parametrize("lines", [1, 40, 2_500])
def test_generated_logs_give_the_same_store(
    lines: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    used, python, fast = _both_ways(_generated(tmp_path / "log", lines), tmp_path, monkeypatch)
    assert used
    assert len(fast["results"]) == lines and fast["results"][0][6] == "[invalid]"
    _assert_same(python, fast)


@pytest.mark.parametrize(
    "folder", ["lm_eval", "lm_eval_generated/multiple_choice", "lm_eval_generated/generate"]
)
def test_real_logs_give_the_same_store(
    folder: str, real_logs: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    used, python, fast = _both_ways(real_logs / folder, tmp_path, monkeypatch)
    assert used
    assert python["results"]
    _assert_same(python, fast)


def test_named_results_files_give_the_same_store(
    real_logs: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    used, python, fast = _both_ways(real_logs / "lm_eval_generated/named", tmp_path, monkeypatch)
    assert used
    assert python["results"]
    _assert_same(python, fast)


def _several_filters(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for row in rows:
        out.append({**row, "filter": "get-answer"})
        out.append({**row, "filter": "strict-match", "exact_match": 0.0, "filtered_resps": ["x"]})
    return out


def _no_filter_key(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in row.items() if k not in ("filter", "metrics")} for row in rows]


def _string_ids_and_unicode(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for index, row in enumerate(rows):
        doc = {**row["doc"], "sentence": f'Zoë "quoted" \\ tab\t 😀 {index}', "é": "ü"}
        out.append({**row, "doc_id": f"doc-{index}-ß", "doc": doc, "target": "Zoë\n"})
    return out


def _partial_and_bool_values(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    values: list[Any] = [0.5, True, False, 1, 0, None, 0.25]
    return [{**row, "exact_match": values[i % len(values)]} for i, row in enumerate(rows)]


def _loglikelihoods(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for index, row in enumerate(rows):
        choices = [[-1.5 - index % 3, False], [-0.25 * (index % 4), True], [-0.5, False]]
        out.append({**row, "filtered_resps": choices, "resps": [[c] for c in choices]})
    return out


def _floats_and_nesting_in_doc(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for index, row in enumerate(rows):
        doc = {"b": 1e-05, "a": {"z": [1, 2.5, None], "y": "q"}, "n": index, "big": 10**18}
        out.append({**row, "doc": doc if index % 2 else {**row["doc"], "list": ["a", 1, True]}})
    return out


def _missing_doc_hash(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for index, row in enumerate(rows):
        changed = {k: v for k, v in row.items() if k != "doc_hash"}
        if index % 3 == 0:
            changed["doc"] = {**row["doc"], "x": 0.1, "é": "ü"}
        out.append(changed if index % 2 else {**changed, "doc_hash": ""})
    return out


def _extra_metrics(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for index, row in enumerate(rows):
        changed = {**row, "bleu": 12.5 + index, "acc": bool(index % 2)}
        if index % 5 == 0:
            changed["rare_metric"] = None
        out.append(changed)
    return out


def _no_doc(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in row.items() if k != "doc"} for row in rows[:20]] + [
        {**row, "doc": None} for row in rows[20:]
    ]


@pytest.mark.parametrize(
    "edit",
    [
        _several_filters,
        _no_filter_key,
        _string_ids_and_unicode,
        _partial_and_bool_values,
        _loglikelihoods,
        _floats_and_nesting_in_doc,
        _missing_doc_hash,
        _extra_metrics,
        _no_doc,
    ],
)
def test_edge_rows_read_by_the_fast_path_give_the_same_store(
    edit: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    used, python, fast = _both_ways(_edited(tmp_path, edit), tmp_path, monkeypatch)
    assert used
    _assert_same(python, fast)


def _nan_metric(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{**row, "exact_match": float("nan") if i == 3 else row["exact_match"]}
            for i, row in enumerate(rows)]  # fmt: skip


def _non_unit_metric(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{**row, "exact_match": 3.0 if i == 2 else row["exact_match"]}
            for i, row in enumerate(rows)]  # fmt: skip


def _one_loglikelihood(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{**row, "filtered_resps": [[-1.25, True]]} for row in rows]


def _object_target(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{**row, "target": {"b": 1, "a": 2}} for row in rows]


@pytest.mark.parametrize(
    ("edit", "fast_path"),
    [(_nan_metric, False), (_non_unit_metric, True), (_one_loglikelihood, False),
     (_object_target, False)],
)  # fmt: skip
def test_rows_the_fast_path_leaves_to_python_give_the_same_store(
    edit: Any, fast_path: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    used, python, fast = _both_ways(_edited(tmp_path, edit), tmp_path, monkeypatch)
    assert used is fast_path
    _assert_same(python, fast)


def test_a_repeated_doc_id_is_refused_with_the_same_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, run_cli: Any
) -> None:
    folder = _edited(tmp_path, lambda rows: [*rows, {**rows[5], "filter": "get-answer"}])
    monkeypatch.setattr(lm_eval_fast, "FAST_MIN_BYTES", 0)
    result = run_cli("import", "lm-eval", folder, "--store", tmp_path / "s.duckdb")
    assert result.code == 2
    assert result.err.strip().endswith(
        ":2101: doc_id 5 appears again (first at line 6) without a 'filter' key to tell the rows "
        "apart"
    )


def test_out_writes_the_same_records(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, run_cli: Any
) -> None:
    """`--out` writes the same suite files either way (the run's results: Parquet or JSONL)."""
    folder = _generated(tmp_path / "log", 2_500)
    monkeypatch.setattr(lm_eval_fast, "FAST_MIN_BYTES", 0)
    written = {}
    for fast in (False, True):
        monkeypatch.setattr(lm_eval_fast, "ENABLED", fast)
        out = tmp_path / f"out-{fast}"
        result = run_cli("import", "lm-eval", folder, "--out", out, "--no-load")
        assert result.code == 0, result.err
        written[fast] = tree_bytes(out)
    suites = {n: b for n, b in written[False].items() if ".suite.json" in n or ".validation." in n}
    assert suites and all(written[True][n] == b for n, b in suites.items())
    runs = [n for n in written[True] if n.endswith(".cases.parquet")]
    assert runs and not any(n.endswith(".cases.parquet") for n in written[False])


def test_small_files_stay_on_the_python_path(tmp_path: Path) -> None:
    folder = tmp_path / "log"
    shutil.copytree(_bench().REAL_LM_EVAL, folder)
    imported = read_source("lm-eval", folder)
    try:
        suite = next(iter(imported.suites.values()))
        assert all(isinstance(c, list) for c in suite.doc["splits"].values())
    finally:
        imported.close()


@pytest.mark.parametrize(
    "line",
    [
        '{"doc_id": 7, "doc": {"a": 1,}, "exact_match": 1.0}',  # DuckDB reads trailing commas
        '{"doc_id": 7, "doc_id": 8, "exact_match": 1.0}',
        '{"doc_id": 7, "doc": {"a": 1, "a": 2}, "doc_hash": "x", "exact_match": 1.0}',
        '{"doc_id": 7.0, "exact_match": 1.0}',
        '{"doc_id": 7, "doc": "\\ud800", "exact_match": 1.0}',
        '{"doc_id": 7} {"doc_id": 8}',
        "[7]",
        '{"doc_id": 1, "exact_match": 1.0}',
    ],
)
def test_broken_files_are_refused_as_the_python_path_refuses_them(
    line: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, run_cli: Any
) -> None:
    folder = _generated(tmp_path / "log", 2_100)
    samples = folder / f"samples_winogrande_{LM_STAMP}.jsonl"
    lines = samples.read_text().splitlines()
    lines[7] = line
    samples.write_text("\n".join(lines) + "\n")
    monkeypatch.setattr(lm_eval_fast, "FAST_MIN_BYTES", 0)
    said = {}
    for fast in (False, True):
        monkeypatch.setattr(lm_eval_fast, "ENABLED", fast)
        result = run_cli("import", "lm-eval", folder, "--store", tmp_path / f"{fast}.duckdb")
        said[fast] = (result.code, result.err)
    assert said[True] == said[False]
    assert said[True][0] == 2 and ":8: " in said[True][1]


def test_the_fast_paths_cases_stay_on_disk_with_the_oracles_digest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The suite's encoded cases are a Parquet file (never one table in memory), whose texts
    and digest are what the per-case definition gives; the batch's split keeps the file."""
    import pyarrow.parquet as pq

    from evaltui.contract.fingerprint import digest_encoded, digest_table
    from evaltui.contract.model import CASE_COLUMNS

    folder = _edited(tmp_path, _odd_ids)
    monkeypatch.setattr(lm_eval_fast, "FAST_MIN_BYTES", 0)
    monkeypatch.setattr(lm_eval_fast, "_BATCH", 500)  # several batches, row groups and parts
    with prepare("lm-eval", folder) as prepared:
        (suite,) = prepared.imported.suites.values()
        (cases,) = suite.doc["splits"].values()
        assert isinstance(cases, EncodedCases)
        table = pq.read_table(cases.path)
        assert pq.ParquetFile(cases.path).metadata.num_row_groups > 1
        (split,) = prepared.batch.suites[0].splits
        assert split.cases is cases and split.case_count == len(cases) == 2_100
    assert table.column_names == list(CASE_COLUMNS)
    pairs = list(zip(*(table.column(c).to_pylist() for c in ("case_id", "canonical")), strict=True))
    assert cases.digest == digest_encoded(pairs)
    assert cases.digest == digest_table(table.column("case_id"), table.column("canonical"))
    assert [i for i, _ in pairs] == [f"{n}" if n % 3 else f"ẞ-{n}-\U0001f600" for n in range(2_100)]


def _odd_ids(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """doc_ids whose sort by code point differs from a sort by UTF-16 unit or by number."""
    return [
        {**row, "doc_id": index if index % 3 else f"ẞ-{index}-\U0001f600"}
        for index, row in enumerate(rows)
    ]


def test_odd_ids_give_the_same_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    used, python, fast = _both_ways(_edited(tmp_path, _odd_ids), tmp_path, monkeypatch)
    assert used
    _assert_same(python, fast)


def test_the_digest_sort_spills_and_orders_as_python(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`_digest_file` over texts longer than its first memory limit holds (150 MB of 1.5 KB
    texts: DuckDB runs out of memory at 64 MB, and the limit is raised) gives
    `digest_encoded`'s order (code points: '\uffff' before an astral char)."""
    import random

    import duckdb
    import pyarrow as pa
    import pyarrow.parquet as pq

    from evaltui.contract.fingerprint import digest_encoded

    ids = [
        f"{p}{n}" for n in range(100_000) for p in ("\uffff", "\U00010000", "a", "é")[n % 4 :][:1]
    ]
    random.Random(3).shuffle(ids)
    texts = [f'{{"case_id":{json.dumps(i)},"pad":"{"x" * (1_500 + len(i) % 7)}"}}' for i in ids]
    path = tmp_path / "cases.parquet"
    pq.write_table(pa.table({"case_id": ids, "canonical": texts}), path, row_group_size=4_096)
    con = duckdb.connect()
    try:
        con.execute("SET threads = 1")
        con.execute("SET temp_directory = ?", [str(tmp_path / "spill")])
        monkeypatch.setattr(lm_eval_fast, "_SORT_MEMORY_MB", 64)  # surely too little
        with monkeypatch.context() as only_the_first:
            only_the_first.setattr(lm_eval_fast, "_SORT_MEMORY_MAX_MB", 64)
            with pytest.raises(duckdb.OutOfMemoryException):
                lm_eval_fast._digest_file(con, path)
        digest = lm_eval_fast._digest_file(con, path)  # at 256 MB
    finally:
        con.close()
    assert digest == digest_encoded(zip(ids, texts, strict=True))


def test_an_import_loads_under_its_own_memory_cap(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`evaltui import` loads with DuckDB's memory at IMPORT_MEMORY_LIMIT_MB, the same store."""
    from evaltui.actions.load import import_log
    from evaltui.store import loader

    seen: list[float] = []
    check = loader._check_results

    def watching(con: Any, runs: Any, summary: Any) -> Any:
        row = con.execute("SELECT current_setting('memory_limit')").fetchone()
        seen.append(loader._megabytes(row[0]))
        return check(con, runs, summary)

    folder = _generated(tmp_path / "log", 2_500)
    python = tmp_path / "python.duckdb"
    _import(folder, python, fast=False, monkeypatch=monkeypatch)
    monkeypatch.setattr(lm_eval_fast, "ENABLED", True)
    monkeypatch.setattr(loader, "_check_results", watching)
    store = tmp_path / "fast.duckdb"
    import_log("lm-eval", folder, lambda: Store.open(store), out=None, replace=False)
    assert seen and max(seen) <= loader.IMPORT_MEMORY_LIMIT_MB
    _assert_same(_store_rows(python), _store_rows(store))


def test_a_split_on_disk_is_inserted_and_the_settings_come_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The loader inserts a bulk split from its file (on one thread, its results file too) and
    gives the store its thread count back after each (the checks run on all threads) and its
    memory limit after the load."""
    from evaltui.store import loader

    monkeypatch.setattr(lm_eval_fast, "FAST_MIN_BYTES", 0)
    setting = "SELECT current_setting('threads'), current_setting('memory_limit')"
    threads: list[int] = []
    check = loader._check_results

    def watching(con: Any, runs: Any, summary: Any) -> Any:  # after both inserts
        threads.append(con.execute(setting).fetchall()[0][0])
        return check(con, runs, summary)

    monkeypatch.setattr(loader, "_check_results", watching)
    with prepare("lm-eval", _generated(tmp_path / "log", 2_500)) as prepared:
        (split,) = prepared.batch.suites[0].splits
        assert isinstance(split.cases, EncodedCases)
        with Store.open(tmp_path / "s.duckdb") as store:
            store.con.execute("SET threads = 3")
            store.con.execute("SET memory_limit = '4GiB'")  # printed as set
            before = store.con.execute(setting).fetchall()
            load_batch(store, prepared.batch, memory_mb=loader.IMPORT_MEMORY_LIMIT_MB)
            assert store.con.execute(setting).fetchall() == before
            counted = store.con.execute("SELECT count(*) FROM cases").fetchall()
    assert counted == [(2_500,)] and threads == [3]
