"""`evaltui compare` and `evaltui cases`."""

from __future__ import annotations

from pathlib import Path

import click
from rich.text import Text

from evaltui.actions.cases import list_cases
from evaltui.actions.flips import review_flakiness
from evaltui.actions.review import compare_runs
from evaltui.cli.options import confidence_option, json_option, open_store, store_option
from evaltui.cli.render import console, emit_json, number, safe, status_cell, table
from evaltui.errors import CheckFailed
from evaltui.plural import count as counted
from evaltui.review.figures_text import (
    PAIRED_COLUMNS,
    level,
    paired_cells,
    paired_notes,
    rate,
)
from evaltui.review.flips import FlipReport
from evaltui.review.paired import PairedSettings
from evaltui.review.report import Review, RunReview
from evaltui.review.stats import DEFAULT_RESAMPLES, DEFAULT_SEED
from evaltui.review.transitions import TransitionMatrix, transition_matrices
from evaltui.store.queries_cases import OUTCOMES, CaseFilter


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
@confidence_option("Level of the bootstrap and Wilson intervals.")
@click.option(
    "--resamples",
    type=click.IntRange(100, 1_000_000),
    default=DEFAULT_RESAMPLES,
    show_default=True,
    help="Bootstrap resamples.",
)
@click.option("--seed", type=int, default=DEFAULT_SEED, show_default=True, help="Bootstrap seed.")
@click.option(
    "--margin",
    type=click.FloatRange(0.0, 1.0, max_open=True),
    default=None,
    help="Non-inferiority margin M as a rate difference (0.02 = 2 points): is each run worse "
    "than the baseline by more than M? Answered with the interval's lower bound.",
)
@click.option(
    "--transitions",
    is_flag=True,
    help="Also show each run's route transition matrix (baseline route x run route).",
)
def compare_command(
    baseline: str,
    runs: tuple[str, ...],
    store_path: Path | None,
    as_json: bool,
    gate: bool,
    confidence: float,
    resamples: int,
    seed: int,
    margin: float | None,
    transitions: bool,
) -> None:
    """Audit RUNs (default: the rest of BASELINE's experiment) against BASELINE.

    Shows the comparison contract, metrics as logged and as recomputed from the per-case
    routes, guardrail status, evidence flags, and paired statistics on the shared cases:
    fixed/broken counts, the exact McNemar p (Holm-adjusted across the comparable runs), the
    exact-route-rate difference with its paired bootstrap interval, Wilson intervals of every
    rate, repeats of one artifact summarised, and warnings; with --margin the non-inferiority
    verdict, and always the minimum detectable difference (80% power) and, when the suite names a
    cluster_field, clustered intervals. See docs/statistics.md.
    """
    settings = PairedSettings(confidence=confidence, resamples=resamples, seed=seed, margin=margin)
    matrices: dict[str, TransitionMatrix] = {}
    with open_store(store_path, read_only=True) as store:
        review = compare_runs(store.con, baseline, list(runs) if runs else None, settings)
        flaky = review_flakiness(store.con, review)
        if transitions:
            paired_ids = [r.run_id for r in review.runs if r.paired is not None]
            matrices = transition_matrices(store.con, baseline, paired_ids)
    if as_json:
        data = review.to_json()
        for entry in data["repeats"]:
            report = flaky.get(entry["artifact"])
            entry["flakiness"] = None if report is None else _flakiness_json(report)
        if transitions:
            for entry in data["runs"]:
                matrix = matrices.get(entry["run_id"])
                entry["transitions"] = None if matrix is None else matrix.to_json()
        emit_json(data)
    else:
        _print_review(review)
        _print_flakiness(flaky)
        for run_id, matrix in matrices.items():
            _print_transitions(run_id, matrix)
    if gate:
        failing = [r for r in review.runs if not (r.eligible and not r.evidence)]
        if failing or not review.runs:
            names = (
                ", ".join(f"{r.run_id} ({_gate_reason(r)})" for r in failing) or "no runs to gate"
            )
            raise CheckFailed(f"gate failed: {names}")


def _flakiness_json(report: FlipReport) -> dict[str, object]:
    return {
        "runs": list(report.run_ids),
        "changed_vs_baseline": report.changed,
        "flaky_cases": report.flaky,
        **report.repeats.to_json(),
    }


