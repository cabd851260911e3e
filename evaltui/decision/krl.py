"""Revoked keys: what `ssh-keygen -Y verify -r FILE` refuses, read the way OpenSSH reads it.

FILE is either an OpenSSH key revocation list (PROTOCOL.krl; made with `ssh-keygen -k`) or, when it
does not start with the KRL magic, a plain list of public keys (`type base64 [comment]` lines,
`#` comments and blank lines skipped), as sshkey_check_revoked() falls back to.

From a KRL, evaltui reads every section and uses the three that can revoke a plain key: explicit
keys (the key's blob), SHA1 and SHA256 fingerprints (over the key's blob). Certificate sections
(serials, serial ranges and bitmaps, key ids, by CA) only revoke certificates, which evaltui never
accepts as signers; they are checked for shape and otherwise ignored. KRL signature sections are
read past without checking them, as `ssh-keygen -Y verify` does.

The signing key is compared in its canonical encoding (re-serialized from its numbers), as OpenSSH
hashes and compares it, so a signature cannot dodge a revocation with an odd encoding of its key.
Anything malformed is refused with the file named (ssh-keygen fails the verification on it too).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import struct
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from evaltui.decision.keys import KEY_TYPES, RSA, PublicKey, SigningKeyError
from evaltui.decision.sshwire import Reader, WireError, string
from evaltui.errors import InputError
from evaltui.safe_files import read_regular

MAGIC = b"SSHKRL\n\x00"
FORMAT_VERSION = 1
MAX_BYTES = 256 * 1024 * 1024  # a revocation list larger than this is refused unread

SECTION_CERTIFICATES = 1
SECTION_EXPLICIT_KEY = 2
SECTION_FINGERPRINT_SHA1 = 3
SECTION_SIGNATURE = 4
SECTION_FINGERPRINT_SHA256 = 5
CERT_SERIAL_LIST = 0x20
CERT_SERIAL_RANGE = 0x21
CERT_SERIAL_BITMAP = 0x22
CERT_KEY_ID = 0x23

_CERT = "-cert-v01@openssh.com"
_BASE64 = re.compile(r"(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?")


@dataclass(frozen=True, slots=True)
class RevokedKeys:
    path: str
    kind: str  # "KRL" or "key list"
    blobs: frozenset[bytes]
    sha1: frozenset[bytes]
    sha256: frozenset[bytes]

    def reason(self, key: PublicKey) -> str | None:
        """How this list revokes `key` (None when it does not)."""
        blob = canonical_blob(key)
        if hashlib.sha1(blob).digest() in self.sha1:  # OpenSSH still revokes by SHA1
            return f"its SHA1 fingerprint is in the {self.kind} {self.path}"
        if hashlib.sha256(blob).digest() in self.sha256:
            return f"its SHA256 fingerprint is in the {self.kind} {self.path}"
        if blob in self.blobs:
            return f"the key is listed in the {self.kind} {self.path}"
        return None


def canonical_blob(key: PublicKey) -> bytes:
    """The key's wire encoding made again from its numbers (what OpenSSH hashes)."""
    text = key.crypto().public_bytes(Encoding.OpenSSH, PublicFormat.OpenSSH)
    return base64.b64decode(text.split()[1])


