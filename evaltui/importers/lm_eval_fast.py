"""The lm-eval samples file read by DuckDB: the importer's per-row rules as set-based SQL.

`lm_eval._task_run` asks `read_task` first. DuckDB reads the samples file (`read_json_objects`,
C speed, on every thread) three times: a scan that keeps a few small columns per row (the row's
keys, doc_id, filter and the candidate metrics' values), from which the filter classes, the kept
filter, the repeated-doc_id check and the judging metric are decided exactly as `lm_eval._scan`
and `_judging_metric` decide them; then one pass that writes every kept row's result (route,
score, output, metadata) to a Parquet file in the import's scratch folder; and one that builds
each case's canonical text. Nothing is held per row in Python: the cases come back as Arrow
batches (only rows SQL cannot encode byte for byte, e.g. a nested `doc` or a missing
`doc_hash`, are encoded by Python, the rest never become Python values), each written to a
Parquet file in the scratch folder as it comes; the suite's digest is DuckDB's sort over that
file, hashed a batch at a time. Neither the cases nor the results are ever all in memory
(`EncodedCases` is the file; the loader inserts from it).

What it produces is what the Python path (`lm_eval._scan` / `rows`) produces: the same case
texts (so the same fingerprints and suite id) and, once loaded, the same result rows (route,
score, output and the metadata text as the store keeps it: DuckDB's JSON text of an object whose
keys are sorted). Anything the SQL does not reproduce exactly sends the whole file back to the
Python path (`read_task` returns None), which also names every problem the way it always has:
a line that is not a JSON object or not valid JSON or UTF-8, a bad or repeated doc_id, a repeated
top-level key, NaN or Infinity anywhere, an integer of 20 digits or more, a \\uD800-\\uDFFF
escape, a filter that is not a string, an object nested in a result's target, response or metric
value, an output that would be `json.dumps` of the responses or a single log-likelihood, odd key
names. `tests/test_lm_eval_fast.py` imports logs both ways and compares the stores.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evaltui.contract.fingerprint import digest_texts, encode_case
from evaltui.contract.model import CASE_COLUMNS, EncodedCases
from evaltui.errors import EvaltuiError
from evaltui.importers.common import (
    INLINE_LIMIT,
    ROUTE_CORRECT,
    ROUTE_INCORRECT,
    ROUTE_PARTIAL,
    ROUTE_UNSCORED,
    SpilledRows,
)

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa

    from evaltui.importers.lm_eval import TaskSamples

# Smaller samples files are read by the Python path (its case lists stay inline below
# INLINE_LIMIT); tests set it to 0 to run both paths on small logs.
FAST_MIN_BYTES = 4 << 20
ENABLED = True  # tests switch it off for the Python path's oracle
# At most INLINE_LIMIT documents, the Python path keeps the results inline (their metadata text
# then keeps `_metadata`'s key order, not the sorted order of a spilled file): it reads them.
MIN_ROWS = INLINE_LIMIT + 1
# DuckDB's JSON read buffer: a longer line fails the read, and the Python path reads the file
_MAX_OBJECT = 16 << 20
_MEMORY_MB = 512  # DuckDB's memory for the import's reads (it spills beyond that)
_SORT_MEMORY_MB = 128  # the digest's sort (the import's read is over by then; `_digest_file`)
_SORT_MEMORY_MAX_MB = 8192
_ROW_GROUP = 16_384  # rows of the results file written at once (each ~1.5 KB for a long prompt)
_BATCH = 65_536  # cases read, encoded and written at once (a row group of the cases file)
_SAFE_KEY = re.compile(r"^[A-Za-z0-9_.-]+$")
# What the strict reader refuses or reads otherwise, found in the raw line: NaN/Infinity (read
# as null), integers too long for DuckDB's 64 bits, \uD800-\uDFFF escapes (lone surrogates).
_ODD_LINE = r"[\[:,]\s*-?(?:NaN|Infinity)|\\u[dD][89a-fA-F]"
# DuckDB's reader accepts a trailing comma (`[1,]`), Python's refuses it
_TRAILING_COMMA = r",\s*[\]}]"
_PLAIN_TEXT = r"^[ -~]*$"  # printable ASCII: DuckDB's JSON text is then Python's canonical text


@dataclass(frozen=True, slots=True)
class FastTask:
    """One task's documents as read by DuckDB."""

    metric: str | None
    filter_name: str
    first: dict[str, Any]
    cases: EncodedCases
    results: SpilledRows  # a Parquet file of the results
    unscored: int
    binary: bool


