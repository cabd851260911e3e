"""Files evaltui writes and the folders it reads: no data lost to a name clash, no write through a
planted symlink, no hang on a FIFO, no crash on a symlink loop or a name that is not UTF-8."""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

import pytest

from evaltui import safe_files
from evaltui.decision.log import append_entry
from evaltui.errors import InputError
from tests.conftest import EXAMPLE, digest
from tests.reliability_support import capped, inspect_log, write_json

SAMPLES = 2100  # more than pipeline.INLINE_LIMIT: the cases go to a JSONL file beside the record


def _colliding_logs(folder: Path) -> None:
    # "inspect:a:b_c" and "inspect:a_b:c" have the same plain file stem, inspect_a_b_c
    write_json(folder / "one.json", inspect_log("a", "b_c", SAMPLES, 0))
    write_json(folder / "two.json", inspect_log("a_b", "c", SAMPLES, 1))


def test_logs_whose_ids_share_a_file_stem_keep_their_own_results(run_cli, tmp_path: Path) -> None:
    logs, out, store = tmp_path / "logs", tmp_path / "out", tmp_path / "s.duckdb"
    _colliding_logs(logs)
    result = run_cli("import", "inspect", logs, "--store", store, "--out", out, "--json")
    assert result.code == 0, result.err
    runs = sorted(out.glob("*.run.json"))
    assert len(runs) == 2, sorted(p.name for p in out.iterdir())
    by_id = {json.loads(p.read_text())["run_id"]: p for p in runs}
    assert set(by_id) == {"inspect:a:b_c", "inspect:a_b:c"}
    for run_id, path in by_id.items():  # each record's case file holds its own log's results
        doc = json.loads(path.read_text())
        rows = [json.loads(line) for line in (out / doc["cases"]).read_text().splitlines()]
        expected = 0.0 if run_id == "inspect:a_b:c" else 1.0  # sample 1: wrong in one log only
        assert rows[1]["case_id"] == "1"
        assert rows[1]["score"] == expected, (run_id, rows[1])
    # the store holds each run with its own results, not one log's results twice
    a = run_cli("cases", "inspect:a:b_c", "--store", store, "--json")
    b = run_cli("cases", "inspect:a_b:c", "--store", store, "--json")
    assert a.code == b.code == 0
    assert a.out != b.out
    # the names depend on the ids only: a second import into a fresh folder writes the same names
    again = tmp_path / "again"
    assert (
        run_cli("import", "inspect", logs, "--store", tmp_path / "t.duckdb", "--out", again).code
        == 0
    )
    assert sorted(p.name for p in again.iterdir()) == sorted(p.name for p in out.iterdir())


def test_import_out_never_writes_through_a_symlink(run_cli, tmp_path: Path) -> None:
    logs, out = tmp_path / "logs", tmp_path / "out"
    write_json(logs / "one.json", inspect_log("t", "e1", 3, 0))
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    out.mkdir()
    target = "inspect_t_e1.run.json"
    (out / target).symlink_to(victim)
    # the temporary names the old code used: predictable, written through
    for pid in range(os.getpid() - 5, os.getpid() + 5):
        (out / f".{target}.tmp-{pid}").symlink_to(victim)
    result = run_cli("import", "inspect", logs, "--out", out, "--no-load", "--replace")
    assert result.code == 2, result.out + result.err
    assert "is a symlink" in result.err
    assert victim.read_text() == "precious"


def test_safe_write_draws_another_name_over_a_planted_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    drawn = iter(["aaaa", "bbbb"])
    monkeypatch.setattr(secrets, "token_hex", lambda _n: next(drawn))
    (tmp_path / ".out.json.aaaa.tmp").symlink_to(victim)  # the first name it will draw
    safe_files.write_replacing(tmp_path / "out.json", b"new")
    assert victim.read_text() == "precious"
    assert (tmp_path / "out.json").read_bytes() == b"new"
    assert (tmp_path / ".out.json.aaaa.tmp").is_symlink()  # left alone, not followed


