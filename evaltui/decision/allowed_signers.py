"""allowed_signers files (ssh-keygen(1), ALLOWED SIGNERS): who may sign, for which namespaces.

A line is `principals [options] keytype base64 [comment]`. Principals are a comma-separated list
of patterns (`*` and `?` wildcards, `!` negates), options are `namespaces="..."`,
`valid-after="..."`, `valid-before="..."` and `cert-authority`. The matching follows OpenSSH:
a line vouches for a signature when its key is the signing key, one of its principal patterns
matches the principal and none of its negated ones does, its namespaces (if any) match, and the
time is inside its validity. Certificates are not supported: cert-authority lines never match a
plain key, and when only such a line names the principal the message says so.

When no line vouches, the message tells the reviewer which part failed (the key is not listed at
all, is listed for other principals, only for other namespaces, or outside its validity), since
those have different fixes.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path

from evaltui.decision.keys import PublicKey, SigningKeyError
from evaltui.errors import InputError
from evaltui.safe_files import read_regular

KNOWN_OPTIONS = ("cert-authority", "namespaces", "valid-after", "valid-before")


@dataclass(frozen=True, slots=True)
class AllowedSigner:
    path: str
    line: int
    principals: str  # comma-separated patterns, as written (unquoted)
    key: PublicKey | None  # None for key types evaltui cannot use (e.g. sk-*): never matches
    key_type: str
    cert_authority: bool = False
    namespaces: str | None = None
    valid_after: datetime | None = None
    valid_before: datetime | None = None

    @property
    def where(self) -> str:
        return f"{self.path}:{self.line}"


class SignerRejected(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


MAX_ALLOWED_SIGNERS_BYTES = 16 << 20  # a file of public keys, one a line


def read_allowed_signers(path: Path) -> list[AllowedSigner]:
    if not path.exists() and not path.is_symlink():
        raise InputError(path, "allowed_signers file not found")
    try:  # a regular file only: a FIFO must not hang verify
        text = read_regular(path, limit=MAX_ALLOWED_SIGNERS_BYTES).decode("utf-8")
    except InputError as exc:
        raise InputError(path, f"cannot read allowed_signers file: {exc.message}") from None
    except UnicodeDecodeError as exc:
        raise InputError(path, f"cannot read allowed_signers file: {exc}") from None
    return parse_allowed_signers(text, str(path))


def parse_allowed_signers(text: str, path: str = "allowed_signers") -> list[AllowedSigner]:
    out = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        out.append(_parse_line(line, path, number))
    return out


def _parse_line(line: str, path: str, number: int) -> AllowedSigner:
    def fail(message: str) -> InputError:
        return InputError(path, message, number)

    principals, rest = _token(line)
    if not principals or not rest:
        raise fail("invalid line: expected `principals [options] keytype base64-key`")
    options: dict[str, str | None] = {}
    first, after = _token(rest)
    if not _is_key_type(first):
        options = _parse_options(first, fail)
        first, after = _token(after)
    if not _is_key_type(first):
        raise fail(f"expected a key type (e.g. ssh-ed25519), found {first[:40]!r}")
    key_text, _comment = _token(after)
    if not key_text:
        raise fail(f"{first} has no key data")
    key: PublicKey | None
    try:
        key = PublicKey.from_openssh(f"{first} {key_text}", f"{path}:{number}")
    except SigningKeyError as exc:
        if first.startswith("sk-") or first.endswith("-cert-v01@openssh.com") or first == "ssh-dss":
            key = None  # a key type we cannot verify: skip it, as it cannot match our signatures
        else:
            raise fail(exc.message) from None
    return AllowedSigner(
        path=path,
        line=number,
        principals=principals,
        key=key,
        key_type=first,
        cert_authority="cert-authority" in options,
        namespaces=options.get("namespaces"),
        valid_after=_parse_time(options.get("valid-after"), fail, "valid-after"),
        valid_before=_parse_time(options.get("valid-before"), fail, "valid-before"),
    )


def _token(text: str) -> tuple[str, str]:
    """The first whitespace-delimited token (double quotes group, and are removed when the whole
    token is quoted) and the rest."""
    text = text.lstrip()
    if not text:
        return "", ""
    if text.startswith('"'):
        end = text.find('"', 1)
        if end < 0:
            return text[1:], ""
        return text[1:end], text[end + 1 :].lstrip()
    quoted = False
    for i, ch in enumerate(text):
        if ch == '"':
            quoted = not quoted
        elif ch.isspace() and not quoted:
            return text[:i], text[i:].lstrip()
    return text, ""


def _is_key_type(token: str) -> bool:
    return token.startswith(("ssh-", "ecdsa-", "sk-"))


def _parse_options(text: str, fail: Callable[[str], InputError]) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for part in _split_outside_quotes(text):
        name, eq, value = part.partition("=")
        name = name.strip().lower()
        if name not in KNOWN_OPTIONS:
            raise fail(f"unknown option {name!r} (known: {', '.join(KNOWN_OPTIONS)})")
        if name == "cert-authority":
            if eq:
                raise fail("cert-authority takes no value")
            out[name] = None
            continue
        if not eq:
            raise fail(f'option {name} needs a value, e.g. {name}="..."')
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] == '"':
            value = value[1:-1]
        if not value:
            raise fail(f"option {name} has an empty value")
        out[name] = value
    return out


def _split_outside_quotes(text: str) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    quoted = False
    for ch in text:
        if ch == '"':
            quoted = not quoted
        if ch == "," and not quoted:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    parts.append("".join(current))
    return parts


_TIME = re.compile(r"^(\d{8})(\d{4})?(\d{2})?(Z)?$")


def _parse_time(value: str | None, fail: Callable[[str], InputError], name: str) -> datetime | None:
    if value is None:
        return None
    match = _TIME.match(value)
    if match is None or (match.group(3) and not match.group(2)):
        raise fail(f"{name} must be YYYYMMDD[HHMM[SS]][Z], found {value!r}")
    digits = match.group(1) + (match.group(2) or "0000") + (match.group(3) or "00")
    try:
        moment = datetime.strptime(digits, "%Y%m%d%H%M%S")
    except ValueError:
        raise fail(f"{name} is not a valid date: {value!r}") from None
    if match.group(4):
        return moment.replace(tzinfo=UTC)
    return moment.astimezone()  # local time, as OpenSSH reads it


# -- matching -------------------------------------------------------------------------------------


@lru_cache(maxsize=256)
def _pattern(pattern: str) -> re.Pattern[str]:
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(body, re.DOTALL)


def match_pattern_list(value: str, patterns: str) -> int:
    """OpenSSH's match_pattern_list: 1 matched, 0 no match, -1 matched a negated pattern."""
    got = 0
    for raw in patterns.split(","):
        pattern = raw.strip()
        negated = pattern.startswith("!")
        if negated:
            pattern = pattern[1:]
        if pattern and _pattern(pattern).fullmatch(value):
            if negated:
                return -1
            got = 1
    return got