class _Fallback(Exception):
    """The Python path must read this file."""


@dataclass
class _Values:
    """`lm_eval._Scan`'s part that `_judging_metric` reads."""

    first: dict[str, Any]
    seen: dict[str, tuple[bool, bool]]

    def values(self, name: str) -> tuple[bool, bool]:
        return self.seen.get(name, (False, True))


def read_task(task_samples: TaskSamples, scratch: Callable[[], Path]) -> FastTask | None:
    """The task's documents read in bulk, or None when the Python path must read the file."""
    if not ENABLED:
        return None
    import duckdb

    try:
        if task_samples.path.stat().st_size < FAST_MIN_BYTES:
            return None
        with tempfile.TemporaryDirectory(prefix="lm-eval-", dir=scratch()) as spill:
            con = duckdb.connect()
            try:
                con.execute("SET enable_progress_bar = false")
                con.execute(f"SET memory_limit = '{_MEMORY_MB}MB'")
                con.execute("SET temp_directory = ?", [spill])
                return _read(con, task_samples, scratch)
            finally:
                con.close()
    except (_Fallback, duckdb.Error, EvaltuiError, OSError, ValueError, ArithmeticError):
        return None  # the per-row reader reads the file (and names what is wrong with it)


def _read(
    con: duckdb.DuckDBPyConnection, task_samples: TaskSamples, scratch: Callable[[], Path]
) -> FastTask:
    from evaltui.importers.lm_eval import SAMPLE_KEYS, _filters, _judging_metric

    samples, config, task_results = (
        task_samples.path,
        task_samples.config,
        task_samples.task_results,
    )

    source = _objects(samples)
    con.execute(_JSON_TYPE)
    con.execute(_LOGLIKELIHOOD_FIRST)
    con.execute(_LOGLIKELIHOOD)
    first_line = _first_row(samples, 1)
    # the first request's key (lm-eval's `gen_args_0`): when every row's requests start with it,
    # the prompt is read as a typed field
    arguments = first_line.get("arguments")
    first_argument = next(iter(arguments), None) if isinstance(arguments, dict) else None
    if first_argument is not None and not _SAFE_KEY.fullmatch(first_argument):
        first_argument = None
    candidates = [k for k in _candidates(config, task_results, first_line) if k not in SAMPLE_KEYS]
    if not all(_SAFE_KEY.fullmatch(k) for k in candidates):
        raise _Fallback
    paths = _sql_list(["$.doc_id", "$.filter", *(f'$."{k}"' for k in candidates)])
    # each JSON function once per row (a column used twice would be computed twice), the rest
    # derived from the stored columns
    con.execute(
        f"""CREATE TEMP TABLE raw AS
            SELECT n, nullif(array_to_string(kk[1], chr(1)), $first_keys) AS other_keys, v,
                   odd OR len(kk[2]) <> len(list_distinct(kk[2])) AS odd,
                   coalesce(kk[2][1] <> $first_argument, FALSE) AS other_argument
            FROM (SELECT ordinality AS n, json_keys(json, ['$', '$.arguments']) AS kk,
                         json_extract(json, {paths}) AS v,
                         CASE WHEN contains(json, 'NaN') OR contains(json, 'Infinity')
                                   OR contains(json, '\\u')
                              THEN regexp_matches(json, {_sql_text(_ODD_LINE)})
                              ELSE FALSE END
                         OR regexp_matches(json, {_sql_text(_TRAILING_COMMA)}) AS odd
                  FROM {source} WITH ORDINALITY)""",
        {
            "path": str(samples),
            "first_keys": "\x01".join(first_line),
            "first_argument": first_argument or "",
        },
    )
    con.execute(
        f"""CREATE TEMP VIEW scan AS
           SELECT n, coalesce(other_keys, {_sql_text(chr(1).join(first_line))}) AS keys, odd,
                  v[1] AS doc_id, v[2] AS filter, v[3:] AS vals, other_argument,
                  contains(chr(1) || keys || chr(1), chr(1) || 'filter' || chr(1)) AS has_filter
           FROM raw"""
    )
    bad = con.execute(
        """SELECT count(*) FILTER (doc_id IS NULL OR odd OR (has_filter AND filter = 'null')
                                  OR NOT (regexp_full_match(doc_id::VARCHAR, '-?[0-9]+')
                                          OR (jt(doc_id) = 'VARCHAR' AND doc_id->>'$' <> ''))
                                  OR (has_filter AND jt(filter) NOT IN ('VARCHAR', 'NULL'))),
                  count(*)
           FROM scan"""
    ).fetchall()[0]
    assert bad is not None
    if bad[0] or not bad[1]:
        raise _Fallback
    # the filter classes: rows without a 'filter' key, or one class per filter value
    classes = con.execute(
        """SELECT CASE WHEN has_filter THEN filter::VARCHAR END AS cls,
                  any_value(CASE WHEN jt(filter) = 'VARCHAR' THEN filter->>'$' END),
                  min(n) AS first
           FROM scan GROUP BY cls ORDER BY first"""
    ).fetchall()
    seen = {cls: value for cls, value, _first in classes if value}  # truthy filters
    kept_sql = "TRUE"
    if seen:
        declared = [f for f in _filters(config) if f in seen.values()]
        primary = declared[0] if declared else next(iter(seen.values()))
        primary_class = next(c for c, v in seen.items() if v == primary)
        kept_sql = f"(NOT has_filter OR filter::VARCHAR = {_sql_text(primary_class)})"
    counts = con.execute(
        f"""SELECT count(*), count(DISTINCT {_CASE_ID}), min(n), list(DISTINCT keys),
                   bool_or(other_argument)
            FROM scan WHERE {kept_sql}"""
    ).fetchall()[0]
    assert counts is not None
    rows, distinct, first_n, signatures, other_argument = counts
    if other_argument:
        first_argument = None
    if rows != distinct or rows < MIN_ROWS:
        raise _Fallback  # a repeated doc_id (the Python path names it), or a few documents
    keys_of = [keys.split("\x01") for keys in signatures]
    if any(len(set(keys)) != len(keys) for keys in keys_of):
        raise _Fallback  # a key twice in a row: the Python path names it
    extra = sorted({k for keys in keys_of for k in keys if k and k not in SAMPLE_KEYS})
    if not all(_SAFE_KEY.fullmatch(k) for k in extra):
        raise _Fallback
    varying = len(signatures) != 1  # rows of other keys: a key's presence is looked up per row
    first = first_line if first_n == 1 else _first_row(samples, first_n)
    values = _candidate_values(con, candidates, kept_sql)
    scan = _Values(first, values)
    metric = _judging_metric(scan, config, task_results)  # type: ignore[arg-type]
    names = set(_candidates(config, task_results, first)) & set(extra)
    if not names <= set(candidates) or (metric is not None and metric not in candidates):
        raise _Fallback
    filter_name = first.get("filter") or _filters(config)[0]

    # the second and third reads take typed columns (no null filter: NULL means no filter key)
    scan_kept = kept_sql
    kept_sql = kept_sql.replace("NOT has_filter", "filter IS NULL")
    # the results and the cases are read side by side, each on one thread of its own
    from concurrent.futures import ThreadPoolExecutor

    con.execute("SET threads = 1")
    with ThreadPoolExecutor(max_workers=1) as pool:
        cursor = con.cursor()
        try:
            pending = pool.submit(_cases, cursor, task_samples, kept_sql, scratch)
            results = _write_results(
                con,
                samples,
                kept_sql,
                metric,
                extra,
                varying,
                "\x01".join(first_line),
                first_argument,
                scratch,
            )
            cases_file = pending.result()
        finally:
            if not pending.done():  # the results failed: stop the cases' read too
                cursor.interrupt()
            cursor.close()
    unscored, binary = rows, False
    if metric is not None:
        value = f"vals[{candidates.index(metric) + 1}]"
        summary = con.execute(
            f"""SELECT count(*) FILTER ({value} IS NULL OR {value} = 'null'),
                       bool_and(coalesce({value} IN ('true', 'false')
                                OR (jt({value}) = 'NUMBER' AND {value}::DOUBLE IN (0, 1)), FALSE))
                FROM scan WHERE {scan_kept}"""
        ).fetchall()[0]
        unscored, binary = int(summary[0]), bool(summary[1])
    count = cases_file[1]
    if count != len(results):
        raise _Fallback  # pragma: no cover
    # the digest's sort last, with the scan's table gone, on two threads (its own memory limit:
    # `_digest_file`): 0.8 s at a million cases where one thread took 1.1 s
    con.execute("DROP TABLE raw")
    con.execute("SET threads = 2")
    cases = EncodedCases(cases_file[0], count, _digest_file(con, cases_file[0]))
    return FastTask(metric, filter_name, first, cases, results, unscored, binary)


