"""Verdict ledgers: recording, the hash chain's checks, merging, and the rules on what counts.

Real store files (the sample runs), real ledger files in the test's folder.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from evaltui.actions import verdicts as v
from evaltui.actions.cases import FailureNumber, failure_number, jump, open_pair
from evaltui.contract.discover import read_batch
from evaltui.decision import ledger
from evaltui.errors import InputError, NotFoundError
from evaltui.store.connection import Store
from evaltui.store.loader import load_batch
from evaltui.store.queries import get_run
from evaltui.store.queries_cases import CaseFilter
from tests.conftest import PAIR_BASELINE, PAIR_CANDIDATE, SAMPLE_RUNS

RUN, BASE = PAIR_CANDIDATE, PAIR_BASELINE
NOW = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def con(sample_store: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    with Store.open(sample_store, read_only=True) as store:
        yield store.con


@pytest.fixture
def ledgers(sample_store: Path) -> Path:
    return v.ledger_dir_for(sample_store)


def failures(con: duckdb.DuckDBPyConnection, count: int = 8) -> list[str]:
    opened = open_pair(con, get_run(con, RUN), get_run(con, BASE), CaseFilter())
    rows = con.execute(
        f"SELECT case_id FROM {opened.pair.table} WHERE NOT correct ORDER BY row LIMIT ?", [count]
    ).fetchall()
    return [r[0] for r in rows]


def request(
    case_id: str, kind: str = "confirm", reviewer: str = "alice", **kw: object
) -> v.VerdictRequest:
    return v.VerdictRequest(RUN, BASE, case_id, kind, reviewer, **kw)  # type: ignore[arg-type]


def lines(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines(keepends=True)


def test_ledger_dir_is_beside_the_store(tmp_path: Path) -> None:
    assert (
        v.ledger_dir_for(tmp_path / ".evaltui" / "store.duckdb")
        == tmp_path / ".evaltui" / "verdicts"
    )
    assert v.ledger_dir_for(tmp_path / "x.duckdb") == tmp_path / ".evaltui" / "verdicts"


def test_record_writes_a_chained_canonical_line_and_counts(
    con: duckdb.DuckDBPyConnection, ledgers: Path
) -> None:
    cases = failures(con)
    assert v.load_verdicts(con, ledgers).events == 0
    judged, total = v.pair_progress(con, RUN, BASE)
    assert (judged, total) == (0, len(failures(con, 10_000)))
    first = v.record_verdict(con, ledgers, request(cases[0]), now=NOW)
    second = v.record_verdict(
        con, ledgers, request(cases[1], "waive", reason="known flake"), now=NOW
    )
    assert (first.seq, second.seq) == (1, 2) and second.prev == first.hash
    assert v.pair_progress(con, RUN, BASE) == (2, total)
    text = (ledgers / "alice.jsonl").read_text()
    docs = [json.loads(line) for line in text.splitlines()]
    assert [d["kind"] for d in docs] == ["confirm", "waive"]
    assert list(docs[0]) == sorted(docs[0])  # canonical: keys sorted, no spaces
    assert ": " not in text and ", " not in text.replace("known flake", "")
    # a fresh read of the files gives the same
    status = v.load_verdicts(con, ledgers)
    assert status.ok and status.events == 2
    assert status.heads["alice"].hash == second.hash and status.heads["alice"].seq == 2
    assert v.pair_progress(con, RUN, BASE) == (2, total)


def test_ledger_survives_a_store_rebuild(tmp_path: Path) -> None:
    store_path = tmp_path / ".evaltui" / "store.duckdb"
    with Store.open(store_path) as store:
        load_batch(store, read_batch([SAMPLE_RUNS]))
    ledgers = v.ledger_dir_for(store_path)
    with Store.open(store_path, read_only=True) as store:
        case = failures(store.con)[0]
        v.record_verdict(store.con, ledgers, request(case, "waive", reason="accepted"), now=NOW)
    store_path.unlink()
    with Store.open(store_path) as store:  # rebuilt from the same runs
        load_batch(store, read_batch([SAMPLE_RUNS]))
    with Store.open(store_path, read_only=True) as store:
        assert v.load_verdicts(store.con, ledgers).ok
        found = v.case_verdicts(store.con, RUN, BASE, [case])
        assert found[case].kind == "waive" and found[case].counts
        assert v.pair_progress(store.con, RUN, BASE)[0] == 1


def _three_lines(con: duckdb.DuckDBPyConnection, ledgers: Path) -> Path:
    for case in failures(con, 3):
        v.record_verdict(con, ledgers, request(case), now=NOW)
    return ledgers / "alice.jsonl"


def _problem(con: duckdb.DuckDBPyConnection, ledgers: Path) -> InputError:
    status = v.load_verdicts(con, ledgers)
    assert len(status.problems) == 1, status.problem_lines()
    return status.problems[0]


def test_a_flipped_byte_is_named_with_its_line(
    con: duckdb.DuckDBPyConnection, ledgers: Path
) -> None:
    path = _three_lines(con, ledgers)
    data = bytearray(path.read_bytes())
    at = data.index(b'"kind":"confirm"', len(lines(path)[0]))  # in the second line
    data[at + 9] ^= 0x01  # confirm -> bonfirm
    path.write_bytes(bytes(data))
    problem = _problem(con, ledgers)
    assert problem.line == 2 and "hash does not match" in problem.message
    assert problem.render().startswith(f"{path}:2: ")
    assert v.load_verdicts(con, ledgers).events == 1  # the line before stays; nothing after it


def test_a_byte_flipped_into_bad_json_or_bad_utf8(
    con: duckdb.DuckDBPyConnection, ledgers: Path
) -> None:
    path = _three_lines(con, ledgers)
    original = path.read_bytes()
    third = len(lines(path)[0]) + len(lines(path)[1])
    path.write_bytes(original[:third] + b"[" + original[third + 1 :])
    problem = _problem(con, ledgers)
    assert problem.line == 3 and "not valid JSON" in problem.message
    path.write_bytes(original[: third + 5] + b"\xff" + original[third + 6 :])
    problem = _problem(con, ledgers)
    assert problem.line == 3 and "UTF-8" in problem.message


def test_a_dropped_line_is_named(con: duckdb.DuckDBPyConnection, ledgers: Path) -> None:
    path = _three_lines(con, ledgers)
    kept = lines(path)
    path.write_bytes(kept[0] + kept[2])
    problem = _problem(con, ledgers)
    assert problem.line == 2 and "seq 3 on line 2" in problem.message
    assert "dropped" in problem.message


def test_a_reordered_line_is_named(con: duckdb.DuckDBPyConnection, ledgers: Path) -> None:
    path = _three_lines(con, ledgers)
    kept = lines(path)
    path.write_bytes(kept[0] + kept[2] + kept[1])
    problem = _problem(con, ledgers)
    assert problem.line == 2 and "moved" in problem.message


def test_a_line_with_its_seq_patched_still_breaks_the_chain(
    con: duckdb.DuckDBPyConnection, ledgers: Path
) -> None:
    """Renumbering the lines after dropping one (and fixing their hashes) leaves `prev` wrong."""
    from evaltui.decision.ledger import event_hash

    path = _three_lines(con, ledgers)
    kept = [json.loads(line) for line in lines(path)]
    third = dict(kept[2], seq=2)
    del third["hash"]
    third["hash"] = event_hash(third)
    import rfc8785

    path.write_bytes(rfc8785.dumps(kept[0]) + b"\n" + rfc8785.dumps(third) + b"\n")
    problem = _problem(con, ledgers)
    assert problem.line == 2 and "prev is not the previous line's hash" in problem.message


def test_a_line_of_another_reviewer_is_named(con: duckdb.DuckDBPyConnection, ledgers: Path) -> None:
    path = _three_lines(con, ledgers)
    shutil.copy(path, ledgers / "bob.jsonl")  # alice's lines under bob's name
    status = v.load_verdicts(con, ledgers)
    assert [p.path for p in status.problems] == [str(ledgers / "bob.jsonl")]
    assert status.problems[0].line == 1
    assert "reviewer alice in the ledger of bob" in status.problems[0].message
    assert status.events == 3  # alice's own file still counts


def test_an_unfinished_last_line_is_named(con: duckdb.DuckDBPyConnection, ledgers: Path) -> None:
    path = _three_lines(con, ledgers)
    path.write_bytes(path.read_bytes()[:-1])
    problem = _problem(con, ledgers)
    assert problem.line == 3 and "no newline" in problem.message


def test_nothing_is_appended_to_a_damaged_ledger(
    con: duckdb.DuckDBPyConnection, ledgers: Path
) -> None:
    path = _three_lines(con, ledgers)
    kept = lines(path)
    path.write_bytes(kept[0] + kept[2])
    before = path.read_bytes()
    case = failures(con, 4)[3]
    with pytest.raises(InputError) as caught:
        v.record_verdict(con, ledgers, request(case), now=NOW)
    assert caught.value.field == "reviewer" and f"{path}:2:" in str(caught.value)
    assert path.read_bytes() == before


def test_two_reviewers_ledgers_merge_by_copying_the_files(
    sample_store: Path, tmp_path: Path
) -> None:
    """Alice and Bob judge on their own machines (own folders); copying Bob's ledger into Alice's
    folder merges them."""
    alice_dir, bob_dir = tmp_path / "alice" / "verdicts", tmp_path / "bob" / "verdicts"
    with Store.open(sample_store, read_only=True) as store:
        cases = failures(store.con, 3)
        v.record_verdict(store.con, alice_dir, request(cases[0]), now=NOW)
        v.record_verdict(store.con, bob_dir, request(cases[1], reviewer="bob"), now=NOW)
        v.record_verdict(
            store.con, bob_dir, request(cases[0], "waive", "bob", reason="fine by me"), now=NOW
        )
        shutil.copy(bob_dir / "bob.jsonl", alice_dir / "bob.jsonl")
        status = v.load_verdicts(store.con, alice_dir)
        assert status.ok and set(status.heads) == {"alice", "bob"} and status.events == 3
        assert v.pair_progress(store.con, RUN, BASE)[0] == 2
        found = v.case_verdicts(store.con, RUN, BASE, cases)
        assert found[cases[0]].reviewers == 2
        history = v.case_history(store.con, RUN, BASE, cases[0])
        assert [(e.reviewer, e.kind) for e in history] == [("alice", "confirm"), ("bob", "waive")]


def test_another_process_appending_is_read_before_the_next_line(
    sample_store: Path, ledgers: Path, tmp_path: Path
) -> None:
    """The CLI appends to alice's ledger while the app (this connection) has it loaded: the
    app's next verdict reads the ledgers again and chains after the CLI's line."""
    import subprocess
    import sys

    with Store.open(sample_store, read_only=True) as app:
        cases = failures(app.con, 3)
        v.load_verdicts(app.con, ledgers)
        done = subprocess.run(
            [sys.executable, "-m", "evaltui", "verdict", RUN, cases[0], "--vs", BASE,
             "--kind", "confirm", "--reviewer", "alice", "--store", str(sample_store)],
            capture_output=True, text=True, cwd=tmp_path, timeout=120, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        event = v.record_verdict(app.con, ledgers, request(cases[1]), now=NOW)
        assert event.seq == 2
        assert v.pair_progress(app.con, RUN, BASE)[0] == 2
    with Store.open(sample_store, read_only=True) as fresh:
        assert v.load_verdicts(fresh.con, ledgers).ok


def test_latest_per_reviewer_supersedes_and_notes_do_not(
    con: duckdb.DuckDBPyConnection, ledgers: Path
) -> None:
    case = failures(con, 1)[0]
    v.record_verdict(con, ledgers, request(case), now=NOW)
    v.record_verdict(con, ledgers, request(case, "waive", reason="accepted"), now=NOW)
    v.record_verdict(con, ledgers, request(case, "note", reason="asked the team"), now=NOW)
    assert v.case_verdicts(con, RUN, BASE, [case])[case].kind == "waive"
    history = v.case_history(con, RUN, BASE, case)
    assert [(e.kind, e.superseded) for e in history] == [
        ("confirm", True),
        ("waive", False),
        ("note", False),
    ]
    v.load_verdicts(con, ledgers)  # the same from the files
    assert [e.superseded for e in v.case_history(con, RUN, BASE, case)] == [True, False, False]


def test_a_note_alone_does_not_judge(con: duckdb.DuckDBPyConnection, ledgers: Path) -> None:
    case = failures(con, 1)[0]
    v.record_verdict(con, ledgers, request(case, "note", reason="looking"), now=NOW)
    assert v.pair_progress(con, RUN, BASE)[0] == 0
    assert v.case_verdicts(con, RUN, BASE, [case]) == {}


def test_an_expired_waiver_does_not_count(con: duckdb.DuckDBPyConnection, ledgers: Path) -> None:
    case, other = failures(con, 2)
    long_ago = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
    v.record_verdict(
        con,
        ledgers,
        request(case, "waive", reason="until the fix", expires=dt.date(2020, 2, 1)),
        now=long_ago,
    )
    today = dt.datetime.now(dt.UTC).date()
    v.record_verdict(con, ledgers, request(other, "waive", reason="through today", expires=today))
    found = v.case_verdicts(con, RUN, BASE, [case, other])
    assert found[case].expired and not found[case].counts
    assert not found[other].expired and found[other].counts
    assert v.pair_progress(con, RUN, BASE)[0] == 1


def test_a_verdict_on_a_changed_suite_is_stale(sample_store: Path, ledgers: Path) -> None:
    with Store.open(sample_store, read_only=True) as store:
        case = failures(store.con, 1)[0]
        v.record_verdict(store.con, ledgers, request(case), now=NOW)
    with Store.open(sample_store) as store:  # the suite's cases changed: a new fingerprint
        store.con.execute("UPDATE suites SET evaluation_sha = 'feedfacefeedface'")
    with Store.open(sample_store, read_only=True) as store:
        assert v.load_verdicts(store.con, ledgers).ok
        found = v.case_verdicts(store.con, RUN, BASE, [case])[case]
        assert found.stale and not found.counts
        assert v.pair_progress(store.con, RUN, BASE)[0] == 0
        assert v.case_history(store.con, RUN, BASE, case)[0].stale


@pytest.mark.parametrize(
    ("kind", "extra", "field", "words"),
    [
        ("waive", {}, "reason", "needs a reason"),
        ("relabel", {"reason": "label is wrong"}, "expected", "expected route"),
        ("waive", {"reason": "x", "expires": dt.date(2026, 11, 30)}, "expires", "in the past"),
        ("confirm", {"expires": dt.date(2027, 1, 1)}, "expires", "only a waiver"),
        ("bogus", {}, "kind", "kind must be one of"),
    ],
)
def test_bad_requests_are_refused_on_their_field(
    con: duckdb.DuckDBPyConnection,
    ledgers: Path,
    kind: str,
    extra: dict[str, object],
    field: str,
    words: str,
) -> None:
    case = failures(con, 1)[0]
    with pytest.raises(InputError) as caught:
        v.record_verdict(con, ledgers, request(case, kind, **extra), now=NOW)
    assert caught.value.field == field and words in str(caught.value)
    assert not ledgers.exists()


def test_unknown_run_case_or_reviewer_is_refused(
    con: duckdb.DuckDBPyConnection, ledgers: Path
) -> None:
    case = failures(con, 1)[0]
    with pytest.raises(NotFoundError) as run_error:
        v.record_verdict(con, ledgers, v.VerdictRequest("nope", BASE, case, "confirm", "alice"))
    assert run_error.value.field == "run"
    with pytest.raises(InputError) as case_error:
        v.record_verdict(con, ledgers, request("no-such-case"))
    assert case_error.value.field == "case"
    with pytest.raises(InputError) as reviewer_error:
        v.record_verdict(con, ledgers, request(case, reviewer="../etc/passwd"))
    assert reviewer_error.value.field == "reviewer"
    assert not ledgers.exists()


def test_the_pager_steps_through_unjudged_failures_only(
    con: duckdb.DuckDBPyConnection, ledgers: Path
) -> None:
    opened = open_pair(con, get_run(con, RUN), get_run(con, BASE), CaseFilter())
    view = opened.data.view
    rows = list(view.failure_rows(con))
    assert len(rows) >= 3
    first = jump(con, view, -1, 1, unjudged_only=True)
    assert first is not None and first.target == rows[0]
    judged_case = first.rows[rows[0] - first.page_start].case_id
    v.record_verdict(con, ledgers, request(judged_case), now=NOW)
    again = jump(con, view, -1, 1, unjudged_only=True)
    assert again is not None and again.target == rows[1]  # the judged failure is skipped
    assert jump(con, view, -1, 1) is not None and jump(con, view, -1, 1).target == rows[0]  # type: ignore[union-attr]
    back = jump(con, view, rows[2], -1, unjudged_only=True)
    assert back is not None and back.target == rows[1] and back.failures_before == 0
    assert view.unjudged_count(con) == len(rows) - 1
    assert failure_number(con, view, rows[2]) == FailureNumber(view.table, rows[2], 3, len(rows))
    unjudged = failure_number(con, view, rows[2], unjudged_only=True)
    assert unjudged == FailureNumber(view.table, rows[2], 2, len(rows) - 1, unjudged=True)
    assert unjudged.label() == f"unjudged 2 of {len(rows) - 1}"
    # the judged failure keeps its place among all failures
    assert failure_number(con, view, rows[0], unjudged_only=True) == FailureNumber(
        view.table, rows[0], 1, len(rows)
    )
    # the filter: unjudged failures only, as a view
    filtered = opened.pair.view(con, CaseFilter(unjudged_only=True))
    assert filtered.total == len(rows) - 1
    assert v.pair_progress(con, RUN, BASE, pair=opened.pair) == (1, len(rows))


def test_the_pager_reads_judged_rows_again_after_a_reload(
    con: duckdb.DuckDBPyConnection, ledgers: Path
) -> None:
    """A verdict another process appended shows once the ledgers are read again."""
    from evaltui.decision import ledger

    opened = open_pair(con, get_run(con, RUN), get_run(con, BASE), CaseFilter())
    view = opened.data.view
    rows = list(view.failure_rows(con))
    assert view.unjudged_count(con) == len(rows)
    first = jump(con, view, -1, 1, unjudged_only=True)
    assert first is not None and first.target is not None
    case = first.rows[first.target - first.page_start].case_id
    sha = con.execute("SELECT evaluation_sha FROM suites WHERE suite_id = ?",
                      [get_run(con, RUN).suite_id]).fetchone()[0]  # type: ignore[index]  # fmt: skip

    def build(head: ledger.Head | None) -> ledger.VerdictEvent:  # what the other process writes
        return ledger.new_event(
            head, reviewer="bob", now=NOW, run=RUN, baseline=BASE, case_id=case,
            suite_id=get_run(con, RUN).suite_id, suite_sha=sha, kind="confirm", reason="",
            expected=None, expires=None,
        )  # fmt: skip

    ledger.append_event(ledgers / "bob.jsonl", build)
    assert view.unjudged_count(con) == len(rows)  # not read yet
    v.load_verdicts(con, ledgers)
    assert view.unjudged_count(con) == len(rows) - 1
    v.record_verdict(con, ledgers, request(case, "note", reason="seen"), now=NOW)
    assert view.unjudged_count(con) == len(rows) - 1  # a note judges nothing
    second = jump(con, view, -1, 1, unjudged_only=True)
    assert second is not None and second.target == rows[1]


@pytest.mark.parametrize("name", ["Bob Smith.jsonl", "-x.jsonl", "a\nb.jsonl", "bob (1).jsonl"])
def test_a_ledger_whose_name_is_not_a_reviewer_id_is_named_not_skipped(
    con: duckdb.DuckDBPyConnection, ledgers: Path, name: str
) -> None:
    """A reviewer's file copied in under a name no reviewer id can have (a space, a leading dot
    or dash, a newline) would drop their verdicts from every count and decision without a word:
    it is a problem, named, and none of its lines is used."""
    path = _three_lines(con, ledgers)
    shutil.copy(path, ledgers / name)
    (ledgers / "notes.txt").write_text("not a ledger")  # other files stay ignored
    status = v.load_verdicts(con, ledgers)
    assert [p.path for p in status.problems] == [str(ledgers / name)]
    assert "not a reviewer id" in status.problems[0].message
    assert status.events == 3  # alice's own file still counts


def test_an_overlong_line_is_named_by_its_length(
    con: duckdb.DuckDBPyConnection, ledgers: Path
) -> None:
    """A line far longer than any event (a pasted log, a runaway editor macro) is named as too
    long before any JSON is parsed, and the lines before it still count."""
    path = _three_lines(con, ledgers)
    kept = lines(path)
    huge = b'{"baseline":"' + b"x" * 5_000_000 + b'"}\n'
    path.write_bytes(kept[0] + huge + kept[1])
    problem = _problem(con, ledgers)
    assert (problem.path, problem.line) == (str(path), 2)
    assert problem.message == (
        f"the line is {len(huge) - 1:,} bytes long; a ledger line is at most "
        f"{ledger.LINE_LIMIT:,} (damaged, or not a ledger)"
    )
    assert v.load_verdicts(con, ledgers).events == 1


def test_an_event_longer_than_a_line_may_be_is_not_written(
    con: duckdb.DuckDBPyConnection, ledgers: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the reader would refuse is never written (a limit of 300 bytes stands in for a case
    id of 64 KiB)."""
    monkeypatch.setattr(ledger, "LINE_LIMIT", 300)
    case = failures(con, 1)[0]
    with pytest.raises(InputError) as caught:
        v.record_verdict(con, ledgers, request(case, "note", reason="n" * 200), now=NOW)
    assert caught.value.message.startswith("the verdict would be a line of ")
    assert caught.value.message.endswith("bytes; a ledger line is at most 300")
    assert not (ledgers / "alice.jsonl").exists() or not (ledgers / "alice.jsonl").read_bytes()


