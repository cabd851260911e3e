"""Weights & Biases runs as written by `wandb` on disk, and W&B table exports.

SOURCE is a run folder (`wandb/run-<time>-<id>/`, `wandb/offline-run-<time>-<id>/`), the `wandb/`
folder holding them, the project folder holding `wandb/`, a `run-<id>.wandb` file, a logged
`*.table.json`, or a table exported as JSON (`{"columns": [...], "data": [[...]]}`) or CSV (a
header row of column names). `wandb/latest-run` is a link W&B keeps to the newest run: inside the
`wandb/` folder it is skipped (its run is read under its own name); passed by name it reads the run
it points to.

Each table a run logged (`files/media/table/<key>_<step>_<hash>.table.json`; the newest step of
each key, as the summary points to it) becomes one evaltui run; its rows are the cases. Columns
are chosen by name, case-insensitively, first match wins (`--columns pred=COL,label=COL,id=COL,
input=COL` overrides any of them):

- case id: ID_COLUMNS, else the row number (`row-1`, ...);
- prediction: PREDICTED_COLUMNS; label: EXPECTED_COLUMNS; inputs: INPUT_COLUMNS;
- without a prediction/label pair, a verdict column (VERDICT_COLUMNS, booleans or 0/1) judges.

With a prediction and a label, every case expects its label and the route is the prediction
("labels" judging) when both are short one-line labels in every row; when either is free text,
the route is CORRECT when the two match after trimming, INCORRECT otherwise ("match" judging).
With a verdict column every case expects CORRECT and the route is CORRECT/INCORRECT.

The suite is the table's id, label and input columns: two runs that logged the same rows share it
and pair case by case. The column choice and judging are the run's evaluator identity
(`wandb.judging`, a comparison field): a table judged by another rule is never ranked against it.
Config (files/config.yaml, else the .wandb log) becomes params, the summary's numbers metrics,
W&B tags, group and job type tags.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from evaltui.contract.fingerprint import COMBINED_FIELD
from evaltui.contract.jsonio import decode_text, parse_json_bytes
from evaltui.errors import InputError
from evaltui.importers.common import (
    BASE_GUARDRAILS,
    BASE_METRICS,
    EPOCH,
    EXPECTED_UNLABELED,
    ROUTE_CORRECT,
    ROUTE_INCORRECT,
    ROUTE_UNSCORED,
    UNLABELED_GUARDRAIL,
    UNLABELED_METRIC,
    Imported,
    as_number,
    compact,
    from_unix,
    importing,
    parse_time,
    require_source,
    run_doc,
    short_label,
    slug,
    suite_doc,
)
from evaltui.importers.wandb_log import RunLog, log_reader_available, read_run_log
from evaltui.plural import count

TOOL = "wandb"
COMPARISON_FIELDS = [COMBINED_FIELD, "wandb.judging"]
METRICS = [*BASE_METRICS, UNLABELED_METRIC]
GUARDRAILS = [UNLABELED_GUARDRAIL, *BASE_GUARDRAILS]
MAX_TABLE_BYTES = 256 * 1024 * 1024  # W&B itself logs tables of at most 200,000 rows
MAX_SMALL_FILE_BYTES = 16 * 1024 * 1024  # config.yaml, wandb-summary.json, wandb-metadata.json
MAX_RUNS = 10_000  # run folders under one SOURCE

ID_COLUMNS = ("case_id", "id", "example_id", "sample_id", "row_id", "uid", "idx", "index")
PREDICTED_COLUMNS = (
    "prediction",
    "pred",
    "predicted",
    "predicted_label",
    "predictions",
    "y_pred",
    "output",
    "model_output",
    "response",
    "completion",
    "generation",
    "answer",
)
EXPECTED_COLUMNS = (
    "label",
    "expected",
    "expected_route",
    "target",
    "ground_truth",
    "gold",
    "reference",
    "truth",
    "y_true",
    "labels",
)
INPUT_COLUMNS = ("input", "inputs", "question", "prompt", "text", "query", "context", "request")
VERDICT_COLUMNS = ("correct", "is_correct", "pass", "passed", "match", "exact_match", "success")

RUN_FOLDER = re.compile(r"^(offline-)?run-(?P<time>\d{8}_\d{6})-(?P<id>[A-Za-z0-9]+)$")
TABLE_FILE = re.compile(r"^(?P<key>.+)_(?P<step>\d+)_(?P<hash>[0-9a-f]{8,64})\.table\.json$")
LATEST_LINK = "latest-run"
TABLE_MEDIA = "media/table"


@dataclass
class RunInfo:
    """One W&B run's header: from its files/ folder, else from its .wandb log."""

    folder: Path
    run_id: str
    log: RunLog
    config: dict[str, Any] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)
    started: datetime = EPOCH
    notes: list[str] = field(default_factory=list)