def _objects(samples: Path) -> str:
    return (
        "read_json_objects($path, format = 'newline_delimited', "
        f"maximum_object_size = {_MAX_OBJECT})"
    )


def _first_row(samples: Path, number: int) -> dict[str, Any]:
    """The `number`th row (1-based, blank lines not counted), read by the lenient decoder."""
    from evaltui.importers.common import stream_jsonl

    for index, (_line, row) in enumerate(stream_jsonl(samples, strict=False), start=1):
        if index == number:
            if not isinstance(row, dict):
                raise _Fallback
            return row
    raise _Fallback


def _candidates(
    config: dict[str, Any], task_results: dict[str, Any], first: dict[str, Any]
) -> list[str]:
    """`_judging_metric`'s candidate names, in its order."""
    from evaltui.importers.common import as_list
    from evaltui.importers.lm_eval import SAMPLE_KEYS

    found: list[str] = []
    for item in as_list(config.get("metric_list")):
        if isinstance(item, dict) and isinstance(item.get("metric"), str):
            found.append(item["metric"])
    if isinstance(first.get("metrics"), list):
        found += [m for m in first["metrics"] if isinstance(m, str)]
    found += [k.split(",")[0] for k in task_results if "," in k and "_stderr" not in k]
    found += [k for k in first if k not in SAMPLE_KEYS]
    return list(dict.fromkeys(found))


