"""Moving records between a local DuckDB store and a team store (`team.py`).

`publish` appends a local store's suites, gates and runs that the team store does not hold yet
(one Iceberg commit per table; see `team.py` for the order and the checks). `pull` copies one
snapshot of the team store into a new local DuckDB store: the cache the review code reads.
Caches live under `$XDG_CACHE_HOME/evaltui/team/`, one folder per team store, one file per
snapshot (`cache_path`); a cache is built under a temporary name and renamed into place, so a
reader never sees half a cache and two builders do not collide.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from evaltui.errors import InputError
from evaltui.plural import count
from evaltui.store.connection import Store
from evaltui.store.team import (
    DETAILS,
    KEYS,
    PUBLISH_ORDER,
    READ_ORDER,
    Snapshots,
    TeamStore,
    export_rows,
    export_schema,
    import_into,
)

CACHE_SUFFIX = ".duckdb"


@dataclass
class PublishSummary:
    target: str  # the team store's URI (no secret in it)
    suites_added: list[str] = field(default_factory=list)
    suites_unchanged: list[str] = field(default_factory=list)
    gates_added: list[str] = field(default_factory=list)
    gates_unchanged: list[str] = field(default_factory=list)
    runs_added: list[str] = field(default_factory=list)
    runs_unchanged: list[str] = field(default_factory=list)
    snapshots: Snapshots = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "to": self.target,
            "suites_added": self.suites_added,
            "suites_unchanged": self.suites_unchanged,
            "gates_added": self.gates_added,
            "gates_unchanged": self.gates_unchanged,
            "runs_added": self.runs_added,
            "runs_unchanged": self.runs_unchanged,
            "snapshots": {k: v for k, v in self.snapshots.items()},
        }

    def line(self) -> str:
        added = [count(len(self.suites_added), "suite"), count(len(self.runs_added), "run")]
        if self.gates_added:
            added.append(count(len(self.gates_added), "gates record"))
        same = len(self.suites_unchanged) + len(self.runs_unchanged) + len(self.gates_unchanged)
        return f"published {', '.join(added)} to {self.target}" + (
            f" ({count(same, 'record')} already there, unchanged)" if same else ""
        )


def _local_keys(con: duckdb.DuckDBPyConnection, table: str) -> dict[str, str]:
    key = KEYS[table]
    return dict(con.execute(f"SELECT {key}, content_sha FROM {table}").fetchall())


def _refusal(table: str, origin: dict[str, str]) -> Any:
    """A refusal for a key the team store holds with other content (the local load's words)."""

    def refuse(key: str, shas: set[str]) -> InputError | None:
        if origin.get(key) is None or shas == {origin[key]}:
            return None
        if origin[key] in shas:  # also held with this content: nothing to add, nothing to refuse
            return None
        if table == "suites":
            message = (
                f"suite_id {key!r} is already in the team store with different cases or "
                "declarations; suites are frozen, so give the changed suite a new suite_id"
            )
        elif table == "gates":
            message = (
                f"suite {key!r} already has different gates in the team store; gates there are "
                "never replaced (load them into a new suite_id)"
            )
        else:
            message = (
                f"run_id {key!r} is already in the team store with different content; runs "
                "there are never replaced, so give the changed run a new run_id"
            )
        return InputError(None, message)

    return refuse


def publish(team: TeamStore, local: Store) -> PublishSummary:
    """Append what `local` holds and `team` does not (all or nothing: see `team.py`)."""
    con = local.con
    summary = PublishSummary(team.location.shown())
    wanted = {table: _local_keys(con, table) for table in KEYS}
    with team.errors():
        team.ensure_tables({name: export_schema(con, name) for name in PUBLISH_ORDER})
        # refuse conflicts before writing anything (checked again at each key table's commit)
        added: dict[str, list[str]] = {}
        missing: dict[str, dict[str, str]] = {}  # key table -> the records it does not hold
        for table, keys in wanted.items():
            held = team.present(table, list(keys))
            refuse = _refusal(table, keys)
            for key, shas in held.items():
                problem = refuse(key, shas)
                if problem is not None:
                    raise problem
            missing[table] = {k: sha for k, sha in keys.items() if sha not in held.get(k, set())}
        for table in PUBLISH_ORDER:
            parent = DETAILS.get(table, table)
            keys = missing[parent] if table in DETAILS else wanted[table]
            if not keys:
                continue
            added[table] = team.append_new(
                table,
                keys,
                functools.partial(export_rows, con, table),
                _refusal(table, keys) if table in KEYS else None,
            )
        summary.snapshots = team.snapshot(refresh=False)
    for table, (new, same) in {
        "suites": (summary.suites_added, summary.suites_unchanged),
        "gates": (summary.gates_added, summary.gates_unchanged),
        "runs": (summary.runs_added, summary.runs_unchanged),
    }.items():
        new += sorted(added.get(table, []))
        same += sorted(set(wanted[table]) - set(new))
    return summary


# -- the local cache -----------------------------------------------------------------------------


def cache_folder(cache_home: Path, team: TeamStore) -> Path:
    where = hashlib.sha256(team.location.shown().encode()).hexdigest()[:16]
    return cache_home / "team" / where


def version_of(locations: Mapping[str, str]) -> str:
    """A short digest of every table's metadata file: changes with every commit."""
    return hashlib.sha256(json.dumps(dict(locations), sort_keys=True).encode()).hexdigest()[:24]


def cache_path(cache_home: Path, team: TeamStore, snapshots: Snapshots) -> Path:
    """The cache of a snapshot a decision recorded."""
    text = json.dumps(snapshots, sort_keys=True)
    return cache_folder(cache_home, team) / (
        "at-" + hashlib.sha256(text.encode()).hexdigest()[:24] + CACHE_SUFFIX
    )


def current_cache_path(cache_home: Path, team: TeamStore, version: str) -> Path:
    """The cache of the tables as the catalog's metadata files `version` make them."""
    return cache_folder(cache_home, team) / (version + CACHE_SUFFIX)


def cached_snapshots(con: duckdb.DuckDBPyConnection) -> Snapshots:
    """The snapshot ids a cache was pulled from (`pull` writes them into it)."""
    row = con.execute("SELECT snapshots FROM team_snapshot").fetchone()
    found = json.loads(row[0]) if row else {}
    return {str(k): (None if v is None else int(v)) for k, v in found.items()}


def pull(team: TeamStore, snapshots: Snapshots, path: Path) -> Path:
    """Build the cache of `snapshots` at `path` (unless it is there already); returns `path`."""
    if path.exists():
        return path
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)  # the team's data: yours only
    temporary = path.with_name(f".{path.stem}.{secrets.token_hex(6)}.building")
    try:
        with Store.open(temporary) as store, team.errors(), store.transaction() as con:
            for name in READ_ORDER:
                reader = team.scan(name, snapshots.get(name))
                if reader is None:
                    continue
                source = f"team_{name}"
                con.register(source, reader)
                try:
                    import_into(con, name, source)
                finally:
                    con.unregister(source)
            con.execute(
                "CREATE TABLE team_snapshot AS SELECT * FROM (VALUES (?, ?)) t(uri, snapshots)",
                [team.location.shown(), json.dumps(snapshots, sort_keys=True)],
            )
        os.replace(temporary, path)
    finally:
        for leftover in (temporary, temporary.with_name(temporary.name + ".wal")):
            with contextlib.suppress(OSError):
                leftover.unlink()
    return path


def drop_other_caches(path: Path, keep: int = 3) -> None:
    """Remove this team store's older caches, keeping the newest `keep` (readers that have one
    open keep reading it: the file goes when they close it)."""
    others = sorted(
        (p for p in path.parent.glob(f"*{CACHE_SUFFIX}") if p != path),
        key=lambda p: p.stat().st_mtime,
        reverse=True,
    )
    for old in others[keep - 1 :]:
        with contextlib.suppress(OSError):
            old.unlink()