def read_wandb(source: Path, *, columns: Mapping[str, str] | None = None) -> Imported:
    """Import every logged table of the runs under SOURCE, or one exported table."""
    require_source(source)
    with importing(TOOL) as imported:
        overrides = dict(columns or {})
        if source.is_file():
            run = _run_of_table(source)
            if source.name.endswith(".wandb"):
                _import_run(source.parent, imported, overrides)
            elif run is not None:
                _import_run(run, imported, overrides, only=source)
            else:
                _import_export(source, imported, overrides)
        else:
            folders = run_folders(source)
            if not folders:
                raise InputError(
                    source,
                    "no W&B run folder here (wandb/run-*/ or wandb/offline-run-*/); point at a run "
                    "folder, the wandb/ folder or the folder holding it",
                )
            for folder in folders:
                _import_run(folder, imported, overrides)
        imported.require_runs(source, "W&B run with a logged table")
        return imported


def run_folders(source: Path) -> list[Path]:
    """The run folders SOURCE means: itself, or those in it or in its wandb/ folder."""
    if _is_run_folder(source):
        return [source.resolve() if source.name == LATEST_LINK else source]
    for parent in (source, source / "wandb"):
        if not parent.is_dir():
            continue
        found = sorted(
            p
            for p in parent.iterdir()
            if p.name != LATEST_LINK and RUN_FOLDER.match(p.name) and p.is_dir()
        )
        if found:
            if len(found) > MAX_RUNS:
                raise InputError(parent, f"more than {MAX_RUNS} run folders; import fewer at once")
            return found
    return []


def _is_run_folder(folder: Path) -> bool:
    if RUN_FOLDER.match(folder.name) or folder.name == LATEST_LINK:
        return folder.is_dir()
    return any(folder.glob("run-*.wandb")) or (folder / "files" / "wandb-metadata.json").is_file()


# -- one run folder -------------------------------------------------------------------------------


def _import_run(
    folder: Path, imported: Imported, overrides: dict[str, str], only: Path | None = None
) -> None:
    """Every table key the run logged (at its newest step), or only the table file `only`."""
    media = folder / "files" / TABLE_MEDIA
    tables = _latest_tables(media)
    if only is not None:
        tables = {_table_key(media, only)[0]: only}
    if not tables:
        imported.skip(folder, f"logged no table (nothing under files/{TABLE_MEDIA}/)")
        return
    info = _run_info(folder)
    for key, path in tables.items():
        _import_table(path, key, info, imported, overrides)


def _run_of_table(path: Path) -> Path | None:
    """The run folder of a table file inside it (`<run>/files/media/table/...`), if it is one."""
    for parent in path.parents:
        if parent.name == "files" and path.is_relative_to(parent / TABLE_MEDIA):
            return parent.parent if _is_run_folder(parent.parent) else None
    return None


def _latest_tables(media: Path) -> dict[str, Path]:
    """Per table key, the file of its highest step."""
    best: dict[str, tuple[int, Path]] = {}
    if not media.is_dir():
        return {}
    for path in sorted(media.rglob("*.table.json")):
        key, step = _table_key(media, path)
        if key not in best or step > best[key][0]:
            best[key] = (step, path)
    return {key: path for key, (_step, path) in sorted(best.items())}


def _table_key(media: Path, path: Path) -> tuple[str, int]:
    """The key a table was logged under (`eval/predictions`) and its step (-1 if not named)."""
    match = TABLE_FILE.match(path.name)
    relative = path.relative_to(media).parent.as_posix()
    name = match["key"] if match else path.name.removesuffix(".table.json")
    return (f"{relative}/{name}" if relative != "." else name), (
        int(match["step"]) if match else -1
    )


