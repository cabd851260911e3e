"""The case list widget on its own: the cursor stays on screen whatever order things arrive in."""

from __future__ import annotations

import asyncio

from textual.app import App, ComposeResult

from evaltui.tui.widgets.case_list import CaseList


class _ListApp(App[None]):
    def compose(self) -> ComposeResult:
        yield CaseList()


def test_a_jump_right_after_a_new_view_scrolls_before_any_layout_pass() -> None:
    # a jump can arrive from its worker before Textual has laid out the new view's virtual size;
    # the scroll must not wait for (or be dropped before) the scrollbar appears
    async def run() -> None:
        app = _ListApp()
        async with app.run_test(size=(80, 24)) as pilot:
            cases = app.query_one(CaseList)
            await pilot.pause()
            cases.reset(1, 520, paired=True)
            cases.move_to(300, center=True)  # no pause in between: no layout pass yet
            top = round(cases.scroll_y)
            assert top <= 300 < top + cases.size.height - 1, (top, cases.size)
            await pilot.pause()
            top = round(cases.scroll_y)
            assert top <= 300 < top + cases.size.height - 1, (top, cases.size)

    asyncio.run(run())


def test_a_new_view_opened_on_a_row_far_down_shows_that_row() -> None:
    async def run() -> None:
        app = _ListApp()
        async with app.run_test(size=(80, 24)) as pilot:
            cases = app.query_one(CaseList)
            await pilot.pause()
            cases.reset(1, 10_000, paired=False, cursor=9_000)
            await pilot.pause()
            top = round(cases.scroll_y)
            assert cases.cursor == 9_000
            assert top <= 9_000 < top + cases.size.height - 1, (top, cases.size)

    asyncio.run(run())
