"""Verdict ledgers: one append-only, hash-chained JSONL file per reviewer (docs/formats.md).

A reviewer's verdicts on cases (confirm, waive, relabel, note) are events appended to
`<project>/.evaltui/verdicts/<reviewer>.jsonl`, never to the store: they outlive a store rebuild,
travel with a git checkout, and can be written while the app holds the store open read-only.
Merging two reviewers' ledgers is copying their files into one folder (each file is written by
one reviewer only, so there is nothing to merge inside a file).

Each line is the canonical JSON (RFC 8785) of one event, with `seq` (1, 2, ... in the file),
`prev` (the previous line's `hash`, 64 zeros for the first) and `hash`: the SHA-256 of the
canonical JSON of the event without its `hash` member. Because a canonical line sorts its keys
and `hash` is not the last of them, that body is the line with its `"hash":"<hex>",` member cut
out, which is how the store checks every line of every ledger in one SQL pass
(`store/queries_verdicts.py`). A flipped byte, a dropped, added or moved line, or a line whose
reviewer is not the file's is found there and named `file:line: reason`; the lines from there on
are not used.

This module holds the format (building, encoding and appending one event) and lists the
ledger files of a folder for the store's bulk read (`read_ledgers`).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import duckdb
import rfc8785

from evaltui.errors import InputError
from evaltui.safe_files import append_line, locked, os_problem
from evaltui.settings import PROJECT_DIR
from evaltui.store import queries_verdicts as q

FORMAT_VERSION = 1
GENESIS = q.GENESIS  # the `prev` of a ledger's first line
KINDS = q.KINDS
JUDGING_KINDS = ("confirm", "waive", "relabel")  # a note is history, never a judgment
VERDICTS_DIR = "verdicts"
LEDGER_SUFFIX = ".jsonl"
REASON_LIMIT = 2000  # characters
TIME_FORMAT = q.TIME_FORMAT
LINE_LIMIT = q.LINE_LIMIT  # bytes, newline excluded: a longer line is refused when read
# a reviewer id names a file: letters, digits and . _ @ + - (no path separator, no leading dot)
REVIEWER_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@+-]{0,127}")
FIELDS = q.FIELDS  # every line has exactly these, in this (canonical) order
_TAIL_CHUNK = 1 << 16


def ledger_dir_for(store_path: Path) -> Path:
    """The project's verdicts folder for a store file: `.evaltui/verdicts/` beside the store.

    The default store is `<project>/.evaltui/store.duckdb`, so its ledgers are
    `<project>/.evaltui/verdicts/`; a store elsewhere (`--store path/x.duckdb`) keeps its
    ledgers in `path/.evaltui/verdicts/`, the `.evaltui/` folder settings.py would find there.
    """
    parent = store_path.parent
    if parent.name == PROJECT_DIR:
        return parent / VERDICTS_DIR
    return parent / PROJECT_DIR / VERDICTS_DIR


def check_reviewer(reviewer: str | None) -> str:
    """The reviewer id, or an InputError on the field `reviewer`."""
    if not reviewer or not reviewer.strip():
        raise InputError(
            None,
            "no reviewer: pass --reviewer ID or set reviewer in the settings (EVALTUI_REVIEWER)",
            field="reviewer",
        )
    reviewer = reviewer.strip()
    if not REVIEWER_PATTERN.fullmatch(reviewer):
        raise InputError(
            None,
            f"reviewer {reviewer!r}: use letters, digits and . _ @ + - (at most 128, "
            "starting with a letter or digit); it names the reviewer's ledger file",
            field="reviewer",
        )
    return reviewer


def ledger_path(ledger_dir: Path, reviewer: str) -> Path:
    return ledger_dir / f"{check_reviewer(reviewer)}{LEDGER_SUFFIX}"


def reviewer_of(path: Path) -> str | None:
    """The reviewer whose ledger `path` is, by its name; None when it is not a ledger's name."""
    if not path.name.endswith(LEDGER_SUFFIX):
        return None
    name = path.name[: -len(LEDGER_SUFFIX)]
    return name if REVIEWER_PATTERN.fullmatch(name) else None


def format_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime(TIME_FORMAT)


@dataclass(frozen=True, slots=True)
class Head:
    """A ledger's last line: its reviewer, `seq` and `hash` (what the next line chains to)."""

    reviewer: str
    seq: int
    hash: str

    def to_json(self) -> dict[str, Any]:
        return {"seq": self.seq, "hash": self.hash}


