"""Order-independent fingerprints of suite cases.

A fingerprint is the first 16 hex digits of SHA-256 over the canonical JSON of a list of cases:
each case an object of all its fields, the list sorted by `case_id`, serialised like
`json.dumps(cases, sort_keys=True, separators=(",", ":"))` (non-ASCII as \\uXXXX escapes).

Each case is encoded once and kept in the store; a list's encoding is then
`"[" + ",".join(sorted encodings) + "]"`, which is byte-for-byte what `json.dumps` gives for the
whole list. That lets the store fingerprint any subset of cases (the ones a run has results for)
in SQL, without going back to Python objects.

`canonical_case` is the definition (and the tests' oracle). Suites are encoded in bulk instead:
`encode_table` builds every row's text with Arrow kernels from a table of cases (one column per
field, null = field absent), and `digest_table` sorts and hashes them without a Python loop.
Tests hold both to `canonical_case`, byte for byte.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterable, Mapping
from json.encoder import encode_basestring_ascii
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pyarrow as pa

FINGERPRINT_DIGITS = 16
COMBINED_FIELD = "evaluation_sha"

_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def canonical_case(case: Mapping[str, Any]) -> str:
    """The canonical JSON text of one case."""
    return _ENCODER.encode(case)


def _case_encoder() -> Callable[[Mapping[str, Any]], str]:
    """`canonical_case` for many cases: the same C encoder, made once instead of per call.

    `JSONEncoder.encode` builds a C encoder (and a float formatter and a circular-reference
    table) for every value; this builds it once with the encoder's own settings. Without the
    circular check: parsed JSON has no cycles. Tests hold it to `canonical_case`.
    """
    from json.encoder import c_make_encoder  # type: ignore[attr-defined]

    if c_make_encoder is None:  # pragma: no cover (CPython always has it)
        return canonical_case
    make = c_make_encoder(
        None,
        _ENCODER.default,
        encode_basestring_ascii,
        None,
        _ENCODER.key_separator,
        _ENCODER.item_separator,
        True,
        False,
        True,
    )
    return lambda case: "".join(make(case, 0))


encode_case = _case_encoder()


def digest_encoded(pairs: Iterable[tuple[str, str]]) -> str:
    """Full SHA-256 hex digest of the canonical list, from (case_id, canonical text) pairs."""
    ordered = [text for _, text in sorted(pairs, key=lambda pair: pair[0])]
    payload = "[" + ",".join(ordered) + "]"
    return hashlib.sha256(payload.encode("ascii")).hexdigest()


def fingerprint_encoded(pairs: Iterable[tuple[str, str]]) -> str:
    """Fingerprint from (case_id, canonical text) pairs, in any order."""
    return digest_encoded(pairs)[:FINGERPRINT_DIGITS]


def fingerprint_cases(cases: Iterable[Mapping[str, Any]]) -> str:
    """Fingerprint of case objects (each must have a string `case_id`)."""
    return fingerprint_encoded((case["case_id"], canonical_case(case)) for case in cases)


# -- the same encoding in bulk, over an Arrow table of cases ------------------------------------

_HASH_SLICE = 65_536  # rows joined at a time while hashing (bounds the extra memory)


class NotJson(ValueError):
    """A value with no JSON form (NaN or an infinity in a float column); `.rows` says where."""

    def __init__(self, column: str, rows: list[int]) -> None:
        self.column = column
        self.rows = rows
        super().__init__(f"column {column!r} holds NaN or infinity")


def encode_table(table: pa.Table) -> pa.ChunkedArray:
    """Every row's canonical JSON text, as `canonical_case` writes it for the row's non-null fields.

    Columns must have JSON types (strings, integers, floats, booleans, lists and structs of these;
    dictionaries of them). Strings that need no escaping (printable ASCII without `"` or a
    backslash) are quoted by Arrow; the rows that hold any other string are encoded again with
    Python's own escaping (C code, one call per value), so the bytes are Python's whatever the
    text. Slices of rows are encoded on several threads (Arrow and hashlib release the GIL).
    """
    import pyarrow as pa

    columns = []
    for name in sorted(table.column_names):
        column = table.column(name)
        if pa.types.is_null(column.type):
            continue
        if pa.types.is_dictionary(column.type):
            column = column.cast(column.type.value_type)
        if pa.types.is_large_string(column.type):
            column = column.cast(pa.string())
        columns.append((name, column))
    if not columns or table.num_rows == 0:
        return pa.chunked_array([pa.array(["{}"] * table.num_rows, pa.string())], pa.string())
    names = [name for name, _ in columns]
    fields = pa.table([column for _, column in columns], names=[str(i) for i in range(len(names))])
    # slices follow the table's own chunks, so the texts line up with the other columns' chunks
    # (DuckDB scans a table whose columns are chunked alike about twice as fast)
    slices, start = [], 0
    for batch in fields.to_batches(max_chunksize=ENCODE_SLICE):
        slices.append((start, pa.Table.from_batches([batch])))
        start += batch.num_rows
    if len(slices) == 1:
        return pa.chunked_array([_encode_slice(names, *slices[0])], pa.string())
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:
        parts = list(pool.map(lambda part: _encode_slice(names, *part), slices))
    return pa.chunked_array(parts, pa.string())


def _encode_slice(names: list[str], start: int, rows: pa.Table) -> pa.Array:
    """`encode_table` for one slice of rows, the first of them row `start` of the table."""
    try:
        return _encode_rows(names, rows)
    except NotJson as exc:
        raise NotJson(exc.column, [start + row for row in exc.rows]) from None


def _encode_rows(names: list[str], fields: pa.Table) -> pa.Array:
    import pyarrow as pa
    import pyarrow.compute as pc

    columns = [_one_array(column) for column in fields.columns]
    fast = _assemble(names, columns, escape=False)
    needs = None
    for column in columns:
        if _string_kind(column.type):
            found = _escape_rows(column)
            if found is not None:
                needs = found if needs is None else needs | found
    if needs is None:
        return fast
    mask = pa.array(needs)
    again = _assemble(names, [column.filter(mask) for column in columns], escape=True)
    return pc.replace_with_mask(fast, mask, again)


def _escape_rows(column: pa.Array) -> Any:
    """A boolean numpy mask of the rows whose string needs escaping, or None when none does.

    A string Arrow may quote as it is holds only printable ASCII (space to `~`) and neither `"`
    nor a backslash; any other byte (a control character, DEL, a byte of a non-ASCII character)
    sends its row to Python's escaper. Four vectorised comparisons over the column's bytes (the
    regex they replace cost five times as much); a null row's bytes, if any, only send it to the
    exact path.
    """
    import numpy as np

    offsets_buffer, data_buffer = column.buffers()[1:3]
    if data_buffer is None or len(column) == 0:
        return None
    offsets = np.frombuffer(
        offsets_buffer, dtype=np.int32, count=len(column) + 1, offset=4 * column.offset
    )
    first, last = int(offsets[0]), int(offsets[-1])
    data = np.frombuffer(data_buffer, dtype=np.uint8, count=last - first, offset=first)
    bad = data < ord(" ")
    bad |= data > ord("~")
    bad |= data == ord('"')
    bad |= data == ord("\\")
    where = np.flatnonzero(bad)
    if not len(where):
        return None
    rows = np.searchsorted(offsets, where + first, side="right") - 1
    mask = np.zeros(len(column), dtype=bool)
    mask[rows] = True
    return mask


ENCODE_SLICE = 131_072  # rows per slice of `encode_table`


def digest_table(
    case_ids: pa.Array | pa.ChunkedArray, canonical: pa.Array | pa.ChunkedArray
) -> str:
    """Full SHA-256 hex digest of the canonical list: the texts in `case_id` order, joined."""
    import pyarrow as pa

    order = case_order(case_ids)
    if order is None:
        chunks = canonical.chunks if isinstance(canonical, pa.ChunkedArray) else [canonical]
        parts = (
            chunk.slice(start, _HASH_SLICE)
            for chunk in chunks
            for start in range(0, len(chunk), _HASH_SLICE)
        )
    else:  # taken a slice at a time: never a second copy of all the texts
        parts = (
            _take(canonical, order.slice(start, _HASH_SLICE))
            for start in range(0, len(order), _HASH_SLICE)
        )
    return digest_texts(parts)


def digest_texts(parts: Iterable[pa.Array | pa.ChunkedArray]) -> str:
    """`digest_table`'s digest from the canonical texts already in `case_id` order, a part at a
    time (each part is joined on its own: memory follows the part, e.g. a batch read from a sort).
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    hasher = hashlib.sha256(b"[")
    first = True
    for part in parts:
        if isinstance(part, pa.ChunkedArray):
            part = part.combine_chunks()
        if not len(part):
            continue
        joined = pc.binary_join(pa.ListArray.from_arrays([0, len(part)], part), ",")
        if not first:
            hasher.update(b",")
        hasher.update(joined[0].as_buffer())
        first = False
    hasher.update(b"]")
    return hasher.hexdigest()


