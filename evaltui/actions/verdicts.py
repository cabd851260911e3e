"""Verdicts on a pair's cases: record one, load every reviewer's ledger, count and list them.

The one application layer for `evaltui verdict`, `evaltui verdicts` and the app's verdict form
and columns. Verdicts are written to the reviewer's ledger file (`decision/ledger.py`), never to
the store, so the app records them while it holds the store open read-only; every function reads
them from the connection's verdict tables (`store/queries_verdicts.py`), which `load_verdicts`
fills from all the ledgers at once and `record_verdict` extends by the one line it appended.

On a team store's cache (`actions.team.open_team` marks its connection) the verdicts are the
team's instead: `record_verdict` appends the same canonical event, chained per reviewer, to the
team's `evaltui_events` log (kind `verdict`), and `load_verdicts` reads every reviewer's events
from there in one query, checked as ledger lines are. No ledger file is written for a team store
(see docs/team.md, "Verdicts").

Rules (docs/formats.md, "Verdict ledgers"):

- each reviewer's latest judgment (confirm, waive or relabel) on a case of a pair is their
  current verdict; earlier ones stay as history (superseded). A note is history only: it never
  supersedes a judgment and never makes a case judged;
- a verdict whose suite fingerprint is not the store's suite's is stale, and a waive past its
  expiry date (the waiver holds through that day, UTC) is expired: neither counts;
- a failure is judged when some reviewer's current verdict on it counts; when reviewers differ,
  the latest counting one is the case's verdict (`case_verdicts`, and what a decision applies).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from evaltui.actions.review import run_of
from evaltui.decision import ledger
from evaltui.decision.ledger import Head, VerdictEvent
from evaltui.errors import InputError, NotFoundError
from evaltui.store import queries_verdicts as q
from evaltui.store.queries_case_pages import PairCases
from evaltui.store.queries_cases import pair_query

KINDS = ledger.KINDS
VERDICT_EVENT = "verdict"  # the kind of a verdict's row in a team store's event log
JUDGING_KINDS = ledger.JUDGING_KINDS
ledger_dir_for = ledger.ledger_dir_for

__all__ = [
    "JUDGING_KINDS",
    "KINDS",
    "CaseVerdict",
    "LedgerStatus",
    "VerdictEvent",
    "VerdictRequest",
    "case_history",
    "case_verdicts",
    "ledger_dir_for",
    "list_verdicts",
    "load_verdicts",
    "pair_progress",
    "read_verdicts",
    "record_verdict",
]


@dataclass(frozen=True)
class VerdictRequest:
    """What the reviewer asks to record (the form's fields, or the CLI's arguments)."""

    run: str
    baseline: str
    case_id: str
    kind: str
    reviewer: str
    reason: str = ""
    expected: str | None = None
    expires: dt.date | None = None


@dataclass(frozen=True, slots=True)
class LedgerStatus:
    """What loading the ledgers found: each damaged file's first problem (one line,
    `path:line: reason`; nothing from that line on is used), each reviewer's head."""

    ledger_dir: Path
    problems: tuple[InputError, ...]
    heads: dict[str, Head] = field(default_factory=dict)
    events: int = 0
    team: str | None = None  # the team store's URI when the verdicts are the team's

    @property
    def ok(self) -> bool:
        return not self.problems

    def problem_lines(self) -> list[str]:
        return [p.render() for p in self.problems]


@dataclass(frozen=True, slots=True)
class CaseVerdict:
    """A case's verdict as shown and used: the latest counting current judgment across
    reviewers, else the latest current one (then `stale` or `expired` says why it does not
    count). `reviewers`: how many reviewers have a current judgment on the case."""

    case_id: str
    kind: str
    reviewer: str
    reason: str
    expected: str | None
    expires: dt.date | None
    time: dt.datetime
    stale: bool
    expired: bool
    reviewers: int = 1

    @property
    def counts(self) -> bool:
        return not self.stale and not self.expired


def today(now: dt.datetime | None = None) -> dt.date:
    return (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).date()


def load_verdicts(con: duckdb.DuckDBPyConnection, ledger_dir: Path) -> LedgerStatus:
    """Read every reviewer's ledger under `ledger_dir` into the connection's verdict tables
    (replacing what they held), checking each line's hash and the chain; on a team store's
    cache, every reviewer's verdict events in the team store instead."""
    source = q.team_source(con)
    if source is None:
        return status(con, ledger_dir, ledger.read_ledgers(con, ledger_dir))
    return status(con, ledger_dir, _read_team(con, *source), team=source[1])


