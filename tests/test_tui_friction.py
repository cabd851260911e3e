"""Everyday friction found by using the app and the CLI tables as a reviewer does, at 80x24 and
60x20: words cut mid-word, ids that all read `reg-000…`, keys missing from the footer, the first
experiment, no loading indicator, no search, no copy, a silent `n`, a drift that says "stable"
on a run that lacks whole splits, a trend through incomparable runs, Textual's own wording in
help, and "1 runs"."""

from __future__ import annotations

import asyncio
import io
import json
import re
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from textual.containers import ScrollableContainer
from textual.pilot import Pilot
from textual.screen import Screen
from textual.widgets import Input, OptionList

from evaltui.review.report import review_runs
from evaltui.review.trend import metric_trend
from evaltui.store.connection import Store
from evaltui.tui.app import EvaltuiApp
from evaltui.tui.screens.cases import CasesScreen
from evaltui.tui.screens.compare import side_by_side
from evaltui.tui.screens.decisions import DecisionsScreen
from evaltui.tui.screens.drift import DriftScreen
from evaltui.tui.screens.help import binding_rows
from evaltui.tui.screens.runs import RunsScreen
from evaltui.tui.widgets.case_list import GAP, CaseList
from evaltui.tui.widgets.trend import trend_text
from tests._stats_data import load, write_run, write_suite
from tests.tui_helpers import drive, highlight, make_app, runs_table, screen_text, settle

STATUS_WORDS = {"ELIGIBLE", "FOR", "CANARY", "REVIEW", "REJECT", "UNSAFE", "SERVE"}
STATUS_WORDS |= {"UNNECESSARY", "ABSTENTION", "MISSED", "ESCALATION"}


def cut_words(text: str, words: set[str]) -> list[str]:
    """Pieces of `text` that are a word of `words` cut short (`CANA` of `CANARY`)."""
    tokens = re.split(r"[\s_\-/.:,=*()≠…]+", text)
    return [
        t
        for t in tokens
        if len(t) >= 2 and t not in words and any(w != t and t in w for w in words)
    ]


# -- statuses and ids never wrap mid-word ------------------------------------------------------


def test_side_by_side_breaks_statuses_between_words_at_80_columns(sample_con) -> None:
    review = review_runs(sample_con, "run_001")
    cand = review.get("run_005")
    out = io.StringIO()
    Console(file=out, width=78, color_system=None).print(side_by_side(review, cand, cand.paired))
    text = out.getvalue()
    assert "ELIGIBLE_FOR_CANARY_" in text  # it is wrapped, after an underscore
    assert cut_words(text, STATUS_WORDS) == []


def test_cli_tables_at_80_columns_cut_no_status_or_id_mid_word(
    sample_store: Path, run_cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True, raising=False)
    result = run_cli("runs", "--store", sample_store)
    assert result.code == 0, result.err
    out = re.sub(r"\x1b\[[0-9;]*m", "", result.out)  # a terminal gets bold headers
    assert max(len(line) for line in out.splitlines()) <= 80
    ids = {"answerer", "regression", "router", "quick", "claim", "support", "snapshot"}
    assert cut_words(out, STATUS_WORDS | ids) == []
    assert "ABSTENTION" in out and "REJECT_" in out


def long_id_store(tmp_path: Path) -> Path:
    """A suite whose 8 case ids share a 26-character prefix, one run and a second run."""
    folder = tmp_path / "long-ids"
    folder.mkdir()
    prefix = "support-router-regression-"
    from tests._stats_data import CASES

    cases = [{**c, "case_id": f"{prefix}{i:06d}"} for i, c in enumerate(CASES, start=117)]
    write_suite(folder, cases)
    right = {c["case_id"]: c["expected_route"] for c in cases}
    wrong = {**right, cases[2]["case_id"]: "SERVE"}
    write_run(folder, "base", right, day=1)
    write_run(folder, "cand", wrong, day=2)
    return load(folder, tmp_path / "long.duckdb")


@pytest.mark.parametrize("size", [(60, 20), (80, 24)])
def test_case_ids_stay_distinguishable_on_a_narrow_terminal(
    tmp_path: Path, size: tuple[int, int]
) -> None:
    store = long_id_store(tmp_path)

    async def flow(app: EvaltuiApp, pilot: Pilot) -> None:
        await highlight(pilot, app, "cand")
        await pilot.press("c")
        await settle(pilot)
        cases = app.screen.query_one(CaseList)
        width = cases.scrollable_content_region.width
        columns = cases.columns(width)
        start = 1 + sum(c.width + GAP for c in columns[: [c.key for c in columns].index("case_id")])
        case_width = columns[[c.key for c in columns].index("case_id")].width
        shown = [cases.render_line(y).text[start : start + case_width].strip() for y in range(1, 9)]
        assert len(set(shown)) == 8, shown  # not eight times "support…"
        assert all(s.endswith(f"{117 + i:d}") for i, s in enumerate(shown)), shown
        assert "both right" in screen_text(app)  # the outcome column still fits

    drive(store, flow, size=size)


