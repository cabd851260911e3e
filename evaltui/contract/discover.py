"""Finding and parsing evaltui records in the paths a user names.

A folder is walked (dot-folders such as `.evaltui/` and `.git/` are not entered). These are read:
`*.suite.json`, `*.run.json`, `*.runs.jsonl`, `*.gates.json` and any other `.json` whose `kind` starts with
`evaltui.`. Every other file is skipped and counted, except data files that a record refers to.
Every record is validated before anything touches the store, and all problems are reported.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evaltui.contract.gates import parse_gates
from evaltui.contract.jsonio import iter_jsonl, read_json_file
from evaltui.contract.model import KIND_GATES, KIND_RUN, KIND_SUITE, Gates, Run, Suite
from evaltui.contract.paths import check_inside
from evaltui.contract.run import parse_run
from evaltui.contract.suite import parse_suite
from evaltui.errors import EvaltuiError, InputError, InputErrors, raise_collected

KNOWN_KINDS = (KIND_SUITE, KIND_RUN, KIND_GATES)
NAMED_SUFFIXES = (".suite.json", ".run.json", ".runs.jsonl", ".gates.json")


@dataclass
class Batch:
    """Everything one load call will write, already validated."""

    suites: list[Suite] = field(default_factory=list)
    runs: list[Run] = field(default_factory=list)
    skipped: list[Path] = field(default_factory=list)
    gates: list[Gates] = field(default_factory=list)

    @property
    def referenced(self) -> set[Path]:
        files = {r.cases_file.path for r in self.runs if r.cases_file is not None}
        files.update(s.source_path for suite in self.suites for s in suite.splits if s.source_path)
        return files

    def cancel(self) -> None:
        """Stop hashing cases that will not be loaded (see `model.Digest`)."""
        for suite in self.suites:
            for digest in (*(split.digest for split in suite.splits), suite.evaluation):
                digest.cancel()
            suite.content.cancel()
        for run in self.runs:
            run.content.cancel()

    def extend(self, other: Batch) -> None:
        self.suites.extend(other.suites)
        self.runs.extend(other.runs)
        self.skipped.extend(other.skipped)
        self.gates.extend(other.gates)


def read_batch(paths: Iterable[Path], *, allow_outside: bool = False) -> Batch:
    """Parse every record under `paths`; raise all problems found, or return the batch."""
    batch = Batch()
    errors: list[InputError] = []
    for given in paths:
        if given.is_dir():
            root = given
            for file in _walk(given):
                _read_file(file, root, batch, errors, explicit=False, allow_outside=allow_outside)
        elif given.exists():
            _read_file(
                given, given.parent, batch, errors, explicit=True, allow_outside=allow_outside
            )
        else:
            errors.append(InputError(given, "no such file or folder"))
    referenced = batch.referenced
    batch.skipped = [p for p in batch.skipped if _resolved(p) not in referenced]
    _check_duplicates(batch, errors)
    if errors:
        batch.cancel()
    raise_collected(errors)
    return batch


def parse_record(
    doc: Any, path: Path, root: Path, *, line: int | None = None, allow_outside: bool = False
) -> Suite | Run | Gates:
    """Dispatch one JSON document on its `kind`."""
    kind = doc.get("kind") if isinstance(doc, dict) else None
    if kind == KIND_SUITE:
        return parse_suite(doc, path, root, allow_outside=allow_outside)
    if kind == KIND_GATES:
        return parse_gates(doc, path)
    if kind == KIND_RUN:
        return parse_run(doc, path, root, line=line, allow_outside=allow_outside)
    if kind is None:
        raise InputError(path, f"missing field 'kind' (one of {', '.join(KNOWN_KINDS)})", line)
    raise InputError(
        path, f"unknown kind {kind!r} (this evaltui reads {', '.join(KNOWN_KINDS)})", line
    )


def _walk(folder: Path) -> list[Path]:
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        found.extend(Path(dirpath) / name for name in sorted(filenames) if not name.startswith("."))
    return found


def _resolved(path: Path) -> Path | None:
    """Where `path` leads; None for a symlink loop or an unreadable link."""
    try:
        return path.resolve()
    except (OSError, RuntimeError):
        return None


def _read_file(
    path: Path,
    root: Path,
    batch: Batch,
    errors: list[InputError],
    *,
    explicit: bool,
    allow_outside: bool,
) -> None:
    name = path.name.lower()
    if not _is_utf8(str(path)):  # the name, or a folder on the way
        if explicit or name.endswith((".json", ".jsonl")):
            errors.append(InputError(path, "the file or folder name is not valid UTF-8; rename it"))
        else:
            batch.skipped.append(path)
        return
    try:
        if not explicit and name.endswith(NAMED_SUFFIXES):
            check_inside(path, root, allow_outside=allow_outside)
        elif (
            not explicit
            and name.endswith(".json")
            and not allow_outside
            and _links_outside(path, root)
        ):
            batch.skipped.append(path)  # not a record by its name: not worth following out
            return
        if name.endswith(".runs.jsonl"):
            for number, doc in iter_jsonl(path):
                _add(batch, parse_record(doc, path, root, line=number, allow_outside=allow_outside))
            return
        if name.endswith(".json"):
            named = name.endswith((".suite.json", ".run.json", ".gates.json"))
            if not named and not explicit and not _looks_like_evaltui(path):
                batch.skipped.append(path)
                return
            doc = read_json_file(path)
            kind = doc.get("kind") if isinstance(doc, dict) else None
            if not named and not (isinstance(kind, str) and kind.startswith("evaltui.")):
                if explicit:
                    raise InputError(
                        path, "not an evaltui record (no 'kind' starting with 'evaltui.')"
                    )
                batch.skipped.append(path)
                return
            _add(batch, parse_record(doc, path, root, allow_outside=allow_outside))
            return
    except InputErrors as exc:
        errors.extend(exc.errors)
        return
    except InputError as exc:
        errors.append(exc)
        return
    except EvaltuiError as exc:
        errors.append(InputError(path, str(exc)))
        return
    if explicit:
        errors.append(
            InputError(
                path,
                "not an evaltui file: expected *.suite.json, *.run.json, *.runs.jsonl, *.gates.json "
                "or a .json record with kind evaltui.*",
            )
        )
    else:
        batch.skipped.append(path)


def _is_utf8(name: str) -> bool:
    """False for a name with bytes that are not UTF-8 (Python holds them as lone surrogates)."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _links_outside(path: Path, root: Path) -> bool:
    try:
        check_inside(path, root)
    except InputError:
        return True
    return False


