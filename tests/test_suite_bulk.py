"""Suites are checked and encoded in bulk (Arrow), and the bytes must be the per-case encoder's.

`canonical_case` (one `json.dumps` per case) is the definition; every bulk path (Parquet
columns, JSON Lines, inline cases) is held to it byte for byte, on the worked example's pinned
fingerprints, on hand-picked edge cases and on random tables (hypothesis). A suite whose stored
texts differ from the oracle fails here, not in a benchmark.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given
from hypothesis import strategies as st

from evaltui.contract.fingerprint import canonical_case, encode_table
from evaltui.contract.suite import parse_suite
from evaltui.errors import InputError, InputErrors
from tests.test_fingerprint import HOLDOUT, REGRESSION, reference

PINNED = {
    "regression_sha": "2be42790a4f41355",
    "holdout_sha": "d47cdbbfe1caae89",
    "evaluation_sha": "94dfc930d2829d2c",
}


def oracle_rows(table: pa.Table) -> list[str]:
    """What the per-case encoder writes for each row (a null cell is an absent field)."""
    return [
        canonical_case({k: v for k, v in row.items() if v is not None}) for row in table.to_pylist()
    ]


def manifest(folder: Path, splits: dict[str, Any], suite_id: str = "s") -> Path:
    path = folder / f"{suite_id}.suite.json"
    doc = {"kind": "evaltui.suite", "version": 1, "suite_id": suite_id, "splits": splits}
    path.write_text(json.dumps(doc))
    return path


def parse(path: Path):
    return parse_suite(json.loads(path.read_text()), path, path.parent)


def stored_texts(suite) -> list[str]:
    return [t for s in suite.splits for t in s.cases.column("canonical").to_pylist()]


# -- the worked example, through every way a split can be written --------------------------------


def test_pinned_fingerprints_from_inline_cases(tmp_path: Path) -> None:
    suite = parse(manifest(tmp_path, {"regression": REGRESSION, "holdout": HOLDOUT}))
    assert suite.fingerprints() == PINNED
    assert stored_texts(suite) == [canonical_case(c) for c in REGRESSION + HOLDOUT]


def test_pinned_fingerprints_from_jsonl_files(tmp_path: Path) -> None:
    for name, cases in (("regression", REGRESSION), ("holdout", HOLDOUT)):
        lines = [json.dumps(c, ensure_ascii=False) for c in cases]
        (tmp_path / f"{name}.jsonl").write_text("\n".join(["", *lines, "  "]) + "\n")
    suite = parse(
        manifest(tmp_path, {"regression": "regression.jsonl", "holdout": "holdout.jsonl"})
    )
    assert suite.fingerprints() == PINNED


def test_pinned_fingerprints_from_parquet_files(tmp_path: Path) -> None:
    for name, cases in (("regression", REGRESSION), ("holdout", HOLDOUT)):
        pq.write_table(pa.Table.from_pylist(cases), tmp_path / f"{name}.parquet")
    suite = parse(
        manifest(tmp_path, {"regression": "regression.parquet", "holdout": "holdout.parquet"})
    )
    assert suite.fingerprints() == PINNED
    assert stored_texts(suite) == [canonical_case(c) for c in REGRESSION + HOLDOUT]


def test_one_split_reuses_its_digest_for_the_suite(tmp_path: Path) -> None:
    suite = parse(manifest(tmp_path, {"all": list(reversed(REGRESSION + HOLDOUT))}))
    assert suite.evaluation_sha == suite.splits[0].fingerprint == "94dfc930d2829d2c"


# -- edge cases against the oracle ---------------------------------------------------------------

EDGE_STRINGS = [
    "plain",
    "",
    'quote " and backslash \\',
    "tab\tnewline\ncr\r bell\x07 nul\x00 del\x7f",
    "Grüße, naïve, 日本語",
    "emoji 😀 (a surrogate pair in JSON) and 𝄞",
    "</script> & <b>",
    "\u2028\u2029 separators",
    "\u200b zero width",
    "slash / stays",
]


def test_edge_values_in_parquet_match_the_oracle(tmp_path: Path) -> None:
    n = len(EDGE_STRINGS)
    table = pa.table(
        {
            "case_id": [f"c{i:02d}" for i in range(n)],
            "expected_route": ["SERVE"] * n,
            "text": EDGE_STRINGS,
            "floats": [1.0, -0.0, 1e16, 1e-7, 0.1, 123456789.125, 5e-324, None, 2.5, -1e300],
            "ints": [0, -1, 2**63 - 1, -(2**63), None, 10**16, 7, 8, 9, 10],
            "big": pa.array([0, 2**64 - 1, None, 1, 2, 3, 4, 5, 6, 7], pa.uint64()),
            "flag": [True, False, None, True, False, True, False, True, False, True],
            "tags": [["a", "ü"], [], None, ["\\"], ['"'], ["x"], ["😀"], [""], ["y"], ["z"]],
            "meta": [{"k": "v", "n": 1.0}, None, {"k": "日", "n": -0.0}]
            + [{"k": "", "n": 2.0}] * 7,
            "cat": pa.array(["x", "ü", None, "x"] * 2 + ["y", "y"]).dictionary_encode(),
            "Zeta": ["upper-case key sorts first"] * n,
        }
    )
    pq.write_table(table, tmp_path / "edge.parquet")
    suite = parse(manifest(tmp_path, {"edge": "edge.parquet"}))
    expected = oracle_rows(pq.read_table(tmp_path / "edge.parquet"))
    assert stored_texts(suite) == expected
    assert all(text.isascii() for text in expected)
    assert suite.evaluation_sha == reference(
        [json.loads(t) for t in expected]  # the SPEC's definition over the same cases
    )


def test_edge_values_in_json_match_the_oracle(tmp_path: Path) -> None:
    cases = [
        {"case_id": f"j{i}", "expected_route": "ABSTAIN", "text": text, "n": number, "deep": deep}
        for i, (text, number, deep) in enumerate(
            zip(
                EDGE_STRINGS,
                [1.0, 1, -0.0, 1e16, 10**30, -(10**39), 0.1, 3, 1e-5, 2**53 + 1],
                [{"b": [1, {"z": None, "a": "ü"}]}, [], {}, None, [[[]]], "s", 0, True, 1.5, "😀"],
                strict=True,
            )
        )
    ]
    (tmp_path / "j.jsonl").write_text(
        "".join(json.dumps(c, ensure_ascii=False) + "\n" for c in cases), encoding="utf-8"
    )
    escaped = '{"case_id":"pair","expected_route":"SERVE","s":"\\ud83d\\ude00 \\u00e9 \\/"}'
    (tmp_path / "k.jsonl").write_text(escaped + "\n")
    inline = [{**c, "case_id": f"inline-{c['case_id']}"} for c in cases[:2]]
    suite = parse(manifest(tmp_path, {"j": "j.jsonl", "k": "k.jsonl", "inline": inline}))
    texts = stored_texts(suite)
    assert texts[: len(cases)] == [canonical_case(c) for c in cases]
    assert texts[len(cases)] == canonical_case(json.loads(escaped))
    assert "\\ud83d\\ude00" in texts[len(cases)]  # a surrogate pair stays a pair of escapes
    assert texts[len(cases) + 1 :] == [canonical_case(c) for c in inline]


# -- random tables: the bulk encoder against the oracle ------------------------------------------

_text = st.text(st.characters(codec="utf-8"), max_size=12)
_floats = st.floats(allow_nan=False, allow_infinity=False)
_ints = st.integers(min_value=-(2**63), max_value=2**63 - 1)
_COLUMN_KINDS = {
    "string": (pa.string(), _text),
    "int": (pa.int64(), _ints),
    "float": (pa.float64(), _floats),
    "float32": (pa.float32(), st.floats(width=32, allow_nan=False, allow_infinity=False)),
    "bool": (pa.bool_(), st.booleans()),
    "list": (pa.list_(pa.string()), st.lists(_text, max_size=3)),
    "struct": (
        pa.struct([("a", pa.float64()), ("b", pa.string())]),
        st.fixed_dictionaries({"a": st.none() | _floats, "b": st.none() | _text}),
    ),
}


@st.composite
def case_tables(draw: st.DrawFn) -> pa.Table:
    rows = draw(st.integers(min_value=0, max_value=12))
    names = draw(st.lists(_text, min_size=1, max_size=5, unique=True))
    columns = {}
    for name in names:
        kind, values = _COLUMN_KINDS[draw(st.sampled_from(sorted(_COLUMN_KINDS)))]
        cells = draw(st.lists(st.none() | values, min_size=rows, max_size=rows))
        columns[name] = pa.array(cells, kind)
    return pa.table(columns)


@given(case_tables())
def test_bulk_encoding_is_the_per_case_encoders(table: pa.Table) -> None:
    assert encode_table(table).to_pylist() == oracle_rows(table)


@given(
    st.lists(
        st.dictionaries(
            _text,
            st.recursive(
                st.none() | st.booleans() | st.integers() | _floats | _text,
                lambda inner: (
                    st.lists(inner, max_size=3) | st.dictionaries(_text, inner, max_size=3)
                ),
                max_leaves=6,
            ),
            max_size=4,
        ),
        min_size=1,
        max_size=8,
    )
)
def test_json_cases_are_stored_with_the_per_case_encoding(extras: list[dict]) -> None:
    reserved = {"case_id", "expected_route", "slice_name", "evidence_state", "source"}
    cases = [
        {**{k: v for k, v in extra.items() if k not in reserved}, "case_id": f"id{i}é"}
        | {"expected_route": "SERVE"}
        for i, extra in enumerate(extras)
    ]
    doc = {"kind": "evaltui.suite", "version": 1, "suite_id": "h", "splits": {"x": cases}}
    suite = parse_suite(doc, Path("h.suite.json"), Path("."))
    assert stored_texts(suite) == [canonical_case(c) for c in cases]
    assert suite.evaluation_sha == reference(cases)


def test_large_table_is_encoded_in_slices_like_the_oracle() -> None:
    n = 300_000  # more than one slice of encode_table; one row in 1,000 needs escaping
    table = pa.table(
        {
            "case_id": pa.array([f"c{i:07d}" for i in range(n)]),
            "text": pa.array(["ü" if i % 1000 == 7 else f"t{i}" for i in range(n)]),
            "score": pa.array([None if i % 3 else i / 7 for i in range(n)], pa.float64()),
        }
    )
    texts = encode_table(table)
    for i in (0, 7, 131_071, 131_072, 131_079, 262_144, n - 1):
        row = {k: v for k, v in table.slice(i, 1).to_pylist()[0].items() if v is not None}
        assert texts[i].as_py() == canonical_case(row)


# -- refusals: one line per problem, naming the case and field, counted when repeated -----------


def write_parquet(folder: Path, table: pa.Table) -> Path:
    pq.write_table(table, folder / "cases.parquet")
    return manifest(folder, {"part": "cases.parquet"})


def messages(caught: pytest.ExceptionInfo) -> list[str]:
    error = caught.value
    return error.lines() if isinstance(error, InputErrors) else [str(error)]


def test_a_repeated_problem_is_one_line_with_its_count(tmp_path: Path) -> None:
    n = 50
    routes = [None if i % 5 == 2 else "SERVE" for i in range(n)]
    path = write_parquet(
        tmp_path, pa.table({"case_id": [f"c{i}" for i in range(n)], "expected_route": routes})
    )
    with pytest.raises(InputError) as caught:
        parse(path)
    (line,) = messages(caught)
    assert "cases.parquet: row 3: case is missing required field 'expected_route'" in line
    assert "the same in 9 more rows (row 8, row 13, row 18, ...)" in line


def test_duplicates_name_both_rows_and_count_the_others(tmp_path: Path) -> None:
    ids = ["a", "b", "a", "c", "d", "c", "e", "e"]
    path = write_parquet(tmp_path, pa.table({"case_id": ids, "expected_route": ["SERVE"] * 8}))
    with pytest.raises(InputError) as caught:
        parse(path)
    (line,) = messages(caught)
    assert "row 3: duplicate case_id 'a' (first at row 1); 2 more case ids repeat ('c', 'e')" in (
        line
    )


def test_jsonl_problems_point_at_their_lines(tmp_path: Path) -> None:
    rows = [
        '{"case_id": "a", "expected_route": "SERVE"}',
        "",
        '{"case_id": "b", "expected_route": ""}',
        '{"case_id": "c", "expected_route": "SERVE", "slice_name": 3}',
        '{"case_id": "a", "expected_route": "SERVE"}',
    ]
    (tmp_path / "c.jsonl").write_text("\n".join(rows) + "\n")
    with pytest.raises(InputErrors) as caught:
        parse(manifest(tmp_path, {"part": "c.jsonl"}))
    lines = messages(caught)
    assert any(
        line.endswith(
            "c.jsonl:3: case field 'expected_route' must be a non-empty string, found an empty string"
        )
        for line in lines
    ), lines
    assert any(
        "c.jsonl:4: case 'c': field 'slice_name' must be a string, found a number" in line
        for line in lines
    ), lines


def test_jsonl_duplicate_is_found_on_its_line(tmp_path: Path) -> None:
    rows = [
        '{"case_id": "a", "expected_route": "SERVE"}',
        "",
        '{"case_id": "a", "expected_route": "X"}',
    ]
    (tmp_path / "c.jsonl").write_text("\n".join(rows) + "\n")
    with pytest.raises(InputError) as caught:
        parse(manifest(tmp_path, {"part": "c.jsonl"}))
    assert str(caught.value).endswith("c.jsonl:3: duplicate case_id 'a' (first at line 1)")


def test_a_bad_jsonl_line_is_named_exactly(tmp_path: Path) -> None:
    rows = ['{"case_id": "a", "expected_route": "SERVE"}', '{"case_id": "b", "case_id": "c"}']
    (tmp_path / "c.jsonl").write_text("\n".join(rows) + "\n")
    with pytest.raises(InputError) as caught:
        parse(manifest(tmp_path, {"part": "c.jsonl"}))
    assert "c.jsonl:2: duplicate key 'case_id'" in str(caught.value)


def test_explicit_null_in_an_optional_json_field_is_refused(tmp_path: Path) -> None:
    cases = [
        {"case_id": "a", "expected_route": "SERVE", "meta": {"slice_name": None}},
        {"case_id": "b", "expected_route": "SERVE", "slice_name": None},
    ]
    with pytest.raises(InputError) as caught:
        parse(manifest(tmp_path, cases and {"part": cases}))
    assert str(caught.value).endswith(
        "splits.part[1]: case 'b': field 'slice_name' must be a string, found null"
    )


def test_wrong_column_type_is_one_line_per_field(tmp_path: Path) -> None:
    table = pa.table(
        {"case_id": ["a", "b", "c"], "expected_route": ["SERVE"] * 3, "source": [1, None, 3]}
    )
    with pytest.raises(InputError) as caught:
        parse(write_parquet(tmp_path, table))
    assert str(caught.value).endswith(
        "row 1: case 'a': field 'source' must be a string, found a number; "
        "the same in 1 more row (row 3)"
    )


def test_nan_in_a_float_column_is_refused_not_written_as_nan(tmp_path: Path) -> None:
    # before: the per-case encoder wrote `NaN`, which is not JSON, into the stored text
    table = pa.table(
        {"case_id": ["a", "b"], "expected_route": ["SERVE"] * 2, "score": [0.5, math.nan]}
    )
    with pytest.raises(InputError) as caught:
        parse(write_parquet(tmp_path, table))
    assert "row 2: field 'score' holds NaN or infinity" in str(caught.value)


def test_unpaired_surrogate_in_a_stored_field_is_refused(tmp_path: Path) -> None:
    # before: Arrow could not hold the text and the load crashed with an internal error
    (tmp_path / "c.jsonl").write_text('{"case_id": "a\\ud800", "expected_route": "SERVE"}\n')
    with pytest.raises(InputError) as caught:
        parse(manifest(tmp_path, {"part": "c.jsonl"}))
    assert "c.jsonl:1: field 'case_id': a lone surrogate escape" in str(caught.value)


def test_unpaired_surrogate_elsewhere_is_refused_too(tmp_path: Path) -> None:
    # lone surrogates are not text anywhere in a record (docs/reliability.md), stored field or not
    (tmp_path / "c.jsonl").write_text(
        '{"case_id": "a", "expected_route": "SERVE", "x": "\\udc00"}\n'
    )
    with pytest.raises(InputError) as caught:
        parse(manifest(tmp_path, {"part": "c.jsonl"}))
    assert "c.jsonl:1: field 'x': a lone surrogate escape" in str(caught.value)


def test_case_in_two_splits_is_named_with_both(tmp_path: Path) -> None:
    with pytest.raises(InputError) as caught:
        parse(manifest(tmp_path, {"one": REGRESSION, "two": [*HOLDOUT, REGRESSION[1]]}))
    assert "case_id 'reg_002' appears in splits 'one' and 'two'" in str(caught.value)


# -- JSON Lines splits read in batches (bounded memory) ------------------------------------------


def jsonl_edge_cases(count: int) -> list[dict[str, Any]]:
    """Cases with ids out of order, non-ASCII and astral text, nested and numeric values."""
    cases = []
    for n in range(count):
        case: dict[str, Any] = {
            "case_id": str(count - n) if n % 3 else f"id-\u00e9-{n}",
            "expected_route": ["SERVE", "ABSTAIN", "ESCALATE"][n % 3],
            "input": f'line {n} "quoted" \\ back \u2028 \U0001f600',
            "doc": {"z": [1, 2.5, None, True], "a": {"n": n, "f": n / 7}},
        }
        if n % 4 == 0:
            case["slice_name"] = f"slice-{n % 5}"
        if n % 5 == 0:
            case["score"] = -0.0 if n % 2 else 1e16
        cases.append(case)
    return cases


def write_jsonl(path: Path, cases: list[dict[str, Any]], *, bom: bool = False) -> None:
    lines = [json.dumps(c, ensure_ascii=n % 2 == 0) for n, c in enumerate(cases)]
    lines[3:3] = ["", "   "]  # blank lines are skipped, and still counted
    text = "\r\n".join(lines[:10]) + "\n" + "\n".join(lines[10:])  # no newline at the end
    path.write_bytes(("\ufeff" if bom else "").encode() + text.encode("utf-8"))


@pytest.mark.parametrize("batch_bytes", [1, 700, 5_000, None])
def test_jsonl_split_in_batches_is_the_per_case_encoders(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, batch_bytes: int | None
) -> None:
    from evaltui.contract import suite as suite_module
    from evaltui.contract.fingerprint import digest_encoded

    cases = jsonl_edge_cases(257)
    write_jsonl(tmp_path / "c.jsonl", cases, bom=True)
    sizes: list[int] = []
    real = suite_module._json_cases

    def counted(values: list[Any], places: Any) -> pa.Table:
        sizes.append(len(values))
        return real(values, places)

    monkeypatch.setattr(suite_module, "_json_cases", counted)
    if batch_bytes is not None:
        monkeypatch.setattr(suite_module, "JSONL_BATCH_BYTES", batch_bytes)
    suite = parse(manifest(tmp_path, {"part": "c.jsonl"}))
    assert stored_texts(suite) == [canonical_case(c) for c in cases]
    assert suite.splits[0].cases.column("case_id").to_pylist() == [c["case_id"] for c in cases]
    digest = digest_encoded((c["case_id"], canonical_case(c)) for c in cases)
    assert suite.splits[0].fingerprint == digest[:16]
    assert sum(sizes) == len(cases)  # valid: read once, never by the whole-file reader
    if batch_bytes == 1:
        assert max(sizes) == 1  # a batch is whole lines, at least one
    elif batch_bytes == 700:  # a batch stops at the first line that takes it past the bound
        data = (tmp_path / "c.jsonl").read_bytes()
        shortest = min(len(line) for line in data.split(b"\n") if line.strip())
        assert shortest > 150
        assert len(sizes) > 1 and max(sizes) <= 700 // shortest + 1


@pytest.mark.parametrize("batch_bytes", [1, 300])
def test_jsonl_problems_in_batches_read_as_from_the_whole_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, batch_bytes: int
) -> None:
    from evaltui.contract import suite as suite_module

    rows = [json.dumps({"case_id": f"c{n}", "expected_route": "SERVE"}) for n in range(40)]
    broken = {
        "repeat": [*rows[:30], rows[2], *rows[30:]],  # a repeat in another batch
        "empty_route": [
            *rows[:20],
            '{"case_id": "x", "expected_route": ""}',
            *rows[20:],
            '{"case_id": "y", "expected_route": ""}',
        ],
        "bad_json": [*rows[:25], '{"case_id": "x",', *rows[25:]],
        "bad_utf8": rows,
    }
    for name, lines in broken.items():
        path = tmp_path / f"{name}.jsonl"
        data = ("\n".join(lines) + "\n").encode()
        if name == "bad_utf8":
            data = data[:-50] + b"\xff" + data[-50:]
        path.write_bytes(data)
        messages_seen = []
        for size in (batch_bytes, 1 << 30):  # in batches, and the whole file as one batch
            monkeypatch.setattr(suite_module, "JSONL_BATCH_BYTES", size)
            with pytest.raises((InputError, InputErrors)) as caught:
                parse(manifest(tmp_path, {"part": path.name}, suite_id=name))
            messages_seen.append(str(caught.value))
        assert messages_seen[0] == messages_seen[1], name


def test_jsonl_repeat_across_batches_names_both_lines(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from evaltui.contract import suite as suite_module

    rows = [json.dumps({"case_id": f"c{n}", "expected_route": "SERVE"}) for n in range(40)]
    (tmp_path / "c.jsonl").write_text("\n".join([*rows[:30], rows[2], *rows[30:]]) + "\n")
    monkeypatch.setattr(suite_module, "JSONL_BATCH_BYTES", 200)
    with pytest.raises(InputError) as caught:
        parse(manifest(tmp_path, {"part": "c.jsonl"}))
    assert str(caught.value).endswith("c.jsonl:31: duplicate case_id 'c2' (first at line 3)")


def test_digest_of_ids_out_of_order_hashes_a_slice_at_a_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import pyarrow.compute as pc

    from evaltui.contract import fingerprint
    from evaltui.contract.fingerprint import digest_encoded, digest_table

    cases = jsonl_edge_cases(300)
    ids = [c["case_id"] for c in cases]
    texts = [canonical_case(c) for c in cases]
    cuts = [(0, 100), (100, 100), (100, 130), (130, 300)]  # an empty chunk too
    chunked_ids = pa.chunked_array([ids[a:b] for a, b in cuts], pa.string())
    canonical = pa.chunked_array([texts[a:b] for a, b in cuts], pa.string())
    taken: list[tuple[int, int]] = []
    original = pc.take

    def counting(values: Any, indices: Any, *args: Any, **kwargs: Any) -> Any:
        taken.append((len(values), len(indices)))
        return original(values, indices, *args, **kwargs)

    monkeypatch.setattr(pc, "take", counting)
    monkeypatch.setattr(fingerprint, "_HASH_SLICE", 64)
    expected = digest_encoded(zip(ids, texts, strict=True))
    assert digest_table(chunked_ids, canonical) == expected
    # never all the texts at once (Arrow's take on a chunked array would join them)
    assert taken and max(v for v, _ in taken) <= 170 and max(i for _, i in taken) <= 64


def test_every_byte_that_needs_escaping_is_found_in_sliced_columns() -> None:
    # the byte table: printable ASCII goes as it is, except `"` and the backslash; a control
    # character, DEL or any non-ASCII byte sends its row to Python's escaper
    values = [" ", "~", "plain text", '"', "\\", "\x1f", "\x7f", "\x00", "\u00e9", "\U0001f600"]
    values += ["", None, "tab\there", "ok~ ok"]
    table = pa.table(
        {
            "case_id": [f"c{n:02d}" for n in range(len(values))],
            "expected_route": ["SERVE"] * len(values),
            "text": values,
            "other": list(reversed(values)),
        }
    )
    for start in range(0, 6):  # slices: the columns' offsets are not zero
        part = table.slice(start, len(values) - start - 1)
        assert encode_table(part).to_pylist() == oracle_rows(part)
        chunked = pa.Table.from_batches(part.to_batches(max_chunksize=3))
        assert encode_table(chunked).to_pylist() == oracle_rows(part)


def test_the_reused_c_encoder_writes_what_canonical_case_writes() -> None:
    from evaltui.contract.fingerprint import encode_case

    values: list[Any] = [
        *jsonl_edge_cases(60),
        {"n": 10**40, "f": [math.nan, math.inf, -math.inf, -0.0, 1e-300, 1e16, 0.1]},
        {"deep": [[[{"z": 1, "a": ["\x00\x1f\x7f", "\ud83d\ude00", "\u2028"]}]]]},
        {},
        {"": None, "\u00e9": True, "a": False, "B": "x"},
    ]
    for value in values:
        assert encode_case(value) == canonical_case(value)
    with pytest.raises(TypeError):
        encode_case({"x": object()})


# -- splits an importer encoded in bulk and kept on disk (`EncodedCases`) -------------------------


def _on_disk(folder: Path, name: str, cases: list[dict[str, Any]]) -> Any:
    """The cases as an importer's bulk split: a Parquet file of the stored columns."""
    from evaltui.contract.fingerprint import digest_encoded
    from evaltui.contract.model import CASE_COLUMNS, EncodedCases

    texts = [canonical_case(c) for c in cases]
    columns = {c: [case.get(c) for case in cases] for c in CASE_COLUMNS if c != "canonical"}
    table = pa.table(
        {**columns, "canonical": texts}, schema=pa.schema([(c, pa.string()) for c in CASE_COLUMNS])
    )
    path = folder / f"{name}.parquet"
    pq.write_table(table, path)
    digest = digest_encoded((c["case_id"], t) for c, t in zip(cases, texts, strict=True))
    return EncodedCases(path, len(cases), digest)


