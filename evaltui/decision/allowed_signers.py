"""allowed_signers files (ssh-keygen(1), ALLOWED SIGNERS): who may sign, for which namespaces.

A line is `principals [options] keytype base64 [comment]`. It is read the way OpenSSH's sshsig.c
reads it, so a line means to evaltui exactly what it means to `ssh-keygen -Y verify`:

- lines are split at line feeds only (a CR before it is whitespace); blank and `#` lines skip;
- the principals are the first token, split at a space, tab, CR or LF; a double quote removes
  itself and groups up to the next quote (`"bob@x, alice@x"` is the list `bob@x` and
  ` alice@x`, with the space: OpenSSH never trims list items);
- the key is tried first; when the token is not a key type, it is the options, and the key
  follows. Key type names are OpenSSH's: exact names, `rsa-sha2-256`/`rsa-sha2-512` for RSA keys,
  never the short names (`ED25519` is refused, as ssh-keygen refuses it);
- options are comma-separated, names case-insensitive, values always double-quoted (`\\"` is a
  quote inside): `cert-authority`, `namespaces="..."`, `valid-after="..."`, `valid-before="..."`;
  anything else, a second `namespaces`, an unquoted value or a trailing comma makes the line
  invalid; times are YYYYMMDD[HHMM[SS]] with an optional `Z` or `UTC` (UTC, else local time).

Pattern lists (principals, namespaces) follow OpenSSH's match_pattern_list: items split at commas
and never trimmed, `*` and `?` wildcards over bytes, a leading `!` negates and wins.

ssh-keygen skips a line it cannot parse; evaltui refuses the whole file instead, naming the
line, so a typo never silently removes a signer (a refusal is never a wrong "valid"). Certificates
are not supported: cert-authority lines never match a plain key, and when only such a line names
the principal the message says so. Key types evaltui cannot verify with (sk-*, ssh-dss,
certificates) are read and never match.

When no line vouches, the message tells the reviewer which part failed (the key is not listed at
all, is listed for other principals, only for other namespaces, or outside its validity), since
those have different fixes.
"""

from __future__ import annotations

import binascii
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path

from evaltui.decision.keys import KEY_TYPES, RSA, PublicKey, SigningKeyError
from evaltui.decision.sshwire import Reader, WireError
from evaltui.errors import InputError
from evaltui.safe_files import read_regular

KNOWN_OPTIONS = ("cert-authority", "namespaces", "valid-after", "valid-before")


@dataclass(frozen=True, slots=True)
class AllowedSigner:
    path: str
    line: int
    principals: str  # comma-separated patterns, as OpenSSH reads them (quotes removed)
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
    # getline(3): only LF ends a line (str.splitlines would also split at CR, FF, U+2028...)
    for number, raw in enumerate(text.split("\n"), start=1):
        line = raw.lstrip(" \t")
        if not line.strip(_WHITESPACE) or line.startswith("#"):
            continue
        if "\x00" in line:  # C reads the line only up to it: refuse rather than guess
            raise InputError(path, "a NUL character in the line", number)
        out.append(_parse_line(line, path, number))
    return out


_WHITESPACE = " \t\r\n"  # OpenSSH's WHITESPACE, which splits the principals token
_BLANK = " \t"  # what separates the options, key type, key data and comment
# Key type names (exact, case-sensitive) of the types evaltui verifies with -> the blob's type.
_USABLE_NAMES = {**{t: t for t in KEY_TYPES}, "rsa-sha2-256": RSA, "rsa-sha2-512": RSA}
# Types OpenSSH reads but evaltui never verifies with (the line is valid and never matches).
_UNUSABLE_NAMES = {
    "ssh-dss",
    "sk-ssh-ed25519@openssh.com",
    "sk-ecdsa-sha2-nistp256@openssh.com",
}
_CERT = "-cert-v01@openssh.com"
_BASE64 = re.compile(r"(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?")


