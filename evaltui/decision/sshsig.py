"""OpenSSH signatures (SSHSIG, PROTOCOL.sshsig): making them, reading them, checking them.

The signature is over a small blob, not the message: MAGIC, namespace, reserved, hash algorithm
and the hash of the message. The namespace ("evaltui-decision") keeps a signature made for one
purpose from being replayed for another (a git commit signature is not a decision signature).
We sign with SHA-512 and RSA keys with rsa-sha2-512, exactly as `ssh-keygen -Y sign` does, so
`ssh-keygen -Y verify` accepts our files and we accept its. `ssh-rsa` (SHA-1) signatures are
refused, as OpenSSH refuses them for SSHSIG.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import shlex
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from evaltui.decision.keys import ECDSA_CURVES, RSA, PublicKey, Signer, SigningKeyError
from evaltui.decision.sshwire import Reader, WireError, string, uint32

NAMESPACE = "evaltui-decision"
MAGIC = b"SSHSIG"
VERSION = 1
HASH_ALGORITHM = "sha512"
HASHES: dict[str, Callable[[bytes], Any]] = {
    "sha512": hashlib.sha512,
    "sha256": hashlib.sha256,
}
RSA_ALGORITHMS = {"rsa-sha2-512": hashes.SHA512(), "rsa-sha2-256": hashes.SHA256()}
BEGIN = "-----BEGIN SSH SIGNATURE-----"
END = "-----END SSH SIGNATURE-----"
LINE_WIDTH = 70  # as ssh-keygen wraps


def keygen_verify_command(reviewer: str, signature: str | Path, decision: str | Path) -> str:
    """The plain-OpenSSH check of a decision's files, shell-quoted (allowed_signers is the
    deployer's file)."""
    return (
        f"ssh-keygen -Y verify -f allowed_signers -I {shlex.quote(reviewer)} -n {NAMESPACE} "
        f"-s {shlex.quote(str(signature))} < {shlex.quote(str(decision))}"
    )


