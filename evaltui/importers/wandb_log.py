"""A W&B run's binary log (`run-<id>.wandb`): the run, config and summary records, streamed.

An offline run (`wandb/offline-run-*/`) keeps its config and summary only in this file; a synced
run also has `files/config.yaml` and `files/wandb-summary.json`, which `wandb.py` prefers. The file
is W&B's transaction log: a 7-byte header (`:W&B`, a 2-byte magic, a version byte) and then
LevelDB-style framing (32 KiB blocks; each chunk a CRC-32, a length and a type: full, first,
middle or last), each record a `wandb_internal_pb2.Record` protocol buffer. The records are decoded
with W&B's own generated classes (the optional extra `evaltui[wandb]`); only the framing is read
here. Records are read one at a time and only the few kinds needed are kept, so memory stays
bounded by the largest record (MAX_RECORD_BYTES), whatever the log's length.
"""

from __future__ import annotations

import json
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from evaltui.errors import InputError

HEADER = b":W&B"
HEADER_BYTES = 7
BLOCK_BYTES = 32 * 1024
CHUNK_HEADER = struct.Struct("<IHB")  # crc32, length, type
FULL, FIRST, MIDDLE, LAST = 1, 2, 3, 4
MAX_RECORD_BYTES = 64 * 1024 * 1024
MISSING_PACKAGE = (
    "this offline W&B run keeps its config and summary only in its .wandb file; reading that "
    "needs W&B's own package: pip install 'evaltui[wandb]'"
)
_TYPE_CRC = [zlib.crc32(bytes([kind])) for kind in range(LAST + 1)]


@dataclass
class RunLog:
    """What an importer needs from the binary log."""

    run_id: str | None = None
    project: str | None = None
    entity: str | None = None
    display_name: str | None = None
    job_type: str | None = None
    group: str | None = None
    notes: str | None = None
    tags: list[str] = field(default_factory=list)
    start_time: float | None = None
    config: dict[str, Any] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)
    finished: bool = False  # an exit record was written (the run ended, not killed)
    exit_code: int | None = None


def log_reader_available() -> bool:
    """Whether W&B's package (the optional extra evaltui[wandb]) can decode records."""
    try:
        from wandb.proto import wandb_internal_pb2  # noqa: F401
    except ImportError:
        return False
    return True


def read_run_log(path: Path) -> RunLog:
    """Decode the run, config, summary and exit records of `path`."""
    try:
        from wandb.proto import wandb_internal_pb2  # the optional extra evaltui[wandb]
    except ImportError:
        raise InputError(path, MISSING_PACKAGE) from None
    log = RunLog()
    try:
        with path.open("rb") as handle:
            for data in _records(handle, path):
                record = wandb_internal_pb2.Record()  # type: ignore[attr-defined]
                try:
                    record.ParseFromString(data)
                except Exception:  # protobuf's DecodeError; the message says what broke
                    raise InputError(path, "a record is not a W&B record (damaged log)") from None
                _apply(log, record, path)
    except OSError as exc:
        raise InputError(path, f"cannot read file: {exc.strerror}") from None
    return log


def _records(handle: BinaryIO, path: Path) -> Iterator[bytes]:
    """The log's records, reassembled from their chunks; one damaged chunk refuses the file."""
    header = handle.read(HEADER_BYTES)
    if len(header) < HEADER_BYTES or not header.startswith(HEADER):
        raise InputError(path, "not a W&B run log (no :W&B header)")
    position = HEADER_BYTES
    pending: list[bytes] | None = None
    pending_size = 0
    while True:
        left = BLOCK_BYTES - position % BLOCK_BYTES
        if left < CHUNK_HEADER.size:
            handle.read(left)  # a block's tail too short for a chunk header is padding
            position += left
            continue
        head = handle.read(CHUNK_HEADER.size)
        if not head:
            break
        if len(head) < CHUNK_HEADER.size:
            break  # a log cut while writing: the records before the cut stand
        checksum, length, kind = CHUNK_HEADER.unpack(head)
        position += CHUNK_HEADER.size
        if kind == 0 and length == 0:
            continue  # zero padding written by a writer that pre-allocates
        if kind > LAST or length > left - CHUNK_HEADER.size:
            raise InputError(path, f"damaged W&B run log at byte {position - CHUNK_HEADER.size}")
        data = handle.read(length)
        position += len(data)
        if len(data) < length:
            break  # cut while writing
        if zlib.crc32(data, _TYPE_CRC[kind]) != checksum:
            raise InputError(path, f"damaged W&B run log: bad checksum at byte {position - length}")
        if kind == FULL:
            yield data
            continue
        if kind == FIRST:
            pending, pending_size = [data], len(data)
        elif pending is None:
            raise InputError(
                path,
                f"damaged W&B run log: a record's middle without its start at byte {position - length}",
            )
        else:
            pending.append(data)
            pending_size += len(data)
        if pending_size > MAX_RECORD_BYTES:
            raise InputError(
                path,
                f"a record larger than {MAX_RECORD_BYTES / 2**20:g} MiB; not a run log evaltui reads",
            )
        if kind == LAST and pending is not None:
            yield b"".join(pending)
            pending = None


def _apply(log: RunLog, record: Any, path: Path) -> None:
    kind = record.WhichOneof("record_type")
    if kind == "run":
        run = record.run
        log.run_id = run.run_id or log.run_id
        log.project = run.project or log.project
        log.entity = run.entity or log.entity
        log.display_name = run.display_name or log.display_name
        log.job_type = run.job_type or log.job_type
        log.group = run.run_group or log.group
        log.notes = run.notes or log.notes
        log.tags = list(run.tags) or log.tags
        if run.HasField("start_time"):
            log.start_time = run.start_time.seconds + run.start_time.nanos / 1e9
        _update(log.config, run.config.update, run.config.remove, path)
    elif kind == "config":
        _update(log.config, record.config.update, record.config.remove, path)
    elif kind == "summary":
        _update(log.summary, record.summary.update, record.summary.remove, path)
    elif kind == "exit":
        log.finished = True
        log.exit_code = record.exit.exit_code


def _update(target: dict[str, Any], updates: Any, removals: Any, path: Path) -> None:
    """Apply W&B's config/summary items: `key` or a `nested_key` path, the value as JSON text."""
    for item in updates:
        keys = list(item.nested_key) or [item.key]
        try:
            value = json.loads(item.value_json) if item.value_json else None
        except (ValueError, RecursionError):
            raise InputError(path, f"the value of {'.'.join(keys)!r} is not JSON") from None
        node = target
        for key in keys[:-1]:
            child = node.get(key)
            if not isinstance(child, dict):
                child = node[key] = {}
            node = child
        node[keys[-1]] = value
    for item in removals:
        keys = list(item.nested_key) or [item.key]
        parent: dict[str, Any] = target
        for key in keys[:-1]:
            child = parent.get(key)
            parent = child if isinstance(child, dict) else {}
        parent.pop(keys[-1], None)
