"""Verdict ledgers read in bulk into the scratch database, and the queries the review joins.

Every reviewer's ledger (`decision/ledger.py`, docs/formats.md) is read by one DuckDB statement
(`read_blob` over all the files): split into lines, each line's JSON parsed, its hash recomputed
(`sha256` of the line with its `"hash":"<hex>",` member cut out: the canonical body), and the
chain checked with a window (`lag(hash)` must be the line's `prev`, `seq` must be its line
number, `reviewer` the file's). The first bad line of a file is a problem (`file:line: reason`)
and neither it nor anything after it is used.

The events go into `evaltui_scratch.verdict_events` (the in-memory scratch database attached
beside the store, writable when the store is read-only and shared by every cursor; see
`scratch.py`), with `stale` set where the event's suite fingerprint (the suite's
`evaluation_sha`) is not the store's. `verdict_current` keeps each reviewer's latest judgment
(confirm, waive or relabel; notes never supersede) per (run, baseline, case). A recorded verdict
is added to both tables directly (`add_event`), without reading the ledgers again.

Whether a verdict counts (not stale, not an expired waive) depends on the day, so it is decided
in the queries, with `today` as a parameter: `counting_sql`. `judged_cases_sql` is the one
definition of a judged case of a pair, used by the progress count and the case pager's
"unjudged failures only" stepping (`queries_case_pages.py`).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import duckdb
import pyarrow as pa

from evaltui.store.scratch import SCRATCH, scratch_schema

EVENTS = "verdict_events"
CURRENT = "verdict_current"
# The ledger format's constants (decision/ledger.py writes it, this module reads it back).
GENESIS = "0" * 64  # the `prev` of a ledger's first line
KINDS = ("confirm", "waive", "relabel", "note")
LINE_LIMIT = 65_536  # bytes: an event is a few hundred (a reason is at most 2,000 characters)
TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"  # UTC, strftime/strptime (Python and DuckDB alike)
FIELDS = (  # every line has exactly these, in this (canonical) order
    "baseline",
    "case_id",
    "expected",
    "expires",
    "hash",
    "kind",
    "prev",
    "reason",
    "reviewer",
    "run",
    "seq",
    "suite_id",
    "suite_sha",
    "time",
    "v",
)
EVENT_COLUMNS = (
    "reviewer",
    "seq",
    "time",
    "run",
    "baseline",
    "case_id",
    "suite_id",
    "suite_sha",
    "kind",
    "reason",
    "expected",
    "expires",
    "prev",
    "hash",
    "stale",
)
_EVENT_DDL = """(reviewer VARCHAR, seq BIGINT, time TIMESTAMP, run VARCHAR, baseline VARCHAR,
    case_id VARCHAR, suite_id VARCHAR, suite_sha VARCHAR, kind VARCHAR, reason VARCHAR,
    expected VARCHAR, expires DATE, prev VARCHAR, hash VARCHAR, stale BOOLEAN)"""

_generation = itertools.count(1)
generation = 0  # bumped whenever the verdict tables change: caches of judged rows key on it


def _bump() -> None:
    _publish(next(_generation))


def _publish(value: int) -> None:
    """Make `value` the current generation: after the rows it describes are written, so a
    reader that sees it also sees them."""
    global generation
    generation = value


def table(con: duckdb.DuckDBPyConnection, name: str) -> str:
    """A verdict table's full name (the scratch database is attached by `ensure_tables`)."""
    del con
    return f"{SCRATCH}.{name}"


HEADS = "verdict_heads"
FILES = "verdict_files"
SOURCE = "verdict_source"  # (target, uri) of a team store's cache; empty: the ledger files
CHANGES = "verdict_changes"  # (generation, run, baseline, case_id): cases judged since a load
_FILES_DDL = "(path VARCHAR, size BIGINT, mtime_ns BIGINT, inode BIGINT)"


def ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    """The scratch database attached and the verdict tables in it, empty if no ledger was loaded
    yet (so every query can run). Every function here that reads them calls this first; once
    they exist (for every cursor of the store's connection) it costs one empty query."""
    try:
        con.execute(f"SELECT 1 FROM {SCRATCH}.{CHANGES} LIMIT 0")
        return
    except duckdb.Error:  # not attached yet, or no verdict table yet
        pass
    scratch_schema(con)
    con.execute(
        f"""CREATE TABLE IF NOT EXISTS {SCRATCH}.{EVENTS} {_EVENT_DDL};
            CREATE TABLE IF NOT EXISTS {SCRATCH}.{CURRENT} {_EVENT_DDL};
            CREATE TABLE IF NOT EXISTS {SCRATCH}.{HEADS}
                (reviewer VARCHAR, seq BIGINT, hash VARCHAR);
            CREATE TABLE IF NOT EXISTS {SCRATCH}.{FILES} {_FILES_DDL};
            CREATE TABLE IF NOT EXISTS {SCRATCH}.{SOURCE} (target VARCHAR, uri VARCHAR);
            CREATE TABLE IF NOT EXISTS {SCRATCH}.{CHANGES}
                (generation BIGINT, run VARCHAR, baseline VARCHAR, case_id VARCHAR)"""
    )


def set_team_source(con: duckdb.DuckDBPyConnection, target: str, uri: str) -> None:
    """Mark the connection (a team store's local cache) as reading and writing its verdicts in
    the team store `target` names (a URI or a [stores.NAME] name; `uri` is shown)."""
    ensure_tables(con)
    con.execute(f"DELETE FROM {SCRATCH}.{SOURCE}")
    con.execute(f"INSERT INTO {SCRATCH}.{SOURCE} VALUES (?, ?)", [target, uri])


def team_source(con: duckdb.DuckDBPyConnection) -> tuple[str, str] | None:
    """(target, URI) of the team store whose verdicts this connection uses; None: the ledgers."""
    ensure_tables(con)
    row = con.execute(f"SELECT target, uri FROM {SCRATCH}.{SOURCE}").fetchone()
    return None if row is None else (str(row[0]), str(row[1]))


@dataclass(frozen=True, slots=True)
class LineProblem:
    path: str
    line: int
    message: str


_STRUCT_SQL = (
    "STRUCT(baseline VARCHAR, case_id VARCHAR, expected VARCHAR, expires VARCHAR, "
    "hash VARCHAR, kind VARCHAR, prev VARCHAR, reason VARCHAR, reviewer VARCHAR, run VARCHAR, "
    "seq BIGINT, suite_id VARCHAR, suite_sha VARCHAR, time VARCHAR, v BIGINT)"
)
# One parse per line: the event's fields as a struct (`e`), once its keys are the ledger's.
_STRUCT = (
    '{"baseline":"VARCHAR","case_id":"VARCHAR","expected":"VARCHAR","expires":"VARCHAR",'
    '"hash":"VARCHAR","kind":"VARCHAR","prev":"VARCHAR","reason":"VARCHAR",'
    '"reviewer":"VARCHAR","run":"VARCHAR","seq":"BIGINT","suite_id":"VARCHAR",'
    '"suite_sha":"VARCHAR","time":"VARCHAR","v":"BIGINT"}'
)

