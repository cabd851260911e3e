"""Choosing and loading the signing key: passphrases, permissions, PEM files, ssh-agent."""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from evaltui.decision import sshsig
from evaltui.decision.keys import (
    KeyNotFound,
    KeyPermissionsTooOpen,
    PassphraseRequired,
    UnsupportedKey,
    WrongPassphrase,
    available_keys,
    load_signer,
)
from evaltui.decision.sshwire import string
from tests.decision_support import (
    agent_add,
    damage_public_key_header,
    make_key,
    require_openssh,
    running_agent,
)


def _roundtrip(signer: object) -> None:
    text = sshsig.sign(b"payload", signer)  # type: ignore[arg-type]
    sshsig.verify(sshsig.parse(text), b"payload")


def test_passphrase_key_needs_the_passphrase(tmp_path: Path) -> None:
    key = make_key(tmp_path, "id", passphrase="correct horse")
    with pytest.raises(PassphraseRequired) as caught:
        load_signer(key, use_agent=False)
    assert caught.value.path == str(key)
    assert "passphrase" in str(caught.value)
    with pytest.raises(WrongPassphrase, match="wrong passphrase"):
        load_signer(key, "battery staple", use_agent=False)
    signer = load_signer(key, "correct horse", use_agent=False)
    assert signer.public_key.comment == "alice@example.com"
    _roundtrip(signer)


@pytest.mark.parametrize("kind", ["ecdsa256", "rsa"])
def test_pem_private_keys_from_ssh_keygen(tmp_path: Path, kind: str) -> None:
    key = make_key(tmp_path, "id", kind, pem=True)
    assert "OPENSSH" not in key.read_text().splitlines()[0]
    _roundtrip(load_signer(key, use_agent=False))


def test_encrypted_pkcs8_key(tmp_path: Path) -> None:
    private = ed25519.Ed25519PrivateKey.generate()
    key = tmp_path / "id.pem"
    key.write_bytes(
        private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"pw"),
        )
    )
    key.chmod(0o600)
    with pytest.raises(PassphraseRequired):
        load_signer(key, use_agent=False)
    with pytest.raises(WrongPassphrase):
        load_signer(key, "nope", use_agent=False)
    _roundtrip(load_signer(key, "pw", use_agent=False))


def test_missing_key(tmp_path: Path) -> None:
    with pytest.raises(KeyNotFound, match="key file not found") as caught:
        load_signer(tmp_path / "nope", use_agent=False)
    assert caught.value.path == str(tmp_path / "nope")


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604])
def test_group_or_world_readable_key_is_refused(tmp_path: Path, mode: int) -> None:
    key = make_key(tmp_path, "id")
    key.chmod(mode)
    with pytest.raises(KeyPermissionsTooOpen) as caught:
        load_signer(key, use_agent=False)
    assert f"{mode:04o}" in str(caught.value)
    assert "chmod 600" in str(caught.value)
    key.chmod(0o600)
    _roundtrip(load_signer(key, use_agent=False))


def test_not_a_key_file(tmp_path: Path) -> None:
    junk = tmp_path / "junk"
    junk.write_text("hello\n")
    junk.chmod(0o600)
    with pytest.raises(UnsupportedKey):
        load_signer(junk, use_agent=False)


@pytest.mark.parametrize(
    ("key_type", "expected"),
    [
        ("ssh-dss", "DSA keys are not supported"),
        ("sk-ssh-ed25519@openssh.com", "FIDO security keys"),
        ("ssh-ed25519-cert-v01@openssh.com", "certificates are not supported"),
    ],
)
def test_unsupported_key_types_are_named(tmp_path: Path, key_type: str, expected: str) -> None:
    blob = string(key_type) + string(b"\x01" * 32)
    pub = tmp_path / "k.pub"
    pub.write_text(f"{key_type} {base64.b64encode(blob).decode()} x\n")
    with pytest.raises(UnsupportedKey, match=expected):
        load_signer(pub, use_agent=False)


def test_public_key_without_agent_is_explained(tmp_path: Path) -> None:
    key = make_key(tmp_path, "id")
    with pytest.raises(KeyNotFound, match="ssh-agent"):
        load_signer(key.with_name("id.pub"), use_agent=False)


