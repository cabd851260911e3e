"""`evaltui compare` and `evaltui cases`."""

from __future__ import annotations

from pathlib import Path

import click
from rich.text import Text

from evaltui.cli.options import json_option, open_store, store_option
from evaltui.cli.render import console, emit_json, number, safe, table
from evaltui.errors import CheckFailed
from evaltui.review.cases import OUTCOMES, CaseFilter, fetch_cases
from evaltui.review.report import Review, RunReview, review_runs
from evaltui.store.queries import get_run


@click.command("compare")
@click.argument("baseline")
@click.argument("runs", nargs=-1)
@store_option
@json_option
@click.option(
    "--gate",
    is_flag=True,
    help="Exit 1 unless every named run is comparable, evidence-clean and eligible (for CI).",
)
def compare_command(
    baseline: str, runs: tuple[str, ...], store_path: Path | None, as_json: bool, gate: bool
) -> None:
    """Audit RUNs (default: the rest of BASELINE's experiment) against BASELINE.

    Shows the comparison contract, metrics as logged and as recomputed from the per-case
    routes, guardrail status, evidence flags, and paired counts on the shared cases.
    """
    with open_store(store_path, read_only=True) as store:
        review = review_runs(store.con, baseline, list(runs) if runs else None)
    if as_json:
        emit_json(review.to_json())
    else:
        _print_review(review)
    if gate:
        failing = [
            r for r in review.runs if not (r.comparable and not r.evidence and r.verdict.eligible)
        ]
        if failing or not review.runs:
            names = (
                ", ".join(f"{r.run_id} ({_gate_reason(r)})" for r in failing) or "no runs to gate"
            )
            raise CheckFailed(f"gate failed: {names}")


def _gate_reason(r: RunReview) -> str:
    if not r.comparable:
        return "incomparable: " + r.reason
    if r.evidence:
        return f"{len(r.evidence)} evidence flag(s)"
    return r.status


def _print_review(review: Review) -> None:
    out = console()
    base = review.baseline
    out.print(
        Text.assemble(
            ("baseline ", "bold"),
            safe(base.run_id, "bold"),
            "  ",
            safe(base.run.artifact),
            "  suite ",
            safe(review.suite.suite_id),
        )
    )
    contract = ", ".join(
        f"{k}={v if v is not None else '(missing)'}" for k, v in base.contract.items()
    )
    out.print(Text.assemble(("contract ", "bold"), safe(contract, limit=1000)))
    metric_names = [m.name for m in review.suite.metrics]
    columns = ["run", "artifact", "status", *metric_names, "fixed", "broken", "delta", "p"]
    rows = []
    for r in (base, *review.runs):
        style = "" if r.comparable else "dim"
        paired = r.paired
        marker = " (baseline)" if r.is_baseline else ("" if r.comparable else " (incomparable)")
        rows.append(
            [
                safe(r.run_id + marker, style),
                safe(r.run.artifact, style),
                safe(r.status, style),
                *(safe(number(r.metrics_recomputed.get(n)), style) for n in metric_names),
                safe("-" if paired is None or r.is_baseline else paired.fixed, style),
                safe("-" if paired is None or r.is_baseline else paired.broken, style),
                safe(
                    "-" if paired is None or paired.delta is None else f"{paired.delta:+.3f}", style
                ),
                safe("-" if paired is None else f"{paired.mcnemar_p:.3g}", style),
            ]
        )
    out.print(table(None, columns, rows))
    incomparable = [r for r in review.runs if not r.comparable]
    if incomparable:
        out.print(Text("not comparable with the baseline (never ranked):", style="bold"))
        for r in incomparable:
            for d in r.differences:
                out.print(Text.assemble("  ", safe(r.run_id), "  ", safe(d.describe(), limit=400)))
    flagged = [r for r in (base, *review.runs) if r.evidence]
    if flagged:
        out.print(Text("evidence flags (claims the results do not support):", style="bold"))
        for r in flagged:
            for f in r.evidence:
                out.print(Text.assemble("  ", safe(r.run_id), "  ", safe(f.message, limit=400)))


@click.command("cases")
@click.argument("run")
@click.option(
    "--vs", "baseline", help="Pair with this baseline run (adds baseline_route and outcome)."
)
@click.option(
    "--failures", is_flag=True, help="Only cases the run routed differently than expected."
)
@click.option("--slice", "slice_name", help="Only cases of this slice.")
@click.option("--split", help="Only cases of this split.")
@click.option(
    "--outcome", type=click.Choice(OUTCOMES), help="Only cases with this outcome (needs --vs)."
)
@click.option("--limit", type=click.IntRange(min=1), help="Show at most this many rows.")
@store_option
@json_option
def cases_command(
    run: str,
    baseline: str | None,
    failures: bool,
    slice_name: str | None,
    split: str | None,
    outcome: str | None,
    limit: int | None,
    store_path: Path | None,
    as_json: bool,
) -> None:
    """Per-case expected and produced routes of RUN (and outcomes against a baseline)."""
    with open_store(store_path, read_only=True) as store:
        run_info = get_run(store.con, run)
        base_info = get_run(store.con, baseline) if baseline else None
        where = CaseFilter(
            failures_only=failures, slice_name=slice_name, outcome=outcome, split=split
        )
        rows = fetch_cases(store.con, run_info, base_info, where)
    if limit is not None:
        rows = rows.slice(0, limit)
    if as_json:
        emit_json({"run_id": run, "baseline": baseline, "cases": rows.to_pylist()})
        return
    columns = ["case_id", "split", "slice_name", "expected_route"]
    if base_info is not None:
        columns += ["baseline_route"]
    columns += ["route"] + (["outcome"] if base_info is not None else ["correct"])
    data = rows.select(columns).to_pylist()
    out = console()
    out.print(
        table(
            None,
            columns,
            ([_cell(row[c], c, row) for c in columns] for row in data),
        )
    )
    out.print(Text(f"{len(data):,} case(s)", style="dim"))


def _cell(value: object, column: str, row: dict) -> Text:
    if column == "correct":
        return safe("yes" if value else "NO", "" if value else "bold")
    if column == "outcome":
        return safe(value, "bold" if value in ("broken", "both_wrong") else "")
    return safe("-" if value is None else value, limit=60)