# Each check, in order; the first that fails names the line's problem. `prev_hash` is the
# previous line's hash (lag over the file's lines).
_CHECKS = f"""CASE
    WHEN text = '' THEN 'empty line'
    WHEN NOT ended THEN 'the last line has no newline (an interrupted write?)'
    WHEN octet_length(encode(text)) > {LINE_LIMIT}
        THEN 'the line is ' || format('{{:,}}', octet_length(encode(text)))
             || ' bytes long; a ledger line is at most {LINE_LIMIT:,} (damaged, or not a ledger)'
    WHEN NOT valid THEN 'not valid JSON (the line was damaged or edited)'
    WHEN e IS NULL OR e.hash IS NULL OR e.seq IS NULL OR e.reviewer IS NULL
        THEN 'not a canonical ledger event (a JSON object with the fields '
             || '{", ".join(FIELDS)}, sorted)'
    WHEN e.v IS DISTINCT FROM 1 THEN 'unknown ledger format version'
    WHEN NOT regexp_full_match(coalesce(e.hash, ''), '[0-9a-f]{{64}}')
        THEN 'hash must be 64 lowercase hex digits'
    WHEN sha256(replace(text, '"hash":"' || e.hash || '",', '')) <> e.hash
        THEN 'the hash does not match the line (a byte was changed: damaged or edited)'
    WHEN e.reviewer IS DISTINCT FROM file_reviewer
        THEN 'reviewer ' || coalesce(e.reviewer, 'null') || ' in the ledger of '
             || file_reviewer || ' (each reviewer appends to their own file only)'
    WHEN e.seq IS DISTINCT FROM line
        THEN 'seq ' || coalesce(e.seq::VARCHAR, 'null') || ' on line ' || line
             || ' (a line was dropped, added or moved)'
    WHEN e.prev IS DISTINCT FROM coalesce(prev_hash, '{GENESIS}')
        THEN 'prev is not the previous line''s hash (a line was dropped, added or moved)'
    WHEN e.kind IS NULL OR e.kind NOT IN {tuple(KINDS)!r}
        THEN 'unknown kind ' || coalesce(e.kind, 'null')
    WHEN NOT regexp_full_match(coalesce(e.time, ''),
            '\\d{{4}}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{{6}}Z')
        OR try_strptime(e.time, '{TIME_FORMAT}') IS NULL
        THEN 'time must be UTC like 2026-01-31T12:00:00.000000Z'
    WHEN e.expires IS NOT NULL AND (try_cast(e.expires AS DATE) IS NULL
            OR NOT regexp_full_match(e.expires, '\\d{{4}}-\\d{{2}}-\\d{{2}}'))
        THEN 'expires must be a date like 2026-01-31 or null'
    WHEN e.expires IS NOT NULL AND e.kind <> 'waive' THEN 'only a waive has an expiry'
    WHEN e.kind = 'relabel' AND coalesce(e.expected, '') = ''
        THEN 'a relabel without the expected route'
    WHEN e.kind <> 'relabel' AND e.expected IS NOT NULL
        THEN 'only a relabel has an expected route'
    WHEN e.kind IN ('waive', 'relabel') AND trim(coalesce(e.reason, '')) = ''
        THEN 'a ' || e.kind || ' without a reason'
    WHEN e.reason IS NULL OR e.run IS NULL OR e.baseline IS NULL OR e.case_id IS NULL
        OR e.suite_id IS NULL OR e.suite_sha IS NULL
        THEN 'run, baseline, case_id, suite_id, suite_sha and reason must be strings'
    END"""


def load_ledgers(
    con: duckdb.DuckDBPyConnection, files: Sequence[tuple[str, str]]
) -> list[LineProblem]:
    """Read every ledger (path, the reviewer its name says) into the verdict tables, replacing
    what they held; return each file's first problem (a file that is not UTF-8 reports
    line 0 here, and the caller finds the line)."""
    ensure_tables(con)
    lines = table(con, "verdict_lines")
    paths = [p for p, _ in files]
    reviewers = [r for _, r in files]
    try:
        if not files:
            con.execute(
                f"CREATE OR REPLACE TABLE {lines} (filename VARCHAR, line BIGINT, "
                f"problem VARCHAR, e {_STRUCT_SQL})"
            )
        else:
            con.execute(
                f"""CREATE OR REPLACE TABLE {lines} AS
                WITH names AS (
                    SELECT unnest(?::VARCHAR[]) AS filename, unnest(?::VARCHAR[]) AS file_reviewer
                ), files AS (
                    SELECT filename, file_reviewer, try(decode(content)) AS content
                    FROM read_blob(?::VARCHAR[]) JOIN names USING (filename)
                ), split AS (
                    SELECT filename, file_reviewer, string_split(content, chr(10)) AS parts,
                           suffix(content, chr(10)) AS finished
                    FROM files WHERE content IS NOT NULL
                ), numbered AS (
                    SELECT filename, file_reviewer, finished, len(parts) AS n,
                           generate_subscripts(parts, 1) AS line, unnest(parts) AS text
                    FROM split
                ), {_CHECKED_LINES}
                UNION ALL
                SELECT filename, 0, 'not UTF-8 text', NULL FROM files WHERE content IS NULL""",
                [paths, reviewers, paths],
            )
        return _events_from_lines(con, lines)
    finally:
        con.execute(f"DROP TABLE IF EXISTS {lines}")
        _reloaded(con)


def load_team_events(
    con: duckdb.DuckDBPyConnection, events: pa.Table, where: str
) -> list[LineProblem]:
    """Read a team store's verdict events (columns id, reviewer, text: each event's canonical
    line, as `TeamStore.event_texts` gives them) into the verdict tables, replacing what they
    held, with the checks a ledger's lines get: each reviewer's events, by id, are their chain.
    A problem's path is `<where> verdicts of <reviewer>` and its line the event's place in that
    chain."""
    ensure_tables(con)
    lines = table(con, "verdict_lines")
    con.register("team_verdict_events", events)
    try:
        con.execute(
            f"""CREATE OR REPLACE TABLE {lines} AS
            WITH numbered AS (
                SELECT ? || ' verdicts of ' || coalesce(reviewer, 'null') AS filename,
                       reviewer AS file_reviewer, TRUE AS finished, 0 AS n,
                       row_number() OVER (PARTITION BY reviewer ORDER BY id) AS line,
                       coalesce(text, '') AS text
                FROM team_verdict_events
            ), {_CHECKED_LINES}""",
            [where],
        )
        return _events_from_lines(con, lines)
    finally:
        con.unregister("team_verdict_events")
        con.execute(f"DROP TABLE IF EXISTS {lines}")
        _reloaded(con)


