"""Settings in one place: config files, then the environment, then command-line flags.

Each setting is read, in this order, later wins:

1. the user's config, `$XDG_CONFIG_HOME/evaltui/config.toml` (else `~/.config/evaltui/config.toml`);
2. the project's config, `.evaltui/config.toml` in the nearest folder (from the current one
   upward) that has a `.evaltui/` folder, the folder the store is found in;
3. the environment (`EVALTUI_*`, and `NO_COLOR`);
4. a command-line flag (the CLI passes `Settings` values as its options' defaults).

Every `EVALTUI_*` name is declared here and nowhere else. A config file that is not TOML, has a
key this module does not know or a value of the wrong type is an `InputError` at `path:line`.
This module imports nothing above it (no click, no Textual): the store, the CLI and the app all
read it. The key passphrase is read from the environment only: a secret has no place in a file.
"""

from __future__ import annotations

import math
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from evaltui.errors import InputError, raise_collected
from evaltui.safe_files import read_regular

STORE_ENV = "EVALTUI_STORE"
WAIT_ENV = "EVALTUI_WAIT"
REVIEWER_ENV = "EVALTUI_REVIEWER"
SIGNING_KEY_ENV = "EVALTUI_SIGNING_KEY"
ALLOWED_SIGNERS_ENV = "EVALTUI_ALLOWED_SIGNERS"
PASSPHRASE_ENV = "EVALTUI_KEY_PASSPHRASE"
NO_COLOR_ENV = "NO_COLOR"  # https://no-color.org: any value turns colour off
XDG_CONFIG_ENV = "XDG_CONFIG_HOME"
XDG_CACHE_ENV = "XDG_CACHE_HOME"  # the team store's local caches live under it
# A team store's secrets (see docs/team.md): from the environment or a [stores.NAME] entry,
# never from the URI, so they are never printed, logged or signed.
TEAM_PASSWORD_ENV = "EVALTUI_TEAM_PASSWORD"
PGPASSWORD_ENV = "PGPASSWORD"  # PostgreSQL's own name, read when EVALTUI_TEAM_PASSWORD is unset
S3_ENDPOINT_ENV = "EVALTUI_S3_ENDPOINT"
S3_ACCESS_KEY_ENV = "EVALTUI_S3_ACCESS_KEY_ID"
S3_SECRET_KEY_ENV = "EVALTUI_S3_SECRET_ACCESS_KEY"
S3_REGION_ENV = "EVALTUI_S3_REGION"
STORES_TABLE = "stores"  # [stores.NAME]: a team store's URI and secrets
TEAM_URI_SCHEME = "iceberg+postgresql://"

PROJECT_DIR = ".evaltui"  # the store's folder, and the project's config beside it
CONFIG_FILE = "config.toml"
CONFIG_LIMIT = 1 << 20  # bytes; a config file is a few lines

Kind = Literal["path", "text", "seconds", "bool", "store"]


@dataclass(frozen=True)
class Field:
    """One setting: its key in a config file, its environment variable, its type."""

    key: str
    env: str | None
    kind: Kind
    help: str


FIELDS: tuple[Field, ...] = (
    Field(
        "store", STORE_ENV, "store", "the DuckDB store file, a team store's URI or [stores] name"
    ),
    Field("wait", WAIT_ENV, "seconds", "seconds to wait for a store another process holds"),
    Field("reviewer", REVIEWER_ENV, "text", "your principal in allowed_signers"),
    Field("signing_key", SIGNING_KEY_ENV, "path", "the SSH key that signs decisions"),
    Field("allowed_signers", ALLOWED_SIGNERS_ENV, "path", "the OpenSSH allowed_signers file"),
    Field("no_color", NO_COLOR_ENV, "bool", "no colours in the app"),
    Field("theme", None, "text", "the app's Textual theme (e.g. textual-light)"),
)
KEYMAP_TABLE = "keymap"  # [keymap]: binding id = "keys"
_FIELDS = {f.key: f for f in FIELDS}
# the keys of a [stores.NAME] entry: its URI, then secrets (environment variables win over them)
STORE_ENTRY_KEYS = {
    "uri": None,
    "password": TEAM_PASSWORD_ENV,
    "s3_endpoint": S3_ENDPOINT_ENV,
    "s3_access_key_id": S3_ACCESS_KEY_ENV,
    "s3_secret_access_key": S3_SECRET_KEY_ENV,
    "s3_region": S3_REGION_ENV,
}