def _take(values: pa.Array | pa.ChunkedArray, indices: pa.Array) -> pa.Array:
    """`values[indices]` as one array, taken chunk by chunk.

    Arrow's `take` on a chunked array concatenates all its chunks first: a copy of every text
    for each slice. Here each chunk gives the rows it holds, and one small `take` puts them in
    the order asked.
    """
    import numpy as np
    import pyarrow as pa

    if isinstance(values, pa.Array):
        return values.take(indices)
    chunks = [chunk for chunk in values.chunks if len(chunk)]
    if len(chunks) == 1:
        return chunks[0].take(indices)
    starts = np.cumsum([0] + [len(chunk) for chunk in chunks])
    wanted = indices.to_numpy(zero_copy_only=False).astype(np.int64)  # sort_indices: uint64
    owner = np.searchsorted(starts, wanted, side="right") - 1
    grouped = np.argsort(owner, kind="stable")  # positions of `wanted`, chunk by chunk
    pieces = []
    for chunk_number in np.unique(owner):
        rows = wanted[grouped[owner[grouped] == chunk_number]] - starts[chunk_number]
        pieces.append(chunks[chunk_number].take(pa.array(rows)))
    gathered = pa.concat_arrays(pieces)
    back = np.empty_like(grouped)
    back[grouped] = np.arange(len(grouped))
    return gathered.take(pa.array(back))