# From `numbered` (filename, file_reviewer, finished, n, line, text): each line parsed, chained
# to the line before it and checked; ends in the SELECT of (filename, line, problem, e).
_CHECKED_LINES = f"""parsed AS (
                    SELECT filename, file_reviewer, line, text, finished OR line < n AS ended,
                           strlen(text) <= {LINE_LIMIT} AND json_valid(text) AS valid
                    FROM numbered WHERE NOT (line = n AND text = '')
                ), typed AS (
                    SELECT *, CASE WHEN valid AND starts_with(text, '{{"baseline":')
                                   THEN json_transform(text, '{_STRUCT}') END AS e
                    FROM parsed
                ), chained AS (
                    SELECT *, lag(e.hash) OVER (PARTITION BY filename ORDER BY line) AS prev_hash
                    FROM typed
                )
                SELECT filename, line, {_CHECKS} AS problem, e FROM chained"""


def _events_from_lines(con: duckdb.DuckDBPyConnection, lines: str) -> list[LineProblem]:
    """The checked lines into the verdict tables: events up to each source's first problem."""
    events, current = table(con, EVENTS), table(con, CURRENT)
    problems = [
        LineProblem(path, int(line), message)
        for path, line, message in con.execute(
            f"""SELECT filename, min(line), arg_min(problem, line) FROM {lines}
                WHERE problem IS NOT NULL GROUP BY filename ORDER BY filename"""
        ).fetchall()
    ]
    con.execute(
        f"""CREATE OR REPLACE TABLE {events} AS
        WITH bad AS (
            SELECT filename, min(line) AS first FROM {lines}
            WHERE problem IS NOT NULL GROUP BY filename
        ), good AS (
            SELECT l.e FROM {lines} l LEFT JOIN bad USING (filename)
            WHERE l.problem IS NULL AND (bad.first IS NULL OR l.line < bad.first)
        ), typed AS (
            SELECT e.reviewer, e.seq, strptime(e.time, '{TIME_FORMAT}') AS time,
                   e.run, e.baseline, e.case_id, e.suite_id, e.suite_sha, e.kind, e.reason,
                   e.expected, e.expires::DATE AS expires, e.prev, e.hash
            FROM good
        )
        SELECT t.*, s.evaluation_sha IS DISTINCT FROM t.suite_sha AS stale
        FROM typed t LEFT JOIN suites s USING (suite_id)
        ORDER BY reviewer, seq"""
    )
    con.execute(
        f"""CREATE OR REPLACE TABLE {current} AS
        SELECT * FROM {events} WHERE kind <> 'note'
        QUALIFY row_number() OVER (
            PARTITION BY reviewer, run, baseline, case_id ORDER BY seq DESC) = 1"""
    )
    con.execute(
        f"""CREATE OR REPLACE TABLE {table(con, HEADS)} AS
            SELECT reviewer, max(seq) AS seq, arg_max(hash, seq) AS hash FROM {events}
            GROUP BY reviewer"""
    )
    return problems


def _reloaded(con: duckdb.DuckDBPyConnection) -> None:
    """A reload: every cached set of judged rows is read again (run NULL marks it)."""
    reload = next(_generation)
    con.execute(
        f"""CREATE OR REPLACE TABLE {table(con, CHANGES)} AS
            SELECT ?::BIGINT AS generation, NULL::VARCHAR AS run,
                   NULL::VARCHAR AS baseline, NULL::VARCHAR AS case_id""",
        [reload],
    )
    _publish(reload)