def _candidate_values(
    con: duckdb.DuckDBPyConnection, candidates: list[str], kept_sql: str
) -> dict[str, tuple[bool, bool]]:
    """Per candidate: (a kept row has a non-null value, every non-null value lies in [0, 1])."""
    if not candidates:
        return {}
    parts = []
    for index in range(1, len(candidates) + 1):
        value = f"vals[{index}]"
        parts.append(
            f"bool_or(coalesce(jt({value}) <> 'NULL', false)), "
            f"bool_and({value} IS NULL OR jt({value}) IN ('NULL', 'BOOLEAN') OR "
            f"(jt({value}) = 'NUMBER' "
            f"AND {value}::DOUBLE BETWEEN 0 AND 1))"
        )
    row = con.execute(f"SELECT {', '.join(parts)} FROM scan WHERE {kept_sql}").fetchall()[0]
    assert row is not None
    return {name: (bool(row[2 * i]), bool(row[2 * i + 1])) for i, name in enumerate(candidates)}


_CASE_ID = "CASE WHEN jt(doc_id) = 'VARCHAR' THEN doc_id->>'$' ELSE doc_id::VARCHAR END"
# (CASE, not OR: DuckDB evaluates both sides of an OR for every row)
_NO_OBJECT = (
    "CASE WHEN NOT contains(coalesce({0}::VARCHAR, ''), '{{') THEN TRUE "
    "ELSE NOT contains(json_structure({0})::VARCHAR, '{{') END"
)


def _columns(samples: Path, keys: list[str], typed: dict[str, str] | None = None) -> str:
    """The samples file read once more, the given top-level keys as JSON columns (a key a row
    lacks, or holds null, is NULL; `typed`: other types for some), numbered like
    `read_json_objects`' rows."""
    kinds = {k: (typed or {}).get(k, "JSON") for k in keys}
    columns = "{" + ", ".join(f"{_sql_text(k)}: {_sql_text(t)}" for k, t in kinds.items()) + "}"
    return (
        f"read_json($path, format = 'newline_delimited', columns = {columns}, "
        f"maximum_object_size = {_MAX_OBJECT}) WITH ORDINALITY"
    )


