"""A team store's URI: `iceberg+postgresql://USER@HOST[:PORT]/DATABASE?warehouse=...`.

- `USER@HOST:PORT/DATABASE`: the PostgreSQL database that holds the Iceberg catalog (pyiceberg's
  SQL catalog tables) and the shared event log (`evaltui_events`).
- `warehouse=`: where the tables' files go, `s3://BUCKET/PREFIX` (S3 or an S3-compatible server)
  or `file:///shared/folder` (a folder every reviewer mounts at the same path).
- `namespace=` (optional, default `evaltui`): the Iceberg namespace of the tables, so one catalog
  can hold several teams' stores.

A password never appears in the URI: it comes from the environment or the config file (see
`settings.team_store_config`), so the URI can be printed, logged and recorded in a decision.
A URI with a password is refused, and shown with the password masked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qs, quote, unquote, urlsplit

from evaltui.errors import InputError

SCHEME = "iceberg+postgresql"
DEFAULT_PORT = 5432
DEFAULT_NAMESPACE = "evaltui"
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
_PASSWORD = re.compile(r"(//[^/@:?#]*):[^/@?#]*@")
_QUERY_KEYS = ("warehouse", "namespace")


def mask_password(text: str) -> str:
    """`text` with any `user:password@` of a URI in it shown as `user:***@`."""
    return _PASSWORD.sub(r"\1:***@", text)


@dataclass(frozen=True, slots=True)
class TeamLocation:
    user: str
    host: str
    port: int
    database: str
    warehouse: str
    namespace: str

    def shown(self) -> str:
        """The URI in its normal form (no secret in it: safe to print and record)."""
        query = f"warehouse={self.warehouse}"
        if self.namespace != DEFAULT_NAMESPACE:
            query += f"&namespace={self.namespace}"
        return (
            f"{SCHEME}://{quote(self.user, safe='')}@{self.host}:{self.port}/"
            f"{quote(self.database, safe='')}?{query}"
        )

    def sqlalchemy_url(self, password: str | None) -> str:
        auth = quote(self.user, safe="")
        if password:
            auth += ":" + quote(password, safe="")
        host = f"[{self.host}]" if ":" in self.host else self.host
        return (
            f"postgresql+psycopg2://{auth}@{host}:{self.port}/{quote(self.database, safe='')}"
            "?connect_timeout=10&application_name=evaltui"
        )


def parse_team_uri(uri: str, origin: str = "--store") -> TeamLocation:
    """The location a team store URI names; an `InputError` at `origin` says what is wrong."""
    shown = mask_password(uri)

    def bad(message: str) -> InputError:
        return InputError(origin, f"{shown}: {message}")

    try:
        parts = urlsplit(uri)
        port = parts.port
    except ValueError as exc:
        raise bad(f"not a valid URI ({exc})") from None
    if parts.scheme != SCHEME:
        raise bad(f"a team store URI starts with {SCHEME}://")
    if parts.password is not None:
        raise bad(
            "the URI must not hold a password: set PGPASSWORD or EVALTUI_TEAM_PASSWORD, or "
            "`password` in the config file's [stores.NAME] entry"
        )
    if not parts.username:
        raise bad("name the PostgreSQL user: iceberg+postgresql://USER@HOST/DATABASE?...")
    if not parts.hostname:
        raise bad("name the PostgreSQL host: iceberg+postgresql://USER@HOST/DATABASE?...")
    database = unquote(parts.path.lstrip("/"))
    if not database or "/" in database:
        raise bad("name one database after the host: iceberg+postgresql://USER@HOST/DATABASE?...")
    if parts.fragment:
        raise bad("a team store URI has no #fragment")
    try:
        query = parse_qs(parts.query, keep_blank_values=True, strict_parsing=bool(parts.query))
    except ValueError:
        raise bad("its ?query is not key=value pairs joined by &") from None
    unknown = sorted(set(query) - set(_QUERY_KEYS))
    if unknown:
        raise bad(f"unknown query key {unknown[0]!r} (known: {', '.join(_QUERY_KEYS)})")
    for key, values in query.items():
        if len(values) > 1:
            raise bad(f"{key}= is given {len(values)} times")
    warehouse = query.get("warehouse", [""])[0]
    if not warehouse:
        raise bad(
            "name where the tables' files go: ?warehouse=s3://BUCKET/PREFIX or file:///FOLDER"
        )
    where = urlsplit(warehouse)
    if where.scheme == "s3":
        if not where.netloc:
            raise bad("warehouse=s3://BUCKET/PREFIX needs a bucket")
    elif where.scheme == "file":
        if where.netloc not in ("", "localhost") or not where.path.startswith("/"):
            raise bad("warehouse=file:///FOLDER needs an absolute folder (three slashes)")
    else:
        raise bad("warehouse= must be s3://BUCKET/PREFIX or file:///FOLDER")
    namespace = query.get("namespace", [DEFAULT_NAMESPACE])[0]
    if not _NAME.fullmatch(namespace):
        raise bad("namespace= must be letters, digits and _ (not starting with a digit)")
    return TeamLocation(
        user=unquote(parts.username),
        host=parts.hostname,
        port=port or DEFAULT_PORT,
        database=database,
        warehouse=warehouse.rstrip("/"),
        namespace=namespace,
    )
