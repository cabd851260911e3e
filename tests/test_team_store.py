"""The team store on real engines: a PostgreSQL cluster (the Iceberg catalog and the event log)
and an S3-compatible server on 127.0.0.1 (moto), both started by the `team_servers` fixture;
the code under test is pyiceberg with PyArrow's real S3 client."""

from __future__ import annotations

import itertools
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import EXAMPLE, SAMPLE_RUNS, CliResult, TeamStoreForTest, example_run
from tests.processes import REPO, Child

pytestmark = pytest.mark.usefixtures("team_servers")


def team_env() -> dict[str, str]:
    """The environment a reviewer's process has: this test's secrets and cache, the repo."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    env.pop("SSH_AUTH_SOCK", None)
    return env


def spawn(*args: str | Path, mode: tuple[str, ...] = ()) -> Child:
    command = [sys.executable, "-m", "tests.processes", *mode, "--", *map(str, args)]
    proc = subprocess.Popen(
        command,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=team_env(),
    )
    return Child(proc)


def runs_of(run_cli: Callable[..., CliResult], store: str | Path) -> list[str]:
    result = run_cli("runs", "--store", store, "--json")
    assert result.code == 0, result.err
    doc = json.loads(result.out)
    return sorted(run["run_id"] for run in doc["runs"])


def result_rows(store: str) -> dict[str, int]:
    """Case result rows per run in the team store's cache (a row published twice shows)."""
    from evaltui.actions.store import open_store

    with open_store(store, read_only=True) as opened:
        return dict(
            opened.con.execute("SELECT run_id, count(*) FROM results GROUP BY run_id").fetchall()
        )


def example_folder(folder: Path, runs: dict[str, dict]) -> Path:
    """The example's suite and the given runs (run_id -> fields replaced in run_003)."""
    folder.mkdir(parents=True)
    shutil.copy(EXAMPLE / "ci-claim-gate-v1.suite.json", folder)
    for run_id, fields in runs.items():
        doc = example_run(run_id, **fields)
        (folder / f"{run_id}.run.json").write_text(json.dumps(doc))
    return folder


def test_published_sample_runs_review_the_same_as_the_local_store(
    s3_team_store: TeamStoreForTest, run_cli: Callable[..., CliResult], tmp_path: Path
) -> None:
    local = tmp_path / "local.duckdb"
    assert run_cli("load", SAMPLE_RUNS, "--store", local).code == 0
    published = run_cli("publish", SAMPLE_RUNS, "--to", s3_team_store.uri, "--json")
    assert published.code == 0, published.err
    first = json.loads(published.out)
    assert len(first["runs_added"]) == 14 and len(first["suites_added"]) == 3

    for baseline in ("sr-prod-v3.4", "run_001"):
        team = run_cli("compare", baseline, "--store", s3_team_store.uri, "--json")
        assert team.code == 0, team.err
        mine = run_cli("compare", baseline, "--store", local, "--json")
        assert json.loads(team.out) == json.loads(mine.out)
    cases = run_cli("cases", "sr-v3.5-rc3-s3", "--store", s3_team_store.uri, "--json")
    assert cases.out == run_cli("cases", "sr-v3.5-rc3-s3", "--store", local, "--json").out

    again = run_cli("publish", SAMPLE_RUNS, "--to", s3_team_store.uri, "--json")
    assert again.code == 0, again.err
    second = json.loads(again.out)
    assert second["runs_added"] == [] and second["suites_added"] == []
    assert len(second["runs_unchanged"]) == 14
    assert second["snapshots"] == first["snapshots"]  # nothing committed the second time

    from_store = run_cli("publish", "--from-store", local, "--to", s3_team_store.uri, "--json")
    assert json.loads(from_store.out)["snapshots"] == first["snapshots"]


