"""Large logs are imported in a stream: the same bytes as the in-memory path, bounded memory.

Case lists longer than INLINE_LIMIT are spooled to JSONL in batches (`common.RowSpool`) and
their digest is computed by DuckDB sorting the canonical texts; the per-case encoder
(`fingerprint.digest_encoded`) is the oracle. Memory is checked by importing generated logs of
N and 4N samples in child processes under an address-space cap and comparing their peaks.
"""

from __future__ import annotations

import importlib.util
import json
import math
import sys
from pathlib import Path
from typing import Any

import pytest

from evaltui.contract.fingerprint import canonical_case, digest_encoded
from evaltui.contract.jsonio import iter_jsonl
from evaltui.errors import InputError
from evaltui.importers.common import INLINE_LIMIT, Imported, SpilledRows, stream_jsonl
from evaltui.importers.pipeline import jsonl_bytes
from tests.reliability_support import REPO, capped

MEMORY_CAP_MB = 4096  # address space (RLIMIT_AS): DuckDB and Arrow reserve more than they touch
GROWTH_LIMIT_MB = 30  # peak at 4N minus peak at N; holding the logs whole costs far more


def _bench() -> Any:
    spec = importlib.util.spec_from_file_location(
        "import_bench", REPO / "benchmarks" / "import_bench.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["import_bench"] = module
    spec.loader.exec_module(module)
    return module


def _awkward_cases(count: int) -> list[dict[str, Any]]:
    """Ids whose string order differs from numeric order, non-ASCII, nested and numeric values."""
    cases = []
    for n in range(count):
        case: dict[str, Any] = {"case_id": str(n), "doc": {"n": n, "x": n / 7, "big": 10**18 + n}}
        if n % 3 == 0:
            case["case_id"] = f"é-{n}"  # after every ASCII id
        if n % 5 == 0:
            case["case_id"] = f"\U0001f600{n}"  # outside the BMP: UTF-16 order would differ
        case["text"] = ["ü", {"b": None, "a": True}, -0.0, 1e-300, "\u2028"]
        cases.append(case)
    return cases


def test_spooled_cases_give_the_per_case_digest_and_the_same_file(tmp_path: Path) -> None:
    cases = _awkward_cases(INLINE_LIMIT * 2 + 17)
    imported = Imported("test")
    try:
        spool = imported.spool(tmp_path, cases=True)
        for case in cases:
            spool.add(case)
        spilled = spool.finish()
        assert isinstance(spilled, SpilledRows) and len(spilled) == len(cases)
        assert spilled.digest == digest_encoded((c["case_id"], canonical_case(c)) for c in cases)
        assert spilled.path.read_bytes() == jsonl_bytes(cases)
        shuffled = cases[1::2] + cases[::2]  # another order, the same digest
        other = imported.spool(tmp_path, cases=True)
        for case in shuffled:
            other.add(case)
        assert other.finish().digest == spilled.digest  # type: ignore[union-attr]
    finally:
        imported.close()
    assert not spilled.path.exists()  # the scratch folder goes with the import


def test_few_rows_stay_a_list(tmp_path: Path) -> None:
    imported = Imported("test")
    spool = imported.spool(tmp_path, cases=False)
    rows = [{"case_id": str(n), "route": "A"} for n in range(INLINE_LIMIT)]
    for row in rows:
        spool.add(row)
    assert spool.finish() == rows


def test_stream_jsonl_reads_as_iter_jsonl(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    path.write_bytes(b'\xef\xbb\xbf{"a": 1}\r\n\n  \n{"b": NaN}\n[1, "\xc3\xa9"]')
    assert list(stream_jsonl(path, strict=False)) == list(iter_jsonl(path, strict=False))
    path.write_bytes(b'{"a": 1}\n{"b": "\xff"}\n')
    with pytest.raises(InputError) as streamed:
        list(stream_jsonl(path))
    with pytest.raises(InputError) as whole:
        list(iter_jsonl(path))
    assert str(streamed.value) == str(whole.value)
    path.write_bytes(b"\n \n")
    with pytest.raises(InputError, match="file is empty"):
        list(stream_jsonl(path))


# The importer's part of `evaltui import`: the log read, its records laid out as files (spooled
# case lists included), the suite digests computed. Then the peak RSS is reported on exit.
# lm-eval's per-row Python path, which streams: the fast path (DuckDB reads the file) holds the
# suite's encoded cases, as validation did after the Python path (docs/performance.md).
_READ = """
import sys
from pathlib import Path
from evaltui.importers import lm_eval_fast
from evaltui.importers.pipeline import native_records, read_source
lm_eval_fast.ENABLED = False
imported = read_source(sys.argv[1], Path(sys.argv[2]))
records = native_records(imported)
print(sum(len(run.doc["cases"]) for run in imported.runs))
imported.close()
"""


def _peak(tool: str, source: Path) -> tuple[float, int]:
    result = capped(tool, source, code=_READ, memory_mb=MEMORY_CAP_MB, timeout=300)
    assert result.code == 0, result.err[-3000:]
    return result.peak_rss_mb, int(result.out)


def test_import_memory_does_not_grow_with_the_log(tmp_path: Path) -> None:
    bench = _bench()
    small, large = 3_000, 12_000
    bench.write_inspect_log(tmp_path / "small.eval", small)
    bench.write_inspect_log(tmp_path / "large.eval", large, zstd=False)  # deflate entries too
    bench.write_lm_eval_log(tmp_path / "lm-small", small)
    bench.write_lm_eval_log(tmp_path / "lm-large", large)
    for tool, at_n, at_4n in (
        ("inspect", tmp_path / "small.eval", tmp_path / "large.eval"),
        ("lm-eval", tmp_path / "lm-small", tmp_path / "lm-large"),
    ):
        (peak_n, cases_n), (peak_4n, cases_4n) = _peak(tool, at_n), _peak(tool, at_4n)
        assert (cases_n, cases_4n) == (small, large)  # every sample was read
        assert peak_4n - peak_n < GROWTH_LIMIT_MB, f"{tool}: {peak_n:.0f} MB -> {peak_4n:.0f} MB"


def test_a_large_log_loads_into_the_store_under_the_cap(tmp_path: Path) -> None:
    """The whole command, through the normal loader, under the same cap."""
    bench = _bench()
    log = bench.write_inspect_log(tmp_path / "log.eval", INLINE_LIMIT * 3)
    store = tmp_path / "s.duckdb"
    result = capped("import", "inspect", log, "--store", store, "--json", memory_mb=MEMORY_CAP_MB)
    assert result.code == 0, result.err[-3000:]
    assert json.loads(result.out)["runs"][0]["cases"] == INLINE_LIMIT * 3
    import duckdb

    con = duckdb.connect(str(store), read_only=True)
    try:
        assert con.execute("SELECT count(*) FROM results").fetchone() == (INLINE_LIMIT * 3,)
    finally:
        con.close()


@pytest.mark.parametrize("tool", ["inspect", "lm-eval"])
def test_spooled_suites_fingerprint_their_written_cases(tmp_path: Path, tool: str) -> None:
    """End to end: the fingerprint of a streamed suite is the per-case encoder's over its file."""
    from evaltui.contract.fingerprint import fingerprint_cases
    from evaltui.importers.pipeline import prepare

    bench = _bench()
    count = INLINE_LIMIT + 700
    if tool == "inspect":
        source = bench.write_inspect_log(tmp_path / "log.eval", count)
    else:
        source = tmp_path / "lm"
        bench.write_lm_eval_log(source, count)
    with prepare(tool, source) as prepared:
        (suite,) = prepared.batch.suites
        (record,) = [r for r in prepared.records if r.kind == "suite"]
        (split_file,) = record.doc["splits"].values()
        written = prepared.write(tmp_path / "out")
    cases = [json.loads(line) for line in (tmp_path / "out" / split_file).read_text().splitlines()]
    assert len(cases) == count and suite.case_count == count
    assert set(suite.fingerprints().values()) == {fingerprint_cases(cases)}
    assert all(path.exists() for path in written)


def test_the_archive_limit_grows_with_the_archive(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Samples are read one entry at a time: a log inflating past MAX_ARCHIVE_BYTES is read when
    that is within MAX_INFLATE_RATIO of its size, and refused beyond it."""
    from evaltui.importers import zipread
    from evaltui.importers.inspect_ai import read_inspect

    log = _bench().write_inspect_log(tmp_path / "log.eval", 1_000)
    monkeypatch.setattr(zipread, "MAX_ARCHIVE_BYTES", 1 << 20)  # the log inflates to ~7 MB
    imported = read_inspect(log)
    try:
        assert len(imported.runs[0].doc["cases"]) == 1_000
    finally:
        imported.close()
    monkeypatch.setattr(zipread, "MAX_INFLATE_RATIO", 1)
    with pytest.raises(InputError, match=r"entries inflate to more than [0-9,]+ bytes"):
        read_inspect(log)


def test_lm_eval_names_the_first_repeat_among_the_judged_rows(tmp_path: Path) -> None:
    """Rows without a filter key count with the first filter's rows; the first repeat in file
    order is named, as one pass over the rows in memory named it."""
    from evaltui.importers.lm_eval import _scan

    rows = [
        {"doc_id": 0, "filter": "a"},
        {"doc_id": 1},  # no filter key: one of the judged rows
        {"doc_id": 2, "filter": "b"},  # another filter: not judged, may repeat ids
        {"doc_id": 1, "filter": "a"},  # line 4: doc 1 again (first at line 2)
        {"doc_id": 0, "filter": "a"},  # line 5: a later repeat
    ]
    path = tmp_path / "samples.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    with pytest.raises(InputError) as refused:
        _scan(path, {})
    assert refused.value.line == 4 and "doc_id 1 appears again (first at line 2)" in str(
        refused.value
    )
    path.write_text("".join(json.dumps(row) + "\n" for row in rows[:3]))
    scan = _scan(path, {"filter_list": [{"name": "b"}]})  # the task's own filter comes first
    assert [row["doc_id"] for _line, row in scan.rows()] == [1, 2]


def test_an_imported_suite_is_validated_in_bounded_batches(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The suite part of an import reads its JSON Lines split a batch at a time (it used to
    parse the whole file into Python values: 4.8 GB for a million-line samples file), with the
    per-case encoder's bytes and the importer's own digest."""
    from evaltui.contract import suite as suite_module
    from evaltui.contract.fingerprint import fingerprint_cases
    from evaltui.importers.pipeline import prepare

    bench = _bench()
    count = INLINE_LIMIT * 2 + 31
    bench.write_lm_eval_log(tmp_path / "lm", count)
    batches: list[int] = []
    real = suite_module._json_cases

    def counted(values: list[Any], places: Any) -> Any:
        batches.append(len(values))
        return real(values, places)

    def whole_file(*_args: Any) -> Any:
        raise AssertionError("a valid split went to the whole-file reader")

    monkeypatch.setattr(suite_module, "_json_cases", counted)
    monkeypatch.setattr(suite_module, "_jsonl_values", whole_file)
    monkeypatch.setattr(suite_module, "JSONL_BATCH_BYTES", 64 << 10)
    from evaltui.importers import lm_eval_fast

    monkeypatch.setattr(lm_eval_fast, "ENABLED", False)  # the spooled JSONL split, validated
    with prepare("lm-eval", tmp_path / "lm") as prepared:
        (suite,) = prepared.batch.suites
        (record,) = [r for r in prepared.records if r.kind == "suite"]
        (split_file,) = record.doc["splits"].values()
        prepared.write(tmp_path / "out")
        texts = suite.splits[0].cases.column("canonical").to_pylist()
    data = (tmp_path / "out" / split_file).read_bytes()
    cases = [json.loads(line) for line in data.decode().splitlines()]
    longest = max(len(line) for line in data.split(b"\n"))
    assert sum(batches) == count == len(cases) and len(batches) > 3
    assert max(batches) <= (64 << 10) // min(len(line) for line in data.split(b"\n") if line) + 1
    assert longest < 64 << 10  # so each batch is bounded by the setting, not by one line
    assert texts == [canonical_case(c) for c in cases]
    assert set(suite.fingerprints().values()) == {fingerprint_cases(cases)}


def test_the_reused_line_encoder_writes_what_json_dumps_writes() -> None:
    from evaltui.importers.common import jsonl_line

    values: list[Any] = [
        *_awkward_cases(40),
        {"n": 10**40, "f": [math.nan, math.inf, -math.inf, -0.0, 1e-300, 1e16, 0.1]},
        {"deep": [[[{"z": 1, "a": ["\x00\x1f\x7f", "\U0001f600", "\u2028", '"\\']}]]]},
        {},
        {"": None, "\u00e9": True, "a": False, "B": "x"},
    ]
    for value in values:
        assert jsonl_line(value) == json.dumps(value, ensure_ascii=False, sort_keys=True) + "\n"
    with pytest.raises(TypeError):
        jsonl_line({"x": object()})


def test_a_load_gives_back_its_worker_caches_and_keeps_the_thread_count(tmp_path: Path) -> None:
    """After the suites go in, the loader flushes DuckDB's worker caches (one thread, then the
    count it had); the results are read and the store left with the threads it was given."""
    from evaltui.importers.pipeline import prepare
    from evaltui.store.connection import Store
    from evaltui.store.loader import load_batch

    bench = _bench()
    lines = INLINE_LIMIT + 500
    folder = tmp_path / "lm"
    bench.write_lm_eval_log(folder, lines)
    with Store.open(tmp_path / "s.duckdb") as store:
        store.con.execute("SET threads = 3")
        with prepare("lm-eval", folder) as prepared:
            load_batch(store, prepared.batch)
        assert store.con.execute("SELECT current_setting('threads')").fetchone() == (3,)
        for table in ("cases", "results"):
            assert store.con.execute(f"SELECT count(*) FROM {table}").fetchone() == (lines,)


def test_a_failed_import_removes_the_rows_it_spilled(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A folder whose first log spills its samples and whose second is broken: the import fails
    with the broken log's message and the scratch folder of the first is gone."""
    from evaltui.importers import common
    from evaltui.importers.pipeline import read_source

    folder = tmp_path / "logs"
    folder.mkdir()
    _bench().write_inspect_log(folder / "a.eval", INLINE_LIMIT * 2)
    (folder / "b.eval").write_bytes(b"not a zip archive")
    made: list[Path] = []
    scratch = common.Imported.scratch

    def recorded(self: Imported) -> Path:
        folder = scratch(self)
        made.append(folder)
        return folder

    monkeypatch.setattr(common.Imported, "scratch", recorded)
    with pytest.raises(InputError, match=r"b\.eval"):
        read_source("inspect", folder)
    assert made, "the first log's samples were not spilled: the test proves nothing"
    assert not any(path.exists() for path in made)
