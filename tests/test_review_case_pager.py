"""The numbered case lists behind the cases screen, checked against `fetch_cases` (the CLI)."""

from __future__ import annotations

import json
from collections import Counter

import duckdb
import pytest

from evaltui.errors import InputError, NotFoundError
from evaltui.store.queries import get_run
from evaltui.store.queries_case_pages import PairCases
from evaltui.store.queries_cases import CaseFilter, case_detail, fetch_cases
from tests.conftest import PAIR_BASELINE, PAIR_CANDIDATE

BASELINE, CANDIDATE = PAIR_BASELINE, PAIR_CANDIDATE


def _all_rows(con: duckdb.DuckDBPyConnection, view, page: int = 37) -> list[dict]:  # type: ignore[no-untyped-def]
    rows: list[dict] = []
    for start in range(0, view.total, page):
        rows += view.page(con, start, page).to_pylist()
    return rows


def test_pair_lists_every_case_in_suite_order(sample_con, pair) -> None:  # type: ignore[no-untyped-def]
    expected = fetch_cases(sample_con, pair.run, pair.baseline).to_pylist()
    view = pair.view(sample_con)
    rows = _all_rows(sample_con, view)
    assert pair.total == view.total == len(expected) == 520
    assert [r["row"] for r in rows] == list(range(520))
    assert [r["case_id"] for r in rows] == [r["case_id"] for r in expected]
    assert [r["outcome"] for r in rows] == [r["outcome"] for r in expected]
    assert [r["baseline_route"] for r in rows] == [r["baseline_route"] for r in expected]
    assert view.failures == sum(1 for r in expected if not r["correct"])


def test_stepping_visits_every_failure_in_order_and_back(sample_con, pair) -> None:  # type: ignore[no-untyped-def]
    view = pair.view(sample_con)
    failures = [
        r["case_id"]
        for r in fetch_cases(
            sample_con, pair.run, pair.baseline, CaseFilter(failures_only=True)
        ).to_pylist()
    ]
    assert failures, "the sample pair has failures"
    rows = _all_rows(sample_con, view)
    seen, at = [], 0
    if not rows[0]["correct"]:
        seen.append(rows[0]["case_id"])
    while (nxt := view.step_failure(sample_con, at, 1)) is not None:
        seen.append(rows[nxt]["case_id"])
        at = nxt
    assert seen == failures
    back = []
    while (prev := view.step_failure(sample_con, at, -1)) is not None:
        back.append(rows[prev]["case_id"])
        at = prev
    assert back == list(reversed(failures[:-1]))
    # several steps at once land on the k-th failure, or the last there is
    first = view.step_failure(sample_con, -1, 1)
    assert first is not None and rows[first]["case_id"] == failures[0]
    third = view.step_failure(sample_con, -1, 3)
    assert third is not None and rows[third]["case_id"] == failures[2]
    farthest = view.step_failure(sample_con, -1, 10_000)
    assert farthest is not None and rows[farthest]["case_id"] == failures[-1]
    assert view.failures_before(sample_con, third) == 2


@pytest.mark.parametrize(
    "where",
    [
        CaseFilter(failures_only=True),
        CaseFilter(slice_name="billing"),
        CaseFilter(outcome="fixed"),
        CaseFilter(outcome="broken", slice_name="billing"),
        CaseFilter(split="holdout", failures_only=True),
        CaseFilter(text="billing", failures_only=True),
    ],
)
def test_filters_match_the_cli_query(sample_con, pair, where: CaseFilter) -> None:  # type: ignore[no-untyped-def]
    expected = [
        r["case_id"] for r in fetch_cases(sample_con, pair.run, pair.baseline, where).to_pylist()
    ]
    view = pair.view(sample_con, where)
    assert [r["case_id"] for r in _all_rows(sample_con, view)] == expected
    assert view.total == len(expected)
    view.drop(sample_con)


def test_text_filter_searches_ids_routes_and_outputs(sample_con, pair) -> None:  # type: ignore[no-untyped-def]
    by_id = pair.view(sample_con, CaseFilter(text="HOL_029"))
    assert {r["case_id"] for r in _all_rows(sample_con, by_id)} == {
        f"hol_029{i}" for i in range(10)
    }
    output = sample_con.execute(
        "SELECT case_id, output FROM results WHERE run_id = ? AND output IS NOT NULL "
        "ORDER BY case_id LIMIT 1",
        [CANDIDATE],
    ).fetchall()[0]
    word = output[1].split()[-1]
    found = pair.view(sample_con, CaseFilter(text=word))
    assert output[0] in {r["case_id"] for r in _all_rows(sample_con, found)}
    nothing = pair.view(sample_con, CaseFilter(text="no such text anywhere"))
    assert nothing.total == 0 and nothing.step_failure(sample_con, 0, 1) is None


@pytest.mark.parametrize("text", ["SERVE", "billing", "hol_02", "refund"])
def test_text_filter_is_the_same_in_the_cli_and_the_app(sample_con, pair, text: str) -> None:  # type: ignore[no-untyped-def]
    # worked out in Python from the raw rows: id, slice, any route, or either run's output
    rows = sample_con.execute(
        """SELECT c.case_id, c.slice_name, c.expected_route, b.route, r.route, b.output, r.output
           FROM cases c
           LEFT JOIN results r ON r.run_id = ? AND r.case_id = c.case_id
           LEFT JOIN results b ON b.run_id = ? AND b.case_id = c.case_id
           WHERE c.suite_id = ? AND (r.route IS NOT NULL OR b.route IS NOT NULL)""",
        [CANDIDATE, BASELINE, pair.run.suite_id],
    ).fetchall()
    expected = {row[0] for row in rows if any(text.lower() in (v or "").lower() for v in row)}
    assert expected  # the word is somewhere in the sample
    cli = {
        r["case_id"]
        for r in fetch_cases(sample_con, pair.run, pair.baseline, CaseFilter(text=text)).to_pylist()
    }
    app = {
        r["case_id"] for r in _all_rows(sample_con, pair.view(sample_con, CaseFilter(text=text)))
    }
    assert cli == app == expected