class SignatureRejected(Exception):
    """A signature that does not hold; `code` says which check failed (for --json and tests)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class SshSignature:
    public_key: PublicKey
    namespace: str
    hash_algorithm: str
    algorithm: str  # the signature algorithm, e.g. ssh-ed25519, rsa-sha2-512
    signature: bytes  # the SSH signature blob (string algorithm, string bytes)


def signed_data(namespace: str, hash_algorithm: str, message: bytes) -> bytes:
    """The blob the key actually signs."""
    digest = HASHES[hash_algorithm](message).digest()
    return MAGIC + string(namespace) + string(b"") + string(hash_algorithm) + string(digest)


def sign(message: bytes, signer: Signer, namespace: str = NAMESPACE) -> str:
    """An armored SSHSIG over `message`, checked before it is returned."""
    blob = signer.sign(signed_data(namespace, HASH_ALGORITHM, message))
    sshsig = (
        MAGIC
        + uint32(VERSION)
        + string(signer.public_key.blob)
        + string(namespace)
        + string(b"")
        + string(HASH_ALGORITHM)
        + string(blob)
    )
    text = armor(sshsig)
    try:  # a broken agent or a key/public-key mix-up must not produce a file that fails later
        verify(parse(text), message, namespace)
    except SignatureRejected as exc:
        raise SigningKeyError(None, f"the new signature does not verify: {exc.message}") from None
    return text


def armor(blob: bytes) -> str:
    encoded = base64.b64encode(blob).decode("ascii")
    lines = [encoded[i : i + LINE_WIDTH] for i in range(0, len(encoded), LINE_WIDTH)]
    return "\n".join([BEGIN, *lines, END]) + "\n"


def dearmor(text: str | bytes) -> bytes:
    if isinstance(text, bytes):
        try:
            text = text.decode("ascii")
        except UnicodeDecodeError:
            raise SignatureRejected("signature_file", "signature file is not ASCII armor") from None
    body = text.strip()
    if not body.startswith(BEGIN) or not body.endswith(END):
        raise SignatureRejected(
            "signature_file", f"not an armored SSH signature (expected {BEGIN} ... {END})"
        )
    inner = "".join(body[len(BEGIN) : -len(END)].split())
    try:
        return base64.b64decode(inner, validate=True)
    except binascii.Error:
        raise SignatureRejected("signature_file", "signature armor holds invalid base64") from None


def parse(text: str | bytes) -> SshSignature:
    raw = dearmor(text)
    try:
        reader = Reader(raw, "SSH signature")
        if reader.take(len(MAGIC)) != MAGIC:
            raise SignatureRejected("signature_file", "not an SSHSIG signature (bad magic)")
        version = reader.uint32()
        if version != VERSION:
            raise SignatureRejected(
                "signature_file", f"SSHSIG version {version}, expected {VERSION}"
            )
        key_blob = reader.string()
        namespace = reader.text()
        reader.string()  # reserved
        hash_algorithm = reader.text()
        signature = reader.string()
        reader.finish()
        algorithm = Reader(signature, "signature").text()
    except WireError as exc:
        raise SignatureRejected("signature_file", f"malformed SSHSIG signature: {exc}") from None
    try:
        key = PublicKey.from_blob(key_blob)
    except SigningKeyError as exc:
        raise SignatureRejected(
            "key_type", f"signed with an unsupported key: {exc.message}"
        ) from None
    return SshSignature(key, namespace, hash_algorithm, algorithm, signature)


def verify(sig: SshSignature, message: bytes, namespace: str = NAMESPACE) -> None:
    """Raise SignatureRejected unless `sig` is a valid signature of `message` in `namespace`."""
    check_namespace(sig, namespace)
    check_algorithms(sig)
    check_signature(sig, message)


def check_namespace(sig: SshSignature, namespace: str = NAMESPACE) -> None:
    if sig.namespace != namespace:
        raise SignatureRejected(
            "namespace",
            f"signature namespace is {sig.namespace!r}, expected {namespace!r} "
            "(a signature made for another purpose)",
        )


def check_signature(sig: SshSignature, message: bytes) -> None:
    """The cryptographic check alone (in the signature's own namespace); call check_algorithms
    first."""
    data = signed_data(sig.namespace, sig.hash_algorithm, message)
    key = sig.public_key.crypto()
    try:
        reader = Reader(sig.signature, "signature")
        reader.text()
        raw = reader.string()
        reader.finish()
        if isinstance(key, ed25519.Ed25519PublicKey):
            key.verify(raw, data)
        elif isinstance(key, ec.EllipticCurvePublicKey):
            inner = Reader(raw, "ECDSA signature")
            r, s = inner.mpint(), inner.mpint()
            inner.finish()
            key.verify(
                encode_dss_signature(r, s), data, ec.ECDSA(ECDSA_CURVES[sig.public_key.key_type][2])
            )
        else:
            size = (key.key_size + 7) // 8
            if len(raw) > size:
                raise InvalidSignature()
            key.verify(raw.rjust(size, b"\x00"), data, PKCS1v15(), RSA_ALGORITHMS[sig.algorithm])
    except (InvalidSignature, WireError):
        raise SignatureRejected(
            "signature",
            "signature does not match the decision file's bytes "
            "(the file or the signature was changed after signing)",
        ) from None


def check_algorithms(sig: SshSignature) -> None:
    if sig.hash_algorithm not in HASHES:
        raise SignatureRejected(
            "hash_algorithm",
            f"unsupported SSHSIG hash algorithm {sig.hash_algorithm!r} (sha512 or sha256)",
        )
    key_type = sig.public_key.key_type
    if key_type == RSA:
        if sig.algorithm == "ssh-rsa":
            raise SignatureRejected(
                "ssh_rsa_sha1",
                "signature uses ssh-rsa (RSA with SHA-1), which is refused; "
                "re-sign with rsa-sha2-512 (any current ssh-keygen or evaltui does)",
            )
        if sig.algorithm not in RSA_ALGORITHMS:
            raise SignatureRejected(
                "algorithm", f"unsupported RSA signature algorithm {sig.algorithm!r}"
            )
    elif sig.algorithm != key_type:
        raise SignatureRejected(
            "algorithm", f"signature algorithm {sig.algorithm!r} does not fit a {key_type} key"
        )
