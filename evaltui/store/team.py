"""A team's store: the store's tables as Apache Iceberg tables (pyiceberg's SQL catalog in
PostgreSQL, data files on S3 or a shared folder), and an append-only event log in PostgreSQL.

Every table of the DuckDB store (`schema.py`) has an Iceberg twin with the same columns (BIT
case sets as binary, JSON as text). Three are *key* tables: `suites` and `gates` (keyed by
`suite_id`) and `runs` (keyed by `run_id`), each row with its `content_sha`. The others are
*detail* tables of one of them and carry `evaltui_sha`, the content_sha of the record their rows
belong to.

Publishing (`publish`) is one Iceberg commit per table, details first, key tables last (suites,
gates, runs). A reader takes the key tables' snapshots first and keeps only detail rows whose
(key, evaltui_sha) is in its key table, so a publish that died between two commits leaves rows
nobody sees, and a half-published run never shows. Every commit re-checks what the table already
holds: a key already there with the same content is skipped (publishing twice adds nothing),
with other content it is refused. A concurrent commit makes ours fail (Iceberg's optimistic
concurrency: the catalog row moves only if it still points at the metadata we started from);
then the table is reloaded, checked again and the append retried, so concurrent publishers lose
nothing and add nothing twice. pyiceberg's own retry (which would re-append without the check)
is turned off on every table (`commit.retry.num-retries = 0`).

Reading (`TeamStore.snapshot`, `pull`) copies one snapshot of every table into a local DuckDB
store, the cache the review code runs on unchanged.
"""

from __future__ import annotations

import contextlib
import functools
import json
import random
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import duckdb
import pyarrow as pa

from evaltui.errors import InputError, StoreError, first_line
from evaltui.settings import TeamStoreConfig
from evaltui.store.schema import SCHEMA_VERSION
from evaltui.store.team_uri import TeamLocation, mask_password, parse_team_uri

if TYPE_CHECKING:
    from pyiceberg.catalog.sql import SqlCatalog
    from pyiceberg.table import Table

SHA_COLUMN = "evaltui_sha"
VERSION_PROPERTY = "evaltui.schema_version"
KEYS: dict[str, str] = {"suites": "suite_id", "gates": "suite_id", "runs": "run_id"}
DETAILS: dict[str, str] = {  # detail table -> its key table
    "suite_splits": "suites",
    "cases": "suites",
    "suite_sets": "suites",
    "run_params": "runs",
    "run_metrics": "runs",
    "run_tags": "runs",
    "run_artifacts": "runs",
    "results": "runs",
    "result_sets": "runs",
    "result_cells": "runs",
}
PUBLISH_ORDER = (*DETAILS, "suites", "gates", "runs")
READ_ORDER = ("runs", "gates", "suites", *DETAILS)  # key tables first: see the module docstring
TABLE_PROPERTIES = {
    VERSION_PROPERTY: SCHEMA_VERSION,
    "commit.retry.num-retries": "0",  # we retry ourselves, re-checking what is there
    "write.parquet.compression-codec": "zstd",
}
COMMIT_ATTEMPTS = 30
APPEND_KEYS = 8  # runs per Arrow table handed to pyiceberg: 8 x 200,000 rows (bounded memory)
EVENTS_TABLE = "evaltui_events"
EVENTS_DDL = f"""
CREATE TABLE IF NOT EXISTS {EVENTS_TABLE} (
    id bigserial PRIMARY KEY,
    namespace text NOT NULL,
    kind text NOT NULL,
    reviewer text,
    payload jsonb NOT NULL,
    created timestamptz NOT NULL DEFAULT now()
)"""

Snapshots = dict[str, int | None]  # table -> snapshot id (None: the table has no rows yet)


def _table_problem(location: TeamLocation, exc: BaseException, password: str | None) -> str:
    text = mask_password(first_line(exc))
    if password:
        text = text.replace(password, "***")
    return f"{location.shown()}: {text}"


