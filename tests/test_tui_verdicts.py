"""Verdicts in the review app, driven with the keyboard at 80x24 on the bundled sample store:
judge a failure, step to the next unjudged one, judge it; refused values under their field with
nothing written; every verdict of every reviewer on the case screen. The verdicts land in real
ledger files beside a real DuckDB store the app holds read-only, and are read back through the
same API the CLI uses."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Input, Static

from evaltui.actions.verdicts import (
    VerdictRequest,
    case_verdicts,
    ledger_dir_for,
    load_verdicts,
    record_verdict,
)
from evaltui.store.connection import Store
from evaltui.store.queries import get_run
from evaltui.store.queries_cases import CaseFilter, fetch_cases
from evaltui.tui.app import EvaltuiApp
from evaltui.tui.screens.case_detail import CaseScreen
from evaltui.tui.screens.cases import CasesScreen
from evaltui.tui.screens.verdict import VerdictModal
from evaltui.tui.widgets.case_list import CaseList
from tests.conftest import digest
from tests.tui_helpers import drive, highlight, screen_text, settle

RUN, BASELINE = "sr-v3.5-rc1", "sr-prod-v3.4"


def failures(store: Path) -> list[str]:
    with Store.open(store, read_only=True) as opened:
        rows = fetch_cases(
            opened.con,
            get_run(opened.con, RUN),
            get_run(opened.con, BASELINE),
            CaseFilter(failures_only=True),
        )
    return [r["case_id"] for r in rows.to_pylist()]


def verdicts_read_back(store: Path) -> dict[str, tuple[str, str]]:
    """(kind, reviewer) of each judged case of the pair, read from the ledgers anew."""
    with Store.open(store, read_only=True) as opened:
        status = load_verdicts(opened.con, ledger_dir_for(store))
        assert status.problems == ()
        found = case_verdicts(opened.con, RUN, BASELINE, None)
    return {case: (v.kind, v.reviewer) for case, v in found.items()}


async def open_cases(app: EvaltuiApp, pilot: Pilot) -> CasesScreen:
    await highlight(pilot, app, RUN)
    await pilot.press("c")
    await settle(pilot)
    screen = app.screen
    assert isinstance(screen, CasesScreen)
    return screen


def current_id(screen: CasesScreen) -> str:
    current = screen.query_one(CaseList).current
    assert current is not None
    return current.case_id


async def judge(pilot: Pilot, kind_key: str, reason: str = "") -> None:
    """`v`, the kind's key, the reason, enter: the verdict form as a reviewer fills it."""
    await pilot.press("v")
    await settle(pilot)
    assert isinstance(pilot.app.screen, VerdictModal)
    await pilot.press(kind_key)
    if reason:
        await pilot.press(*reason)
    await pilot.press("enter")
    await settle(pilot)


