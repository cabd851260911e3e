"""A suite's case sets (`suite_sets`) are the same whichever way the loader numbers the cases.

Cases already in `case_id` order are numbered by their position (`record_suite_in_order`); any
other suite by DuckDB sorting the stored ids (`record_suite`), which is the oracle here.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evaltui.store import loader
from evaltui.store.connection import Store

ROUTES = ("SERVE", "ABSTAIN", "ESCALATE")


def _cases(ids: list[str]) -> list[dict[str, str]]:
    return [{"case_id": i, "expected_route": ROUTES[n * 7 % 3]} for n, i in enumerate(ids)]


# code point order, which differs from UTF-16's (U+FFFF before the astral U+1D538)
UNICODE = ["a", "z", "\u00e9", "\u4e2d", "\uffff", "\U0001d538"]
NUMBERED = [f"case-{n:05d}" for n in range(3000)]

LONG = "x" * 40  # past the prefix DuckDB keeps inline in a string
EDGES = ["a", "a\x00", "a\x00b", "a\x01", "aa", "ab", LONG, LONG + "\x00", LONG + "a"]
MIXED = sorted(
    [
        "A",
        "Z",
        "a",
        "\u00a0",
        "\u00e9",
        "e\u0301",
        "\ud7ff",
        "\ue000",
        "\ufeff",
        "\uffff",
        "\U0001d538",
        "\U0010fffd",
    ]
)
MANY = sorted(f"{chr(0x100 + n % 5000)}{n}" for n in range(20000))

SUITES = {
    "one split in order": ({"test": NUMBERED}, True),
    "NUL bytes and prefixes": ({"a": EDGES[:4], "b": EDGES[4:]}, True),
    "a long shared prefix": ({"test": [f"{LONG}-{n:06d}" for n in range(5000)]}, True),
    "letters from several planes": ({"a": MIXED[:6], "b": MIXED[6:]}, True),
    "20,000 non-ASCII ids": ({"a": MANY[:10000], "b": MANY[10000:]}, True),
    "splits of consecutive ranges": ({"a": NUMBERED[:1200], "b": NUMBERED[1200:]}, True),
    "code point order": ({"test": UNICODE}, True),
    "one split out of order": ({"test": NUMBERED[::-1]}, False),
    "splits interleaved": ({"a": NUMBERED[::2], "b": NUMBERED[1::2]}, False),
    "splits in reverse ranges": ({"a": NUMBERED[1500:], "b": NUMBERED[:1500]}, False),
}


def _load(tmp_path: Path, run_cli, splits: dict[str, list[str]], name: str) -> list[tuple]:
    folder = tmp_path / name
    folder.mkdir()
    manifest = {
        "kind": "evaltui.suite",
        "version": 1,
        "suite_id": "sets",
        "splits": {split: _cases(ids) for split, ids in splits.items()},
    }
    (folder / "sets.suite.json").write_text(json.dumps(manifest))
    store = tmp_path / f"{name}.duckdb"
    result = run_cli("load", folder, "--store", store)
    assert result.code == 0, result.err
    with Store.open(store, read_only=True) as s:
        return s.con.execute(
            "SELECT split, expected_route, cases::VARCHAR FROM suite_sets ORDER BY ALL"
        ).fetchall()


@pytest.mark.parametrize("case", list(SUITES))
def test_numbering_in_order_gives_the_sorted_numbering(
    tmp_path: Path, run_cli, monkeypatch: pytest.MonkeyPatch, case: str
) -> None:
    splits, in_order = SUITES[case]
    used: list[bool] = []
    routes_if_in_order = loader._routes_if_in_id_order

    def spied(suite: object) -> object:
        found = routes_if_in_order(suite)  # type: ignore[arg-type]
        used.append(found is not None)
        return found

    monkeypatch.setattr(loader, "_routes_if_in_id_order", spied)
    ours = _load(tmp_path, run_cli, splits, "ours")
    assert used == [in_order]
    monkeypatch.setattr(loader, "_routes_if_in_id_order", lambda suite: None)
    sorted_by_the_store = _load(tmp_path, run_cli, splits, "oracle")
    assert ours == sorted_by_the_store
    assert len(ours) >= 2 and all(len(bits) == sum(map(len, splits.values())) for *_, bits in ours)
