"""The review app driven with the keyboard at 80x24, as a reviewer would, on the bundled samples."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import OptionList

from evaltui.store.connection import Store
from evaltui.store.queries import get_run
from evaltui.store.queries_cases import CaseFilter, fetch_cases
from evaltui.tui.app import EvaltuiApp
from evaltui.tui.screens.case_detail import CaseScreen
from evaltui.tui.screens.cases import CasesScreen
from evaltui.tui.screens.compare import CompareScreen
from evaltui.tui.screens.help import HelpScreen, binding_rows, describe
from evaltui.tui.screens.runs import RunsScreen
from evaltui.tui.widgets.case_list import CaseList
from tests.tui_helpers import drive, highlight, runs_table, screen_text, settle


def failures(store: Path, run: str, baseline: str) -> list[str]:
    with Store.open(store, read_only=True) as opened:
        rows = fetch_cases(
            opened.con,
            get_run(opened.con, run),
            get_run(opened.con, baseline),
            CaseFilter(failures_only=True),
        )
    return [r["case_id"] for r in rows.to_pylist()]


def test_logged_metrics_are_marked_where_the_evidence_flags_them(tmp_path: Path) -> None:
    """The side-by-side rows and the run panel mark a logged metric exactly when the review's
    evidence checks flag it: a count must match exactly, a rate may be rounded."""
    from evaltui.review.report import review_runs
    from evaltui.tui.screens.compare import sections
    from evaltui.tui.widgets.run_panel import run_summary
    from tests._stats_data import load, routes, write_run, write_suite

    folder = tmp_path / "logged"
    folder.mkdir()
    write_suite(folder)
    perfect = routes(
        "SERVE", "SERVE", "ABSTAIN", "ESCALATE", "ESCALATE", "ABSTAIN", "SERVE", "ABSTAIN"
    )
    write_run(folder, "base", perfect, day=1, metrics={"exact_route_rate": 0.9996})
    write_run(folder, "cand", perfect, day=2, metrics={"unsafe_serve": 0.0005})
    with Store.open(load(folder, tmp_path / "s.duckdb"), read_only=True) as store:
        review = review_runs(store.con, "base")
    cand = review.get("cand")
    # both runs hold the same perfect results under different artifacts: also copied evidence
    own = [f.field for f in cand.evidence if f.kind != "copied_evidence"]
    assert own == ["unsafe_serve"]
    assert [f.kind for f in review.baseline.evidence] == ["copied_evidence"]
    metrics = dict(sections(review, cand, cand.paired))["metrics (recomputed)"]
    marked = {label: (left, right) for label, left, right in metrics}
    assert "⚑ logged" in (marked["unsafe_serve"][1] or "")
    assert "⚑" not in (marked["exact_route_rate"][0] or "")
    (cand_line,) = [
        x for x in run_summary(review, cand).plain.splitlines() if x.startswith("metrics")
    ]
    (base_line,) = [
        x
        for x in run_summary(review, review.baseline).plain.splitlines()
        if x.startswith("metrics")
    ]
    assert "unsafe_serve 0 (logged" in cand_line and "logged" not in base_line


def test_runs_screen_grays_incomparable_runs_with_their_reasons(sample_store: Path) -> None:
    async def flow(app: EvaltuiApp, pilot: Pilot) -> None:
        table = runs_table(app)
        order = [r.run_id for r in table.order]
        assert order[0] == "sr-prod-v3.4"  # the baseline, pinned on top
        assert order[-2:] == ["sr-v3.5-rc3-quick", "sr-v3.5-rc3-kb18"]  # never ranked: last
        for run_id, reason in (
            ("sr-v3.5-rc3-quick", "holdout_sh"),
            ("sr-v3.5-rc3-kb18", "kb_snapshot"),
        ):
            cells = table.get_row(run_id)
            assert cells[0].plain == "–"  # no rank
            assert all("dim" in str(cell.style) for cell in cells[1:4])
            assert cells[-1].plain.startswith("≠") and reason in cells[-1].plain
        ranks = [table.get_row(r)[0].plain for r in order]
        assert ranks[:3] == ["B", "1", "2"]
        text = screen_text(app)
        assert "2 not comparable" in text
        assert "⚑4" in text and "⚑1" in text  # evidence flags are visible in the list
        await highlight(pilot, app, "sr-v3.5-rc3-kb18")
        text = screen_text(app)
        assert "NOT COMPARABLE" in text
        assert "kb_snapshot: kb@2026-10-28 -> kb@2026-11-10" in text

    drive(sample_store, flow)


def test_choosing_an_experiment_and_a_baseline_re_audits(sample_store: Path) -> None:
    async def flow(app: EvaltuiApp, pilot: Pilot) -> None:
        await pilot.press("e")
        await settle(pilot)
        options = app.screen.query_one(OptionList)
        labels = [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]
        target = next(
            i for i, label in enumerate(labels) if label.startswith("ci-claim-gate-repair")
        )
        while options.highlighted != target:
            await pilot.press("j")
        await pilot.press("enter")
        await settle(pilot)
        table = runs_table(app)
        assert table.order[0].run_id == "run_001"
        reasons = {r.run_id: table.get_row(r.run_id)[-1].plain for r in table.order}
        assert "suite_id" in reasons["run_004"] and "evaluator_version" in reasons["run_005"]
        assert reasons["run_002"] == reasons["run_003"] == "comparable"
        # pin run_005 as the baseline: now the others differ from it in evaluator_version
        await highlight(pilot, app, "run_005")
        await pilot.press("b")
        await settle(pilot)
        table = runs_table(app)
        assert table.order[0].run_id == "run_005"
        assert table.get_row("run_005")[0].plain == "B"
        reasons = {r.run_id: table.get_row(r.run_id)[-1].plain for r in table.order}
        assert (
            "evaluator_version" in reasons["run_001"] and "evaluator_version" in reasons["run_003"]
        )
        assert table.highlighted is not None and table.highlighted.run_id == "run_005"
        assert "baseline run_005" in screen_text(app)

    drive(sample_store, flow, size=(120, 30))


def test_side_by_side_marks_the_differences(sample_store: Path) -> None:
    async def flow(app: EvaltuiApp, pilot: Pilot) -> None:
        await highlight(pilot, app, "sr-v3.5-rc3-kb18")
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, CompareScreen)
        lines = screen_text(app).splitlines()
        kb = next(line for line in lines if "kb@" in line)
        assert kb.lstrip().startswith("≠") and "kb@2026-10-28" in kb and "kb@2026-11-10" in kb
        policy = next(line for line in lines if "policy_id" in line)
        assert not policy.lstrip().startswith("≠")
        await pilot.press("G")
        await settle(pilot)
        assert "ARTIFACTS" in screen_text(app)
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, RunsScreen)

    drive(sample_store, flow, size=(100, 50))


def test_step_through_every_failure_open_one_go_back_and_quit(sample_store: Path) -> None:
    expected = failures(sample_store, "sr-v3.5-rc1", "sr-prod-v3.4")

    async def flow(app: EvaltuiApp, pilot: Pilot) -> None:
        await highlight(pilot, app, "sr-v3.5-rc1")
        await pilot.press("c")
        await settle(pilot)
        assert isinstance(app.screen, CasesScreen)
        cases = app.screen.query_one(CaseList)
        seen: list[str] = []
        current = cases.current
        assert current is not None
        if not current.correct:
            seen.append(current.case_id)
        for _ in range(len(expected) + 2):
            before = cases.cursor
            await pilot.press("n")
            await settle(pilot)
            if cases.cursor == before:
                break
            current = cases.current
            assert current is not None and not current.correct
            seen.append(current.case_id)
        assert seen == expected
        assert f"failure {len(expected)} of {len(expected)}" in screen_text(app)
        await pilot.press("N", "left_square_bracket")
        await settle(pilot)
        assert cases.current is not None and cases.current.case_id == expected[-3]
        row = cases.cursor
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, CaseScreen)
        text = screen_text(app)
        assert f"case {expected[-3]}" in text and "SUITE CASE" in text and "expected_route" in text
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, CasesScreen)
        assert app.screen.query_one(CaseList).cursor == row
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, RunsScreen)
        await pilot.press("q")
        await pilot.pause()
        assert not app.is_running

    drive(sample_store, flow)


def test_quick_presses_are_not_lost(sample_store: Path) -> None:
    expected = failures(sample_store, "sr-v3.5-rc2", "sr-prod-v3.4")
    with Store.open(sample_store, read_only=True) as opened:
        first = fetch_cases(
            opened.con, get_run(opened.con, "sr-v3.5-rc2"), get_run(opened.con, "sr-prod-v3.4")
        )
    first_is_failure = not first.to_pylist()[0]["correct"]

    async def flow(app: EvaltuiApp, pilot: Pilot) -> None:
        await highlight(pilot, app, "sr-v3.5-rc2")
        await pilot.press("c", "n", "n", "n", "n")  # pressed before the pair has even loaded
        await settle(pilot)
        cases = app.screen.query_one(CaseList)
        assert cases.current is not None
        assert cases.current.case_id == expected[4 if first_is_failure else 3]
        await pilot.press("n", "n", "N", "n", "n")  # pressed faster than the jumps complete
        await settle(pilot)
        assert cases.current is not None
        assert cases.current.case_id == expected[7 if first_is_failure else 6]

    drive(sample_store, flow)


def test_case_detail_steps_and_returns_to_the_case_shown_last(sample_store: Path) -> None:
    expected = failures(sample_store, "sr-v3.5-rc3-s3", "sr-prod-v3.4")

    async def flow(app: EvaltuiApp, pilot: Pilot) -> None:
        await highlight(pilot, app, "sr-v3.5-rc3-s3")
        await pilot.press("c", "n")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert f"case {expected[0]}" in screen_text(app)
        await pilot.press("n")
        await settle(pilot)
        assert f"case {expected[1]}" in screen_text(app)
        await pilot.press("right_square_bracket")
        await settle(pilot)
        assert f"case {expected[2]}" in screen_text(app)
        await pilot.press("escape")
        await settle(pilot)
        cases = app.screen.query_one(CaseList)
        assert cases.current is not None and cases.current.case_id == expected[2]

    drive(sample_store, flow)


def test_filters_failures_slice_outcome_and_text(sample_store: Path) -> None:
    async def flow(app: EvaltuiApp, pilot: Pilot) -> None:
        await highlight(pilot, app, "sr-v3.5-rc1")
        await pilot.press("c")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, CasesScreen)
        await pilot.press("f")
        await settle(pilot)
        assert screen.view is not None and screen.view.total == screen.view.failures
        assert "failures only" in screen_text(app)
        await pilot.press("o")
        await settle(pilot)
        options = app.screen.query_one(OptionList)
        labels = [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]
        broken = next(i for i, label in enumerate(labels) if label.startswith("broken"))
        while options.highlighted != broken:
            await pilot.press("down")
        await pilot.press("enter")
        await settle(pilot)
        assert screen.where == CaseFilter(failures_only=True, outcome="broken")
        assert screen.view is not None
        counted = screen.view.total
        assert counted == screen.pair_outcomes["broken"]
        await pilot.press("s")
        await settle(pilot)
        await pilot.press("down", "enter")  # the first slice after "all slices"
        await settle(pilot)
        assert (
            screen.where.slice_name
            == sorted(s.slice_name for s in screen.slices if s.slice_name)[0]
        )
        await pilot.press("x")
        await settle(pilot)
        assert screen.where == CaseFilter() and screen.view is not None and screen.view.total == 520
        await pilot.press("slash")
        await pilot.press(*"hol_029")
        await pilot.press("enter")
        await settle(pilot)
        assert screen.where.text == "hol_029"
        assert screen.view is not None and screen.view.total == 10
        assert screen.query_one(CaseList).has_focus
        assert "text “hol_029”" in screen_text(app)

    drive(sample_store, flow)


def test_help_lists_every_binding_of_the_screen(sample_store: Path) -> None:
    async def flow(app: EvaltuiApp, pilot: Pilot) -> None:
        await pilot.press("c")
        await settle(pilot)
        below = app.screen
        active = below.active_bindings
        await pilot.press("question_mark")
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen)
        rows = binding_rows(below)
        described = {describe(a.binding) for a in active.values() if a.binding.description}
        assert len(described) > 15
        assert described == {
            does for _, does, _ in rows
        }  # every key of the screen, hidden ones too
        keys = {does: key for key, does, _ in rows}
        assert keys["next failure: the next case the candidate got wrong (also ])"] == "n ]"
        assert keys["previous failure (also [)"] == "N ["
        help_text = screen_text(app)
        for key, does, _ in rows[:10]:
            assert key in help_text and does.split()[0] in help_text
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is below

    drive(sample_store, flow, size=(100, 60))


def test_command_palette_runs_screen_commands(sample_store: Path) -> None:
    async def flow(app: EvaltuiApp, pilot: Pilot) -> None:
        await pilot.press("c")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, CasesScreen)
        await pilot.press("ctrl+p")
        await settle(pilot)
        await pilot.press(*"toggle failures")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert app.screen is screen
        assert screen.where.failures_only

    drive(sample_store, flow)


def test_the_baseline_alone_and_a_run_on_another_suite_open_unpaired(sample_store: Path) -> None:
    async def flow(app: EvaltuiApp, pilot: Pilot) -> None:
        await pilot.press("c")  # the baseline row
        await settle(pilot)
        assert isinstance(app.screen, CasesScreen) and app.screen.baseline is None
        assert "the baseline's own cases" in screen_text(app)
        assert "expected ↓ route →" in screen_text(app)
        await pilot.press("escape")
        await settle(pilot)
        await highlight(pilot, app, "run_004")
        await pilot.press("c")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, CasesScreen) and screen.baseline is None
        assert "another suite" in screen_text(app)
        assert screen.view is not None and screen.view.total == 5

    drive(sample_store, flow, experiment="ci-claim-gate-repair")


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
def test_every_screen_fits(sample_store: Path, size: tuple[int, int]) -> None:
    async def flow(app: EvaltuiApp, pilot: Pilot) -> None:
        # `n` only once the cases screen has its rows (pressed with `c`, it raced the worker)
        for keys in (("j",), ("enter",), ("escape", "c"), ("n",), ("enter",)):
            await pilot.press(*keys)
            await settle(pilot)
            lines = screen_text(app).splitlines()
            assert len(lines) == size[1]
            assert "help" in lines[-1]  # the footer is on screen
        assert isinstance(app.screen, CaseScreen)

    drive(sample_store, flow, size=size)


def test_enter_then_n_steps_into_the_failures_of_the_pair(sample_store: Path) -> None:
    # the keys of the README's first session: j Enter n n Escape ? q
    expected = failures(sample_store, "sr-v3.5-rc3-s3", "sr-prod-v3.4")

    async def flow(app: EvaltuiApp, pilot: Pilot) -> None:
        await pilot.press("j", "enter")
        await settle(pilot)
        assert isinstance(app.screen, CompareScreen)
        await pilot.press("n")
        await settle(pilot)
        cases = app.screen.query_one(CaseList)
        assert cases.current is not None and cases.current.case_id == expected[0]
        assert expected[0] in screen_text(app)  # the first failure is on screen, not only current
        await pilot.press("n")
        await settle(pilot)
        assert cases.current is not None and cases.current.case_id == expected[1]
        assert f"failure 2 of {len(expected)}" in screen_text(app)
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, CompareScreen)
        await pilot.press("N")  # from the side by side: straight to the last failure
        await settle(pilot)
        cases = app.screen.query_one(CaseList)
        assert cases.current is not None and cases.current.case_id == expected[-1]
        await pilot.press("escape", "question_mark")
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("q")
        await pilot.pause()
        assert not app.is_running

    drive(sample_store, flow)


def test_statistics_are_computed_in_workers_not_on_the_ui_thread(
    sample_store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every screen that shows statistics (runs panel, side by side, cases, drift, decide and its
    signing) gets them from workers: p-values, bootstrap intervals and PSI are recorded with the
    thread that computed them."""
    import threading
    from collections.abc import Callable

    from textual.widgets import Input

    from evaltui.review import drift as drift_module
    from evaltui.review import paired as paired_module
    from evaltui.tui.screens.decide import DecideModal
    from evaltui.tui.screens.drift import DriftScreen
    from tests.decision_support import make_key
    from tests.tui_helpers import pick

    threads: dict[str, list[str]] = {"mcnemar": [], "bootstrap": [], "psi": []}

    def spy(name: str, fn: Callable[..., object]) -> Callable[..., object]:
        def wrapper(*args: object, **kwargs: object) -> object:
            threads[name].append(threading.current_thread().name)
            return fn(*args, **kwargs)

        return wrapper

    # every McNemar p-value, verdict and interval is computed by these, when a review is built
    monkeypatch.setattr(paired_module, "mcnemar_exact", spy("mcnemar", paired_module.mcnemar_exact))
    monkeypatch.setattr(
        paired_module,
        "paired_bootstrap_delta",
        spy("bootstrap", paired_module.paired_bootstrap_delta),
    )
    monkeypatch.setattr(drift_module, "psi", spy("psi", drift_module.psi))
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    make_key(home / ".ssh", "id_ed25519")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)
    ui_thread = threading.current_thread().name

    async def flow(app: EvaltuiApp, pilot: Pilot) -> None:
        for _ in range(9):  # every run in the panel
            await pilot.press("j")
        await settle(pilot)
        await highlight(pilot, app, "sr-v3.5-rc1")
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, CompareScreen)
        await pilot.press("c")
        await settle(pilot)
        assert isinstance(app.screen, CasesScreen)
        await pilot.press("escape", "d")
        await settle(pilot)
        assert isinstance(app.screen, DriftScreen)
        await pilot.press("c")
        await settle(pilot)
        await pick(pilot, app, "latency_ms")
        await pilot.press("escape", "D")
        await settle(pilot)
        form = app.screen
        assert isinstance(form, DecideModal)
        form.query_one("#field-rollback_artifact", Input).value = "support-router-v3.4"
        form.query_one("#field-limitation", Input).value = "canary only"
        form.query_one("#field-override", Input).value = "checked by hand"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert form.written is None and "tick the box" in screen_text(app)  # 3 are eligible
        await pilot.press("space")  # the box has the focus now: choose rc1 explicitly
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert form.written is not None  # building the record computed every figure again

    drive(sample_store, flow, size=(160, 50))
    for name, seen in threads.items():
        assert seen, f"nothing computed {name}"
        assert ui_thread not in seen, f"{name} ran on the UI thread"


