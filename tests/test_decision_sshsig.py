"""SSHSIG interoperability with real OpenSSH: it accepts ours and we accept its, every key kind."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15

from evaltui.decision import sshsig
from evaltui.decision.keys import load_signer
from evaltui.decision.sshwire import string, uint32
from tests.decision_support import (
    KEY_KINDS,
    agent_add,
    keygen_sign,
    keygen_verify,
    make_key,
    public_line,
    running_agent,
    write_allowed_signers,
)

MESSAGE = b'{"schema":"evaltui.decision/1","note":"caf\xc3\xa9 \xe2\x9c\x93"}'


@pytest.mark.parametrize("kind", sorted(KEY_KINDS))
def test_ssh_keygen_verifies_our_signature(tmp_path: Path, kind: str) -> None:
    key = make_key(tmp_path, f"id_{kind}", kind)
    message = tmp_path / "m.decision.json"
    message.write_bytes(MESSAGE)
    signature = tmp_path / "m.decision.json.sig"
    signature.write_text(sshsig.sign(MESSAGE, load_signer(key, use_agent=False)))
    allowed = write_allowed_signers(tmp_path / "allowed", f"alice@example.com {public_line(key)}")

    done = keygen_verify(allowed, "alice@example.com", signature, message)
    assert done.returncode == 0, done.stderr
    assert b'Good "evaltui-decision" signature for alice@example.com' in done.stdout

    message.write_bytes(MESSAGE.replace(b"1", b"2"))
    assert keygen_verify(allowed, "alice@example.com", signature, message).returncode != 0


@pytest.mark.parametrize("kind", sorted(KEY_KINDS))
def test_we_verify_ssh_keygen_signature(tmp_path: Path, kind: str) -> None:
    key = make_key(tmp_path, f"id_{kind}", kind)
    message = tmp_path / "m.json"
    message.write_bytes(MESSAGE)
    sig = sshsig.parse(keygen_sign(key, message).read_bytes())
    assert sig.public_key.openssh().split()[:2] == public_line(key).split()
    assert sig.hash_algorithm == "sha512"
    if kind == "rsa":
        assert sig.algorithm == "rsa-sha2-512"
    sshsig.verify(sig, MESSAGE)
    with pytest.raises(sshsig.SignatureRejected) as caught:
        sshsig.verify(sig, MESSAGE + b" ")
    assert caught.value.code == "signature"


def test_armor_matches_ssh_keygen_layout(tmp_path: Path) -> None:
    key = make_key(tmp_path, "id", "ed25519")
    message = tmp_path / "m.json"
    message.write_bytes(MESSAGE)
    theirs = keygen_sign(key, message).read_text().splitlines()
    ours = sshsig.sign(MESSAGE, load_signer(key, use_agent=False)).splitlines()
    assert ours[0] == theirs[0] == sshsig.BEGIN
    assert ours[-1] == theirs[-1] == sshsig.END
    assert [len(line) for line in ours[1:-2]] == [len(line) for line in theirs[1:-2]]  # 70 wide
    # Ed25519 is deterministic: same key, message, namespace and hash give the same bytes
    assert ours == theirs


def test_every_flipped_byte_is_rejected(tmp_path: Path) -> None:
    key = make_key(tmp_path, "id", "ed25519")
    sig = sshsig.parse(sshsig.sign(MESSAGE, load_signer(key, use_agent=False)))
    for index in range(len(MESSAGE)):
        tampered = bytearray(MESSAGE)
        tampered[index] ^= 0x01
        with pytest.raises(sshsig.SignatureRejected) as caught:
            sshsig.verify(sig, bytes(tampered))
        assert caught.value.code == "signature", index


def test_wrong_namespace_is_rejected_by_both(tmp_path: Path) -> None:
    key = make_key(tmp_path, "id", "ed25519")
    message = tmp_path / "m.json"
    message.write_bytes(MESSAGE)
    signature = keygen_sign(key, message, namespace="git")
    with pytest.raises(sshsig.SignatureRejected) as caught:
        sshsig.verify(sshsig.parse(signature.read_bytes()), MESSAGE)
    assert caught.value.code == "namespace"
    assert "'git'" in caught.value.message
    allowed = write_allowed_signers(tmp_path / "allowed", f"alice@example.com {public_line(key)}")
    assert keygen_verify(allowed, "alice@example.com", signature, message).returncode != 0


def _ssh_rsa_sha1_signature(key_path: Path, message: bytes) -> str:
    """What an old agent would produce: an SSHSIG whose RSA signature uses SHA-1."""
    private = serialization.load_ssh_private_key(key_path.read_bytes(), None)
    public = private.public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    )
    blob = base64.b64decode(public.split()[1])
    data = sshsig.signed_data(sshsig.NAMESPACE, "sha512", message)
    raw = private.sign(data, PKCS1v15(), hashes.SHA1())  # type: ignore[union-attr,call-arg]
    body = (
        sshsig.MAGIC
        + uint32(1)
        + string(blob)
        + string(sshsig.NAMESPACE)
        + string(b"")
        + string("sha512")
        + string(string("ssh-rsa") + string(raw))
    )
    return sshsig.armor(body)


def test_ssh_rsa_sha1_signature_is_refused_by_us_and_ssh_keygen(tmp_path: Path) -> None:
    key = make_key(tmp_path, "id_rsa", "rsa")
    text = _ssh_rsa_sha1_signature(key, MESSAGE)
    with pytest.raises(sshsig.SignatureRejected) as caught:
        sshsig.verify(sshsig.parse(text), MESSAGE)
    assert caught.value.code == "ssh_rsa_sha1"
    assert "SHA-1" in caught.value.message

    message = tmp_path / "m.json"
    message.write_bytes(MESSAGE)
    signature = tmp_path / "m.json.sig"
    signature.write_text(text)
    allowed = write_allowed_signers(tmp_path / "allowed", f"alice@example.com {public_line(key)}")
    assert keygen_verify(allowed, "alice@example.com", signature, message).returncode != 0


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("not a signature", "signature_file"),
        (f"{sshsig.BEGIN}\n!!!!\n{sshsig.END}\n", "signature_file"),
        (sshsig.armor(b"SSHSIX" + uint32(1)), "signature_file"),
        (sshsig.armor(b"SSHSIG" + uint32(2)), "signature_file"),
        (sshsig.armor(b"SSHSIG" + uint32(1) + string(b"xx")), "signature_file"),
    ],
)
def test_malformed_signature_files(text: str, code: str) -> None:
    with pytest.raises(sshsig.SignatureRejected) as caught:
        sshsig.parse(text)
    assert caught.value.code == code


@pytest.mark.parametrize("kind", ["ed25519", "ecdsa384", "rsa"])
def test_agent_signature_is_accepted_by_ssh_keygen(tmp_path: Path, kind: str) -> None:
    key = make_key(tmp_path, f"id_{kind}", kind)
    message = tmp_path / "m.json"
    message.write_bytes(MESSAGE)
    with running_agent(tmp_path) as sock:
        agent_add(sock, key)
        signer = load_signer(key, agent_sock=sock)
        assert signer.source.startswith("ssh-agent")
        signature = tmp_path / "m.json.sig"
        signature.write_text(sshsig.sign(MESSAGE, signer))
    allowed = write_allowed_signers(tmp_path / "allowed", f"alice@example.com {public_line(key)}")
    done = keygen_verify(allowed, "alice@example.com", signature, message)
    assert done.returncode == 0, done.stderr
