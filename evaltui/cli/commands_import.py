"""`evaltui import TOOL SOURCE`: other tools' logs become native runs and suites."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import click
from rich.text import Text

from evaltui.actions.load import import_log
from evaltui.cli.commands_store import REPLACE, describe_load
from evaltui.cli.options import json_option, open_store, store_option
from evaltui.cli.render import console, emit_json, safe, table
from evaltui.importers.pipeline import IMPORTERS, TOOLS, source_path
from evaltui.plural import count as counted
from evaltui.sanitize import visible
from evaltui.store.loader import LoadSummary

COLUMN_ROLES = ("pred", "label", "id", "input")
COLUMNS = click.option(
    "--columns",
    "columns_text",
    metavar="pred=COL,label=COL",
    help="Which table columns hold the prediction, the label, the case id and the input "
    "(overrides the rules in docs/importers.md; any part may be left out).",
)


def parse_columns(text: str | None) -> dict[str, str] | None:
    """`pred=COL,label=COL,...` (any part optional) as {"pred": COL, "label": COL, ...}."""
    if text is None:
        return None
    columns: dict[str, str] = {}
    for part in text.split(","):
        key, sep, value = part.partition("=")
        key, value = key.strip(), value.strip()
        if not sep or key not in COLUMN_ROLES or not value:
            raise click.BadParameter(
                f"expected {'/'.join(COLUMN_ROLES)}=COLUMN pairs separated by commas, found {part!r}",
                param_hint="--columns",
            )
        if key in columns:
            raise click.BadParameter(f"{key!r} is given twice", param_hint="--columns")
        columns[key] = value
    return columns


@click.group("import")
@store_option
@click.pass_context
def import_group(ctx: click.Context, store_path: Path | None) -> None:
    """Convert another tool's logs into runs and suites, then load them like `evaltui load`.

    \b
    evaltui import lm-eval SOURCE   lm-evaluation-harness results + samples
    evaltui import inspect SOURCE   inspect_ai .eval / .json logs
    evaltui import mlflow SOURCE    MLflow file store or mlflow.db, with a predictions artifact
    evaltui import promptfoo FILE   promptfoo eval -o results.json output
    evaltui import wandb PATH       W&B run folders (offline or synced) or a table export
    evaltui import openai-evals FILE  OpenAI Evals record logs (JSONL)

    Every run gets a suite per task (or dataset) whose id ends in a digest of its cases, so
    runs of the same task on the same cases are comparable. Re-importing is a no-op. A file
    that is not such a log, or a damaged one, is refused (exit 2) and nothing is loaded.
    """
    ctx.obj = {"store": store_path}  # `evaltui --store X import ...` puts --store here


def _import_command(tool: str) -> click.Command:
    spec = IMPORTERS[tool]

    @click.command(tool, help=f"Import {spec.source_help}", short_help=spec.short)
    @click.argument("source")
    @store_option
    @click.option(
        "--out",
        type=click.Path(file_okay=False, path_type=Path),
        help="Also write the native records (*.suite.json, *.run.json) into this folder, to commit them.",
    )
    @click.option(
        "--no-load",
        is_flag=True,
        help="Only write the records (needs --out); leave the store alone.",
    )
    @REPLACE
    @json_option
    @click.pass_context
    def command(
        ctx: click.Context,
        source: str,
        store_path: Path | None,
        out: Path | None,
        no_load: bool,
        replace: bool,
        as_json: bool,
        columns_text: str | None = None,
    ) -> None:
        if no_load and out is None:
            raise click.UsageError("--no-load only makes sense with --out DIR")
        run_import(
            tool,
            source_path(tool, source),
            store_path or (ctx.obj or {}).get("store"),
            out=out,
            load=not no_load,
            replace=replace,
            as_json=as_json,
            columns=parse_columns(columns_text),
        )

    return COLUMNS(command) if spec.takes_columns else command


def run_import(
    tool: str,
    source: Path,
    store_path: Path | None,
    *,
    out: Path | None,
    load: bool,
    replace: bool,
    as_json: bool,
    columns: Mapping[str, str] | None = None,
) -> None:
    """Read, validate, optionally write, then load in one transaction (all or nothing)."""
    outcome = import_log(
        tool,
        source,
        (lambda: open_store(store_path, read_only=False)) if load else None,
        out=out,
        replace=replace,
        columns=columns,
    )
    if as_json:
        emit_json(outcome.report)
    else:
        _print(outcome.report, outcome.store, outcome.summary)


def _print(report: dict[str, Any], store: Path | None, summary: LoadSummary | None) -> None:
    out = console()
    runs = report["runs"]
    out.print(
        Text.assemble(
            (f"{report['tool']}: ", "bold"),
            f"{counted(len(runs), 'run')}, {counted(len(report['suites']), 'suite')} from ",
            safe(report["source"], limit=400),
        )
    )
    rows = [
        (
            safe(r["run_id"], limit=90),
            safe(r["artifact"], limit=60),
            safe(r["suite_id"], limit=60),
            safe(f"{r['cases']:,}"),
            safe("; ".join(r["notes"]), limit=160),
        )
        for r in runs
    ]
    out.print(table(None, ("run", "artifact", "suite", "cases", "notes"), rows))
    for skipped in report["skipped"]:
        out.print(
            Text.assemble(
                ("skipped ", "dim"),
                safe(skipped["path"], "dim", 300),
                ": ",
                safe(skipped["reason"], "dim", 300),
            )
        )
    if report["written"]:
        out.print(
            Text(
                f"wrote {counted(len(report['written']), 'file')} into {visible(Path(report['written'][0]).parent)}"
            )
        )
    if store is not None and summary is not None:
        click.echo(visible(describe_load(store, summary)))


for _tool in TOOLS:
    import_group.add_command(_import_command(_tool))