@dataclass(frozen=True)
class TeamStoreConfig:
    """A team store as a command uses it: its URI and the secrets from the config or the
    environment. `name` is the [stores.NAME] entry's name (None for a URI given as is)."""

    uri: str
    name: str | None = None
    password: str | None = field(default=None, repr=False)
    s3_endpoint: str | None = None
    s3_access_key_id: str | None = field(default=None, repr=False)
    s3_secret_access_key: str | None = field(default=None, repr=False)
    s3_region: str | None = None
    origin: str = "--store"  # where the URI came from, for errors


@dataclass(frozen=True)
class Origin:
    """Where a value came from: a config file (and line), or an environment variable."""

    path: str
    line: int | None = None

    def error(self, message: str) -> InputError:
        return InputError(self.path, message, self.line)


@dataclass(frozen=True)
class Settings:
    store: Path | str | None = None  # a str is a team store: a URI or a [stores.NAME] name
    wait: float | None = None
    reviewer: str | None = None
    signing_key: Path | None = None
    allowed_signers: Path | None = None
    no_color: bool = False
    theme: str | None = None
    keymap: Mapping[str, str] = field(default_factory=dict)
    stores: Mapping[str, Mapping[str, str]] = field(default_factory=dict)  # [stores.NAME]
    # where each value (and each keymap id, as "keymap.ID") was set, for errors found later
    origins: Mapping[str, Origin] = field(default_factory=dict)
    files: tuple[Path, ...] = ()  # the config files read, in order

    def origin(self, key: str) -> Origin:
        return self.origins.get(key, Origin("config"))


def load(environ: Mapping[str, str] | None = None, cwd: Path | None = None) -> Settings:
    """The settings from the config files and the environment (flags come on top, in the CLI)."""
    environ = os.environ if environ is None else environ
    values: dict[str, object] = {}
    origins: dict[str, Origin] = {}
    keymap: dict[str, str] = {}
    stores: dict[str, dict[str, str]] = {}
    files: list[Path] = []
    for path, base in config_files(environ, cwd):
        if not path.is_file():
            continue
        files.append(path)
        read_config(path, base, values, keymap, origins, stores)
    for f in FIELDS:
        if f.env is not None and environ.get(f.env):
            values[f.key] = _from_env(f, environ[f.env])
            origins[f.key] = Origin(f.env)
    return Settings(
        store=_store_value(values.get("store"), stores),
        wait=_as_float(values.get("wait")),
        reviewer=_as_text(values.get("reviewer")),
        signing_key=_as_path(values.get("signing_key")),
        allowed_signers=_as_path(values.get("allowed_signers")),
        no_color=bool(values.get("no_color", False)),
        theme=_as_text(values.get("theme")),
        keymap=keymap,
        stores=stores,
        origins=origins,
        files=tuple(files),
    )


def is_team_store(value: str | Path | None, settings: Settings | None = None) -> bool:
    """Whether `value` (a --store value) names a team store: an `iceberg+postgresql://` URI, or
    the name of a [stores.NAME] entry of the config files."""
    if value is None:
        return False
    text = str(value)
    return text.startswith(TEAM_URI_SCHEME) or text in (settings or load()).stores


def team_store_config(
    value: str | Path,
    settings: Settings | None = None,
    environ: Mapping[str, str] | None = None,
    *,
    option: str = "--store",
) -> TeamStoreConfig:
    """The URI and secrets of the team store `value` names (a URI or a [stores] name): the
    entry's secrets, then the environment's (EVALTUI_TEAM_PASSWORD, else PGPASSWORD; the
    EVALTUI_S3_* names), which win."""
    environ = os.environ if environ is None else environ
    settings = settings or load(environ)
    text = str(value)
    entry: Mapping[str, str] = settings.stores.get(text, {})
    secrets = {key: entry.get(key) for key in STORE_ENTRY_KEYS if key != "uri"}
    for key, env in STORE_ENTRY_KEYS.items():
        if env is not None and environ.get(env):
            secrets[key] = environ[env]
    if not secrets["password"] and environ.get(PGPASSWORD_ENV):
        secrets["password"] = environ[PGPASSWORD_ENV]
    name = text if text in settings.stores else None
    origin = settings.origin(f"{STORES_TABLE}.{name}") if name else None
    return TeamStoreConfig(
        uri=entry["uri"] if name else text,
        name=name,
        origin=f"{origin.path}:{origin.line}"
        if origin and origin.line
        else (origin.path if origin else option),
        **secrets,
    )


def cache_home(environ: Mapping[str, str] | None = None) -> Path:
    """`$XDG_CACHE_HOME/evaltui` (else `~/.cache/evaltui`): the team store's local caches."""
    environ = os.environ if environ is None else environ
    xdg = environ.get(XDG_CACHE_ENV, "")
    if xdg and os.path.isabs(xdg):
        return Path(xdg) / "evaltui"
    return Path.home() / ".cache" / "evaltui"