def read_verdicts(con: duckdb.DuckDBPyConnection, ledger_dir: Path) -> list[InputError]:
    """`load_verdicts`' problems only (what a replay checks the decision's verdicts against)."""
    return list(load_verdicts(con, ledger_dir).problems)


def _read_team(con: duckdb.DuckDBPyConnection, target: str, uri: str) -> list[InputError]:
    from evaltui.actions.team import connect

    with connect(target) as team, team.errors():
        found = team.event_texts(VERDICT_EVENT, "line")
    return [InputError(p.path, p.message, p.line) for p in q.load_team_events(con, found, uri)]


def _unchanged(con: duckdb.DuckDBPyConnection, path: Path, reviewer: str) -> bool:
    """Is the ledger as this connection last read or wrote it (so its loaded head is its
    head)? A new, empty ledger of a reviewer with nothing loaded is."""
    state = ledger.file_state(str(path))
    if state is None:
        return False
    if state[1] == 0 and _loaded_head(con, reviewer) is None:
        return True
    return q.remembered_file(con, str(path)) == state[1:]


def status(
    con: duckdb.DuckDBPyConnection,
    ledger_dir: Path,
    problems: list[InputError] | None = None,
    *,
    team: str | None = None,
) -> LedgerStatus:
    heads = {r: Head(r, seq, h) for r, (seq, h) in q.heads(con).items()}
    row = con.execute(f"SELECT count(*) FROM {q.table(con, q.EVENTS)}").fetchone()
    count = int(row[0]) if row else 0
    return LedgerStatus(ledger_dir, tuple(problems or ()), heads, count, team)


def _loaded_head(con: duckdb.DuckDBPyConnection, reviewer: str) -> Head | None:
    found = q.head_of(con, reviewer)
    return None if found is None else Head(reviewer, found[0], found[1])


def check_request(
    con: duckdb.DuckDBPyConnection, request: VerdictRequest, now: dt.datetime
) -> tuple[str, str, str]:
    """Refuse a request that cannot be recorded, on the field concerned; else the cleaned
    reason, the case's suite id and the suite's fingerprint."""
    if request.kind not in KINDS:
        raise InputError(
            None, f"kind must be one of {', '.join(KINDS)}, not {request.kind!r}", field="kind"
        )
    ledger.check_reviewer(request.reviewer)
    reason = (request.reason or "").strip()
    if len(reason) > ledger.REASON_LIMIT:
        raise InputError(
            None,
            f"the reason is {len(reason):,} characters; at most {ledger.REASON_LIMIT:,}",
            field="reason",
        )
    if request.kind in ("waive", "relabel", "note") and not reason:
        what = {"waive": "a waiver", "relabel": "a relabel", "note": "a note"}[request.kind]
        raise InputError(None, f"{what} needs a reason", field="reason")
    if request.kind == "relabel" and not (request.expected or "").strip():
        raise InputError(None, "a relabel needs the expected route it proposes", field="expected")
    if request.kind != "relabel" and request.expected is not None:
        raise InputError(None, "only a relabel proposes an expected route", field="expected")
    if request.expires is not None:
        if request.kind != "waive":
            raise InputError(None, "only a waiver can expire", field="expires")
        if request.expires < today(now):
            raise InputError(
                None,
                f"expiry {request.expires.isoformat()} is in the past (today is "
                f"{today(now).isoformat()}, UTC)",
                field="expires",
            )
    suites = q.run_suites(con, [request.run, request.baseline])  # not get_run: one small query
    for run_id, name in ((request.run, "run"), (request.baseline, "baseline")):
        if run_id not in suites:
            raise NotFoundError(
                f"{run_id}: no such run in the store (see `evaltui runs`)", field=name
            )
    suite_id = suites[request.run]
    if request.run == request.baseline:
        raise InputError(
            None, f"{request.run} is its own baseline; name another run", field="baseline"
        )
    if suites[request.baseline] != suite_id:
        raise InputError(
            None,
            f"{request.run} (suite {suite_id}) and {request.baseline} (suite "
            f"{suites[request.baseline]}) ran on different suites; a verdict is on a pair's case",
            field="baseline",
        )
    expected_now = q.case_in_suite(con, suite_id, request.case_id)
    if expected_now is None:
        raise InputError(None, f"{request.case_id}: no such case in suite {suite_id}", field="case")
    if request.kind == "relabel":
        proposed = (request.expected or "").strip()
        if proposed == expected_now:
            raise InputError(
                None, f"{expected_now} is already the case's expected route", field="expected"
            )
        pair = [request.run, request.baseline]
        if not q.route_known(con, suite_id, pair, proposed):
            # a typo would move the case out of every metric that names its real route
            known = q.known_routes(con, suite_id, pair)
            shown = ", ".join(known[:12]) + (
                f" (and {len(known) - 12} more)" if len(known) > 12 else ""
            )
            raise InputError(
                None,
                f"route {proposed!r} is not one the suite expects or the pair produced; "
                f"known routes: {shown}",
                field="expected",
            )
    sha = q.suite_sha(con, suite_id)
    if sha is None:  # a run's suite is always in the store; a damaged store says so here
        raise InputError(None, f"suite {suite_id} is not in the store", field="run")
    return reason, suite_id, sha