def test_a_shared_folder_warehouse_holds_the_tables_files(
    team_store: TeamStoreForTest, run_cli: Callable[..., CliResult], tmp_path: Path
) -> None:
    assert "warehouse=file://" in team_store.uri
    assert run_cli("publish", SAMPLE_RUNS / "ci-claim-gate", "--to", team_store.uri).code == 0
    files = list((tmp_path / "shared-warehouse").rglob("*.parquet"))
    assert {f.parent.parent.name for f in files} >= {"runs", "results", "cases"}
    assert runs_of(run_cli, team_store.uri) == [f"run_00{i}" for i in range(1, 6)]


def test_runs_of_a_published_suite_publish_alone_and_a_new_snapshot_is_noticed(
    team_store: TeamStoreForTest, run_cli: Callable[..., CliResult], tmp_path: Path
) -> None:
    assert run_cli("publish", EXAMPLE, "--to", team_store.uri).code == 0
    assert runs_of(run_cli, team_store.uri) == [f"run_00{i}" for i in range(1, 6)]
    later = tmp_path / "later"
    later.mkdir()
    (later / "run_006.run.json").write_text(json.dumps(example_run("run_006")))
    result = run_cli("publish", later, "--to", team_store.uri, "--json")
    assert result.code == 0, result.err
    assert json.loads(result.out)["runs_added"] == ["run_006"]
    shown = run_cli("runs", "--store", team_store.uri, "--json")
    assert "pulling a new snapshot" in shown.err  # the cache of the older snapshot is not used
    assert "run_006" in shown.out


def test_a_changed_suite_or_run_is_refused_like_a_local_load(
    team_store: TeamStoreForTest, run_cli: Callable[..., CliResult], tmp_path: Path
) -> None:
    assert run_cli("publish", EXAMPLE, "--to", team_store.uri).code == 0
    before = runs_of(run_cli, team_store.uri)
    changed = tmp_path / "changed"
    changed.mkdir()
    suite = json.loads((EXAMPLE / "ci-claim-gate-v1.suite.json").read_text())
    suite["description"] = "edited after publishing"
    (changed / "ci-claim-gate-v1.suite.json").write_text(json.dumps(suite))
    refused = run_cli("publish", changed, "--to", team_store.uri)
    assert refused.code == 2
    assert refused.err.count("\n") == 1
    assert "suite_id 'ci-claim-gate-v1' is already in the team store with different" in refused.err

    run = tmp_path / "run"
    run.mkdir()
    (run / "run_003.run.json").write_text(json.dumps(example_run("run_003", artifact="other")))
    refused = run_cli("publish", run, "--to", team_store.uri)
    assert refused.code == 2 and refused.err.count("\n") == 1
    assert "run_id 'run_003' is already in the team store with different content" in refused.err
    assert runs_of(run_cli, team_store.uri) == before


def test_four_processes_publishing_at_once_lose_nothing(
    team_store: TeamStoreForTest, run_cli: Callable[..., CliResult], tmp_path: Path
) -> None:
    folders = [
        example_folder(tmp_path / f"p{n}", {f"p{n}-{i}": {} for i in range(3)} | {"shared-run": {}})
        for n in range(4)
    ]
    children = [spawn("publish", folder, "--to", team_store.uri, "--json") for folder in folders]
    outcomes = [child.finish() for child in children]
    for code, _out, err in outcomes:
        assert code == 0, err
    added = [run for _code, out, _err in outcomes for run in json.loads(out)["runs_added"]]
    expected = sorted([f"p{n}-{i}" for n in range(4) for i in range(3)] + ["shared-run"])
    assert sorted(added) == expected  # the shared run was added by exactly one of them
    assert runs_of(run_cli, team_store.uri) == expected
    # no case rows twice: every run has the example's cases once
    rows = result_rows(team_store.uri)
    assert sorted(rows) == expected
    assert set(rows.values()) == {len(example_run("x")["cases"])}


