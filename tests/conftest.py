"""Shared fixtures: real DuckDB store files in temporary folders, the bundled sample runs,
and an in-process CLI runner. No test touches the developer's own store."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from hypothesis import HealthCheck, settings
from hypothesis.database import DirectoryBasedExampleDatabase

if TYPE_CHECKING:
    import duckdb

    from evaltui.store.queries_case_pages import PairCases
    from tests.team_servers import TeamServers

REPO = Path(__file__).resolve().parent.parent
SAMPLE_RUNS = REPO / "sample_runs"
EXAMPLE = SAMPLE_RUNS / "ci-claim-gate"  # one suite and its runs: the base of made-up inputs
REAL_LOGS = REPO / "tests" / "real_logs"  # logs written by other tools, with their licences

# Fuzzing (tests/test_fuzz_*.py): CI runs the same 40 examples per property every time; set
# EVALTUI_FUZZ_EXAMPLES=N for N fresh random ones, remembered in .hypothesis/ when they fail.
FUZZ_ENV = "EVALTUI_FUZZ_EXAMPLES"
_SLOW_IS_FINE = [HealthCheck.too_slow, HealthCheck.data_too_large]
settings.register_profile(
    "ci",
    max_examples=40,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=_SLOW_IS_FINE,
)
settings.register_profile(
    "fuzz",
    max_examples=int(os.environ.get(FUZZ_ENV) or 1000),
    deadline=None,
    database=DirectoryBasedExampleDatabase(str(REPO / ".hypothesis" / "examples")),
    suppress_health_check=_SLOW_IS_FINE,
)
settings.load_profile("fuzz" if os.environ.get(FUZZ_ENV) else "ci")


def example_run(run_id: str, **fields: object) -> dict:
    """A fresh copy of the example's run_003 record, named `run_id`, with `fields` replaced."""
    doc = json.loads((EXAMPLE / "run_003.run.json").read_text())
    return {**doc, "run_id": run_id, **fields}


def digest(path: Path) -> str:
    """The SHA-256 of a file ('(none)' if there is none): 'byte-for-byte unchanged' in a test."""
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else "(none)"


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Keep the developer's store and environment out of every test."""
    monkeypatch.delenv("EVALTUI_STORE", raising=False)
    monkeypatch.delenv("EVALTUI_WAIT", raising=False)
    # and the developer's own config file (~/.config/evaltui/config.toml)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.chdir(tmp_path)


@dataclass
class CliResult:
    code: int
    out: str
    err: str


@pytest.fixture
def run_cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., CliResult]:
    """Run `evaltui ARGS` in-process and capture exit code, stdout and stderr."""
    from evaltui.cli.main import main

    def run(*args: str | Path) -> CliResult:
        capsys.readouterr()
        try:
            main([str(a) for a in args])
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return run


@pytest.fixture(scope="session")
def _loaded_sample_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from evaltui.contract.discover import read_batch
    from evaltui.store.connection import Store
    from evaltui.store.loader import load_batch

    path = tmp_path_factory.mktemp("sample-store") / "store.duckdb"
    with Store.open(path) as store:
        load_batch(store, read_batch([SAMPLE_RUNS]))
    return path


@pytest.fixture
def sample_store(_loaded_sample_store: Path, tmp_path: Path) -> Path:
    """A private copy of a store holding the bundled sample runs."""
    path = tmp_path / "sample.duckdb"
    shutil.copy(_loaded_sample_store, path)
    return path


@pytest.fixture(scope="session")
def _loaded_hostile_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from evaltui.contract.discover import read_batch
    from evaltui.store.connection import Store
    from evaltui.store.loader import load_batch
    from tests.hostile import write_hostile_review

    folder = write_hostile_review(tmp_path_factory.mktemp("hostile") / "review")
    path = folder.parent / "hostile.duckdb"
    with Store.open(path) as store:
        load_batch(store, read_batch([folder]))
    return path


@pytest.fixture
def full_hostile_store(_loaded_hostile_store: Path, tmp_path: Path) -> Path:
    """A private copy of a store holding tests/hostile.py's review (every free text hostile)."""
    path = tmp_path / "hostile.duckdb"
    shutil.copy(_loaded_hostile_store, path)
    return path


@pytest.fixture
def sample_con(sample_store: Path) -> Iterator:
    from evaltui.store.connection import Store

    with Store.open(sample_store, read_only=True) as store:
        yield store.con


# A candidate of the sample runs and its baseline: the pair the case-list tests page through.
PAIR_BASELINE, PAIR_CANDIDATE = "sr-prod-v3.4", "sr-v3.5-rc3-s3"


@pytest.fixture
def pair(sample_con: duckdb.DuckDBPyConnection) -> PairCases:
    """The sample pair's case list (`PairCases`), built on `sample_con`."""
    from evaltui.store.queries import get_run
    from evaltui.store.queries_case_pages import PairCases

    return PairCases.build(
        sample_con, get_run(sample_con, PAIR_CANDIDATE), get_run(sample_con, PAIR_BASELINE)
    )


@pytest.fixture
def real_logs() -> Path:
    """The folder of logs written by the real tools (tests/real_logs, see its README)."""
    return REAL_LOGS


@pytest.fixture(scope="session")
def team_servers() -> Iterator[TeamServers]:
    """A throwaway PostgreSQL cluster and an S3-compatible server on 127.0.0.1 for the session
    (skipped when PostgreSQL is not installed, failed then under EVALTUI_REQUIRE_TEAM_SERVERS=1)."""
    from tests.team_servers import start_team_servers

    with start_team_servers() as servers:
        yield servers


@dataclass
class TeamStoreForTest:
    uri: str
    servers: TeamServers
    database: str


def _team_store(
    servers: TeamServers, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, *, s3: bool
) -> TeamStoreForTest:
    database = servers.new_database()
    for name, value in servers.env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    if s3:
        return TeamStoreForTest(servers.s3_uri(database, servers.new_bucket()), servers, database)
    uri = servers.folder_uri(database, tmp_path / "shared-warehouse")
    return TeamStoreForTest(uri, servers, database)


@pytest.fixture
def team_store(
    team_servers: TeamServers, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> TeamStoreForTest:
    """A fresh, empty team store (its own database; its files in a shared folder), its secrets
    in the environment and its cache in this test's folder."""
    return _team_store(team_servers, monkeypatch, tmp_path, s3=False)


@pytest.fixture
def s3_team_store(
    team_servers: TeamServers, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> TeamStoreForTest:
    """`team_store` with its files in its own bucket of the S3 server (PyArrow's S3 client)."""
    return _team_store(team_servers, monkeypatch, tmp_path, s3=True)