def record_verdict(
    con: duckdb.DuckDBPyConnection,
    ledger_dir: Path,
    request: VerdictRequest,
    *,
    now: dt.datetime | None = None,
) -> VerdictEvent:
    """Check the request, append it to the reviewer's ledger and add it to the verdict tables.

    Refused (InputError with `field=`, nothing written): an unknown kind, run, baseline or case,
    a waiver, relabel or note without a reason, a relabel without a route, an expiry in the past
    or on anything but a waiver, a reviewer id that cannot name a file, a ledger that is damaged.
    If the ledger changed since it was loaded (another process appended), every ledger is read
    again first.
    """
    now = now or dt.datetime.now(dt.UTC)
    reason, suite_id, suite_sha = check_request(con, request, now)
    reviewer = ledger.check_reviewer(request.reviewer)
    expected = (request.expected or "").strip() or None

    def event_after(head: Head | None) -> VerdictEvent:
        return ledger.new_event(
            head,
            reviewer=reviewer,
            now=now,
            run=request.run,
            baseline=request.baseline,
            case_id=request.case_id,
            suite_id=suite_id,
            suite_sha=suite_sha,
            kind=request.kind,
            reason=reason,
            expected=expected,
            expires=request.expires,
        )

    source = q.team_source(con)
    if source is not None:
        event = _append_to_team(source[0], reviewer, event_after)
        q.add_event(con, _row(event))
        return event
    path = ledger.ledger_path(ledger_dir, reviewer)

    def build(head: Head | None) -> VerdictEvent:
        if not _unchanged(con, path, reviewer) or head != _loaded_head(con, reviewer):
            loaded = load_verdicts(con, ledger_dir)  # changed since it was read: read them all
            for problem in loaded.problems:
                if problem.path == str(path):
                    raise InputError(
                        problem.path,
                        f"{problem.message}; this ledger is damaged, so nothing is appended to "
                        "it (restore it from git or a copy)",
                        problem.line,
                        field="reviewer",
                    )
            if head != _loaded_head(con, reviewer):
                raise InputError(
                    path, "changed while it was being read; try again", field="reviewer"
                )
        return event_after(head)

    try:
        ledger_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(ledger_dir, f"cannot create the verdicts folder: {exc.strerror}") from None
    event = ledger.append_event(path, build)
    q.add_event(con, _row(event))
    state = ledger.file_state(str(path))
    if state is not None:
        q.remember_files(con, [state], replace=False)
    return event


def _append_to_team(
    target: str, reviewer: str, event_after: Callable[[Head | None], VerdictEvent]
) -> VerdictEvent:
    """Append the event to the team's log, chained to the reviewer's last verdict event there
    (read under the reviewer's lock in the same transaction, so two machines of one reviewer
    chain one after the other). The payload is the event's members, queryable from any SQL
    engine, and `line`, its exact canonical text: what is hashed and read back."""
    from evaltui.actions.team import connect

    made: list[VerdictEvent] = []

    def build(last: Mapping[str, Any] | None) -> Mapping[str, Any]:
        head = None
        if last is not None:
            try:
                doc = json.loads(str(last["line"]))
                head = Head(reviewer, int(doc["seq"]), str(doc["hash"]))
            except (ValueError, KeyError, TypeError):
                raise InputError(
                    None,
                    f"the team store's last verdict event of {reviewer} is not a ledger event; "
                    "nothing is appended after it",
                    field="reviewer",
                ) from None
        event = event_after(head)
        made.append(event)
        return {**event.to_json(), "line": event.line().decode("utf-8").rstrip("\n")}

    with connect(target) as team, team.errors():
        team.append_chained(VERDICT_EVENT, reviewer, build)
    return made[-1]