def _run_info(folder: Path) -> RunInfo:
    files = folder / "files"
    config_file, summary_file = files / "config.yaml", files / "wandb-summary.json"
    logs = sorted(folder.glob("run-*.wandb"))
    log = RunLog()
    notes: list[str] = []
    has_files = config_file.is_file() and summary_file.is_file()
    if not has_files and not logs:
        raise InputError(
            folder, "no files/config.yaml, files/wandb-summary.json or run-*.wandb in this run"
        )
    if logs and (not has_files or log_reader_available()):
        # Needed for an offline run (config and summary live only there); for a synced one it
        # adds the project, name, tags and start time when W&B's package is installed.
        log = read_run_log(logs[0])
        if not has_files:
            notes.append(f"config and summary read from {logs[0].name}")
        if not log.finished:
            notes.append("the run log has no exit record (still running, or killed)")
    elif logs:
        notes.append("project, name and tags are in the .wandb log: pip install 'evaltui[wandb]'")
    config = _config(config_file) if config_file.is_file() else log.config
    summary = _small_json(summary_file) if summary_file.is_file() else log.summary
    metadata = (
        _small_json(files / "wandb-metadata.json")
        if (files / "wandb-metadata.json").is_file()
        else {}
    )
    match = RUN_FOLDER.match(folder.name)
    run_id = log.run_id or (match["id"] if match else None) or folder.name
    started = (
        (from_unix(log.start_time) if log.start_time else None)
        or parse_time(metadata.get("startedAt"))
        or (_folder_time(match["time"]) if match else None)
        or EPOCH
    )
    if metadata:
        log.project = log.project or _text(metadata.get("project"))
    return RunInfo(folder, run_id, log, config, summary, started, notes)


def _config(path: Path) -> dict[str, Any]:
    """files/config.yaml: each key holds {value: ..., desc: ...}; W&B's own keys are dropped."""
    data = _small_bytes(path)
    try:
        doc = yaml.safe_load(decode_text(data, path))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise InputError(path, "not valid YAML", mark.line + 1 if mark else None) from None
    if doc is None:
        return {}
    if not isinstance(doc, dict):
        raise InputError(path, "not a W&B config (expected a mapping of keys)")
    config: dict[str, Any] = {}
    for key, entry in doc.items():
        if key == "wandb_version":
            continue
        config[str(key)] = (
            entry.get("value") if isinstance(entry, dict) and "value" in entry else entry
        )
    return config


def _small_bytes(path: Path) -> bytes:
    try:
        size = path.stat().st_size
        if size > MAX_SMALL_FILE_BYTES:
            raise InputError(
                path,
                f"{size:,} bytes, more than this file ever holds ({MAX_SMALL_FILE_BYTES / 2**20:g} MiB)",
            )
        return path.read_bytes()
    except OSError as exc:
        raise InputError(path, f"cannot read file: {exc.strerror}") from None


def _small_json(path: Path) -> dict[str, Any]:
    doc = parse_json_bytes(_small_bytes(path), path, strict=False)
    if not isinstance(doc, dict):
        raise InputError(path, "expected a JSON object")
    return doc


def _folder_time(text: str) -> datetime | None:
    try:
        return parse_time(datetime.strptime(text, "%Y%m%d_%H%M%S").isoformat())
    except ValueError:
        return None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


# -- tables ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Choice:
    """Which columns judge the table, and how (`labels`, `match` or `verdict`)."""

    id: str | None
    pred: str | None
    label: str | None
    verdict: str | None
    inputs: tuple[str, ...]
    judging: str

    def describe(self) -> str:
        parts = [
            f"{role}={name}"
            for role, name in (
                ("pred", self.pred),
                ("label", self.label),
                ("verdict", self.verdict),
            )
            if name
        ]
        return f"{self.judging}: {', '.join(parts)}"


