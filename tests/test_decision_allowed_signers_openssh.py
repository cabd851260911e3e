"""allowed_signers lines that are easy to misread, each judged by evaltui and by `ssh-keygen -Y
verify` on the same file, signature and principal.

Each row is (lines, signer, outcome): "valid" and "rejected" must be what ssh-keygen says too;
"refused" is a line OpenSSH cannot parse (ssh-keygen skips it, so with nothing else in the file it
rejects the signature): evaltui refuses the file with the line named (exit 2 in the CLI).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from evaltui.decision import sshsig
from evaltui.decision.allowed_signers import SignerRejected, find_signer, read_allowed_signers
from evaltui.errors import InputError
from tests.decision_support import keygen_sign, keygen_verify, make_key, public_line

PRINCIPAL = "alice@example.com"
K = "{key}"
ROWS: list[tuple[str, str, str]] = [
    (f"alice@example.com {K}", "ed25519", "valid"),
    # comma lists: OpenSSH never trims the items
    (f'alice@example.com namespaces="git, evaltui-decision" {K}', "ed25519", "rejected"),
    (f'alice@example.com namespaces="git,evaltui-decision" {K}', "ed25519", "valid"),
    (f'"bob@example.com, alice@example.com" {K}', "ed25519", "rejected"),
    (f'"bob@example.com,alice@example.com" {K}', "ed25519", "valid"),
    (f'bob@example.com,"alice@example.com" {K}', "ed25519", "valid"),
    (f'"alice@example.com" {K}', "ed25519", "valid"),
    (f"alice@example.com, {K}", "ed25519", "valid"),
    (f'"alice@example.com {K}', "ed25519", "refused"),
    # whitespace, CRLF, comments
    (f"   alice@example.com \t  {K}   ", "ed25519", "valid"),
    (f"alice@example.com\t{K}", "ed25519", "valid"),
    (f"alice@example.com {K}\r", "ed25519", "valid"),
    (f'alice@example.com namespaces="evaltui-decision" {K}\r', "ed25519", "valid"),
    (f"alice@example.com {K} a comment, with words", "ed25519", "valid"),
    (f"# alice@example.com {K}", "ed25519", "rejected"),
    (f"  # comment\n\n\t\nalice@example.com {K}", "ed25519", "valid"),
    (f"\r\nalice@example.com {K}\r", "ed25519", "valid"),
    # patterns and negation
    (f"*@example.com {K}", "ed25519", "valid"),
    (f"* {K}", "ed25519", "valid"),
    (f"alice@example.co? {K}", "ed25519", "valid"),
    (f"ALICE@example.com {K}", "ed25519", "rejected"),
    (f"*,!alice@example.com {K}", "ed25519", "rejected"),
    (f"!alice@example.com,* {K}", "ed25519", "rejected"),
    (f"!bob@example.com {K}", "ed25519", "rejected"),
    (f"!bob@example.com,* {K}", "ed25519", "valid"),
    (f"alice@example.com,{'x' * 1022} {K}", "ed25519", "valid"),
    (f"alice@example.com,{'x' * 1023} {K}", "ed25519", "rejected"),  # an item too long: no match
    (f"{'*' * 1100},alice@example.com {K}", "ed25519", "rejected"),
    (f'alice@example.com namespaces="evaltui-*" {K}', "ed25519", "valid"),
    (f'alice@example.com namespaces="evaltui-decisio?" {K}', "ed25519", "valid"),
    (f'alice@example.com namespaces="!evaltui-decision,*" {K}', "ed25519", "rejected"),
    (f'alice@example.com namespaces="" {K}', "ed25519", "rejected"),
    # option syntax: names case-insensitive, values quoted, no stray commas
    (f'alice@example.com NAMESPACES="evaltui-decision" {K}', "ed25519", "valid"),
    (f'alice@example.com Valid-After="20000101" {K}', "ed25519", "valid"),
    (f"alice@example.com namespaces=evaltui-decision {K}", "ed25519", "refused"),
    (f'alice@example.com namespaces="evaltui-decision", {K}', "ed25519", "refused"),
    (f'alice@example.com namespaces="git",namespaces="evaltui-decision" {K}', "ed25519", "refused"),
    (f'alice@example.com namespaces="a b,evaltui-decision" {K}', "ed25519", "valid"),
    (f'alice@example.com namespaces="x\\"y,evaltui-decision" {K}', "ed25519", "valid"),
    (f'alice@example.com namespaces="evaltui-decision"x {K}', "ed25519", "refused"),
    (f"alice@example.com frobnicate {K}", "ed25519", "refused"),
    (f"alice@example.com\x00bob {K}", "ed25519", "refused"),
    (f"alice@example.com no-touch-required {K}", "ed25519", "refused"),
    (f"alice@example.com namespaces {K}", "ed25519", "refused"),
    # cert-authority never vouches for a plain key
    (f"alice@example.com cert-authority {K}", "ed25519", "rejected"),
    (f"alice@example.com CERT-AUTHORITY {K}", "ed25519", "rejected"),
    (f'alice@example.com cert-authority,namespaces="evaltui-decision" {K}', "ed25519", "rejected"),
    (f"alice@example.com cert-authority=1 {K}", "ed25519", "refused"),
    # validity times
    (f'alice@example.com valid-after="20000101Z" {K}', "ed25519", "valid"),
    (f'alice@example.com valid-after="20000101utc" {K}', "ed25519", "valid"),
    (f'alice@example.com valid-after="200001011200" {K}', "ed25519", "valid"),
    (f'alice@example.com valid-after="20000101120000Z" {K}', "ed25519", "valid"),
    (f'alice@example.com valid-before="20000101" {K}', "ed25519", "rejected"),
    (f'alice@example.com valid-after="29990101" {K}', "ed25519", "rejected"),
    (f'alice@example.com valid-after="2000010112" {K}', "ed25519", "refused"),
    (f'alice@example.com valid-after="yesterday" {K}', "ed25519", "refused"),
    (f'alice@example.com valid-after="20300101",valid-before="20200101" {K}', "ed25519", "refused"),
    (f'alice@example.com valid-after="20000101",valid-before="29990101" {K}', "ed25519", "valid"),
    # key type names: exact, RSA signature names, short names; and mismatches
    ("alice@example.com ssh-ed25519 {blob}", "ed25519", "valid"),
    ("alice@example.com ED25519 {blob}", "ed25519", "refused"),
    ("alice@example.com ssh-ed25519 {blob}==", "ed25519", "refused"),
    ("alice@example.com ssh-ed25519 {blob}AAAA", "ed25519", "refused"),
    ("alice@example.com ssh-rsa {blob}", "ed25519", "refused"),
    ("alice@example.com ssh-ed25519 {blob}=", "ed25519", "refused"),
    ("alice@example.com rsa-sha2-512 {blob}", "rsa", "valid"),
    ("alice@example.com RSA {blob}", "rsa", "refused"),
    ("alice@example.com rsa-sha2-256 {blob}", "rsa", "valid"),
    ("alice@example.com ecdsa-sha2-nistp384 {blob}", "ecdsa", "refused"),
    ("alice@example.com ecdsa-sha2-nistp256 {blob}", "ecdsa", "valid"),
    # the first line that vouches wins; other lines do not spoil it
    (f"alice@example.com {{other}}\nalice@example.com {K}", "ed25519", "valid"),
    (f'alice@example.com namespaces="git" {K}\nalice@example.com {K}', "ed25519", "valid"),
]


@pytest.fixture(scope="module")
def signers(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, Path, str]]:
    folder = tmp_path_factory.mktemp("openssh-lines")
    message = folder / "m.json"
    message.write_bytes(b'{"a":1}')
    out = {}
    for kind in ("ed25519", "rsa", "ecdsa256"):
        key = make_key(folder, kind, kind)
        signed = folder / f"{kind}.json"
        signed.write_bytes(message.read_bytes())
        out[kind.removesuffix("256")] = (signed, keygen_sign(key, signed), public_line(key))
    out["other"] = out["ecdsa"]
    return out


def evaltui_outcome(allowed: Path, signature: Path) -> str:
    sig = sshsig.parse(signature.read_bytes())
    try:
        entries = read_allowed_signers(allowed)
    except InputError:
        return "refused"
    try:
        find_signer(entries, sig.public_key, PRINCIPAL, sshsig.NAMESPACE)
    except SignerRejected:
        return "rejected"
    return "valid"


@pytest.mark.parametrize(("lines", "signer", "outcome"), ROWS, ids=[repr(r[0][:80]) for r in ROWS])
def test_evaltui_reads_each_line_as_ssh_keygen_does(
    signers: dict[str, tuple[Path, Path, str]],
    tmp_path: Path,
    lines: str,
    signer: str,
    outcome: str,
) -> None:
    message, signature, key = signers[signer]
    text = lines.format(key=key, blob=key.split()[1], other=signers["other"][2])
    allowed = tmp_path / "allowed_signers"
    allowed.write_bytes(text.encode() + b"\n")
    theirs = keygen_verify(allowed, PRINCIPAL, signature, message)
    keygen_says = "valid" if theirs.returncode == 0 else "rejected"
    ours = evaltui_outcome(allowed, signature)
    assert ours == outcome
    assert keygen_says == ("rejected" if outcome == "refused" else outcome), theirs.stderr


def test_a_line_ssh_keygen_would_skip_is_refused_with_its_line_named(
    signers: dict[str, tuple[Path, Path, str]], tmp_path: Path
) -> None:
    """ssh-keygen skips a line it cannot parse (here one for another principal) and still finds
    alice's; evaltui refuses the file instead, so a typo never silently drops a signer."""
    message, signature, key = signers["ed25519"]
    allowed = tmp_path / "allowed_signers"
    allowed.write_text(f"bob@example.com namespaces=git {key}\nalice@example.com {key}\n")
    assert keygen_verify(allowed, PRINCIPAL, signature, message).returncode == 0
    with pytest.raises(InputError, match="double quotes") as caught:
        read_allowed_signers(allowed)
    assert caught.value.line == 1
