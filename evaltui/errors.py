"""Errors a user can cause, and the exit codes they map to.

Every layer raises these; only the CLI turns them into stderr lines and exit codes, so the
rules (one line per problem, `path[:line]: what is wrong`, no traceback) live in one place.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from evaltui.plural import count

EXIT_OK = 0
EXIT_CHECK_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_INTERNAL = 3


class EvaltuiError(Exception):
    """Base class: a problem evaltui can explain in one line per cause.

    `field` names the input the problem concerns (a run id, a reviewer, a key file), when there
    is one: the CLI still maps the error to its exit code, and a form puts the line under that
    field instead of in a notification.
    """

    exit_code = EXIT_BAD_INPUT
    field: str | None = None

    def __init__(self, *args: object, field: str | None = None) -> None:
        super().__init__(*args)
        if field is not None:  # a subclass may have set its own before calling up (InvalidChoice)
            self.field = field

    def lines(self) -> list[str]:
        return [str(self)]


class InputError(EvaltuiError):
    """A problem with one input file (or command-line value), optionally at a line."""

    def __init__(
        self,
        path: str | Path | None,
        message: str,
        line: int | None = None,
        *,
        field: str | None = None,
    ) -> None:
        self.path = str(path) if path is not None else None
        self.line = line
        self.message = message
        super().__init__(self.render(), field=field)

    def render(self) -> str:
        if self.path is None:
            return self.message
        where = self.path if self.line is None else f"{self.path}:{self.line}"
        return f"{where}: {self.message}"


class InputErrors(EvaltuiError):
    """Several problems found in one pass; each is reported on its own line."""

    MAX_REPORTED = 20

    def __init__(self, errors: Iterable[InputError]) -> None:
        self.errors = list(errors)
        super().__init__("\n".join(self.lines()))

    def lines(self) -> list[str]:
        shown = [e.render() for e in self.errors[: self.MAX_REPORTED]]
        hidden = len(self.errors) - len(shown)
        if hidden > 0:
            shown.append(f"... and {count(hidden, 'more problem')} of the same kind")
        return shown


class StoreError(EvaltuiError):
    """The store is missing, busy, or from an incompatible version."""


class NotFoundError(EvaltuiError):
    """A run, suite or column named on the command line does not exist."""


class CheckFailed(EvaltuiError):
    """A check ran and said no (gate failed, verification rejected, rollback needed)."""

    exit_code = EXIT_CHECK_FAILED


class ProblemTally:
    """Problems found walking the rows of one input: identical ones grouped with a count.

    `add(problem, position)` for each bad row; `errors()` gives one InputError per distinct
    problem (`400 cases: field 'route' must be ..., first at cases[0]`), the first MAX_GROUPS
    of them, and a last `... and N more` line counting the rest. Memory stays bounded whatever
    the number of bad rows.
    """

    MAX_GROUPS = 19  # with the `... and N more` line, one input's problems fit in MAX_REPORTED

    def __init__(self, path: str | Path, *, label: str = "line", line: int | None = None) -> None:
        self.path = path
        self.label = label  # "line" (JSONL), "cases" (an inline array) or e.g. "row" (Parquet)
        self.line = line  # the record's line in a .runs.jsonl file, for inline arrays
        self._groups: dict[str, list[int]] = {}  # problem -> [first position, count]
        self.other = 0  # bad rows whose problem did not fit in MAX_GROUPS

    def add(self, problem: str, position: int) -> None:
        group = self._groups.get(problem)
        if group is not None:
            group[1] += 1
        elif len(self._groups) < self.MAX_GROUPS:
            self._groups[problem] = [position, 1]
        else:
            self.other += 1

    def __len__(self) -> int:
        return sum(n for _, n in self._groups.values()) + self.other

    def where(self, position: int) -> str:
        return f"cases[{position}]" if self.label == "cases" else f"{self.label} {position}"

    def errors(self) -> list[InputError]:
        out: list[InputError] = []
        noun = "case" if self.label == "cases" else self.label
        for problem, (first, n) in self._groups.items():
            if n > 1:
                message = f"{count(n, noun)}: {problem}, first at {self.where(first)}"
                out.append(InputError(self.path, message, self.line))
            elif self.label == "line":
                out.append(InputError(self.path, problem, first))
            else:
                out.append(InputError(self.path, f"{self.where(first)}: {problem}", self.line))
        if self.other:
            out.append(
                InputError(
                    self.path,
                    f"... and {count(self.other, 'more bad ' + noun)} (other problems)",
                    self.line,
                )
            )
        return out


def first_line(exc: BaseException, *, or_type: bool = True) -> str:
    """The first line of an exception's message (a library's error can span many lines); its
    type's name when the message is empty, unless `or_type` is False."""
    lines = str(exc).strip().splitlines()
    if lines:
        return lines[0]
    return type(exc).__name__ if or_type else ""


def raise_collected(errors: list[InputError]) -> None:
    """Raise the collected problems, if any, as one error."""
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise InputErrors(errors)