def _print_flakiness(reports: dict[str, FlipReport]) -> None:
    if not reports:
        return
    out = console()
    out.print(
        Text("per-case flakiness across repeats (evaltui flips for the cases):", style="bold")
    )
    for artifact, report in reports.items():
        rep = report.repeats
        pass_k = ", ".join(f"pass^{k} {v:.3f}" for k, v in rep.pass_hat.items())
        out.print(
            Text.assemble(
                "  ",
                safe(artifact),
                f"  {len(report.run_ids)} runs: {counted(report.flaky, 'flaky case')}, "
                f"{report.changed:,} changed against the baseline; {pass_k}",
            )
        )


def _print_paired(review: Review) -> None:
    paired = [(r, r.paired) for r in review.runs if r.paired is not None]
    if not paired:
        return
    out = console()
    conf = level(review.settings.confidence)
    out.print(Text("paired with the baseline on shared cases:", style="bold"))
    columns = ["run", *(f"{conf} CI" if c == "CI" else c for c in PAIRED_COLUMNS)]
    rows = []
    for r, stats in paired:
        style = "" if r.comparable else "dim"
        rows.append([safe(r.run_id, style), *(safe(cell, style) for cell in paired_cells(stats))])
    out.print(table(None, columns, rows))
    out.print(
        Text(
            "delta = exact-route rate minus the baseline's on the shared cases; "
            + (
                f"{conf} interval and p clustered by {review.cluster_field} (method per run "
                "below); "
                if review.cluster_field
                else f"{conf} paired bootstrap interval ({review.settings.resamples:,} "
                f"resamples, seed {review.settings.seed}); exact McNemar p; "
            )
            + review.adjustment_note,
            style="dim",
        )
    )
    for r, stats in paired:
        notes = "; ".join(paired_notes(stats, review.cluster_field))
        if notes:
            out.print(Text.assemble("  ", safe(r.run_id), "  ", safe(notes, limit=400)))


def _print_intervals(review: Review) -> None:
    names = [m.name for m in review.suite.metrics if m.metric_kind.has_interval]
    if not names:
        return
    out = console()
    out.print(
        Text(f"rates with {level(review.settings.confidence)} Wilson intervals:", style="bold")
    )
    rows = []
    for r in (review.baseline, *review.runs):
        style = "" if r.comparable else "dim"
        cells = []
        for name in names:
            wilson = r.intervals.get(name)
            if wilson is None or wilson.rate is None:
                cells.append(safe("-", style))
            else:
                cells.append(safe(f"{rate(wilson)} n={wilson.n}", style))
        rows.append([safe(r.run_id, style), *cells])
    out.print(table(None, ["run", *names], rows))


def _print_warnings(review: Review) -> None:
    flagged = [r for r in review.runs if r.paired is not None and r.paired.warnings]
    if not flagged:
        return
    out = console()
    out.print(Text("statistical warnings (read before trusting a difference):", style="bold"))
    for r in flagged:
        assert r.paired is not None
        for w in r.paired.warnings:
            out.print(
                Text.assemble("  ", safe(r.run_id), f"  {w.code}: ", safe(w.message, limit=400))
            )


def _print_repeats(review: Review) -> None:
    if not review.repeats:
        return
    out = console()
    out.print(Text("repeated runs of one artifact (comparable runs only):", style="bold"))
    rows = []
    for group in review.repeats:
        exact = group.metrics.get("exact_route_rate")
        rows.append(
            [
                safe(group.artifact),
                safe(", ".join(group.run_ids), limit=400),
                safe(
                    "-"
                    if exact is None
                    else f"{exact.mean:.3f} sd {number(exact.sd, 4)} se {number(exact.se, 4)}"
                ),
                safe(
                    "-"
                    if group.delta is None
                    else f"{group.delta.mean:+.3f} sd {number(group.delta.sd, 4)} "
                    f"se {number(group.delta.se, 4)} "
                    f"[{group.delta.low:+.3f}..{group.delta.high:+.3f}]"
                ),
            ]
        )
    out.print(
        table(None, ["artifact", "runs", "exact_route_rate mean", "delta mean (range)"], rows)
    )
    for group in review.repeats:
        for run_id, reason in group.left_out.items():
            out.print(
                Text.assemble(
                    "  left out ", safe(run_id), ": ", safe(reason, limit=400), style="dim"
                )
            )
        for w in group.warnings:
            out.print(
                Text.assemble(
                    "  ", safe(group.artifact), f"  {w.code}: ", safe(w.message, limit=400)
                )
            )