def test_run_ids_keep_their_tail_at_60_columns(sample_store: Path) -> None:
    async def flow(app: EvaltuiApp, pilot: Pilot) -> None:
        text = screen_text(app)
        for tail in ("-rc3-s1", "-rc3-s2", "-rc3-s3", "3-quick", "c3-kb18"):
            assert tail in text
        assert "comparable" in text  # the reason column is still on screen

    drive(sample_store, flow, size=(60, 20))


# -- footer and the first screen -----------------------------------------------------------------


def test_experiments_and_decisions_keys_are_in_the_80_column_footer(sample_store: Path) -> None:
    async def flow(app: EvaltuiApp, pilot: Pilot) -> None:
        footer = screen_text(app).splitlines()[-1]
        for entry in ("compare", "c cases", "D decide", "e experiment", "L decisions", "? help"):
            assert entry in footer, footer
        await pilot.press("L")
        await settle(pilot)
        assert isinstance(app.screen, DecisionsScreen)

    drive(sample_store, flow, size=(80, 24))


def log_line(experiment: str, run: str, decided: str, reviewer: str = "ana") -> str:
    return json.dumps(
        {
            "decision_id": f"d-{run}",
            "decided_at": decided,
            "reviewer": reviewer,
            "source_run_id": run,
            "experiment": experiment,
            "artifact": "a",
            "status": "ELIGIBLE_FOR_CANARY_REVIEW",
            "json_path": "/nowhere/x.decision.json",
            "sig_path": "/nowhere/x.decision.json.sig",
        }
    )


def opened_on(store: Path) -> str:
    async def main() -> str:
        app = make_app(store, default_start=True)
        try:
            async with app.run_test(size=(80, 24)) as pilot:
                await settle(pilot)
                screen = app.screen
                assert isinstance(screen, RunsScreen) and screen.review is not None
                return screen.review.baseline.run.experiment
        finally:
            app.release_store()

    return asyncio.run(main())


def test_the_app_opens_on_the_last_decided_experiment_else_the_first_by_name(
    sample_store: Path,
) -> None:
    # the worked example, although the support router has the most recent runs
    assert opened_on(sample_store) == "ci-claim-gate-repair"
    log = sample_store.with_name(sample_store.stem + ".decisions.jsonl")
    log.write_text(
        log_line("ci-claim-gate-repair", "run_003", "2026-11-20T10:00:00Z")
        + "\n"
        + log_line("support-router-q4", "sr-v3.5-rc3-s3", "2026-11-21T10:00:00Z")
        + "\n"
        + log_line("gone-experiment", "x", "2026-11-22T10:00:00Z")
        + "\n"
    )
    assert opened_on(sample_store) == "support-router-q4"


# -- loading -------------------------------------------------------------------------------------


