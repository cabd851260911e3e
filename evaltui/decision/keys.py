"""SSH keys for signing decisions: public key blobs, private key files, ssh-agent, and their errors.

`load_signer()` is the one entry point. It picks the signing key the way a reviewer expects:
the key file named (or the one ssh-agent holds), through the agent when the agent has that key
(no passphrase then), else by reading the private key file with `cryptography`. Every way this
can go wrong that a reviewer can fix is its own exception type with a one-line message, so the
CLI and the app can react to each, above all `PassphraseRequired`, which means "ask for the
passphrase and call again".

Supported: Ed25519, ECDSA (P-256, P-384, P-521) and RSA (signing with rsa-sha2-512), in OpenSSH
or PEM private key files. Refused with a clear message: DSA, FIDO (sk-*) keys, certificates,
RSA under 1024 bits (OpenSSH's own floor), and private key files others can read.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from evaltui.decision.agent import (
    SSH_AGENT_RSA_SHA2_512,
    AgentClient,
    AgentError,
    AgentIdentity,
    agent_socket,
)
from evaltui.decision.sshwire import Reader, WireError, mpint, string
from evaltui.errors import InputError
from evaltui.safe_files import read_regular

ED25519 = "ssh-ed25519"
RSA = "ssh-rsa"
ECDSA_CURVES: dict[str, tuple[str, ec.EllipticCurve, hashes.HashAlgorithm]] = {
    "ecdsa-sha2-nistp256": ("nistp256", ec.SECP256R1(), hashes.SHA256()),
    "ecdsa-sha2-nistp384": ("nistp384", ec.SECP384R1(), hashes.SHA384()),
    "ecdsa-sha2-nistp521": ("nistp521", ec.SECP521R1(), hashes.SHA512()),
}
KEY_TYPES = (ED25519, *ECDSA_CURVES, RSA)
RSA_MIN_BITS = 1024  # OpenSSH's SSH_RSA_MINIMUM_MODULUS_SIZE
RSA_SIGNATURE_ALGORITHM = "rsa-sha2-512"
DEFAULT_KEY_FILES = ("id_ed25519", "id_ecdsa", "id_rsa")

_OPENSSH_MAGIC = b"openssh-key-v1\x00"
_OPENSSH_BEGIN = "-----BEGIN OPENSSH PRIVATE KEY-----"
_OPENSSH_END = "-----END OPENSSH PRIVATE KEY-----"


class SigningKeyError(InputError):
    """A problem with the signing key that the reviewer can fix."""


class KeyNotFound(SigningKeyError):
    pass


class PassphraseRequired(SigningKeyError):
    """The private key is encrypted and no passphrase was given: ask for one and try again."""


class WrongPassphrase(SigningKeyError):
    pass


class KeyPermissionsTooOpen(SigningKeyError):
    pass


class UnsupportedKey(SigningKeyError):
    pass


# -- public keys ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PublicKey:
    """An SSH public key as its wire blob, which is what signatures and allowed_signers carry."""

    blob: bytes
    key_type: str
    comment: str = ""

    @classmethod
    def from_blob(cls, blob: bytes, comment: str = "", where: str | None = None) -> PublicKey:
        try:
            key_type = Reader(blob, "public key").text()
        except WireError as exc:
            raise UnsupportedKey(where, f"not an SSH public key: {exc}") from None
        if key_type not in KEY_TYPES:
            raise UnsupportedKey(where, unsupported_key_message(key_type))
        key = cls(blob, key_type, comment)
        key.crypto(where)  # validates the blob
        return key

    @classmethod
    def from_openssh(cls, text: str, where: str | None = None) -> PublicKey:
        """From `type base64 [comment]`, the format of .pub files and authorized_keys."""
        parts = text.strip().split(None, 2)
        if len(parts) < 2:
            raise UnsupportedKey(
                where, "not an SSH public key line (expected `type base64 [comment]`)"
            )
        blob = _b64(parts[1], where)
        key = cls.from_blob(blob, parts[2] if len(parts) > 2 else "", where)
        if key.key_type != parts[0]:
            raise UnsupportedKey(where, f"key says {parts[0]} but its data is {key.key_type}")
        return key

    @property
    def fingerprint(self) -> str:
        """As `ssh-keygen -l` prints it: SHA256:<unpadded base64>."""
        digest = base64.b64encode(hashlib.sha256(self.blob).digest()).decode().rstrip("=")
        return f"SHA256:{digest}"

    @property
    def default_reviewer(self) -> str:
        """The reviewer a signature defaults to: the key's comment when it is one word (e.g.
        alice@example.com), else "" (the reviewer must then be named)."""
        comment = self.comment.strip()
        return comment if comment and len(comment.split()) == 1 else ""

    @property
    def short_type(self) -> str:
        return {ED25519: "ED25519", RSA: "RSA"}.get(self.key_type, "ECDSA")

    def openssh(self) -> str:
        line = f"{self.key_type} {base64.b64encode(self.blob).decode()}"
        return f"{line} {self.comment}" if self.comment else line

    def describe(self) -> str:
        bits = self.bits()
        return f"{self.short_type}{f' {bits}' if bits else ''} key {self.fingerprint}"

    def bits(self) -> int | None:
        key = self.crypto()
        if isinstance(key, rsa.RSAPublicKey):
            return key.key_size
        if isinstance(key, ec.EllipticCurvePublicKey):
            return key.curve.key_size
        return None

    def crypto(
        self, where: str | None = None
    ) -> ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey | rsa.RSAPublicKey:
        line = f"{self.key_type} {base64.b64encode(self.blob).decode()}".encode()
        try:
            key = serialization.load_ssh_public_key(line)
        except (ValueError, UnsupportedAlgorithm) as exc:
            raise UnsupportedKey(where, f"invalid {self.key_type} public key: {exc}") from None
        if isinstance(key, rsa.RSAPublicKey) and key.key_size < RSA_MIN_BITS:
            raise UnsupportedKey(
                where, f"RSA key of {key.key_size} bits is too small (OpenSSH needs {RSA_MIN_BITS})"
            )
        if not isinstance(
            key, ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey | rsa.RSAPublicKey
        ):
            raise UnsupportedKey(where, unsupported_key_message(self.key_type))
        return key


def unsupported_key_message(key_type: str) -> str:
    if key_type.endswith("-cert-v01@openssh.com"):
        return f"{key_type}: SSH certificates are not supported; sign with the plain key"
    if key_type.startswith("sk-"):
        return f"{key_type}: FIDO security keys (sk-*) are not supported; use an Ed25519 key file"
    if key_type == "ssh-dss":
        return "ssh-dss: DSA keys are not supported (OpenSSH disabled them); use an Ed25519 key"
    return f"key type {key_type!r} is not supported (use Ed25519, ECDSA or RSA)"


def public_key_of(private: object) -> PublicKey:
    if not isinstance(
        private, ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
    ):
        kind = type(private).__name__.replace("PrivateKey", "").lstrip("_")
        raise UnsupportedKey(None, f"{kind} keys are not supported (use Ed25519, ECDSA or RSA)")
    line = private.public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    )
    return PublicKey.from_openssh(line.decode())


# -- signers --------------------------------------------------------------------------------------


class Signer(Protocol):
    """Something that makes SSH signatures with one key."""

    @property
    def public_key(self) -> PublicKey: ...

    @property
    def source(self) -> str: ...

    def sign(self, data: bytes) -> bytes:
        """The SSH signature blob (string algorithm, string signature) over `data`."""
        ...


class FileSigner:
    def __init__(
        self,
        path: Path | None,
        private: ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey,
        public_key: PublicKey,
    ) -> None:
        self.path = path
        self._private = private
        self._public = public_key

    @property
    def public_key(self) -> PublicKey:
        return self._public

    @property
    def source(self) -> str:
        return f"key file {self.path}" if self.path else "key in memory"

    def sign(self, data: bytes) -> bytes:
        key = self._private
        if isinstance(key, ed25519.Ed25519PrivateKey):
            return string(ED25519) + string(key.sign(data))
        if isinstance(key, ec.EllipticCurvePrivateKey):
            name = self._public.key_type
            r, s = decode_dss_signature(key.sign(data, ec.ECDSA(ECDSA_CURVES[name][2])))
            return string(name) + string(mpint(r) + mpint(s))
        signature = key.sign(data, PKCS1v15(), hashes.SHA512())
        return string(RSA_SIGNATURE_ALGORITHM) + string(signature)


class AgentSigner:
    def __init__(self, client: AgentClient, public_key: PublicKey) -> None:
        self.client = client
        self._public = public_key

    @property
    def public_key(self) -> PublicKey:
        return self._public

    @property
    def source(self) -> str:
        return f"ssh-agent ({self.client.path})"

    def sign(self, data: bytes) -> bytes:
        flags = SSH_AGENT_RSA_SHA2_512 if self._public.key_type == RSA else 0
        blob = self.client.sign(self._public.blob, data, flags)
        algorithm = _signature_algorithm(blob)
        if self._public.key_type == RSA and algorithm != RSA_SIGNATURE_ALGORITHM:
            raise UnsupportedKey(
                self.client.path,
                f"ssh-agent signed with {algorithm} instead of rsa-sha2-512 "
                "(ssh-rsa is SHA-1 and is refused); use a newer agent or an Ed25519 key",
            )
        return blob


def _signature_algorithm(blob: bytes) -> str:
    try:
        return Reader(blob, "signature").text()
    except WireError:
        return "(unreadable)"


# -- choosing and loading the key -----------------------------------------------------------------


def load_signer(
    key_path: Path | str | None = None,
    passphrase: str | bytes | None = None,
    *,
    use_agent: bool = True,
    agent_sock: str | None = None,
    home: Path | None = None,
) -> Signer:
    """The signer for `key_path` (a private key file, or a .pub file of a key ssh-agent holds).

    Without `key_path`: the one key ssh-agent holds, else the first of ~/.ssh/id_ed25519,
    id_ecdsa, id_rsa. With an agent that holds the named key, the agent signs and the private
    key file is never decrypted. Raises PassphraseRequired when the key file is encrypted and no
    passphrase was given; the caller asks for one and calls again.
    """
    sock = agent_socket(agent_sock) if use_agent else None
    client = AgentClient(sock) if sock else None
    if key_path is None:
        return _default_signer(client, passphrase, home)
    path = Path(key_path).expanduser()
    data = _read_key_file(path)
    text = data.decode("utf-8", errors="replace").lstrip()
    if _looks_public(text):
        public = PublicKey.from_openssh(text.splitlines()[0], str(path))
        if client is None:
            raise KeyNotFound(
                path,
                "is a public key; signing with it needs ssh-agent holding its private key "
                "(SSH_AUTH_SOCK is not set), or name the private key file instead",
            )
        if not _agent_has(client, public):
            raise KeyNotFound(
                path,
                f"ssh-agent does not hold this key ({public.fingerprint}); "
                "add it with `ssh-add PRIVATE_KEY`, or name the private key file",
            )
        return AgentSigner(client, public)
    check_permissions(path)
    known = _public_key_without_decrypting(path, data)
    if client is not None and known is not None and _agent_has(client, known, quiet=True):
        return AgentSigner(client, known)
    return _file_signer(path, data, passphrase, known)


def check_permissions(path: Path) -> None:
    """Refuse a private key others can read, as OpenSSH does ("UNPROTECTED PRIVATE KEY FILE")."""
    if os.name != "posix":
        return
    info = path.stat()
    mode = stat.S_IMODE(info.st_mode)
    if info.st_uid == os.getuid() and mode & 0o077:
        raise KeyPermissionsTooOpen(
            path,
            f"permissions {mode:04o} are too open: a private key must not be readable by group or "
            f"others (OpenSSH refuses it too); run `chmod 600 {path}`",
        )


def _default_signer(
    client: AgentClient | None, passphrase: str | bytes | None, home: Path | None
) -> Signer:
    if client is not None:
        identities = [i for i in _identities(client, quiet=True) if _usable(i)]
        if len(identities) == 1:
            return AgentSigner(
                client, PublicKey.from_blob(identities[0].blob, identities[0].comment)
            )
        if len(identities) > 1:
            listed = ", ".join(PublicKey.from_blob(i.blob).fingerprint for i in identities[:3])
            raise KeyNotFound(
                None,
                f"ssh-agent holds {len(identities)} keys "
                f"({listed}{', ...' if len(identities) > 3 else ''}); "
                "choose one with --key PATH (its private key file or .pub file)",
            )
    folder = (home or Path.home()) / ".ssh"
    for name in DEFAULT_KEY_FILES:
        candidate = folder / name
        if candidate.is_file():
            return load_signer(
                candidate,
                passphrase,
                use_agent=client is not None,
                agent_sock=client.path if client else None,
            )
    raise KeyNotFound(
        None,
        f"no signing key: pass --key PATH, or load a key into ssh-agent, or create "
        f"{folder / DEFAULT_KEY_FILES[0]} with `ssh-keygen -t ed25519`",
    )


KEY_FILE_LIMIT = 1 << 20  # an OpenSSH private key is a few KB; RSA 16384 stays far below


def _read_key_file(path: Path) -> bytes:
    try:
        data = read_regular(path, limit=KEY_FILE_LIMIT)  # a FIFO or device is refused, not read
    except InputError as exc:
        words = {"file not found": "key file not found"}
        raise KeyNotFound(path, words.get(exc.message, exc.message)) from None
    except FileNotFoundError:
        raise KeyNotFound(path, "key file not found") from None
    except IsADirectoryError:
        raise KeyNotFound(path, "is a directory, expected a key file") from None
    except PermissionError:
        raise KeyNotFound(path, "cannot read the key file (permission denied)") from None
    except OSError as exc:
        raise KeyNotFound(path, f"cannot read the key file: {exc.strerror}") from None
    if not data.strip():
        raise UnsupportedKey(path, "key file is empty")
    return data


def _looks_public(text: str) -> bool:
    first = text.split(None, 1)[0] if text.split() else ""
    return first in KEY_TYPES or first.startswith(("sk-", "ssh-", "ecdsa-"))


def _public_key_without_decrypting(path: Path, data: bytes) -> PublicKey | None:
    """The public half, read from the OpenSSH key header (never encrypted) or the .pub file."""
    comment = ""
    pub_file = path.with_name(path.name + ".pub")
    pub_text = ""
    try:
        pub_text = read_regular(pub_file, limit=KEY_FILE_LIMIT).decode("utf-8").strip()
    except (OSError, UnicodeDecodeError, InputError):
        pub_text = ""
    if pub_text:
        parts = pub_text.split(None, 2)
        comment = parts[2] if len(parts) > 2 else ""
    header = _openssh_header(path, data)
    if header is not None:  # from_blob turns a damaged blob into UnsupportedKey
        return PublicKey.from_blob(header[1], comment, str(path))
    if pub_text:
        try:
            return PublicKey.from_openssh(pub_text, str(pub_file))
        except SigningKeyError:
            return None
    return None


def _openssh_header(path: Path, data: bytes) -> tuple[str, bytes] | None:
    """(cipher name, public key blob) of an OpenSSH private key file, None for other formats."""
    text = data.decode("ascii", errors="replace").strip()
    if not text.startswith(_OPENSSH_BEGIN):
        return None
    body = text[len(_OPENSSH_BEGIN) :].split(_OPENSSH_END, 1)[0]
    raw = _b64("".join(body.split()), str(path))
    try:
        reader = Reader(raw, "OpenSSH private key")
        if reader.take(len(_OPENSSH_MAGIC)) != _OPENSSH_MAGIC:
            raise WireError("OpenSSH private key has a bad magic header")
        cipher = reader.text()
        reader.string()  # kdf name
        reader.string()  # kdf options
        if reader.uint32() != 1:
            raise WireError("OpenSSH private key file holds more than one key")
        return cipher, reader.string()
    except WireError as exc:
        raise UnsupportedKey(path, f"damaged private key file: {exc}") from None


def _file_signer(
    path: Path, data: bytes, passphrase: str | bytes | None, public: PublicKey | None
) -> FileSigner:
    password = passphrase.encode("utf-8") if isinstance(passphrase, str) else passphrase
    header = _openssh_header(path, data)
    encrypted = header is not None and header[0] != "none"
    private: object
    if encrypted and password is None:
        raise PassphraseRequired(path, "this key is protected by a passphrase")
    if header is not None and not encrypted:
        password = None  # cryptography refuses a password for an unencrypted key
    try:
        if header is not None:
            private = serialization.load_ssh_private_key(data, password)
        else:
            private = serialization.load_pem_private_key(data, password)
    except TypeError as exc:  # PEM: encrypted without a password, or a password for a plain key
        if "not encrypted" in str(exc):
            private = serialization.load_pem_private_key(data, None)
        else:
            raise PassphraseRequired(path, "this key is protected by a passphrase") from None
    except ValueError as exc:
        if password is not None and ("checksum" in str(exc) or "decrypt" in str(exc).lower()):
            raise WrongPassphrase(path, "wrong passphrase for this key") from None
        raise UnsupportedKey(path, f"cannot read the private key: {exc}") from None
    except UnsupportedAlgorithm as exc:
        raise UnsupportedKey(path, f"cannot read the private key: {exc}") from None
    loaded = public_key_of_file(path, private)
    if public is not None and loaded.blob != public.blob:
        raise UnsupportedKey(path, "the .pub file next to this key belongs to another key")
    signer_public = PublicKey(loaded.blob, loaded.key_type, public.comment if public else "")
    assert isinstance(
        private, ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
    )
    return FileSigner(path, private, signer_public)


def public_key_of_file(path: Path, private: object) -> PublicKey:
    try:
        return public_key_of(private)
    except SigningKeyError as exc:
        raise UnsupportedKey(path, exc.message) from None


def _identities(client: AgentClient, *, quiet: bool = False) -> list[AgentIdentity]:
    try:
        return client.identities()
    except AgentError:
        if quiet:
            return []
        raise


def _agent_has(client: AgentClient, key: PublicKey, *, quiet: bool = False) -> bool:
    return any(i.blob == key.blob for i in _identities(client, quiet=quiet))


def _usable(identity: AgentIdentity) -> bool:
    try:
        PublicKey.from_blob(identity.blob)
    except SigningKeyError:
        return False
    return True


def _b64(text: str, where: str | None) -> bytes:
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        raise UnsupportedKey(where, "key data is not valid base64") from None


# -- the keys a reviewer can choose from (the app's key chooser) ----------------------------------


@dataclass(frozen=True, slots=True)
class KeyChoice:
    """One signing key on offer: a key file in ~/.ssh, an agent key, or both."""

    path: Path | None  # the private key file; None for a key only the agent holds
    public_key: PublicKey
    in_agent: bool
    encrypted: bool  # the file needs a passphrase (irrelevant when the agent holds the key)
    agent_sock: str | None = None

    @property
    def needs_passphrase(self) -> bool:
        return self.encrypted and not self.in_agent

    def signer(self, passphrase: str | bytes | None = None) -> Signer:
        """Load this key; PassphraseRequired / WrongPassphrase as `load_signer`."""
        if self.path is not None:
            return load_signer(
                self.path, passphrase, use_agent=self.in_agent, agent_sock=self.agent_sock
            )
        if self.agent_sock is None:
            raise KeyNotFound(None, "this key lives in ssh-agent, which is not reachable")
        return AgentSigner(AgentClient(self.agent_sock), self.public_key)


def available_keys(
    *, use_agent: bool = True, agent_sock: str | None = None, home: Path | None = None
) -> list[KeyChoice]:
    """Key files in ~/.ssh that have a .pub beside them, then keys only ssh-agent holds.

    Never raises for a key it cannot use: such keys are just not offered.
    """
    sock = agent_socket(agent_sock) if use_agent else None
    in_agent: dict[bytes, AgentIdentity] = {}
    if sock:
        in_agent = {i.blob: i for i in _identities(AgentClient(sock), quiet=True) if _usable(i)}
    choices = []
    folder = (home or Path.home()) / ".ssh"
    try:
        pubs = sorted(folder.glob("*.pub"))
    except OSError:
        pubs = []
    for pub in pubs:
        private = pub.with_suffix("")
        try:
            if not private.is_file():
                continue
            key = PublicKey.from_openssh(pub.read_text(encoding="utf-8").strip(), str(pub))
        except (SigningKeyError, OSError, UnicodeDecodeError):
            continue
        held = in_agent.pop(key.blob, None) is not None
        choices.append(KeyChoice(private, key, held, _is_encrypted(private), sock))
    for blob, identity in in_agent.items():
        choices.append(
            KeyChoice(None, PublicKey.from_blob(blob, identity.comment), True, False, sock)
        )
    return choices


def _is_encrypted(path: Path) -> bool:
    try:
        data = path.read_bytes()
        header = _openssh_header(path, data)
    except (OSError, SigningKeyError):
        return False
    if header is not None:
        return header[0] != "none"
    return b"ENCRYPTED" in data[:200]
