"""inspect_ai logs: every real log (deflate and zstd archives, a cancelled JSON log) and bad files."""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path

import pytest

from evaltui.errors import InputError
from evaltui.importers.zipread import ZIP_ZSTANDARD, ZipArchive
from evaltui.review.report import review_runs
from evaltui.store.connection import Store
from evaltui.store.queries import list_runs
from tests.importer_support import imported, refused

UNSCORED_LOG = "2025-02-11T15-17-00-05-00_popularity_dPiJifoWeEQBrfWsAopzWr.eval"
CANCELLED_LOG = "2025-05-12T20-28-13-04-00_popularity.json"
ZSTD_LOG = "generated_zstd_log_formats.eval"


def _one_run(store: Path):
    with Store.open(store, read_only=True) as opened:
        [run] = list_runs(opened.con)
        review = review_runs(opened.con, run.run_id)
        routes = opened.con.execute(
            """SELECT r.case_id, c.expected_route, r.route FROM results r
               JOIN cases c ON c.suite_id = ? AND c.case_id = r.case_id ORDER BY r.case_id""",
            [run.suite_id],
        ).fetchall()
    return review.baseline, routes


@pytest.mark.parametrize(
    ("log", "cases", "scorer_metric", "logged", "rate", "routes"),
    [
        ("log_read_sample.eval", 1, "match/accuracy", 1.0, 1.0, [("1", "Yes", "Yes")]),
        ("mmlu-summary-choices.eval", 1, "choice/accuracy", 0.0, 0.0, [("1", "A", "C")]),
        (ZSTD_LOG, 1, "match/accuracy", 0.0, 0.0, [("1", "Yes", "No")]),
        (
            CANCELLED_LOG,
            3,
            "match/accuracy",
            2 / 3,
            2 / 3,
            [("1", "Yes", "Yes"), ("2", "No", "No"), ("3", "Yes", "No")],
        ),
    ],
)
def test_each_scored_log(
    real_logs: Path, run_cli, tmp_path: Path, log, cases, scorer_metric, logged, rate, routes
) -> None:
    store = tmp_path / "s.duckdb"
    data = imported(run_cli, "inspect", real_logs / "inspect_ai" / log, store)
    assert [r["cases"] for r in data["runs"]] == [cases]
    review, found = _one_run(store)
    assert review.run.metrics[scorer_metric] == pytest.approx(logged)
    assert review.metrics_recomputed["exact_route_rate"] == pytest.approx(rate)
    assert review.metrics_recomputed["unscored_cases"] == 0
    assert review.evidence == ()  # inspect's accuracy agrees with the per-case verdicts
    assert found == routes
    assert review.status == "NO_GUARDRAILS"  # imported: only evidence checks


def test_cancelled_log_loads_what_it_has_and_says_so(
    real_logs: Path, run_cli, tmp_path: Path
) -> None:
    store = tmp_path / "s.duckdb"
    data = imported(run_cli, "inspect", real_logs / "inspect_ai" / CANCELLED_LOG, store)
    [run] = data["runs"]
    assert "status cancelled: loaded the 3 samples the log has" in run["notes"]
    review, _ = _one_run(store)
    assert review.run.params["status"] == "cancelled" and review.run.tags["status"] == "cancelled"
    assert review.run.metrics["match/accuracy"] == pytest.approx(0.667, abs=5e-4)
    assert review.run.params["dataset_samples"] == "100" and review.run.params["limit"] == "3"


def test_unscored_log_loads_and_is_rejected(real_logs: Path, run_cli, tmp_path: Path) -> None:
    store = tmp_path / "s.duckdb"
    data = imported(run_cli, "inspect", real_logs / "inspect_ai" / UNSCORED_LOG, store)
    [run] = data["runs"]
    assert run["cases"] == 10
    assert "unscored: 10 of 10 samples have no match score" in run["notes"]
    review, routes = _one_run(store)
    assert {route for _, _, route in routes} == {"UNSCORED"}
    assert review.metrics_recomputed["unscored_cases"] == 10
    assert review.status == "REJECT_UNSCORED"
    assert "exact_route_rate" not in review.run.metrics  # no accuracy was logged, none is claimed
    with Store.open(store, read_only=True) as opened:
        outputs = opened.con.execute("SELECT DISTINCT output FROM results").fetchall()
    assert sorted(o for (o,) in outputs) == ["No", "Yes"]  # the answers are kept, not scored