def test_transitions_count_baseline_route_by_candidate_route(sample_con, pair) -> None:  # type: ignore[no-untyped-def]
    expected = Counter(
        (r["baseline_route"], r["route"])
        for r in fetch_cases(sample_con, pair.run, pair.baseline).to_pylist()
    )
    view = pair.view(sample_con)
    got = {(t.source, t.target): t.count for t in view.transitions(sample_con)}
    assert got == dict(expected)
    assert sum(view.outcome_counts(sample_con).values()) == 520
    failures = pair.view(sample_con, CaseFilter(failures_only=True))
    assert sum(t.count for t in failures.transitions(sample_con)) == failures.total


def test_outcome_counts_agree_with_the_review(sample_con, pair) -> None:  # type: ignore[no-untyped-def]
    from evaltui.review.report import review_runs

    review = review_runs(sample_con, BASELINE, [CANDIDATE])
    paired = review.runs[0].paired
    assert paired is not None
    counts = pair.view(sample_con).outcome_counts(sample_con)
    assert (counts["fixed"], counts["broken"], counts["both_right"], counts["both_wrong"]) == (
        paired.fixed,
        paired.broken,
        paired.both_right,
        paired.both_wrong,
    )


def test_locate_keeps_the_place_across_filters(sample_con, pair) -> None:  # type: ignore[no-untyped-def]
    everything = _all_rows(sample_con, pair.view(sample_con))
    failures = pair.view(sample_con, CaseFilter(failures_only=True))
    failure_rows = _all_rows(sample_con, failures)
    target = failure_rows[2]
    assert failures.locate(sample_con, target["pair_row"]) == 2
    # a case that is not in the view: the next one that is
    before = everything[target["pair_row"] - 1]
    assert before["correct"], "the sample has no two failures in a row here"
    assert failures.locate(sample_con, before["pair_row"]) == 2
    assert failures.locate(sample_con, 10**9) == failures.total - 1


def test_unpaired_view_is_expected_by_route(sample_con) -> None:  # type: ignore[no-untyped-def]
    run = get_run(sample_con, BASELINE)
    pair = PairCases.build(sample_con, run, None)
    view = pair.view(sample_con)
    rows = fetch_cases(sample_con, run).to_pylist()
    got = {(t.source, t.target): t.count for t in view.transitions(sample_con)}
    assert got == dict(Counter((r["expected_route"], r["route"]) for r in rows))
    assert view.outcome_counts(sample_con) == {}
    with pytest.raises(InputError, match="baseline"):
        pair.view(sample_con, CaseFilter(outcome="fixed"))


def test_pairs_across_suites_are_refused(sample_con) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InputError, match="different suites"):
        PairCases.build(sample_con, get_run(sample_con, "run_004"), get_run(sample_con, "run_001"))


def test_dropping_views_keeps_the_pair(sample_con, pair) -> None:  # type: ignore[no-untyped-def]
    unfiltered = pair.view(sample_con)
    filtered = pair.view(sample_con, CaseFilter(failures_only=True))
    unfiltered.drop(sample_con)  # the pair's own table: not dropped
    assert pair.view(sample_con).page(sample_con, 0, 1).num_rows == 1
    filtered.drop(sample_con)
    with pytest.raises(duckdb.CatalogException):
        filtered.page(sample_con, 0, 1)
    pair.drop(sample_con)
    with pytest.raises(duckdb.CatalogException):
        unfiltered.page(sample_con, 0, 1)


def test_working_tables_are_shared_by_cursors(sample_store) -> None:  # type: ignore[no-untyped-def]
    from evaltui.store.connection import Store

    with Store.open(sample_store, read_only=True) as store:
        writer = store.cursor()
        pair = PairCases.build(writer, get_run(writer, CANDIDATE), get_run(writer, BASELINE))
        writer.close()
        reader = store.cursor()
        assert pair.view(reader).page(reader, 0, 5).num_rows == 5


def test_case_detail_has_every_suite_field_and_both_results(sample_con) -> None:  # type: ignore[no-untyped-def]
    canonical = sample_con.execute(
        "SELECT canonical FROM cases WHERE suite_id = ? AND case_id = 'reg_0002'",
        ["support-router-2026.11"],
    ).fetchall()[0][0]
    detail = case_detail(
        sample_con, "support-router-2026.11", "reg_0002", [BASELINE, CANDIDATE, "sr-v3.5-rc3-quick"]
    )
    assert detail.fields == json.loads(canonical)
    assert detail.split == "regression"
    assert detail.expected_route == "ESCALATE"
    base = detail.results[BASELINE]
    assert base is not None and base.route is not None and base.output
    assert base.metadata is not None and isinstance(json.loads(base.metadata), dict)
    assert list(detail.results) == [BASELINE, CANDIDATE, "sr-v3.5-rc3-quick"]
    missing = case_detail(sample_con, "support-router-2026.11", "hol_0001", ["sr-v3.5-rc3-quick"])
    assert missing.results["sr-v3.5-rc3-quick"] is None  # the quick run skipped the holdout split
    with pytest.raises(NotFoundError):
        case_detail(sample_con, "support-router-2026.11", "nope", [BASELINE])
