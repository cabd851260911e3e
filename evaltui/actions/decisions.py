"""Read the decision log next to a store, with the state of each signed file."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb

from evaltui.decision.log import LoggedDecision, read_log


@dataclass(frozen=True, slots=True)
class DecisionLog:
    path: Path
    entries: tuple[LoggedDecision, ...]  # newest first
    problems: tuple[str, ...]


def load_log(con: duckdb.DuckDBPyConnection | None, log_path: Path) -> DecisionLog:
    """The log, newest first, each entry with its file's state (`con` is not needed: a worker
    passes its connection to every call)."""
    del con
    entries, problems = read_log(log_path)
    return DecisionLog(
        log_path, tuple(reversed(entries)), tuple(" / ".join(p.lines()) for p in problems)
    )
