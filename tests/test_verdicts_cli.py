"""`evaltui verdict` and `evaltui verdicts`: bad input is one line and exit 2 with nothing
written; a damaged ledger is named with its line; the commands import no Textual."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from evaltui.actions.verdicts import ledger_dir_for
from tests.conftest import PAIR_BASELINE, PAIR_CANDIDATE
from tests.test_cli_import_hygiene import APP_ONLY, imported, top_level

RUN, BASE = PAIR_CANDIDATE, PAIR_BASELINE


def failing_cases(run_cli, store: Path) -> list[str]:  # type: ignore[no-untyped-def]
    result = run_cli("cases", RUN, "--vs", BASE, "--failures", "--json", "--store", store)
    assert result.code == 0
    return [row["case_id"] for row in json.loads(result.out)["cases"]]


def test_record_and_list(run_cli, sample_store: Path) -> None:  # type: ignore[no-untyped-def]
    cases = failing_cases(run_cli, sample_store)
    base = ("--vs", BASE, "--store", sample_store, "--reviewer", "alice")
    ok = run_cli("verdict", RUN, cases[0], *base, "--kind", "confirm")
    assert ok.code == 0, ok.err
    assert f"1 of {len(cases)} failures judged" in ok.out
    waived = run_cli(
        "verdict",
        RUN,
        cases[1],
        *base,
        "--kind",
        "waive",
        "--reason",
        "flaky upstream",
        "--expires",
        "2099-12-31",
    )
    assert waived.code == 0, waived.err
    shown = run_cli("cases", RUN, "--vs", BASE, "--failures", "--json", "--store", sample_store)
    proposed = json.loads(shown.out)["cases"][2]["route"]  # a route the pair knows (not a slice)
    relabel = run_cli(
        "verdict",
        RUN,
        cases[2],
        *base,
        "--kind",
        "relabel",
        "--expected",
        proposed,
        "--reason",
        "the label is wrong",
        "--reviewer",
        "bob",
    )
    assert relabel.code == 0, relabel.err
    listed = run_cli("verdicts", RUN, "--vs", BASE, "--store", sample_store)
    assert listed.code == 0, listed.err
    assert "waive until 2099-12-31" in listed.out and f"relabel -> {proposed}" in listed.out
    assert f"3 of {len(cases)} failures judged" in listed.out
    data = json.loads(run_cli("verdicts", "--json", "--store", sample_store).out)
    assert set(data["heads"]) == {"alice", "bob"}
    assert data["pairs"] == [{"run": RUN, "baseline": BASE, "judged": 3, "failures": len(cases)}]
    assert [v["state"] for v in data["verdicts"]] == ["current"] * 3


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("--kind", "waive"), "a waiver needs a reason"),
        (("--kind", "relabel", "--reason", "x"), "expected route"),
        (("--kind", "waive", "--reason", "x", "--expires", "2001-01-01"), "in the past"),
        (("--kind", "waive", "--reason", "x", "--expires", "soon"), "give a date"),
        (("--kind", "maybe"), "kind must be one of"),
        (("--kind", "confirm", "--reviewer", "a/b"), "reviewer 'a/b'"),
        (("--kind", "confirm", "--vs", "no-such-run"), "no-such-run"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_nothing_written(  # type: ignore[no-untyped-def]
    run_cli, sample_store: Path, args: tuple[str, ...], words: str
) -> None:
    case = failing_cases(run_cli, sample_store)[0]
    found = run_cli(
        "verdict", RUN, case, "--vs", BASE, "--reviewer", "alice", "--store", sample_store, *args
    )
    assert found.code == 2 and words in found.err, found.err
    assert len(found.err.strip().splitlines()) == 1 and "Traceback" not in found.err
    assert not ledger_dir_for(sample_store).exists()


def test_unknown_case_and_run(run_cli, sample_store: Path) -> None:  # type: ignore[no-untyped-def]
    common = ("--vs", BASE, "--reviewer", "alice", "--store", sample_store, "--kind", "confirm")
    for run, case in ((RUN, "no-such-case"), ("no-such-run", "x")):
        found = run_cli("verdict", run, case, *common)
        assert found.code == 2 and len(found.err.strip().splitlines()) == 1, found.err
    assert not ledger_dir_for(sample_store).exists()


def test_a_damaged_ledger_is_named_and_exits_2(run_cli, sample_store: Path) -> None:  # type: ignore[no-untyped-def]
    cases = failing_cases(run_cli, sample_store)
    for case in cases[:3]:
        assert (
            run_cli(
                "verdict",
                RUN,
                case,
                "--vs",
                BASE,
                "--kind",
                "confirm",
                "--reviewer",
                "alice",
                "--store",
                sample_store,
            ).code
            == 0
        )
    path = ledger_dir_for(sample_store) / "alice.jsonl"
    first, second, third = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(first + third + second)
    found = run_cli("verdicts", "--store", sample_store)
    assert found.code == 2
    assert found.err.strip().splitlines() == [
        f"evaltui: {path}:2: seq 3 on line 2 (a line was dropped, added or moved)"
    ]
    before = path.read_bytes()
    refused = run_cli(
        "verdict",
        RUN,
        cases[3],
        "--vs",
        BASE,
        "--kind",
        "confirm",
        "--reviewer",
        "alice",
        "--store",
        sample_store,
    )
    assert refused.code == 2 and f"{path}:2:" in refused.err
    assert path.read_bytes() == before
    # another reviewer still records; the damaged ledger is named as a warning
    other = run_cli(
        "verdict", RUN, cases[3], "--vs", BASE, "--kind", "confirm", "--reviewer", "bob",
        "--store", sample_store,
    )  # fmt: skip
    assert other.code == 0
    assert f"warning: {path}:2: seq 3 on line 2" in other.err


def test_verdict_commands_do_not_import_textual(sample_store: Path, tmp_path: Path) -> None:
    code, modules = imported(tmp_path, "--store", sample_store, "verdicts", "--json")
    assert code == 0 and "evaltui.actions.verdicts" in modules
    assert not top_level(modules) & set(APP_ONLY)
    assert not any(m.startswith("evaltui.tui") for m in modules)


def test_a_relabel_to_a_route_nobody_knows_is_refused(run_cli, sample_store: Path) -> None:  # type: ignore[no-untyped-def]
    """A typo in --expected would move the case out of every metric that names its real route
    (a waiver in disguise): only a route the suite expects or the pair produced is taken."""
    case = failing_cases(run_cli, sample_store)[0]
    base = ("--vs", BASE, "--store", sample_store, "--reviewer", "alice", "--kind", "relabel")
    typo = run_cli("verdict", RUN, case, *base, "--expected", "SERV", "--reason", "mislabeled")
    assert typo.code == 2
    assert typo.err.strip().splitlines() == [
        "evaltui: route 'SERV' is not one the suite expects or the pair produced; "
        "known routes: ABSTAIN, ESCALATE, SERVE"
    ]
    assert not ledger_dir_for(sample_store).exists() or not any(
        ledger_dir_for(sample_store).iterdir()
    )
    routes = json.loads(
        run_cli("cases", RUN, "--vs", BASE, "--failures", "--json", "--store", sample_store).out
    )["cases"][0]
    ok = run_cli("verdict", RUN, case, *base, "--expected", routes["route"], "--reason", "x")
    assert ok.code == 0, ok.err


def documented_json_keys() -> set[str]:
    """The keys docs/formats.md lists for `evaltui verdicts --json` (its table's first column,
    the ledger fields spelled out in the `...` row)."""
    text = (Path(__file__).resolve().parent.parent / "docs" / "formats.md").read_text()
    section = text.split("### `evaltui verdicts --json`", 1)[1].split("\n## ", 1)[0]
    keys: set[str] = set()
    for row in section.splitlines():
        if not row.startswith("| `"):
            continue
        first, meaning = row.split("|")[1:3]
        if "..." in first:
            keys |= {f"verdicts[].{k}" for k in re.findall(r"`(\w+)`", meaning)}
        else:
            keys |= set(re.findall(r"`([\w\[\].]+)`", first))
    return keys


def json_keys(data: dict[str, Any]) -> set[str]:
    keys = {f"{k}[]" if isinstance(v, list) else k for k, v in data.items()}
    for name in ("pairs", "verdicts"):
        for item in data[name]:
            keys |= {f"{name}[].{k}" for k in item}
    return keys


def test_verdicts_json_has_exactly_the_documented_keys(run_cli, sample_store: Path) -> None:  # type: ignore[no-untyped-def]
    cases = failing_cases(run_cli, sample_store)
    base = ("--vs", BASE, "--store", sample_store)
    for reviewer, kind in (("alice", "confirm"), ("alice", "note"), ("bob", "waive")):
        recorded = run_cli(
            "verdict", RUN, cases[0], *base, "--kind", kind, "--reason", "r", "--reviewer", reviewer
        )
        assert recorded.code == 0, recorded.err
    last = run_cli(
        "verdict", RUN, cases[0], *base, "--kind", "confirm", "--reviewer", "bob", "--json"
    )
    recorded_json = json.loads(last.out)
    assert set(recorded_json) == {"verdict", "judged", "failures"}
    assert (recorded_json["judged"], recorded_json["failures"]) == (1, len(cases))
    data = json.loads(run_cli("verdicts", "--json", "--store", sample_store).out)
    assert json_keys(data) == documented_json_keys()
    assert recorded_json["verdict"] == {
        k: v for k, v in data["verdicts"][3].items() if k not in ("state", "counts")
    }
    assert data["heads"] == {
        "alice": {"seq": 2, "hash": data["verdicts"][1]["hash"]},
        "bob": {"seq": 2, "hash": data["verdicts"][3]["hash"]},
    }
    assert [(v["reviewer"], v["kind"], v["state"], v["counts"]) for v in data["verdicts"]] == [
        ("alice", "confirm", "current", True),
        ("alice", "note", "note", False),
        ("bob", "waive", "superseded", False),
        ("bob", "confirm", "current", True),
    ]
    assert data["pairs"] == [{"run": RUN, "baseline": BASE, "judged": 1, "failures": len(cases)}]
    again = json.loads(run_cli("verdicts", "--json", "--store", sample_store).out)
    assert again == data  # the same ledgers, the same bytes of answer
