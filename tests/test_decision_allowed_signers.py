"""allowed_signers: our matching agrees with `ssh-keygen -Y verify` line by line."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from evaltui.decision import sshsig
from evaltui.decision.allowed_signers import (
    SignerRejected,
    find_signer,
    match_pattern_list,
    parse_allowed_signers,
    read_allowed_signers,
)
from evaltui.errors import InputError
from tests.decision_support import (
    keygen_sign,
    keygen_verify,
    make_key,
    public_line,
    write_allowed_signers,
)

CASES = [
    ("alice@example.com {key}", None),
    ("*@example.com {key}", None),
    ("a?ice@example.com {key}", None),
    ('"bob@example.com,alice@example.com" {key} comment here', None),
    ("*@example.com,!alice@example.com {key}", "principal_mismatch"),
    ("bob@example.com {key}", "principal_mismatch"),
    ('alice@example.com namespaces="git,file" {key}', "namespace_not_allowed"),
    ('alice@example.com namespaces="evaltui-*" {key}', None),
    ('alice@example.com valid-before="20000101" {key}', "signer_expired"),
    ('alice@example.com valid-after="29990101Z" {key}', "signer_expired"),
    ('alice@example.com valid-after="20000101",valid-before="29990101" {key}', None),
    ("alice@example.com {other}", "signer_unlisted"),
    ("alice@example.com cert-authority {key}", "signer_unlisted"),
    ("# a comment\n\nbob@example.com {other}\nalice@example.com {key}", None),
]


@pytest.fixture(scope="module")
def signed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path, str, str]:
    folder = tmp_path_factory.mktemp("allowed")
    key = make_key(folder, "alice")
    other = make_key(folder, "other", "ecdsa256")
    message = folder / "m.json"
    message.write_bytes(b'{"a":1}')
    signature = keygen_sign(key, message)
    return folder, message, signature, public_line(key), public_line(other)


@pytest.mark.parametrize(("template", "code"), CASES)
def test_matching_agrees_with_ssh_keygen(
    signed: tuple[Path, Path, Path, str, str], tmp_path: Path, template: str, code: str | None
) -> None:
    _, message, signature, key, other = signed
    allowed = write_allowed_signers(tmp_path / "allowed", template.format(key=key, other=other))
    theirs = keygen_verify(allowed, "alice@example.com", signature, message)
    sig = sshsig.parse(signature.read_bytes())
    entries = read_allowed_signers(allowed)
    if code is None:
        line = find_signer(entries, sig.public_key, "alice@example.com", sshsig.NAMESPACE)
        assert line.key is not None and line.key.blob == sig.public_key.blob
        assert theirs.returncode == 0, theirs.stderr
    else:
        with pytest.raises(SignerRejected) as caught:
            find_signer(entries, sig.public_key, "alice@example.com", sshsig.NAMESPACE)
        assert caught.value.code == code
        assert theirs.returncode != 0


def test_messages_say_what_to_fix(signed: tuple[Path, Path, Path, str, str]) -> None:
    _, _, signature, key, other = signed
    sig = sshsig.parse(signature.read_bytes())
    entries = parse_allowed_signers(f"bob@example.com {key}\n", "team_signers")
    with pytest.raises(SignerRejected, match=r"listed for bob@example\.com \(team_signers:1\)"):
        find_signer(entries, sig.public_key, "alice@example.com", sshsig.NAMESPACE)
    entries = parse_allowed_signers(f"alice@example.com {other}\n", "team_signers")
    with pytest.raises(
        SignerRejected,
        match=re.escape(f"{sig.public_key.fingerprint} is not listed in team_signers"),
    ):
        find_signer(
            entries, sig.public_key, "alice@example.com", sshsig.NAMESPACE, source="team_signers"
        )
    entries = parse_allowed_signers(f"*@example.com cert-authority {key}\n", "ca")
    with pytest.raises(SignerRejected, match="cert-authority line"):
        find_signer(entries, sig.public_key, "alice@example.com", sshsig.NAMESPACE)


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("alice@example.com", "invalid line"),
        ("alice@example.com frobnicate {key}", "unknown option"),
        ("alice@example.com namespaces {key}", "needs a value"),
        ('alice@example.com valid-before="tomorrow" {key}', "YYYYMMDD"),
        ("alice@example.com ssh-ed25519 !!!!", "base64"),
    ],
)
def test_malformed_lines_name_the_line(
    signed: tuple[Path, Path, Path, str, str], line: str, problem: str
) -> None:
    key = signed[3]
    with pytest.raises(InputError, match=problem) as caught:
        parse_allowed_signers("# header\n" + line.format(key=key) + "\n", "signers")
    assert caught.value.line == 2


def test_pattern_lists() -> None:
    assert match_pattern_list("alice@example.com", "*@example.com") == 1
    assert match_pattern_list("alice@example.com", "bob@*,carol@*") == 0
    assert match_pattern_list("alice@example.com", "*,!alice@*") == -1
    assert match_pattern_list("a.b", "a?b") == 1
    assert match_pattern_list("a[b", "a[b") == 1  # brackets are literal in OpenSSH patterns