def test_kill_during_publish_leaves_the_previous_snapshot_readable(
    team_store: TeamStoreForTest, run_cli: Callable[..., CliResult], tmp_path: Path
) -> None:
    assert run_cli("publish", EXAMPLE, "--to", team_store.uri).code == 0
    before = run_cli("compare", "run_001", "--store", team_store.uri, "--json")
    folder = example_folder(tmp_path / "more", {"more-1": {}, "more-2": {}})
    child = spawn("publish", folder, "--to", team_store.uri, mode=("pause-publish", "results"))
    child.expect("COMMITTED results")  # its case rows are committed, its runs row is not
    child.kill()
    after = run_cli("compare", "run_001", "--store", team_store.uri, "--json")
    assert after.code == 0, after.err
    assert json.loads(after.out) == json.loads(before.out)
    # publishing again completes it, without the killed publish's rows twice
    again = run_cli("publish", folder, "--to", team_store.uri, "--json")
    assert sorted(json.loads(again.out)["runs_added"]) == ["more-1", "more-2"]
    rows = result_rows(team_store.uri)
    assert rows["more-1"] == rows["run_003"] == rows["more-2"] == len(example_run("x")["cases"])


@pytest.mark.parametrize(
    ("uri", "says"),
    [
        ("iceberg+postgresql://evaltui@127.0.0.1:{port}/db", "?warehouse=s3://BUCKET/PREFIX"),
        (
            "iceberg+postgresql://evaltui:hunter2secret@127.0.0.1:{port}/db?warehouse=s3://b/p",
            "must not hold a password",
        ),
        ("iceberg+postgresql://evaltui@127.0.0.1:{port}/db?warehouse=gs://b", "s3://BUCKET"),
        ("iceberg+postgresql://evaltui@127.0.0.1:{port}/db?warehouse=s3://b&x=1", "unknown"),
        ("iceberg+postgresql://127.0.0.1:{port}/db?warehouse=s3://b", "PostgreSQL user"),
    ],
)
def test_a_bad_uri_is_one_line_and_exit_2(
    team_store: TeamStoreForTest, run_cli: Callable[..., CliResult], uri: str, says: str
) -> None:
    uri = uri.format(port=team_store.servers.pg_port)
    for args in (("runs", "--store", uri), ("publish", SAMPLE_RUNS, "--to", uri)):
        result = run_cli(*args)
        assert result.code == 2
        assert result.err.count("\n") == 1 and says in result.err, result.err
        assert "hunter2secret" not in result.err and "Traceback" not in result.err


