"""lm-evaluation-harness logs: the two real winogrande runs, their pairing, and damaged inputs."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from evaltui.review.report import review_runs
from evaltui.store.connection import Store
from evaltui.store.queries import get_run
from evaltui.store.queries_cases import fetch_cases
from tests.importer_support import (
    EXAONE_DIR,
    EXAONE_RESULTS,
    EXAONE_SAMPLES,
    imported,
    refused,
)

LLAMA = "lm-eval:llama3.1-pro16-0827-Inst-nc-chat_241016:winogrande:2024-12-23T13-17-27.691350"
EXAONE = "lm-eval:EXAONE-3.0-7.8B-Instruct:winogrande:2024-12-23T14-45-44.695233"


def _copy_exaone(real_logs: Path, target: Path) -> tuple[Path, Path]:
    target.mkdir(parents=True, exist_ok=True)
    source = real_logs / "lm_eval" / EXAONE_DIR
    results = target / EXAONE_RESULTS
    samples = target / EXAONE_SAMPLES
    shutil.copy(source / results.name, results)
    shutil.copy(source / samples.name, samples)
    return results, samples


def test_folder_gives_two_runs_of_ten_documents_on_one_suite(
    real_logs: Path, run_cli, tmp_path: Path
) -> None:
    data = imported(run_cli, "lm-eval", real_logs / "lm_eval", tmp_path / "s.duckdb")
    runs = {r["run_id"]: r for r in data["runs"]}
    assert set(runs) == {LLAMA, EXAONE}
    assert all(r["cases"] == 10 for r in runs.values())
    assert len(data["suites"]) == 1 and data["suites"][0]["cases"] == 10
    assert runs[LLAMA]["suite_id"] == runs[EXAONE]["suite_id"] == data["suites"][0]["suite_id"]
    assert runs[LLAMA]["artifact"].endswith("llama3.1-pro16-0827-Inst-nc-chat_241016")
    assert runs[EXAONE]["artifact"] == "LGAI-EXAONE/EXAONE-3.0-7.8B-Instruct"
    assert data["load"]["runs_added"] and data["load"]["result_rows"] == 20


def test_known_metrics_and_the_pair_is_comparable(real_logs: Path, run_cli, tmp_path: Path) -> None:
    store = tmp_path / "s.duckdb"
    imported(run_cli, "lm-eval", real_logs / "lm_eval", store)
    with Store.open(store, read_only=True) as opened:
        review = review_runs(opened.con, LLAMA, [EXAONE])
    base, [exaone] = review.baseline, review.runs
    # The older writer (no filter/metrics keys): acc 0.7 as logged and as recomputed from the cases.
    assert base.run.metrics["acc,none"] == pytest.approx(0.7)
    assert base.run.metrics["acc_stderr,none"] == pytest.approx(0.15275252316519466)
    assert base.metrics_recomputed["exact_route_rate"] == pytest.approx(0.7)
    assert base.run.params["num_fewshot"] == "5" and base.run.params["metric"] == "acc"
    # The newer writer (filter get-answer, exact_match all 0.0).
    assert exaone.run.metrics["exact_match,get-answer"] == 0.0
    assert exaone.metrics_recomputed["exact_route_rate"] == 0.0
    assert (
        exaone.run.params["filter"] == "get-answer"
        and exaone.run.params["output_type"] == "generate_until"
    )
    # Same ten documents and task version, but judged differently (log-likelihood acc against
    # exact_match of a generation): not comparable, and the evaluator fields say why.
    assert not exaone.comparable
    differing = {d.field for d in exaone.differences}
    assert {"output_type", "metric", "filter", "evaluator_digest"} <= differing
    assert "suite_id" not in differing and "evaluation_sha" not in differing
    assert exaone.reason.startswith("differs: output_type, metric, filter")
    assert base.evidence == () and exaone.evidence == ()
    assert exaone.coverage.covered == exaone.coverage.total == 10


def test_the_pair_opens_case_by_case(real_logs: Path, run_cli, tmp_path: Path) -> None:
    store = tmp_path / "s.duckdb"
    imported(run_cli, "lm-eval", real_logs / "lm_eval", store)
    with Store.open(store, read_only=True) as opened:
        rows = fetch_cases(
            opened.con, get_run(opened.con, EXAONE), get_run(opened.con, LLAMA)
        ).to_pylist()
        detail = opened.con.execute(
            "SELECT output, metadata->>'$.target', score FROM results WHERE run_id = ? AND case_id = '0'",
            [LLAMA],
        ).fetchone()
    assert [r["case_id"] for r in rows] == [str(i) for i in sorted(range(10), key=str)]
    outcomes = [r["outcome"] for r in rows]
    assert outcomes.count("broken") == 7 and outcomes.count("both_wrong") == 3
    # The chosen option (argmax of the log-likelihoods -52.0 / -43.5) and the task's target text.
    assert detail == ("choice 1", "always got the easier cases.", 1.0)


def test_reimport_is_a_no_op(real_logs: Path, run_cli, tmp_path: Path) -> None:
    store = tmp_path / "s.duckdb"
    imported(run_cli, "lm-eval", real_logs / "lm_eval", store)
    again = imported(run_cli, "lm-eval", real_logs / "lm_eval", store)
    assert again["load"]["runs_added"] == [] and sorted(again["load"]["runs_unchanged"]) == sorted(
        [LLAMA, EXAONE]
    )
    assert again["load"]["suites_unchanged"] and again["load"]["result_rows"] == 0


def test_results_file_or_samples_file_alone(real_logs: Path, run_cli, tmp_path: Path) -> None:
    folder = real_logs / "lm_eval" / EXAONE_DIR
    by_results = imported(run_cli, "lm-eval", folder / EXAONE_RESULTS, tmp_path / "a.duckdb")
    by_samples = imported(
        run_cli,
        "lm-eval",
        folder / EXAONE_SAMPLES,
        tmp_path / "b.duckdb",
    )
    assert (
        [r["run_id"] for r in by_results["runs"]]
        == [r["run_id"] for r in by_samples["runs"]]
        == [EXAONE]
    )


def test_a_changed_document_makes_another_suite(real_logs: Path, run_cli, tmp_path: Path) -> None:
    store = tmp_path / "s.duckdb"
    imported(
        run_cli, "lm-eval", real_logs / "lm_eval" / "llama3.1-pro16-0827-Inst-nc-chat_241016", store
    )
    _results, samples = _copy_exaone(real_logs, tmp_path / "edited")
    rows = [json.loads(line) for line in samples.read_text().splitlines()]
    rows[3]["doc"]["answer"] = "2"  # a relabelled document: lm-eval's doc_hash changes with it
    rows[3]["doc_hash"] = "0" * 64
    samples.write_text("".join(json.dumps(r) + "\n" for r in rows))
    imported(run_cli, "lm-eval", tmp_path / "edited", store)
    with Store.open(store, read_only=True) as opened:
        review = review_runs(opened.con, LLAMA, [EXAONE])
    [exaone] = review.runs
    assert not exaone.comparable
    assert {d.field for d in exaone.differences} >= {"suite_id", "evaluation_sha"}


def test_only_the_first_filter_of_a_task_gives_the_routes(
    real_logs: Path, run_cli, tmp_path: Path
) -> None:
    _results, samples = _copy_exaone(real_logs, tmp_path / "two-filters")
    rows = [json.loads(line) for line in samples.read_text().splitlines()]
    flexible = [
        {**r, "filter": "flexible-extract", "filtered_resps": ["2"], "exact_match": 1.0}
        for r in rows
    ]
    samples.write_text("".join(json.dumps(r) + "\n" for r in flexible + rows))
    data = imported(run_cli, "lm-eval", tmp_path / "two-filters", tmp_path / "s.duckdb")
    assert data["runs"][0]["cases"] == 10
    with Store.open(tmp_path / "s.duckdb", read_only=True) as opened:
        routes = opened.con.execute("SELECT DISTINCT route FROM results").fetchall()
    assert routes == [("INCORRECT",)]  # get-answer is the task's filter; flexible-extract is not


def test_empty_results_file_is_refused(run_cli, tmp_path: Path) -> None:
    (tmp_path / "results_2024-01-01T00-00-00.json").write_text("")
    line = refused(
        run_cli, "lm-eval", tmp_path / "results_2024-01-01T00-00-00.json", tmp_path / "s.duckdb"
    )
    assert "results_2024-01-01T00-00-00.json: file is empty" in line


def test_folder_with_nothing_importable_is_refused(run_cli, tmp_path: Path) -> None:
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "notes.txt").write_text("hello")
    line = refused(run_cli, "lm-eval", tmp_path / "logs", tmp_path / "s.duckdb")
    assert "no lm-evaluation-harness results_*.json" in line


def test_results_without_samples_is_refused(real_logs: Path, run_cli, tmp_path: Path) -> None:
    _results, samples = _copy_exaone(real_logs, tmp_path / "no-samples")
    samples.unlink()
    line = refused(run_cli, "lm-eval", tmp_path / "no-samples", tmp_path / "s.duckdb")
    assert "nothing to import" in line and "--log_samples" in line


def test_json_that_is_not_a_results_file_is_refused(run_cli, tmp_path: Path) -> None:
    path = tmp_path / "results_x.json"
    path.write_text('{"version": 2, "eval": {}}')
    line = refused(run_cli, "lm-eval", path, tmp_path / "s.duckdb")
    assert "not an lm-evaluation-harness results file" in line


def test_truncated_samples_file_names_the_line(real_logs: Path, run_cli, tmp_path: Path) -> None:
    _results, samples = _copy_exaone(real_logs, tmp_path / "cut")
    text = samples.read_text()
    samples.write_text(text[: len(text) // 2])
    line = refused(run_cli, "lm-eval", tmp_path / "cut", tmp_path / "s.duckdb")
    assert samples.name in line and "invalid JSON" in line
    assert line.split(samples.name + ":")[1].split(":")[0].isdigit()  # a line number


def test_repeated_document_without_filter_is_refused(
    real_logs: Path, run_cli, tmp_path: Path
) -> None:
    source = real_logs / "lm_eval" / "llama3.1-pro16-0827-Inst-nc-chat_241016"
    target = tmp_path / "dup"
    shutil.copytree(source, target)
    samples = next(target.glob("samples_*.jsonl"))
    lines = samples.read_text().splitlines()
    samples.write_text("\n".join([*lines, lines[0]]) + "\n")
    line = refused(run_cli, "lm-eval", target, tmp_path / "s.duckdb")
    assert "doc_id 0 appears again" in line and f"{samples.name}:11:" in line


def test_a_document_without_a_metric_value_is_unscored(
    real_logs: Path, run_cli, tmp_path: Path
) -> None:
    source = real_logs / "lm_eval" / "llama3.1-pro16-0827-Inst-nc-chat_241016"
    target = tmp_path / "nan"
    shutil.copytree(source, target)
    samples = next(target.glob("samples_*.jsonl"))
    lines = samples.read_text().splitlines()
    lines[4] = lines[4].replace('"acc": 1.0', '"acc": NaN')  # Python's json writes NaN
    samples.write_text("\n".join(lines) + "\n")
    store = tmp_path / "s.duckdb"
    data = imported(run_cli, "lm-eval", target, store)
    assert any("1 document has no acc value" in n for n in data["runs"][0]["notes"])
    with Store.open(store, read_only=True) as opened:
        review = review_runs(opened.con, LLAMA)
    assert review.baseline.metrics_recomputed["unscored_cases"] == 1
    assert review.baseline.metrics_recomputed["exact_route_rate"] == pytest.approx(0.6)
    assert review.baseline.status == "REJECT_UNSCORED"
    assert "exact_route_rate" not in review.baseline.run.metrics  # no claim when a case is unscored


def test_a_deeply_nested_samples_line_is_refused(real_logs: Path, run_cli, tmp_path: Path) -> None:
    _results, samples = _copy_exaone(real_logs, tmp_path / "deep")
    lines = samples.read_text().splitlines()
    lines[2] = "[" * 200_000
    samples.write_text("\n".join(lines) + "\n")
    line = refused(run_cli, "lm-eval", tmp_path / "deep", tmp_path / "s.duckdb")
    assert f"{samples.name}:3: invalid JSON: nested too deeply" in line


def test_config_lists_of_the_wrong_type_are_ignored(
    real_logs: Path, run_cli, tmp_path: Path
) -> None:
    """A filter_list or metric_list that is not an array is not iterated (was an internal error)."""
    results, _samples = _copy_exaone(real_logs, tmp_path / "odd")
    doc = json.loads(results.read_text())
    doc["configs"]["winogrande"].update(filter_list=True, metric_list=3)
    results.write_text(json.dumps(doc))
    data = imported(run_cli, "lm-eval", tmp_path / "odd", tmp_path / "s.duckdb")
    assert [r["run_id"] for r in data["runs"]] == [EXAONE]


def test_a_repeated_key_in_a_samples_line_is_refused(
    real_logs: Path, run_cli, tmp_path: Path
) -> None:
    """Read like a native record: a key twice in one object is ambiguous, so refused with its line."""
    _results, samples = _copy_exaone(real_logs, tmp_path / "dupkey")
    lines = samples.read_text().splitlines()
    lines[1] = lines[1].replace('{"doc_id": ', '{"doc_id": 99, "doc_id": ', 1)
    assert '"doc_id": 99' in lines[1]
    samples.write_text("\n".join(lines) + "\n")
    line = refused(run_cli, "lm-eval", tmp_path / "dupkey", tmp_path / "s.duckdb")
    assert f"{samples.name}:2: duplicate key 'doc_id'" in line


@pytest.mark.parametrize("date", [-62135596801, 1e20, 253402300800])
def test_a_date_out_of_range_is_read_as_missing(
    date: float, real_logs: Path, run_cli, tmp_path: Path
) -> None:
    """A Unix time outside the years 1-9999 is not a crash: the file name's stamp gives the time."""
    results, _samples = _copy_exaone(real_logs, tmp_path / "when")
    doc = json.loads(results.read_text())
    doc["date"] = date
    results.write_text(json.dumps(doc))
    store = tmp_path / "s.duckdb"
    imported(run_cli, "lm-eval", tmp_path / "when", store)
    with Store.open(store, read_only=True) as opened:
        run = get_run(opened.con, EXAONE)
    assert run.started_at.isoformat().startswith("2024-12-23T")