def add_event(con: duckdb.DuckDBPyConnection, row: Sequence[Any]) -> None:
    """A just-appended event (values in EVENT_COLUMNS order, `stale` last) into both tables:
    a judgment replaces the reviewer's current one on that case (and is logged as a change, so
    a pager's set of unjudged rows drops that case instead of being read again)."""
    ensure_tables(con)
    events, current = table(con, EVENTS), table(con, CURRENT)
    marks = ", ".join("?" * len(EVENT_COLUMNS))
    reviewer, seq, run, baseline, case_id, hash_ = row[0], row[1], row[3], row[4], row[5], row[13]
    con.execute(f"INSERT INTO {events} VALUES ({marks})", row)
    con.execute(f"DELETE FROM {table(con, HEADS)} WHERE reviewer = ?", [reviewer])
    con.execute(f"INSERT INTO {table(con, HEADS)} VALUES (?, ?, ?)", [reviewer, seq, hash_])
    change = next(_generation)
    if row[EVENT_COLUMNS.index("kind")] != "note":
        con.execute(
            f"DELETE FROM {current} WHERE reviewer = ? AND run = ? AND baseline = ? "
            "AND case_id = ?",
            [reviewer, run, baseline, case_id],
        )
        con.execute(f"INSERT INTO {current} VALUES ({marks})", row)
        con.execute(
            f"INSERT INTO {table(con, CHANGES)} VALUES (?, ?, ?, ?)",
            [change, run, baseline, case_id],
        )
    _publish(change)


def remember_files(
    con: duckdb.DuckDBPyConnection, states: Sequence[tuple[str, int, int, int]], *, replace: bool
) -> None:
    """What each ledger file was (path, size, mtime in ns, inode) when it was last read or
    appended to here: a file that is no longer so changed behind this connection's back."""
    ensure_tables(con)
    name = table(con, FILES)
    if replace:
        con.execute(f"DELETE FROM {name}")
    for state in states:
        con.execute(f"DELETE FROM {name} WHERE path = ?", [state[0]])
        con.execute(f"INSERT INTO {name} VALUES (?, ?, ?, ?)", list(state))


def remembered_file(con: duckdb.DuckDBPyConnection, path: str) -> tuple[int, int, int] | None:
    ensure_tables(con)
    row = con.execute(
        f"SELECT size, mtime_ns, inode FROM {table(con, FILES)} WHERE path = ?", [path]
    ).fetchone()
    return None if row is None else (int(row[0]), int(row[1]), int(row[2]))


def heads(con: duckdb.DuckDBPyConnection) -> dict[str, tuple[int, str]]:
    """Each reviewer's last used line: reviewer -> (seq, hash)."""
    ensure_tables(con)
    rows = con.execute(
        f"SELECT reviewer, seq, hash FROM {table(con, HEADS)} ORDER BY reviewer"
    ).fetchall()
    return {r: (int(seq), h) for r, seq, h in rows}


def head_of(con: duckdb.DuckDBPyConnection, reviewer: str) -> tuple[int, str] | None:
    ensure_tables(con)
    row = con.execute(
        f"SELECT seq, hash FROM {table(con, HEADS)} WHERE reviewer = ?", [reviewer]
    ).fetchone()
    return None if row is None else (int(row[0]), str(row[1]))


def judged_since(
    con: duckdb.DuckDBPyConnection, since: int, run: str, baseline: str
) -> list[str] | None:
    """The pair's cases judged by verdicts recorded after generation `since`; None when the
    ledgers were read again since then (everything may have changed)."""
    ensure_tables(con)
    rows = con.execute(
        f"""SELECT run, case_id FROM {table(con, CHANGES)}
            WHERE generation > ? AND (run IS NULL OR (run = ? AND baseline = ?))""",
        [since, run, baseline],
    ).fetchall()
    if any(r is None for r, _ in rows):
        return None
    return [c for _, c in rows]


def counting_sql(alias: str = "") -> str:
    """SQL true when a current verdict counts: not stale, not an expired waive; one `?` (today)."""
    p = f"{alias}." if alias else ""
    return (
        f"(NOT {p}stale AND NOT ({p}kind = 'waive' AND {p}expires IS NOT NULL "
        f"AND {p}expires < ?::DATE))"
    )


def judged_cases_sql(
    con: duckdb.DuckDBPyConnection, run: str, baseline: str, today: date
) -> tuple[str, list[Any]]:
    """SELECT case_id of the pair's judged cases: some reviewer's current judgment counts.

    The one definition of "judged" (notes never judge); the pager's unjudged stepping and the
    progress count both use it.
    """
    ensure_tables(con)
    sql = (
        f"SELECT DISTINCT case_id FROM {table(con, CURRENT)} "
        f"WHERE run = ? AND baseline = ? AND {counting_sql()}"
    )
    return sql, [run, baseline, today]


