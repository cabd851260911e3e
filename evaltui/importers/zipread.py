"""Reading the entries of a zip archive, including entries compressed with zstd.

inspect_ai writes `.eval` logs as zip archives. Since inspect_ai 0.3.x the entries may be compressed
with zstd (zip method 93), which Python 3.11's `zipfile` cannot decompress. Here `zipfile` still
parses the central directory (names, sizes, CRCs, offsets); stored and deflated entries are read by
`zipfile` itself, zstd entries are located through their local header and decompressed with the
`zstandard` package. Every entry's CRC-32 is checked against the central directory (by `zipfile`
for stored and deflated entries, here for zstd ones, with the size), so a truncated or damaged
archive is refused with a message rather than read half-way.
"""

from __future__ import annotations

import struct
import zipfile
import zlib
from pathlib import Path
from typing import BinaryIO

from evaltui.errors import InputError

ZIP_ZSTANDARD = 93
_LOCAL_HEADER = struct.Struct("<4sHHHHHIIIHH")
_LOCAL_SIGNATURE = b"PK\x03\x04"
_ENCRYPTED = 0x1
MAX_ENTRY_BYTES = 4 << 30  # an entry claiming more than this is refused (zip bomb guard)


class ZipArchive:
    """An open zip archive whose entries can be read by name, whatever their compression."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self._handle: BinaryIO = path.open("rb")
        except OSError as exc:
            raise InputError(path, f"cannot read file: {exc.strerror}") from None
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
        if info.file_size > MAX_ENTRY_BYTES:
            raise InputError(
                self.path, f"{where} claims {info.file_size:,} bytes; refusing to inflate it"
            )
        if info.compress_type == ZIP_ZSTANDARD:
            return self._read_zstd(info)
        if info.compress_type in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            try:  # zipfile checks the CRC-32 itself (BadZipFile)
                return self._zip.read(info)
            except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
                raise InputError(
                    self.path, f"{where} is damaged ({exc}); the file may be truncated"
                ) from None
        raise InputError(
            self.path,
            f"{where} uses zip compression method {info.compress_type}, which evaltui cannot read",
        )

    def _read_zstd(self, info: zipfile.ZipInfo) -> bytes:
        import zstandard

        where = f"entry {info.filename!r}"
        compressed = self._raw(info)
        if info.file_size == 0:
            data = b""
        else:
            try:
                data = zstandard.ZstdDecompressor().decompress(
                    compressed, max_output_size=info.file_size
                )
            except zstandard.ZstdError as exc:
                raise InputError(self.path, f"{where} is damaged (zstd: {exc})") from None
        if len(data) != info.file_size or zlib.crc32(data) != info.CRC:
            raise InputError(self.path, f"{where} is damaged (size or CRC-32 does not match)")
        return data

    def _raw(self, info: zipfile.ZipInfo) -> bytes:
        """The compressed bytes of an entry, found through its local file header."""
        where = f"entry {info.filename!r}"
        self._handle.seek(info.header_offset)
        header = self._handle.read(_LOCAL_HEADER.size)
        if len(header) != _LOCAL_HEADER.size:
            raise InputError(self.path, f"{where}: the archive is truncated")
        fields = _LOCAL_HEADER.unpack(header)
        if fields[0] != _LOCAL_SIGNATURE:
            raise InputError(self.path, f"{where}: no local file header where the directory says")
        name_length, extra_length = fields[9], fields[10]
        self._handle.seek(info.header_offset + _LOCAL_HEADER.size + name_length + extra_length)
        data = self._handle.read(info.compress_size)
        if len(data) != info.compress_size:
            raise InputError(self.path, f"{where}: the archive is truncated")
        return data
