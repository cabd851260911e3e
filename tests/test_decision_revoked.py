"""`verify --revoked FILE` means what `ssh-keygen -Y verify -r FILE` means.

Every revocation list here is made by real `ssh-keygen -k` (by key, by SHA1 and SHA256 of the key,
by fingerprint, and a certificate-only KRL by serial and key id) or is a plain public-key list;
each verdict of evaltui is compared with ssh-keygen's on the same decision, signature and file.
"""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from evaltui.decision.krl import read_revoked
from evaltui.decision.verify import verify_decision
from evaltui.errors import InputError
from tests.decision_support import SignedDecision, make_key, require_openssh, sign_sample_decision


@pytest.fixture
def signed(sample_store: Path, tmp_path: Path) -> SignedDecision:
    return sign_sample_decision(sample_store, tmp_path)


def make_krl(folder: Path, name: str, spec: str, *, ca: Path | None = None) -> Path:
    """A KRL made by `ssh-keygen -k` from a spec file (`key:`, `sha1:`, `hash:`, `serial:`...)."""
    keygen = require_openssh()
    (folder / f"{name}.spec").write_text(spec + "\n")
    args = [keygen, "-k", "-f", str(folder / name)]
    if ca is not None:
        args += ["-s", str(ca.with_name(ca.name + ".pub"))]
    subprocess.run([*args, str(folder / f"{name}.spec")], check=True, capture_output=True)
    return folder / name


def keygen_says(signed: SignedDecision, revoked: Path) -> bool:
    with signed.decision.open("rb") as message:
        done = subprocess.run(
            [
                require_openssh(),
                "-Y",
                "verify",
                "-f",
                str(signed.allowed),
                "-I",
                "alice@example.com",
                "-n",
                "evaltui-decision",
                "-s",
                str(signed.signature),
                "-r",
                str(revoked),
            ],
            stdin=message,
            capture_output=True,
        )
    return done.returncode == 0


def fingerprint(pub: Path) -> str:
    done = subprocess.run([require_openssh(), "-l", "-f", str(pub)], capture_output=True)
    return done.stdout.decode().split()[1]


@pytest.mark.parametrize(
    ("spec", "revoked"),
    [
        ("key: {pub}", True),
        ("sha1: {pub}", True),
        ("sha256: {pub}", True),
        ("hash: {fingerprint}", True),
        ("key: {other}", False),
        ("hash: {other_fingerprint}", False),
    ],
)
def test_a_krl_revokes_as_ssh_keygen_says(
    signed: SignedDecision, tmp_path: Path, spec: str, revoked: bool
) -> None:
    pub = signed.key.with_name(signed.key.name + ".pub")
    other = make_key(tmp_path, "other")
    other_pub = other.with_name("other.pub")
    text = spec.format(
        pub=pub.read_text().strip(),
        fingerprint=fingerprint(pub),
        other=other_pub.read_text().strip(),
        other_fingerprint=fingerprint(other_pub),
    )
    krl = make_krl(tmp_path, "revoked.krl", text)
    result = verify_decision(signed.decision, signed.allowed, revoked=krl)
    assert keygen_says(signed, krl) is (not revoked)
    assert result.valid is (not revoked), result.reason
    check = next(c for c in result.checks if c.name == "revocation")
    if revoked:
        assert check.code == "key_revoked"
        assert result.reason is not None and "is revoked" in result.reason
        assert str(krl) in result.reason
    else:
        assert check.status == "pass"


def test_a_certificate_only_krl_never_revokes_a_plain_key(
    signed: SignedDecision, tmp_path: Path
) -> None:
    ca = make_key(tmp_path, "ca")
    krl = make_krl(tmp_path, "serials.krl", "serial: 1-5\nserial: 9\nid: alice@example.com", ca=ca)
    assert keygen_says(signed, krl)
    assert verify_decision(signed.decision, signed.allowed, revoked=krl).valid
    assert read_revoked(krl).blobs == frozenset()


def test_a_plain_public_key_list_revokes_its_keys(signed: SignedDecision, tmp_path: Path) -> None:
    other = make_key(tmp_path, "other")
    pub = signed.key.with_name(signed.key.name + ".pub").read_text()
    listed = tmp_path / "revoked_keys"
    listed.write_text(f"# revoked\n\n{other.with_name('other.pub').read_text()}\t{pub}")
    assert not keygen_says(signed, listed)
    result = verify_decision(signed.decision, signed.allowed, revoked=listed)
    assert not result.valid
    assert result.reason is not None and "key list" in result.reason
    listed.write_text(other.with_name("other.pub").read_text())
    assert keygen_says(signed, listed)
    assert verify_decision(signed.decision, signed.allowed, revoked=listed).valid


def test_cli_verify_and_canary_check_refuse_a_revoked_key(
    run_cli, signed: SignedDecision, tmp_path: Path
) -> None:
    pub = signed.key.with_name(signed.key.name + ".pub").read_text().strip()
    krl = make_krl(tmp_path, "revoked.krl", f"key: {pub}")
    ok = run_cli("verify", signed.decision, "--allowed-signers", signed.allowed)
    assert ok.code == 0, ok.err
    done = run_cli("verify", signed.decision, "--allowed-signers", signed.allowed, "--revoked", krl)
    assert done.code == 1
    assert "rejected: the signing key SHA256:" in done.err and "is revoked" in done.err
    assert "Traceback" not in done.err
    canary = run_cli(
        "canary-check",
        signed.decision,
        "--observed",
        "unsafe_claim_served=0",
        "--allowed-signers",
        signed.allowed,
        "--revoked",
        krl,
    )
    assert canary.code != 0 and "is revoked" in canary.err
    alone = run_cli("canary-check", signed.decision, "--observed", "x=1", "--revoked", krl)
    assert alone.code == 2 and "--allowed-signers" in alone.err


@pytest.fixture
def deadline() -> Iterator[None]:
    """Fail instead of hanging (a FIFO opened for reading blocks until a writer comes)."""

    def expired(*_: object) -> None:
        raise TimeoutError("still reading the revocation list after 20 s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(20)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@pytest.mark.usefixtures("deadline")
@pytest.mark.parametrize("damage", ["truncated", "bad_section", "fifo", "missing", "garbage"])
def test_a_bad_revocation_list_is_one_line_exit_2(
    run_cli, signed: SignedDecision, tmp_path: Path, damage: str
) -> None:
    pub = signed.key.with_name(signed.key.name + ".pub").read_text().strip()
    krl = make_krl(tmp_path, "revoked.krl", f"key: {pub}")
    data = krl.read_bytes()
    bad = tmp_path / "bad.krl"
    if damage == "truncated":
        bad.write_bytes(data[:-5])
    elif damage == "bad_section":
        bad.write_bytes(data + b"\x09\x00\x00\x00\x00")
    elif damage == "fifo":
        os.mkfifo(bad)
    elif damage == "garbage":
        bad.write_text("not a key at all\n")
    if damage != "fifo":
        assert not keygen_says(signed, bad)  # ssh-keygen fails the verification on it too
    done = run_cli("verify", signed.decision, "--allowed-signers", signed.allowed, "--revoked", bad)
    assert done.code == 2, done.err
    assert done.err.count("\n") == 1 and str(bad) in done.err and "Traceback" not in done.err
    with pytest.raises(InputError):
        read_revoked(bad)