@dataclass
class TeamStore:
    """An open team store: its catalog (one PostgreSQL connection pool) and its location."""

    location: TeamLocation
    catalog: SqlCatalog
    password: str | None = field(default=None, repr=False)
    _tables: dict[str, Table] = field(default_factory=dict)

    @classmethod
    def open(cls, config: TeamStoreConfig) -> TeamStore:
        """Connect to the catalog; a bad URI, a refused login or an unreachable server is one
        `StoreError`/`InputError` line with no secret in it."""
        location = parse_team_uri(config.uri, config.origin)
        properties = {
            "uri": location.sqlalchemy_url(config.password),
            "warehouse": location.warehouse,
            "py-io-impl": "pyiceberg.io.pyarrow.PyArrowFileIO",
        }
        for key, value in (
            ("s3.endpoint", config.s3_endpoint),
            ("s3.access-key-id", config.s3_access_key_id),
            ("s3.secret-access-key", config.s3_secret_access_key),
            ("s3.region", config.s3_region),
        ):
            if value:
                properties[key] = value
        from pyiceberg.catalog.sql import SqlCatalog

        with _team_errors(location, config.password):
            catalog = _retry_races(lambda: SqlCatalog("evaltui", **properties))
        return cls(location, catalog, config.password)

    def errors(self) -> contextlib.AbstractContextManager[None]:
        return _team_errors(self.location, self.password)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.catalog.engine.dispose()

    # -- tables --------------------------------------------------------------------------------

    def _identifier(self, table: str) -> str:
        return f"{self.location.namespace}.{table}"

    def table(self, name: str, *, refresh: bool = False) -> Table:
        from pyiceberg.exceptions import NoSuchNamespaceError, NoSuchTableError

        if refresh or name not in self._tables:
            try:
                self._tables[name] = self.catalog.load_table(self._identifier(name))
            except (NoSuchTableError, NoSuchNamespaceError):
                raise StoreError(
                    f"{self.location.shown()}: no team store here yet (table {name} is missing); "
                    "publish runs to it first with `evaltui publish PATH --to URI`"
                ) from None
            found = self._tables[name].properties.get(VERSION_PROPERTY)
            if found != SCHEMA_VERSION:
                raise StoreError(
                    f"{self.location.shown()}: team table {name} has store schema version "
                    f"{found!r}, this evaltui uses {SCHEMA_VERSION!r}"
                )
        return self._tables[name]

    def ensure_tables(self, schemas: Mapping[str, pa.Schema]) -> None:
        """Create the namespace and any missing table (a concurrent creator is fine)."""
        from pyiceberg.exceptions import (
            NamespaceAlreadyExistsError,
            NoSuchNamespaceError,
            NoSuchTableError,
            TableAlreadyExistsError,
        )

        with contextlib.suppress(NamespaceAlreadyExistsError):
            _retry_races(
                lambda: self.catalog.create_namespace_if_not_exists(self.location.namespace)
            )
        for name, schema in schemas.items():
            with contextlib.suppress(NoSuchTableError, NoSuchNamespaceError):
                self._tables[name] = self.catalog.load_table(self._identifier(name))
            if name not in self._tables:
                with contextlib.suppress(TableAlreadyExistsError):
                    _retry_races(
                        functools.partial(
                            self.catalog.create_table_if_not_exists,
                            self._identifier(name),
                            schema=schema,
                            properties=TABLE_PROPERTIES,
                        )
                    )
            table = self.table(name, refresh=name not in self._tables)
            if table.properties.get("commit.retry.num-retries") != "0":
                table.transaction().set_properties(dict(TABLE_PROPERTIES)).commit_transaction()

    def locations(self) -> dict[str, str]:
        """Every table's current metadata file, read from the catalog in one statement (one
        consistent view of all tables; no file is read): what a cache is keyed by."""
        from sqlalchemy import text

        with self.catalog.engine.connect() as con:
            rows = con.execute(
                text(
                    "SELECT table_name, metadata_location FROM iceberg_tables "
                    "WHERE catalog_name = :catalog AND table_namespace = :ns"
                ),
                {"catalog": self.catalog.name, "ns": self.location.namespace},
            ).all()
        found = {str(r[0]): str(r[1]) for r in rows if r[1]}
        missing = [name for name in READ_ORDER if name not in found]
        if missing:
            raise StoreError(
                f"{self.location.shown()}: no team store here yet (table {missing[0]} is "
                "missing); publish runs to it first with `evaltui publish PATH --to URI`"
            )
        return {name: found[name] for name in READ_ORDER}

    def snapshot_at(self, locations: Mapping[str, str]) -> Snapshots:
        """The snapshot each table's metadata file (`locations`) makes current."""
        from pyiceberg.table import StaticTable

        found: Snapshots = {}
        for name in READ_ORDER:
            table = StaticTable.from_metadata(locations[name], properties=self.catalog.properties)
            version = table.properties.get(VERSION_PROPERTY)
            if version != SCHEMA_VERSION:
                raise StoreError(
                    f"{self.location.shown()}: team table {name} has store schema version "
                    f"{version!r}, this evaltui uses {SCHEMA_VERSION!r}"
                )
            current = table.current_snapshot()
            found[name] = None if current is None else current.snapshot_id
        return found

    def snapshot(self, *, refresh: bool = True) -> Snapshots:
        """The current snapshot of every table, key tables first (see the module docstring);
        without `refresh`, the snapshots this process last saw (e.g. its own commits)."""
        found: Snapshots = {}
        for name in READ_ORDER:
            current = self.table(name, refresh=refresh).current_snapshot()
            found[name] = None if current is None else current.snapshot_id
        return found

    def scan(self, name: str, snapshot_id: int | None) -> pa.RecordBatchReader | None:
        """The table's rows at `snapshot_id` as a stream (None when it had none)."""
        if snapshot_id is None:
            return None
        table = self.table(name)
        if table.snapshot_by_id(snapshot_id) is None:
            raise StoreError(
                f"{self.location.shown()}: table {name} no longer has snapshot {snapshot_id} "
                "(expired by maintenance?); it cannot be read as it was"
            )
        return table.scan(snapshot_id=snapshot_id).to_arrow_batch_reader()

    # -- publishing ----------------------------------------------------------------------------

    def present(self, name: str, keys: Sequence[str]) -> dict[str, set[str]]:
        """key -> the content shas table `name` holds for it, for the keys asked about."""
        from pyiceberg import expressions

        member_of: Any = expressions.In  # a pydantic model whose signature mypy misreads
        table = self.table(name)
        if table.current_snapshot() is None or not keys:
            return {}
        key = KEYS.get(name) or KEYS[DETAILS[name]]
        sha = "content_sha" if name in KEYS else SHA_COLUMN
        rows = (
            table.scan(row_filter=member_of(key, set(keys)), selected_fields=(key, sha))
            .to_arrow()
            .group_by([key, sha])
            .aggregate([])
        )
        found: dict[str, set[str]] = {}
        for k, s in zip(rows.column(key).to_pylist(), rows.column(sha).to_pylist(), strict=True):
            found.setdefault(k, set()).add(s)
        return found

    def append_new(
        self,
        name: str,
        wanted: Mapping[str, str],
        rows: Callable[[list[str]], Iterator[pa.Table]],
        refuse: Callable[[str, set[str]], InputError | None] | None = None,
    ) -> list[str]:
        """Append the rows of the keys in `wanted` (key -> content sha) that table `name` does
        not hold yet, in one commit; retried on a concurrent commit. `refuse(key, shas)` may
        refuse a key held with other content. Returns the keys appended."""
        from pyiceberg.exceptions import CommitFailedException

        for attempt in range(COMMIT_ATTEMPTS):
            self.table(name, refresh=attempt > 0)
            held = self.present(name, list(wanted))
            if refuse is not None:
                for key, shas in held.items():
                    problem = refuse(key, shas)
                    if problem is not None:
                        raise problem
            todo = sorted(k for k, sha in wanted.items() if sha not in held.get(k, set()))
            if not todo:
                return []
            table = self.table(name)
            try:
                transaction = table.transaction()
                for chunk in _ahead(rows(todo)):
                    transaction.append(chunk)
                transaction.commit_transaction()
                return todo
            except CommitFailedException:
                # another publisher committed first: reload, check again, retry (backoff with
                # jitter so four publishers do not collide in lockstep)
                time.sleep(min(0.5, 0.02 * 2 ** min(attempt, 5)) * random.uniform(0.5, 1.5))
        raise StoreError(
            f"{self.location.shown()}: table {name}: still conflicting with other publishers "
            f"after {COMMIT_ATTEMPTS} attempts; nothing of this publish is visible, try again"
        )

    # -- events (decisions, verdicts) ----------------------------------------------------------

    def _ensure_events(self) -> None:
        from sqlalchemy import text

        with self.catalog.engine.begin() as con:
            # CREATE TABLE IF NOT EXISTS races with itself in PostgreSQL: one creator at a time
            con.execute(
                text("SELECT pg_advisory_xact_lock(hashtext(:name))"), {"name": EVENTS_TABLE}
            )
            con.execute(text(EVENTS_DDL))

    def append_event(self, kind: str, reviewer: str | None, payload: Mapping[str, Any]) -> int:
        """Append one event to the shared log (one INSERT: concurrent appends never collide)."""

        self._ensure_events()
        with self.catalog.engine.begin() as con:
            row_id = self._insert_event(con, kind, reviewer, payload)
        return row_id

    def _insert_event(
        self, con: Any, kind: str, reviewer: str | None, payload: Mapping[str, Any]
    ) -> int:
        """INSERT one event in the transaction `con`; its id."""
        from sqlalchemy import text

        row = con.execute(
            text(
                f"INSERT INTO {EVENTS_TABLE} (namespace, kind, reviewer, payload) "
                "VALUES (:ns, :kind, :reviewer, CAST(:payload AS jsonb)) RETURNING id"
            ),
            {
                "ns": self.location.namespace,
                "kind": kind,
                "reviewer": reviewer,
                "payload": json.dumps(payload, sort_keys=True),
            },
        ).one()
        return int(row[0])

    def append_chained(
        self,
        kind: str,
        reviewer: str,
        build: Callable[[Mapping[str, Any] | None], Mapping[str, Any]],
    ) -> tuple[int, Mapping[str, Any]]:
        """Append the event `build` makes from the reviewer's last event of `kind` (None: their
        first), in one transaction holding an advisory lock on (namespace, kind, reviewer): two
        machines appending for one reviewer take turns, so each chains to the other's event.
        Other reviewers never wait. Returns (id, payload)."""
        from sqlalchemy import text

        self._ensure_events()
        with self.catalog.engine.begin() as con:
            con.execute(
                text("SELECT pg_advisory_xact_lock(hashtext(:key))"),
                {"key": f"{EVENTS_TABLE}/{self.location.namespace}/{kind}/{reviewer}"},
            )
            last = con.execute(
                text(
                    f"SELECT payload FROM {EVENTS_TABLE} WHERE namespace = :ns AND kind = :kind "
                    "AND reviewer = :reviewer ORDER BY id DESC LIMIT 1"
                ),
                {"ns": self.location.namespace, "kind": kind, "reviewer": reviewer},
            ).first()
            payload = build(None if last is None else dict(last[0]))
            row_id = self._insert_event(con, kind, reviewer, payload)
        return row_id, payload

    def event_texts(self, kind: str, member: str) -> pa.Table:
        """Every event of `kind` as columns (id, reviewer, text: the payload's string `member`),
        oldest first: one query, whatever the number of events."""
        from sqlalchemy import text
        from sqlalchemy.exc import ProgrammingError

        try:
            with self.catalog.engine.connect() as con:
                rows = con.execute(
                    text(
                        f"SELECT id, reviewer, payload ->> :member FROM {EVENTS_TABLE} "
                        "WHERE namespace = :ns AND kind = :kind ORDER BY id"
                    ),
                    {"ns": self.location.namespace, "kind": kind, "member": member},
                ).all()
        except ProgrammingError:  # no event table yet: nothing appended so far
            rows = []
        ids, reviewers, texts = zip(*rows, strict=True) if rows else ((), (), ())
        return pa.table(
            {
                "id": pa.array(ids, pa.int64()),
                "reviewer": pa.array(reviewers, pa.string()),
                "text": pa.array(texts, pa.string()),
            }
        )

    def events(self, kind: str) -> list[tuple[int, str | None, dict[str, Any], str]]:
        """(id, reviewer, payload, created as ISO text) of every event of `kind`, oldest first."""
        from sqlalchemy import text
        from sqlalchemy.exc import ProgrammingError

        try:
            with self.catalog.engine.connect() as con:
                rows = con.execute(
                    text(
                        f"SELECT id, reviewer, payload, created FROM {EVENTS_TABLE} "
                        "WHERE namespace = :ns AND kind = :kind ORDER BY id"
                    ),
                    {"ns": self.location.namespace, "kind": kind},
                ).all()
        except ProgrammingError:  # no event table yet: nothing appended so far
            return []
        return [(int(r[0]), r[1], dict(r[2]), r[3].strftime("%Y-%m-%dT%H:%M:%SZ")) for r in rows]


