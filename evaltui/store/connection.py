"""Opening the store: where it lives, its schema version, and one connection per use.

The default store is `.evaltui/store.duckdb` in the nearest folder (from the current one upward)
that already has a `.evaltui/` folder, else in the current folder. `--store` or EVALTUI_STORE
choose another. Readers open it read-only, so several reviewers can look at one store at once.

DuckDB's own progress bar is off unless a load runs in a terminal (`_duckdb_bar`).

DuckDB locks the file: one writer (a load) or any number of readers (the app, `runs`, `compare`
...), never both. A conflicting open fails at once with a line naming the process that holds the
store, or, given `wait` seconds, retries until the store is free or the time is up.
"""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import duckdb

from evaltui.errors import StoreError, first_line
from evaltui.safe_files import os_problem
from evaltui.settings import PROJECT_DIR, STORE_ENV, load, project_folder
from evaltui.store.schema import DDL, SCHEMA_VERSION

__all__ = ["STORE_ENV", "Store", "default_store_path", "resolve_store_path"]  # STORE_ENV: settings'
STORE_DIR = PROJECT_DIR
STORE_FILE = "store.duckdb"
_RETRY_FIRST, _RETRY_MAX = 0.05, 0.5  # seconds between attempts to open a busy store


def default_store_path(start: Path | None = None) -> Path:
    folder = project_folder(start) or (start or Path.cwd()).resolve()
    return folder / STORE_DIR / STORE_FILE


def resolve_store_path(explicit: str | Path | None = None) -> Path:
    """`explicit`, else the store the settings name (config files, EVALTUI_STORE), else the
    default."""
    if explicit:
        return Path(explicit)
    found = load().store
    return Path(found) if found else default_store_path()


@dataclass(frozen=True, slots=True)
class TeamOrigin:
    """Where a cache store came from: a team store's URI (no secret in it) and the snapshot
    of each of its tables that the cache holds (a decision made on it records them)."""

    uri: str
    snapshots: Mapping[str, int | None]
    target: str = ""  # what --store said (the URI, or a [stores.NAME] name): to look again
    version: str = ""  # digest of the tables' metadata files it was pulled from ("" if pinned)


