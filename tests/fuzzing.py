"""Property-based fuzzing of everything a user can feed evaltui: strategies that damage valid
input, and the one invariant every damaged input must satisfy.

Strategies start from a valid document (or JSONL file, or Parquet table) and apply random damage:
drop a field, give it another type or a hostile value, duplicate it (a repeated array element or a
repeated JSON key), truncate it (or the whole file), break a line's JSON or its UTF-8. The
invariant (`check_refused_or_loaded`): the command either succeeds, and the store then answers,
or exits 2 with one `evaltui: ...` line per problem naming the input, no traceback, and the store
byte-for-byte as it was.

How many examples: `tests/conftest.py` registers two hypothesis profiles. CI runs `ci` (a fixed,
derandomized set of 40 per property); `EVALTUI_FUZZ_EXAMPLES=N pytest tests/test_fuzz_*.py` runs N
random examples per property and keeps failures in `.hypothesis/` to replay them first next time.
"""

from __future__ import annotations

import contextlib
import copy
import decimal
import io
import json
import math
import shutil
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from hypothesis import event
from hypothesis import strategies as st

from tests.conftest import digest
from tests.hostile import HOSTILE

JsonPath = tuple[str | int, ...]

# Values a field may be replaced with: other JSON types, edge numbers, hostile and path-like text.
ODD_VALUES = st.one_of(
    st.sampled_from(
        [
            None,
            True,
            False,
            0,
            -1,
            1.5,
            2**63,
            -(2**63) - 1,
            10**40,
            1e308,
            float("nan"),
            float("inf"),
            "",
            " ",
            "x",
            HOSTILE,
            "\x00",
            "2026-13-45T99:99:99Z",
            "2026-11-02",
            "../outside.jsonl",
            "/etc/passwd",
            "missing.parquet",
            "cases.jsonl",
            [],
            {},
            [None],
            {"": None},
            {"case_id": "req_205", "route": "SERVE"},
        ]
    ),
    st.text(max_size=12),
    st.integers(),
    st.floats(),
    st.lists(st.one_of(st.integers(), st.text(max_size=4)), max_size=3),
    st.dictionaries(st.text(max_size=4), st.integers(), max_size=3),
)

MUTATIONS = ("drop", "retype", "duplicate", "truncate")


def json_paths(value: Any, prefix: JsonPath = (), limit: int = 400) -> list[JsonPath]:
    """Every path to a value inside `value` (breadth first, at most `limit`)."""
    found: list[JsonPath] = []
    queue: list[tuple[JsonPath, Any]] = [(prefix, value)]
    while queue and len(found) < limit:
        path, node = queue.pop(0)
        children: list[tuple[str | int, Any]] = []
        if isinstance(node, dict):
            children = list(node.items())
        elif isinstance(node, list):
            children = list(enumerate(node))
        for key, child in children:
            found.append((*path, key))
            queue.append(((*path, key), child))
    return found


def _parent(doc: Any, path: JsonPath) -> Any:
    node = doc
    for key in path[:-1]:
        node = node[key]
    return node


