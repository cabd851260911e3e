"""A team's store: publish records to it, open it for review through its local cache, and the
shared decision log (see docs/team.md).

The review code never talks to the team store: `open_team` pulls the current snapshot (or the
one a decision recorded) into a local DuckDB store once and opens that read-only, so every
command and the app run on it unchanged, as fast as on a local store.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from evaltui import settings
from evaltui.contract.discover import read_batch
from evaltui.decision.record import DecisionRecord
from evaltui.decision.writer import WrittenDecision, log_entry
from evaltui.errors import InputError, StoreError
from evaltui.store.connection import Store, TeamOrigin
from evaltui.store.loader import load_batch
from evaltui.store.queries_verdicts import set_team_source
from evaltui.store.team import READ_ORDER, Snapshots, TeamStore
from evaltui.store.team_sync import (
    PublishSummary,
    cache_folder,
    cache_path,
    cached_snapshots,
    current_cache_path,
    drop_other_caches,
    publish,
    pull,
    version_of,
)

Note = Callable[[str], None]
DECISION_EVENT = "decision"


@contextmanager
def connect(target: str | Path, option: str = "--store") -> Iterator[TeamStore]:
    """The team store `target` names (a URI or a [stores.NAME] name), connected; `option` is
    where the URI came from, for errors."""
    team = TeamStore.open(settings.team_store_config(target, option=option))
    try:
        yield team
    finally:
        team.close()


def current_snapshot(target: str | Path) -> tuple[str, Snapshots]:
    """(URI, the current snapshot of every table)."""
    with connect(target) as team, team.errors():
        return team.location.shown(), team.snapshot_at(team.locations())


def newer_snapshot(con: object, origin: TeamOrigin) -> bool:
    """Whether the team store has been published to since `origin`'s snapshot was pulled (the
    app asks in a worker, which passes its connection first): one catalog query."""
    del con
    with connect(origin.target or origin.uri) as team, team.errors():
        return version_of(team.locations()) != origin.version


def open_team(
    target: str | Path,
    *,
    snapshots: Mapping[str, Any] | None = None,
    on_note: Note | None = None,
) -> Store:
    """The local cache of the team store's current snapshot (or of `snapshots`, a decision's),
    built if needed, opened read-only; `store.team` says which snapshot it holds.

    The current snapshot costs one catalog query when its cache exists (the tables' metadata
    files, read in one statement, key the cache); only a new one is read from the files."""
    with connect(target) as team, team.errors():
        uri = team.location.shown()
        version = ""
        locations: dict[str, str] = {}
        if snapshots is None:
            locations = team.locations()
            version = version_of(locations)
            path = current_cache_path(settings.cache_home(), team, version)
        else:
            chosen = _recorded(snapshots, uri)
            path = cache_path(settings.cache_home(), team, chosen)
        if not path.exists():
            older = list(cache_folder(settings.cache_home(), team).glob("*.duckdb"))
            if on_note is not None:
                what = "the snapshot the decision was made on" if snapshots else "a new snapshot"
                if snapshots is None and not older:
                    what = "its current snapshot"
                on_note(f"team store {uri}: pulling {what} into the local cache")
            if snapshots is None:
                chosen = team.snapshot_at(locations)
            pull(team, chosen, path)
            if snapshots is None:
                drop_other_caches(path)
    store = Store.open(path, read_only=True)
    try:
        found = cached_snapshots(store.con)
    except BaseException:
        store.close()
        raise
    store.team = TeamOrigin(uri, found, str(target), version)
    set_team_source(store.con, str(target), uri)  # its verdicts are the team's
    return store


def _recorded(snapshots: Mapping[str, Any], uri: str) -> Snapshots:
    """A decision's recorded snapshot ids (as text: canonical JSON numbers are doubles)."""
    chosen: Snapshots = {}
    for name in READ_ORDER:
        value = snapshots.get(name)
        if value is not None and not (isinstance(value, str) and value.isdigit()):
            raise InputError(None, f"the decision's team snapshot of {name} is not a number")
        chosen[name] = None if value is None else int(value)
    if all(v is None for v in chosen.values()):
        raise StoreError(f"{uri}: the decision recorded no snapshot of this team store")
    return chosen


def publish_paths(
    target: str | Path,
    paths: tuple[Path, ...],
    *,
    allow_outside: bool,
    on_note: Note | None = None,
) -> PublishSummary:
    """Validate and load `paths` into a temporary local store (the local load's checks), then
    publish that store's records."""
    batch = read_batch(paths, allow_outside=allow_outside)
    if not (batch.suites or batch.runs or batch.gates):
        raise InputError(
            paths[0] if len(paths) == 1 else None,
            "nothing to publish: no suite, run or gates record found",
        )
    with (
        connect(target, "--to") as team,
        tempfile.TemporaryDirectory(prefix="evaltui-publish-") as tmp,
        Store.open(Path(tmp) / "publish.duckdb") as local,
    ):
        needed = {run.suite_id for run in batch.runs} - {s.suite_id for s in batch.suites}
        if needed:  # runs of suites published before: their suites come from the team
            _seed_suites(team, local, needed)
        load_batch(local, batch)
        return publish(team, local)


def _seed_suites(team: TeamStore, local: Store, needed: set[str]) -> None:
    """Copy the team store's suites (and their cases) into the temporary store, so runs of a
    suite published before load there as they would into a store holding it."""
    with team.errors():
        snapshots = team.snapshot()
        if snapshots.get("suites") is None:
            return
        from evaltui.store.team import import_into

        for name in ("suites", "suite_splits", "cases", "suite_sets", "gates"):
            reader = team.scan(name, snapshots.get(name))
            if reader is None:
                continue
            local.con.register("team_seed", reader)
            try:
                with local.transaction() as con:
                    import_into(con, name, "team_seed")
                    if name == "suites":
                        con.execute(
                            "DELETE FROM suites WHERE suite_id NOT IN (SELECT unnest(?))",
                            [sorted(needed)],
                        )
            finally:
                local.con.unregister("team_seed")


def publish_store(target: str | Path, local: Store) -> PublishSummary:
    """Publish everything a local store holds."""
    with connect(target, "--to") as team:
        return publish(team, local)


# -- the shared decision log ---------------------------------------------------------------------


def log_decision(target: str | Path, record: DecisionRecord, written: WrittenDecision) -> int:
    """Append a signed decision (its log entry and its exact signed bytes, and its signature)
    to the team's event log, where every reviewer's `decisions --store URI` lists it."""
    entry = log_entry(record, written.json_path, written.sig_path, written.signer_fingerprint)
    payload = {
        **entry,
        "decision": record.data.decode("utf-8"),
        "signature": written.sig_path.read_text(encoding="ascii"),
    }
    with connect(target) as team, team.errors():
        return team.append_event(DECISION_EVENT, written.reviewer, payload)


def team_decisions(target: str | Path) -> tuple[str, list[dict[str, Any]]]:
    """(URI, the team's decisions oldest first: each log entry with its event id and time)."""
    with connect(target) as team, team.errors():
        found = team.events(DECISION_EVENT)
        uri = team.location.shown()
    out = []
    for event_id, _reviewer, payload, created in found:
        entry = {k: v for k, v in payload.items() if k not in ("decision", "signature")}
        data = str(payload.get("decision", "")).encode("utf-8")
        held = hashlib.sha256(data).hexdigest() == entry.get("sha256")
        out.append(
            {
                **entry,
                "event_id": event_id,
                "team_logged_at": created,
                "state": "ok" if held else "changed",
            }
        )
    return uri, out