def _write_results(
    con: duckdb.DuckDBPyConnection,
    samples: Path,
    kept_sql: str,
    metric: str | None,
    extra: list[str],
    varying: bool,
    first_keys: str,
    first_argument: str | None,
    scratch: Callable[[], Path],
) -> SpilledRows:
    """Every kept row's result, in file order, as a Parquet file (case_id, route, score, output,
    metadata): `lm_eval._task_run`'s rules, `_metadata` and `_output` in SQL."""
    keys = ["doc_id", "filter", "filtered_resps", "target", "resps", "prompt_hash", "target_hash"]
    keys += ["arguments", *extra]
    at = {k: f'"{k}"' for k in keys}
    value = at[metric] if metric is not None else "NULL"
    score = (
        f"CASE jt({value}) WHEN 'BOOLEAN' THEN CASE WHEN {value}::BOOLEAN THEN 1.0 "
        f"ELSE 0.0 END ELSE {value}::DOUBLE END"
    )

    def has(key: str) -> str:  # the row has the key (its value may be null)
        if not varying:
            return "TRUE"
        return (
            f"contains(chr(1) || coalesce(raw.other_keys, {_sql_text(first_keys)}) || chr(1), "
            f"{_sql_text(chr(1) + key + chr(1))})"
        )

    metrics = "NULL"
    if extra:
        members = ", ".join(
            f"CASE WHEN {has(k)} THEN {_sql_text(json.dumps(k) + ':')} "
            f"|| coalesce({at[k]}::VARCHAR, 'null') END"
            for k in extra
        )
        metrics = f"'{{' || concat_ws(',', {members}) || '}}'"

    def member(key: str, sql: str) -> str:  # NULL (left out by concat) when `sql` is
        return f"',\"{key}\":' || {sql}"

    metadata = (
        "concat('{\"doc_id\":', doc_id::VARCHAR, "
        + ", ".join(
            [
                member("filter", "filter::VARCHAR"),
                member("metrics", metrics),
                member("prompt", "prompt"),
                member("prompt_hash", "prompt_hash::VARCHAR"),
                member("resps", "resps::VARCHAR"),
                member("target", "target::VARCHAR"),
                member("target_hash", "target_hash::VARCHAR"),
            ]
        )
        + ", '}')"
    )
    checks = " AND ".join(
        [_NO_OBJECT.format(at[k]) for k in ("target", "resps", "filter", *extra)] or ["TRUE"]
    )
    if varying:  # and the two reads numbered the rows alike
        checks += " AND raw.v[1]::VARCHAR = doc_id::VARCHAR"
    ok = f"coalesce({_OUTPUT_OK} AND {checks}, FALSE)"
    join = "JOIN raw USING (n)" if varying else ""
    if first_argument is None:
        source = f"""
            (SELECT *, {_PROMPT} AS prompt
             FROM (SELECT *, jt(arguments) AS args_type,
                          CASE jt(arguments)
                              WHEN 'OBJECT' THEN json_extract(arguments, '$.*')[1]
                              WHEN 'ARRAY' THEN json_extract(arguments, '$[0]') END AS first_arg
                   FROM (SELECT ordinality AS n, * FROM {_columns(samples, keys)})))"""
    else:  # every row's first request is `first_argument`: its arg_0 read as a typed field
        typed = {"arguments": f'STRUCT("{first_argument}" STRUCT(arg_0 JSON))'}
        prompt = f'arguments."{first_argument}".arg_0'
        source = f"""
            (SELECT *, CASE WHEN jt({prompt}) = 'VARCHAR' THEN {prompt}::VARCHAR END AS prompt
             FROM (SELECT ordinality AS n, * FROM {_columns(samples, keys, typed)}))"""
    rows = f"""
        SELECT {_CASE_ID} AS case_id, {score} AS score, {_OUTPUT} AS output, {ok} AS ok,
               {metadata} AS metadata
        FROM (SELECT *, filtered_resps AS fr FROM {source})
        {join}
        WHERE {kept_sql}
    """
    handle, name = tempfile.mkstemp(suffix=".parquet", dir=scratch())
    os.close(handle)
    route = (
        f"CASE WHEN score IS NULL THEN '{ROUTE_UNSCORED}' WHEN score = 1.0 THEN '{ROUTE_CORRECT}' "
        f"WHEN score = 0.0 THEN '{ROUTE_INCORRECT}' ELSE '{ROUTE_PARTIAL}' END"
    )
    # a row the SQL cannot reproduce stops the statement: the Python path reads the file. On one
    # thread (`_read`): two each hold their own JSON buffers and Parquet row groups of these long
    # rows (twice the memory), for a few percent of time
    copied = con.execute(
        f"""COPY (SELECT CASE WHEN ok THEN case_id ELSE error('{_FALLBACK}') END AS case_id,
                         {route} AS route, score, output, metadata
                  FROM ({rows}))
            TO {_sql_text(name)}
            (FORMAT parquet, COMPRESSION snappy, ROW_GROUP_SIZE {_ROW_GROUP})""",
        {"path": str(samples)},
    )
    count = copied.fetchall()[0]  # COPY answers with the rows it wrote
    path = Path(name)
    with path.open("rb") as written:
        digest = hashlib.file_digest(written, "sha256").hexdigest()
    return SpilledRows(path, int(count[0]) if count else 0, digest, "parquet")


