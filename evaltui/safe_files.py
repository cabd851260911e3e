"""Writing files safely: the one place evaltui creates, replaces or appends to a file.

Every file is first written under a random temporary name in the target folder, created with
O_CREAT | O_EXCL | O_NOFOLLOW: a name someone planted in advance (a symlink pointing at a file of
the reviewer's, or anything else) makes the create fail instead of being written through. The
temporary file is flushed and fsynced, then given its final name:

- `write_new`: hard-linked (link(2) fails when the name exists, symlink included), so nothing is
  ever replaced; where the filesystem has no hard links the final name is created with
  O_EXCL | O_NOFOLLOW instead;
- `write_replacing`: renamed over the target (rename(2) replaces a name, it never follows a
  symlink there), after refusing a target that is a symlink or not a regular file.

`read_regular` is the reading side: a regular file only (a FIFO is opened without blocking and
refused, so it cannot hang a read), optionally no larger than a limit.

`append_line` appends one line with a single O_APPEND write and refuses a symlink or any other
non-regular file at the name; `locked` holds an flock on a file while a
read-then-append sequence runs. Every OS failure becomes one `InputError` naming the file; a full
disk or a read-only file system is said in plain words (`os_problem`).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import secrets
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from evaltui.errors import InputError

FILE_MODE = 0o644  # written records and decisions are for others to read (the umask still applies)
_CREATE = (
    os.O_WRONLY
    | os.O_CREAT
    | os.O_EXCL
    | getattr(os, "O_NOFOLLOW", 0)
    | getattr(os, "O_CLOEXEC", 0)
)
_NO_HARD_LINKS = (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK)
_TEMP_ATTEMPTS = 8


class FileExists(InputError):
    """The name is taken and the caller asked never to replace anything."""


def os_problem(exc: OSError) -> str:
    """An OS failure in words a user can act on."""
    if exc.errno == errno.ENOSPC:
        return "no space left on the device"
    if exc.errno == errno.EDQUOT:
        return "disk quota exceeded"
    if exc.errno == errno.EROFS:
        return "the file system is read-only"
    if exc.errno == errno.ELOOP:
        return "is a symlink (or a symlink loop); refusing to follow it"
    return exc.strerror or type(exc).__name__


def write_new(path: Path, data: bytes, *, mode: int = FILE_MODE) -> None:
    """Create `path` holding `data`; `FileExists` if anything (a symlink too) has that name."""
    temp = _write_temp(path, data, mode)
    try:
        try:
            os.link(temp, path, follow_symlinks=False)
        except FileExistsError:
            raise FileExists(path, "already exists; refusing to replace it") from None
        except OSError as exc:
            if exc.errno not in _NO_HARD_LINKS:
                raise InputError(path, f"cannot write: {os_problem(exc)}") from None
            _write_exclusive(path, data, mode)
    finally:
        _unlink_quietly(temp)
    _fsync_dir(path.parent)


def write_replacing(path: Path, data: bytes, *, mode: int = FILE_MODE) -> None:
    """Write `path` atomically, replacing a regular file there; a symlink or special file is refused."""
    _refuse_non_regular(path)
    temp = _write_temp(path, data, mode)
    try:
        os.replace(temp, path)
    except OSError as exc:
        _unlink_quietly(temp)
        raise InputError(path, f"cannot write: {os_problem(exc)}") from None
    _fsync_dir(path.parent)


def append_line(path: Path, line: bytes, *, mode: int = FILE_MODE) -> None:
    """Append `line` with one O_APPEND write, fsynced; never through a symlink or to a FIFO."""
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0)
    flags |= getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    _refuse_non_regular(path)
    try:
        fd = os.open(path, flags, mode)
    except OSError as exc:
        raise InputError(path, f"cannot append: {os_problem(exc)}") from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise InputError(path, "is not a regular file; refusing to append to it")
        written = os.write(fd, line)
        if written != len(line):
            raise InputError(path, "cannot append: the write was cut short (disk full?)")
        os.fsync(fd)
    except OSError as exc:
        raise InputError(path, f"cannot append: {os_problem(exc)}") from None
    finally:
        os.close(fd)


def open_regular(path: Path) -> BinaryIO:
    """`path` opened for reading if it is a regular file; anything else is one `InputError`.

    The open does not block (a FIFO with no writer would hang a plain open), and the check is
    made on the opened file (fstat), so nothing can be swapped in between.
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise InputError(path, "file not found") from None
    except IsADirectoryError:
        raise InputError(path, "is a folder, expected a file") from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise InputError(path, "is a symlink loop") from None
        raise InputError(path, f"cannot read file: {os_problem(exc)}") from None
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise InputError(path, "is a folder, expected a file")
        if not stat.S_ISREG(mode):
            raise InputError(path, "is not a regular file (a FIFO, socket or device); refusing it")
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_regular(path: Path, *, limit: int | None = None) -> bytes:
    """A regular file's bytes (see `open_regular`); given `limit`, a larger file is refused.

    Symlinks to regular files are followed (callers that must stay inside a folder check that
    first: `contract.paths`).
    """
    with open_regular(path) as handle:
        try:
            if limit is not None:
                size = os.fstat(handle.fileno()).st_size
                if size > limit:
                    raise InputError(
                        path, f"is {size:,} bytes; files of this kind are limited to {limit:,}"
                    )
                data = handle.read(limit + 1)
                if len(data) > limit:  # it grew while being read
                    raise InputError(path, f"is more than {limit:,} bytes, the limit")
                return data
            return handle.read()
        except OSError as exc:
            raise InputError(path, f"cannot read file: {os_problem(exc)}") from None