@dataclass(frozen=True, slots=True)
class VerdictEvent:
    """One line of a ledger. `superseded`, `stale` and `expired` describe it as read back
    against the store (they are not written): a later judgment by the same reviewer on the same
    case supersedes it; its suite's fingerprint differs from the store's; a waiver past its
    expiry date."""

    reviewer: str
    time: datetime  # UTC, aware
    run: str
    baseline: str
    case_id: str
    suite_id: str
    suite_sha: str
    kind: str
    reason: str
    expected: str | None
    expires: date | None
    seq: int
    prev: str
    hash: str
    superseded: bool = False
    stale: bool = False
    expired: bool = False

    @property
    def judges(self) -> bool:
        return self.kind in JUDGING_KINDS

    def body(self) -> dict[str, Any]:
        """The event as written, without its hash."""
        return {
            "baseline": self.baseline,
            "case_id": self.case_id,
            "expected": self.expected,
            "expires": None if self.expires is None else self.expires.isoformat(),
            "kind": self.kind,
            "prev": self.prev,
            "reason": self.reason,
            "reviewer": self.reviewer,
            "run": self.run,
            "seq": self.seq,
            "suite_id": self.suite_id,
            "suite_sha": self.suite_sha,
            "time": format_time(self.time),
            "v": FORMAT_VERSION,
        }

    def to_json(self) -> dict[str, Any]:
        return {**self.body(), "hash": self.hash}

    def line(self) -> bytes:
        """The ledger line: canonical JSON and a newline."""
        return rfc8785.dumps(self.to_json()) + b"\n"


def event_hash(body: dict[str, Any]) -> str:
    return hashlib.sha256(rfc8785.dumps(body)).hexdigest()


def new_event(
    head: Head | None,
    *,
    reviewer: str,
    now: datetime,
    run: str,
    baseline: str,
    case_id: str,
    suite_id: str,
    suite_sha: str,
    kind: str,
    reason: str,
    expected: str | None,
    expires: date | None,
) -> VerdictEvent:
    """The event that follows `head` (None: the ledger's first line), with its hash."""
    draft = VerdictEvent(
        reviewer=reviewer,
        time=now.astimezone(UTC),
        run=run,
        baseline=baseline,
        case_id=case_id,
        suite_id=suite_id,
        suite_sha=suite_sha,
        kind=kind,
        reason=reason,
        expected=expected,
        expires=expires,
        seq=1 if head is None else head.seq + 1,
        prev=GENESIS if head is None else head.hash,
        hash="",
    )
    body = draft.body()
    return VerdictEvent(**{**_fields(draft), "hash": event_hash(body)})


def _fields(event: VerdictEvent) -> dict[str, Any]:
    return {name: getattr(event, name) for name in VerdictEvent.__slots__}


def read_head(path: Path) -> Head | None:
    """The last line's reviewer, seq and hash (reading only the file's end); None when the
    ledger is empty or missing. A last line that is not a finished event is an InputError."""
    try:
        with open(path, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            if size == 0:
                return None
            start = max(0, size - _TAIL_CHUNK)
            handle.seek(start)
            tail = handle.read()
            while b"\n" not in tail[:-1] and start > 0:  # a line longer than the chunk
                start = max(0, start - _TAIL_CHUNK)
                handle.seek(start)
                tail = handle.read()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise InputError(path, f"cannot read: {os_problem(exc)}") from None
    if not tail.endswith(b"\n"):
        raise InputError(path, "the last line has no newline (an interrupted write?)")
    last = tail[:-1].rsplit(b"\n", 1)[-1]
    try:
        doc = json.loads(last)
        return Head(str(doc["reviewer"]), int(doc["seq"]), str(doc["hash"]))
    except (ValueError, KeyError, TypeError):
        raise InputError(path, "the last line is not a ledger event") from None


def append_event(path: Path, build: Callable[[Head | None], VerdictEvent]) -> VerdictEvent:
    """Append the event `build` makes from the ledger's current head, under an exclusive lock
    (two processes appending for one reviewer take turns and chain correctly); the line is
    written with one O_APPEND write and fsynced."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with locked(path):
        event = build(read_head(path))
        line = event.line()
        if len(line) - 1 > LINE_LIMIT:
            raise InputError(
                path,
                f"the verdict would be a line of {len(line) - 1:,} bytes; a ledger line is at "
                f"most {LINE_LIMIT:,}",
            )
        append_line(path, line)
    return event


def ledger_files(ledger_dir: Path) -> tuple[list[tuple[str, str]], list[InputError]]:
    """The ledgers in the folder (path, reviewer), by name; a `.jsonl` file that is not a
    regular file, or whose name is not a reviewer id (its verdicts would drop out of every count
    unsaid), is a problem. Other files, hidden ones included, are ignored."""
    files: list[tuple[str, str]] = []
    problems: list[InputError] = []
    try:
        entries = sorted(os.scandir(ledger_dir), key=lambda e: e.name)
    except FileNotFoundError:
        return [], []
    except OSError as exc:
        return [], [InputError(ledger_dir, f"cannot read the verdicts folder: {os_problem(exc)}")]
    for entry in entries:
        if not entry.name.endswith(LEDGER_SUFFIX) or entry.name.startswith("."):
            continue  # hidden: an editor's lock (.#x.jsonl), a macOS ._x.jsonl, never a ledger
        reviewer = reviewer_of(Path(entry.path))
        if reviewer is None:
            problems.append(
                InputError(
                    entry.path,
                    "the name is not a reviewer id (letters, digits and . _ @ + -, starting "
                    "with a letter or digit); not read as a ledger: rename it REVIEWER.jsonl",
                )
            )
            continue
        if not stat.S_ISREG(entry.stat(follow_symlinks=False).st_mode):
            problems.append(InputError(entry.path, "is not a regular file; not read as a ledger"))
            continue
        files.append((entry.path, reviewer))
    return files, problems


def file_state(path: str) -> tuple[str, int, int, int] | None:
    """(path, size, mtime in ns, inode), or None when it cannot be looked at."""
    try:
        info = os.stat(path, follow_symlinks=False)
    except OSError:
        return None
    return path, info.st_size, info.st_mtime_ns, info.st_ino


def _line_of_bad_text(path: str) -> int:
    """The first line of a file that is not UTF-8 (read line by line: bounded memory)."""
    try:
        with open(path, "rb") as handle:
            for number, raw in enumerate(handle, start=1):
                try:
                    raw.decode("utf-8")
                except UnicodeDecodeError:
                    return number
    except OSError:
        pass
    return 1


_OPEN_FLAGS = (
    os.O_RDONLY
    | getattr(os, "O_NOFOLLOW", 0)
    | getattr(os, "O_NONBLOCK", 0)
    | getattr(os, "O_CLOEXEC", 0)
)
_FD_DIR = Path("/proc/self/fd")


def _open_ledgers(
    files: list[tuple[str, str]],
) -> tuple[list[tuple[str, str, str, os.stat_result]], list[int], list[InputError]]:
    """Each listed ledger opened as it is now (no symlink followed, no wait on a FIFO) and
    checked to be a regular file by its descriptor: (path, reviewer, what DuckDB reads, stat).

    DuckDB reads `/proc/self/fd/N`, the very file opened and checked, so a name swapped for a
    FIFO or a link to /dev/zero after the folder was listed cannot hang the read; where there is
    no /proc, it reads the path (the listing's check then stands alone)."""
    opened: list[tuple[str, str, str, os.stat_result]] = []
    fds: list[int] = []
    problems: list[InputError] = []
    by_fd = _FD_DIR.is_dir()
    for path, reviewer in files:
        try:
            fd = os.open(path, _OPEN_FLAGS)
        except OSError as exc:
            problems.append(InputError(path, f"cannot read: {os_problem(exc)}"))
            continue
        fds.append(fd)
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            problems.append(InputError(path, "is not a regular file; not read as a ledger"))
            continue
        opened.append((path, reviewer, str(_FD_DIR / str(fd)) if by_fd else path, info))
    return opened, fds, problems


def read_ledgers(con: duckdb.DuckDBPyConnection, ledger_dir: Path) -> list[InputError]:
    """Every ledger under `ledger_dir` into the connection's verdict tables (one DuckDB pass,
    `store/queries_verdicts.load_ledgers`); each damaged file's first problem, `path:line`."""
    files, problems = ledger_files(ledger_dir)
    opened, fds, refused = _open_ledgers(files)
    problems.extend(refused)
    try:
        # taken before reading: a race reads again later
        states = [(p, i.st_size, i.st_mtime_ns, i.st_ino) for p, _, _, i in opened]
        q.remember_files(con, states, replace=True)
        path_of = {source: path for path, _, source, _ in opened}
        for found in q.load_ledgers(con, [(source, r) for _, r, source, _ in opened]):
            line = found.line or _line_of_bad_text(found.path)
            problems.append(InputError(path_of.get(found.path, found.path), found.message, line))
    finally:
        for fd in fds:
            os.close(fd)
    return problems
