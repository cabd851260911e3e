"""Reading the entries of a zip archive, including entries compressed with zstd.

inspect_ai writes `.eval` logs as zip archives. Since inspect_ai 0.3.x the entries may be compressed
with zstd (zip method 93), which Python 3.11's `zipfile` cannot decompress. Here `zipfile` still
parses the central directory (names, sizes, CRCs, offsets); stored and deflated entries are read by
`zipfile` itself, zstd entries are located through their local header and decompressed with the
`zstandard` package. Every entry's CRC-32 is checked against the central directory (by `zipfile`
for stored and deflated entries, here for zstd ones, with the size), so a truncated or damaged
archive is refused with a message rather than read half-way.

Entries are inflated as a stream, in chunks, never more than the limits below: an entry that
claims or turns out to hold more than MAX_ENTRY_BYTES, a compressed entry larger than that, or an
archive whose entries read so far add up to more than its total limit, is refused with one line
as soon as the limit is passed (a decompression bomb costs at most the limit in memory, not its
inflated size). The total limit is MAX_ARCHIVE_BYTES or MAX_INFLATE_RATIO times the archive's own
size, whichever is larger: callers parse one entry and drop it before reading the next, so a
100,000-sample log may inflate to many gigabytes in all, while many directory entries pointing at
one compressed stream (an overlapping-entry bomb) still stop after a bounded amount of work.
"""

from __future__ import annotations

import struct
import zipfile
import zlib
from pathlib import Path
from typing import BinaryIO, Protocol

from evaltui.errors import InputError
from evaltui.safe_files import open_regular

ZIP_ZSTANDARD = 93
_LOCAL_HEADER = struct.Struct("<4sHHHHHIIIHH")
_LOCAL_SIGNATURE = b"PK\x03\x04"
_ENCRYPTED = 0x1
MAX_ENTRY_BYTES = 256 << 20  # one inflated entry (a sample, the header): far above any real log's
MAX_ARCHIVE_BYTES = 1 << 30  # all entries read from one archive together (at least this)
MAX_INFLATE_RATIO = 100  # ... or this many times the archive's size (real logs: 5-20x)
_CHUNK = 1 << 20  # bytes inflated (or compressed bytes read) per step


