"""The runs screen shows the runs before their bootstraps are in, and a pair screen asked for
meanwhile opens once they are, with the figures the review computed at once would give."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest

from evaltui.review.report import Review, review_runs
from evaltui.store.connection import Store
from evaltui.tui.screens import runs as runs_module
from evaltui.tui.screens.compare import CompareScreen
from evaltui.tui.screens.runs import APP_SETTINGS, RunsScreen
from tests.tui_helpers import make_app, runs_table, screen_text, settle


def test_a_pair_action_waits_for_the_pending_statistics(
    sample_store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    gate = threading.Event()
    real = runs_module.finish_review

    def held(con: object, review: Review) -> Review:
        assert gate.wait(30), "the test never released the bootstraps"
        return real(con, review)  # type: ignore[arg-type]

    monkeypatch.setattr(runs_module, "finish_review", held)

    async def main() -> None:
        app = make_app(sample_store)
        try:
            async with app.run_test(size=(160, 50)) as pilot:
                for _ in range(500):
                    if isinstance(app.screen, RunsScreen) and runs_table(app).order:
                        break
                    await pilot.pause(0.01)
                screen = app.screen
                assert isinstance(screen, RunsScreen) and screen.review is not None
                assert screen.review.pending  # the runs are on screen, the bootstraps not yet
                await pilot.press("j")
                await pilot.pause()
                candidate = runs_table(app).highlighted
                assert candidate is not None and candidate.paired is not None
                assert "… computing the interval, the verdict and the warnings" in (
                    screen_text(app)
                )
                await pilot.press("s")  # side by side: held until the figures are final
                await pilot.pause()
                assert app.screen is screen
                assert "computing intervals…" in screen_text(app)
                gate.set()
                await settle(pilot)
                assert isinstance(app.screen, CompareScreen)
                shown = app.screen.context.candidate
                assert shown.run_id == candidate.run_id
                assert shown.paired is not None and not shown.paired.pending
                assert screen.review is not None and not screen.review.pending
                with Store.open(sample_store, read_only=True) as store:
                    eager = review_runs(
                        store.con, screen.review.baseline.run_id, settings=APP_SETTINGS
                    )
                assert screen.review == eager
                assert shown == eager.get(candidate.run_id)
        finally:
            gate.set()
            app.release_store()

    asyncio.run(main())
