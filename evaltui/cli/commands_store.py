"""`evaltui [PATH ...]`, `load`, `suites` and `runs`."""

from __future__ import annotations

from pathlib import Path

import click

from evaltui.actions import load as actions_load
from evaltui.cli.options import current_wait, json_option, open_store, say_waiting, store_option
from evaltui.cli.render import ERROR_LINE_LIMIT, console, emit_json, safe, status_cell, table
from evaltui.plural import count as counted
from evaltui.sanitize import visible
from evaltui.store.loader import LoadSummary
from evaltui.store.queries import experiments, list_runs, list_suites

PATHS = click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
REPLACE = click.option(
    "--replace",
    is_flag=True,
    help="Replace runs whose run_id is already stored with other content.",
)
ALLOW_OUTSIDE = click.option(
    "--allow-outside",
    is_flag=True,
    help="Let records refer to case files outside the folder being loaded (off by default).",
)


def load_paths(
    paths: tuple[Path, ...], store_path: Path | None, *, replace: bool, allow_outside: bool
) -> tuple[Path, LoadSummary]:
    """Validate everything first, then write it in one transaction."""
    return actions_load.load_paths(
        paths,
        lambda: open_store(store_path, read_only=False),
        replace=replace,
        allow_outside=allow_outside,
    )


def describe_load(store: Path, summary: LoadSummary) -> str:
    def count(items: list[str], noun: str) -> str:
        return counted(len(items), noun)

    parts = [count(summary.suites_added, "suite"), count(summary.runs_added, "run")]
    text = f"loaded {', '.join(parts)} ({summary.result_rows:,} case results) into {store}"
    extra = []
    if summary.runs_replaced:
        extra.append(f"replaced {count(summary.runs_replaced, 'run')}")
    if summary.gates_added:
        extra.append(f"gates for {count(summary.gates_added, 'suite')}")
    if summary.gates_replaced:
        extra.append(f"replaced the gates of {count(summary.gates_replaced, 'suite')}")
    unchanged = (
        len(summary.suites_unchanged) + len(summary.runs_unchanged) + len(summary.gates_unchanged)
    )
    if unchanged:
        extra.append(f"{unchanged} already loaded, unchanged")
    if summary.skipped:
        extra.append(f"skipped {counted(len(summary.skipped), 'other file')}")
    return text + ("; " + "; ".join(extra) if extra else "")


@click.command("load")
@PATHS
@store_option
@REPLACE
@ALLOW_OUTSIDE
@json_option
def load_command(
    paths: tuple[Path, ...],
    store_path: Path | None,
    replace: bool,
    allow_outside: bool,
    as_json: bool,
) -> None:
    """Load suites and runs from files or folders (all or nothing; identical content is a no-op)."""
    if not paths:
        raise click.UsageError("name at least one file or folder to load")
    store, summary = load_paths(paths, store_path, replace=replace, allow_outside=allow_outside)
    if as_json:
        emit_json({"store": str(store), **summary.to_json()})
    else:
        click.echo(visible(describe_load(store, summary)))
    for warning in summary.warnings:
        click.echo(f"evaltui: warning: {visible(warning, limit=ERROR_LINE_LIMIT)}", err=True)


@click.command("open", hidden=True)
@PATHS
@store_option
@REPLACE
@ALLOW_OUTSIDE
@click.option("--experiment", help="Open this experiment first.")
@click.option("--baseline", help="Pin this run as the baseline.")
@click.option("--no-signing", is_flag=True, hidden=True, help="Decide and co-sign are off.")
def open_command(
    paths: tuple[Path, ...],
    store_path: Path | None,
    replace: bool,
    allow_outside: bool,
    experiment: str | None,
    baseline: str | None,
    no_signing: bool,
) -> None:
    """Load PATHs (if any) and open the review app."""
    if paths:
        store, summary = load_paths(paths, store_path, replace=replace, allow_outside=allow_outside)
        click.echo(visible(describe_load(store, summary)), err=True)
    from evaltui.tui.launch import run_app  # Textual is imported only for the app

    run_app(
        store_path,
        experiment=experiment,
        baseline=baseline,
        wait=current_wait(),
        on_wait=say_waiting,
        signing=not no_signing,
    )


@click.command("suites")
@store_option
@json_option
def suites_command(store_path: Path | None, as_json: bool) -> None:
    """Suites with per-split and combined fingerprints and case counts."""
    with open_store(store_path, read_only=True) as store:
        suites = list_suites(store.con)
    if as_json:
        emit_json(
            {
                "suites": [
                    {
                        "suite_id": s.suite_id,
                        "description": s.description,
                        "case_count": s.case_count,
                        "splits": [
                            {
                                "split": sp.name,
                                "fingerprint": sp.fingerprint,
                                "case_count": sp.case_count,
                            }
                            for sp in s.splits
                        ],
                        "fingerprints": s.fingerprints(),
                        "metrics": [m.to_json() for m in s.metrics],
                        "guardrails": [g.to_json() for g in s.guardrails],
                        "comparison_fields": list(s.comparison_fields),
                    }
                    for s in suites
                ]
            }
        )
        return
    rows = []
    for s in suites:
        for sp in s.splits:
            rows.append((s.suite_id, f"{sp.name}_sha", sp.fingerprint, f"{sp.case_count:,}"))
        rows.append((s.suite_id, "evaluation_sha", s.evaluation_sha, f"{s.case_count:,}"))
    out = console()
    if not rows:
        out.print("no suites in the store yet")
        return
    out.print(table(None, ("suite", "fingerprint", "value", "cases"), rows))