def test_zstd_entries_are_read_and_checked(real_logs: Path) -> None:
    path = real_logs / "inspect_ai" / ZSTD_LOG
    with zipfile.ZipFile(path) as plain:
        assert {i.compress_type for i in plain.infolist()} == {ZIP_ZSTANDARD}
        with pytest.raises(NotImplementedError):
            plain.read("header.json")
    with ZipArchive(path) as archive:
        data = {name: archive.read(name) for name in archive.names()}  # every CRC-32 checked
    assert json.loads(data["header.json"])["eval"]["model"] == "ollama/llama3.1"
    assert json.loads(data["samples/1_epoch_1.json"])["scores"]["match"]["value"] == "I"


def test_folder_imports_every_log_and_pairs_the_same_samples(
    real_logs: Path, run_cli, tmp_path: Path
) -> None:
    store = tmp_path / "s.duckdb"
    data = imported(run_cli, "inspect", real_logs / "inspect_ai", store)
    assert len(data["runs"]) == 5 and len(data["suites"]) == 4
    assert sum(r["cases"] for r in data["runs"]) == 16
    by_file = {Path(r["source"]).name: r for r in data["runs"]}
    zstd, sample = by_file[ZSTD_LOG], by_file["log_read_sample.eval"]
    assert (
        zstd["suite_id"] == sample["suite_id"]
    )  # the same popularity sample 1 with the same target
    assert by_file[CANCELLED_LOG]["suite_id"] != sample["suite_id"]
    with Store.open(store, read_only=True) as opened:
        review = review_runs(
            opened.con, zstd["run_id"], [sample["run_id"], by_file[CANCELLED_LOG]["run_id"]]
        )
    gemma, cancelled = review.runs
    assert (
        gemma.comparable
        and gemma.paired is not None
        and (gemma.paired.n, gemma.paired.fixed) == (1, 1)
    )
    assert not cancelled.comparable and {d.field for d in cancelled.differences} >= {"suite_id"}