# `lm_eval._loglikelihood` for numbers: an item [log-likelihood, is_greedy] or a bare number
_LOGLIKELIHOOD = """CREATE OR REPLACE MACRO _ll(x) AS CASE
    WHEN jt(x) = 'NUMBER' THEN x::DOUBLE
    WHEN jt(x) = 'ARRAY' THEN _ll_first(json_extract(x, '$[0]'))
    END"""
# an item's first element: a number, or a number written as a plain decimal string (lm-eval's
# own writer), which Python's float() and DuckDB read to the same double; other strings: NULL
_LOGLIKELIHOOD_FIRST = """CREATE OR REPLACE MACRO _ll_first(y) AS CASE
    WHEN jt(y) = 'NUMBER' THEN y::DOUBLE
    WHEN jt(y) = 'VARCHAR'
         AND regexp_full_match(y->>'$', '-?[0-9]+(\\.[0-9]+)?([eE][-+]?[0-9]+)?')
        THEN (y->>'$')::DOUBLE
    END"""
# `json_type` without parsing: DuckDB's JSON text is minimal, so its first character tells
_JSON_TYPE = """CREATE OR REPLACE MACRO jt(x) AS CASE left(x::VARCHAR, 1)
    WHEN '"' THEN 'VARCHAR' WHEN '{' THEN 'OBJECT' WHEN '[' THEN 'ARRAY' WHEN 'n' THEN 'NULL'
    WHEN 't' THEN 'BOOLEAN' WHEN 'f' THEN 'BOOLEAN' WHEN '-' THEN 'NUMBER'
    WHEN '0' THEN 'NUMBER' WHEN '1' THEN 'NUMBER' WHEN '2' THEN 'NUMBER' WHEN '3' THEN 'NUMBER'
    WHEN '4' THEN 'NUMBER' WHEN '5' THEN 'NUMBER' WHEN '6' THEN 'NUMBER' WHEN '7' THEN 'NUMBER'
    WHEN '8' THEN 'NUMBER' WHEN '9' THEN 'NUMBER' END"""
# `lm_eval._prompt`: the first request's context (`first_arg`: the first value of arguments)
_PROMPT = """CASE
    WHEN args_type = 'OBJECT' AND jt(first_arg) = 'OBJECT'
         AND jt(json_extract(first_arg, '$.arg_0')) = 'VARCHAR'
        THEN json_extract(first_arg, '$.arg_0')::VARCHAR
    WHEN args_type = 'ARRAY' AND jt(first_arg) = 'ARRAY'
         AND jt(json_extract(first_arg, '$[0]')) = 'VARCHAR'
        THEN json_extract(first_arg, '$[0]')::VARCHAR
    END"""
