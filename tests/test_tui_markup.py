"""Untrusted text never reaches Textual as markup: palettes, notifications and titles included.

Experiment names, run ids, metadata keys and case ids that are Rich/Textual markup (a
`[link=...]` that would write an OSC 8 hyperlink, a `[reverse]` that would style, a malformed
`[/bold` that would raise MarkupError) are loaded into a real store. Every screen's command palette
is opened and searched, and a notification is raised with such text: the literal brackets must be
on screen, and the bytes written to the terminal carry no hyperlink and no style from them.
"""

from __future__ import annotations

import ast
import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from evaltui.contract.discover import read_batch
from evaltui.store.connection import Store
from evaltui.store.loader import load_batch
from evaltui.tui.app import EvaltuiApp
from tests.tui_helpers import make_app, screen_text, settle, terminal_bytes

LINK = "[link=https://evil.example]x[/link]"
BROKEN = "[/bold"
STYLE = "[reverse]r[/reverse]"
EXPERIMENT = f"exp {LINK} {BROKEN}"
OTHER_EXPERIMENT = f"other {STYLE} {BROKEN}"
META_KEY = f"key {LINK} {BROKEN}"
RUN_ID = "cand"
OSC8 = "\x1b]8;"


@pytest.fixture
def markup_store(tmp_path: Path) -> Path:
    folder = tmp_path / "markup"
    folder.mkdir()
    suite = {
        "kind": "evaltui.suite",
        "version": 1,
        "suite_id": "markup-suite",
        "splits": {
            "main": [
                {"case_id": "c1", "expected_route": "SERVE", "slice_name": f"s {LINK}"},
                {"case_id": "c2", "expected_route": "ABSTAIN", "slice_name": "plain"},
            ]
        },
    }
    (folder / "markup.suite.json").write_text(json.dumps(suite), encoding="utf-8")

    def run(run_id: str, experiment: str, started: str, route: str) -> dict:
        return {
            "kind": "evaltui.run",
            "version": 1,
            "run_id": run_id,
            "experiment": experiment,
            "artifact": f"artifact-{run_id}",
            "suite_id": "markup-suite",
            "started_at": started,
            "params": {},
            "metrics": {},
            "cases": [
                {"case_id": "c1", "route": route, "output": LINK, "metadata": {META_KEY: 1}},
                {"case_id": "c2", "route": "ABSTAIN", "output": "ok", "metadata": {META_KEY: 2}},
            ],
        }

    records = [
        run("base", EXPERIMENT, "2026-01-01T00:00:00Z", "SERVE"),
        run(RUN_ID, EXPERIMENT, "2026-01-02T00:00:00Z", "ABSTAIN"),
        run("elsewhere", OTHER_EXPERIMENT, "2026-01-03T00:00:00Z", "SERVE"),
    ]
    for record in records:
        (folder / f"{record['run_id']}.run.json").write_text(json.dumps(record), encoding="utf-8")
    path = tmp_path / "markup.duckdb"
    with Store.open(path) as store:
        load_batch(store, read_batch([folder]))
    return path


def assert_literal(app: EvaltuiApp, *expected: str) -> None:
    written = terminal_bytes(app)
    assert OSC8 not in written, "a hyperlink reached the terminal"
    text = screen_text(app)
    for shown in expected:
        assert shown in text, f"{shown!r} is not on screen:\n{text}"


async def open_palette(pilot: Pilot, query: str = "") -> None:
    await pilot.press("ctrl+p")
    await settle(pilot)
    if query:
        await pilot.press(*query)
        await settle(pilot)
    await pilot.pause(0.3)  # the palette gathers hits in a worker with a short delay
    await settle(pilot)


async def close_palette(pilot: Pilot) -> None:
    await pilot.press("escape")
    await settle(pilot)


MARKERS = ("evil.example", BROKEN, "[reverse]r")