def read_table(path: Path) -> tuple[list[str], list[list[Any]]]:
    """A W&B table file or export: its column names and rows (lists of cell values)."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise InputError(path, f"cannot read file: {exc.strerror}") from None
    if size > MAX_TABLE_BYTES:
        raise InputError(
            path,
            f"{size:,} bytes: larger than the {MAX_TABLE_BYTES / 2**20:g} MiB a W&B table holds",
        )
    data = _read_bytes(path)
    if path.suffix.lower() == ".csv":
        return _csv_table(data, path)
    doc = parse_json_bytes(data, path, strict=False)
    if isinstance(doc, dict) and isinstance(doc.get("columns"), list):
        columns, rows = doc["columns"], doc.get("data")
    else:
        raise InputError(path, 'not a W&B table (expected {"columns": [...], "data": [[...]]})')
    if not all(isinstance(c, str | int) and not isinstance(c, bool) for c in columns):
        raise InputError(path, "table columns must be names (strings)")
    names = [str(c) for c in columns]
    if len(set(names)) != len(names):
        raise InputError(path, "a column name repeats")
    if not isinstance(rows, list):
        raise InputError(path, "table 'data' must be an array of rows")
    for number, row in enumerate(rows, start=1):
        if not isinstance(row, list) or len(row) != len(names):
            raise InputError(path, f"row {number} must be an array of {count(len(names), 'cell')}")
    return names, rows


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InputError(path, f"cannot read file: {exc.strerror}") from None


def _csv_table(data: bytes, path: Path) -> tuple[list[str], list[list[Any]]]:
    text = decode_text(data, path)
    try:
        reader = csv.reader(io.StringIO(text, newline=""))
        header = next(reader, None)
        if not header:
            raise InputError(path, "the CSV file has no header row")
        rows = []
        for number, row in enumerate(reader, start=2):
            if not row:
                continue
            if len(row) != len(header):
                raise InputError(
                    path, f"{count(len(row), 'cell')}, the header has {len(header)}", number
                )
            rows.append(list(row))
    except csv.Error as exc:
        raise InputError(path, f"not valid CSV: {exc}") from None
    names = [h.strip() for h in header]
    if len(set(names)) != len(names) or "" in names:
        raise InputError(path, "the header names a column twice, or has an empty name", 1)
    return names, rows


def choose_columns(names: list[str], overrides: Mapping[str, str], path: Path) -> Choice:
    lowered = {n.lower(): n for n in names}
    for role, name in overrides.items():
        if name not in names:
            raise InputError(
                path,
                f"--columns {role}={name}: no such column; the table has {', '.join(repr(n) for n in names)}",
            )

    def pick(role: str, candidates: tuple[str, ...]) -> str | None:
        if role in overrides:
            return overrides[role]
        return next((lowered[c] for c in candidates if c in lowered), None)

    case_id = pick("id", ID_COLUMNS)
    pred = pick("pred", PREDICTED_COLUMNS)
    label = pick("label", EXPECTED_COLUMNS)
    if pred is not None and pred == label:
        raise InputError(path, f"column {pred!r} cannot be both the prediction and the label")
    verdict = None
    if pred is None or label is None:
        verdict = next((lowered[c] for c in VERDICT_COLUMNS if c in lowered), None)
    if pred is None and verdict is None:
        raise InputError(
            path,
            f"no prediction column ({', '.join(PREDICTED_COLUMNS[:6])}, ...) or verdict column "
            f"({', '.join(VERDICT_COLUMNS[:4])}, ...); the table has "
            f"{', '.join(repr(n) for n in names[:20])}: name them with --columns pred=COL,label=COL",
        )
    taken = {case_id, pred, label, verdict}
    if "input" in overrides:
        inputs: tuple[str, ...] = (overrides["input"],)
    else:
        inputs = tuple(
            lowered[c] for c in INPUT_COLUMNS if c in lowered and lowered[c] not in taken
        )
    judging = "verdict" if verdict is not None else "labels"
    return Choice(case_id, pred, label, verdict, inputs, judging)


def _import_table(
    path: Path,
    key: str,
    info: RunInfo,
    imported: Imported,
    overrides: dict[str, str],
    task: str | None = None,
) -> None:
    names, rows = read_table(path)
    if not rows:
        imported.skip(path, "the table has no rows")
        return
    choice = choose_columns(names, overrides, path)
    index = {name: i for i, name in enumerate(names)}
    if choice.judging == "labels" and choice.label is not None:
        short = all(
            _label(row[index[choice.label]]) is not None
            and _label(row[index[choice.pred]]) is not None  # type: ignore[index]
            for row in rows
        )
        if not short:
            choice = Choice(choice.id, choice.pred, choice.label, None, choice.inputs, "match")
    cases, results = _cases(rows, names, choice, path)
    split = "rows"
    # The suite is named for the table alone (not the project, which a synced run's files do not
    # record): runs that logged the same rows under the same key share it however they were read.
    name = task or key
    suite = suite_doc(
        TOOL,
        name,
        split,
        cases,
        description=f"W&B table {name!r}: {len(cases)} row(s)",
        comparison_fields=COMPARISON_FIELDS,
        metrics=METRICS,
        guardrails=GUARDRAILS,
    )
    params: dict[str, Any] = {k: v for k, v in info.config.items() if not k.startswith("_")}
    params.update(
        {
            "wandb.run_id": info.run_id,
            "wandb.project": info.log.project,
            "wandb.entity": info.log.entity,
            "wandb.table": key,
            "wandb.table_file": path.relative_to(info.folder).as_posix()
            if path.is_relative_to(info.folder)
            else path.name,
            "wandb.judging": choice.describe(),
            "wandb.case_id_column": choice.id,
        }
    )
    metrics = {
        k: v for k, v in info.summary.items() if not k.startswith("_") and as_number(v) is not None
    }
    tags: dict[str, Any] = {
        "imported_from": TOOL,
        "wandb.name": info.log.display_name,
        "wandb.group": info.log.group,
        "wandb.job_type": info.log.job_type,
        "wandb.tags": ", ".join(info.log.tags) if info.log.tags else None,
        "wandb.notes": info.log.notes,
        "wandb.run_folder": info.folder.name,
    }
    artifact = _artifact(info)
    doc = run_doc(
        run_id=f"{TOOL}:{slug(info.run_id, 'run')}:{slug(key)}",
        experiment=f"{TOOL}:{info.log.project or name}",
        artifact=artifact,
        suite=suite,
        started_at=info.started,
        params=params,
        metrics=metrics,
        tags=tags,
        cases=results,
        artifacts=[path.name],
    )
    notes = [*info.notes, f"judged by {choice.describe()}"]
    if choice.label is None and choice.verdict is None:
        notes.append("no label column: cases expect UNLABELED (rejected by unlabeled_cases == 0)")
    imported.add(suite, doc, path, notes)


def _artifact(info: RunInfo) -> str:
    """What was evaluated: a config value naming the model, else the run's name, else its id."""
    for key in ("model", "model_name", "model_id", "artifact", "checkpoint"):
        value = short_label(info.config.get(key), 200)
        if value:
            return value
    return info.log.display_name or info.run_id