def pair_judged_counts(
    con: duckdb.DuckDBPyConnection,
    pair_sql: str,
    pair_params: list[Any],
    judged: tuple[str, list[Any]],
) -> tuple[int, int]:
    """(judged failures, failures) over rows of `pair_sql` (a pair table or `pair_query`)."""
    sql, params = judged
    row = con.execute(
        f"""SELECT count(*) FILTER (WHERE NOT correct AND case_id IN ({sql})),
                   count(*) FILTER (WHERE NOT correct)
            FROM ({pair_sql})""",
        params + pair_params,
    ).fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


def current_verdicts(
    con: duckdb.DuckDBPyConnection,
    run: str,
    baseline: str,
    case_ids: Sequence[str] | None,
    today: date,
) -> list[tuple[Any, ...]]:
    """Per case, the verdict shown and used: the latest counting current judgment across
    reviewers, else the latest current one (flagged stale or expired). Columns: EVENT_COLUMNS,
    then `expired`, `counts`, `reviewers` (how many reviewers have a current judgment)."""
    ensure_tables(con)
    where = "" if case_ids is None else "AND case_id IN (SELECT unnest(?::VARCHAR[]))"
    params: list[Any] = [today, today, run, baseline]
    if case_ids is not None:
        params.append(list(case_ids))
    columns = ", ".join(EVENT_COLUMNS)
    return con.execute(
        f"""SELECT {columns}, expired, counts, count(*) OVER (PARTITION BY case_id)
            FROM (SELECT *, kind = 'waive' AND expires IS NOT NULL AND expires < ?::DATE
                            AS expired,
                         {counting_sql()} AS counts
                  FROM {table(con, CURRENT)} WHERE run = ? AND baseline = ? {where})
            QUALIFY row_number() OVER (
                PARTITION BY case_id ORDER BY counts DESC, time DESC, reviewer) = 1
            ORDER BY case_id""",
        params,
    ).fetchall()


def case_events(
    con: duckdb.DuckDBPyConnection, run: str, baseline: str, case_id: str, today: date
) -> list[tuple[Any, ...]]:
    """Every event on one case of a pair, oldest first: EVENT_COLUMNS, `superseded`, `expired`."""
    ensure_tables(con)
    events, current = table(con, EVENTS), table(con, CURRENT)
    columns = ", ".join(f"e.{c}" for c in EVENT_COLUMNS)
    return con.execute(
        f"""SELECT {columns},
                   e.kind <> 'note' AND c.hash IS DISTINCT FROM e.hash AS superseded,
                   e.kind = 'waive' AND e.expires IS NOT NULL AND e.expires < ?::DATE AS expired
            FROM {events} e
            LEFT JOIN {current} c ON c.reviewer = e.reviewer AND c.run = e.run
                 AND c.baseline = e.baseline AND c.case_id = e.case_id
            WHERE e.run = ? AND e.baseline = ? AND e.case_id = ?
            ORDER BY e.time, e.reviewer, e.seq""",
        [today, run, baseline, case_id],
    ).fetchall()


def list_events(
    con: duckdb.DuckDBPyConnection, run: str | None, baseline: str | None, today: date
) -> list[tuple[Any, ...]]:
    """Every reviewer's current judgments and all notes (of a run, of a pair), by run, baseline,
    case and time: EVENT_COLUMNS, `expired`, `counts`, `superseded`."""
    ensure_tables(con)
    events, current = table(con, EVENTS), table(con, CURRENT)
    conditions: list[str] = ["TRUE"]
    params: list[Any] = [today, today]
    if run is not None:
        conditions.append("e.run = ?")
        params.append(run)
    if baseline is not None:
        conditions.append("e.baseline = ?")
        params.append(baseline)
    columns = ", ".join(f"e.{c}" for c in EVENT_COLUMNS)
    return con.execute(
        f"""SELECT {columns},
                   e.kind = 'waive' AND e.expires IS NOT NULL AND e.expires < ?::DATE AS expired,
                   e.kind <> 'note' AND {counting_sql("e")} AND c.hash = e.hash AS counts,
                   e.kind <> 'note' AND c.hash IS DISTINCT FROM e.hash AS superseded
            FROM {events} e
            LEFT JOIN {current} c ON c.reviewer = e.reviewer AND c.run = e.run
                 AND c.baseline = e.baseline AND c.case_id = e.case_id
            WHERE {" AND ".join(conditions)}
            ORDER BY e.run, e.baseline, e.case_id, e.time, e.reviewer, e.seq""",
        params,
    ).fetchall()


