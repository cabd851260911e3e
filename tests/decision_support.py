"""Helpers for the decision tests: real keys from ssh-keygen, a real ssh-agent, allowed_signers."""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from evaltui.decision.sshwire import Reader, string, uint32

SSH_KEYGEN = shutil.which("ssh-keygen")
SSH_AGENT = shutil.which("ssh-agent")
SSH_ADD = shutil.which("ssh-add")

# (ssh-keygen -t, -b) for every key kind evaltui signs with
KEY_KINDS = {
    "ed25519": ("ed25519", None),
    "ecdsa256": ("ecdsa", "256"),
    "ecdsa384": ("ecdsa", "384"),
    "ecdsa521": ("ecdsa", "521"),
    "rsa": ("rsa", "3072"),
}


def require_openssh() -> str:
    if SSH_KEYGEN is None:
        pytest.fail("ssh-keygen is required for the decision tests (install openssh-client)")
    return SSH_KEYGEN


def make_key(
    folder: Path,
    name: str,
    kind: str = "ed25519",
    *,
    comment: str = "alice@example.com",
    passphrase: str = "",
    pem: bool = False,
) -> Path:
    keygen = require_openssh()
    key_type, bits = KEY_KINDS[kind]
    path = folder / name
    args = [keygen, "-q", "-t", key_type, "-N", passphrase, "-C", comment, "-f", str(path)]
    if bits:
        args += ["-b", bits]
    if pem:
        args += ["-m", "PEM"]
    subprocess.run(args, check=True, capture_output=True)
    return path


SIGNING_ENV = (
    "SSH_AUTH_SOCK",
    "EVALTUI_REVIEWER",
    "EVALTUI_SIGNING_KEY",
    "EVALTUI_ALLOWED_SIGNERS",
    "EVALTUI_KEY_PASSPHRASE",
)


def ssh_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, comment: str = "alice@example.com"
) -> Path:
    """A home folder with ~/.ssh/id_ed25519 (`comment`) as HOME, no agent and no signing
    defaults from the environment."""
    folder = tmp_path / "home"
    (folder / ".ssh").mkdir(parents=True)
    (folder / ".ssh").chmod(0o700)
    make_key(folder / ".ssh", "id_ed25519", comment=comment)
    monkeypatch.setenv("HOME", str(folder))
    for name in SIGNING_ENV:
        monkeypatch.delenv(name, raising=False)
    return folder


def public_line(key: Path) -> str:
    return " ".join(key.with_name(key.name + ".pub").read_text().split()[:2])


def write_allowed_signers(path: Path, *lines: str) -> Path:
    path.write_text("".join(line + "\n" for line in lines))
    return path


def keygen_sign(key: Path, message: Path, namespace: str = "evaltui-decision") -> Path:
    """Sign `message` with `ssh-keygen -Y sign`; returns the .sig path."""
    keygen = require_openssh()
    subprocess.run(
        [keygen, "-Y", "sign", "-f", str(key), "-n", namespace, str(message)],
        check=True,
        capture_output=True,
        stdin=subprocess.DEVNULL,
    )
    return message.with_name(message.name + ".sig")


def keygen_verify(
    allowed: Path,
    principal: str,
    signature: Path,
    message: Path,
    namespace: str = "evaltui-decision",
) -> subprocess.CompletedProcess[bytes]:
    keygen = require_openssh()
    with message.open("rb") as handle:
        return subprocess.run(
            [
                keygen,
                "-Y",
                "verify",
                "-f",
                str(allowed),
                "-I",
                principal,
                "-n",
                namespace,
                "-s",
                str(signature),
            ],
            stdin=handle,
            capture_output=True,
        )


@contextmanager
def running_agent(folder: Path) -> Iterator[str]:
    """A private ssh-agent in the foreground (-D), stopped by its own process handle."""
    if SSH_AGENT is None or SSH_ADD is None:
        pytest.fail("ssh-agent and ssh-add are required for the agent tests")
    sock = folder / "agent.sock"
    proc = subprocess.Popen(
        [SSH_AGENT, "-D", "-s", "-a", str(sock)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    assert proc.stdout is not None
    try:
        # it prints `SSH_AUTH_SOCK=...; export SSH_AUTH_SOCK;` once the socket is bound (or exits)
        first = proc.stdout.readline()
        if not first.startswith(b"SSH_AUTH_SOCK=") or not sock.exists():
            pytest.fail(f"ssh-agent did not start: {first!r}")
        yield str(sock)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        proc.stdout.close()


def agent_add(sock: str, key: Path) -> None:
    assert SSH_ADD is not None
    env = {**os.environ, "SSH_AUTH_SOCK": sock}
    subprocess.run(
        [SSH_ADD, "-q", str(key)],
        check=True,
        capture_output=True,
        env=env,
        stdin=subprocess.DEVNULL,
    )


@dataclass
class SignedDecision:
    """A decision on the example's run_003, signed with a fresh key, and who may sign it."""

    decision: Path
    signature: Path
    allowed: Path
    key: Path
    folder: Path


def sign_sample_decision(store: Path, folder: Path) -> SignedDecision:
    """Decide on run_003 of the example in `store` as alice, signing with a new key in `folder`."""
    from evaltui.decision.draft import prepare
    from evaltui.decision.keys import load_signer
    from evaltui.decision.record import DecisionChoices, build_record
    from evaltui.decision.writer import sign_and_write
    from evaltui.store.connection import Store

    key = make_key(folder, "alice")
    with Store.open(store, read_only=True) as opened:
        draft = prepare(opened.con, "run_003")
    record = build_record(
        draft,
        DecisionChoices(
            rollback_artifact="ci-answerer-v1",
            rollback_external=True,
            limitation="requires production review and monitored canary",
            reviewer="alice@example.com",
            chosen_explicitly=True,
        ),
    )
    written = sign_and_write(record, load_signer(key, use_agent=False), folder / "out", name="d")
    allowed = write_allowed_signers(
        folder / "allowed_signers", f"alice@example.com {public_line(key)}"
    )
    return SignedDecision(written.json_path, written.sig_path, allowed, key, folder)


def resign(signed: SignedDecision, data: bytes, key: Path | None = None) -> None:
    """Replace the decision with other bytes and a valid signature over them (by `key`)."""
    from evaltui.decision import sshsig
    from evaltui.decision.keys import load_signer

    signed.decision.chmod(0o644)
    signed.decision.write_bytes(data)
    signed.signature.unlink()
    signed.signature.write_text(sshsig.sign(data, load_signer(key or signed.key, use_agent=False)))


def damage_public_key_header(key: Path) -> None:
    """Replace the public key blob in an OpenSSH private key file's header with a truncated one."""
    lines = key.read_text().strip().splitlines()
    raw = base64.b64decode("".join(lines[1:-1]))
    reader = Reader(raw)
    magic = reader.take(len(b"openssh-key-v1\x00"))
    cipher, kdf, options = reader.string(), reader.string(), reader.string()
    count = reader.uint32()
    reader.string()  # the public key blob, replaced below
    rest = reader.take(reader.remaining)
    broken = string(b"\x00\x00\x00\x40ssh-ed25519")  # its key type's length runs past the end
    damaged = magic + string(cipher) + string(kdf) + string(options) + uint32(count) + broken + rest
    encoded = base64.b64encode(damaged).decode()
    body = [encoded[i : i + 70] for i in range(0, len(encoded), 70)]
    key.write_text("\n".join([lines[0], *body, lines[-1]]) + "\n")
    key.chmod(0o600)