def test_decisions_log_that_is_a_symlink_is_not_appended_through(tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    log = tmp_path / "store.decisions.jsonl"
    log.symlink_to(victim)
    with pytest.raises(InputError, match="symlink"):
        append_entry(log, {"decision_id": "d"})
    assert victim.read_text() == "precious"


def test_write_errors_say_disk_full_and_read_only(tmp_path: Path, monkeypatch) -> None:
    import errno

    def full(*_args: object) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(InputError, match="no space left on the device"):
        safe_files.write_new(tmp_path / "a.json", b"x")
    assert list(tmp_path.iterdir()) == []  # the temporary file is gone again
    with pytest.raises(InputError, match="no space left on the device"):
        append_entry(tmp_path / "log.jsonl", {"a": 1})


def _folder_with_example(tmp_path: Path) -> Path:
    folder = tmp_path / "in"
    folder.mkdir()
    for source in EXAMPLE.iterdir():
        (folder / source.name).write_bytes(source.read_bytes())
    return folder


def test_a_fifo_named_like_a_record_is_refused_without_hanging(tmp_path: Path) -> None:
    folder = _folder_with_example(tmp_path)
    os.mkfifo(folder / "x.run.json")
    store = tmp_path / "s.duckdb"
    line = capped("load", folder, "--store", store).one_line()
    assert "x.run.json: is not a regular file" in line
    assert not store.exists()


@pytest.mark.parametrize("name", ["loop.run.json", "loop.json", "loop", "sub/loop.suite.json"])
def test_a_symlink_loop_in_a_loaded_folder_is_reported_or_skipped(
    run_cli, tmp_path: Path, name: str
) -> None:
    folder = _folder_with_example(tmp_path)
    link = folder / name
    link.parent.mkdir(exist_ok=True)
    link.symlink_to(link.name)  # points at itself
    store = tmp_path / "s.duckdb"
    result = run_cli("load", folder, "--store", store)
    assert "Traceback" not in result.err and "internal error" not in result.err, result.err
    if name.endswith((".run.json", ".suite.json")):
        assert result.code == 2, result.err
        lines = result.err.strip().splitlines()
        assert len(lines) == 1 and "loop" in lines[0], result.err
    else:
        assert result.code == 0, result.err


@pytest.mark.parametrize("where", [b"bad-\xff.run.json", b"sub-\xfe/ok.run.json"])
def test_a_record_whose_name_is_not_utf8_is_reported(tmp_path: Path, where: bytes) -> None:
    folder = _folder_with_example(tmp_path)
    doc = json.loads((EXAMPLE / "run_003.run.json").read_text())
    doc["run_id"] = "run_bad_name"
    raw = os.fsencode(folder) + b"/" + where
    os.makedirs(os.path.dirname(raw), exist_ok=True)
    with open(raw, "wb") as handle:
        handle.write(json.dumps(doc).encode())
    store = tmp_path / "s.duckdb"
    line = capped("load", folder, "--store", store).one_line()
    assert "not valid UTF-8" in line
    assert not store.exists()


def test_a_refused_load_into_a_new_store_leaves_no_store_behind(run_cli, tmp_path: Path) -> None:
    folder = _folder_with_example(tmp_path)
    doc = json.loads((EXAMPLE / "run_003.run.json").read_text())
    bad = [{"case_id": "nope-not-in-suite", "route": "X"}]
    (folder / "bad.run.json").write_text(json.dumps({**doc, "run_id": "bad_run", "cases": bad}))
    store = tmp_path / "new" / "store.duckdb"
    result = run_cli("load", folder, "--store", store)
    assert result.code == 2, result.err
    assert not store.exists()
    assert not Path(f"{store}.wal").exists()


def test_a_refused_load_into_an_existing_store_leaves_it_unchanged(
    run_cli, sample_store: Path, tmp_path: Path
) -> None:
    folder = _folder_with_example(tmp_path)
    doc = json.loads((EXAMPLE / "run_003.run.json").read_text())
    bad = [{"case_id": "nope-not-in-suite", "route": "X"}]
    (folder / "bad.run.json").write_text(json.dumps({**doc, "run_id": "bad_run", "cases": bad}))
    before = digest(sample_store)
    assert run_cli("load", folder, "--store", sample_store).code == 2
    assert digest(sample_store) == before


# -- verify: FIFOs where files are expected ----------------------------------------------------------


@pytest.mark.parametrize("which", ["signature", "allowed_signers", "decision"])
def test_verify_refuses_a_fifo_without_hanging(sample_store: Path, tmp_path: Path, which) -> None:
    from tests.decision_support import sign_sample_decision

    signed = sign_sample_decision(sample_store, tmp_path)
    target = {
        "signature": signed.signature,
        "allowed_signers": signed.allowed,
        "decision": signed.decision,
    }[which]
    target.unlink()
    os.mkfifo(target)
    result = capped(
        "verify", signed.decision, "--allowed-signers", signed.allowed, "--store", sample_store
    )
    assert "Traceback" not in result.err and "internal error" not in result.err, result.err
    assert result.code in (1, 2), result.err
    assert "not a regular file" in result.err + result.out, result.err + result.out


def test_import_refuses_two_different_logs_with_one_run_id(run_cli, tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    write_json(logs / "one.json", inspect_log("t", "same", 3, 0))
    write_json(logs / "two.json", inspect_log("t", "same", 3, 1))  # other results, same ids
    store = tmp_path / "s.duckdb"
    result = run_cli("import", "inspect", logs, "--store", store, "--out", tmp_path / "out")
    assert result.code == 2, result.err
    assert "also read, differently" in result.err
    assert not store.exists() and not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("tool", "name"),
    [
        ("inspect", "x.eval"),
        ("inspect", "x.json"),
        ("lm-eval", "results_2026-01-01T00-00-00.json"),
        ("mlflow", "mlflow.db"),
    ],
)
def test_import_never_hangs_on_a_fifo(tmp_path: Path, tool: str, name: str) -> None:
    folder = tmp_path / "logs"
    folder.mkdir()
    os.mkfifo(folder / name)
    result = capped("import", tool, folder, "--store", tmp_path / "s.duckdb", timeout=60)
    line = result.one_line()
    assert "internal error" not in line


def test_an_imported_log_whose_name_is_not_utf8_is_reported(tmp_path: Path) -> None:
    folder = tmp_path / "logs"
    folder.mkdir()
    with open(os.fsencode(folder) + b"/bad-\xff.json", "w") as handle:
        handle.write(json.dumps(inspect_log("t", "e", 3, 0)))
    store = tmp_path / "s.duckdb"
    line = capped("import", "inspect", folder, "--store", store).one_line()
    assert "not valid UTF-8" in line and "internal error" not in line
    assert not store.exists()


def test_a_fifo_given_as_the_signing_key_is_refused_not_waited_on(tmp_path: Path) -> None:
    """`decide --key FIFO` used to block forever reading the pipe."""
    from evaltui.decision.keys import SigningKeyError, load_signer

    fifo = tmp_path / "id_ed25519"
    os.mkfifo(fifo)
    with pytest.raises(SigningKeyError) as caught:
        load_signer(fifo, use_agent=False)
    assert "not a regular file" in str(caught.value)
