"""A pair's view knows its failure rows when it is opened: stepping then never queries."""

from __future__ import annotations

import numpy as np

from evaltui.actions.cases import apply_filter, open_pair
from evaltui.store.queries import get_run
from evaltui.store.queries_cases import CaseFilter
from tests.conftest import PAIR_BASELINE, PAIR_CANDIDATE


def test_steps_after_opening_a_pair_or_a_filter_run_no_query(sample_store) -> None:  # type: ignore[no-untyped-def]
    from evaltui.store.connection import Store

    with Store.open(sample_store, read_only=True) as store:
        con = store.cursor()
        run, baseline = get_run(con, PAIR_CANDIDATE), get_run(con, PAIR_BASELINE)
        opened = open_pair(con, run, baseline, CaseFilter())
        filtered = apply_filter(con, opened.pair, CaseFilter(failures_only=True), None)
        reference = {
            view.table: np.asarray(
                [
                    r[0]
                    for r in con.execute(
                        f"SELECT row FROM {view.table} WHERE NOT correct ORDER BY row"
                    ).fetchall()
                ]
            )
            for view in (opened.data.view, filtered.view)
        }
        closed = store.cursor()
        closed.close()  # any query on it raises: the steps below must not need one
        for view in (opened.data.view, filtered.view):
            rows = reference[view.table]
            assert view.failures == len(rows) > 3
            position, seen = -1, []
            while (target := view.step_failure(closed, position, 1)) is not None:
                seen.append(target)
                assert view.failures_before(closed, target) == len(seen) - 1
                position = target
            assert seen == rows.tolist()
            assert view.step_failure(closed, view.total, -2) == int(rows[-2])
