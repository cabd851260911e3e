"""Decision files are written atomically, never over another file, and logged append-only."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from evaltui.decision import writer
from evaltui.decision.draft import prepare
from evaltui.decision.files import DecisionExists, write_new
from evaltui.decision.keys import load_signer
from evaltui.decision.log import append_entry, log_path_for_store, read_log
from evaltui.decision.record import DecisionChoices, build_record
from evaltui.decision.writer import sign_and_write
from tests.decision_support import make_key

CHOICES = DecisionChoices(
    rollback_artifact="ci-answerer-v1",
    rollback_external=True,
    limitation="canary only",
    reviewer="alice",
    chosen_explicitly=True,
)


def test_write_new_never_overwrites(tmp_path: Path) -> None:
    target = tmp_path / "a.decision.json"
    write_new(target, b"first")
    with pytest.raises(DecisionExists, match="never overwritten"):
        write_new(target, b"second")
    assert target.read_bytes() == b"first"
    assert [p.name for p in tmp_path.iterdir()] == ["a.decision.json"]  # no temporary file left


def test_write_new_refuses_a_dangling_symlink(tmp_path: Path) -> None:
    target = tmp_path / "a.decision.json"
    target.symlink_to(tmp_path / "elsewhere")
    with pytest.raises(DecisionExists):
        write_new(target, b"data")
    assert not (tmp_path / "elsewhere").exists()


@pytest.fixture
def record(sample_con):
    return build_record(prepare(sample_con, "run_003"), CHOICES)


def test_sign_and_write_refuses_existing_files_and_writes_nothing(record, tmp_path: Path) -> None:
    signer = load_signer(make_key(tmp_path, "k"), use_agent=False)
    out = tmp_path / "out"
    out.mkdir()
    (out / "x.decision.json.sig").write_text("someone else's")
    with pytest.raises(DecisionExists):
        sign_and_write(record, signer, out, name="x")
    assert sorted(p.name for p in out.iterdir()) == ["x.decision.json.sig"]
    assert (out / "x.decision.json.sig").read_text() == "someone else's"


def test_failed_signature_write_removes_the_new_json(record, tmp_path: Path, monkeypatch) -> None:
    signer = load_signer(make_key(tmp_path, "k"), use_agent=False)
    real = writer.write_new
    calls = []

    def flaky(path: Path, data: bytes) -> None:
        calls.append(path)
        if len(calls) == 2:
            raise OSError("disk full")
        real(path, data)

    monkeypatch.setattr(writer, "write_new", flaky)
    with pytest.raises(OSError, match=r"^disk full$"):
        sign_and_write(record, signer, tmp_path / "out", name="x")
    out = tmp_path / "out"
    assert calls == [out / "x.decision.json", out / "x.decision.json.sig"]
    assert list(out.iterdir()) == []


def test_sign_and_write_logs_and_lists(record, sample_store: Path, tmp_path: Path) -> None:
    signer = load_signer(make_key(tmp_path, "k"), use_agent=False)
    log = log_path_for_store(sample_store)
    assert log.name == "sample.decisions.jsonl"
    written = sign_and_write(record, signer, tmp_path / "out", log_path=log)
    assert written.json_path.name == f"{record.decision_id}.decision.json"
    assert written.sha256 == hashlib.sha256(written.json_path.read_bytes()).hexdigest()
    assert written.log_path == log
    second = sign_and_write(
        build_record(prepare_again(sample_store), CHOICES), signer, tmp_path / "out", log_path=log
    )
    entries, problems = read_log(log)
    assert problems == []
    assert [e.decision_id for e in entries] == [written.decision_id, second.decision_id]
    assert [e.state for e in entries] == ["ok", "ok"]
    assert entries[0].entry["signer"] == signer.public_key.fingerprint
    second.json_path.write_bytes(b"{}")
    written.json_path.unlink()
    assert [e.state for e in read_log(log)[0]] == ["missing", "changed"]


def prepare_again(store: Path):
    from evaltui.store.connection import Store

    with Store.open(store, read_only=True) as opened:
        return prepare(opened.con, "run_003")


def test_log_survives_a_bad_line(tmp_path: Path) -> None:
    log = tmp_path / "x.decisions.jsonl"
    append_entry(log, {"decision_id": "a"})
    with log.open("a") as handle:
        handle.write("{not json\n")
    append_entry(log, {"decision_id": "b"})
    entries, problems = read_log(log)
    assert [e.decision_id for e in entries] == ["a", "b"]
    assert len(problems) == 1 and problems[0].line == 2


def test_unwritable_log_is_a_warning_not_a_lost_decision(record, tmp_path: Path) -> None:
    signer = load_signer(make_key(tmp_path, "k"), use_agent=False)
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where the log folder should be")
    written = sign_and_write(
        record, signer, tmp_path / "out", log_path=blocker / "x.decisions.jsonl"
    )
    assert written.json_path.exists() and written.sig_path.exists()
    assert written.log_path is None
    assert written.warnings and "not logged" in written.warnings[0]