def test_a_promptfoo_results_file_is_refused(real_logs: Path, run_cli, tmp_path: Path) -> None:
    """promptfoo's results.json has a `results` object too: it is not read as lm-eval tasks."""
    line = refused(
        run_cli, "lm-eval", real_logs / "promptfoo" / "results.json", tmp_path / "s.duckdb"
    )
    assert line.startswith(f"evaltui: {real_logs / 'promptfoo' / 'results.json'}: ")
    assert "looks like a promptfoo results file: evaltui import promptfoo" in line


# -- logs written by lm_eval 0.4.13 with --model dummy (tests/real_logs/lm_eval_generated) --------


def test_one_task_judged_two_ways_is_incomparable(real_logs: Path, run_cli, tmp_path: Path) -> None:
    """The same documents as multiple_choice (acc) and generate_until (exact_match after the
    get-answer filter): one suite, two evaluators, never ranked."""
    store = tmp_path / "s.duckdb"
    folder = real_logs / "lm_eval_generated"
    data = imported(run_cli, "lm-eval", folder / "multiple_choice", store)
    imported(run_cli, "lm-eval", folder / "generate", store)
    with Store.open(store, read_only=True) as opened:
        runs = {get_run(opened.con, r).params["output_type"]: r for r in _run_ids(opened)}
        review = review_runs(opened.con, runs["multiple_choice"], [runs["generate_until"]])
    [generated] = review.runs
    assert generated.run.suite_id == review.baseline.run.suite_id == data["runs"][0]["suite_id"]
    assert not generated.comparable
    assert generated.reason.startswith("differs: output_type, metric, filter")
    assert {"doc_to_target", "generation_kwargs", "evaluator_digest"} <= {
        d.field for d in generated.differences
    }