def test_truncated_archive_is_refused(real_logs: Path, run_cli, tmp_path: Path) -> None:
    data = (real_logs / "inspect_ai" / "log_read_sample.eval").read_bytes()
    path = tmp_path / "cut.eval"
    path.write_bytes(data[: len(data) // 2])
    line = refused(run_cli, "inspect", path, tmp_path / "s.duckdb")
    assert "cut.eval: not a readable zip archive" in line


def test_damaged_zstd_entry_is_refused(real_logs: Path, run_cli, tmp_path: Path) -> None:
    path = tmp_path / "damaged.eval"
    shutil.copy(real_logs / "inspect_ai" / ZSTD_LOG, path)
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo("header.json")
    data = bytearray(path.read_bytes())
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    for offset in range(start + 8, start + 40):
        data[offset] ^= 0x5A
    path.write_bytes(bytes(data))
    line = refused(run_cli, "inspect", path, tmp_path / "s.duckdb")
    assert "damaged.eval: entry 'header.json' is damaged" in line


@pytest.mark.parametrize("method", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])
def test_damaged_stored_or_deflated_entry_is_refused(method: int, tmp_path: Path) -> None:
    """zipfile checks these entries' CRC-32 itself; a flipped byte is 'damaged', not read."""
    path = tmp_path / "a.zip"
    payload = json.dumps({"n": list(range(200))}).encode()
    with zipfile.ZipFile(path, "w", method) as archive:
        archive.writestr("x.json", payload)
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo("x.json")
    data = bytearray(path.read_bytes())
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    data[start + info.compress_size // 2] ^= 0x01
    path.write_bytes(bytes(data))
    with ZipArchive(path) as archive, pytest.raises(InputError) as caught:
        archive.read("x.json")
    assert "entry 'x.json' is damaged" in caught.value.render()


def test_json_that_is_not_an_inspect_log_is_refused(run_cli, tmp_path: Path) -> None:
    path = tmp_path / "other.json"
    path.write_text(json.dumps({"version": 2, "results": {"winogrande": {}}}))
    line = refused(run_cli, "inspect", path, tmp_path / "s.duckdb")
    assert "other.json: not an inspect_ai log" in line


def test_a_text_file_named_eval_is_refused(run_cli, tmp_path: Path) -> None:
    path = tmp_path / "notes.eval"
    path.write_text("not a zip")
    assert "notes.eval: not a readable zip archive" in refused(
        run_cli, "inspect", path, tmp_path / "s.duckdb"
    )


def test_folder_without_logs_is_refused_and_other_json_is_skipped(run_cli, tmp_path: Path) -> None:
    folder = tmp_path / "logs"
    folder.mkdir()
    (folder / "config.json").write_text('{"a": 1}')
    line = refused(run_cli, "inspect", folder, tmp_path / "s.duckdb")
    assert "config.json: nothing to import: not an inspect_ai log" in line


def test_one_damaged_log_in_a_folder_loads_nothing(
    real_logs: Path, run_cli, tmp_path: Path
) -> None:
    folder = tmp_path / "logs"
    folder.mkdir()
    shutil.copy(real_logs / "inspect_ai" / "log_read_sample.eval", folder)
    data = (real_logs / "inspect_ai" / "mmlu-summary-choices.eval").read_bytes()
    (folder / "mmlu.eval").write_bytes(data[:-200])
    line = refused(run_cli, "inspect", folder, tmp_path / "s.duckdb")
    assert "mmlu.eval" in line


def test_epochs_without_reductions_are_one_case_per_sample_judged_by_their_mean(
    real_logs: Path, run_cli, tmp_path: Path
) -> None:
    log = json.loads((real_logs / "inspect_ai" / CANCELLED_LOG).read_text())
    log["eval"]["config"]["epochs"] = 2
    second = [
        {**s, "epoch": 2, "scores": {"match": {"value": "C", "answer": "Yes"}}}
        for s in log["samples"]
    ]
    log["samples"] = log["samples"] + second
    log.pop("reductions", None)  # as older logs: no reduced scores to read
    path = tmp_path / "epochs.json"
    path.write_text(json.dumps(log))
    store = tmp_path / "s.duckdb"
    data = imported(run_cli, "inspect", path, store)
    assert data["runs"][0]["cases"] == 3
    review, routes = _one_run(store)
    # Sample 3 was wrong in epoch 1 and right in epoch 2: inspect's default reducer (mean) gives 0.5.
    assert routes == [("1", "Yes", "Yes"), ("2", "No", "No"), ("3", "Yes", "PARTIAL")]
    assert review.metrics_recomputed["exact_route_rate"] == pytest.approx(2 / 3)


def _rewrite(source: Path, target: Path, keep) -> None:
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as new:
        for name in old.namelist():
            if keep(name):
                new.writestr(name, old.read(name))


def test_summaries_only_and_unfinished_logs(real_logs: Path, run_cli, tmp_path: Path) -> None:
    source = real_logs / "inspect_ai" / "mmlu-summary-choices.eval"
    summaries = tmp_path / "summaries.eval"
    _rewrite(source, summaries, lambda n: not n.startswith("samples/"))
    data = imported(run_cli, "inspect", summaries, tmp_path / "a.duckdb")
    assert data["runs"][0]["cases"] == 1 and any(
        "summaries only" in n for n in data["runs"][0]["notes"]
    )
    review, routes = _one_run(tmp_path / "a.duckdb")
    assert routes == [("1", "A", "C")] and "log_format" not in review.run.params

    unfinished = tmp_path / "unfinished.eval"
    _rewrite(source, unfinished, lambda n: n != "header.json")
    data = imported(run_cli, "inspect", unfinished, tmp_path / "b.duckdb")
    assert "status started: loaded the 1 sample the log has" in data["runs"][0]["notes"]
    review, routes = _one_run(tmp_path / "b.duckdb")
    assert routes == [("1", "A", "C")] and review.run.params["status"] == "started"


# -- logs written by inspect_ai 0.3.285 with mockllm (tests/real_logs/inspect_generated) -----------


def _generated(real_logs: Path, scenario: str) -> Path:
    [log] = (real_logs / "inspect_generated" / scenario).iterdir()
    return log


def _review(store: Path, baseline: str, *others: str):
    with Store.open(store, read_only=True) as opened:
        return review_runs(opened.con, baseline, list(others))


def _run_of(data: dict, scenario_log: Path) -> dict:
    [run] = [r for r in data["runs"] if Path(r["source"]).name == scenario_log.name]
    return run


@pytest.mark.parametrize(
    ("scenario", "reducer", "logged_rate", "partial"),
    [("epochs_mean_at_least_1", "mean", None, 3), ("epochs_max", "max", 0.75, 0)],
)
def test_epochs_are_one_case_per_sample_judged_by_the_logged_reducer(
    scenario: str,
    reducer: str,
    logged_rate: float | None,
    partial: int,
    real_logs: Path,
    run_cli,
    tmp_path: Path,
) -> None:
    """Two epochs of 16 samples are 16 cases, judged by the reduced score of the reducer the logged
    metric uses, so an honest log's claim agrees with the cases (before: 32 cases, and the
    claim was the last reducer's)."""
    store = tmp_path / "s.duckdb"
    data = imported(run_cli, "inspect", _generated(real_logs, scenario), store)
    assert data["runs"][0]["cases"] == 16
    review, routes = _one_run(store)
    assert [case_id for case_id, _, _ in routes] == [f"q{i:02d}" for i in range(1, 17)]
    assert sum(1 for _, _, route in routes if route == "PARTIAL") == partial
    assert review.run.params["score_reducer"] == reducer and review.run.params["epochs"] == "2"
    assert review.run.metrics.get("exact_route_rate") == logged_rate
    if logged_rate is not None:
        assert review.metrics_recomputed["exact_route_rate"] == pytest.approx(logged_rate)
    assert review.evidence == ()
    with Store.open(store, read_only=True) as opened:
        row = opened.con.execute(
            "SELECT metadata->'$.epochs' FROM results WHERE case_id = 'q05'"
        ).fetchone()
    assert row is not None
    epochs = row[0]
    assert [e["epoch"] for e in json.loads(epochs)] == [1, 2]  # the epochs' own values are kept


def test_a_dict_valued_scorer_listed_first_is_passed_over(
    real_logs: Path, run_cli, tmp_path: Path
) -> None:
    store = tmp_path / "s.duckdb"
    imported(run_cli, "inspect", _generated(real_logs, "dict_first"), store)
    review, _routes = _one_run(store)
    assert review.run.params["scorer"] == "flaky_match"
    assert review.metrics_recomputed["unscored_cases"] == 0
    assert review.metrics_recomputed["exact_route_rate"] == pytest.approx(0.6875)
    assert review.run.metrics["exact_route_rate"] == pytest.approx(0.6875)


@pytest.mark.parametrize(
    ("scenario", "reason"),
    [
        ("killed", "inspect_ai status 'started': 11 of 16 samples logged"),
        ("stopped", "inspect_ai status 'error': 15 of 16 samples logged"),
    ],
)
def test_a_log_that_did_not_finish_is_marked_incomplete(
    scenario: str, reason: str, real_logs: Path, run_cli, tmp_path: Path
) -> None:
    out = tmp_path / "records"
    run_cli(
        "import",
        "inspect",
        _generated(real_logs, scenario),
        "--store",
        tmp_path / "s.duckdb",
        "--out",
        out,
        "--no-load",
    )
    [record] = [
        json.loads(p.read_text()) for p in out.rglob("*.json") if "run" in p.read_text()[:200]
    ]
    assert record["incomplete"] == reason


def test_fewer_samples_than_declared_is_incomplete_and_a_finished_log_is_not(
    real_logs: Path, tmp_path: Path
) -> None:
    from evaltui.importers.inspect_ai import read_inspect

    [plain] = read_inspect(_generated(real_logs, "plain")).runs
    assert "incomplete" not in plain.doc
    log = json.loads(_generated(real_logs, "converted").read_text())
    log["samples"] = log["samples"][:14]  # status still "success", dataset_samples 16
    cut = tmp_path / "cut.json"
    cut.write_text(json.dumps(log))
    [run] = read_inspect(cut).runs
    assert run.doc["incomplete"] == "14 of the 16 samples the log declares"
    [cancelled] = read_inspect(real_logs / "inspect_ai" / CANCELLED_LOG).runs
    assert cancelled.doc["incomplete"].startswith("inspect_ai status 'cancelled': 3 of ")


def test_a_log_without_samples_loads_from_its_reductions(
    real_logs: Path, run_cli, tmp_path: Path
) -> None:
    store = tmp_path / "s.duckdb"
    data = imported(run_cli, "inspect", _generated(real_logs, "no_samples"), store)
    assert data["runs"][0]["cases"] == 16
    assert any("log_samples=False" in note for note in data["runs"][0]["notes"])
    review, _routes = _one_run(store)
    assert review.metrics_recomputed["exact_route_rate"] == pytest.approx(0.6875)
    assert review.run.metrics["exact_route_rate"] == pytest.approx(0.6875)
    assert review.evidence == ()


def test_error_retries_are_kept(real_logs: Path, run_cli, tmp_path: Path) -> None:
    store = tmp_path / "s.duckdb"
    imported(run_cli, "inspect", _generated(real_logs, "retries"), store)
    with Store.open(store, read_only=True) as opened:
        rows = opened.con.execute(
            """SELECT case_id, metadata->>'$.error_retries',
                      metadata->'$.error_retry_messages'->>0
               FROM results WHERE metadata->>'$.error_retries' IS NOT NULL ORDER BY case_id"""
        ).fetchall()
    assert rows == [(f"q{i:02d}", "1", "RuntimeError('transient failure')") for i in (4, 8, 12, 16)]


def test_a_converted_log_is_the_same_run(real_logs: Path, run_cli, tmp_path: Path) -> None:
    """`inspect log convert --to json` of a .eval log imports as the same run, not a conflict."""
    folder = tmp_path / "both"
    folder.mkdir()
    shutil.copy(_generated(real_logs, "plain"), folder)
    shutil.copy(_generated(real_logs, "converted"), folder)
    data = imported(run_cli, "inspect", folder, tmp_path / "s.duckdb")
    assert len(data["runs"]) == 1 and data["runs"][0]["cases"] == 16


def test_runs_judged_by_other_scorers_or_reducers_are_incomparable(
    real_logs: Path, run_cli, tmp_path: Path
) -> None:
    store = tmp_path / "s.duckdb"
    folder = real_logs / "inspect_generated"
    data = imported(run_cli, "inspect", folder, store)
    # plain/ and converted/ hold the same run (read once, from whichever comes first).
    names = {"converted": "plain"}
    ids = {
        names.get(Path(r["source"]).parent.name, Path(r["source"]).parent.name): r["run_id"]
        for r in data["runs"]
    }
    suites = {
        names.get(Path(r["source"]).parent.name, Path(r["source"]).parent.name): r["suite_id"]
        for r in data["runs"]
    }
    assert suites["plain"] == suites["includes"] == suites["epochs_max"]  # the same 16 samples
    review = _review(store, ids["plain"], ids["includes"], ids["epochs_max"], ids["retries"])
    includes, epochs_max, retries = review.runs
    assert not includes.comparable
    assert {"task_args", "scorers", "scorer", "evaluator_digest"} <= {
        d.field for d in includes.differences
    }
    assert includes.reason.startswith("differs: task_args")
    assert not epochs_max.comparable
    assert {"score_reducer", "epochs"} <= {d.field for d in epochs_max.differences}
    assert not retries.comparable  # another task argument (retry_every) is another evaluation


@pytest.mark.parametrize(
    "reductions",
    [
        {"scorer": "flaky_match"},
        [{"scorer": "flaky_match", "reducer": "mean", "samples": {"q01": 1}}],
        [{"scorer": "flaky_match", "reducer": "mean", "samples": [{"value": {"a": 1}}, 3]}],
        [{"scorer": ["x"], "reducer": None, "samples": [{"sample_id": True, "value": "C"}]}],
    ],
)
def test_odd_reductions_fall_back_to_the_epochs(
    reductions: object, real_logs: Path, run_cli, tmp_path: Path
) -> None:
    """Reductions of the wrong shape are ignored, not a crash: each sample's own score judges it."""
    log = json.loads(_generated(real_logs, "converted").read_text())
    log["reductions"] = reductions
    path = tmp_path / "odd.json"
    path.write_text(json.dumps(log))
    data = imported(run_cli, "inspect", path, tmp_path / "s.duckdb")
    assert data["runs"][0]["cases"] == 16
    review, _routes = _one_run(tmp_path / "s.duckdb")
    assert review.metrics_recomputed["exact_route_rate"] == pytest.approx(0.6875)