def test_a_loading_indicator_shows_while_the_review_is_computed(
    sample_store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import evaltui.actions.review as review_actions

    release = threading.Event()
    real = review_actions.review_runs

    def slow_review(*args: Any, **kwargs: Any) -> Any:
        release.wait(10)
        return real(*args, **kwargs)

    monkeypatch.setattr(review_actions, "review_runs", slow_review)

    async def main() -> None:
        app = make_app(sample_store)
        try:
            async with app.run_test(size=(80, 24)) as pilot:
                for _ in range(20):
                    await pilot.pause(0.05)
                assert runs_table(app).loading, "no loading indicator over the runs"
                assert "auditing runs" in screen_text(app)
                release.set()
                await settle(pilot)
                assert not runs_table(app).loading
                assert runs_table(app).order and app.focused is runs_table(app)
        finally:
            release.set()
            app.release_store()

    asyncio.run(main())


# -- search ----------------------------------------------------------------------------------


def test_slash_filters_the_runs_as_you_type_and_esc_clears(sample_store: Path) -> None:
    async def flow(app: EvaltuiApp, pilot: Pilot) -> None:
        table = runs_table(app)
        everyone = [r.run_id for r in table.order]
        await pilot.press("slash", *"RC3-S")
        await settle(pilot)
        assert [r.run_id for r in table.order] == [r for r in everyone if "rc3-s" in r]
        assert "search “RC3-S”: 3 of 9" in screen_text(app)
        await pilot.press("enter")  # keep the filter, keys back to the list
        assert app.focused is table
        await pilot.press("escape")
        await settle(pilot)
        assert [r.run_id for r in table.order] == everyone
        # what is typed is shown literally (markup is text)
        await pilot.press("slash", *"[b]x")
        await settle(pilot)
        assert "search “[b]x”: 0 of 9" in screen_text(app)
        assert "No run matches the search" in screen_text(app)

    drive(sample_store, flow)


def test_slash_filters_the_decision_log_and_the_experiment_picker(sample_store: Path) -> None:
    log = sample_store.with_name(sample_store.stem + ".decisions.jsonl")
    log.write_text(
        log_line("support-router-q4", "sr-v3.5-rc3-s3", "2026-11-20T10:00:00Z", "ana")
        + "\n"
        + log_line("support-router-q4", "sr-v3.5-rc4", "2026-11-21T10:00:00Z", "bo")
        + "\n"
    )

    async def flow(app: EvaltuiApp, pilot: Pilot) -> None:
        await pilot.press("L")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, DecisionsScreen) and len(screen.shown) == 2
        await pilot.press("slash", *"rc4")
        await settle(pilot)
        assert [e.entry["source_run_id"] for e in screen.shown] == ["sr-v3.5-rc4"]
        assert "search “rc4”: 1 of 2 decisions logged" in screen_text(app)
        await pilot.press("escape")  # clears the search
        await settle(pilot)
        assert len(screen.shown) == 2 and app.screen is screen
        await pilot.press("escape")  # then goes back
        await settle(pilot)
        assert isinstance(app.screen, RunsScreen)
        await pilot.press("e")
        await settle(pilot)
        options = app.screen.query_one(OptionList)
        assert options.option_count == 2
        await pilot.press("slash", *"claim")
        await settle(pilot)
        assert options.option_count == 1
        await pilot.press("enter", "enter")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, RunsScreen) and screen.experiment == "ci-claim-gate-repair"

    drive(sample_store, flow)


# -- copy --------------------------------------------------------------------------------------


def test_y_copies_the_run_or_case_id_and_says_so(sample_store: Path) -> None:
    async def flow(app: EvaltuiApp, pilot: Pilot) -> None:
        await highlight(pilot, app, "sr-v3.5-rc3-s3")
        await pilot.press("y")
        await settle(pilot)
        assert app.clipboard == "sr-v3.5-rc3-s3"
        assert "copied run id sr-v3.5-rc3-s3" in [n.message for n in app._notifications]
        await pilot.press("c")
        await settle(pilot)
        await pilot.press("n")
        await settle(pilot)
        current = app.screen.query_one(CaseList).current
        assert current is not None
        await pilot.press("y")
        await settle(pilot)
        assert app.clipboard == current.case_id

    drive(sample_store, flow)


def test_y_copies_a_hostile_id_as_shown(full_hostile_store: Path) -> None:
    async def flow(app: EvaltuiApp, pilot: Pilot) -> None:
        for run in runs_table(app).order:
            await highlight(pilot, app, run.run_id)
            await pilot.press("y")
            await settle(pilot)
            assert not re.search(r"[\x00-\x1f\x7f-\x9f]", app.clipboard), repr(app.clipboard)
        messages = [n.message for n in app._notifications]
        assert messages and all(not re.search(r"[\x00-\x1f\x7f-\x9f]", m) for m in messages)

    drive(full_hostile_store, flow)


# -- n on a pair without failures --------------------------------------------------------------


def test_n_on_a_pair_without_failures_says_so_and_stays(sample_store: Path) -> None:
    async def flow(app: EvaltuiApp, pilot: Pilot) -> None:
        await highlight(pilot, app, "run_003")  # routes all four cases as expected
        await pilot.press("n")
        await settle(pilot)
        assert isinstance(app.screen, RunsScreen)
        assert any("no failures in run_003" in n.message for n in app._notifications)
        await highlight(pilot, app, "run_002")  # has failures: n opens the cases on one
        await pilot.press("n")
        await settle(pilot)
        assert isinstance(app.screen, CasesScreen)

    drive(sample_store, flow, experiment="ci-claim-gate-repair")


# -- drift on a partial run --------------------------------------------------------------------


def test_drift_on_a_run_without_whole_splits_names_them_instead_of_stable(
    sample_store: Path,
) -> None:
    async def flow(app: EvaltuiApp, pilot: Pilot) -> None:
        await highlight(pilot, app, "sr-v3.5-rc3-quick")  # regression only: 160 of 520 cases
        await pilot.press("d")
        await settle(pilot)
        assert isinstance(app.screen, DriftScreen)
        figures = screen_text(app).splitlines()[1:3]
        assert "partial" in figures[0] and "stable" not in figures[0]
        assert "holdout (0/300)" in figures[1] and "adversarial (0/60)" in figures[1]
        await pilot.press("escape")
        await highlight(pilot, app, "sr-v3.5-rc3-s3")  # complete: the usual reading
        await pilot.press("d")
        await settle(pilot)
        assert "stable" in screen_text(app).splitlines()[1]

    drive(sample_store, flow, size=(100, 30))


