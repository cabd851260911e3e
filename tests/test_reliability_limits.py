"""Size and time limits of every reader: zip bombs (zstd and deflate) refused within a memory
cap, YAML aliases and depth, SQLite views and runaway queries. Each input is made here."""

from __future__ import annotations

import sqlite3
import struct
import time
import zlib
from pathlib import Path

import pytest
import zstandard

from evaltui.errors import InputError
from evaltui.importers import mlflow_store
from evaltui.importers.zipread import MAX_ENTRY_BYTES, ZIP_ZSTANDARD
from tests.reliability_support import capped

MEMORY_CAP_MB = 1024  # RLIMIT_AS of the child: python, zstandard and the limit itself fit
MB = 1 << 20


def _raw_zip(path: Path, entries: list[tuple[str, int, bytes, int, int]]) -> Path:
    """A zip archive written byte by byte: (name, method, compressed bytes, size, crc) each.

    The sizes and CRCs are whatever the test says, as a hostile archive's would be.
    """
    body, directory = b"", b""
    for name, method, data, size, crc in entries:
        encoded = name.encode()
        offset = len(body)
        body += (
            struct.pack(
                "<4sHHHHHIIIHH",
                b"PK\x03\x04",
                63,
                0,
                method,
                0,
                0,
                crc,
                len(data),
                size,
                len(encoded),
                0,
            )
            + encoded
            + data
        )
        directory += (
            struct.pack(
                "<4sHHHHHHIIIHHHHHII",
                b"PK\x01\x02",
                63,
                63,
                0,
                method,
                0,
                0,
                crc,
                len(data),
                size,
                len(encoded),
                0,
                0,
                0,
                0,
                0,
                offset,
            )
            + encoded
        )
    end = struct.pack(
        "<4sHHHHIIH",
        b"PK\x05\x06",
        0,
        0,
        len(entries),
        len(entries),
        len(directory),
        len(body),
        0,
    )
    path.write_bytes(body + directory + end)
    return path