def _row(event: VerdictEvent) -> list[Any]:
    return [
        event.reviewer,
        event.seq,
        event.time.astimezone(dt.UTC).replace(tzinfo=None),
        event.run,
        event.baseline,
        event.case_id,
        event.suite_id,
        event.suite_sha,
        event.kind,
        event.reason,
        event.expected,
        event.expires,
        event.prev,
        event.hash,
        event.stale,
    ]


def _event(row: tuple[Any, ...], superseded: bool = False, expired: bool = False) -> VerdictEvent:
    values = dict(zip(q.EVENT_COLUMNS, row, strict=False))
    values["time"] = values["time"].replace(tzinfo=dt.UTC)
    values["seq"] = int(values["seq"])
    return VerdictEvent(**values, superseded=bool(superseded), expired=bool(expired))


def pair_progress(
    con: duckdb.DuckDBPyConnection, run: str, baseline: str, *, pair: PairCases | None = None
) -> tuple[int, int]:
    """(failures judged, failures) of the pair. A failure is a case whose candidate route is not
    the expected one (missing included), as the case pager counts them; judged: some reviewer's
    current confirm, waive or relabel on it counts (notes do not judge). Given the pair's
    numbered table (`open_pair`), it is counted from there (no new join over the results)."""
    judged = q.judged_cases_sql(con, run, baseline, today())
    if pair is not None:
        return q.pair_judged_counts(con, f"SELECT * FROM {pair.table}", [], judged)
    sql, params = pair_query(run_of(con, run, "run"), run_of(con, baseline, "baseline"))
    return q.pair_judged_counts(con, sql, params, judged)


def case_verdicts(
    con: duckdb.DuckDBPyConnection, run: str, baseline: str, case_ids: list[str] | None
) -> dict[str, CaseVerdict]:
    """The verdict of each of `case_ids` that has one (every case of the pair when None)."""
    out: dict[str, CaseVerdict] = {}
    for row in q.current_verdicts(con, run, baseline, case_ids, today()):
        values = dict(zip(q.EVENT_COLUMNS, row, strict=False))
        expired, _counts, reviewers = row[len(q.EVENT_COLUMNS) :]
        out[values["case_id"]] = CaseVerdict(
            case_id=values["case_id"],
            kind=values["kind"],
            reviewer=values["reviewer"],
            reason=values["reason"],
            expected=values["expected"],
            expires=values["expires"],
            time=values["time"].replace(tzinfo=dt.UTC),
            stale=bool(values["stale"]),
            expired=bool(expired),
            reviewers=int(reviewers),
        )
    return out


def case_history(
    con: duckdb.DuckDBPyConnection, run: str, baseline: str, case_id: str
) -> list[VerdictEvent]:
    """Every event on the case of this pair, all reviewers, oldest first, with `superseded`,
    `stale` and `expired` set."""
    n = len(q.EVENT_COLUMNS)
    return [
        _event(row[:n], superseded=row[n], expired=row[n + 1])
        for row in q.case_events(con, run, baseline, case_id, today())
    ]


@dataclass(frozen=True, slots=True)
class ListedVerdict:
    event: VerdictEvent
    counts: bool


def list_verdicts(
    con: duckdb.DuckDBPyConnection, run: str | None, baseline: str | None
) -> list[ListedVerdict]:
    """Every event (of a run, of a pair), by run, baseline, case and time; `counts` marks each
    reviewer's current judgments that count. Unknown run or baseline: NotFoundError."""
    if run is not None:
        run_of(con, run, "run")
    if baseline is not None:
        run_of(con, baseline, "baseline")
    n = len(q.EVENT_COLUMNS)
    return [
        ListedVerdict(_event(row[:n], superseded=row[n + 2], expired=row[n]), bool(row[n + 1]))
        for row in q.list_events(con, run, baseline, today())
    ]