def test_splits_kept_on_disk_give_the_fingerprints_of_the_same_cases_inline(
    tmp_path: Path,
) -> None:
    """Two bulk splits: the cross-split digest and checks read the files (`Split.case_table`)."""
    inline = parse(manifest(tmp_path, {"regression": REGRESSION, "holdout": HOLDOUT}))
    path = manifest(tmp_path, {"regression": "r.jsonl", "holdout": "h.jsonl"}, "d")
    encoded = {
        "r.jsonl": _on_disk(tmp_path, "r", REGRESSION),
        "h.jsonl": _on_disk(tmp_path, "h", HOLDOUT),
    }
    suite = parse_suite(json.loads(path.read_text()), path, tmp_path, encoded=encoded)
    assert suite.fingerprints() == inline.fingerprints() == PINNED
    assert [s.cases for s in suite.splits] == list(encoded.values())  # not read into memory
    assert suite.case_count == inline.case_count
    assert [s.case_table().to_pylist() for s in suite.splits] == [
        s.case_table().to_pylist() for s in inline.splits
    ]


def test_a_case_in_two_splits_kept_on_disk_is_named_with_both(tmp_path: Path) -> None:
    path = manifest(tmp_path, {"one": "a.jsonl", "two": "b.jsonl"})
    encoded = {
        "a.jsonl": _on_disk(tmp_path, "a", REGRESSION),
        "b.jsonl": _on_disk(tmp_path, "b", [*HOLDOUT, REGRESSION[1]]),
    }
    with pytest.raises(InputError) as caught:
        parse_suite(json.loads(path.read_text()), path, tmp_path, encoded=encoded)
    assert "case_id 'reg_002' appears in splits 'one' and 'two'" in str(caught.value)


def test_one_more_repeated_id_is_counted_in_the_singular(tmp_path: Path) -> None:
    ids = ["a", "b", "a", "c", "c"]
    path = write_parquet(tmp_path, pa.table({"case_id": ids, "expected_route": ["SERVE"] * 5}))
    with pytest.raises(InputError) as caught:
        parse(path)
    (line,) = messages(caught)
    assert line.endswith("duplicate case_id 'a' (first at row 1); 1 more case id repeats ('c')")


@pytest.mark.parametrize(
    ("shared", "tail"),
    [
        (2, " (1 more case id is in two splits too)"),
        (3, " (2 more case ids are in two splits too)"),
    ],
)
def test_ids_in_two_splits_are_counted_in_words(tmp_path: Path, shared: int, tail: str) -> None:
    common = [{"case_id": f"x{i}", "expected_route": "SERVE"} for i in range(shared)]
    path = manifest(
        tmp_path, {"one": common, "two": [*common, {"case_id": "y", "expected_route": "SERVE"}]}
    )
    with pytest.raises(InputError) as caught:
        parse(path)
    (line,) = messages(caught)
    assert line.endswith(f"case ids must be unique across the suite{tail}")