def _refuse_non_regular(path: Path) -> None:
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise InputError(path, f"cannot write: {os_problem(exc)}") from None
    if stat.S_ISLNK(info.st_mode):
        raise InputError(path, "is a symlink; refusing to write through it")
    if not stat.S_ISREG(info.st_mode):
        raise InputError(path, "is not a regular file; refusing to write to it")


def _write_temp(path: Path, data: bytes, mode: int) -> Path:
    """A fresh, fsynced temporary file holding `data`, beside `path`."""
    for _attempt in range(_TEMP_ATTEMPTS):
        temp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
        try:
            fd = os.open(temp, _CREATE, mode)
        except FileExistsError:
            continue  # a random name taken (or planted): draw another
        except OSError as exc:
            raise InputError(path.parent, f"cannot write here: {os_problem(exc)}") from None
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
        except OSError as exc:
            _unlink_quietly(temp)
            raise InputError(path, f"cannot write: {os_problem(exc)}") from None
        return temp
    raise InputError(
        path.parent, "cannot create a temporary file here (every name drawn was taken)"
    )


def _write_exclusive(path: Path, data: bytes, mode: int) -> None:
    try:
        fd = os.open(path, _CREATE, mode)
    except FileExistsError:
        raise FileExists(path, "already exists; refusing to replace it") from None
    except OSError as exc:
        raise InputError(path, f"cannot write: {os_problem(exc)}") from None
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
    except OSError as exc:
        _unlink_quietly(path)
        raise InputError(path, f"cannot write: {os_problem(exc)}") from None


def _unlink_quietly(path: Path) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some filesystems cannot fsync a directory; the files themselves are synced
    finally:
        os.close(fd)


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """Hold an exclusive advisory lock (flock) on `path`, created empty if missing, while the
    block runs: read-then-append sequences (a ledger's head, then its next line) by several
    processes take turns. Never through a symlink or on a non-regular file."""
    _refuse_non_regular(path)
    flags = os.O_RDONLY | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    flags |= getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags, FILE_MODE)
    except OSError as exc:
        raise InputError(path, f"cannot open: {os_problem(exc)}") from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise InputError(path, "is not a regular file; refusing to lock it")
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
        except OSError as exc:
            raise InputError(path, f"cannot lock: {os_problem(exc)}") from None
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock
