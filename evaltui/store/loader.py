"""Writing a validated batch into the store, in one transaction.

Per-case results are read by DuckDB straight from the Parquet/JSONL files (or from an Arrow table
for inline results), one INSERT per run, and then checked for every run of the batch at once with
one set-based query per suite, which also records each run's case sets (`case_sets.py`). Only if a check fails does evaltui walk the offending file row by
row, to name the exact line. Any failure rolls the whole load back.

Speed notes (see docs/performance.md): the result files of a load are read by as few statements
as possible (one per file format and schema), so DuckDB reads several files at once on every
thread; each row's run comes from its file name, and insertion order is kept, so each run's rows
stay contiguous (`run_id = ?` skips other runs' row groups by zone maps). Several threads leave
partly filled row groups behind, which DuckDB's checkpoint would merge by rewriting them, about
as costly as the insert itself; the load is checkpointed at once with that vacuuming off (unless
it replaced runs, whose deleted rows the vacuum reclaims).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Container, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from evaltui.contract.discover import Batch
from evaltui.contract.fingerprint import in_order
from evaltui.contract.model import CASE_COLUMNS, EncodedCases, Gates, Run, Suite
from evaltui.contract.results import RESULT_FIELDS, diagnose_jsonl, diagnose_rows
from evaltui.errors import InputError, InputErrors, first_line, raise_collected
from evaltui.plural import agree, count
from evaltui.progress import showing
from evaltui.store.case_sets import (
    ResultCheck,
    check_and_record,
    record_suite,
    record_suite_in_order,
)
from evaltui.store.connection import Store
from evaltui.store.schema import RUN_DETAIL_TABLES

# DuckDB's memory during a load. At its default (80% of RAM) one INSERT of hundreds of result
# files kept ~30 MB per million rows (3.2 GB for 100 million); with this limit DuckDB writes out
# what it holds instead and the whole process stays under 2 GB (docs/performance.md). A lower
# limit already set (a small machine) is kept.
LOAD_MEMORY_LIMIT_MB = 1536
# An import's load (`evaltui import`: a few runs, each one file) needs far less: its results are
# read on one thread, which at this limit held 240 MB for a million lm-eval results where 1536 MB
# let it hold 870 MB, a few percent slower (docs/performance.md, "Fifth pass"). Only for Parquet
# and inline results: JSON Lines results keep the load's limit (see `load_batch`).
IMPORT_MEMORY_LIMIT_MB = 256


@dataclass
class LoadSummary:
    suites_added: list[str] = field(default_factory=list)
    suites_unchanged: list[str] = field(default_factory=list)
    runs_added: list[str] = field(default_factory=list)
    runs_replaced: list[str] = field(default_factory=list)
    runs_unchanged: list[str] = field(default_factory=list)
    gates_added: list[str] = field(default_factory=list)
    gates_replaced: list[str] = field(default_factory=list)
    gates_unchanged: list[str] = field(default_factory=list)
    result_rows: int = 0
    skipped: list[Path] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "suites_added": self.suites_added,
            "suites_unchanged": self.suites_unchanged,
            "runs_added": self.runs_added,
            "runs_replaced": self.runs_replaced,
            "runs_unchanged": self.runs_unchanged,
            "gates_added": self.gates_added,
            "gates_replaced": self.gates_replaced,
            "gates_unchanged": self.gates_unchanged,
            "result_rows": self.result_rows,
            "skipped_files": [str(p) for p in self.skipped],
            "warnings": self.warnings,
        }


def load_batch(
    store: Store, batch: Batch, *, replace: bool = False, memory_mb: int = LOAD_MEMORY_LIMIT_MB
) -> LoadSummary:
    """Write `batch`; raise InputError(s) and leave the store untouched if anything is wrong.

    `memory_mb`: DuckDB's memory limit for the load (a lower limit already set is kept).
    """
    summary = LoadSummary(skipped=list(batch.skipped))
    if any(run.cases_file is not None and run.cases_file.format == "jsonl" for run in batch.runs):
        # DuckDB's JSON reader holds buffers of twice `maximum_object_size` (128 MiB) per thread:
        # under a low cap, JSON Lines files read side by side ran out of memory (an import of
        # two inspect logs at 256 MB), so a low cap is only for Parquet and inline results
        memory_mb = max(memory_mb, LOAD_MEMORY_LIMIT_MB)
    now = datetime.now(UTC).replace(tzinfo=None)
    vacuum = _setting(store.con, "max_vacuum_tasks")
    memory = _text_setting(store.con, "memory_limit")
    threads = _setting(store.con, "threads")
    _trim_heap()  # what reading the batch freed (an importer's DuckDB, say) is not held meanwhile
    try:
        store.con.execute("SET max_vacuum_tasks = 0")  # see the module docstring
        if _megabytes(memory) > memory_mb:
            store.con.execute(f"SET memory_limit = '{memory_mb}MB'")
        with store.transaction() as con:
            for suite in batch.suites:
                with showing(f"writing suite {suite.suite_id} ({suite.case_count:,} cases)"):
                    _load_suite(con, suite, now, summary)
            if batch.suites and batch.runs:  # (nothing to read after a suite-only load)
                _release_thread_caches(con)
            for gates in batch.gates:
                _load_gates(con, gates, now, replace, summary)
            added = [run for run in batch.runs if _load_run(con, run, now, replace, summary)]
            with showing(f"reading the case results of {_runs(added)}"):
                _insert_results(con, added)
            with showing(f"checking the case results of {_runs(added)}"):
                counts = _check_results(con, added, summary)
            # the case files were hashed meanwhile (see contract.run); now the ids are needed
            if added:
                con.executemany(
                    "UPDATE runs SET result_count = ?, content_sha = ? WHERE run_id = ?",
                    [[counts[run.run_id], run.content_sha, run.run_id] for run in added],
                )
                _record_results_digests(con, [run.run_id for run in added])
        if summary.runs_replaced:
            store.con.execute(f"SET max_vacuum_tasks = {vacuum}")
        with showing(f"writing {store.path.name}"):
            _checkpoint(store.con)
    except BaseException:
        batch.cancel()  # a refused load leaves no case file hashing behind it
        raise
    finally:
        store.con.execute(f"SET max_vacuum_tasks = {vacuum}")
        store.con.execute("SET memory_limit = ?", [memory])
        store.con.execute(f"SET threads = {threads}")
    return summary


def _runs(runs: list[Run]) -> str:
    return count(len(runs), "run")


def _text_setting(con: duckdb.DuckDBPyConnection, name: str) -> str:
    row = con.execute("SELECT current_setting(?)", [name]).fetchone()
    return str(row[0]) if row else ""


def _megabytes(size: str) -> float:
    """A DuckDB size setting such as '18.3 GiB' in MiB (unknown forms count as unlimited)."""
    units = {"bytes": 2**-20, "kib": 2**-10, "kb": 1e3 / 2**20, "mib": 1.0, "mb": 1e6 / 2**20,
             "gib": 2**10, "gb": 1e9 / 2**20, "tib": 2**20, "tb": 1e12 / 2**20}  # fmt: skip
    number, _, unit = size.strip().partition(" ")
    try:
        return float(number) * units[unit.strip().lower()]
    except (KeyError, ValueError):
        return float("inf")


def _setting(con: duckdb.DuckDBPyConnection, name: str) -> int:
    row = con.execute("SELECT current_setting(?)", [name]).fetchone()
    return int(row[0]) if row else 0


def _release_thread_caches(con: duckdb.DuckDBPyConnection) -> None:
    """Give back what DuckDB's worker threads keep cached from the statements so far.

    Each worker thread keeps freed memory in its own allocator cache; after the suites' cases are
    inserted that is a few hundred MB (about 280 MB for a 200,000-document lm-eval suite), still
    held while the results are read. Stopping the workers (one thread) flushes their caches;
    the thread count is then set back, so the results are read with the same parallelism.
    """
    threads = _setting(con, "threads")
    if threads > 1:
        con.execute("SET threads = 1")
        con.execute(f"SET threads = {threads}")
    _trim_heap()


@contextlib.contextmanager
def _one_thread(con: duckdb.DuckDBPyConnection, *, when: bool = True) -> Iterator[None]:
    """Run the block on one DuckDB thread (if `when`), then set the thread count back.

    Not after a failure: the load's transaction is aborted then and refuses every statement, SET
    included (it would hide the error); `load_batch` sets the count back when the load ends.
    """
    threads = _setting(con, "threads") if when else 1
    if threads > 1:
        con.execute("SET threads = 1")
    yield
    if threads > 1:
        con.execute(f"SET threads = {threads}")


def _trim_heap() -> None:
    """Hand the C heap's free pages back to the system (glibc's `malloc_trim`; elsewhere nothing).

    DuckDB allocates with the C library's malloc here, whose arenas keep what a statement freed:
    after a million cases were inserted, ~250 MB that the next statement would not reuse before
    growing again. Takes a few milliseconds.
    """
    import ctypes

    try:
        trim = ctypes.CDLL(None).malloc_trim  # the process's own C library
    except (OSError, AttributeError):  # not glibc (musl, macOS): nothing to hand back this way
        return
    trim(0)


def _checkpoint(con: duckdb.DuckDBPyConnection) -> None:
    """Write the load to the store file now, with the settings of the load."""
    with contextlib.suppress(duckdb.Error):  # another transaction open: the close will do it
        con.execute("CHECKPOINT")


# -- suites ---------------------------------------------------------------------------------------


def _load_suite(
    con: duckdb.DuckDBPyConnection, suite: Suite, now: datetime, summary: LoadSummary
) -> None:
    found = con.execute(
        "SELECT content_sha, cluster_field FROM suites WHERE suite_id = ?", [suite.suite_id]
    ).fetchall()
    row = found[0] if found else None
    if row is not None:
        if row[0] == suite.content_sha:
            if row[1] != suite.cluster_field:  # not in content_sha: checked on its own
                raise InputError(
                    suite.path,
                    f"suite_id {suite.suite_id!r} is already in the store with cluster_field "
                    f"{row[1]!r}, the manifest now names {suite.cluster_field!r}; suites are "
                    "frozen, so give the changed suite a new suite_id (or name the cluster "
                    "field in a gates file)",
                )
            summary.suites_unchanged.append(suite.suite_id)
            return
        raise InputError(
            suite.path,
            f"suite_id {suite.suite_id!r} is already in the store with different cases or "
            "declarations; suites are frozen, so give the changed suite a new suite_id",
        )
    columns = ", ".join(CASE_COLUMNS)
    for split in suite.splits:
        if isinstance(split.cases, EncodedCases):  # an importer's Parquet file of the columns
            # on one thread: two each buffered row groups of their own in insertion order (a
            # million cases: +500 MB, against +100 MB on one thread, which was no slower)
            with _one_thread(con):
                con.execute(
                    f"INSERT INTO cases SELECT ?, ?, {columns} FROM read_parquet(?)",
                    [suite.suite_id, split.name, str(split.cases.path)],
                )
            continue
        # the split's cases are an Arrow table already (validated and encoded in bulk)
        con.register("_evaltui_cases", split.cases.select(list(CASE_COLUMNS)))
        try:
            con.execute(
                f"INSERT INTO cases SELECT ?, ?, {columns} FROM _evaltui_cases",
                [suite.suite_id, split.name],
            )
        finally:
            con.unregister("_evaltui_cases")
    routes = _routes_if_in_id_order(suite)
    if routes is None:
        record_suite(con, suite.suite_id, suite.case_count)
    else:
        record_suite_in_order(con, suite.suite_id, routes)
    # the suite's own rows last: its fingerprints were hashed while the cases went in
    con.execute(
        "INSERT INTO suites VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            suite.suite_id,
            suite.description,
            suite.evaluation_sha,
            suite.content_sha,
            suite.case_count,
            json.dumps([m.to_json() for m in suite.metrics]),
            json.dumps([g.to_json() for g in suite.guardrails]),
            json.dumps(list(suite.comparison_fields)),
            str(suite.path),
            now,
            suite.cluster_field,
        ],
    )
    con.executemany(
        "INSERT INTO suite_splits VALUES (?, ?, ?, ?, ?, ?)",
        [
            [suite.suite_id, s.name, i, s.fingerprint, s.case_count, s.source]
            for i, s in enumerate(suite.splits)
        ],
    )
    summary.suites_added.append(suite.suite_id)
    lookalikes = _lookalike_case_ids(con, suite)
    if lookalikes:
        summary.warnings.append(lookalikes)


def _routes_if_in_id_order(suite: Suite) -> list[tuple[str, pa.ChunkedArray]] | None:
    """Each split's expected routes, if the suite's cases, split after split, are already in
    `case_id` order (a common layout: numbered ids, one split or splits of consecutive ranges)."""
    if any(isinstance(split.cases, EncodedCases) for split in suite.splits):
        return None  # on disk: the store numbers them
    ids = [split.case_table(["case_id"]).column(0) for split in suite.splits]
    if not in_order(pa.chunked_array([c for column in ids for c in column.chunks], pa.string())):
        return None
    return [(s.name, s.case_table(["expected_route"]).column(0)) for s in suite.splits]


# Case ids that are different strings but read the same: equal once NFC-normalized and stripped of
# invisible characters (format Cf: zero-width, bidi, soft hyphen...; separators Zl, Zp), as RE2
# classes. One query over the suite's cases; a warning, not an error (the ids are distinct).
_LOOKALIKE_KEY = "regexp_replace(nfc_normalize(case_id), '[\\p{Cf}\\p{Zl}\\p{Zp}]', '', 'g')"
LOOKALIKE_GROUPS_SHOWN = 3
LOOKALIKE_IDS_SHOWN = 3


def _lookalike_case_ids(con: duckdb.DuckDBPyConnection, suite: Suite) -> str | None:
    """One warning line naming the suite and its groups of lookalike case ids, or None."""
    # An ASCII id is its own key (NFC leaves ASCII alone; the removed classes have no ASCII
    # character), so every group holds a non-ASCII id: only those are normalized (a million
    # ASCII ids cost a scan instead of a million normalizations), and ASCII ids join the
    # groups whose key they equal.
    groups = con.execute(
        f"""WITH odd AS (
                SELECT case_id, {_LOOKALIKE_KEY} AS key FROM cases
                WHERE suite_id = $suite AND strlen(case_id) <> length(case_id)
            ), members AS (
                SELECT case_id, key FROM odd
                UNION ALL
                SELECT case_id, case_id AS key FROM cases
                WHERE suite_id = $suite AND strlen(case_id) = length(case_id)
                  AND case_id IN (SELECT key FROM odd)
            )
            SELECT list(DISTINCT case_id ORDER BY case_id), count(*) OVER ()
            FROM members
            GROUP BY key HAVING count(DISTINCT case_id) > 1
            ORDER BY min(case_id) LIMIT {LOOKALIKE_GROUPS_SHOWN}""",
        {"suite": suite.suite_id},
    ).fetchall()
    if not groups:
        return None
    total = groups[0][1]

    def shown(ids: list[str]) -> str:
        # JSON escapes make the difference visible (e\u0301 vs \u00e9, a\u200bb vs ab)
        names = " = ".join(json.dumps(i) for i in ids[:LOOKALIKE_IDS_SHOWN])
        more = len(ids) - LOOKALIKE_IDS_SHOWN
        return names + (f" (+{more} more)" if more > 0 else "")

    listed = "; ".join(shown(ids) for ids, _ in groups)
    rest = total - len(groups)
    return (
        f"{suite.path}: suite {suite.suite_id!r} has {count(total, 'group')} of "
        "case ids that look the same (equal after Unicode NFC normalization and without "
        f"zero-width/format characters): {listed}"
        + (f"; +{count(rest, 'more group')}" if rest else "")
    )


# -- gates ----------------------------------------------------------------------------------------


def _load_gates(
    con: duckdb.DuckDBPyConnection,
    gates: Gates,
    now: datetime,
    replace: bool,
    summary: LoadSummary,
) -> None:
    """Store a gates record for a suite already in the store (or loaded in the same call)."""
    found = con.execute(
        "SELECT metrics, splits FROM (SELECT s.metrics, "
        "(SELECT list(split) FROM suite_splits p WHERE p.suite_id = s.suite_id) AS splits "
        "FROM suites s WHERE s.suite_id = ?)",
        [gates.suite_id],
    ).fetchall()
    if not found:
        raise InputError(
            gates.path,
            f"suite {gates.suite_id!r} is not in the store; load its suite (or import its runs) "
            "first, or in the same call",
        )
    suite_metrics, splits = json.loads(found[0][0]), set(found[0][1] or ())
    _check_gates(gates, {m["name"] for m in suite_metrics}, splits)
    previous = con.execute(
        "SELECT content_sha FROM gates WHERE suite_id = ?", [gates.suite_id]
    ).fetchall()
    if previous and previous[0][0] == gates.content_sha:
        summary.gates_unchanged.append(gates.suite_id)
        return
    if previous and not replace:
        raise InputError(
            gates.path,
            f"suite {gates.suite_id!r} already has different gates in the store; "
            "pass --replace to replace them (reviews from now on use the new ones)",
        )
    con.execute("DELETE FROM gates WHERE suite_id = ?", [gates.suite_id])
    con.execute(
        "INSERT INTO gates VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [
            gates.suite_id,
            gates.content_sha,
            None if gates.metrics is None else json.dumps([m.to_json() for m in gates.metrics]),
            None
            if gates.guardrails is None
            else json.dumps([g.to_json() for g in gates.guardrails]),
            None if gates.comparison_fields is None else json.dumps(list(gates.comparison_fields)),
            gates.cluster_field,
            str(gates.path),
            now,
        ],
    )
    (summary.gates_replaced if previous else summary.gates_added).append(gates.suite_id)


def _check_gates(gates: Gates, suite_metrics: set[str], splits: set[str]) -> None:
    """Guardrails name declared metrics (the gates' or the suite's); metrics name real splits."""
    errors: list[InputError] = []
    declared = suite_metrics | {m.name for m in gates.metrics or ()}
    for index, guardrail in enumerate(gates.guardrails or ()):
        if guardrail.metric not in declared:
            errors.append(
                InputError(
                    gates.path,
                    f"guardrails[{index}]: metric {guardrail.metric!r} is declared neither in "
                    f"'metrics' nor by suite {gates.suite_id!r}",
                )
            )
    for metric in gates.metrics or ():
        unknown = set(metric.splits or ()) - splits
        if unknown:
            errors.append(
                InputError(
                    gates.path,
                    f"metric {metric.name!r} refers to {count(len(unknown), 'unknown split')} of suite "
                    f"{gates.suite_id!r}: {', '.join(sorted(unknown))}",
                )
            )
    raise_collected(errors)


# -- runs -----------------------------------------------------------------------------------------


def _load_run(
    con: duckdb.DuckDBPyConnection, run: Run, now: datetime, replace: bool, summary: LoadSummary
) -> bool:
    """Insert the run's record (its results follow, with the batch's); False if unchanged."""
    # fetchall, not fetchone: an unfinished result would block `register` on this connection
    found = con.execute("SELECT content_sha FROM runs WHERE run_id = ?", [run.run_id]).fetchall()
    row = found[0] if found else None
    if row is not None:
        if row[0] == run.content_sha:
            summary.runs_unchanged.append(run.run_id)
            return False
        if not replace:
            raise InputError(
                run.path,
                f"run_id {run.run_id!r} is already in the store with different content; "
                "pass --replace to replace it",
                run.line,
            )
        for table in (*RUN_DETAIL_TABLES, "runs"):
            con.execute(f"DELETE FROM {table} WHERE run_id = ?", [run.run_id])
        summary.runs_replaced.append(run.run_id)
    else:
        summary.runs_added.append(run.run_id)

    if not con.execute("SELECT 1 FROM suites WHERE suite_id = ?", [run.suite_id]).fetchall():
        raise InputError(
            run.path,
            f"suite {run.suite_id!r} is not in the store; load its suite manifest first "
            "(or in the same call)",
            run.line,
        )
    con.execute(
        """INSERT INTO runs (run_id, experiment, artifact, suite_id, started_at, content_sha,
                             source_path, result_count, loaded_at, incomplete)
           VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?, ?)""",
        [
            run.run_id,
            run.experiment,
            run.artifact,
            run.suite_id,
            run.started_at.replace(tzinfo=None),
            "",  # content_sha: set at the end of the load, when the case file's hash is done
            run.origin,
            now,
            run.incomplete,
        ],
    )
    _insert_pairs(con, "run_params", run.run_id, run.params)
    _insert_pairs(con, "run_metrics", run.run_id, run.metrics)
    _insert_pairs(con, "run_tags", run.run_id, run.tags)
    if run.artifacts:
        con.executemany(
            "INSERT INTO run_artifacts VALUES (?, ?, ?)",
            [[run.run_id, i, p] for i, p in enumerate(run.artifacts)],
        )
    return True


def _insert_pairs(con: duckdb.DuckDBPyConnection, table: str, run_id: str, values: Any) -> None:
    if values:
        con.executemany(
            f"INSERT INTO {table} VALUES (?, ?, ?)", [[run_id, k, v] for k, v in values.items()]
        )


_INSERT_HEAD = (
    "INSERT INTO results (run_id, case_id, route, score, latency_ms, tokens, output, metadata) "
)


@dataclass(frozen=True, slots=True)
class _Reader:
    """How a kind of result file is read: `select(run_id_sql)` is a SELECT of the result columns
    FROM read_...(?, filename = true); `diagnose` walks one file when DuckDB could not read it."""

    select: Callable[[str], str]
    diagnose: Callable[[Run, Container[str]], list[InputError]]


# the run a row belongs to, from the file it was read from (parameters: run ids, their files)
_RUN_OF_FILE = "list_extract(?::VARCHAR[], list_position(?::VARCHAR[], filename))"


def _insert_results(con: duckdb.DuckDBPyConnection, runs: list[Run]) -> None:
    """Insert the per-case rows of `runs` in bulk (`_check_results` checks them afterwards).

    Files that are read the same way (JSONL; Parquet files with the same columns) go in one
    statement; a file named by two runs is read once per run; inline results come from Arrow.
    """
    groups: dict[str, tuple[_Reader, list[Run]]] = {}
    again: list[tuple[_Reader, Run]] = []
    seen: set[Path] = set()
    for run in runs:
        if run.cases_file is None:
            _insert_inline(con, run)
            continue
        reader = _JSONL if run.cases_file.format == "jsonl" else _parquet_reader(con, run)
        if run.cases_file.path in seen:
            again.append((reader, run))
            continue
        seen.add(run.cases_file.path)
        groups.setdefault(reader.select("?"), (reader, []))[1].append(run)
    for reader, group in [*groups.values(), *((r, [run]) for r, run in again)]:
        paths = [str(r.cases_file.path) for r in group if r.cases_file is not None]
        # One file (an import's results): read on one thread. Two threads over one JSON Lines
        # file each hold their own JSON buffers; one thread took the whole 1,000,000-line lm-eval
        # import from 1.93 GB to 1.36-1.49 GB, no slower. Over one Parquet file two threads each
        # buffer row groups in insertion order: a million lm-eval results held 675 MB on one
        # thread against 870 MB on two (docs/performance.md).
        try:
            with _one_thread(con, when=len(paths) == 1):
                con.execute(
                    _INSERT_HEAD + reader.select(_RUN_OF_FILE),
                    [[r.run_id for r in group], paths, paths],
                )
        except duckdb.Error as exc:
            raise _unreadable(reader, group, exc) from None


def _unreadable(reader: _Reader, runs: list[Run], exc: duckdb.Error) -> InputError | InputErrors:
    """Which of the files DuckDB could not read, and where: each is read again on its own.

    The load's transaction is aborted by then, so the files are read in a private in-memory
    database; the first one that fails there is walked row by row (format problems only: the
    store cannot be asked for the suite's case ids any more).
    """
    probe = duckdb.connect()
    probe.execute("SET enable_progress_bar = false")  # see store.connection
    try:
        for run in runs:
            assert run.cases_file is not None
            try:
                probe.execute(
                    "CREATE OR REPLACE TEMP TABLE probe AS " + reader.select("NULL"),
                    [str(run.cases_file.path)],
                )
            except duckdb.Error as single:
                found = reader.diagnose(run, _Anything())
                return _diagnosed(
                    found,
                    run.cases_file.path,
                    run,
                    f"cannot read case results: {first_line(single)}",
                )
    finally:
        probe.close()
    first = runs[0]
    assert first.cases_file is not None
    return InputError(first.cases_file.path, f"cannot read case results: {first_line(exc)}")


def _check_results(
    con: duckdb.DuckDBPyConnection, runs: list[Run], summary: LoadSummary
) -> dict[str, int]:
    """Check the results of every inserted run; return their row counts or raise every problem.

    One pass per suite (`case_sets.check_and_record`) checks all its runs and, when they pass,
    records their case sets for reviews.
    """
    by_suite: dict[str, list[Run]] = {}
    for run in runs:
        by_suite.setdefault(run.suite_id, []).append(run)
    found: dict[str, ResultCheck] = {}
    for suite_id, suite_runs in by_suite.items():
        row = con.execute("SELECT case_count FROM suites WHERE suite_id = ?", [suite_id]).fetchone()
        case_count = int(row[0]) if row else 0
        found.update(check_and_record(con, suite_id, case_count, [r.run_id for r in suite_runs]))
    errors: list[InputError] = []
    suite_ids: dict[str, _SuiteIds] = {}
    counts: dict[str, int] = {}
    for run in runs:
        check = found.get(run.run_id, ResultCheck(0, 0, 0, 0))
        problems = _problems(run, check)
        if problems is None:
            counts[run.run_id] = check.rows
            summary.result_rows += check.rows
            continue
        where = run.path if run.cases_file is None else run.cases_file.path
        if check.rows == 0:
            errors.append(InputError(where, problems, run.line if where == run.path else None))
            continue
        ids = suite_ids.get(run.suite_id)
        if ids is None:
            ids = suite_ids[run.suite_id] = _SuiteIds(con, run.suite_id)
        error = _diagnosed(_diagnose(run, ids), where, run, problems)
        errors.extend(error.errors if isinstance(error, InputErrors) else [error])
    raise_collected(errors)
    return counts


def _record_results_digests(con: duckdb.DuckDBPyConnection, run_ids: list[str]) -> None:
    """A digest of each run's per-case results (case, route, score, output), in one pass.

    Order-free hash aggregates (no sort, bounded memory): two runs get the same digest when they
    hold the same results, which is what the copied-evidence check joins on.
    """
    con.execute(
        """UPDATE runs SET results_digest = d.digest
           FROM (SELECT run_id,
                        count(*)::VARCHAR || ':' || bit_xor(h)::VARCHAR || ':'
                            || sum(h::HUGEINT)::VARCHAR AS digest
                 FROM (SELECT run_id, hash(case_id, route, score, output) AS h FROM results
                       WHERE run_id IN (SELECT unnest(?::VARCHAR[])))
                 GROUP BY run_id) d
           WHERE runs.run_id = d.run_id""",
        [run_ids],
    )


def _problems(run: Run, check: ResultCheck) -> str | None:
    """What the check says is wrong with a run's results (None when nothing is)."""
    if check.rows == 0:
        return f"run {run.run_id!r} has no case results"
    if check.ok:
        return None
    bad, unknown, duplicates = check.bad, check.unknown, check.duplicates
    return ", ".join(
        text
        for n, text in (
            (bad, f"{count(bad, 'row')} without a string case_id and route"),
            (
                unknown,
                f"{count(unknown, 'result')} for "
                f"{agree(unknown, 'a case id', 'case ids')} not in suite {run.suite_id!r}",
            ),
            (duplicates, count(duplicates, "duplicate case id")),
        )
        if n
    )


def _diagnose(run: Run, ids: Container[str]) -> list[InputError]:
    if run.cases_file is None:
        return _diagnose_inline(run, ids)
    if run.cases_file.format == "jsonl":
        return _diagnose_jsonl(run, ids)
    return _diagnose_parquet(run, ids)


def _diagnosed(
    errors: list[InputError], where: Path, run: Run, fallback: str
) -> InputError | InputErrors:
    if not errors:
        return InputError(where, fallback, run.line if where == run.path else None)
    return errors[0] if len(errors) == 1 else InputErrors(errors)


def _insert_inline(con: duckdb.DuckDBPyConnection, run: Run) -> None:
    cases = run.cases_inline or ()
    table = pa.table(
        {
            "case_id": pa.array([c["case_id"] for c in cases], pa.string()),
            "route": pa.array([c["route"] for c in cases], pa.string()),
            "score": pa.array([c.get("score") for c in cases], pa.float64()),
            "latency_ms": pa.array([c.get("latency_ms") for c in cases], pa.float64()),
            "tokens": pa.array([c.get("tokens") for c in cases], pa.int64()),
            "output": pa.array([_text_or_none(c.get("output")) for c in cases], pa.string()),
            "metadata": pa.array(
                [None if c.get("metadata") is None else _compact(c["metadata"]) for c in cases],
                pa.string(),
            ),
        }
    )
    con.register("_evaltui_results", table)
    try:
        con.execute(
            _INSERT_HEAD + "SELECT ?, case_id, route, score, latency_ms, tokens, output, metadata "
            "FROM _evaltui_results",
            [run.run_id],
        )
    finally:
        con.unregister("_evaltui_results")


def _text_or_none(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return _compact(value)


def _compact(value: Any) -> str:
    """JSON text as DuckDB writes it, so inline and file-borne values read back the same."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


_JSONL_COLUMNS = (
    "{'case_id': 'JSON', 'route': 'JSON', 'score': 'DOUBLE', 'latency_ms': 'DOUBLE', "
    "'tokens': 'BIGINT', 'output': 'VARCHAR', 'metadata': 'JSON'}"
)


def _json_string(column: str) -> str:
    """SQL for a JSON-typed column's value when it is a JSON string, else NULL.

    DuckDB hands JSON values over re-serialised (no whitespace), so a JSON string is exactly a
    value that starts with a quote: one cheap test instead of `json_type` (a second parse).
    """
    return f"CASE WHEN starts_with({column}, '\"') THEN {column} ->> '$' END"


def _finite(name: str, value: str | None = None) -> str:
    """SQL for a DOUBLE value (column `name` by default) whose NaN or infinity stops the load:
    JSON has neither, and `cases --json` must never print a bare NaN. DuckDB reads NaN, Infinity
    and 1e999 in JSON text as such, and Parquet float columns may hold them."""
    value = value or name
    return (
        f"CASE WHEN {value} IS NULL OR isfinite({value}) THEN {value} "
        f"ELSE error('{name} must be a finite number') END"
    )


def _jsonl_select(run_id: str) -> str:
    # case_id and route are read as JSON so that a number or object is refused rather than
    # silently turned into text; wrong types become NULL and fail the check that follows.
    # maximum_object_size only sizes DuckDB's read buffers (DuckDB 2 reads longer lines anyway):
    # 64 MB measured best on a 10M-row load (256 MB: more kernel time; the default 16 MB: more
    # memory and CPU).
    return f"""
        SELECT {run_id}, {_json_string("case_id")}, {_json_string("route")},
               {_finite("score")}, {_finite("latency_ms")}, tokens, output,
               CASE WHEN metadata IS NULL OR starts_with(metadata, '{{') THEN metadata
                    ELSE error('metadata must be an object') END
        FROM read_json(?, format = 'newline_delimited', columns = {_JSONL_COLUMNS},
                       maximum_object_size = 67108864, filename = true)
        """


_NUMERIC = (
    "DOUBLE",
    "FLOAT",
    "REAL",
    "DECIMAL",
    "BIGINT",
    "INTEGER",
    "SMALLINT",
    "TINYINT",
    "HUGEINT",
    "UBIGINT",
    "UINTEGER",
    "USMALLINT",
    "UTINYINT",
)
_INTEGER = (
    "BIGINT",
    "INTEGER",
    "SMALLINT",
    "TINYINT",
    "UBIGINT",
    "UINTEGER",
    "USMALLINT",
    "UTINYINT",
)


def _parquet_reader(con: duckdb.DuckDBPyConnection, run: Run) -> _Reader:
    """How to read this Parquet file, from its columns; refuse columns of the wrong type."""
    assert run.cases_file is not None
    path = run.cases_file.path
    try:
        described = con.execute("DESCRIBE SELECT * FROM read_parquet(?)", [str(path)]).fetchall()
    except duckdb.Error as exc:
        found = _diagnose_parquet(run, _Anything())
        raise _diagnosed(found, path, run, f"cannot read case results: {first_line(exc)}") from None
    columns = {name: str(type_).upper() for name, type_, *_ in described}
    problems = [
        f"column {name!r} appears more than once"
        for name in _repeated_columns(path)
        if name in RESULT_FIELDS
    ]
    for name in ("case_id", "route"):
        if name not in columns:
            problems.append(f"missing required column {name!r}")
        elif columns[name] != "VARCHAR":
            problems.append(f"column {name!r} must hold strings, found {columns[name]}")
    for name in ("score", "latency_ms"):
        if name in columns and not columns[name].startswith(_NUMERIC):
            problems.append(f"column {name!r} must be numeric, found {columns[name]}")
    if "tokens" in columns and not columns["tokens"].startswith(_INTEGER):
        problems.append(f"column 'tokens' must be an integer column, found {columns['tokens']}")
    if problems:
        raise InputErrors([InputError(path, p) for p in problems])

    def column(name: str, sql_type: str) -> str:
        if name not in columns:
            return f"NULL::{sql_type}"
        if sql_type == "DOUBLE":
            return _finite(name, f"CAST({name} AS DOUBLE)")
        return f"CAST({name} AS {sql_type})"

    metadata = "NULL::JSON"
    if "metadata" in columns:
        kind = columns["metadata"]
        if kind.startswith(("STRUCT", "MAP")):
            metadata = "to_json(metadata)"
        elif kind in ("VARCHAR", "JSON"):
            metadata = (
                "CASE WHEN metadata IS NULL OR json_type(metadata::JSON) = 'OBJECT' THEN metadata::JSON "
                "ELSE error('metadata must hold JSON objects') END"
            )
        else:
            raise InputError(
                path, f"column 'metadata' must be a struct, map or JSON text, found {kind}"
            )
    output = "NULL::VARCHAR"
    if "output" in columns:
        output = "output" if columns["output"] == "VARCHAR" else "CAST(to_json(output) AS VARCHAR)"
    values = (
        f"case_id, route, {column('score', 'DOUBLE')}, {column('latency_ms', 'DOUBLE')}, "
        f"{column('tokens', 'BIGINT')}, {output}, {metadata}"
    )
    return _Reader(
        lambda run_id: f"SELECT {run_id}, {values} FROM read_parquet(?, filename = true)",
        _diagnose_parquet,
    )


def _repeated_columns(path: Path) -> list[str]:
    """Column names that appear twice in a Parquet file's schema (DuckDB would rename the second
    `route` to `route_1` and silently use the first)."""
    import pyarrow.parquet as pq

    try:
        names = pq.read_schema(path).names
    except Exception:  # corrupt: DuckDB's own read reports it
        return []
    counts: dict[str, int] = {}
    for name in names:
        counts[name] = counts.get(name, 0) + 1
    return [name for name, count in counts.items() if count > 1]


# -- diagnostics (only after a bulk check failed) ------------------------------------------------


class _SuiteIds:
    """Membership test against the suite's case ids, fetched once."""

    def __init__(self, con: duckdb.DuckDBPyConnection, suite_id: str) -> None:
        rows = con.execute("SELECT case_id FROM cases WHERE suite_id = ?", [suite_id]).fetchall()
        self.ids = {r[0] for r in rows}

    def __contains__(self, item: object) -> bool:
        return item in self.ids


class _Anything:
    """Stands in for the suite's case ids when they cannot be fetched."""

    def __contains__(self, item: object) -> bool:
        return True


def _diagnose_inline(run: Run, ids: Container[str]) -> list[InputError]:
    rows = enumerate(run.cases_inline or ())
    return diagnose_rows(rows, run.path, ids, run.suite_id, line=run.line, label="cases")


def _diagnose_jsonl(run: Run, ids: Container[str]) -> list[InputError]:
    assert run.cases_file is not None
    return diagnose_jsonl(run.cases_file.path, ids, run.suite_id)


_JSONL = _Reader(_jsonl_select, _diagnose_jsonl)


def _diagnose_parquet(run: Run, ids: Container[str]) -> list[InputError]:
    assert run.cases_file is not None
    import pyarrow.parquet as pq

    path = run.cases_file.path
    try:
        table = pq.read_table(path)
    except Exception as exc:  # corrupt file: pyarrow says why
        return [InputError(path, f"cannot read Parquet file: {first_line(exc)}")]
    rows = ((index, _parquet_row(row)) for index, row in enumerate(table.to_pylist(), start=1))
    return diagnose_rows(rows, path, ids, run.suite_id, label="row")


def _parquet_row(row: dict[str, Any]) -> dict[str, Any]:
    """A Parquet row as the JSON object it stands for (JSON text in a metadata column parsed)."""
    out = {k: v for k, v in row.items() if v is not None}
    if isinstance(out.get("metadata"), str):
        with contextlib.suppress(ValueError):
            out["metadata"] = json.loads(out["metadata"])
    for key in ("score", "latency_ms"):
        if key in out and not isinstance(out[key], bool | int | float):
            with contextlib.suppress(TypeError, ValueError):
                out[key] = float(out[key])  # e.g. a Decimal column
    return out