def suite_sha(con: duckdb.DuckDBPyConnection, suite_id: str) -> str | None:
    row = con.execute("SELECT evaluation_sha FROM suites WHERE suite_id = ?", [suite_id]).fetchone()
    return None if row is None else str(row[0])


def case_in_suite(con: duckdb.DuckDBPyConnection, suite_id: str, case_id: str) -> str | None:
    """The case's expected route, None when the suite has no such case."""
    row = con.execute(
        "SELECT expected_route FROM cases WHERE suite_id = ? AND case_id = ?", [suite_id, case_id]
    ).fetchone()
    return None if row is None else str(row[0])


def known_routes(
    con: duckdb.DuckDBPyConnection, suite_id: str, run_ids: Sequence[str]
) -> list[str]:
    """Every route the suite's cases expect or the named runs produced, sorted."""
    rows = con.execute(
        """SELECT expected_route FROM cases WHERE suite_id = ?
           UNION SELECT route FROM results
           WHERE run_id IN (SELECT unnest(?::VARCHAR[])) AND route IS NOT NULL
           ORDER BY 1""",
        [suite_id, list(run_ids)],
    ).fetchall()
    return [str(r[0]) for r in rows]


def route_known(
    con: duckdb.DuckDBPyConnection, suite_id: str, run_ids: Sequence[str], route: str
) -> bool:
    """Does a case of the suite expect `route`, or did one of the runs produce it? (Stops at the
    first row found: a relabel is checked while the reviewer waits.)"""
    row = con.execute(
        """SELECT EXISTS (SELECT 1 FROM cases WHERE suite_id = ? AND expected_route = ?)
               OR EXISTS (SELECT 1 FROM results
                          WHERE run_id IN (SELECT unnest(?::VARCHAR[])) AND route = ?)""",
        [suite_id, route, list(run_ids), route],
    ).fetchone()
    return bool(row and row[0])


def pair_case_routes(
    con: duckdb.DuckDBPyConnection, suite_id: str, run: str, baseline: str, case_ids: Sequence[str]
) -> list[tuple[str, str, str, str | None, str | None]]:
    """(case_id, split, expected route, the run's route, the baseline's route) of the named
    cases of the suite (a route is None where that run has no result), by case id."""
    return [
        (str(c), str(s), str(e), r, b)
        for c, s, e, r, b in con.execute(
            """SELECT c.case_id, c.split, c.expected_route, r.route, b.route
               FROM cases c
               LEFT JOIN results r ON r.run_id = ? AND r.case_id = c.case_id
               LEFT JOIN results b ON b.run_id = ? AND b.case_id = c.case_id
               WHERE c.suite_id = ? AND c.case_id IN (SELECT unnest(?::VARCHAR[]))
               ORDER BY c.case_id""",
            [run, baseline, suite_id, list(case_ids)],
        ).fetchall()
    ]


def events_present(con: duckdb.DuckDBPyConnection, hashes: Sequence[str]) -> set[str]:
    """Which of the event hashes the loaded ledgers hold."""
    ensure_tables(con)
    rows = con.execute(
        f"SELECT DISTINCT hash FROM {table(con, EVENTS)} "
        "WHERE hash IN (SELECT unnest(?::VARCHAR[]))",
        [list(hashes)],
    ).fetchall()
    return {str(r[0]) for r in rows}


def head_present(con: duckdb.DuckDBPyConnection, reviewer: str, seq: int, hash_: str) -> bool:
    ensure_tables(con)
    row = con.execute(
        f"SELECT count(*) FROM {table(con, EVENTS)} WHERE reviewer = ? AND seq = ? AND hash = ?",
        [reviewer, seq, hash_],
    ).fetchone()
    return bool(row and row[0])


def run_suites(con: duckdb.DuckDBPyConnection, run_ids: Sequence[str]) -> dict[str, str]:
    """run id -> suite id of the named runs that are in the store (one small query)."""
    rows = con.execute(
        "SELECT run_id, suite_id FROM runs WHERE run_id IN (SELECT unnest(?::VARCHAR[]))",
        [list(run_ids)],
    ).fetchall()
    return {str(r): str(s) for r, s in rows}
