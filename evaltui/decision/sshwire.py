"""The SSH wire encoding (RFC 4251 section 5): the few types SSHSIG, key blobs and the agent use.

Kept apart so the signature, key and agent modules share one strict reader: every read checks
that the bytes are there, and `Reader.finish()` refuses trailing data, so a blob that parses is
exactly one well-formed value.
"""

from __future__ import annotations

import struct

from evaltui.plural import count


class WireError(ValueError):
    """Bytes that are not the SSH encoding they should be."""


def uint32(value: int) -> bytes:
    return struct.pack(">I", value)


def string(value: bytes | str) -> bytes:
    data = value.encode() if isinstance(value, str) else value
    return uint32(len(data)) + data


def mpint(value: int) -> bytes:
    """A non-negative multiple-precision integer, two's complement, no needless leading zero."""
    if value < 0:
        raise ValueError("negative mpint")
    if value == 0:
        return uint32(0)
    data = value.to_bytes((value.bit_length() + 7) // 8, "big")
    if data[0] & 0x80:
        data = b"\x00" + data
    return string(data)


class Reader:
    def __init__(self, data: bytes, what: str = "data") -> None:
        self.data = data
        self.pos = 0
        self.what = what

    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise WireError(f"{self.what} is truncated")
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out

    def uint32(self) -> int:
        value: int = struct.unpack(">I", self.take(4))[0]
        return value

    def string(self) -> bytes:
        return self.take(self.uint32())

    def text(self) -> str:
        try:
            return self.string().decode("utf-8")
        except UnicodeDecodeError:
            raise WireError(f"{self.what} holds a name that is not UTF-8") from None

    def mpint(self) -> int:
        data = self.string()
        if data and data[0] & 0x80:
            raise WireError(f"{self.what} holds a negative integer")
        return int.from_bytes(data, "big")

    @property
    def remaining(self) -> int:
        return len(self.data) - self.pos

    def finish(self) -> None:
        if self.remaining:
            raise WireError(f"{self.what} has {count(self.remaining, 'unexpected trailing byte')}")
