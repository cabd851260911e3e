"""Flips and repeat flakiness from the runs' outcome sets against the per-case scan they replaced.

The oracle below is the implementation `review.flips.flip_report` had before issue 15: every
result joined to its case, ordered by case id, a numpy sort of the ids and one record per changed
case. The store is random (seeded): case ids whose byte order differs from a naive order, two
splits, missing results, artifacts with several repeats; the reports must agree exactly.
"""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from pathlib import Path

import duckdb
import numpy as np
import pytest

from evaltui.actions.flips import flips, review_flakiness
from evaltui.actions.review import compare_runs
from evaltui.review.flakiness import flakiness
from evaltui.review.flips import MISSING, RIGHT, WRONG, CaseFlips, FlipReport
from evaltui.review.paired import PairedSettings
from evaltui.store.connection import Store
from evaltui.store.queries import get_runs
from tests._stats_data import load, write_run, write_suite

LABELS = ("SERVE", "ABSTAIN", "ESCALATE")
# artifact -> its runs; "base" is the baseline, "solo" has no repeats
RUNS = {
    "base": ["base"],
    "cand-a": ["a1", "a2", "a3", "a4"],
    "cand-b": ["b1", "b2", "b3"],
    "solo": ["s1"],
}


def _oracle(con: duckdb.DuckDBPyConnection, baseline_id: str, run_ids: Sequence[str]) -> FlipReport:
    """flip_report as it was: a scan of the results, a sort of the ids, a loop over the flips."""
    baseline = get_runs(con, [baseline_id])[0]
    ids = [baseline_id, *(r.run_id for r in get_runs(con, list(run_ids)))]
    table = con.sql(
        """SELECT c.case_id, list_position(?::VARCHAR[], r.run_id) - 1 AS col,
                  r.route IS NOT DISTINCT FROM c.expected_route AS right
           FROM results r JOIN cases c ON c.case_id = r.case_id AND c.suite_id = ?
           WHERE r.run_id IN (SELECT unnest(?::VARCHAR[]))
           ORDER BY c.case_id""",
        params=[ids, baseline.suite_id, ids],
    ).to_arrow_table()
    case_col = table.column("case_id").to_numpy(zero_copy_only=False)
    names, rows = np.unique(case_col, return_inverse=True)
    matrix = np.full((names.size, len(ids)), -1, dtype=np.int8)
    matrix[rows, table.column("col").to_numpy()] = table.column("right").to_numpy(
        zero_copy_only=False
    )
    base, others = matrix[:, 0], matrix[:, 1:]
    has_base = base >= 0
    fixed = ((others == 1) & (base[:, None] == 0)).sum(axis=1)
    broken = ((others == 0) & (base[:, None] == 1)).sum(axis=1)
    successes = (others == 1).sum(axis=1)
    trials = (others >= 0).sum(axis=1)
    changed = np.flatnonzero(has_base & ((fixed + broken) > 0))
    letters = np.array([MISSING, WRONG, RIGHT])
    listed = tuple(
        CaseFlips(
            str(names[i]),
            str(letters[base[i] + 1]),
            "".join(letters[others[i] + 1]),
            int(fixed[i]),
            int(broken[i]),
        )
        for i in changed
    )
    return FlipReport(
        baseline=baseline_id,
        run_ids=tuple(ids[1:]),
        cases=int(has_base.sum()),
        changed=len(listed),
        flips=listed,
        flaky=int(((successes > 0) & (successes < trials)).sum()),
        repeats=flakiness(successes[trials > 0], trials[trials > 0]),
    )


def _same(a: FlipReport, b: FlipReport) -> None:
    assert json.dumps(a.to_json()) == json.dumps(b.to_json())  # floats bit for bit, NaN too
    assert a.flips == b.flips and a.changed == b.changed