@pytest.fixture
def markup_parsed(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every hostile string that reaches Textual's or Rich's markup parser while the test runs
    (all widgets, the palette and toasts parse a `str` through `Content.from_markup`; Rich tables
    through `Console.render_str`)."""
    from rich.console import Console
    from textual.content import Content

    seen: list[str] = []
    from_markup = Content.from_markup.__func__  # type: ignore[attr-defined]
    render_str = Console.render_str

    def spy_from_markup(cls: type[Content], markup: object, **variables: object) -> Content:
        if isinstance(markup, str) and any(m in markup for m in MARKERS):
            seen.append(markup)
        return from_markup(cls, markup, **variables)

    def spy_render_str(self: Console, text: str, **kwargs: Any) -> Any:
        if kwargs.get("markup") is not False and any(m in text for m in MARKERS):
            seen.append(text)
        return render_str(self, text, **kwargs)

    monkeypatch.setattr(Content, "from_markup", classmethod(spy_from_markup))
    monkeypatch.setattr(Console, "render_str", spy_render_str)
    return seen


def test_every_palette_shows_hostile_names_literally(
    markup_store: Path, markup_parsed: list[str]
) -> None:
    from textual.widgets._toast import Toast

    from evaltui.tui.screens.case_detail import CaseScreen
    from evaltui.tui.screens.cases import CasesScreen
    from evaltui.tui.screens.compare import CompareScreen
    from evaltui.tui.screens.decisions import DecisionsScreen
    from evaltui.tui.screens.drift import DriftScreen
    from evaltui.tui.text import notify

    async def walk(app: EvaltuiApp, pilot: Pilot) -> None:
        assert_literal(app, EXPERIMENT)  # the runs screen's title names the experiment
        notify(app.screen, f"about {OTHER_EXPERIMENT}", timeout=30)
        await settle(pilot)
        toasts = [toast.render() for toast in app.screen.query(Toast)]
        assert [t.plain for t in toasts] == [f"about {OTHER_EXPERIMENT}"]
        assert all(not t.spans for t in toasts)  # nothing styled, linked or parsed
        # runs: the experiment names are palette commands, shown whole and searched
        await open_palette(pilot)
        assert_literal(app, f"Experiment: {OTHER_EXPERIMENT}")
        await close_palette(pilot)
        await open_palette(pilot, "other")
        assert_literal(app, f"Experiment: {OTHER_EXPERIMENT}")
        await close_palette(pilot)
        await open_palette(pilot, "exp")
        assert_literal(app, f"Experiment: {EXPERIMENT}")
        await close_palette(pilot)
        await pilot.press("j", "d")  # drift: one command per column, metadata keys included
        await settle(pilot)
        assert isinstance(app.screen, DriftScreen)
        await open_palette(pilot, "drift key")
        assert_literal(app, f"Drift of metadata.{META_KEY}")
        await close_palette(pilot)
        await pilot.press("escape", "enter")  # compare
        await settle(pilot)
        assert isinstance(app.screen, CompareScreen)
        await open_palette(pilot)
        assert_literal(app)
        await close_palette(pilot)
        await pilot.press("c")
        await settle(pilot)
        assert isinstance(app.screen, CasesScreen)
        await open_palette(pilot)
        assert_literal(app)
        await close_palette(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, CaseScreen)
        await open_palette(pilot)
        assert_literal(app)
        await close_palette(pilot)
        await pilot.press("L")
        await settle(pilot)
        assert isinstance(app.screen, DecisionsScreen)
        await open_palette(pilot)
        assert_literal(app)
        await close_palette(pilot)

    async def main() -> None:
        app = make_app(markup_store, experiment=EXPERIMENT)
        try:
            async with app.run_test(size=(160, 50), notifications=True) as pilot:
                await settle(pilot)
                await walk(app, pilot)
        finally:
            app.release_store()

    asyncio.run(main())
    assert markup_parsed == []  # no hostile string ever reached a markup parser


# -- a guard over the source: no untrusted plain string where Textual or Rich parses markup --------

TUI = Path(__file__).resolve().parent.parent / "evaltui" / "tui"
# Calls whose positional string arguments Textual (or Rich, inside a Table) reads as markup.
MARKUP_SINKS = {"Static", "Label", "update", "add_row", "add_column", "Option", "Button"}
# Ways a plain str is built from a value: these must be wrapped in safe()/literal() instead.
STR_BUILDERS = {"plain", "visible", "str", "format", "clip", "fit"}


def _builds_plain_str(node: ast.expr) -> bool:
    if isinstance(node, ast.JoinedStr | ast.BinOp):
        return True
    if isinstance(node, ast.Attribute) and node.attr == "plain":
        return True
    if isinstance(node, ast.Call):
        func = node.func
        name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
        return name in STR_BUILDERS
    return False


def markup_entry_problems(source: str, where: str) -> list[str]:
    problems = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
        line = f"{where}:{node.lineno}"
        if (
            name == "notify"
            and not any(
                k.arg == "markup" and isinstance(k.value, ast.Constant) and k.value.value is False
                for k in node.keywords
            )
            and not (isinstance(func, ast.Name) or where.endswith("text.py"))
        ):
            problems.append(f"{line}: notify() without markup=False (use text.notify)")
        if name in {"from_markup", "render_str"}:
            problems.append(f"{line}: {name}() parses markup")
        if name in {"Hit", "DiscoveryHit"} and not where.endswith("palette.py"):
            problems.append(f"{line}: palette hits are built only in tui/palette.py")
        if name in MARKUP_SINKS:
            for arg in node.args:
                if _builds_plain_str(arg):
                    problems.append(f"{line}: {name}() gets a plain str built from a value")
        for keyword in node.keywords:
            if keyword.arg in {"tooltip", "title", "markup"} and keyword.value is not None:
                if keyword.arg == "markup" and name != "notify":
                    problems.append(f"{line}: markup= is only ever passed to notify")
                elif keyword.arg == "tooltip" and _builds_plain_str(keyword.value):
                    problems.append(f"{line}: tooltip built from a value")
    return problems


def test_no_plain_string_reaches_a_markup_entry_point() -> None:
    problems = []
    for path in sorted(TUI.rglob("*.py")):
        problems += markup_entry_problems(path.read_text(encoding="utf-8"), path.name)
    assert problems == []


def test_the_guard_catches_each_kind_of_plain_string() -> None:
    bad = """
self.notify(f"run {run_id}")
Static(plain(name))
table.add_column(plain(column))
widget.update(f"{name} done")
yield Hit(1, name, callback)
Binding("x", "y", "z", tooltip=f"{name}")
Label(text.plain)
Text.from_markup(name)
"""
    assert len(markup_entry_problems(bad, "screen.py")) == 8
    good = """
self.notify("fixed words", markup=False)
Static(safe(name))
table.add_column(safe(column))
widget.update(Text.assemble(safe(name), " done"))
notify(self, name)
"""
    assert markup_entry_problems(good, "screen.py") == []


def test_the_app_uses_only_the_literal_palette_provider() -> None:
    from evaltui.tui.palette import LiteralCommands

    assert {LiteralCommands} == EvaltuiApp.COMMANDS