def test_encrypted_key_file_signs_through_the_agent_without_passphrase(tmp_path: Path) -> None:
    keygen = require_openssh()
    key = make_key(tmp_path, "id", passphrase="s3cret")
    plain = tmp_path / "plain"
    shutil.copy(key, plain)
    plain.chmod(0o600)
    subprocess.run(
        [keygen, "-q", "-p", "-P", "s3cret", "-N", "", "-f", str(plain)],
        check=True,
        capture_output=True,
    )
    with running_agent(tmp_path) as sock:
        agent_add(sock, plain)
        signer = load_signer(key, agent_sock=sock)  # no passphrase: the agent holds the key
        assert signer.source.startswith("ssh-agent")
        _roundtrip(signer)
        pub_signer = load_signer(key.with_name("id.pub"), agent_sock=sock)
        assert pub_signer.public_key.blob == signer.public_key.blob
        other = make_key(tmp_path, "other")
        with pytest.raises(KeyNotFound, match="does not hold"):
            load_signer(other.with_name("other.pub"), agent_sock=sock)
        # a key file the agent does not hold is read from disk
        assert load_signer(other, agent_sock=sock).source.startswith("key file")


def test_default_key_from_agent_or_home(tmp_path: Path) -> None:
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    with pytest.raises(KeyNotFound, match="no signing key"):
        load_signer(None, use_agent=False, home=home)
    make_key(home / ".ssh", "id_ecdsa", "ecdsa256")
    assert (
        load_signer(None, use_agent=False, home=home).public_key.key_type == "ecdsa-sha2-nistp256"
    )
    with running_agent(tmp_path) as sock:
        first = make_key(tmp_path, "a")
        agent_add(sock, first)
        chosen = load_signer(None, agent_sock=sock, home=home)
        assert chosen.source.startswith("ssh-agent")
        agent_add(sock, make_key(tmp_path, "b"))
        with pytest.raises(KeyNotFound, match="holds 2 keys"):
            load_signer(None, agent_sock=sock, home=home)


def test_agent_socket_that_does_not_exist(tmp_path: Path) -> None:
    key = make_key(tmp_path, "id")
    # a private key file still signs when the agent is unreachable (the agent is only a shortcut)
    assert load_signer(key, agent_sock=str(tmp_path / "gone.sock")).source.startswith("key file")
    from evaltui.decision.agent import AgentError

    with pytest.raises(AgentError, match="no ssh-agent listens"):
        load_signer(key.with_name("id.pub"), agent_sock=str(tmp_path / "gone.sock"))


def test_available_keys_for_the_chooser(tmp_path: Path) -> None:
    home = tmp_path / "home"
    ssh = home / ".ssh"
    ssh.mkdir(parents=True)
    plain = make_key(ssh, "id_ed25519")
    locked = make_key(ssh, "id_ecdsa", "ecdsa256", passphrase="pw")
    (ssh / "known_hosts.pub").write_text("not a key\n")  # skipped, no private twin, not a key
    agent_only = make_key(tmp_path, "agent_only", comment="bot@ci")
    with running_agent(tmp_path) as sock:
        agent_add(sock, plain)
        agent_add(sock, agent_only)
        choices = available_keys(agent_sock=sock, home=home)
        by_path = {c.path: c for c in choices}
        assert set(by_path) == {ssh / "id_ecdsa", ssh / "id_ed25519", None}
        assert (
            by_path[ssh / "id_ed25519"].in_agent
            and not by_path[ssh / "id_ed25519"].needs_passphrase
        )
        assert by_path[locked].needs_passphrase and by_path[locked].encrypted
        assert by_path[None].public_key.comment == "bot@ci"
        with pytest.raises(PassphraseRequired):
            by_path[locked].signer()
        for choice in choices:
            _roundtrip(choice.signer("pw" if choice.needs_passphrase else None))
    assert [c.path for c in available_keys(use_agent=False, home=home)] == [
        ssh / "id_ecdsa",
        ssh / "id_ed25519",
    ]


def test_damaged_public_key_header_is_a_key_error(tmp_path: Path) -> None:
    key = make_key(tmp_path, "id")
    key.with_name("id.pub").unlink()
    damage_public_key_header(key)
    with pytest.raises(UnsupportedKey, match="not an SSH public key"):
        load_signer(key, use_agent=False)