@pytest.fixture(scope="module")
def random_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rng = random.Random(15)
    tmp = tmp_path_factory.mktemp("oracle")
    folder = tmp / "runs"
    folder.mkdir()
    # ids whose order trips a naive sort: digits vs letters, case, a non-ASCII letter, lengths
    stems = ["c", "C", "c1", "c10", "c9", "z", "Z", "ä", "a-b", "a_b", "é"]
    ids = sorted({f"{rng.choice(stems)}{rng.randrange(400)}" for _ in range(260)})
    rng.shuffle(ids)
    cases = [
        {"case_id": case_id, "slice_name": "s", "expected_route": rng.choice(LABELS)}
        for case_id in ids
    ]
    write_suite(folder, cases)
    suite_file = folder / "hand.suite.json"
    doc = json.loads(suite_file.read_text(encoding="utf-8"))
    half = len(cases) // 2
    doc["splits"] = {"first": cases[:half], "second": cases[half:]}  # numbering spans splits
    suite_file.write_text(json.dumps(doc), encoding="utf-8")
    day = 1
    for artifact, run_ids in RUNS.items():
        for run_id in run_ids:
            skill = rng.uniform(0.5, 0.95)
            routes = {
                c["case_id"]: c["expected_route"] if rng.random() < skill else rng.choice(LABELS)
                for c in cases
                if rng.random() > 0.1  # about a tenth of the cases without a result
            }
            write_run(folder, run_id, routes, artifact=artifact, day=day)
            day += 1
    return load(folder, tmp / "s.duckdb")


def test_flip_reports_match_the_results_scan(random_store: Path) -> None:
    others = [r for ids in RUNS.values() for r in ids if r != "base"]
    with Store.open(random_store, read_only=True) as store:
        con = store.con
        for run_ids in (RUNS["cand-a"], RUNS["cand-b"], RUNS["solo"], others, ["b2", "a3", "s1"]):
            want = _oracle(con, "base", run_ids)
            # the store exercises every count (one run alone cannot disagree with itself)
            assert want.changed > 5 and (want.flaky > 5 or len(run_ids) == 1)
            _same(flips(con, "base", run_ids), want)
            # a listing cap keeps the counts and lists the first changed cases in id order
            capped = flips(con, "base", run_ids, limit=5)
            assert capped.changed == want.changed and capped.flips == want.flips[:5]
        _same(flips(con, "base"), _oracle(con, "base", others))  # default: the experiment
        # another baseline, whose own results have gaps of their own
        _same(flips(con, "a2", ["b1", "b3"]), _oracle(con, "a2", ["b1", "b3"]))


def test_review_flakiness_matches_the_results_scan(random_store: Path) -> None:
    with Store.open(random_store, read_only=True) as store:
        con = store.con
        review = compare_runs(con, "base", None, PairedSettings())
        reports = review_flakiness(con, review)
        assert set(reports) == {"cand-a", "cand-b"}  # solo has one run: no repeats
        for artifact, report in reports.items():
            want = _oracle(con, "base", list(report.run_ids))
            assert sorted(report.run_ids) == sorted(RUNS[artifact])
            assert report.flips == ()  # counted, not listed
            assert json.dumps(report.to_json() | {"flips": []}) == json.dumps(
                want.to_json() | {"flips": []}
            )


def test_compare_json_reports_the_scan_figures(run_cli, random_store: Path) -> None:
    out = run_cli("compare", "base", "--store", random_store, "--json")
    assert out.code == 0, out.err
    groups = {g["artifact"]: g for g in json.loads(out.out)["repeats"]}
    with Store.open(random_store, read_only=True) as store:
        want = _oracle(store.con, "base", groups["cand-a"]["flakiness"]["runs"])
    got = groups["cand-a"]["flakiness"]
    assert got["changed_vs_baseline"] == want.changed and got["flaky_cases"] == want.flaky
    assert got["pass_hat_k"] == {str(k): v for k, v in want.repeats.pass_hat.items()}