def _strdelimw(text: str) -> tuple[str | None, str | None]:
    """OpenSSH's strdelimw(): the first token and the rest (None when there is no rest).

    The token ends at whitespace or at a double quote; a quote is removed and the token then runs
    to the next quote (None, None when there is none). Whitespace after the token is skipped.
    """
    at = next((i for i, ch in enumerate(text) if ch in _WHITESPACE or ch == '"'), -1)
    if at < 0:
        return text, None
    if text[at] == '"':
        text = text[:at] + text[at + 1 :]
        end = text.find('"', at)
        if end < 0:
            return None, None
        return text[:end], text[end + 1 :].lstrip(_WHITESPACE)
    return text[:at], text[at + 1 :].lstrip(_WHITESPACE)


def _read_key(text: str, where: str) -> tuple[PublicKey | None, str] | str:
    """OpenSSH's sshkey_read(): (the key or None for an unusable type, its type name), or why
    `text` does not start with a key."""
    space = next((i for i, ch in enumerate(text) if ch in _BLANK), len(text))
    name = text[:space]
    usable = _USABLE_NAMES.get(name)
    unusable = name if name in _UNUSABLE_NAMES or name.endswith(_CERT) else None
    if usable is None and unusable is None:
        return f"not a key type: {name[:40]!r}"
    if space == len(text):
        return f"{name} has no key data"
    data = text[space:].lstrip(_BLANK)
    token = next((data[:i] for i, ch in enumerate(data) if ch in _BLANK), data)
    if not token:
        return f"{name} has no key data"
    # b64_pton skips whitespace (a CR before the line feed), wants exact padding, nothing after
    data = "".join(token.split())
    if _BASE64.fullmatch(data) is None:
        return f"{name} key data is not valid base64"
    blob = binascii.a2b_base64(data.encode("ascii"), strict_mode=True)
    if usable is not None:
        try:
            key = PublicKey.from_blob(blob, "", where)
        except SigningKeyError as exc:
            return exc.message
        if key.key_type != usable:
            return f"key says {name} but its data is {key.key_type}"
        return key, name
    try:
        blob_type = Reader(blob, "public key").text()
    except WireError as exc:
        return f"{name} key data is not an SSH public key: {exc}"
    plain_name = (
        (unusable or name)
        .replace("rsa-sha2-256-cert", "ssh-rsa-cert")
        .replace("rsa-sha2-512-cert", "ssh-rsa-cert")
    )
    if blob_type != plain_name:
        return f"key says {name} but its data is {blob_type[:60]}"
    return None, name


def _parse_line(line: str, path: str, number: int) -> AllowedSigner:
    def fail(message: str) -> InputError:
        return InputError(path, message, number)

    principals, rest = _strdelimw(line)
    if principals is None or rest is None:
        raise fail("invalid line: expected `principals [options] keytype base64-key`")
    where = f"{path}:{number}"
    options: str | None = None
    got = _read_key(rest, where)
    if isinstance(got, str) and not got.startswith("not a key type"):
        raise fail(f"invalid key: {got}")  # a key type with bad data: no options to try
    if isinstance(got, str):
        quoted = False
        end = 0
        while end < len(rest) and (quoted or rest[end] not in _BLANK):
            if rest[end] == "\\" and rest[end + 1 : end + 2] == '"':
                end += 1
            elif rest[end] == '"':
                quoted = not quoted
            end += 1
        if quoted:
            raise fail("invalid options: a double quote is not closed")
        if end >= len(rest):
            raise fail(f"missing key ({got})" if rest.strip(_WHITESPACE) else "missing key")
        options = rest[:end]
        got = _read_key(rest[end + 1 :].lstrip(_BLANK), where)
        if isinstance(got, str):
            raise fail(f"invalid key: {got}")
    key, key_type = got
    parsed = _parse_options(options, fail)
    return AllowedSigner(
        path=path,
        line=number,
        principals=principals,
        key=key,
        key_type=key_type,
        cert_authority=parsed.cert_authority,
        namespaces=parsed.namespaces,
        valid_after=parsed.valid_after,
        valid_before=parsed.valid_before,
    )


@dataclass(slots=True)
class _Options:
    cert_authority: bool = False
    namespaces: str | None = None
    valid_after: datetime | None = None
    valid_before: datetime | None = None


