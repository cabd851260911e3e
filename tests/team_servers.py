"""Real servers for the team store's tests: a throwaway PostgreSQL cluster and an S3-compatible
server (moto) on 127.0.0.1, started once per test session and stopped at its end.

PostgreSQL refuses to run as root, so when the tests run as root (CI) the cluster is created and
started as the `postgres` user (else `nobody`) through `runuser`. Its folder is a fresh temporary
one; the port is a free one on 127.0.0.1; password authentication (scram) is on for TCP, so a
wrong password is a real refusal.

When `initdb`/`pg_ctl` are not installed the tests that need the servers are skipped with that
reason, unless EVALTUI_REQUIRE_TEAM_SERVERS=1 (`.ci/run` sets it): then they fail.

Each test gets its own database (`new_database`) and bucket (`new_bucket`), so tests never see
each other's tables.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REQUIRE_ENV = "EVALTUI_REQUIRE_TEAM_SERVERS"
PG_USER = "evaltui"
S3_KEY, S3_SECRET, S3_REGION = "testing-key", "testing-secret", "us-east-1"
_STARTUP = 60.0  # seconds: generous, for a busy machine; never a timing assertion


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _unavailable(reason: str) -> None:
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"{REQUIRE_ENV}=1 but {reason}", pytrace=False)
    pytest.skip(reason)


def _run_as() -> tuple[list[str], str | None]:
    """The command prefix that runs PostgreSQL as a non-root user (and that user), if root."""
    if os.geteuid() != 0:
        return [], None
    for user in ("postgres", "nobody"):
        try:
            pwd.getpwnam(user)
        except KeyError:
            continue
        if shutil.which("runuser") is None:
            _unavailable("running as root and `runuser` is missing (PostgreSQL refuses root)")
        return ["runuser", "-u", user, "--"], user
    _unavailable("running as root and no `postgres` or `nobody` user to run PostgreSQL as")
    raise AssertionError  # unreachable: _unavailable raises


@dataclass
class TeamServers:
    folder: Path
    pg_port: int
    pg_password: str
    s3_endpoint: str
    _names: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def new_database(self) -> str:
        import psycopg2

        name = f"team_{next(self._names)}_{secrets.token_hex(3)}"
        con = psycopg2.connect(
            host="127.0.0.1",
            port=self.pg_port,
            user=PG_USER,
            password=self.pg_password,
            dbname="postgres",
        )
        try:
            con.autocommit = True
            with con.cursor() as cur:
                cur.execute(f'CREATE DATABASE "{name}"')
        finally:
            con.close()
        return name

    def new_bucket(self) -> str:
        import boto3

        name = f"bucket-{next(self._names)}-{secrets.token_hex(3)}"
        client = boto3.client(
            "s3",
            endpoint_url=self.s3_endpoint,
            aws_access_key_id=S3_KEY,
            aws_secret_access_key=S3_SECRET,
            region_name=S3_REGION,
        )
        client.create_bucket(Bucket=name)
        return name

    def s3_uri(self, database: str, bucket: str, prefix: str = "warehouse") -> str:
        return (
            f"iceberg+postgresql://{PG_USER}@127.0.0.1:{self.pg_port}/{database}"
            f"?warehouse=s3://{bucket}/{prefix}"
        )

    def folder_uri(self, database: str, warehouse: Path) -> str:
        return (
            f"iceberg+postgresql://{PG_USER}@127.0.0.1:{self.pg_port}/{database}"
            f"?warehouse={warehouse.as_uri()}"
        )

    def env(self) -> dict[str, str]:
        """The credentials a reviewer sets in the environment (never in the URI)."""
        return {
            "PGPASSWORD": self.pg_password,
            "EVALTUI_S3_ENDPOINT": self.s3_endpoint,
            "EVALTUI_S3_ACCESS_KEY_ID": S3_KEY,
            "EVALTUI_S3_SECRET_ACCESS_KEY": S3_SECRET,
            "EVALTUI_S3_REGION": S3_REGION,
        }


def _wait_http(url: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + _STARTUP
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the S3 server exited with {proc.returncode}")
        with contextlib.suppress(OSError), urllib.request.urlopen(url, timeout=2):
            return
        time.sleep(0.1)  # a startup poll, not a synchronisation between test steps
    raise RuntimeError("the S3 server did not start")


@contextlib.contextmanager
def start_team_servers() -> Iterator[TeamServers]:
    binaries = {name: shutil.which(name) for name in ("initdb", "pg_ctl", "postgres")}
    missing = [name for name, found in binaries.items() if found is None]
    if missing:
        _unavailable(f"PostgreSQL is not installed ({', '.join(missing)} not on PATH)")
    try:
        import moto.server
    except ImportError:
        _unavailable("moto[server] is not installed (pip install -e '.[dev]')")
    prefix, user = _run_as()
    folder = Path(tempfile.mkdtemp(prefix="evaltui-team-"))
    data, sockets = folder / "pg", folder / "sock"
    password = secrets.token_urlsafe(12)
    pwfile = folder / "pwfile"
    pwfile.write_text(password + "\n")
    sockets.mkdir()
    if user is not None:
        entry = pwd.getpwnam(user)
        for path in (folder, sockets, pwfile):
            os.chown(path, entry.pw_uid, entry.pw_gid)
    folder.chmod(0o700)
    port = free_port()
    log = folder / "pg.log"
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.PIPE, "check": True}
    started = False
    moto: subprocess.Popen[bytes] | None = None
    try:
        subprocess.run(
            [
                *prefix,
                str(binaries["initdb"]),
                "-D",
                str(data),
                "-U",
                PG_USER,
                f"--pwfile={pwfile}",
                "--auth-host=scram-sha-256",
                "--auth-local=trust",
                "--no-sync",
            ],
            **quiet,  # type: ignore[call-overload]
        )
        options = (
            f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c max_connections=60"
        )
        start = ["-o", options, "-l", str(log), "-w", "-t", str(int(_STARTUP)), "start"]
        subprocess.run(
            [*prefix, str(binaries["pg_ctl"]), "-D", str(data), *start],
            **quiet,  # type: ignore[call-overload]
        )
        started = True
        s3_port = free_port()
        moto = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(s3_port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        endpoint = f"http://127.0.0.1:{s3_port}"
        _wait_http(endpoint + "/moto-api/", moto)
        yield TeamServers(folder, port, password, endpoint)
    except subprocess.CalledProcessError as exc:
        detail = (exc.stderr or b"").decode(errors="replace").strip().splitlines()
        raise RuntimeError(
            f"cannot start PostgreSQL: {detail[-1] if detail else exc}; log {log}"
        ) from None
    finally:
        if moto is not None:
            moto.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                moto.wait(10)
            if moto.poll() is None:
                moto.kill()
        if started:
            subprocess.run(
                [*prefix, str(binaries["pg_ctl"]), "-D", str(data), "-m", "immediate", "stop"],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                check=False,
            )
        shutil.rmtree(folder, ignore_errors=True)