def test_hidden_files_beside_the_ledgers_are_left_alone(
    con: duckdb.DuckDBPyConnection, ledgers: Path
) -> None:
    """An editor's lock (Emacs links `.#alice.jsonl` while the file is open) or the `._` copy
    macOS writes on some drives is not a ledger and must not stop `decide`."""
    path = _three_lines(con, ledgers)
    (ledgers / ".#alice.jsonl").symlink_to("root@host.1234:1700000000")
    (ledgers / "._alice.jsonl").write_bytes(b"\x00\x05\x16\x07 AppleDouble")
    status = v.load_verdicts(con, ledgers)
    assert status.ok, status.problem_lines()
    assert status.events == 3 and path.exists()


def test_a_ledger_swapped_for_a_fifo_after_listing_is_named_not_waited_on(
    con: duckdb.DuckDBPyConnection, ledgers: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Between listing the folder and reading it, a ledger can become a FIFO (or a link to
    /dev/zero); the read must refuse it, not wait forever for a writer."""
    import os
    import threading

    path = _three_lines(con, ledgers)
    fifo = ledgers / "carol.jsonl"
    os.mkfifo(fifo)
    listing = ledger.ledger_files
    monkeypatch.setattr(  # as if carol.jsonl was a regular file when the folder was listed
        ledger,
        "ledger_files",
        lambda folder: ([*listing(folder)[0], (str(fifo), "carol")], []),
    )
    found: list[v.LedgerStatus] = []
    reader = threading.Thread(target=lambda: found.append(v.load_verdicts(con, ledgers)))
    reader.daemon = True
    reader.start()
    reader.join(timeout=30)
    if reader.is_alive():  # release the stuck read before failing
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        reader.join(timeout=10)
        pytest.fail("reading the ledgers waited on a FIFO")
    status = found[0]
    assert [(p.path, p.message) for p in status.problems] == [
        (str(fifo), "is not a regular file; not read as a ledger")
    ]
    assert status.events == 3 and path.exists()