class ZipArchive:
    """An open zip archive whose entries can be read by name, whatever their compression."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._handle: BinaryIO = open_regular(path)  # a FIFO named x.eval must not hang
        try:
            self._zip = zipfile.ZipFile(self._handle)
        except zipfile.BadZipFile as exc:
            self._handle.close()
            raise InputError(
                path, f"not a readable zip archive ({exc}); the file may be truncated"
            ) from None
        except (OSError, ValueError) as exc:
            self._handle.close()
            raise InputError(path, f"not a readable zip archive ({exc})") from None
        self._infos = {info.filename: info for info in self._zip.infolist()}
        self._inflated = 0  # bytes read from all entries so far (self.total_limit)
        size = self._handle.seek(0, 2)
        self.total_limit = max(MAX_ARCHIVE_BYTES, MAX_INFLATE_RATIO * size)

    def __enter__(self) -> ZipArchive:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._zip.close()
        self._handle.close()

    def names(self) -> list[str]:
        return list(self._infos)

    def __contains__(self, name: object) -> bool:
        return name in self._infos

    def read(self, name: str) -> bytes:
        """The decompressed bytes of one entry, checked against its size and CRC-32."""
        info = self._infos.get(name)
        if info is None:
            raise InputError(self.path, f"the archive has no entry {name!r}")
        where = f"entry {name!r}"
        if info.flag_bits & _ENCRYPTED:
            raise InputError(self.path, f"{where} is encrypted; evaltui cannot read it")
        if info.file_size > MAX_ENTRY_BYTES or info.compress_size > MAX_ENTRY_BYTES:
            raise self._too_big(where, max(info.file_size, info.compress_size))
        if info.compress_type == ZIP_ZSTANDARD:
            data = self._read_zstd(info)
        elif info.compress_type in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            try:  # zipfile checks the size and CRC-32 itself at the end (BadZipFile)
                with self._zip.open(info) as stream:
                    data = self._bounded(stream, where, info.file_size)
            except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
                raise InputError(
                    self.path, f"{where} is damaged ({exc}); the file may be truncated"
                ) from None
        else:
            raise InputError(
                self.path,
                f"{where} uses zip compression method {info.compress_type}, "
                "which evaltui cannot read",
            )
        return data

    def _too_big(self, where: str, size: int) -> InputError:
        return InputError(
            self.path,
            f"{where} inflates to more than {MAX_ENTRY_BYTES:,} bytes (at least {size:,}); "
            "refusing it (a damaged log or a decompression bomb)",
        )

    def _bounded(self, stream: _Readable, where: str, claimed: int) -> bytes:
        """Read `stream` to its end in chunks, refusing it once it passes an entry or archive limit."""
        limit = min(MAX_ENTRY_BYTES, claimed)
        chunks: list[bytes] = []
        size = 0
        while True:
            chunk = stream.read(_CHUNK)
            if not chunk:
                break
            size += len(chunk)
            if size > limit:
                if size > MAX_ENTRY_BYTES:
                    raise self._too_big(where, size)
                raise InputError(
                    self.path,
                    f"{where} is damaged (it inflates to more than the {claimed:,} bytes "
                    "the archive's directory says)",
                )
            if self._inflated + size > self.total_limit:
                raise InputError(
                    self.path,
                    f"the archive's entries inflate to more than {self.total_limit:,} bytes "
                    f"(at {where}); refusing it",
                )
            chunks.append(chunk)
        self._inflated += size
        return b"".join(chunks)

    def _read_zstd(self, info: zipfile.ZipInfo) -> bytes:
        import zstandard

        where = f"entry {info.filename!r}"
        region = _Region(self._handle, self._data_offset(info), info.compress_size)
        if info.file_size == 0:
            data = b""
        else:
            try:
                reader = zstandard.ZstdDecompressor().stream_reader(
                    region,  # type: ignore[arg-type]  # it only calls read()
                    read_size=_CHUNK,
                    read_across_frames=True,
                )
                data = self._bounded(reader, where, info.file_size)
            except zstandard.ZstdError as exc:
                raise InputError(self.path, f"{where} is damaged (zstd: {exc})") from None
        if region.short:
            raise InputError(self.path, f"{where}: the archive is truncated")
        if len(data) != info.file_size or zlib.crc32(data) != info.CRC:
            raise InputError(self.path, f"{where} is damaged (size or CRC-32 does not match)")
        return data

    def _data_offset(self, info: zipfile.ZipInfo) -> int:
        """Where an entry's compressed bytes start, found through its local file header."""
        where = f"entry {info.filename!r}"
        self._handle.seek(info.header_offset)
        header = self._handle.read(_LOCAL_HEADER.size)
        if len(header) != _LOCAL_HEADER.size:
            raise InputError(self.path, f"{where}: the archive is truncated")
        fields = _LOCAL_HEADER.unpack(header)
        if fields[0] != _LOCAL_SIGNATURE:
            raise InputError(self.path, f"{where}: no local file header where the directory says")
        name_length, extra_length = fields[9], fields[10]
        return info.header_offset + _LOCAL_HEADER.size + name_length + extra_length


class _Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


class _Region:
    """`size` bytes of `handle` from `offset`, read in chunks (never the whole region at once)."""

    def __init__(self, handle: BinaryIO, offset: int, size: int) -> None:
        self._handle = handle
        self._position = offset
        self._left = size
        self.short = False  # the file ended before the region did

    def read(self, size: int = -1, /) -> bytes:
        if self._left <= 0:
            return b""
        wanted = self._left if size < 0 else min(size, self._left)
        wanted = min(wanted, _CHUNK)
        self._handle.seek(self._position)
        data = self._handle.read(wanted)
        if len(data) < wanted:
            self.short = True
            self._left = 0
        else:
            self._left -= len(data)
        self._position += len(data)
        return data