_FALLBACK = "lm-eval fast path: a row for the Python path"
# `lm_eval._output`: the filtered response, or "choice N" for the best log-likelihood (the
# first of equal ones); the cases `_OUTPUT_OK` leaves to the Python path are NULL here.
_OUTPUT = """CASE
    WHEN jt(fr) = 'VARCHAR' THEN fr->>'$'
    WHEN jt(fr) = 'ARRAY' AND json_array_length(fr) = 1
         AND jt(json_extract(fr, '$[0]')) = 'VARCHAR' THEN fr->>'$[0]'
    WHEN jt(fr) = 'ARRAY' AND json_array_length(fr) > 1
        THEN 'choice ' || (list_position(
            list_transform(json_extract(fr, '$[*]'), lambda x: _ll(x)),
            list_max(list_transform(json_extract(fr, '$[*]'), lambda x: _ll(x)))) - 1)::VARCHAR
    END"""
_OUTPUT_OK = """CASE
    WHEN fr IS NULL OR jt(fr) IN ('VARCHAR', 'NULL') THEN TRUE
    WHEN jt(fr) <> 'ARRAY' THEN FALSE
    WHEN json_array_length(fr) = 0 THEN TRUE
    WHEN json_array_length(fr) = 1 THEN jt(json_extract(fr, '$[0]')) = 'VARCHAR'
    ELSE list_bool_and(list_transform(json_extract(fr, '$[*]'), lambda x: _ll(x) IS NOT NULL))
    END"""