def key_passphrase(environ: Mapping[str, str] | None = None) -> str | None:
    """The signing key's passphrase from EVALTUI_KEY_PASSPHRASE (never from a file)."""
    environ = os.environ if environ is None else environ
    return environ.get(PASSPHRASE_ENV) or None


def project_folder(start: Path | None = None) -> Path | None:
    """The nearest folder, from `start` (the current one) upward, that has a `.evaltui/` folder."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / PROJECT_DIR).is_dir():
            return folder
    return None


def user_config_path(environ: Mapping[str, str] | None = None) -> Path | None:
    environ = os.environ if environ is None else environ
    xdg = environ.get(XDG_CONFIG_ENV, "")
    if xdg and os.path.isabs(xdg):  # the XDG spec: a relative value is ignored
        return Path(xdg) / "evaltui" / CONFIG_FILE
    try:
        return Path.home() / ".config" / "evaltui" / CONFIG_FILE
    except RuntimeError:  # no home folder to be found
        return None


def config_files(
    environ: Mapping[str, str] | None = None, cwd: Path | None = None
) -> list[tuple[Path, Path]]:
    """(config file, folder its relative paths start from), lowest precedence first."""
    found: list[tuple[Path, Path]] = []
    user = user_config_path(environ)
    if user is not None:
        found.append((user, user.parent))
    project = project_folder(cwd)
    if project is not None:
        found.append((project / PROJECT_DIR / CONFIG_FILE, project))
    return found


def read_config(
    path: Path,
    base: Path,
    values: dict[str, object],
    keymap: dict[str, str],
    origins: dict[str, Origin],
    stores: dict[str, dict[str, str]] | None = None,
) -> None:
    """Merge one config file into `values`, `keymap`, `origins` and `stores`; every problem at
    its line."""
    stores = {} if stores is None else stores
    raw = read_regular(path, limit=CONFIG_LIMIT)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(path, "not UTF-8 text", raw[: exc.start].count(b"\n") + 1) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message, at_line = _toml_problem(str(exc))
        raise InputError(path, f"not valid TOML: {message}", at_line) from None
    lines = key_lines(text)
    problems: list[InputError] = []
    for key, value in data.items():
        at = Origin(str(path), lines.get(("", key)))
        if key == KEYMAP_TABLE:
            if not isinstance(value, dict):
                problems.append(at.error(f'[{KEYMAP_TABLE}] must be a table of id = "keys"'))
                continue
            for ident, keys in value.items():
                where = Origin(str(path), lines.get((KEYMAP_TABLE, ident)))
                if not isinstance(keys, str) or not keys.strip():
                    problems.append(
                        where.error(
                            f'keymap {ident!r}: expected keys as a string such as "x" or '
                            f'"x,ctrl+n", got {_type_name(keys)}'
                        )
                    )
                    continue
                keymap[ident] = keys
                origins[f"{KEYMAP_TABLE}.{ident}"] = where
            continue
        if key == STORES_TABLE:
            problems += _read_stores(path, value, lines, stores, origins)
            continue
        known = _FIELDS.get(key)
        if known is None:
            problems.append(
                at.error(f"unknown setting {key!r} (known: {', '.join([*_FIELDS, KEYMAP_TABLE])})")
            )
            continue
        try:
            values[key] = _from_config(known, value, base)
        except ValueError as exc:
            problems.append(at.error(f"{key}: {exc}"))
            continue
        origins[key] = at
    raise_collected(problems)


def _read_stores(
    path: Path,
    value: object,
    lines: dict[tuple[str, str], int],
    stores: dict[str, dict[str, str]],
    origins: dict[str, Origin],
) -> list[InputError]:
    """[stores.NAME] entries: `uri` (an iceberg+postgresql:// URI) and optional secrets."""
    problems: list[InputError] = []
    at = Origin(str(path), lines.get(("", STORES_TABLE)))
    if not isinstance(value, dict):
        return [at.error(f"[{STORES_TABLE}] must hold tables such as [{STORES_TABLE}.team]")]
    for name, entry in value.items():
        where = Origin(str(path), lines.get(("", f"{STORES_TABLE}.{name}")))
        if not isinstance(entry, dict):
            problems.append(where.error(f"[{STORES_TABLE}.{name}] must be a table (uri = ...)"))
            continue
        found: dict[str, str] = {}
        for key, text in entry.items():
            line = Origin(str(path), lines.get((f"{STORES_TABLE}.{name}", key)))
            if key not in STORE_ENTRY_KEYS:
                problems.append(
                    line.error(
                        f"[{STORES_TABLE}.{name}]: unknown key {key!r} "
                        f"(known: {', '.join(STORE_ENTRY_KEYS)})"
                    )
                )
            elif not isinstance(text, str) or not text:
                problems.append(
                    line.error(f"{key}: expected a non-empty string, got {_type_name(text)}")
                )
            else:
                found[key] = text
        if "uri" not in found:
            problems.append(
                where.error(f'[{STORES_TABLE}.{name}] needs uri = "{TEAM_URI_SCHEME}..."')
            )
            continue
        stores[name] = found
        origins[f"{STORES_TABLE}.{name}"] = Origin(
            str(path), lines.get((f"{STORES_TABLE}.{name}", "uri"))
        )
    return problems


_HEADER = re.compile(r"^\s*\[\s*([^\[\]]+?)\s*\]\s*(#.*)?$")
_KEY = re.compile(r"""^\s*(?:"([^"]*)"|'([^']*)'|([A-Za-z0-9_-]+))\s*=""")


def key_lines(text: str) -> dict[tuple[str, str], int]:
    """(table, key) -> the line it is set on ("" is the top level), for error messages.

    tomllib reports lines only for syntax errors; a plain scan finds the line of each key of the
    simple files evaltui reads (keys at the top, and one level of tables).
    """
    table = ""
    found: dict[tuple[str, str], int] = {}
    for number, line in enumerate(text.splitlines(), 1):
        header = _HEADER.match(line)
        if header:
            table = header.group(1).strip().strip("\"'")
            found.setdefault(("", table), number)
            continue
        key = _KEY.match(line)
        if key:
            name = next(g for g in key.groups() if g is not None)
            found.setdefault((table, name), number)
    return found


_AT = re.compile(r"\s*\(at line (\d+), column \d+\)\s*$")


def _toml_problem(message: str) -> tuple[str, int | None]:
    found = _AT.search(message)
    if found is None:
        return message.replace(" (at end of document)", " at the end of the file"), None
    return message[: found.start()], int(found.group(1))


def _type_name(value: object) -> str:
    names = {bool: "true/false", int: "a number", float: "a number", str: "a string"}
    for kind, name in names.items():
        if type(value) is kind:
            return name
    if isinstance(value, dict | list):
        return "a table" if isinstance(value, dict) else "a list"
    return f"a {type(value).__name__}"  # TOML dates and times


def _from_config(f: Field, value: object, base: Path) -> object:
    """A config value checked against its field's type (ValueError says what is wrong)."""
    if f.kind == "bool":
        if not isinstance(value, bool):
            raise ValueError(f"expected true or false, got {_type_name(value)}")
        return value
    if f.kind == "seconds":
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"expected a number of seconds, got {_type_name(value)}")
        return _seconds(float(value))
    if not isinstance(value, str) or not value:
        raise ValueError(f"expected a non-empty string, got {_type_name(value)}")
    if f.kind == "store":  # a URI, a [stores] name (resolved in load()), or a path
        path = Path(value).expanduser()
        return _StoreText(value, path if path.is_absolute() else base / path)
    if f.kind == "path":
        path = Path(value).expanduser()
        return path if path.is_absolute() else base / path
    return value


@dataclass(frozen=True)
class _StoreText:
    """A `store` value before the [stores] names are all known: the text and it as a path."""

    text: str
    path: Path


def _store_value(value: object, stores: Mapping[str, object]) -> Path | str | None:
    if isinstance(value, _StoreText):
        if value.text.startswith(TEAM_URI_SCHEME) or value.text in stores:
            return value.text
        return value.path
    return value if isinstance(value, Path | str) else None


def _from_env(f: Field, value: str) -> object:
    if f.kind == "bool":
        return True  # NO_COLOR: set (to anything) means on
    if f.kind == "seconds":
        try:
            return _seconds(_number(value))
        except ValueError as exc:
            raise InputError(f.env, f"{value!r}: {exc}") from None
    if f.kind == "store":
        return _StoreText(value, Path(value))
    return Path(value) if f.kind == "path" else value


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return math.nan  # refused by _seconds, with the same words as a bad config value


def _seconds(value: float) -> float:
    if not math.isfinite(value) or value < 0:
        raise ValueError("expected a number of seconds, 0 or more")
    return value


def _as_path(value: object) -> Path | None:
    return value if isinstance(value, Path) else None


def _as_text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _as_float(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) else None