def _label(value: Any) -> str | None:
    """A cell as a one-line label (numbers as written, integral floats without .0)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            return None
        return str(int(value)) if value.is_integer() and abs(value) < 2**63 else repr(value)
    return short_label(value)


def _verdict(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in ("true", "false", "1", "0"):
        return value.strip().lower() in ("true", "1")
    return None


def _cases(
    rows: list[list[Any]], names: list[str], choice: Choice, path: Path
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    index = {name: i for i, name in enumerate(names)}
    in_case = {choice.id, choice.label, *choice.inputs}
    cases: list[dict[str, Any]] = []
    results: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    for number, row in enumerate(rows, start=1):
        case_id = _label(row[index[choice.id]]) if choice.id else f"row-{number}"
        if not case_id:
            raise InputError(
                path, f"row {number}: the case id in {choice.id!r} is empty or not a one-line value"
            )
        if case_id in seen:
            raise InputError(path, f"row {number}: case id {case_id!r} repeats row {seen[case_id]}")
        seen[case_id] = number
        label = row[index[choice.label]] if choice.label else None
        pred = row[index[choice.pred]] if choice.pred else None
        case: dict[str, Any] = {"case_id": case_id}
        result: dict[str, Any] = {"case_id": case_id}
        if choice.judging == "labels":
            case["expected_route"] = _label(label) if choice.label else EXPECTED_UNLABELED
            result["route"] = _label(pred) or ROUTE_UNSCORED
        elif choice.judging == "match":
            case["expected_route"] = ROUTE_CORRECT
            if pred is None or label is None:
                result["route"] = ROUTE_UNSCORED
            else:
                same = _as_text(pred).strip() == _as_text(label).strip()
                result["route"] = ROUTE_CORRECT if same else ROUTE_INCORRECT
        else:
            case["expected_route"] = ROUTE_CORRECT
            verdict = _verdict(row[index[choice.verdict]])  # type: ignore[index]
            result["route"] = (
                ROUTE_UNSCORED if verdict is None else ROUTE_CORRECT if verdict else ROUTE_INCORRECT
            )
        for name in names:
            if name in in_case and name != choice.id:
                case[name if name not in ("case_id", "expected_route") else f"wandb_{name}"] = row[
                    index[name]
                ]
        if pred is not None:
            result["output"] = _as_text(pred)
        score = as_number(row[index["score"]]) if "score" in index else None
        if score is not None:
            result["score"] = score
        extra = {
            n: row[index[n]] for n in names if n not in in_case and n not in (choice.pred, "score")
        }
        if extra:
            result["metadata"] = extra
        cases.append(case)
        results.append(result)
    return cases, results


def _as_text(value: Any) -> str:
    return value if isinstance(value, str) else compact(value)


# -- exported tables ------------------------------------------------------------------------------


def _import_export(path: Path, imported: Imported, overrides: dict[str, str]) -> None:
    """A table file on its own: no run header, so the file names the run."""
    if not (path.name.endswith(".json") or path.suffix.lower() == ".csv"):
        raise InputError(
            path,
            "not a W&B table: expected a *.table.json, an exported .json or .csv, or a .wandb log",
        )
    match = TABLE_FILE.match(path.name)
    key = (
        match["key"]
        if match
        else path.name.removesuffix(".json").removesuffix(".table").removesuffix(".csv")
    )
    info = RunInfo(path.parent, f"export-{key}", RunLog(), started=EPOCH)
    # The suite is named for what the rows are, not for the file: two exports of the same table
    # from two runs pair case by case whatever their file names.
    _import_table(path, key, info, imported, overrides, task="table")
