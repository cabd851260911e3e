"""`evaltui [OPTIONS] COMMAND ...` versus `evaltui [OPTIONS] PATH ...`: options may come before
the command name, so routing must skip every option's value, whichever command declares it."""

from __future__ import annotations

import json
from pathlib import Path

import click
import pytest

from evaltui.cli.main import COMMANDS, OPTION_VALUES, EvaltuiGroup, cli, option_values

EXPERIMENT = "ci-claim-gate-repair"


@pytest.fixture
def group() -> EvaltuiGroup:
    assert isinstance(cli, EvaltuiGroup)
    return cli


@pytest.mark.parametrize(
    ("args", "routed"),
    [
        (["--experiment", "X", "runs"], ["runs", "--experiment", "X"]),
        (["--experiment", "runs", "runs"], ["runs", "--experiment", "runs"]),
        (["--store", "S", "--wait", "1", "runs"], ["runs", "--store", "S", "--wait", "1"]),
        (["--json", "--store", "S", "suites"], ["suites", "--json", "--store", "S"]),
        (["-c", "col", "drift", "a", "b"], ["drift", "-c", "col", "a", "b"]),
        (["--store=S", "runs"], ["runs", "--store=S"]),
        (["--experiment", "X", "some/path"], ["open", "--experiment", "X", "some/path"]),
        (["--baseline", "runs"], ["open", "--baseline", "runs"]),  # a value, not a command
        (["--", "runs"], ["open", "--", "runs"]),  # after `--`, a path named runs
        ([], ["open"]),
        (["--version"], ["--version"]),
    ],
)
def test_the_command_is_found_after_any_option(
    group: EvaltuiGroup, args: list[str], routed: list[str]
) -> None:
    assert group.route(args) == routed


def test_every_option_name_takes_the_same_number_of_values_everywhere(
    group: EvaltuiGroup,
) -> None:
    seen: dict[str, set[int]] = {}

    def walk(command: click.Command) -> None:
        for param in command.params:
            if isinstance(param, click.Option):
                count = 0 if param.is_flag or param.count else param.nargs
                for name in (*param.opts, *param.secondary_opts):
                    seen.setdefault(name, set()).add(count)
        if isinstance(command, click.Group):
            for sub in command.commands.values():
                walk(sub)

    for command in group.every_command():
        walk(command)
    assert {name: counts for name, counts in seen.items() if len(counts) > 1} == {}
    assert option_values(group.every_command())["--experiment"] == 1
    assert option_values(group.every_command())["--json"] == 0


def test_the_routing_table_is_the_commands_own(group: EvaltuiGroup) -> None:
    """Routing skips option values with a table, so that no command is imported to route; the
    table must say what the commands themselves declare (add an option: add it there too)."""
    assert option_values(group.every_command()) == OPTION_VALUES
    assert sorted(c.name or "" for c in group.every_command()) == sorted(COMMANDS)


def test_an_option_before_the_command_is_the_commands_option(sample_store: Path, run_cli) -> None:  # type: ignore[no-untyped-def]
    before = run_cli("--experiment", EXPERIMENT, "runs", "--store", sample_store, "--json")
    after = run_cli("runs", "--experiment", EXPERIMENT, "--store", sample_store, "--json")
    assert before.code == 0, before.err
    assert before.out == after.out
    assert {r["experiment"] for r in json.loads(before.out)["runs"]} == {EXPERIMENT}


def test_wait_before_the_command(sample_store: Path, run_cli) -> None:  # type: ignore[no-untyped-def]
    result = run_cli("--store", sample_store, "--wait", "1", "runs", "--json")
    assert result.code == 0, result.err
    assert json.loads(result.out)["runs"]


def test_a_path_still_opens(run_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    # the path does not exist, so `open` refuses it: what matters is that `open` got it
    result = run_cli("--store", tmp_path / "s.duckdb", "--experiment", "X", tmp_path / "nope")
    assert result.code == 2
    assert "nope" in result.err
