"""A minimal ssh-agent client: list the agent's keys and ask it to sign (draft-miller-ssh-agent).

Signing through the agent keeps the private key (and its passphrase) out of evaltui entirely.
Only the two requests SSHSIG needs are implemented; every reply is length-checked.
"""

from __future__ import annotations

import os
import socket
import struct
from dataclasses import dataclass

from evaltui.decision.sshwire import Reader, WireError, string, uint32
from evaltui.errors import InputError

AUTH_SOCK_ENV = "SSH_AUTH_SOCK"

SSH_AGENT_FAILURE = 5
SSH2_AGENTC_REQUEST_IDENTITIES = 11
SSH2_AGENT_IDENTITIES_ANSWER = 12
SSH2_AGENTC_SIGN_REQUEST = 13
SSH2_AGENT_SIGN_RESPONSE = 14
SSH_AGENT_RSA_SHA2_256 = 2
SSH_AGENT_RSA_SHA2_512 = 4

MAX_REPLY = 256 * 1024
TIMEOUT_SECONDS = 30.0  # a confirm-on-use agent (ssh-add -c) waits for the user


class AgentError(InputError):
    """The agent is unreachable, refused, or answered nonsense."""


@dataclass(frozen=True, slots=True)
class AgentIdentity:
    blob: bytes
    comment: str


def agent_socket(explicit: str | None = None) -> str | None:
    """The agent socket to use: the explicit one, else SSH_AUTH_SOCK, else None."""
    return explicit or os.environ.get(AUTH_SOCK_ENV) or None


class AgentClient:
    def __init__(self, path: str) -> None:
        self.path = path

    def identities(self) -> list[AgentIdentity]:
        kind, body = self._request(bytes([SSH2_AGENTC_REQUEST_IDENTITIES]))
        if kind != SSH2_AGENT_IDENTITIES_ANSWER:
            raise AgentError(self.path, f"ssh-agent refused to list its keys (reply {kind})")
        try:
            reader = Reader(body, "ssh-agent identities answer")
            count = reader.uint32()
            out = []
            for _ in range(count):
                blob = reader.string()
                comment = reader.string().decode("utf-8", errors="replace")
                out.append(AgentIdentity(blob, comment))
            reader.finish()
        except WireError as exc:
            raise AgentError(self.path, f"ssh-agent sent a malformed key list: {exc}") from None
        return out

    def sign(self, key_blob: bytes, data: bytes, flags: int = 0) -> bytes:
        """The SSH signature blob (string algorithm, string signature) over `data`."""
        request = (
            bytes([SSH2_AGENTC_SIGN_REQUEST]) + string(key_blob) + string(data) + uint32(flags)
        )
        kind, body = self._request(request)
        if kind == SSH_AGENT_FAILURE:
            raise AgentError(
                self.path,
                "ssh-agent refused to sign (the key may need confirmation, or it was removed)",
            )
        if kind != SSH2_AGENT_SIGN_RESPONSE:
            raise AgentError(self.path, f"ssh-agent answered a sign request with message {kind}")
        try:
            reader = Reader(body, "ssh-agent sign response")
            blob = reader.string()
            reader.finish()
        except WireError as exc:
            raise AgentError(self.path, f"ssh-agent sent a malformed signature: {exc}") from None
        return blob

    def _request(self, message: bytes) -> tuple[int, bytes]:
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
                sock.settimeout(TIMEOUT_SECONDS)
                sock.connect(self.path)
                sock.sendall(uint32(len(message)) + message)
                (length,) = struct.unpack(">I", _recv_exact(sock, 4))
                if length == 0 or length > MAX_REPLY:
                    raise AgentError(self.path, f"ssh-agent sent a reply of {length} bytes")
                reply = _recv_exact(sock, length)
        except FileNotFoundError:
            raise AgentError(
                self.path, f"no ssh-agent listens here ({AUTH_SOCK_ENV} points to a missing socket)"
            ) from None
        except OSError as exc:  # ConnectionError and TimeoutError included
            reason = exc.strerror or str(exc) or type(exc).__name__
            raise AgentError(self.path, f"cannot talk to ssh-agent: {reason}") from None
        return reply[0], reply[1:]


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    chunks = []
    while n:
        chunk = sock.recv(n)
        if not chunk:
            raise ConnectionError("ssh-agent closed the connection")
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)