# -- trend ------------------------------------------------------------------------------------


def test_the_trend_leaves_incomparable_runs_out_of_its_line(sample_con) -> None:
    trend = metric_trend(sample_con, "support-router-q4", "exact_route_rate")
    out = {p.run_id: p.differs for p in trend.points if not p.comparable}
    assert out == {
        "sr-v3.5-rc3-quick": "differs: holdout_sha*, adversarial_sha*, evaluation_sha*",
        "sr-v3.5-rc3-kb18": "differs: kb_snapshot",
    }
    line = [p for p in trend.points if p.run_id not in out]
    assert trend.line == tuple(line)
    assert trend.change == pytest.approx(line[-1].value - line[0].value)  # type: ignore[operator]
    assert "incomparable_left_out" in {w.code for w in trend.warnings}
    text = trend_text(trend).plain
    spark = text.splitlines()[1].split()[0]
    assert len(spark) == len(line)
    assert "≠ kb_snapshot" in text and "2 not comparable, left out of the line" in text
    # against another baseline, another line
    other = metric_trend(
        sample_con, "support-router-q4", "exact_route_rate", baseline="sr-v3.5-rc3-kb18"
    )
    assert [p.run_id for p in other.line] == ["sr-v3.5-rc3-kb18"]


# -- help in the project's words ---------------------------------------------------------------


def textual_wording() -> set[str]:
    from textual.app import App

    words = {"Open the command palette", "Quit the app and return to the command prompt."}
    for cls in (Input, OptionList, Screen, App, ScrollableContainer):
        for b in cls.BINDINGS:
            if not isinstance(b, tuple):
                words |= {b.description, b.tooltip} - {""}
    return words


def test_help_describes_every_key_in_the_projects_words(sample_store: Path) -> None:
    textual = textual_wording()
    seen: list[tuple[str, str, str]] = []

    def check(app: EvaltuiApp) -> None:
        rows = binding_rows(app.screen)
        seen.extend(rows)
        for keys, does, where in rows:
            assert does not in textual, (keys, does)
            assert not re.fullmatch(r"[A-Z][a-z]+[A-Z]\w*", where), (keys, where)

    async def flow(app: EvaltuiApp, pilot: Pilot) -> None:
        check(app)
        for steps in (["c"], ["slash"], ["escape", "enter"], ["escape", "escape", "d"]):
            await pilot.press(*steps)
            await settle(pilot)
            check(app)
        await pilot.press("escape", "e")
        await settle(pilot)
        check(app)
        await pilot.press("slash")
        await settle(pilot)
        check(app)
        await pilot.press("escape", "escape", "L")
        await settle(pilot)
        check(app)

    drive(sample_store, flow)
    assert any(where == "text box" for _, _, where in seen)
    assert any(where == "list" for _, _, where in seen)
    assert any(keys == "^p" for keys, _, _ in seen)


# -- plurals -----------------------------------------------------------------------------------


def test_count_says_one_run_and_two_runs() -> None:
    from evaltui.plural import count

    assert (count(1, "run"), count(2, "run"), count(0, "failure")) == (
        "1 run",
        "2 runs",
        "0 failures",
    )
    assert count(1_234, "case") == "1,234 cases"
    assert count(1, "match", "matches") == "1 match"


def test_one_run_and_one_failure_read_in_the_singular(tmp_path: Path) -> None:
    folder = tmp_path / "one"
    folder.mkdir()
    write_suite(folder)
    from tests._stats_data import CASES

    routes = {c["case_id"]: c["expected_route"] for c in CASES}
    routes["c3"] = "ESCALATE"  # one failure, and no unsafe serve
    write_run(folder, "only", routes, day=1)
    store = load(folder, tmp_path / "one.duckdb")

    async def flow(app: EvaltuiApp, pilot: Pilot) -> None:
        assert "· 1 run ·" in screen_text(app).splitlines()[0]
        await pilot.press("c")
        await settle(pilot)
        assert "1 failure" in screen_text(app) and "1 failures" not in screen_text(app)

    drive(store, flow)
    with Store.open(store, read_only=True) as opened:
        assert "1 run," in trend_text(metric_trend(opened.con, "hand", "exact_route_rate")).plain