class Store:
    """A DuckDB connection to the store file with the schema in place."""

    def __init__(self, path: Path, con: duckdb.DuckDBPyConnection, read_only: bool) -> None:
        self.path = path
        self.con = con
        self.read_only = read_only
        self.created = False  # this open made the file: a failed first use removes it again
        self.team: TeamOrigin | None = None  # set when this is a team store's local cache

    @classmethod
    def open(
        cls,
        path: Path,
        *,
        read_only: bool = False,
        wait: float = 0.0,
        on_wait: Callable[[str], None] | None = None,
    ) -> Store:
        """Open the store; if another process holds a conflicting lock, retry for up to `wait`
        seconds (telling `on_wait` once why), then fail with a line naming that process."""
        if read_only and not path.exists():
            raise StoreError(
                f"{path}: no store here yet; load runs first with `evaltui load PATH` "
                "(or choose one with --store / EVALTUI_STORE)"
            )
        created = False
        if not read_only:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreError(f"{path}: cannot create the store: {os_problem(exc)}") from None
            created = not path.exists() and not path.is_symlink()
        deadline = time.monotonic() + max(0.0, wait)
        pause = _RETRY_FIRST
        told = False
        while True:
            try:
                con = duckdb.connect(str(path), read_only=read_only)
                break
            except duckdb.IOException as exc:
                left = deadline - time.monotonic()
                if not _is_lock_conflict(exc) or left <= 0:
                    if created and not _is_lock_conflict(exc):
                        _remove_new_store(path)
                    raise StoreError(_explain_open_error(path, exc, read_only, wait)) from None
                if on_wait is not None and not told:
                    on_wait(f"{_busy(path, exc, read_only)}; waiting up to {wait:g}s for it")
                    told = True
                time.sleep(min(pause, left))  # a retry backoff, not a synchronisation
                pause = min(pause * 2, _RETRY_MAX)
            except duckdb.Error as exc:
                if created:
                    _remove_new_store(path)
                raise StoreError(f"{path}: cannot open the store: {first_line(exc)}") from None
        # DuckDB draws its own progress bar (carriage returns, on stdout) for statements over
        # two seconds: welcome during a load in a terminal, garbage in a piped log or in the app
        con.execute(f"SET enable_progress_bar = {str(_duckdb_bar(read_only)).lower()}")
        store = cls(path, con, read_only)
        store.created = created
        try:
            store._check_schema()
        except BaseException:
            store.close_after_failure()
            raise
        return store

    def _check_schema(self) -> None:
        tables = {
            row[0] for row in self.con.execute("SELECT table_name FROM duckdb_tables()").fetchall()
        }
        if "meta" in tables:
            row = self.con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
            found = row[0] if row else None
            if found == "3" and SCHEMA_VERSION == "4":
                self._migrate_3_to_4()
                return
            if found != SCHEMA_VERSION:
                raise StoreError(
                    f"{self.path}: store schema version {found!r}, this evaltui uses {SCHEMA_VERSION!r}; "
                    "load into a new store (--store PATH)"
                )
            return
        if tables:
            raise StoreError(f"{self.path}: this DuckDB file is not an evaltui store")
        if self.read_only:
            raise StoreError(
                f"{self.path}: the store is empty; load runs first with `evaltui load PATH`"
            )
        with self.transaction():
            self.con.execute(DDL)
            self.con.execute("INSERT INTO meta VALUES ('schema_version', ?)", [SCHEMA_VERSION])

    def _migrate_3_to_4(self) -> None:
        """Version 4 stores the manifest's `cluster_field` in `suites` (a review used to re-read
        the manifest file). An old store's suites get the value their manifest file names at
        migration time, which is what a review of the old store showed at that moment; a suite
        whose manifest is gone, unreadable or names none (or an invalid one) gets NULL. A
        read-only open cannot migrate and is refused, like any other version."""
        if self.read_only:
            raise StoreError(
                f"{self.path}: store schema version '3', this evaltui uses {SCHEMA_VERSION!r}; "
                "load into it once (`evaltui load PATH --store STORE`) to upgrade it, "
                "or load into a new store (--store PATH)"
            )
        from evaltui.contract.suite import manifest_cluster_field_of  # only when migrating

        paths = self.con.execute("SELECT suite_id, source_path FROM suites").fetchall()
        found = [(sid, manifest_cluster_field_of(Path(p))) for sid, p in paths]
        with self.transaction():
            self.con.execute("ALTER TABLE suites ADD COLUMN cluster_field VARCHAR")
            named = [(sid, field) for sid, field in found if field is not None]
            if named:
                self.con.execute(
                    """UPDATE suites SET cluster_field = f.field
                       FROM (SELECT unnest(?::VARCHAR[]) AS suite_id,
                                    unnest(?::VARCHAR[]) AS field) f
                       WHERE suites.suite_id = f.suite_id""",
                    [[sid for sid, _ in named], [field for _, field in named]],
                )
            self.con.execute(
                "UPDATE meta SET value = ? WHERE key = 'schema_version'", [SCHEMA_VERSION]
            )

    @contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """All or nothing: any exception rolls back everything done inside."""
        self.con.execute("BEGIN TRANSACTION")
        try:
            yield self.con
        except BaseException:
            self.con.execute("ROLLBACK")
            raise
        self.con.execute("COMMIT")

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """A connection for another thread (DuckDB connections are not shared across threads)."""
        return self.con.cursor()

    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, kind: object, exc: object, traceback: object) -> None:
        if exc is not None:
            self.close_after_failure()
        else:
            self.close()

    def close_after_failure(self) -> None:
        """Close; a store file this open created is removed again (a refused first load
        leaves no empty store behind)."""
        self.close()
        if self.created:
            _remove_new_store(self.path)


def _remove_new_store(path: Path) -> None:
    for leftover in (path, path.with_name(path.name + ".wal")):
        with suppress(OSError):
            leftover.unlink()


def _duckdb_bar(read_only: bool) -> bool:
    """DuckDB's own bar only for a load whose stdout and stderr are both a terminal."""
    if read_only:
        return False
    try:
        return sys.stdout.isatty() and sys.stderr.isatty()
    except (AttributeError, ValueError):  # replaced or closed streams
        return False


_PID = re.compile(r"PID (\d+)")


def _is_lock_conflict(exc: duckdb.Error) -> bool:
    return "lock" in str(exc).lower()


def _busy(path: Path, exc: duckdb.Error, read_only: bool) -> str:
    pid = _PID.search(str(exc))
    holder = f"process {pid.group(1)}" if pid else "another process"
    if read_only:
        return f"{path}: the store is busy: {holder} is writing to it (a load?)"
    return f"{path}: the store is busy: {holder} has it open (the review app, or a load?)"


def _explain_open_error(path: Path, exc: duckdb.Error, read_only: bool, wait: float = 0) -> str:
    if not _is_lock_conflict(exc):
        return f"{path}: cannot open the store: {first_line(exc)}"
    waited = f"; still busy after {wait:g}s" if wait > 0 else ""
    if read_only:
        return (
            f"{_busy(path, exc, read_only)}{waited}; try again when it has finished "
            "(or pass --wait SECONDS)"
        )
    return (
        f"{_busy(path, exc, read_only)}{waited}; close it, or load into another store with "
        "--store, and try again (or pass --wait SECONDS to wait for it)"
    )