def _looks_like_evaltui(path: Path) -> bool:
    """Cheap pre-check for other .json files: does the start mention an evaltui kind?"""
    try:
        if not path.is_file():  # a FIFO would block the open; let the real read refuse it
            return True
        with path.open("rb") as handle:
            head = handle.read(64 * 1024)
    except OSError:
        return True  # let the real read report the problem
    return b"evaltui." in head or len(head) == 64 * 1024  # a bigger file is read to be sure


def _add(batch: Batch, record: Suite | Run | Gates) -> None:
    if isinstance(record, Suite):
        batch.suites.append(record)
    elif isinstance(record, Gates):
        batch.gates.append(record)
    else:
        batch.runs.append(record)


def _check_duplicates(batch: Batch, errors: list[InputError]) -> None:
    suites: dict[str, Suite] = {}
    for suite in batch.suites:
        first = suites.setdefault(suite.suite_id, suite)
        if first is not suite and first.content_sha != suite.content_sha:
            errors.append(
                InputError(
                    suite.path,
                    f"suite_id {suite.suite_id!r} is also defined, differently, in {first.path}",
                )
            )
    runs: dict[str, Run] = {}
    for run in batch.runs:
        first_run = runs.setdefault(run.run_id, run)
        if first_run is not run and first_run.content_sha != run.content_sha:
            errors.append(
                InputError(
                    run.path,
                    f"run_id {run.run_id!r} is also defined, differently, in {first_run.origin}",
                    run.line,
                )
            )
    gates: dict[str, Gates] = {}
    for gate in batch.gates:
        first_gate = gates.setdefault(gate.suite_id, gate)
        if first_gate is not gate and first_gate.content_sha != gate.content_sha:
            errors.append(
                InputError(
                    gate.path,
                    f"gates for suite {gate.suite_id!r} are also given, differently, "
                    f"in {first_gate.path}",
                )
            )
    batch.gates = list(gates.values())
    batch.suites = list(suites.values())  # identical repeats are loaded once
    batch.runs = list(runs.values())