@click.command("runs")
@store_option
@click.option("--experiment", help="Only this experiment's runs.")
@json_option
def runs_command(store_path: Path | None, experiment: str | None, as_json: bool) -> None:
    """Runs with artifact, suite and status (comparability is against each experiment's earliest run)."""
    from evaltui.review.report import review_runs  # only this command reviews

    with open_store(store_path, read_only=True) as store:
        names = [experiment] if experiment else [name for name, _ in experiments(store.con)]
        reviews = []
        for name in names:
            runs = list_runs(store.con, experiment=name)
            if runs:
                reviews.append(review_runs(store.con, runs[0].run_id))
    entries = [(review, r) for review in reviews for r in (review.baseline, *review.runs)]
    if as_json:
        emit_json(
            {
                "runs": [
                    {
                        "run_id": r.run_id,
                        "experiment": r.run.experiment,
                        "artifact": r.run.artifact,
                        "suite_id": r.run.suite_id,
                        "started_at": r.run.started_at.isoformat(),
                        "cases": r.run.result_count,
                        "state": r.state,
                        "status": r.status,
                        "incomplete": r.run.incomplete,
                        "baseline": review.baseline.run_id,
                        "comparable": r.comparable,
                        "differences": [d.to_json() for d in r.differences],
                        "evidence_flags": [f.to_json() for f in r.evidence],
                    }
                    for review, r in entries
                ]
            }
        )
        return
    out = console()
    if not entries:
        out.print("no runs in the store yet")
        return
    for review in reviews:
        rows = []
        for r in (review.baseline, *review.runs):
            versus = "baseline" if r.is_baseline else ("comparable" if r.comparable else r.reason)
            style = "dim" if not r.comparable else ""
            flags = counted(len(r.evidence), "flag") if r.evidence else ""
            rows.append(
                (
                    safe(r.run_id, style),
                    safe(r.run.artifact, style),
                    safe(f"{r.run.result_count:,}", style),
                    status_cell(r.state, r.status, style),
                    safe(versus, style),
                    safe(flags, "bold" if flags else ""),
                )
            )
        base = review.baseline.run
        out.print(
            safe(
                f"experiment {base.experiment} (baseline {base.run_id}, suite {base.suite_id})",
                "bold",
            )
        )
        out.print(
            table(None, ("run", "artifact", "cases", "status", "vs baseline", "evidence"), rows)
        )


@click.command("publish")
@PATHS
@click.option(
    "--from-store",
    "from_store",
    is_flag=False,
    flag_value="",
    default=None,
    metavar="[STORE]",
    help="Publish everything a local store holds (default: the store --store would open) "
    "instead of PATHs.",
)
@click.option(
    "--to",
    "target",
    required=True,
    metavar="URI",
    help="The team store: an iceberg+postgresql://USER@HOST/DB?warehouse=... URI or the name of "
    "a [stores.NAME] config entry (secrets from the environment or the config; docs/team.md).",
)
@ALLOW_OUTSIDE
@json_option
def publish_command(
    paths: tuple[Path, ...],
    from_store: str | None,
    target: str,
    allow_outside: bool,
    as_json: bool,
) -> None:
    """Publish suites, gates and runs to a team store (one Iceberg commit per table).

    PATHs are checked like `load` (in a temporary local store), then what the team store does
    not hold yet is appended; publishing the same records again adds nothing. A suite or run
    whose id is there with other content is refused, and a failure leaves the previous snapshot
    current.
    """
    from evaltui.actions import team as actions_team
    from evaltui.actions.store import is_team_store

    if not is_team_store(target):
        raise click.UsageError(
            f"--to {visible(target)}: not a team store (an iceberg+postgresql:// URI or a "
            "[stores.NAME] name of the config)"
        )
    if (from_store is None) == (not paths):
        raise click.UsageError("give either PATHs to publish or --from-store [STORE]")
    if from_store is not None:
        with open_store(from_store or None, read_only=True) as store:
            summary = actions_team.publish_store(target, store)
    else:
        summary = actions_team.publish_paths(
            target, paths, allow_outside=allow_outside, on_note=say_waiting
        )
    if as_json:
        emit_json(summary.to_json())
    else:
        click.echo(visible(summary.line(), limit=ERROR_LINE_LIMIT))