def _print_transitions(run_id: str, matrix: TransitionMatrix) -> None:
    out = console()
    out.print(
        Text.assemble(
            ("routes: ", "bold"),
            "baseline (rows) x ",
            safe(run_id),
            f" (columns); {matrix.changed} of {counted(matrix.total, 'case')} changed route",
        )
    )
    rows = [
        [safe(label, "bold"), *(safe(count) for count in matrix.counts[i])]
        for i, label in enumerate(matrix.labels)
    ]
    out.print(table(None, ["baseline \\ run", *matrix.labels], rows))


def _gate_reason(r: RunReview) -> str:
    if r.run.incomplete is not None:
        return "incomplete: " + r.run.incomplete
    if not r.comparable:
        return "incomparable: " + r.reason
    if r.evidence:
        return counted(len(r.evidence), "evidence flag")
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
    rows = []
    for r in (base, *review.runs):
        style = "" if r.comparable else "dim"
        marker = " (baseline)" if r.is_baseline else ("" if r.comparable else " (incomparable)")
        rows.append(
            [
                safe(r.run_id + marker, style),
                safe(r.run.artifact, style),
                status_cell(r.state, r.status, style),
                *(safe(number(r.metrics_recomputed.get(n)), style) for n in metric_names),
            ]
        )
    out.print(table(None, ["run", "artifact", "status", *metric_names], rows))
    _print_paired(review)
    _print_intervals(review)
    _print_warnings(review)
    _print_repeats(review)
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


@click.command("flips")
@click.argument("baseline")
@click.argument("runs", nargs=-1)
@click.option(
    "--limit",
    type=click.IntRange(min=1),
    default=200,
    show_default=True,
    help="Show at most this many changed cases (--json lists them all).",
)
@store_option
@json_option
def flips_command(
    baseline: str, runs: tuple[str, ...], limit: int, store_path: Path | None, as_json: bool
) -> None:
    """Cases whose outcome changed against BASELINE across RUNs (default: the rest of its
    experiment on the same suite), each with its history: R right, W wrong, - no result."""
    from evaltui.actions.flips import flips

    with open_store(store_path, read_only=True) as store:
        report = flips(store.con, baseline, runs, limit=None if as_json else limit)
    if as_json:
        emit_json(report.to_json())
        return
    out = console()
    out.print(
        Text.assemble(
            ("flips against ", "bold"),
            safe(report.baseline, "bold"),
            f" across {counted(len(report.run_ids), 'run')}: ",
            safe(", ".join(report.run_ids), limit=400),
        )
    )
    rows = [
        [safe(f.case_id, limit=60), safe(f.baseline), safe(f.history, limit=200),
         safe(f.fixed), safe(f.broken), safe("yes" if f.flaky else "")]
        for f in report.flips[:limit]
    ]  # fmt: skip
    out.print(table(None, ["case_id", "baseline", "history", "fixed", "broken", "flaky"], rows))
    hidden = report.changed - len(rows)
    more = f" ({hidden:,} more: --limit or --json)" if hidden > 0 else ""
    rep = report.repeats
    pass_k = ", ".join(
        f"pass^{k} {v:.3f}" for k, v in rep.pass_hat.items() if k in (1, 2, 3, rep.attempts)
    )
    out.print(
        Text(
            f"{report.changed:,} of {counted(report.cases, 'case')} changed outcome{more}; "
            f"{report.flaky:,} flaky across the runs; {pass_k}",
            style="dim",
        )
    )


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
        where = CaseFilter(
            failures_only=failures, slice_name=slice_name, outcome=outcome, split=split
        )
        rows, paired = list_cases(store.con, run, baseline, where, limit=limit)
    if as_json:
        emit_json({"run_id": run, "baseline": baseline, "cases": rows.to_pylist()})
        return
    columns = ["case_id", "split", "slice_name", "expected_route"]
    if paired:
        columns += ["baseline_route"]
    columns += ["route"] + (["outcome"] if paired else ["correct"])
    data = rows.select(columns).to_pylist()
    out = console()
    out.print(
        table(
            None,
            columns,
            ([_cell(row[c], c, row) for c in columns] for row in data),
        )
    )
    out.print(Text(counted(len(data), "case"), style="dim"))


def _cell(value: object, column: str, row: dict) -> Text:
    if column == "correct":
        return safe("yes" if value else "NO", "" if value else "bold")
    if column == "outcome":
        return safe(value, "bold" if value in ("broken", "both_wrong") else "")
    return safe("-" if value is None else value, limit=60)