def test_keys_typed_into_the_text_filter_are_text(sample_store: Path) -> None:
    async def flow(app: EvaltuiApp, pilot: Pilot) -> None:
        await pilot.press("c")
        await settle(pilot)
        screen = app.screen
        await pilot.press("slash", "q", "n", "f", "question_mark", "escape")
        await settle(pilot)
        assert app.is_running and app.screen is screen
        assert isinstance(screen, CasesScreen) and screen.where.text == "qnf?"
        assert screen.query_one(CaseList).has_focus

    drive(sample_store, flow)


@pytest.mark.parametrize("after", ["e", "D", "L"])
def test_keys_arriving_with_the_quit_key_do_not_crash(sample_store: Path, after: str) -> None:
    """`q` and another key read from the terminal at once ("qe"): the second is queued before the
    exit is processed and used to open a screen in a closing app (a traceback on exit)."""
    from textual import events

    from tests.tui_helpers import make_app

    async def main() -> None:
        app = make_app(sample_store)
        try:
            async with app.run_test(size=(80, 24)) as pilot:
                await settle(pilot)
                await pilot.press("j")
                app.post_message(events.Key("q", "q"))
                app.post_message(events.Key(after, after))
                await pilot.pause()
                await pilot.pause()
        finally:
            app.release_store()
        assert app._exception is None
        assert not app.is_running and app.return_code == 0

    asyncio.run(main())
