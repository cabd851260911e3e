"""What the app's verdict screens fetch in one worker call each: a page, a failure jump or a case
together with its verdicts, the pair's progress, and recording with a refusal as a value.

Each function composes the case pager (`actions.cases`) and the verdicts (`actions.verdicts`) so
that one keypress stays one round trip; none adds a rule of its own. `pair` is the (run,
baseline) whose verdicts apply, None on an unpaired list (or before the ledgers were read).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb

from evaltui.actions.cases import CaseRow, Jump, Shown, jump, load_case, load_page, step_case
from evaltui.actions.decide import DecideData, load_decide
from evaltui.actions.verdicts import (
    CaseVerdict,
    LedgerStatus,
    VerdictEvent,
    VerdictRequest,
    case_history,
    case_verdicts,
    load_verdicts,
    pair_progress,
    record_verdict,
)
from evaltui.errors import EvaltuiError, InputError, InputErrors
from evaltui.review.report import Review
from evaltui.store.queries_case_pages import CaseView, PairCases

Pair = tuple[str, str]  # (run, baseline)


@dataclass(frozen=True, slots=True)
class Recorded:
    """A recorded event, or the problem and the form field it belongs to (None: the form)."""

    event: VerdictEvent | None = None
    field: str | None = None
    message: str = ""


def record(con: duckdb.DuckDBPyConnection, ledger_dir: Path, request: VerdictRequest) -> Recorded:
    """`record_verdict`, with a refusal returned (message and field) instead of raised."""
    try:
        return Recorded(record_verdict(con, ledger_dir, request))
    except EvaltuiError as exc:
        if isinstance(exc, InputError) and exc.path is None:
            message = exc.message
        else:
            message = " / ".join(exc.lines())
        return Recorded(field=exc.field, message=message)


@dataclass(frozen=True, slots=True)
class Judged:
    """A pair's progress, some cases' verdicts and (after reading the ledgers) what was found."""

    status: LedgerStatus | None
    judged: int
    failures: int
    verdicts: dict[str, CaseVerdict]  # of the cases asked about that have one
    case_ids: list[str]  # the cases asked about


def read_ledgers(
    con: duckdb.DuckDBPyConnection, ledger_dir: Path, run: str, baseline: str
) -> Judged:
    """Read every reviewer's ledger, then the pair's progress."""
    status = load_verdicts(con, ledger_dir)
    judged, failures = pair_progress(con, run, baseline)
    return Judged(status, judged, failures, {}, [])


def judged_cases(
    con: duckdb.DuckDBPyConnection,
    run: str,
    baseline: str,
    case_ids: list[str],
    pair_cases: PairCases | None,
) -> Judged:
    """The pair's progress (counted on its numbered table once it is open) and the current
    verdicts of `case_ids`."""
    judged, failures = pair_progress(con, run, baseline, pair=pair_cases)
    return Judged(None, judged, failures, case_verdicts(con, run, baseline, case_ids), case_ids)


@dataclass(frozen=True, slots=True)
class JudgedRows:
    rows: list[CaseRow] | None  # None: the view was replaced meanwhile
    verdicts: dict[str, CaseVerdict]


def load_judged_page(
    con: duckdb.DuckDBPyConnection, view: CaseView, start: int, rows: int, pair: Pair | None
) -> JudgedRows:
    """A page of rows and, given `pair`, their verdicts."""
    page = load_page(con, view, start, rows)
    if page is None or pair is None:
        return JudgedRows(page, {})
    return JudgedRows(page, case_verdicts(con, *pair, [r.case_id for r in page]))


@dataclass(frozen=True, slots=True)
class JudgedJump:
    jump: Jump | None
    verdicts: dict[str, CaseVerdict]


def judged_jump(
    con: duckdb.DuckDBPyConnection,
    view: CaseView,
    start: int,
    steps: int,
    pair: Pair | None,
    unjudged_only: bool,
) -> JudgedJump:
    """A failure jump (over failures not judged yet only, with `unjudged_only`) and the
    verdicts of the page it brings."""
    found = jump(con, view, start, steps, unjudged_only=unjudged_only)
    if found is None or pair is None or not found.rows:
        return JudgedJump(found, {})
    return JudgedJump(found, case_verdicts(con, *pair, [r.case_id for r in found.rows]))


@dataclass(frozen=True, slots=True)
class JudgedCase:
    """A case shown, with its verdict history and current verdict (None: an unpaired list)."""

    shown: Shown
    history: list[VerdictEvent] | None
    verdict: CaseVerdict | None


def judge_shown(
    con: duckdb.DuckDBPyConnection, shown: Shown | None, pair: Pair | None
) -> JudgedCase | None:
    """`shown` with every verdict on it (all reviewers, oldest first) and its current one."""
    if shown is None:
        return None
    if pair is None:
        return JudgedCase(shown, None, None)
    case_id = shown.case.case_id
    history = case_history(con, *pair, case_id)
    return JudgedCase(shown, history, case_verdicts(con, *pair, [case_id]).get(case_id))


def load_judged_case(
    con: duckdb.DuckDBPyConnection,
    case: CaseRow,
    suite_id: str,
    run_ids: list[str],
    pair: Pair | None,
) -> JudgedCase | None:
    """One case, everything about it, and its verdicts."""
    return judge_shown(con, load_case(con, case, suite_id, run_ids), pair)


def step_judged_case(
    con: duckdb.DuckDBPyConnection,
    view: CaseView,
    row: int,
    steps: int,
    suite_id: str,
    run_ids: list[str],
    pair: Pair | None,
    unjudged_only: bool,
) -> JudgedCase | None:
    """The next (previous) failure, or unjudged failure, and its verdicts; None: none there."""
    shown = step_case(con, view, row, steps, suite_id, run_ids, unjudged_only=unjudged_only)
    return judge_shown(con, shown, pair)


def load_judged_decide(
    con: duckdb.DuckDBPyConnection, review: Review, run_id: str, log_path: Path, ledger_dir: Path
) -> DecideData:
    """The decide form's data with every reviewer's ledger read first, as `evaltui decide` reads
    them (`actions.decide.draft_decision`): the draft carries the pair's verdicts even when no
    cases screen was opened, and a damaged ledger refuses the draft (`path:line: reason`)."""
    status = load_verdicts(con, ledger_dir)
    if status.problems:
        raise InputErrors(status.problems)
    return load_decide(con, review, run_id, log_path)
