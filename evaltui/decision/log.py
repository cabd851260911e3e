"""The log of past decisions: one JSON line per decision, appended, never rewritten.

It lives next to the store (`<store>.decisions.jsonl`, e.g. `.evaltui/store.decisions.jsonl`),
so the app finds the decisions made on a store wherever their files were written, and it works
with a store opened read-only. Each line names the files and the SHA-256 of the signed bytes, so
listing can say whether a file is still there unchanged. Lines are written with one O_APPEND
write each and fsynced (never through a symlink: `safe_files.append_line`); a line that cannot be parsed is reported, not fatal.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evaltui.decision.files import MAX_DECISION_BYTES
from evaltui.errors import InputError
from evaltui.safe_files import append_line, os_problem, read_regular

LOG_SUFFIX = ".decisions.jsonl"


def log_path_for_store(store_path: Path) -> Path:
    return store_path.with_name(store_path.stem + LOG_SUFFIX)


@dataclass(frozen=True, slots=True)
class LoggedDecision:
    entry: dict[str, Any]
    line: int
    state: str  # "ok", "missing" (file gone) or "changed" (bytes differ from the signed ones)

    @property
    def decision_id(self) -> str:
        return str(self.entry.get("decision_id", ""))

    def to_json(self) -> dict[str, Any]:
        return {**self.entry, "state": self.state}


def append_entry(log_path: Path, entry: dict[str, Any]) -> None:
    line = (
        json.dumps(entry, sort_keys=True, ensure_ascii=True, separators=(",", ":")) + "\n"
    ).encode()
    try:
        log_path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(
            log_path, f"cannot append to the decision log: {os_problem(exc)}"
        ) from None
    try:
        append_line(log_path, line)
    except InputError as exc:
        raise InputError(log_path, f"cannot append to the decision log: {exc.message}") from None


def read_log(log_path: Path) -> tuple[list[LoggedDecision], list[InputError]]:
    """Past decisions, oldest first, each with the state of its file; and unreadable lines."""
    if not log_path.exists() and not log_path.is_symlink():
        return [], []
    try:
        text = read_regular(log_path).decode("utf-8")
    except InputError as exc:
        raise InputError(log_path, f"cannot read the decision log: {exc.message}") from None
    except UnicodeDecodeError as exc:
        raise InputError(log_path, f"cannot read the decision log: {exc}") from None
    out, problems = [], []
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            entry = json.loads(raw)
        except json.JSONDecodeError as exc:
            problems.append(InputError(log_path, f"unreadable log line: {exc.msg}", number))
            continue
        if not isinstance(entry, dict):
            problems.append(InputError(log_path, "log line is not a JSON object", number))
            continue
        out.append(LoggedDecision(entry, number, _state(entry)))
    return out, problems


def _state(entry: dict[str, Any]) -> str:
    path = entry.get("json_path")
    if not isinstance(path, str):
        return "missing"
    try:  # a regular file only: whatever now sits at a logged path must not hang the listing
        data = read_regular(Path(path), limit=MAX_DECISION_BYTES)
    except InputError:
        return "missing"
    return "ok" if hashlib.sha256(data).hexdigest() == entry.get("sha256") else "changed"