def _ahead(tables: Iterator[pa.Table]) -> Iterator[pa.Table]:
    """`tables`, the next one made (by DuckDB, in a thread) while the caller writes this one
    (pyiceberg's Parquet writer): one table ahead at most, so memory stays bounded."""
    with ThreadPoolExecutor(1, thread_name_prefix="evaltui-export") as pool:
        pending = pool.submit(next, tables, None)
        while True:
            table = pending.result()
            if table is None:
                return
            pending = pool.submit(next, tables, None)
            yield table


def _retry_races(step: Callable[[], Any]) -> Any:
    """Run a catalog DDL step, again if a concurrent process created the same thing first
    (PostgreSQL's CREATE ... IF NOT EXISTS can still collide on its catalogs)."""
    from sqlalchemy.exc import IntegrityError, ProgrammingError

    for attempt in range(5):
        try:
            return step()
        except (IntegrityError, ProgrammingError) as exc:
            if attempt == 4 or ("already exists" not in str(exc) and "duplicate" not in str(exc)):
                raise
            time.sleep(0.05 * (attempt + 1))
    raise AssertionError("unreachable")


@contextlib.contextmanager
def _team_errors(location: TeamLocation, password: str | None) -> Iterator[None]:
    """Turn the engines' errors (PostgreSQL, S3, files) into one `StoreError` line, no secret."""
    from pyiceberg.exceptions import CommitFailedException, NoSuchTableError
    from sqlalchemy.exc import SQLAlchemyError

    try:
        yield
    except SQLAlchemyError as exc:
        original = getattr(exc, "orig", None) or exc
        raise StoreError(
            "cannot reach the team store's catalog: " + _table_problem(location, original, password)
        ) from None
    except (OSError, NoSuchTableError, CommitFailedException, duckdb.IOException) as exc:
        raise StoreError(
            "cannot read or write the team store's files: "
            + _table_problem(location, exc, password)
        ) from None