def find_signer(
    entries: Sequence[AllowedSigner],
    key: PublicKey,
    principal: str,
    namespace: str,
    now: datetime | None = None,
    source: str = "allowed_signers",
) -> AllowedSigner:
    """The line that vouches for `key` signing as `principal` in `namespace`, or SignerRejected."""
    moment = now or datetime.now(UTC)
    same_key = [
        e for e in entries if not e.cert_authority and e.key is not None and e.key.blob == key.blob
    ]
    if not same_key:
        ca_lines = [
            e
            for e in entries
            if e.cert_authority and match_pattern_list(principal, e.principals) == 1
        ]
        note = (
            f"; {ca_lines[0].where} is a cert-authority line, and evaltui does not "
            "support certificates"
            if ca_lines
            else ""
        )
        raise SignerRejected(
            "signer_unlisted",
            f"the signing key {key.fingerprint} is not listed in {source}{note}",
        )
    for_principal = [e for e in same_key if match_pattern_list(principal, e.principals) == 1]
    if not for_principal:
        listed = "; ".join(f"{e.principals} ({e.where})" for e in same_key)
        raise SignerRejected(
            "principal_mismatch",
            f"the signing key {key.fingerprint} is listed for {listed}, "
            f"not for the decision's reviewer {principal!r}",
        )
    in_namespace = [
        e
        for e in for_principal
        if e.namespaces is None or match_pattern_list(namespace, e.namespaces) == 1
    ]
    if not in_namespace:
        e = for_principal[0]
        raise SignerRejected(
            "namespace_not_allowed",
            f"{e.where} allows the key for {principal!r} only in namespaces {e.namespaces!r}, "
            f"not {namespace!r}",
        )
    for e in in_namespace:
        if (e.valid_after is None or moment >= e.valid_after) and (
            e.valid_before is None or moment <= e.valid_before
        ):
            return e
    e = in_namespace[0]
    if e.valid_after is not None and moment < e.valid_after:
        why = f"is not valid before {e.valid_after.isoformat()}"
    else:
        why = f"expired at {e.valid_before.isoformat() if e.valid_before else '?'}"
    raise SignerRejected("signer_expired", f"{e.where}: the key for {principal!r} {why}")