def _parse_options(text: str | None, fail: Callable[[str], InputError]) -> _Options:
    """OpenSSH's sshsigopt_parse(): names case-insensitive, values double-quoted."""
    out = _Options()
    if text is None:
        return out
    i = 0
    while i < len(text) and text[i] not in _BLANK:
        rest = text[i:].lower()
        if rest.startswith("cert-authority"):
            out.cert_authority = True
            i += len("cert-authority")
        elif rest.startswith("namespaces="):
            if out.namespaces is not None:
                raise fail('bad options: more than one "namespaces"')
            out.namespaces, i = _dequote(text, i + len("namespaces="), fail)
        elif rest.startswith(("valid-after=", "valid-before=")):
            name = "valid-after" if rest.startswith("valid-after=") else "valid-before"
            if getattr(out, name.replace("-", "_")) is not None:
                raise fail(f'bad options: more than one "{name}"')
            value, i = _dequote(text, i + len(name) + 1, fail)
            setattr(out, name.replace("-", "_"), _parse_time(value, fail, name))
        if i >= len(text) or text[i] in _BLANK:
            break
        if text[i] != ",":
            named = next((n for n in KNOWN_OPTIONS[1:] if text[i:].lower().startswith(n)), None)
            if named is not None:
                raise fail(f'bad options: option {named} needs a value, e.g. {named}="..."')
            raise fail(
                f"bad options: unknown option at {text[i : i + 20]!r} "
                f"(known: {', '.join(KNOWN_OPTIONS)}; values in double quotes)"
            )
        i += 1
        if i >= len(text):
            raise fail("bad options: a comma ends the options")
    if out.valid_after and out.valid_before and out.valid_before <= out.valid_after:
        raise fail("bad options: valid-before is not after valid-after")
    return out


def _dequote(text: str, i: int, fail: Callable[[str], InputError]) -> tuple[str, int]:
    if text[i : i + 1] != '"':
        raise fail("bad options: an option value must be in double quotes")
    value = []
    i += 1
    while i < len(text) and text[i] != '"':
        if text[i] == "\\" and text[i + 1 : i + 2] == '"':
            i += 1
        value.append(text[i])
        i += 1
    if i >= len(text):
        raise fail("bad options: an option value is missing its closing quote")
    return "".join(value), i + 1


_TIME = re.compile(r"(\d{8}|\d{12}|\d{14})(Z|UTC)?", re.IGNORECASE)


def _parse_time(value: str, fail: Callable[[str], InputError], name: str) -> datetime:
    match = _TIME.fullmatch(value)
    if match is None:
        raise fail(f"{name} must be YYYYMMDD[HHMM[SS]][Z], found {value!r}")
    digits = match.group(1).ljust(14, "0")
    try:
        moment = datetime.strptime(digits, "%Y%m%d%H%M%S")
    except ValueError:
        raise fail(f"{name} is not a valid date: {value!r}") from None
    moment = moment.replace(tzinfo=UTC) if match.group(2) else moment.astimezone()
    if moment.timestamp() <= 0:  # OpenSSH refuses times at or before the epoch
        raise fail(f"{name} is not after 1970: {value!r}")
    return moment


# -- matching -------------------------------------------------------------------------------------


_SUBPATTERN_MAX = 1023  # match_pattern_list's buffer: a longer item makes the list fail


@lru_cache(maxsize=256)
def _pattern(pattern: bytes) -> re.Pattern[bytes]:
    body = b"".join(
        b".*" if c == b"*" else b"." if c == b"?" else re.escape(c)
        for c in (pattern[i : i + 1] for i in range(len(pattern)))
    )
    return re.compile(body, re.DOTALL)


def match_pattern_list(value: str, patterns: str) -> int:
    """OpenSSH's match_pattern_list: 1 matched, 0 no match, -1 matched a negated pattern.

    Items are split at commas and not trimmed; `?` matches one byte of the UTF-8 text, as in C.
    """
    subject = value.encode("utf-8", "surrogateescape")
    got = 0
    for item in patterns.encode("utf-8", "surrogateescape").split(b","):
        negated = item.startswith(b"!")
        if negated:
            item = item[1:]
        if len(item) >= _SUBPATTERN_MAX:
            return 0
        if _pattern(item).fullmatch(subject):
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