def _run_ids(opened: Store) -> list[str]:
    return [row[0] for row in opened.con.execute("SELECT run_id FROM runs").fetchall()]


def test_output_path_with_a_file_name_imports_by_folder_and_by_file(
    real_logs: Path, run_cli, tmp_path: Path
) -> None:
    """`--output_path my_results.json` writes my_results_<time>.json: the folder imports, and each
    results file is paired with the samples file of its own time (two runs side by side)."""
    folder = real_logs / "lm_eval_generated" / "named"
    store = tmp_path / "s.duckdb"
    data = imported(run_cli, "lm-eval", folder, store)
    assert len(data["runs"]) == 2 and all(r["cases"] == 12 for r in data["runs"])
    with Store.open(store, read_only=True) as opened:
        stamps = {
            run_id: get_run(opened.con, run_id).tags["samples_file"] for run_id in _run_ids(opened)
        }
    assert all(run_id.rsplit(":", 1)[1] in samples for run_id, samples in stamps.items())
    for results in sorted(folder.glob("my_results_*.json")):
        one = imported(run_cli, "lm-eval", results, tmp_path / f"{results.stem}.duckdb")
        assert [r["run_id"] for r in one["runs"]] == [
            r for r in stamps if r.endswith(results.stem.removeprefix("my_results_"))
        ]
    samples = next(folder.glob("samples_*.jsonl"))
    by_samples = imported(run_cli, "lm-eval", samples, tmp_path / "by-samples.duckdb")
    assert len(by_samples["runs"]) == 1