def export_columns(con: duckdb.DuckDBPyConnection, table: str) -> list[tuple[str, str]]:
    """(column, DuckDB type) of a store table."""
    return [
        (str(row[0]), str(row[1]))
        for row in con.execute(f"DESCRIBE {table}").fetchall()  # table: one of schema.py's
    ]


def _export_expr(column: str, kind: str, alias: str) -> str:
    if kind in ("BIT", "JSON"):  # a bit string as its 0/1 text: BLOB would lose its length
        return f'CAST({alias}."{column}" AS VARCHAR) AS "{column}"'
    return f'{alias}."{column}"'


def export_query(con: duckdb.DuckDBPyConnection, table: str) -> str:
    """SELECT of a local store table's rows for the keys in `$keys`, as the team table has them
    (detail tables with their record's content sha)."""
    columns = ", ".join(_export_expr(c, k, "t") for c, k in export_columns(con, table))
    if table in KEYS:
        key = KEYS[table]
        return f'SELECT {columns} FROM {table} t WHERE t."{key}" IN (SELECT unnest(CAST($keys AS VARCHAR[])))'
    parent = DETAILS[table]
    key = KEYS[parent]
    return (
        f"SELECT {columns}, k.content_sha AS {SHA_COLUMN} FROM {table} t "
        f'JOIN {parent} k ON k."{key}" = t."{key}" '
        f'WHERE t."{key}" IN (SELECT unnest(CAST($keys AS VARCHAR[])))'
    )


