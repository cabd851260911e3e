"""Messages that count things say "1 row" and "2 rows", never "row(s)" (evaltui.plural.count)."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from evaltui.contract.gates import parse_gates
from evaltui.decision.canary import apply_stop_rule
from evaltui.decision.sshwire import Reader, WireError
from evaltui.errors import InputError, InputErrors, ProblemTally
from evaltui.importers.inspect_ai import _notes as inspect_notes
from evaltui.store.case_sets import ResultCheck
from evaltui.store.loader import _problems
from tests.conftest import EXAMPLE


def test_hidden_problems_are_counted_in_the_singular_and_plural() -> None:
    shown = InputErrors.MAX_REPORTED
    one = InputErrors(InputError(None, f"problem {i}") for i in range(shown + 1)).lines()
    two = InputErrors(InputError(None, f"problem {i}") for i in range(shown + 2)).lines()
    assert one[-1] == "... and 1 more problem of the same kind"
    assert two[-1] == "... and 2 more problems of the same kind"


@pytest.mark.parametrize(
    ("label", "other", "said"),
    [
        ("line", 1, "... and 1 more bad line (other problems)"),
        ("line", 2, "... and 2 more bad lines (other problems)"),
        ("cases", 1, "... and 1 more bad case (other problems)"),
        ("row", 1_234, "... and 1,234 more bad rows (other problems)"),
    ],
)
def test_problems_past_the_groups_are_counted(label: str, other: int, said: str) -> None:
    tally = ProblemTally("r.jsonl", label=label)
    for i in range(ProblemTally.MAX_GROUPS + other):
        tally.add(f"problem {i}", i)
    assert tally.errors()[-1].message == said


def _gates_doc(**fields: object) -> dict[str, object]:
    return {"kind": "evaltui.gates", "version": 1, "suite_id": "s", "guardrails": [], **fields}


def test_unknown_gates_fields_one_and_two() -> None:
    path = Path("g.gates.json")
    with pytest.raises(InputError) as one:
        parse_gates(_gates_doc(colour="red"), path)
    assert one.value.message == "1 unknown field: colour"
    with pytest.raises(InputError) as two:
        parse_gates(_gates_doc(colour="red", size=3), path)
    assert two.value.message == "2 unknown fields: colour, size"


def _split_metric(*splits: str) -> dict[str, object]:
    return {"name": "holdout_rate", "rate": {"correct": True}, "splits": list(splits)}


@pytest.mark.parametrize(
    ("splits", "said"),
    [
        (["nope"], "refers to 1 unknown split of suite 'ci-claim-gate-v1': nope"),
        (["nope", "other"], "refers to 2 unknown splits of suite 'ci-claim-gate-v1': nope, other"),
    ],
)
def test_gates_metric_on_unknown_splits(
    run_cli, tmp_path: Path, splits: list[str], said: str
) -> None:
    store = tmp_path / "s.duckdb"
    assert run_cli("load", EXAMPLE, "--store", store).code == 0
    folder = tmp_path / "gates"
    folder.mkdir()
    doc = {**_gates_doc(metrics=[_split_metric(*splits)]), "suite_id": "ci-claim-gate-v1"}
    (folder / "g.gates.json").write_text(json.dumps(doc))
    result = run_cli("load", folder, "--store", store)
    assert result.code == 2 and said in result.err, result.err


class _Run:
    run_id = "r1"
    suite_id = "s"


@pytest.mark.parametrize(
    ("check", "said"),
    [
        (ResultCheck(5, 1, 0, 0), "1 row without a string case_id and route"),
        (ResultCheck(5, 2, 0, 0), "2 rows without a string case_id and route"),
        (ResultCheck(5, 0, 1, 0), "1 result for a case id not in suite 's'"),
        (ResultCheck(5, 0, 2, 1), "2 results for case ids not in suite 's', 1 duplicate case id"),
        (ResultCheck(5, 0, 0, 2), "2 duplicate case ids"),
    ],
)
def test_loader_result_problems_one_and_many(check: ResultCheck, said: str) -> None:
    assert _problems(_Run(), check) == said  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("observed", "said"),
    [
        ({"a": 0.0}, "no observed value for 1 monitored metric (b): pass --observed b=VALUE"),
        ({"c": 1.0}, "no observed value for 2 monitored metrics (a, b): pass --observed a=VALUE"),
    ],
)
def test_canary_names_the_missing_monitored_metrics(observed: dict[str, float], said: str) -> None:
    doc = {"monitored_invariants": ["a == 0", "b <= 3"], "rollback_artifact": "old"}
    with pytest.raises(InputError) as missing:
        apply_stop_rule(doc, observed)
    assert missing.value.message.startswith(said)


@pytest.mark.parametrize(
    ("extra", "said"), [(1, "1 unexpected trailing byte"), (2, "2 unexpected trailing bytes")]
)
def test_trailing_bytes_are_counted(extra: int, said: str) -> None:
    reader = Reader(b"\x00" * extra, what="the signature blob")
    with pytest.raises(WireError, match=f"^the signature blob has {said}$"):
        reader.finish()


@pytest.mark.parametrize(
    ("values", "said"),
    [
        ([1.0, None, 0.0], "unscored: 1 of 3 samples has no match score"),
        ([None, None, 0.0], "unscored: 2 of 3 samples have no match score"),
        ([None], "unscored: 1 of 1 sample has no match score"),
    ],
)
def test_inspect_unscored_note_agrees_its_verb(values: list[float | None], said: str) -> None:
    log = {"samples": SimpleNamespace(count=len(values))}
    assert inspect_notes(log, "success", "match", values) == [said]