def read_revoked(path: Path) -> RevokedKeys:
    data = read_regular(path, limit=MAX_BYTES)
    if data.startswith(MAGIC):
        try:
            return _parse_krl(data, str(path))
        except WireError as exc:
            raise InputError(path, f"not a valid KRL: {exc}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError(path, "neither a KRL nor a list of public keys (not UTF-8)") from None
    return _parse_key_list(text, str(path))


def _u64(reader: Reader) -> int:
    value: int = struct.unpack(">Q", reader.take(8))[0]
    return value


def _parse_krl(data: bytes, where: str) -> RevokedKeys:
    reader = Reader(data[len(MAGIC) :], "KRL")
    version = reader.uint32()
    if version != FORMAT_VERSION:
        raise WireError(f"format version {version} (OpenSSH reads version {FORMAT_VERSION})")
    _u64(reader), _u64(reader), _u64(reader)  # krl_version, generated_date, flags
    reader.string()  # reserved
    reader.string()  # comment
    blobs: set[bytes] = set()
    sha1: set[bytes] = set()
    sha256: set[bytes] = set()
    signed = False
    while reader.remaining:
        kind = reader.take(1)[0]
        if kind == SECTION_SIGNATURE:
            signed = True
            reader.string(), reader.string()  # signing key, signature: not checked, as OpenSSH
            continue
        if signed:
            raise WireError("a section follows the signature")
        section = Reader(reader.string(), f"KRL section {kind}")
        if kind == SECTION_EXPLICIT_KEY:
            while section.remaining:
                blobs.add(section.string())
        elif kind in (SECTION_FINGERPRINT_SHA1, SECTION_FINGERPRINT_SHA256):
            size = 20 if kind == SECTION_FINGERPRINT_SHA1 else 32
            while section.remaining:
                digest = section.string()
                if len(digest) != size:
                    raise WireError(f"a fingerprint of {len(digest)} bytes in section {kind}")
                (sha1 if size == 20 else sha256).add(digest)
        elif kind == SECTION_CERTIFICATES:
            _check_certificates(section)
        else:
            raise WireError(f"unsupported section type {kind}")
        section.finish()
    return RevokedKeys(where, "KRL", frozenset(blobs), frozenset(sha1), frozenset(sha256))


def _check_certificates(section: Reader) -> None:
    """A certificates section: its shape only (it revokes certificates, never a plain key)."""
    section.string()  # the CA key (empty: any CA)
    section.string()  # reserved
    while section.remaining:
        kind = section.take(1)[0]
        part = Reader(section.string(), f"KRL certificate section {kind:#x}")
        if kind == CERT_SERIAL_LIST:
            while part.remaining:
                _u64(part)
        elif kind == CERT_SERIAL_RANGE:
            low, high = _u64(part), _u64(part)
            if low == 0 or high < low:
                raise WireError(f"serial range {low}-{high}")
        elif kind == CERT_SERIAL_BITMAP:
            _u64(part)
            part.string()
        elif kind == CERT_KEY_ID:
            while part.remaining:
                part.string()
        else:
            raise WireError(f"unsupported certificate section type {kind:#x}")
        part.finish()


def _parse_key_list(text: str, where: str) -> RevokedKeys:
    blobs: set[bytes] = set()
    for number, raw in enumerate(text.split("\n"), start=1):
        line = raw.lstrip(" \t")
        if not line or line.startswith("#"):
            continue
        try:
            blob = _plain_blob(line)
        except (WireError, SigningKeyError, ValueError) as exc:
            message = getattr(exc, "message", str(exc))
            raise InputError(where, f"not a public key line: {message}", number) from None
        if blob is not None:
            blobs.add(blob)
    return RevokedKeys(where, "key list", frozenset(blobs), frozenset(), frozenset())


def _plain_blob(line: str) -> bytes | None:
    """The canonical blob of the plain key a `type base64` line names (a certificate's key for a
    certificate line, as sshkey_equal_public compares them); None for types evaltui never
    verifies with."""
    name, _, rest = line.replace("\t", " ").partition(" ")
    token = rest.lstrip(" ").split(" ", 1)[0]
    data = "".join(token.split())
    if not rest or not data or _BASE64.fullmatch(data) is None:
        raise ValueError(f"{name[:40]!r} is not followed by base64 key data")
    blob = binascii.a2b_base64(data.encode("ascii"), strict_mode=True)
    blob_type = Reader(blob, "public key").text()
    if blob_type != name and not (name in ("rsa-sha2-256", "rsa-sha2-512") and blob_type == RSA):
        raise ValueError(f"the line says {name[:40]} but its key is {blob_type[:60]}")
    if blob_type.endswith(_CERT):
        certified = _certified_key(blob)
        if certified is None:
            return None
        blob = certified
    elif blob_type not in KEY_TYPES:
        return None
    return canonical_blob(PublicKey.from_blob(blob))


def _certified_key(blob: bytes) -> bytes | None:
    reader = Reader(blob, "certificate")
    plain = reader.text().removesuffix(_CERT)
    if plain not in KEY_TYPES:
        return None
    reader.string()  # nonce
    if plain == RSA:
        fields = string(reader.string()) + string(reader.string())  # e, n
    elif plain.startswith("ecdsa-"):
        fields = string(reader.string()) + string(reader.string())  # curve, point
    else:
        fields = string(reader.string())  # ed25519 point
    return string(plain) + fields