def export_schema(con: duckdb.DuckDBPyConnection, table: str) -> pa.Schema:
    return (
        con.sql(f"{export_query(con, table)} LIMIT 0", params={"keys": []}).to_arrow_table().schema
    )


def export_rows(con: duckdb.DuckDBPyConnection, table: str, keys: list[str]) -> Iterator[pa.Table]:
    """The rows of a local store table for `keys`, as Arrow tables of a few runs' rows each
    (DuckDB builds a whole table in parallel; a stream of batches is one thread)."""
    query = export_query(con, table)
    step = APPEND_KEYS if DETAILS.get(table) == "runs" else max(1, len(keys))
    for start in range(0, len(keys), step):
        yield con.sql(query, params={"keys": keys[start : start + step]}).to_arrow_table()


def import_into(con: duckdb.DuckDBPyConnection, table: str, source: str) -> None:
    """INSERT a team table's rows (registered as `source`) into the local store's `table`,
    keeping only detail rows of records the key tables hold (see the module docstring)."""
    columns = export_columns(con, table)
    names = ", ".join(f'"{c}"' for c, _ in columns)
    values = ", ".join(
        f'CAST(s."{c}" AS {k})' if k in ("BIT", "JSON") else f's."{c}"' for c, k in columns
    )
    if table in KEYS:
        key = KEYS[table]
        where = ""
        if table == "gates":  # gates of a suite this snapshot does not hold are not shown
            where = "WHERE s.suite_id IN (SELECT suite_id FROM suites)"
        con.execute(
            f"INSERT INTO {table} ({names}) SELECT {values} FROM {source} s {where} "
            f'QUALIFY row_number() OVER (PARTITION BY s."{key}" ORDER BY s.loaded_at) = 1'
        )
        return
    parent = DETAILS[table]
    key = KEYS[parent]
    con.execute(
        f"INSERT INTO {table} ({names}) SELECT {values} FROM {source} s "
        f'WHERE EXISTS (SELECT 1 FROM {parent} k WHERE k."{key}" = s."{key}" '
        f"AND k.content_sha = s.{SHA_COLUMN})"
    )
