"""The `evaltui` command: one entry point, subcommands, and the one place errors become exit codes.

`evaltui [PATH ...]` (no subcommand) loads the paths and opens the review app. Every failure a
user can cause prints one line per problem on stderr and exits 2; a failed check exits 1.
"""

from __future__ import annotations

import difflib
import errno
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import click

from evaltui import __version__
from evaltui.cli.commands_decision import (
    canary_check_command,
    cosign_command,
    decide_command,
    decisions_command,
    verify_command,
)
from evaltui.cli.commands_drift import drift_command, trend_command
from evaltui.cli.commands_import import import_group
from evaltui.cli.commands_review import cases_command, compare_command, flips_command
from evaltui.cli.commands_serve import serve_command
from evaltui.cli.commands_store import (
    load_command,
    open_command,
    publish_command,
    runs_command,
    suites_command,
)
from evaltui.cli.commands_verdicts import verdict_command, verdicts_command
from evaltui.cli.options import current_settings
from evaltui.cli.render import ERROR_LINE_LIMIT
from evaltui.errors import EXIT_BAD_INPUT, EXIT_INTERNAL, EvaltuiError, first_line
from evaltui.safe_files import os_problem
from evaltui.sanitize import visible


class EvaltuiGroup(click.Group):
    """A group where a first argument that is not a command is a path to open."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        return super().parse_args(ctx, self.route(args))

    def route(self, args: list[str]) -> list[str]:
        """The arguments with the command name first: `open` unless one is named."""
        if args and args[0] in ("--help", "-h", "--version"):
            return args
        index = _first_positional(args, option_values(self))
        if index is not None and args[index] in self.commands:
            # `evaltui --store X runs` means `evaltui runs --store X`
            return [args[index], *args[:index], *args[index + 1 :]]
        if index is not None:
            self.check_not_mistyped(args[index])
        return ["open", *args]

    def check_not_mistyped(self, word: str) -> None:
        """A first word that is no path but close to a command name is a mistyped command."""
        if Path(word).exists():
            return
        visible_commands = [n for n, c in self.commands.items() if not c.hidden]
        close = difflib.get_close_matches(word, visible_commands, n=1)
        if close:
            raise click.UsageError(
                f"no such command {word!r} (did you mean {close[0]!r}?) "
                "and no such file or folder to open"
            )
        if os.sep not in word and "." not in word:
            raise click.UsageError(
                f"no such command or file {word!r}; commands: {', '.join(visible_commands)}"
            )


def option_values(group: click.Group) -> dict[str, int]:
    """How many values each option of the group's commands (and their subcommands) takes.

    Options may come before the command name (`evaltui --experiment X runs`), so finding the
    command means skipping option values; flags take none. A name must mean the same in every
    command for that to work (tests/test_cli_routing.py checks it).
    """
    values: dict[str, int] = {}
    for command in group.commands.values():
        for param in command.params:
            if isinstance(param, click.Option):
                count = 0 if param.is_flag or param.count else param.nargs
                values.update(dict.fromkeys([*param.opts, *param.secondary_opts], count))
        if isinstance(command, click.Group):
            values.update(option_values(command))
    return values


def _first_positional(args: list[str], values: dict[str, int]) -> int | None:
    """Index of the first argument that is neither an option nor an option's value.

    Anything after `--` is a path, never a command: None then (as when there is no positional).
    """
    index = 0
    while index < len(args):
        arg = args[index]
        if arg == "--":
            return None
        if not arg.startswith("-") or arg == "-":
            return index
        index += 1 + values.get(arg, 0)  # `--opt=value` and `-cVALUE` are one argument
    return None


@click.group(
    cls=EvaltuiGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, prog_name="evaltui")
def cli() -> None:
    """Review evaluation runs before a candidate is promoted.

    \b
    evaltui [PATH ...]          load PATHs (if any) and open the review app
    evaltui load PATH ...       load suites and runs into the store
    evaltui publish PATH --to URI  publish suites and runs to a team store (docs/team.md)
    evaltui suites | runs       list what the store holds
    evaltui compare BASELINE    contract audit, metrics, guardrails, paired statistics
    evaltui cases RUN           per-case routes and outcomes
    evaltui decide RUN          sign a decision file (--rollback, --limitation required)
    evaltui cosign DECISION     add another reviewer's signature beside a decision
    evaltui verify DECISION     check a decision file's signature, signer and replay
    evaltui canary-check DEC    apply a decision's canary stop rule to observed values
    evaltui decisions           past decisions made on this store
    evaltui import TOOL SOURCE  lm-eval / inspect / mlflow logs become runs and suites
    evaltui drift REF CUR -c COL  PSI and JS of a per-case column, overall and per slice
    evaltui trend EXP -m METRIC   a metric across an experiment's runs in time order
    evaltui serve               the review app in a browser, behind a token

    The store is .evaltui/store.duckdb in the nearest folder that has one (else the current
    folder); --store PATH or EVALTUI_STORE choose another. A store has one writer (a load) or
    many readers (the app, runs, compare ...); --wait SECONDS (or EVALTUI_WAIT) waits for a store
    another process holds instead of failing at once. Exit codes: 0 ok, 1 a check failed, 2 bad
    input or usage.

    Settings (store, wait, reviewer, signing key, allowed signers, colours, keys) come from
    ~/.config/evaltui/config.toml, then .evaltui/config.toml, then EVALTUI_* variables, then
    flags: see docs/user-guide.md, "Configuration".
    """
    current_settings()  # a broken config file stops every command, not only those that read it


cli.add_command(open_command)
cli.add_command(load_command)
cli.add_command(publish_command)
cli.add_command(suites_command)
cli.add_command(runs_command)
cli.add_command(compare_command)
cli.add_command(cases_command)
cli.add_command(flips_command)
cli.add_command(decide_command)
cli.add_command(cosign_command)
cli.add_command(verify_command)
cli.add_command(canary_check_command)
cli.add_command(decisions_command)
cli.add_command(verdict_command)
cli.add_command(verdicts_command)
cli.add_command(import_group)
cli.add_command(drift_command)
cli.add_command(trend_command)
cli.add_command(serve_command)


def main(argv: Sequence[str] | None = None) -> None:
    """Run the CLI; turn every expected failure into stderr lines and an exit code."""
    try:
        code = cli.main(args=list(argv) if argv is not None else None, standalone_mode=False)
    except EvaltuiError as exc:
        for line in exc.lines():
            # file names and values in messages come from outside: no control byte reaches the terminal
            shown = visible(line, limit=ERROR_LINE_LIMIT)
            click.echo(shown if shown.startswith("evaltui") else f"evaltui: {shown}", err=True)
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("evaltui: aborted", err=True)
        sys.exit(EXIT_BAD_INPUT)
    except click.ClickException as exc:
        click.echo(f"evaltui: {visible(exc.format_message(), limit=ERROR_LINE_LIMIT)}", err=True)
        if isinstance(exc, click.UsageError) and exc.ctx is not None:
            click.echo(f"(see `{exc.ctx.command_path} --help`)", err=True)
        sys.exit(EXIT_BAD_INPUT)
    except KeyboardInterrupt:
        sys.exit(130)
    except BrokenPipeError:
        sys.exit(0)
    except MemoryError:
        click.echo(
            "evaltui: out of memory; the input is too large for this machine "
            "(see docs/reliability.md for the size limits)",
            err=True,
        )
        sys.exit(EXIT_BAD_INPUT)
    except OSError as exc:
        if exc.errno not in _ENVIRONMENT_ERRNOS:
            _internal(exc)
        where = exc.filename if isinstance(exc.filename, str) else None
        text = f"{where}: {os_problem(exc)}" if where else os_problem(exc)
        click.echo(f"evaltui: {visible(text, limit=ERROR_LINE_LIMIT)}", err=True)
        sys.exit(EXIT_BAD_INPUT)
    except Exception as exc:
        problem = _environment_problem(exc)
        if problem is None:
            _internal(exc)
        click.echo(f"evaltui: {visible(problem, limit=ERROR_LINE_LIMIT)}", err=True)
        sys.exit(EXIT_BAD_INPUT)
    sys.exit(code if isinstance(code, int) else 0)


# A full disk, an exceeded quota or a read-only file system: the machine's state, not a bug.
_ENVIRONMENT_ERRNOS = (errno.ENOSPC, errno.EDQUOT, errno.EROFS)
_ENVIRONMENT_TEXTS = {
    "no space left on device": errno.ENOSPC,
    "disk quota exceeded": errno.EDQUOT,
    "read-only file system": errno.EROFS,
}


def _environment_problem(exc: Exception) -> str | None:
    """One line for a library error (DuckDB's, say) that reports a full or read-only disk."""
    text = str(exc).lower()
    for phrase, number in _ENVIRONMENT_TEXTS.items():
        if phrase in text:
            return os_problem(OSError(number, phrase))
    if "out of memory" in text or type(exc).__name__ == "OutOfMemoryException":
        return "out of memory; the input is too large for this machine"
    return None


def _internal(exc: BaseException) -> None:
    """A bug: still one line, never a traceback."""
    click.echo(
        f"evaltui: internal error: {type(exc).__name__}: "
        f"{visible(first_line(exc, or_type=False), limit=ERROR_LINE_LIMIT)}",
        err=True,
    )
    sys.exit(EXIT_INTERNAL)
