"""Fingerprints: exactly the worked example's values, order-independent, label-sensitive,
and the same whether computed in Python or by the store's SQL."""

from __future__ import annotations

import hashlib
import json
import random

import duckdb
import pyarrow as pa
import pytest

from evaltui.contract.fingerprint import (
    SQL_FINGERPRINT_AGG,
    canonical_case,
    fingerprint_cases,
)

REGRESSION = [
    {"case_id": "req_205", "slice_name": "unsupported_root_cause", "evidence_state": "no_source",
     "expected_route": "ABSTAIN", "source": "incident"},
    {"case_id": "reg_002", "slice_name": "confirmed_failure", "evidence_state": "test_failure_log",
     "expected_route": "SERVE", "source": "known_good"},
]  # fmt: skip
HOLDOUT = [
    {"case_id": "hold_001", "slice_name": "dependency_error", "evidence_state": "dependency_error",
     "expected_route": "SERVE", "source": "holdout"},
    {"case_id": "hold_002", "slice_name": "missing_stacktrace", "evidence_state": "no_source",
     "expected_route": "ABSTAIN", "source": "holdout"},
]  # fmt: skip


def reference(cases: list[dict]) -> str:
    """The SPEC's definition, written out independently of the implementation."""
    ordered = sorted(cases, key=lambda c: c["case_id"])
    payload = json.dumps(ordered, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(payload).hexdigest()[:16]


def test_worked_example_fingerprints() -> None:
    assert fingerprint_cases(REGRESSION) == "2be42790a4f41355"
    assert fingerprint_cases(HOLDOUT) == "d47cdbbfe1caae89"
    assert fingerprint_cases(REGRESSION + HOLDOUT) == "94dfc930d2829d2c"


def test_row_order_never_changes_a_fingerprint() -> None:
    shuffled = list(reversed(HOLDOUT + REGRESSION))
    assert fingerprint_cases(shuffled) == "94dfc930d2829d2c"


def test_any_changed_label_changes_the_fingerprint() -> None:
    corrupted = [REGRESSION[0], {**REGRESSION[1], "expected_route": "ABSTAIN"}]
    assert fingerprint_cases(corrupted) != "2be42790a4f41355"
    extra_field = [REGRESSION[0], {**REGRESSION[1], "note": "x"}]
    assert fingerprint_cases(extra_field) != "2be42790a4f41355"


def test_non_ascii_is_escaped_like_json_dumps() -> None:
    cases = [
        {"case_id": "ü-1", "expected_route": "SERVE", "input": "Grüße, 日本語 😀"},
        {"case_id": "a-2", "expected_route": "ABSTAIN", "input": "naïve", "n": 1.5, "ok": True},
    ]
    assert canonical_case(cases[0]).isascii()
    assert "\\u00fc" in canonical_case(cases[0])
    assert fingerprint_cases(cases) == reference(cases)


def test_sql_aggregate_matches_python_on_random_subsets() -> None:
    rng = random.Random(7)
    alphabet = "abcXYZ_-ü日😀 "
    cases = [
        {
            "case_id": "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 6))) + str(i),
            "expected_route": rng.choice(["SERVE", "ABSTAIN", "ESCALATE"]),
            "score": rng.random(),
        }
        for i in range(300)
    ]
    con = duckdb.connect()
    table = pa.table(
        {
            "case_id": [c["case_id"] for c in cases],
            "canonical": [canonical_case(c) for c in cases],
            "keep": [rng.random() < 0.6 for _ in cases],
        }
    )
    con.register("t", table)
    agg = SQL_FINGERPRINT_AGG.format(canon="canonical", case_id="case_id")
    whole = con.execute(f"SELECT {agg} FROM t").fetchone()[0]
    subset = con.execute(f"SELECT {agg} FROM t WHERE keep").fetchone()[0]
    kept = [c for c, k in zip(cases, table.column("keep").to_pylist(), strict=True) if k]
    assert whole == reference(cases)
    assert subset == reference(kept)
    none = con.execute(f"SELECT {agg} FROM t WHERE false").fetchone()[0]
    assert none == reference([])


@pytest.mark.parametrize("splits", [1, 2, 5])
def test_any_number_of_splits_loads_with_matching_fingerprints(tmp_path, splits: int) -> None:
    from evaltui.contract.suite import parse_suite

    all_cases = (
        REGRESSION
        + HOLDOUT
        + [{"case_id": f"x_{i}", "expected_route": "SERVE", "slice_name": "é"} for i in range(6)]
    )
    doc = {
        "kind": "evaltui.suite",
        "version": 1,
        "suite_id": "s",
        "splits": {f"part{k}": all_cases[k::splits] for k in range(splits)},
    }
    suite = parse_suite(doc, tmp_path / "s.suite.json", tmp_path)
    assert suite.evaluation_sha == reference(all_cases)
    for k, split in enumerate(suite.splits):
        assert split.fingerprint == reference(all_cases[k::splits])
    assert suite.fingerprints()["evaluation_sha"] == reference(all_cases)