def _truncated(value: Any) -> Any:
    if isinstance(value, str):
        return value[: len(value) // 2]
    if isinstance(value, list):
        return value[: len(value) // 2]
    if isinstance(value, dict):
        return dict(list(value.items())[: len(value) // 2])
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value // 10
    if isinstance(value, float):
        return int(value / 10) if math.isfinite(value) else None
    return None


@st.composite
def damaged_value(draw: st.DrawFn, doc: Any, max_mutations: int = 3) -> Any:
    """`doc` (a JSON value) with 1..max_mutations random structural mutations."""
    doc = copy.deepcopy(doc)
    for _ in range(draw(st.integers(1, max_mutations))):
        paths = json_paths(doc)
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent, key = _parent(doc, path), path[-1]
        operation = draw(st.sampled_from(MUTATIONS))
        if operation == "drop":
            del parent[key]
        elif operation == "retype":
            parent[key] = draw(ODD_VALUES)
        elif operation == "truncate":
            parent[key] = _truncated(parent[key])
        elif isinstance(parent, list):  # duplicate an array element
            parent.insert(int(key), copy.deepcopy(parent[key]))
        else:  # duplicate an object member under another name, or the same value elsewhere
            parent[f"{key}{draw(st.sampled_from(['', '_2', ' ', 'X']))}"] = copy.deepcopy(
                parent[key]
            )
    return doc


def dumps(value: Any, repeat: JsonPath | None = None, path: JsonPath = ()) -> str:
    """JSON text of `value`; the object member at `repeat` is written twice (a duplicate key)."""
    if isinstance(value, dict):
        members = []
        for key, child in value.items():
            text = json.dumps(str(key)) + ":" + dumps(child, repeat, (*path, key))
            members.append(text)
            if repeat == (*path, key):
                members.append(text)
        return "{" + ",".join(members) + "}"
    if isinstance(value, list):
        return "[" + ",".join(dumps(v, repeat, (*path, i)) for i, v in enumerate(value)) + "]"
    return json.dumps(value)


@st.composite
def damaged_json_text(draw: st.DrawFn, doc: Any, max_mutations: int = 3) -> bytes:
    """A JSON file made from `doc` with structural damage, and sometimes text damage too."""
    value = draw(damaged_value(doc, max_mutations))
    keyed = [p for p in json_paths(value) if isinstance(_parent(value, p), dict)]
    repeat = draw(st.none() | st.sampled_from(keyed)) if keyed and draw(st.booleans()) else None
    return draw(damaged_bytes(dumps(value, repeat).encode()))


@st.composite
def damaged_bytes(draw: st.DrawFn, data: bytes) -> bytes:
    """Usually `data` unchanged; sometimes cut short, or with a byte that is not UTF-8."""
    damage = draw(st.sampled_from(["none", "none", "none", "cut", "byte"]))
    if damage == "cut" and data:
        return data[: draw(st.integers(0, len(data) - 1))]
    if damage == "byte" and data:
        at = draw(st.integers(0, len(data) - 1))
        return (
            data[:at]
            + draw(st.sampled_from([b"\xff", b"\xc3", b"\x00", b"\xed\xa0\x80"]))
            + data[at + 1 :]
        )
    return data


LINE_DAMAGE = ("row", "drop", "duplicate", "blank", "garbage", "cut")
GARBAGE_LINES = ("{", "[]", "null", "1", '"text"', HOSTILE, '{"case_id": }', "\ufeff{}")


@st.composite
def damaged_jsonl(draw: st.DrawFn, rows: list[Any], max_mutations: int = 3) -> bytes:
    """JSON Lines of `rows` with whole-line damage (dropped, repeated, garbage, cut) or a damaged
    row."""
    lines = [json.dumps(r) for r in rows]
    for _ in range(draw(st.integers(1, max_mutations))):
        damage = draw(st.sampled_from(LINE_DAMAGE))
        at = draw(st.integers(0, max(0, len(lines) - 1)))
        if not lines:
            lines.append(draw(st.sampled_from(GARBAGE_LINES)))
        elif damage == "row":
            lines[at] = dumps(
                draw(damaged_value(json.loads(lines[at]) if _is_json(lines[at]) else {}, 2))
            )
        elif damage == "drop":
            del lines[at]
        elif damage == "duplicate":
            lines.insert(at, lines[at])
        elif damage == "blank":
            lines.insert(at, draw(st.sampled_from(["", " ", "\t"])))
        elif damage == "garbage":
            lines.insert(at, draw(st.sampled_from(GARBAGE_LINES)))
        else:
            lines[at] = lines[at][: draw(st.integers(0, len(lines[at])))]
    return draw(damaged_bytes(("\n".join(lines) + "\n").encode()))


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


# -- Parquet --------------------------------------------------------------------------------------


def _column_of(kind: str, n: int) -> pa.Array:
    """A column of `n` values of an unexpected Arrow type."""
    words = [f"v{i}" for i in range(n)]
    if kind == "int64":
        return pa.array(range(n), pa.int64())
    if kind == "uint64":
        return pa.array([2**64 - 1 - i for i in range(n)], pa.uint64())
    if kind == "float64":
        return pa.array([i + 0.5 for i in range(n)], pa.float64())
    if kind == "nan":
        return pa.array([float("nan")] * n, pa.float64())
    if kind == "bool":
        return pa.array([i % 2 == 0 for i in range(n)], pa.bool_())
    if kind == "binary":
        return pa.array([w.encode() + b"\xff" for w in words], pa.binary())
    if kind == "list":
        return pa.array([[w] for w in words], pa.list_(pa.string()))
    if kind == "struct":
        return pa.array([{"a": w} for w in words], pa.struct([("a", pa.string())]))
    if kind == "map":
        return pa.array([[(w, 1)] for w in words], pa.map_(pa.string(), pa.int64()))
    if kind == "timestamp":
        return pa.array([datetime(2026, 1, 1 + i % 28) for i in range(n)], pa.timestamp("us"))
    if kind == "decimal":
        return pa.array([decimal.Decimal(i) / 4 for i in range(n)], pa.decimal128(10, 2))
    if kind == "dictionary":
        return pa.array(words).dictionary_encode()
    if kind == "large_string":
        return pa.array(words, pa.large_string())
    if kind == "hostile":
        return pa.array([HOSTILE] * n, pa.string())
    return pa.nulls(n)


COLUMN_KINDS = (
    "int64",
    "uint64",
    "float64",
    "nan",
    "bool",
    "binary",
    "list",
    "struct",
    "map",
    "timestamp",
    "decimal",
    "dictionary",
    "large_string",
    "hostile",
    "null",
)
TABLE_DAMAGE = ("drop", "rename", "retype", "nulls", "add", "duplicate_row", "drop_row", "empty")


@st.composite
def damaged_table(draw: st.DrawFn, table: pa.Table, max_mutations: int = 3) -> pa.Table:
    for _ in range(draw(st.integers(1, max_mutations))):
        names = table.column_names
        damage = draw(st.sampled_from(TABLE_DAMAGE))
        if not names or table.num_rows == 0:
            break
        name = draw(st.sampled_from(names))
        index = names.index(name)
        if damage == "drop":
            table = table.remove_column(index)
        elif damage == "rename":
            table = table.rename_columns(
                [
                    draw(st.sampled_from(["", "x", name.upper(), "case_id", "route"]))
                    if n == name
                    else n
                    for n in names
                ]
            )
        elif damage == "retype":
            table = table.set_column(
                index, name, _column_of(draw(st.sampled_from(COLUMN_KINDS)), table.num_rows)
            )
        elif damage == "nulls":
            column = table.column(index).to_pylist()
            column[draw(st.integers(0, len(column) - 1))] = None
            table = table.set_column(index, name, pa.array(column, table.schema.field(index).type))
        elif damage == "add":
            extra = draw(
                st.sampled_from(["extra", "metadata", "output", "score", "tokens", "latency_ms"])
            )
            if extra not in names:
                table = table.append_column(
                    extra, _column_of(draw(st.sampled_from(COLUMN_KINDS)), table.num_rows)
                )
        elif damage == "duplicate_row":
            row = draw(st.integers(0, table.num_rows - 1))
            table = pa.concat_tables([table, table.slice(row, 1)])
        elif damage == "drop_row":
            row = draw(st.integers(0, table.num_rows - 1))
            table = pa.concat_tables([table.slice(0, row), table.slice(row + 1)])
        else:
            table = table.slice(0, 0)
    return table


@st.composite
def damaged_parquet(draw: st.DrawFn, rows: list[dict[str, Any]]) -> bytes:
    table = draw(damaged_table(pa.Table.from_pylist(rows)))
    sink = io.BytesIO()
    pq.write_table(table, sink)
    data = sink.getvalue()
    if draw(st.integers(0, 9)) == 0:  # now and then a damaged file, not just odd columns
        return data[: draw(st.integers(0, len(data) - 1))]
    return data


# -- the invariant --------------------------------------------------------------------------------


@dataclass
class Outcome:
    code: int
    out: str
    err: str


def invoke(*args: str | Path) -> Outcome:
    """`evaltui ARGS` in this process (hypothesis cannot use pytest's capture fixtures)."""
    from evaltui.cli.main import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main([str(a) for a in args])
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
    return Outcome(code, out.getvalue(), err.getvalue())


def fresh_store(template: Path, folder: Path) -> Path:
    """A private copy of `template` in `folder`, emptied of anything a previous example left."""
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    store = folder / "store.duckdb"
    shutil.copy(template, store)
    return store


def check_refused_or_loaded(outcome: Outcome, store: Path, before: str, names: Path) -> None:
    """Success (and the store answers), or exit 2 with one line per problem naming the input
    (a path under `names`), no traceback, and the store byte-for-byte unchanged."""
    event(f"exit {outcome.code}")  # --hypothesis-show-statistics shows how often each happened
    assert "Traceback" not in outcome.err and "Traceback" not in outcome.out
    if outcome.code == 0:
        listed = invoke("runs", "--store", store, "--json")
        assert listed.code == 0, listed.err
        json.loads(listed.out)
        return
    assert outcome.code == 2, f"exit {outcome.code}: {outcome.err[:2000]}"
    assert outcome.out == ""
    lines = outcome.err.strip().splitlines()
    assert 1 <= len(lines) <= 21, outcome.err[:2000]
    for line in lines:
        assert line.startswith("evaltui: "), line
        if not line.startswith("evaltui: ... and "):
            assert str(names) in line, f"the line does not name the input: {line}"
    assert digest(store) == before, "a refused input must leave the store byte-for-byte unchanged"