def _zstd_zeros(size: int) -> bytes:
    """One zstd frame of `size` zero bytes, made a megabyte at a time."""
    compressor = zstandard.ZstdCompressor(level=1).compressobj(size=size)
    block = bytes(MB)
    parts = [compressor.compress(block) for _ in range(size // MB)]
    parts.append(compressor.flush())
    return b"".join(parts)


def _deflate_zeros(size: int) -> bytes:
    """A raw deflate stream of `size` zero bytes: one compressed megabyte, repeated.

    A full flush empties the compressor's history, so every megabyte compresses to the same bytes.
    """
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = compressor.compress(bytes(MB)) + compressor.flush(zlib.Z_FULL_FLUSH)
    return block * (size // MB) + compressor.flush()


_READ = """
import sys
from pathlib import Path
from evaltui.importers.inspect_ai import read_inspect
from evaltui.cli.main import main
main(["import", "inspect", sys.argv[1], "--store", sys.argv[1] + ".duckdb"])
"""


@pytest.mark.parametrize("method", [ZIP_ZSTANDARD, 8])
@pytest.mark.parametrize("claimed", ["true size", "small size", "the limit"])
def test_a_decompression_bomb_is_refused_within_a_memory_cap(
    tmp_path: Path, method: int, claimed: str
) -> None:
    inflated = 1200 * MB  # more than the child may hold: reading it whole fails the test
    data = _zstd_zeros(inflated) if method == ZIP_ZSTANDARD else _deflate_zeros(inflated)
    assert len(data) < 2 * MB
    # the directory may tell the truth (refused before reading), or lie: then the stream is cut
    # at the claimed size, or at the limit (the worst case: the limit's worth is held in memory)
    size = {"true size": inflated, "small size": 1000, "the limit": MAX_ENTRY_BYTES}[claimed]
    path = _raw_zip(tmp_path / "bomb.eval", [("header.json", method, data, size, 0)])
    started = time.monotonic()
    result = capped(path, code=_READ, memory_mb=MEMORY_CAP_MB)
    line = result.one_line()
    assert "bomb.eval: entry 'header.json'" in line
    assert ("inflates to more than" in line) or ("damaged" in line), line
    assert result.peak_rss_mb < 600, result.peak_rss_mb
    assert time.monotonic() - started < 30


def test_an_entry_under_the_limit_is_still_read(tmp_path: Path) -> None:
    from evaltui.importers.zipread import ZipArchive

    text = b'{"a": "' + b"x" * (3 * MB) + b'"}'
    path = _raw_zip(
        tmp_path / "ok.zip",
        [
            (
                "e.json",
                ZIP_ZSTANDARD,
                zstandard.ZstdCompressor().compress(text),
                len(text),
                zlib.crc32(text),
            )
        ],
    )
    with ZipArchive(path) as archive:
        assert archive.read("e.json") == text


def test_a_large_damaged_zstd_entry_is_not_read_whole(tmp_path: Path) -> None:
    """Compressed bytes are streamed: a big entry that is garbage fails at its first frame."""
    garbage = bytes(range(256)) * (100 * MB // 256)
    path = _raw_zip(
        tmp_path / "damaged.eval", [("header.json", ZIP_ZSTANDARD, garbage, 50 * MB, 0)]
    )
    result = capped(path, code=_READ, memory_mb=MEMORY_CAP_MB)
    assert "damaged.eval: entry 'header.json'" in result.one_line()
    assert result.peak_rss_mb < 150, result.peak_rss_mb  # never the 100 MB entry in memory


def test_an_entry_claiming_more_than_the_limit_is_refused_before_reading(tmp_path: Path) -> None:
    path = _raw_zip(
        tmp_path / "big.eval",
        [("header.json", ZIP_ZSTANDARD, b"\x00" * 16, MAX_ENTRY_BYTES + 1, 0)],
    )
    line = capped(path, code=_READ).one_line()
    assert "inflates to more than" in line and "big.eval" in line


# -- YAML -----------------------------------------------------------------------------------------


def _mlruns(tmp_path: Path, meta: str) -> Path:
    """An mlruns folder whose one run's meta.yaml is `meta` (the experiment's is fine)."""
    root = tmp_path / "mlruns"
    (root / "1" / "run1").mkdir(parents=True)
    (root / "1" / "meta.yaml").write_text("experiment_id: '1'\nname: e\n")
    (root / "1" / "run1" / "meta.yaml").write_text(meta)
    return root


def _laughs(levels: int = 9) -> str:
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for level in range(1, levels):
        refs = ",".join([f"*a{level - 1}"] * 9)
        lines.append(f"a{level}: &a{level} [{refs}]")
    lines.append(f"run_id: r1\nbomb: *a{levels - 1}")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(
    "meta",
    [
        pytest.param(_laughs(), id="billion-laughs"),
        pytest.param("run_id: r1\nname: " + "[" * 20000 + "]" * 20000 + "\n", id="flow-deep"),
        pytest.param(
            "run_id: r1\nname:\n  " + "- " * 20000 + "x\n",
            id="block-deep",
        ),
    ],
)
def test_hostile_meta_yaml_is_refused_quickly(tmp_path: Path, meta: str) -> None:
    root = _mlruns(tmp_path, meta)
    started = time.monotonic()
    result = capped(
        "import",
        "mlflow",
        root,
        "--store",
        tmp_path / "s.duckdb",
        memory_mb=MEMORY_CAP_MB,
        timeout=60,
    )
    line = result.one_line()
    assert "meta.yaml" in line and "invalid YAML" in line, line
    assert time.monotonic() - started < 30


def test_a_huge_meta_yaml_is_refused(tmp_path: Path) -> None:
    root = _mlruns(tmp_path, "run_id: r1\n#" + "x" * (2 * MB) + "\n")
    line = capped("import", "mlflow", root, "--store", tmp_path / "s.duckdb").one_line()
    assert "meta.yaml: is" in line and "limited to" in line


# -- SQLite ---------------------------------------------------------------------------------------


def _mlflow_db(path: Path, params: str) -> Path:
    con = sqlite3.connect(path)
    con.executescript(
        f"""
        CREATE TABLE experiments (experiment_id INTEGER, name TEXT, lifecycle_stage TEXT);
        CREATE TABLE runs (run_uuid TEXT, name TEXT, experiment_id INTEGER, status TEXT,
            lifecycle_stage TEXT, start_time INTEGER, artifact_uri TEXT);
        CREATE TABLE tags (run_uuid TEXT, key TEXT, value TEXT);
        INSERT INTO experiments VALUES (1, 'e', 'active');
        INSERT INTO runs VALUES ('r1', 'r', 1, 'FINISHED', 'active', 0, '');
        {params}
        """
    )
    con.commit()
    con.close()
    return path


def test_an_mlflow_db_with_a_view_for_a_table_is_refused_without_hanging(tmp_path: Path) -> None:
    db = _mlflow_db(
        tmp_path / "mlflow.db",
        """CREATE VIEW params AS WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n)
           SELECT 'r1' AS run_uuid, 'k' || i AS key, 'v' AS value FROM n;""",
    )
    line = capped("import", "mlflow", db, "--store", tmp_path / "s.duckdb", timeout=60).one_line()
    assert "mlflow.db: 'params' is a view, not a table" in line


def test_a_runaway_sqlite_query_is_stopped_by_the_time_limit(tmp_path: Path) -> None:
    db = _mlflow_db(tmp_path / "mlflow.db", "CREATE TABLE params (run_uuid, key, value);")
    con = sqlite3.connect(db)
    started = time.monotonic()
    with (
        pytest.raises(InputError, match=r"took more than 0\.5s"),
        mlflow_store.time_limited(con, db, 0.5),
    ):
        con.execute(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT count(*) FROM n"
        ).fetchall()
    assert time.monotonic() - started < 20
    con.close()


def test_model_version_that_is_not_a_number_is_refused(tmp_path: Path) -> None:
    db = _mlflow_db(
        tmp_path / "mlflow.db",
        """CREATE TABLE params (run_uuid TEXT, key TEXT, value TEXT);
           CREATE TABLE model_versions (name TEXT, version INTEGER, run_id TEXT);
           INSERT INTO model_versions VALUES ('m', 'abc', 'r1');""",
    )
    line = capped("import", "mlflow", db, "--store", tmp_path / "s.duckdb").one_line()
    assert "mlflow.db: model_versions.version is 'abc'" in line