def case_order(case_ids: pa.Array | pa.ChunkedArray) -> pa.Array | None:
    """Indices that sort `case_ids` as Python sorts strings; None if they are in order already.

    Arrow orders strings by their UTF-8 bytes, which is code point order, as Python does.
    """
    import pyarrow.compute as pc

    if in_order(case_ids):
        return None
    return pc.sort_indices(case_ids)


def in_order(case_ids: pa.Array | pa.ChunkedArray) -> bool:
    """Whether `case_ids` are already in the order Python sorts them (one pass)."""
    import pyarrow.compute as pc

    if len(case_ids) < 2:
        return True
    ascending = pc.less_equal(case_ids.slice(0, len(case_ids) - 1), case_ids.slice(1))
    return bool(pc.all(ascending).as_py())


def _assemble(names: list[str], columns: list[pa.Array], *, escape: bool) -> pa.Array:
    """`{"key":value,...}` per row (keys in sorted order, null values left out), in one Arrow
    call: literal keys and punctuation as scalars between the columns' encoded values."""
    import pyarrow.compute as pc

    parts: list[Any] = ["{"]
    for index, (name, column) in enumerate(zip(names, columns, strict=True)):
        key = ("," if index else "") + encode_basestring_ascii(name) + ":"
        if _string_kind(column.type):
            values, opening, closing = (
                (_per_value(column, encode_basestring_ascii), "", "")
                if escape
                else (column, '"', '"')
            )
        else:
            values, opening, closing = _encoded(name, column), "", ""
        if column.null_count:  # the key goes only with a value
            parts.append(pc.binary_join_element_wise(key + opening, values, closing, ""))
        else:
            parts.extend(p for p in (key + opening, values, closing) if not isinstance(p, str) or p)
    parts.append("}")
    joined = pc.binary_join_element_wise(*parts, "", null_handling="skip")
    if columns[0].null_count == 0:
        return joined
    # rows without the first field (but with a later one) start `{,`: drop that comma
    stray = pc.starts_with(joined, "{,")
    fixed = pc.utf8_replace_slice(joined.filter(stray), 1, 2, "")
    return pc.replace_with_mask(joined, stray, fixed)


def _encoded(name: str, values: pa.Array) -> pa.Array:
    """JSON text of a non-string column's values (null where the value is null)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    kind = values.type
    if pa.types.is_boolean(kind):
        return pc.if_else(values, "true", "false")
    if pa.types.is_integer(kind):
        return pc.cast(values, pa.string())  # Arrow and Python write integers alike
    if pa.types.is_floating(kind):
        values = pc.cast(values, pa.float64())
        finite = pc.fill_null(pc.is_finite(values), True)
        if not pc.all(finite).as_py():
            bad = pc.indices_nonzero(pc.invert(finite))
            raise NotJson(name, bad.to_pylist())
        # Python's shortest repr (1.0, 1e+16, -0.0) differs from Arrow's: Python writes them
        return _per_value(values, float.__repr__)
    # lists and structs: the per-case encoder on each value (NaN inside refused)
    try:
        return _per_value(values, _STRICT_ENCODER.encode)
    except ValueError:
        rows = [i for i, v in enumerate(values.to_pylist()) if not _encodes(v)]
        raise NotJson(name, rows) from None


def _per_value(values: pa.Array, encode: Callable[[Any], str]) -> pa.Array:
    """`encode` applied to each non-null value (C-level map), nulls kept in place."""
    import pyarrow as pa
    import pyarrow.compute as pc

    present = pc.is_valid(values)
    texts = pa.array(list(map(encode, values.drop_null().to_pylist())), pa.string())
    if len(texts) == len(values):
        return texts
    return pc.replace_with_mask(pa.nulls(len(values), pa.string()), present, texts)


_STRICT_ENCODER = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False
)


def _encodes(value: Any) -> bool:
    try:
        _STRICT_ENCODER.encode(value)
    except ValueError:
        return False
    return True


def _one_array(column: pa.ChunkedArray) -> pa.Array:
    """The column as one array (no copy when it is one chunk, as a slice of `encode_table` is)."""
    return column.chunk(0) if column.num_chunks == 1 else column.combine_chunks()


def _string_kind(kind: pa.DataType) -> bool:
    import pyarrow as pa

    if pa.types.is_dictionary(kind):
        kind = kind.value_type
    return bool(pa.types.is_string(kind) or pa.types.is_large_string(kind))


def split_field(split: str) -> str:
    """The parameter name a run uses to claim a split's fingerprint."""
    return f"{split}_sha"


# SQL that fingerprints the canonical texts of a set of case rows; kept next to the Python
# definition so the two cannot drift apart unnoticed (tests compare them).
SQL_FINGERPRINT_AGG = (
    "left(sha256('[' || coalesce(string_agg({canon}, ',' ORDER BY {case_id}), '') || ']'), "
    f"{FINGERPRINT_DIGITS})"
)
