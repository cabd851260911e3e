"""The `evaltui` command: one entry point, subcommands, and the one place errors become exit codes.

`evaltui [PATH ...]` (no subcommand) loads the paths and opens the review app. Every failure a
user can cause prints one line per problem on stderr and exits 2; a failed check exits 1.
"""

from __future__ import annotations

import difflib
import errno
import importlib
import os
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

import click

from evaltui import __version__
from evaltui.cli.options import current_settings
from evaltui.cli.render import ERROR_LINE_LIMIT
from evaltui.errors import EXIT_BAD_INPUT, EXIT_INTERNAL, EvaltuiError, first_line
from evaltui.safe_files import os_problem
from evaltui.sanitize import visible

# Each command's module, imported only when that command runs (`evaltui load` never imports the
# decision, drift or review code: about a third of the start-up time of every command).
COMMANDS: dict[str, str] = {
    "open": "evaltui.cli.commands_store:open_command",
    "load": "evaltui.cli.commands_store:load_command",
    "publish": "evaltui.cli.commands_store:publish_command",
    "suites": "evaltui.cli.commands_store:suites_command",
    "runs": "evaltui.cli.commands_store:runs_command",
    "compare": "evaltui.cli.commands_review:compare_command",
    "cases": "evaltui.cli.commands_review:cases_command",
    "flips": "evaltui.cli.commands_review:flips_command",
    "decide": "evaltui.cli.commands_decision:decide_command",
    "cosign": "evaltui.cli.commands_decision:cosign_command",
    "verify": "evaltui.cli.commands_decision:verify_command",
    "canary-check": "evaltui.cli.commands_decision:canary_check_command",
    "decisions": "evaltui.cli.commands_decision:decisions_command",
    "verdict": "evaltui.cli.commands_verdicts:verdict_command",
    "verdicts": "evaltui.cli.commands_verdicts:verdicts_command",
    "import": "evaltui.cli.commands_import:import_group",
    "drift": "evaltui.cli.commands_drift:drift_command",
    "trend": "evaltui.cli.commands_drift:trend_command",
    "serve": "evaltui.cli.commands_serve:serve_command",
}
HIDDEN_COMMANDS = ("open",)

# How many values each option of every command (and subcommand) takes, so that options before
# the command name can be skipped without importing every command to ask it. A name means the
# same everywhere; tests/test_cli_routing.py checks this table against the commands themselves.
OPTION_VALUES: dict[str, int] = {
    "--alias": 1,
    "--allow-outside": 0,
    "--allowed-signers": 1,
    "--baseline": 1,
    "--bins": 1,
    "--by": 1,
    "--column": 1,
    "--columns": 1,
    "--confidence": 1,
    "--expected": 1,
    "--experiment": 1,
    "--expires": 1,
    "--failures": 0,
    "--from-store": 1,
    "--gate": 0,
    "--host": 1,
    "--invariant": 1,
    "--json": 0,
    "--key": 1,
    "--kind": 1,
    "--limit": 1,
    "--limitation": 1,
    "--margin": 1,
    "--metric": 1,
    "--name": 1,
    "--no-agent": 0,
    "--no-load": 0,
    "--no-signing": 0,
    "--observed": 1,
    "--out": 1,
    "--outcome": 1,
    "--override": 1,
    "--passphrase-file": 1,
    "--port": 1,
    "--public": 0,
    "--quorum": 1,
    "--reason": 1,
    "--replace": 0,
    "--resamples": 1,
    "--reviewer": 1,
    "--revoked": 1,
    "--rollback": 1,
    "--rollback-external": 0,
    "--seed": 1,
    "--signature": 1,
    "--slice": 1,
    "--split": 1,
    "--status": 1,
    "--store": 1,
    "--stream": 1,
    "--to": 1,
    "--transitions": 0,
    "--unverified": 0,
    "--vs": 1,
    "--wait": 1,
    "-c": 1,
    "-m": 1,
}


class EvaltuiGroup(click.Group):
    """A group where a first argument that is not a command is a path to open.

    Commands are named in `COMMANDS` and imported when first asked for.
    """

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in COMMANDS:
            module, _, attribute = COMMANDS[cmd_name].partition(":")
            self.add_command(getattr(importlib.import_module(module), attribute), cmd_name)
        return self.commands.get(cmd_name)

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        return super().parse_args(ctx, self.route(args))

    def route(self, args: list[str]) -> list[str]:
        """The arguments with the command name first: `open` unless one is named."""
        if args and args[0] in ("--help", "-h", "--version"):
            return args
        index = _first_positional(args, OPTION_VALUES)
        if index is not None and args[index] in COMMANDS:
            # `evaltui --store X runs` means `evaltui runs --store X`
            return [args[index], *args[:index], *args[index + 1 :]]
        if index is not None:
            self.check_not_mistyped(args[index])
        return ["open", *args]

    def check_not_mistyped(self, word: str) -> None:
        """A first word that is no path but close to a command name is a mistyped command."""
        if Path(word).exists():
            return
        visible_commands = [n for n in COMMANDS if n not in HIDDEN_COMMANDS]
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

    def every_command(self) -> list[click.Command]:
        """Every command, imported (for checks over all of them; help lists names only)."""
        return [c for c in (self.get_command(click.Context(self), n) for n in COMMANDS) if c]


def option_values(commands: Iterable[click.Command]) -> dict[str, int]:
    """How many values each option of the commands (and their subcommands) takes.

    Options may come before the command name (`evaltui --experiment X runs`), so finding the
    command means skipping option values; flags take none. A name must mean the same in every
    command for that to work (tests/test_cli_routing.py checks it, and `OPTION_VALUES` against
    this).
    """
    values: dict[str, int] = {}
    for command in commands:
        for param in command.params:
            if isinstance(param, click.Option):
                count = 0 if param.is_flag or param.count else param.nargs
                values.update(dict.fromkeys([*param.opts, *param.secondary_opts], count))
        if isinstance(command, click.Group):
            values.update(option_values(command.commands.values()))
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


def run() -> None:
    """The `evaltui` program (console script and `python -m evaltui`): `main` in a process that
    never loads pandas.

    pyarrow, when pandas is installed, imports it on its first array or scalar only to ask whether
    a value is a pandas object: 0.13 to 0.17 s of every command here, a tenth of loading a
    million-case suite. evaltui never hands pyarrow a pandas object and none of its dependencies
    imports pandas at run time, so the program keeps it out (an import of pandas fails at once,
    as if it were not installed). Tests call `main` in their own process, untouched.
    """
    if "pandas" not in sys.modules:
        sys.meta_path.insert(0, _WithoutPandas())
    # numpy's OpenBLAS starts a thread per core when it is imported, and they spin a while
    # waiting for work: about 0.1 s of CPU taken from every command, which on 2 cores is time the
    # load's own threads wanted. evaltui's linear algebra is vector-sized (a permutation test's
    # matrix-vector product), so one thread loses nothing; a value the user set is kept.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    main()


class _WithoutPandas:
    """A finder that answers every import of pandas as "not installed"."""

    def find_spec(self, name: str, path: object = None, target: object = None) -> None:
        if name == "pandas" or name.startswith("pandas."):
            raise ModuleNotFoundError(f"No module named {name!r} (evaltui keeps it out)", name=name)


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