def test_judge_step_to_the_next_unjudged_failure_and_judge_again_at_80x24(
    sample_store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EVALTUI_REVIEWER", "alice@example.com")
    expected = failures(sample_store)
    total = len(expected)
    assert total >= 4
    store_before = digest(sample_store)

    async def flow(app: EvaltuiApp, pilot: Pilot) -> None:
        screen = await open_cases(app, pilot)
        assert f"0 of {total} failures judged" in screen_text(app)
        await pilot.press("n", "n")  # the second failure
        await settle(pilot)
        assert current_id(screen) == expected[1]
        await judge(pilot, "w", "known regression")
        assert app.screen is screen  # the form closed on its own
        text = screen_text(app)
        assert f"1 of {total} failures judged" in text
        row = next(line for line in text.splitlines() if expected[1] in line)
        assert row.lstrip().startswith("✗W"), row  # the row's mark changed, no reload
        await pilot.press("N")  # back to the first failure (judged: no)
        await settle(pilot)
        assert current_id(screen) == expected[0]
        await pilot.press("u")  # n/N: unjudged failures only
        await settle(pilot)
        assert "n/N: unjudged" in screen_text(app)
        await pilot.press("n")  # skips the waived second failure
        await settle(pilot)
        assert current_id(screen) == expected[2]
        await judge(pilot, "c")  # a confirm needs no reason
        text = screen_text(app)
        assert f"2 of {total} failures judged" in text
        row = next(line for line in text.splitlines() if expected[2] in line)
        assert row.lstrip().startswith("✗✓"), row
        await pilot.press("N")  # back over two judged failures: to the first, unjudged
        await settle(pilot)
        assert current_id(screen) == expected[0]
        lines = screen_text(app).splitlines()
        assert len(lines) == 24 and "verdict" in lines[-1] and "help" in lines[-1]

    drive(sample_store, flow, size=(80, 24))
    assert verdicts_read_back(sample_store) == {
        expected[1]: ("waive", "alice@example.com"),
        expected[2]: ("confirm", "alice@example.com"),
    }
    ledger = ledger_dir_for(sample_store) / "alice@example.com.jsonl"
    assert len(ledger.read_bytes().splitlines()) == 2
    assert digest(sample_store) == store_before  # the app wrote its ledger, never the store


def test_the_unjudged_filter_lists_the_failures_left(
    sample_store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EVALTUI_REVIEWER", "alice@example.com")
    expected = failures(sample_store)

    async def flow(app: EvaltuiApp, pilot: Pilot) -> None:
        screen = await open_cases(app, pilot)
        await pilot.press("n")
        await settle(pilot)
        await judge(pilot, "c")
        await pilot.press("U")
        await settle(pilot)
        assert screen.where.unjudged_only and "unjudged failures" in screen_text(app)
        assert screen.view is not None and screen.view.total == len(expected) - 1
        assert current_id(screen) == expected[1]  # the judged case left the list
        await pilot.press("U")
        await settle(pilot)
        assert screen.view is not None and screen.view.total == 520

    drive(sample_store, flow)


def error_under(modal: VerdictModal, field: str) -> str:
    error = modal.query_one(f"#verdict-error-{field}", Static)
    return str(error.render()) if error.display else ""


def test_refused_values_are_shown_under_their_field_and_nothing_is_written(
    sample_store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("EVALTUI_REVIEWER", raising=False)
    ledgers = ledger_dir_for(sample_store)

    async def flow(app: EvaltuiApp, pilot: Pilot) -> None:
        screen = await open_cases(app, pilot)
        await pilot.press("n", "v")
        await settle(pilot)
        modal = app.screen
        assert isinstance(modal, VerdictModal)
        await pilot.press("enter")  # no kind chosen yet
        await settle(pilot)
        assert "choose a kind" in error_under(modal, "kind")
        await pilot.press("w", "enter")  # a waiver, and no reviewer (the setting is unset)
        await settle(pilot)
        assert error_under(modal, "kind") == ""
        assert "no reviewer" in error_under(modal, "reviewer")
        assert modal.query_one("#verdict-reviewer", Input).has_focus
        await pilot.press(*"bob", "enter")  # a waiver without a reason
        await settle(pilot)
        assert error_under(modal, "reviewer") == ""
        assert "needs a reason" in error_under(modal, "reason")
        assert modal.query_one("#verdict-reason", Input).has_focus
        await pilot.press(*"flaky upstream", "tab", *"2020-01-01", "enter")  # a past expiry
        await settle(pilot)
        assert error_under(modal, "reason") == ""
        assert "in the past" in error_under(modal, "expires")
        modal.query_one("#verdict-expires", Input).value = "next week"
        await pilot.press("enter")
        await settle(pilot)
        assert "not a date" in error_under(modal, "expires")
        modal.picker.focus()
        await pilot.press("r")  # a relabel: the route field appears, the expiry goes
        await settle(pilot)
        assert modal.query_one("#verdict-row-expected").display
        assert not modal.query_one("#verdict-row-expires").display
        await pilot.press("enter")
        await settle(pilot)
        assert "route" in error_under(modal, "expected")
        assert isinstance(app.screen, VerdictModal)
        assert not ledgers.exists() or not any(ledgers.iterdir())  # nothing written
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is screen
        assert "0 of" in screen_text(app)

    drive(sample_store, flow)
    assert not ledgers.exists() or not any(ledgers.iterdir())


def test_the_case_screen_lists_every_verdict_with_its_history(sample_store: Path) -> None:
    expected = failures(sample_store)
    case = expected[0]
    ledgers = ledger_dir_for(sample_store)
    long_ago = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
    recently = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    events = [  # (when, request), oldest first
        (
            long_ago,
            VerdictRequest(RUN, BASELINE, case, "confirm", "alice", "[bold]first look[/bold]"),
        ),
        # a waiver that lapsed long ago: it no longer counts
        (
            long_ago + dt.timedelta(days=1),
            VerdictRequest(
                RUN,
                BASELINE,
                case,
                "waive",
                "alice",
                "expected in 2020",
                expires=dt.date(2020, 1, 3),
            ),
        ),
        (
            long_ago + dt.timedelta(days=2),
            VerdictRequest(RUN, BASELINE, case, "note", "carol", "asked the owner"),
        ),
        (
            recently,
            VerdictRequest(
                RUN, BASELINE, case, "relabel", "bob", "the policy changed", expected="ABSTAIN"
            ),
        ),
        (
            recently + dt.timedelta(minutes=1),
            VerdictRequest(RUN, BASELINE, case, "confirm", "alice", "checked again"),
        ),
    ]
    lapsed = VerdictRequest(
        RUN, BASELINE, expected[1], "waive", "dave", "until the fix", expires=dt.date(2020, 1, 5)
    )
    events.append((long_ago, lapsed))  # the second failure's only verdict: lapsed
    with Store.open(sample_store, read_only=True) as opened:
        for when, request in events:
            record_verdict(opened.con, ledgers, request, now=when)

    async def flow(app: EvaltuiApp, pilot: Pilot) -> None:
        screen = await open_cases(app, pilot)
        await pilot.press("n")
        await settle(pilot)
        assert current_id(screen) == case
        text = screen_text(app)
        assert f"1 of {len(expected)} failures judged" in text  # the lapsed waiver does not count
        marks = {
            line.split()[1]: line.split()[0] for line in text.splitlines() if line.startswith(" ✗")
        }
        assert marks[case] == "✗✓" and marks[expected[1]] == "✗W~"
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, CaseScreen)
        text = screen_text(app)
        assert "VERDICTS" in text
        assert "✓ confirm by alice +1" in text.splitlines()[0]
        body = text[text.index("VERDICTS") :]
        words = (
            "checked again",
            "policy changed",
            "asked the owner",
            "expected in 2020",
            "first look",
        )
        order = [body.index(word) for word in words]
        assert order == sorted(order), body  # newest first
        assert "R relabel → ABSTAIN" in body and "bob" in body and "carol" in body
        assert "until 2020-01-03  superseded, expired" in body
        assert "2020-01-01 00:00  alice  ✓ confirm  superseded" in body
        assert "[bold]first look[/bold]" in body  # reasons are shown literally

    drive(sample_store, flow, size=(100, 50))


def test_verdict_keys_are_absent_where_there_is_no_pair(sample_store: Path) -> None:
    async def flow(app: EvaltuiApp, pilot: Pilot) -> None:
        await pilot.press("c")  # the baseline's own cases: nothing to judge them against
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, CasesScreen) and screen.baseline is None
        assert "verdict" not in screen_text(app).splitlines()[-1]
        assert "judged" not in screen_text(app).splitlines()[0]
        await pilot.press("v", "u", "U")
        await settle(pilot)
        assert app.screen is screen and not screen.where.unjudged_only

    drive(sample_store, flow)


def test_a_tampered_ledger_is_named_in_a_warning(
    sample_store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    expected = failures(sample_store)
    ledgers = ledger_dir_for(sample_store)
    with Store.open(sample_store, read_only=True) as opened:
        for case in expected[:2]:
            record_verdict(
                opened.con, ledgers, VerdictRequest(RUN, BASELINE, case, "confirm", "erin")
            )
    path = ledgers / "erin.jsonl"
    data = path.read_bytes()
    path.write_bytes(data.replace(b'"confirm"', b'"waive"  ', 1))  # the first line changed

    async def flow(app: EvaltuiApp, pilot: Pilot) -> None:
        await open_cases(app, pilot)
        warnings = [n.message for n in app._notifications if n.severity == "warning"]
        assert any(
            "verdict ledgers:" in m and "erin.jsonl:1:" in m and "not used" in m for m in warnings
        ), warnings
        assert f"0 of {len(expected)} failures judged" in screen_text(app)  # none of it used

    drive(sample_store, flow)


def test_the_decide_form_reads_the_ledgers_and_shows_the_status_before_and_after(
    sample_store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Waivers recorded before the app started (no cases screen opened) reach the decide form:
    eight of rc1's nine missed escalations waived make it ELIGIBLE_WITH_WAIVERS."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    for name in ("SSH_AUTH_SOCK", "EVALTUI_REVIEWER", "EVALTUI_SIGNING_KEY"):
        monkeypatch.delenv(name, raising=False)
    with Store.open(sample_store, read_only=True) as opened:
        rows = fetch_cases(
            opened.con,
            get_run(opened.con, RUN),
            get_run(opened.con, BASELINE),
            CaseFilter(failures_only=True),
        ).to_pylist()
        missed = [
            r["case_id"]
            for r in rows
            if r["expected_route"] == "ESCALATE" and r["route"] in ("SERVE", "ABSTAIN")
        ]
        assert len(missed) == 9  # missed_escalation <= 1 fails with 9
        for case in missed[:8]:
            request = VerdictRequest(RUN, BASELINE, case, "waive", "alice", "queue outage")
            record_verdict(opened.con, ledger_dir_for(sample_store), request)

    async def flow(app: EvaltuiApp, pilot: Pilot) -> None:
        await highlight(pilot, app, RUN)
        await pilot.press("D")
        await settle(pilot)
        from evaltui.tui.screens.decide import DecideModal, verdicts_line

        modal = app.screen
        assert isinstance(modal, DecideModal) and modal.data is not None
        effect = modal.data.draft.verdicts
        assert effect is not None and modal.data.draft.review_status == "ELIGIBLE_WITH_WAIVERS"
        text = verdicts_line(effect).plain
        assert "8 waivers, 0 relabels" in text
        assert "REJECT_MISSED_ESCALATION before them, ELIGIBLE_WITH_WAIVERS after" in text
        assert "missed_escalation 9 → 1" in text
        assert "8 waivers, 0 relabels" in screen_text(app)  # and it is on the form

    drive(sample_store, flow, size=(100, 50))


def test_a_verdict_recorded_on_the_case_screen_shows_there_and_in_the_list(
    sample_store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EVALTUI_REVIEWER", "bob")
    expected = failures(sample_store)

    async def flow(app: EvaltuiApp, pilot: Pilot) -> None:
        screen = await open_cases(app, pilot)
        await pilot.press("n", "enter")
        await settle(pilot)
        assert isinstance(app.screen, CaseScreen)
        assert "VERDICTS  none yet" in screen_text(app)
        await judge(pilot, "r")  # a relabel without a reason or a route: refused
        modal = app.screen
        assert isinstance(modal, VerdictModal)
        assert "needs a reason" in error_under(modal, "reason")
        await pilot.press(*"the policy changed", "enter")  # the focus went to the reason
        await settle(pilot)
        assert "route" in error_under(modal, "expected")
        await pilot.press(*"ABSTAIN", "enter")  # and then to the route
        await settle(pilot)
        assert isinstance(app.screen, CaseScreen)
        text = screen_text(app)
        assert "R relabel by bob" in text.splitlines()[0]
        assert "bob  R relabel → ABSTAIN" in text and "the policy changed" in text
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is screen
        text = screen_text(app)
        assert f"1 of {len(expected)} failures judged" in text
        row = next(line for line in text.splitlines() if expected[0] in line)
        assert row.lstrip().startswith("✗R"), row

    drive(sample_store, flow)


def filter_bar(screen: CasesScreen) -> str:
    return str(screen.query_one("#filters", Static).render())


@pytest.mark.parametrize("size", [(80, 24), (60, 20)])
def test_the_bar_counts_unjudged_failures_while_n_steps_through_them(
    sample_store: Path, monkeypatch: pytest.MonkeyPatch, size: tuple[int, int]
) -> None:
    monkeypatch.setenv("EVALTUI_REVIEWER", "alice@example.com")
    expected = failures(sample_store)
    total = len(expected)

    async def flow(app: EvaltuiApp, pilot: Pilot) -> None:
        screen = await open_cases(app, pilot)
        await pilot.press("n")
        await settle(pilot)
        await judge(pilot, "c")  # the first failure is judged
        assert f"failure 1 of {total}" in filter_bar(screen)
        await pilot.press("u", "n")  # n/N: unjudged failures only
        await settle(pilot)
        assert current_id(screen) == expected[1]
        bar = filter_bar(screen)
        assert f"unjudged 1 of {total - 1}" in bar, bar  # not "failure 2 of 16"
        await pilot.press("N")  # no unjudged failure before it: the cursor stays
        await settle(pilot)
        await pilot.press("k")  # by hand onto the row above
        await settle(pilot)
        if current_id(screen) == expected[0]:  # the judged failure: counted among all failures
            assert f"failure 1 of {total}" in filter_bar(screen)
        else:  # a case routed right: no number at all
            assert " of " not in filter_bar(screen)
        await pilot.press("U")  # and the filter too: every part of the bar stays readable
        await settle(pilot)
        assert current_id(screen) == expected[1]  # the first row of the unjudged failures
        await pilot.press("n")
        await settle(pilot)
        assert current_id(screen) == expected[2]
        bar = filter_bar(screen)
        line = next((x for x in screen_text(app).splitlines() if "n/N" in x), bar)
        assert "…" not in line, line
        named = "filters: unjudged failures" if size[0] >= 80 else "only unjudged"
        for part in ("2/", f"unjudged 2 of {total - 1}", "n/N: unjudged", named):
            assert part in line, (part, line, bar)

    drive(sample_store, flow, size=size)


def test_a_hand_written_ledger_line_is_shown_literally_on_the_case_screen(
    sample_store: Path,
) -> None:
    """A ledger is a file anyone with the checkout can write: an event chained by hand (valid
    hash) with an ANSI escape, a right-to-left override and a zero-width space in its reason and
    markup as its route reaches the screen as visible text, never as terminal control or style."""
    from evaltui.decision import ledger

    case = failures(sample_store)[0]
    with Store.open(sample_store, read_only=True) as opened:
        suite_id = get_run(opened.con, RUN).suite_id
        sha = opened.con.execute(
            "SELECT evaluation_sha FROM suites WHERE suite_id = ?", [suite_id]
        ).fetchone()[0]
    path = ledger_dir_for(sample_store) / "mallory.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    ledger.append_event(
        path,
        lambda head: ledger.new_event(
            head, reviewer="mallory", now=dt.datetime.now(dt.UTC), run=RUN, baseline=BASELINE,
            case_id=case, suite_id=suite_id, suite_sha=sha, kind="relabel",
            reason="\x1b[31mred\x1b[0m zero\u200bwidth \u202eevil",
            expected="[link=http://x]SERVE[/link]", expires=None,
        ),
    )  # fmt: skip

    async def flow(app: EvaltuiApp, pilot: Pilot) -> None:
        await open_cases(app, pilot)
        await pilot.press("n", "enter")
        await settle(pilot)
        assert isinstance(app.screen, CaseScreen)
        text = screen_text(app)
        body = text[text.index("VERDICTS") :]
        assert "R relabel → [link=http://x]SERVE[/link]" in body
        assert "␛[31mred␛[0m zero⟨ZWSP⟩width ⟨RLO⟩evil" in body
        assert not {"\x1b", "\u200b", "\u202e"} & set(text)

    drive(sample_store, flow, size=(100, 40))