def test_wrong_password_and_unreachable_server_are_one_line_and_exit_2(
    team_store: TeamStoreForTest,
    run_cli: Callable[..., CliResult],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert run_cli("publish", EXAMPLE, "--to", team_store.uri).code == 0
    monkeypatch.setenv("PGPASSWORD", "wrong-password-123")
    for args in (("runs", "--store", team_store.uri), ("publish", EXAMPLE, "--to", team_store.uri)):
        result = run_cli(*args)
        assert result.code == 2, result.err
        assert result.err.count("\n") == 1
        assert "password authentication failed" in result.err
        assert "wrong-password-123" not in result.err + result.out
    from tests.team_servers import free_port

    nowhere = team_store.uri.replace(f":{team_store.servers.pg_port}/", f":{free_port()}/")
    result = run_cli("runs", "--store", nowhere)
    assert result.code == 2 and result.err.count("\n") == 1
    assert "cannot reach the team store's catalog" in result.err


def test_a_store_entry_in_the_config_names_the_team_store(
    team_store: TeamStoreForTest,
    run_cli: Callable[..., CliResult],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    servers = team_store.servers
    monkeypatch.delenv("PGPASSWORD")
    config = tmp_path / ".evaltui" / "config.toml"
    config.parent.mkdir()
    config.write_text(
        f'store = "team"\n[stores.team]\nuri = "{team_store.uri}"\n'
        f'password = "{servers.pg_password}"\n'
    )
    assert run_cli("publish", EXAMPLE, "--to", "team").code == 0
    assert runs_of(run_cli, "team") == [f"run_00{i}" for i in range(1, 6)]
    shown = run_cli("runs")  # the config's store is the team store
    assert shown.code == 0 and "run_003" in shown.out
    assert servers.pg_password not in shown.out + shown.err


def test_a_decision_replays_against_its_snapshot_after_a_later_publish(
    s3_team_store: TeamStoreForTest, run_cli: Callable[..., CliResult], tmp_path: Path
) -> None:
    from tests.decision_support import make_key, public_line, write_allowed_signers

    assert run_cli("publish", EXAMPLE, "--to", s3_team_store.uri).code == 0
    key = make_key(tmp_path, "alice")
    allowed = write_allowed_signers(
        tmp_path / "allowed_signers", f"alice@example.com {public_line(key)}"
    )
    decided = run_cli(
        "decide", "run_003", "--rollback", "ci-answerer-v1", "--rollback-external",
        "--limitation", "canary only", "--key", key, "--reviewer", "alice@example.com",
        "--no-agent", "--out", tmp_path / "out", "--store", s3_team_store.uri, "--json",
    )  # fmt: skip
    assert decided.code == 0, decided.err
    decision = Path(json.loads(decided.out)["decision"])
    doc = json.loads(decision.read_text())
    assert set(doc["team_store"]["snapshots"]) >= {"runs", "results", "suites"}
    assert s3_team_store.servers.pg_password not in decision.read_text()

    # a later publish: another artifact with run_003's very results (copied evidence)
    later = tmp_path / "later"
    later.mkdir()
    copy = example_run("run_003-copy", artifact="ci-answerer-copycat")
    (later / "run_003-copy.run.json").write_text(json.dumps(copy))
    assert run_cli("publish", later, "--to", s3_team_store.uri).code == 0
    flags = json.loads(run_cli("runs", "--store", s3_team_store.uri, "--json").out)["runs"]
    assert any(f["kind"] == "copied_evidence" for r in flags for f in r["evidence_flags"])

    verified = run_cli(
        "verify", decision, "--allowed-signers", allowed, "--store", s3_team_store.uri, "--json"
    )
    assert verified.code == 0, verified.out + verified.err
    checks = {c["check"]: c["status"] for c in json.loads(verified.out)["checks"]}
    assert checks["replay.evidence"] == "pass"
    # the same replay against today's tables (a local store of both publishes) fails: the
    # later publish did change what the decision would mean
    local = tmp_path / "today.duckdb"
    assert run_cli("load", EXAMPLE, later, "--store", local).code == 0
    today = run_cli("verify", decision, "--allowed-signers", allowed, "--store", local, "--json")
    assert today.code == 1
    checks = {c["check"]: c["status"] for c in json.loads(today.out)["checks"]}
    assert checks["replay.evidence"] == "fail"

    listed = run_cli("decisions", "--store", s3_team_store.uri, "--json")
    assert listed.code == 0, listed.err
    entries = json.loads(listed.out)["decisions"]
    assert [(e["decision_id"], e["state"]) for e in entries] == [(doc["decision_id"], "ok")]


def test_concurrent_decision_events_are_all_kept(
    team_store: TeamStoreForTest, run_cli: Callable[..., CliResult]
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from evaltui.actions.team import connect

    assert run_cli("publish", EXAMPLE, "--to", team_store.uri).code == 0

    def append(n: int) -> int:
        with connect(team_store.uri) as team:
            return team.append_event("verdict", f"reviewer-{n % 4}", {"n": n})

    with ThreadPoolExecutor(8) as pool:
        ids = list(pool.map(append, range(40)))
    assert len(set(ids)) == 40
    with connect(team_store.uri) as team:
        events = team.events("verdict")
    assert sorted(payload["n"] for _id, _who, payload, _at in events) == list(range(40))


def test_the_app_on_a_team_store_tells_of_a_newer_snapshot(
    team_store: TeamStoreForTest, run_cli: Callable[..., CliResult], tmp_path: Path
) -> None:
    import asyncio

    from evaltui.actions.store import open_store
    from evaltui.tui.app import EvaltuiApp
    from tests.tui_helpers import settle

    assert run_cli("publish", EXAMPLE, "--to", team_store.uri).code == 0
    later = tmp_path / "later"
    later.mkdir()
    (later / "run_006.run.json").write_text(json.dumps(example_run("run_006")))

    async def main() -> list[str]:
        app = EvaltuiApp(open_store(team_store.uri, read_only=True))
        try:
            async with app.run_test(size=(120, 40)) as pilot:
                await settle(pilot)
                await pilot.press("r")
                await settle(pilot)
                assert not [n for n in app._notifications if "newer snapshot;" in n.message]
                published = await asyncio.to_thread(
                    run_cli, "publish", later, "--to", team_store.uri
                )
                assert published.code == 0
                await pilot.press("r")
                await settle(pilot)
                return [n.message for n in app._notifications]
        finally:
            app.release_store()

    messages = asyncio.run(main())
    assert any("has a newer snapshot" in m for m in messages), messages


def test_the_apps_decide_worker_records_the_snapshot_and_logs_to_the_team(
    team_store: TeamStoreForTest, run_cli: Callable[..., CliResult], tmp_path: Path
) -> None:
    from evaltui.actions.decisions import load_log
    from evaltui.actions.store import open_store
    from evaltui.decision.draft import prepare
    from evaltui.decision.record import DecisionChoices
    from evaltui.tui.screens.decide import SignRequest, sign_decision
    from tests.decision_support import make_key

    assert run_cli("publish", EXAMPLE, "--to", team_store.uri).code == 0
    key = make_key(tmp_path, "alice")
    with open_store(team_store.uri, read_only=True) as store:
        assert store.team is not None
        request = SignRequest(
            draft=prepare(store.con, "run_003", None),
            choices=DecisionChoices(
                rollback_artifact="ci-answerer-v1",
                rollback_external=True,
                limitation="canary only",
                reviewer="alice@example.com",
                chosen_explicitly=True,
            ),
            key=None,
            key_path=key,
            passphrase=None,
            out_dir=tmp_path / "out",
            log_path=tmp_path / "local.decisions.jsonl",
            team=store.team,
        )
        outcome = sign_decision(store.con, request)
        assert outcome.written is not None, outcome.message
        assert outcome.written.warnings == ()
        assert outcome.doc is not None
        snapshots = {k: v and int(v) for k, v in outcome.doc["team_store"]["snapshots"].items()}
        assert snapshots == dict(store.team.snapshots)
        log = load_log(store.con, tmp_path / "local.decisions.jsonl", store.team)
    assert not (tmp_path / "local.decisions.jsonl").exists()  # the team's log, not a file
    assert [e.decision_id for e in log.entries] == [outcome.doc["decision_id"]]
    assert log.signatures == (1,)


# -- verdicts on a team store --------------------------------------------------------------------

VERDICT_RUN, VERDICT_BASE = "sr-v3.5-rc1", "sr-prod-v3.4"  # rc1 fails missed_escalation
SUPPORT_ROUTER = SAMPLE_RUNS / "support-router"

# A reviewer's process: opens the team store, says READY, waits for a line, then records a
# confirm on each case through the one application layer (`actions.verdicts.record_verdict`).
RECORDER = """
import sys
from evaltui.actions import verdicts as v
from evaltui.actions.store import open_store

uri, reviewer, run, baseline, *cases = sys.argv[1:]
with open_store(uri, read_only=True) as store:
    folder = v.ledger_dir_for(store.path)
    v.load_verdicts(store.con, folder)
    print("READY", flush=True)
    sys.stdin.readline()
    for case in cases:
        v.record_verdict(store.con, folder, v.VerdictRequest(
            run=run, baseline=baseline, case_id=case, kind="confirm", reviewer=reviewer))
print("DONE", flush=True)
"""


def failures_of(run_cli: Callable[..., CliResult], store: str | Path) -> list[str]:
    done = run_cli(
        "cases", VERDICT_RUN, "--vs", VERDICT_BASE, "--failures", "--json", "--store", store
    )
    assert done.code == 0, done.err
    return sorted(r["case_id"] for r in json.loads(done.out)["cases"])


def team_verdicts(run_cli: Callable[..., CliResult], uri: str) -> dict:
    listed = run_cli("verdicts", "--store", uri, "--json")
    assert listed.code == 0, listed.err
    return json.loads(listed.out)


def test_four_processes_recording_verdicts_at_once_lose_nothing(
    team_store: TeamStoreForTest, run_cli: Callable[..., CliResult], tmp_path: Path
) -> None:
    assert run_cli("publish", SUPPORT_ROUTER, "--to", team_store.uri).code == 0
    cases = failures_of(run_cli, team_store.uri)  # also pulls the cache once, for the children
    assert len(cases) == 16
    # two machines of alice and two of bob: each reviewer's events are one chain, appended to
    # from two processes at once
    who = ["alice", "alice", "bob", "bob"]
    mine = {n: cases[n * 4 : n * 4 + 4] for n in range(4)}
    children = []
    for n, reviewer in enumerate(who):
        proc = subprocess.Popen(
            [sys.executable, "-c", RECORDER, team_store.uri, reviewer, VERDICT_RUN,
             VERDICT_BASE, *mine[n]],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True, env=team_env(), cwd=tmp_path,
        )  # fmt: skip
        children.append(Child(proc))
    for child in children:
        child.expect("READY")
    for child in children:  # all four record at once
        child.send()
    for child in children:
        code, out, err = child.finish()
        assert code == 0 and "DONE" in out, err

    doc = team_verdicts(run_cli, team_store.uri)
    assert doc["ledgers"].startswith("iceberg+postgresql://")  # the team's log, not a folder
    seen = sorted((v["reviewer"], v["case_id"]) for v in doc["verdicts"])
    assert seen == sorted((who[n], case) for n in range(4) for case in mine[n])
    # each reviewer's eight events from two processes are one unbroken chain (a fork, two
    # events chained to one head, would be a damaged chain: `verdicts` would exit 2)
    assert doc["heads"]["alice"]["seq"] == 8 and doc["heads"]["bob"]["seq"] == 8
    for reviewer in ("alice", "bob"):
        chain = sorted(
            (v for v in doc["verdicts"] if v["reviewer"] == reviewer), key=lambda v: v["seq"]
        )
        assert [v["seq"] for v in chain] == list(range(1, 9))
        assert all(b["prev"] == a["hash"] for a, b in itertools.pairwise(chain))
    assert doc["pairs"] == [
        {"run": VERDICT_RUN, "baseline": VERDICT_BASE, "judged": 16, "failures": 16}
    ]
    # no ledger file was written anywhere (the team table is the log)
    assert not list(tmp_path.rglob("*.jsonl"))


def test_reviewer_b_sees_reviewer_as_verdict_and_the_app_counts_it(
    team_store: TeamStoreForTest,
    run_cli: Callable[..., CliResult],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert run_cli("publish", SUPPORT_ROUTER, "--to", team_store.uri).code == 0
    case = failures_of(run_cli, team_store.uri)[0]
    recorded = run_cli(
        "verdict", VERDICT_RUN, case, "--vs", VERDICT_BASE, "--kind", "waive", "--reason",
        "known flaky upstream", "--reviewer", "alice", "--store", team_store.uri,
    )  # fmt: skip
    assert recorded.code == 0, recorded.err
    said = " ".join(recorded.out.split())  # the console wraps long lines
    assert "event 1 of theirs in the team store iceberg+postgresql://" in said
    assert "1 of 16 failures judged" in said

    # bob, on another machine: his own cache folder
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "bob-cache"))
    doc = team_verdicts(run_cli, team_store.uri)
    assert [(v["reviewer"], v["case_id"], v["kind"], v["state"]) for v in doc["verdicts"]] == [
        ("alice", case, "waive", "current")
    ]
    # the app's reads: a fresh connection reads the team's verdicts
    from evaltui.actions import judging
    from evaltui.actions.store import open_store
    from evaltui.actions.verdicts import case_verdicts, ledger_dir_for

    with open_store(team_store.uri, read_only=True) as store:
        judged = judging.read_ledgers(
            store.con, ledger_dir_for(store.path), VERDICT_RUN, VERDICT_BASE
        )
        assert judged.status is not None and judged.status.team is not None
        assert judged.judged == 1
        found = case_verdicts(store.con, VERDICT_RUN, VERDICT_BASE, [case])
    assert found[case].reviewer == "alice" and found[case].kind == "waive"
    # bob's verdict on the same case: both kept, the latest counting one is the case's
    again = run_cli(
        "verdict", VERDICT_RUN, case, "--vs", VERDICT_BASE, "--kind", "confirm",
        "--reviewer", "bob", "--store", team_store.uri,
    )  # fmt: skip
    assert again.code == 0, again.err
    doc = team_verdicts(run_cli, team_store.uri)
    assert sorted((v["reviewer"], v["kind"]) for v in doc["verdicts"]) == [
        ("alice", "waive"),
        ("bob", "confirm"),
    ]


def test_wrong_password_on_verdict_is_one_line_and_exit_2(
    team_store: TeamStoreForTest,
    run_cli: Callable[..., CliResult],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert run_cli("publish", SUPPORT_ROUTER, "--to", team_store.uri).code == 0
    case = failures_of(run_cli, team_store.uri)[0]
    monkeypatch.setenv("PGPASSWORD", "wrong-password-123")
    for args in (
        ("verdict", VERDICT_RUN, case, "--vs", VERDICT_BASE, "--kind", "confirm",
         "--reviewer", "alice", "--store", team_store.uri),
        ("verdicts", "--store", team_store.uri),
    ):  # fmt: skip
        result = run_cli(*args)
        assert result.code == 2, result.err
        assert result.err.count("\n") == 1 and "Traceback" not in result.err
        assert "password authentication failed" in result.err
        assert "wrong-password-123" not in result.err + result.out
    monkeypatch.setenv("PGPASSWORD", team_store.servers.pg_password)
    assert team_verdicts(run_cli, team_store.uri)["verdicts"] == []  # nothing was written


def test_a_decision_on_a_team_store_uses_the_teams_verdicts_and_replays(
    team_store: TeamStoreForTest,
    run_cli: Callable[..., CliResult],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tests.decision_support import make_key, public_line, write_allowed_signers

    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)
    assert run_cli("publish", SUPPORT_ROUTER, "--to", team_store.uri).code == 0
    done = run_cli(
        "cases", VERDICT_RUN, "--vs", VERDICT_BASE, "--failures", "--json",
        "--store", team_store.uri,
    )  # fmt: skip
    rows = json.loads(done.out)["cases"]
    missed = [
        r for r in rows if r["expected_route"] == "ESCALATE" and r["route"] in ("SERVE", "ABSTAIN")
    ]
    for row in missed[:8]:  # bob relabels on the team store
        judged = run_cli(
            "verdict", VERDICT_RUN, row["case_id"], "--vs", VERDICT_BASE, "--kind", "relabel",
            "--expected", row["route"], "--reason", "not an escalation case",
            "--reviewer", "bob@example.com", "--store", team_store.uri,
        )  # fmt: skip
        assert judged.code == 0, judged.err
    key = make_key(tmp_path, "alice", comment="alice@example.com")
    allowed = write_allowed_signers(
        tmp_path / "allowed_signers", f"alice@example.com {public_line(key)}"
    )
    decided = run_cli(
        "decide", VERDICT_RUN, "--baseline", VERDICT_BASE, "--rollback", "support-router-v3.4",
        "--limitation", "offline evidence only", "--key", key, "--reviewer",
        "alice@example.com", "--out", tmp_path / "out", "--name", "d", "--no-agent",
        "--store", team_store.uri,
    )  # fmt: skip
    assert decided.code == 0, decided.out + decided.err
    doc = json.loads((tmp_path / "out" / "d.decision.json").read_text())
    assert doc["review_status"] == "ELIGIBLE_WITH_WAIVERS"
    assert len(doc["verdicts"]["relabels"]) == 8
    assert doc["verdicts"]["ledger_heads"]["bob@example.com"]["seq"] == 8

    verified = run_cli(
        "verify", tmp_path / "out" / "d.decision.json", "--allowed-signers", allowed,
        "--store", team_store.uri, "--json",
    )  # fmt: skip
    checks = {c["check"]: c["status"] for c in json.loads(verified.out)["checks"]}
    assert checks["replay.ledgers"] == "pass", verified.out
    # the replay passes whole; only the second signature a decision with relabels needs is
    # missing (co-signing is not what this test is about)
    assert {k: v for k, v in checks.items() if v != "pass"} == {"quorum": "fail"}, verified.out


def test_a_clustered_suite_reviews_the_same_from_the_team_store(
    team_store: TeamStoreForTest, run_cli: Callable[..., CliResult], tmp_path: Path
) -> None:
    """The manifest's cluster_field travels in the suites table: a reviewer on another machine
    (no manifest file there) gets the publisher's clustered statistics."""
    from tests._stats_data import CASES, load, routes, write_run, write_suite

    folder = tmp_path / "clustered"
    folder.mkdir()
    write_suite(folder)
    manifest = folder / "hand.suite.json"
    doc = json.loads(manifest.read_text())
    doc["cluster_field"] = "tier"
    manifest.write_text(json.dumps(doc))
    write_run(folder, "base", routes(*[c["expected_route"] for c in CASES]), day=1)
    cand = routes("ABSTAIN", "SERVE", "ABSTAIN", "ESCALATE", "SERVE", "ABSTAIN", "SERVE", "SERVE")
    write_run(folder, "cand", cand, day=2)
    local = load(folder, tmp_path / "local.duckdb")
    published = run_cli("publish", folder, "--to", team_store.uri)
    assert published.code == 0, published.err
    mine = run_cli("compare", "base", "cand", "--store", local, "--json")
    assert mine.code == 0, mine.err
    assert json.loads(mine.out)["statistics"]["cluster_field"] == "tier"
    shutil.rmtree(folder)  # the reviewer's machine has no manifest
    team = run_cli("compare", "base", "cand", "--store", team_store.uri, "--json")
    assert team.code == 0, team.err
    assert json.loads(team.out) == json.loads(mine.out)


def test_a_suite_on_the_team_publishes_again_beside_a_run_of_another_team_suite(
    team_store: TeamStoreForTest, run_cli: Callable[..., CliResult], tmp_path: Path
) -> None:
    """The run's suite is seeded from the team; the suite published again is unchanged."""
    assert run_cli("publish", SAMPLE_RUNS, "--to", team_store.uri).code == 0
    folder = tmp_path / "again"
    folder.mkdir()
    shutil.copy(SAMPLE_RUNS / "ci-claim-gate" / "ci-claim-gate-v2.suite.json", folder)
    doc = json.loads((SAMPLE_RUNS / "ci-claim-gate" / "run_001.run.json").read_text())
    doc["run_id"] = "run_001_again"  # a run of ci-claim-gate-v1, which is on the team
    (folder / "run_001_again.run.json").write_text(json.dumps(doc))
    result = run_cli("publish", folder, "--to", team_store.uri, "--json")
    assert result.code == 0, result.err
    summary = json.loads(result.out)
    assert summary["runs_added"] == ["run_001_again"]
    assert "run_001_again" in runs_of(run_cli, team_store.uri)
