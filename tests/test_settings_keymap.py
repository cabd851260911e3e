"""Remapped keys: a `[keymap]` in a real config file, read by the settings, drives the app.

The app is driven with Pilot at 80x24 on the bundled samples, as in test_tui_flows.py.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest
from textual.pilot import Pilot

from evaltui.errors import InputError, InputErrors
from evaltui.settings import Settings, load
from evaltui.store.connection import Store
from evaltui.store.queries import experiments
from evaltui.tui.app import EvaltuiApp, binding_ids, check_settings
from evaltui.tui.screens.cases import CasesScreen
from evaltui.tui.screens.compare import CompareScreen
from evaltui.tui.screens.help import HelpScreen, binding_rows
from evaltui.tui.widgets.case_list import CaseList
from tests.conftest import REPO
from tests.test_tui_flows import failures
from tests.tui_helpers import screen_text, settle, terminal_bytes


def config_with(tmp_path: Path, text: str) -> Settings:
    """The settings read from a user config file holding `text`."""
    path = tmp_path / "xdg-config" / "evaltui" / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    found = load()
    check_settings(found)
    return found


def run(store: Path, found: Settings, flow: object, size: tuple[int, int] = (80, 24)) -> None:
    async def main() -> None:
        opened = Store.open(store, read_only=True)
        first = experiments(opened.con)[0][0]  # as tui_helpers.make_app: the support router
        app = EvaltuiApp(opened, experiment=first, settings=found)
        try:
            async with app.run_test(size=size) as pilot:
                await settle(pilot)
                await flow(app, pilot)  # type: ignore[operator]
        finally:
            app.release_store()

    asyncio.run(main())


def test_next_failure_remapped_to_z_steps_the_failures_and_n_no_longer_does(
    sample_store: Path, tmp_path: Path
) -> None:
    found = config_with(tmp_path, '[keymap]\nnext_failure = "z"\n')
    expected = failures(sample_store, "sr-v3.5-rc3-s3", "sr-prod-v3.4")

    async def flow(app: EvaltuiApp, pilot: Pilot) -> None:
        await pilot.press("j", "enter")
        await settle(pilot)
        assert isinstance(app.screen, CompareScreen)
        footer = screen_text(app).splitlines()[-1]
        assert "z failures" in footer and "n/N" not in footer  # the footer shows the new key
        await pilot.press("n")  # the old key does nothing now
        await settle(pilot)
        assert isinstance(app.screen, CompareScreen)
        await pilot.press("z")
        await settle(pilot)
        assert isinstance(app.screen, CasesScreen)
        cases = app.screen.query_one(CaseList)
        assert cases.current is not None and cases.current.case_id == expected[0]
        await pilot.press("z")
        await settle(pilot)
        assert cases.current is not None and cases.current.case_id == expected[1]
        await pilot.press("n")
        await settle(pilot)
        assert cases.current is not None and cases.current.case_id == expected[1]
        await pilot.press("N")  # previous_failure was not remapped: it keeps its key
        await settle(pilot)
        assert cases.current is not None and cases.current.case_id == expected[0]

    run(sample_store, found, flow)


def test_help_shows_the_remapped_key_and_where_it_was_set(
    sample_store: Path, tmp_path: Path
) -> None:
    found = config_with(tmp_path, '[keymap]\nnext_failure = "z,ctrl+n"\nhelp = "h"\n')

    async def flow(app: EvaltuiApp, pilot: Pilot) -> None:
        await pilot.press("c")
        await settle(pilot)
        below = app.screen
        assert isinstance(below, CasesScreen)
        await pilot.press("h")  # help itself was remapped
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen)
        keys = {does: key for key, does, _ in binding_rows(below)}
        assert keys["next failure: the next case the candidate got wrong (also ])"] == "z ^n"
        assert keys["previous failure (also [)"] == "N ["
        text = screen_text(app)
        assert "z ^n" in text and "n ]" not in text
        assert "keys remapped by [keymap] in" in text

    run(sample_store, found, flow, size=(100, 60))


def test_a_remapped_key_that_takes_another_binding_s_key_is_one_warning(
    sample_store: Path, tmp_path: Path
) -> None:
    found = config_with(tmp_path, '[keymap]\nnext_failure = "x"\n')  # x clears the filters

    async def flow(app: EvaltuiApp, pilot: Pilot) -> None:
        await pilot.press("c")
        await settle(pilot)
        cases = app.screen.query_one(CaseList)
        before = cases.cursor
        await pilot.press("x", "x")
        await settle(pilot)
        assert cases.cursor != before  # x now steps the failures
        told = [n.message for n in app._notifications if n.message.startswith("keymap:")]
        assert told == ["keymap: x on CasesScreen: next_failure, no longer clear_filters"]

    run(sample_store, found, flow)


def test_an_unknown_binding_id_is_refused_at_its_line(tmp_path: Path) -> None:
    path = tmp_path / "xdg-config" / "evaltui" / "config.toml"
    with pytest.raises(InputError) as raised:
        config_with(tmp_path, '# mine\n[keymap]\nhelp = "h"\nnext_failur = "z"\n')
    assert (raised.value.path, raised.value.line) == (str(path), 4)
    assert "'next_failur': no key binding has this id (did you mean 'next_failure'?)" in str(
        raised.value
    )


def test_an_unknown_theme_and_an_unknown_id_are_both_reported(tmp_path: Path) -> None:
    with pytest.raises(InputErrors) as raised:
        config_with(tmp_path, 'theme = "solarised"\n[keymap]\nnope = "z"\n')
    assert [e.line for e in raised.value.errors] == [3, 1]


def test_config_theme_and_no_color_reach_the_app(sample_store: Path, tmp_path: Path) -> None:
    found = config_with(tmp_path, 'theme = "textual-light"\nno_color = true\n')

    async def flow(app: EvaltuiApp, pilot: Pilot) -> None:
        assert app.theme == "textual-light"
        assert app.no_color
        assert not chromatic(terminal_bytes(app))  # only black, white and greys are drawn

    run(sample_store, found, flow)


# SGR colour numbers of the 16-colour palette that are not black, white or grey
CHROMATIC = {str(n) for base in (30, 40, 90, 100) for n in range(base + 1, base + 7)}


def chromatic(drawn: str) -> set[str]:
    params = re.findall(r"\x1b\[([0-9;]*)m", drawn)
    return {p for group in params for p in group.split(";")} & CHROMATIC


def test_without_no_color_the_app_is_drawn_in_colour(sample_store: Path) -> None:
    async def flow(app: EvaltuiApp, pilot: Pilot) -> None:
        assert not app.no_color and chromatic(terminal_bytes(app))  # the check above can fail

    run(sample_store, Settings(), flow)


def test_every_binding_of_every_screen_and_widget_has_an_id() -> None:
    from textual.binding import Binding
    from textual.dom import DOMNode

    binding_ids()  # imports every screen and widget module
    missing = []
    classes: list[type[DOMNode]] = [DOMNode]
    while classes:
        cls = classes.pop()
        classes.extend(cls.__subclasses__())
        if cls.__module__.startswith("evaltui."):
            for b in cls.__dict__.get("BINDINGS", ()):
                if not isinstance(b, Binding) or not b.id:
                    missing.append(f"{cls.__name__}: {b}")
    assert missing == []
    assert {"next_failure", "previous_failure", "help", "quit", "back", "down"} <= binding_ids()


def test_the_user_guide_example_config_is_valid_and_lists_every_binding_id(
    tmp_path: Path,
) -> None:
    guide = (REPO / "docs" / "user-guide.md").read_text(encoding="utf-8")
    section = guide.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    example = section.split("```toml\n", 1)[1].split("```", 1)[0]
    found = config_with(tmp_path, example)  # raises if a key, a type or an id is wrong
    assert found.keymap["next_failure"] == "x" and found.reviewer == "alice@example.com"
    table = section.split("| id | keys | does |", 1)[1]
    documented = set(
        re.findall(
            r"`([a-z_]+)`",
            "\n".join(row.split("|")[1] for row in table.splitlines()[2:] if row.startswith("|")),
        )
    )
    assert documented == binding_ids()