def _cases(
    con: duckdb.DuckDBPyConnection,
    task_samples: TaskSamples,
    kept_sql: str,
    scratch: Callable[[], Path],
) -> tuple[Path, int]:
    """The kept rows' cases as `lm_eval._case` builds them, encoded (`fingerprint.encode_case`):
    in SQL when DuckDB's JSON text is the canonical text (a flat document of printable ASCII
    strings, integers, booleans and arrays of them), else in Python for that row; written to a
    Parquet file in the scratch folder as they come (`CASE_COLUMNS`, in file order). The file
    and its row count."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    samples, config = task_samples.path, task_samples.config
    task, split = task_samples.task, task_samples.split
    dataset = config.get("dataset_path")
    source_text: str | None = None
    if isinstance(dataset, str) and dataset:
        name = config.get("dataset_name")
        source_text = (
            f"{dataset}/{name}:{split}" if isinstance(name, str) and name else f"{dataset}:{split}"
        )
    tail = ',"expected_route":"CORRECT"'
    if source_text is not None:
        tail += ',"source":' + json.dumps(source_text)
    tail += ',"task":' + json.dumps(task) + "}"
    sorted_doc = (
        "'{' || array_to_string(list_transform(list_sort(list_zip(json_keys(doc), "
        "json_extract(doc, '$.*'))), lambda p: to_json(p[1]) || ':' || p[2]), ',') || '}'"
    )
    plain = f"""(doc IS NULL OR (jt(doc) = 'OBJECT'
                 AND len(json_keys(doc)) = len(list_distinct(json_keys(doc)))
                 AND NOT regexp_matches(json_structure(doc)::VARCHAR, '.\\{{|DOUBLE|JSON|NULL')
                 AND regexp_matches(doc::VARCHAR, '{_PLAIN_TEXT}')
                 AND NOT contains(doc::VARCHAR, '\\u')))
               AND jt(doc_hash) = 'VARCHAR' AND doc_hash->>'$' <> ''
               AND regexp_matches(doc_hash::VARCHAR || case_id, '{_PLAIN_TEXT}')
               AND NOT contains(doc_hash::VARCHAR || to_json(case_id)::VARCHAR, '\\u')"""
    canonical = (
        "'{\"case_id\":' || to_json(case_id)::VARCHAR"
        f" || CASE WHEN doc IS NULL THEN '' ELSE ',\"doc\":' || {sorted_doc} END"
        " || ',\"doc_hash\":' || doc_hash::VARCHAR || ',\"doc_id\":' || doc_id::VARCHAR"
        f" || {_sql_text(tail)}"
    )
    query = f"""
        SELECT case_id, CASE WHEN plain THEN {canonical} END AS canonical,
               CASE WHEN NOT plain THEN doc::VARCHAR END AS doc_text,
               CASE WHEN NOT plain THEN doc_hash::VARCHAR END AS hash_text,
               CASE WHEN NOT plain THEN doc_id::VARCHAR END AS id_text
        FROM (SELECT doc, doc_hash, doc_id, case_id, coalesce({plain}, FALSE) AS plain
              FROM (SELECT *, {_CASE_ID} AS case_id
                    FROM {_columns(samples, ["doc_id", "doc", "doc_hash", "filter"])})
              WHERE {kept_sql})"""
    reader = con.sql(query, params={"path": str(samples)}).to_arrow_reader(_BATCH)
    schema = pa.schema([(column, pa.string()) for column in CASE_COLUMNS])
    route = pa.scalar(ROUTE_CORRECT, pa.string())
    source = pa.scalar(source_text, pa.string())
    handle, name = tempfile.mkstemp(suffix=".parquet", dir=scratch())
    os.close(handle)
    count = 0
    # each batch goes to the file as it comes (a row group each): the cases are never all held
    with pq.ParquetWriter(name, schema, compression="snappy") as writer:
        for batch in reader:
            rows = batch.num_rows
            columns = {
                "case_id": batch.column(0),
                "expected_route": pa.repeat(route, rows),
                "slice_name": pa.nulls(rows, pa.string()),
                "evidence_state": pa.nulls(rows, pa.string()),
                "source": pa.repeat(source, rows),
                "canonical": _encode_odd(batch, task, config, split),
            }
            writer.write_batch(pa.record_batch(columns, schema=schema))
            count += rows
    return Path(name), count


def _digest_file(con: duckdb.DuckDBPyConnection, path: Path) -> str:
    """`fingerprint.digest_table` of a cases file: the texts in `case_id` order, sorted by
    DuckDB within a memory limit (beyond it the sort spills to the scratch folder) and hashed a
    batch at a time. DuckDB compares strings by their UTF-8 bytes, which is code point order, as
    Python sorts them (`case_order`); the case ids are unique (`_read`).

    The limit starts at `_SORT_MEMORY_MB` (a million 420-byte texts sort in it, as do three
    million); long texts need more (DuckDB then runs out of memory rather than spill further:
    100,000 texts of 1.5 KB did at 128 MB), so it is raised fourfold until the sort fits.
    """
    import duckdb

    memory = _SORT_MEMORY_MB
    while True:
        con.execute(f"SET memory_limit = '{memory}MB'")
        try:
            reader = con.sql(
                "SELECT canonical FROM read_parquet($path) ORDER BY case_id",
                params={"path": str(path)},
            ).to_arrow_reader(_BATCH)
            return digest_texts(batch.column(0) for batch in reader)
        except duckdb.OutOfMemoryException:
            if memory >= _SORT_MEMORY_MAX_MB:
                raise
            memory *= 4


def _encode_odd(batch: pa.RecordBatch, task: str, config: dict[str, Any], split: str) -> pa.Array:
    """The batch's canonical texts, the rows SQL left NULL encoded by `lm_eval._case`."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from evaltui.contract.jsonio import parse_json_text
    from evaltui.importers.lm_eval import _case

    texts = batch.column(1)
    if texts.null_count == 0:
        return texts
    mask = pc.is_null(texts)
    odd = batch.filter(mask)  # those rows' raw fields, taken once
    encoded = []
    for doc_text, hash_text, id_text in zip(
        odd.column(2).to_pylist(), odd.column(3).to_pylist(), odd.column(4).to_pylist(), strict=True
    ):
        row_doc = {
            "doc_id": json.loads(id_text),
            "doc_hash": None if hash_text is None else json.loads(hash_text),
        }
        if doc_text is not None:
            row_doc["doc"] = parse_json_text(doc_text, "doc", strict=False)
        encoded.append(encode_case(_case(task, row_doc, config, split)))
    return pc.replace_with_mask(texts, mask, pa.array(encoded, pa.string()))


def _sql_text(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _sql_list(items: list[str]) -> str:
    return "[" + ", ".join(_sql_text(item) for item in items) + "]"
