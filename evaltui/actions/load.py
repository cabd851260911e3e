"""Load native records, or import another tool's log, into a store: all or nothing.

Everything is read and validated before the store is opened for writing, so a bad file never
leaves a half-loaded store and a long validation never holds the write lock. `open_store` is
called only when there is something to write (the surface decides how long to wait for it).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evaltui.contract.discover import read_batch
from evaltui.errors import InputError
from evaltui.importers.pipeline import Prepared, prepare
from evaltui.plural import count
from evaltui.store.connection import Store
from evaltui.store.loader import IMPORT_MEMORY_LIMIT_MB, LoadSummary, load_batch

StoreOpener = Callable[[], Store]


def load_paths(
    paths: tuple[Path, ...], open_store: StoreOpener, *, replace: bool, allow_outside: bool
) -> tuple[Path, LoadSummary]:
    """Validate everything first, then write it in one transaction; (store path, summary)."""
    batch = read_batch(paths, allow_outside=allow_outside)
    if not (batch.suites or batch.runs or batch.gates):
        skipped = f" ({count(len(batch.skipped), 'other file')} skipped)" if batch.skipped else ""
        raise InputError(
            paths[0] if len(paths) == 1 else None,
            "nothing to load: no suite, run or gates record found"
            + skipped
            + "; logs of other tools go through `evaltui import TOOL SOURCE`",
        )
    with open_store() as store:
        return store.path, load_batch(store, batch, replace=replace)


@dataclass(frozen=True, slots=True)
class ImportOutcome:
    """What an import did: the report (`evaltui import --json` prints it as is), and the store
    and load summary when it loaded."""

    report: dict[str, Any]
    store: Path | None = None
    summary: LoadSummary | None = None
    written: list[Path] = field(default_factory=list)


def import_log(
    tool: str,
    source: Path,
    open_store: StoreOpener | None,
    *,
    out: Path | None,
    replace: bool,
    columns: Mapping[str, str] | None = None,
) -> ImportOutcome:
    """Read and validate `source` with the `tool` importer, write the native records into `out`
    (if given), then load them (unless `open_store` is None) in one transaction."""
    store: Path | None = None
    summary: LoadSummary | None = None
    written: list[Path] = []
    with prepare(tool, source, columns=columns) as prepared:
        if out is not None:
            written = prepared.write(out, overwrite=replace)
        if open_store is not None:
            with open_store() as opened:
                store = opened.path
                summary = load_batch(
                    opened, prepared.batch, replace=replace, memory_mb=IMPORT_MEMORY_LIMIT_MB
                )
        report = import_report(tool, source, prepared, written, store, summary)
    return ImportOutcome(report, store, summary, written)


def import_report(
    tool: str,
    source: Path,
    prepared: Prepared,
    written: list[Path],
    store: Path | None,
    summary: LoadSummary | None,
) -> dict[str, Any]:
    return {
        "tool": tool,
        "source": str(source),
        "store": str(store) if store is not None else None,
        "runs": [
            {
                "run_id": run.run_id,
                "experiment": run.doc["experiment"],
                "artifact": run.doc["artifact"],
                "suite_id": run.doc["suite_id"],
                "cases": len(run.doc["cases"]),
                "source": str(run.source),
                "notes": list(run.notes),
            }
            for run in prepared.imported.runs
        ],
        "suites": [
            {"suite_id": s.suite_id, "cases": s.case_count, "fingerprints": s.fingerprints()}
            for s in prepared.batch.suites
        ],
        "skipped": [s.to_json() for s in prepared.imported.skipped],
        "written": [str(p) for p in written],
        "load": summary.to_json() if summary is not None else None,
    }
