"""A private in-memory schema for working tables (a pair's numbered case list, its filtered views).

The store itself is usually opened read-only, so working tables cannot live in it; temporary
tables would not do either, because they belong to one connection and the app reads through one
cursor per worker thread. An attached in-memory database is shared by every cursor of the
connection, writable even beside a read-only store, and gone when the process exits.
"""

from __future__ import annotations

import itertools
import threading

import duckdb

SCRATCH = "evaltui_scratch"

_names = itertools.count(1)
# DuckDB's `ATTACH IF NOT EXISTS` is not atomic: two worker cursors attaching at once could both
# find the name free, and the second failed with "database ... already exists" (seen as an
# internal error in the cases screen when its workers started together)
_attaching = threading.Lock()


def scratch_schema(con: duckdb.DuckDBPyConnection) -> str:
    """Attach the scratch database (once per store connection) and return its name."""
    with _attaching:
        con.execute(f"ATTACH IF NOT EXISTS ':memory:' AS {SCRATCH} (READ_WRITE)")
    return SCRATCH


def new_table_name(con: duckdb.DuckDBPyConnection, prefix: str) -> str:
    """A fresh, fully qualified table name in the scratch schema (never reused in this process)."""
    return f"{scratch_schema(con)}.{prefix}_{next(_names)}"


def drop_table(con: duckdb.DuckDBPyConnection, name: str) -> None:
    if not name.startswith(f"{SCRATCH}."):
        raise ValueError(f"{name}: not a scratch table")
    con.execute(f"DROP TABLE IF EXISTS {name}")
