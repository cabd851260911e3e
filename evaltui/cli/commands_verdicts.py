"""`evaltui verdict` (record one verdict on a pair's case) and `evaltui verdicts` (list them).

Both read every reviewer's ledger beside the store (`.evaltui/verdicts/`), or on a team store
every reviewer's verdict events in it, through `actions.verdicts`; the store is opened read-only
(verdicts are never written to it), so these run while the review app is open.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import click
from rich.text import Text

from evaltui.actions import verdicts as actions
from evaltui.cli.options import from_settings, json_option, open_store, store_option
from evaltui.cli.render import ERROR_LINE_LIMIT, console, emit_json, safe, table
from evaltui.errors import InputError, InputErrors, NotFoundError
from evaltui.sanitize import visible
from evaltui.settings import REVIEWER_ENV


def _date(text: str | None) -> dt.date | None:
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise InputError(
            None, f"--expires {text!r}: give a date like 2027-01-31", field="expires"
        ) from None


@click.command("verdict")
@click.argument("run")
@click.argument("case_id")
@click.option(
    "--vs", "baseline", required=True, help="The baseline run the case is judged against."
)
@click.option(
    "--kind",
    required=True,
    help="confirm (a real failure), waive (accepted; needs --reason), relabel (the expected "
    "route is wrong; needs --expected and --reason) or note.",
)
@click.option("--reason", default="", help="Why (required for waive, relabel and note).")
@click.option(
    "--expected",
    help="relabel: the route the case should expect (one the suite or the pair already knows).",
)
@click.option("--expires", help="waive: the last day (UTC) the waiver holds, e.g. 2027-01-31.")
@click.option(
    "--reviewer",
    default=from_settings("reviewer"),
    help=f"Your reviewer id (default: env {REVIEWER_ENV}, config `reviewer`).",
)
@store_option
@json_option
def verdict_command(
    run: str,
    case_id: str,
    baseline: str,
    kind: str,
    reason: str,
    expected: str | None,
    expires: str | None,
    reviewer: str | None,
    store_path: Path | None,
    as_json: bool,
) -> None:
    """Record a verdict on CASE_ID of RUN against a baseline, in your ledger."""
    request = actions.VerdictRequest(
        run=run,
        baseline=baseline,
        case_id=case_id,
        kind=kind,
        reviewer=reviewer or "",
        reason=reason,
        expected=expected,
        expires=_date(expires),
    )
    with open_store(store_path, read_only=True) as store:
        ledger_dir = actions.ledger_dir_for(store.path)
        loaded = actions.load_verdicts(store.con, ledger_dir)
        event = actions.record_verdict(store.con, ledger_dir, request)
        for problem in loaded.problems:  # another reviewer's ledger: said, not used, not fatal
            click.echo(
                f"evaltui: warning: {visible(problem.render(), limit=ERROR_LINE_LIMIT)} "
                "(not used from that line on)",
                err=True,
            )
        judged, failures = actions.pair_progress(store.con, run, baseline)
    if as_json:
        emit_json({"verdict": event.to_json(), "judged": judged, "failures": failures})
        return
    out = console()
    out.print(
        Text.assemble(
            "recorded ",
            safe(event.kind, "bold"),
            " on ",
            safe(event.case_id),
            " (",
            safe(event.run),
            " vs ",
            safe(event.baseline),
            ") by ",
            safe(event.reviewer),
            *(
                (f", event {event.seq} of theirs in the team store ", safe(loaded.team))
                if loaded.team
                else (f", line {event.seq} of ", safe(ledger_dir / f"{event.reviewer}.jsonl"))
            ),
        )
    )
    out.print(Text(f"{judged:,} of {failures:,} failures judged", style="dim"))


def _state(item: actions.ListedVerdict) -> str:
    event = item.event
    if event.kind == "note":
        return "note"
    if event.superseded:
        return "superseded"
    if event.stale:
        return "stale"
    if event.expired:
        return "expired"
    return "current"


def _json(item: actions.ListedVerdict) -> dict[str, Any]:
    return {**item.event.to_json(), "state": _state(item), "counts": item.counts}


@click.command("verdicts")
@click.argument("run", required=False)
@click.option("--vs", "baseline", help="Only verdicts against this baseline.")
@store_option
@json_option
def verdicts_command(
    run: str | None, baseline: str | None, store_path: Path | None, as_json: bool
) -> None:
    """Every reviewer's verdicts (of RUN, against a baseline), with the pairs' progress.

    A damaged ledger (a changed byte, a dropped or moved line) is named `file:line: reason`
    and the command exits 2: nothing from that line on is used."""
    with open_store(store_path, read_only=True) as store:
        ledger_dir = actions.ledger_dir_for(store.path)
        status = actions.load_verdicts(store.con, ledger_dir)
        if status.problems:
            raise InputErrors(status.problems)
        listed = actions.list_verdicts(store.con, run, baseline)
        pairs = sorted({(i.event.run, i.event.baseline) for i in listed})
        progress = []
        for r, b in pairs:
            try:
                progress.append((r, b, *actions.pair_progress(store.con, r, b)))
            except NotFoundError:  # a run no longer in this store: its verdicts are still listed
                continue
    if as_json:
        emit_json(
            {
                "ledgers": status.team or str(ledger_dir),
                "heads": {r: h.to_json() for r, h in status.heads.items()},
                "pairs": [
                    {"run": r, "baseline": b, "judged": j, "failures": f} for r, b, j, f in progress
                ],
                "verdicts": [_json(i) for i in listed],
            }
        )
        return
    out = console()
    columns = ["run", "baseline", "case", "reviewer", "kind", "reason", "time", "state"]
    rows = []
    for item in listed:
        event = item.event
        kind = event.kind
        if event.expected is not None:
            kind += f" -> {event.expected}"
        if event.expires is not None:
            kind += f" until {event.expires.isoformat()}"
        state = _state(item)
        rows.append(
            [
                safe(event.run),
                safe(event.baseline),
                safe(event.case_id),
                safe(event.reviewer),
                safe(kind, "bold" if item.counts else ""),
                safe(event.reason or "-", limit=80),
                safe(event.time.strftime("%Y-%m-%d %H:%M")),
                safe(state, "" if state in ("current", "note") else "dim"),
            ]
        )
    out.print(table(None, columns, rows))
    if not listed:
        out.print(Text(f"no verdicts in {status.team or ledger_dir}", style="dim"))
    for r, b, judged, failures in progress:
        out.print(
            Text.assemble(
                safe(r), " vs ", safe(b), f": {judged:,} of {failures:,} failures judged"
            ),
            style="dim",
        )