def test_fewer_documents_than_the_results_declare_is_incomplete(
    real_logs: Path, tmp_path: Path
) -> None:
    from evaltui.importers.lm_eval import read_lm_eval

    source = real_logs / "lm_eval_generated" / "generate"
    target = tmp_path / "cut"
    shutil.copytree(source, target)
    [complete] = read_lm_eval(target).runs
    assert "incomplete" not in complete.doc
    samples = next(target.rglob("samples_*.jsonl"))
    samples.write_text("".join(samples.read_text().splitlines(keepends=True)[:5]))
    [cut] = read_lm_eval(target).runs
    assert cut.doc["incomplete"] == "5 of the 12 documents the results file declares"


def test_other_time_stamped_json_in_a_folder_is_skipped(
    real_logs: Path, run_cli, tmp_path: Path
) -> None:
    folder = tmp_path / "mixed"
    shutil.copytree(real_logs / "lm_eval_generated" / "named", folder)
    (folder / "notes_2026-01-01T00-00-00.json").write_text('{"results": {"version": 3}}')
    data = imported(run_cli, "lm-eval", folder, tmp_path / "s.duckdb")
    assert len(data["runs"]) == 2
    assert [Path(s["path"]).name for s in data["skipped"]] == ["notes_2026-01-01T00-00-00.json"]
