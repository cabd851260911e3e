"""Read the decision log next to a store, with the state of each signed file and the number of
signature files (the decider's and co-signers') beside each."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb

from evaltui.decision.log import LoggedDecision, read_log
from evaltui.decision.signatures import signature_counts
from evaltui.errors import InputError
from evaltui.store.connection import TeamOrigin


@dataclass(frozen=True, slots=True)
class DecisionLog:
    path: Path
    entries: tuple[LoggedDecision, ...]  # newest first
    problems: tuple[str, ...]
    signatures: tuple[int, ...] = ()  # signature files per entry (the decider's and co-signers')

    def signature_count(self, logged: LoggedDecision) -> int | None:
        for index, entry in enumerate(self.entries):
            if entry is logged:
                return self.signatures[index] if index < len(self.signatures) else None
        return None


def decision_json_path(logged: LoggedDecision) -> Path | None:
    """Where the logged decision file was written (None when the entry does not say)."""
    path = logged.entry.get("json_path")
    return Path(path) if isinstance(path, str) and path else None


def load_log(
    con: duckdb.DuckDBPyConnection | None, log_path: Path, team: TeamOrigin | None = None
) -> DecisionLog:
    """The log, newest first, each entry with its file's state and signature count (`con` is
    not needed: a worker passes its connection to every call). On a team store's cache
    (`team`), the team's shared log instead of the file beside the cache."""
    del con
    if team is not None:
        from evaltui.actions.team import team_decisions

        _uri, found = team_decisions(team.target or team.uri)
        entries = [LoggedDecision(entry, 0, str(entry["state"])) for entry in found]
        problems: list[InputError] = []
    else:
        entries, problems = read_log(log_path)
    newest_first = tuple(reversed(entries))
    paths = [decision_json_path(e) for e in newest_first]
    counts = signature_counts([p for p in paths if p is not None])
    return DecisionLog(
        log_path,
        newest_first,
        tuple(" / ".join(p.lines()) for p in problems),
        tuple(0 if p is None else counts.get(p, 0) for p in paths),
    )
