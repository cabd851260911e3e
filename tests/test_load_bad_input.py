"""Every kind of bad input: exit 2, one line per problem naming the file (and line), no traceback,
and the store byte-for-byte as it was.

Three tables: what `evaltui load` reads (suites, runs, JSONL, Parquet, runs.jsonl), what the
importers read (lm-eval, inspect_ai, MLflow logs), and decision files (which `verify` rejects
with exit 1, a failed check, and `canary-check` refuses to act on with exit 2).
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.conftest import EXAMPLE, CliResult, digest, example_run
from tests.decision_support import SignedDecision, resign, sign_sample_decision


def suite_doc() -> dict:
    return json.loads((EXAMPLE / "ci-claim-gate-v1.suite.json").read_text())


def write(path: Path, doc: object) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def jsonl(path: Path, rows: list[object]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def results_rows() -> list[dict]:
    return [
        {"case_id": "req_205", "route": "ABSTAIN"},
        {"case_id": "reg_002", "route": "SERVE"},
        {"case_id": "hold_001", "route": "SERVE"},
        {"case_id": "hold_002", "route": "ABSTAIN"},
    ]


def run_with_file(folder: Path, name: str) -> None:
    doc = example_run("run_new")
    doc["cases"] = name
    write(folder / "run_new.run.json", doc)


# Each builder fills `folder` with something bad; it returns (file named in the error, line or None).
Builder = Callable[[Path], tuple[str, int | None]]


def truncated_json(folder: Path) -> tuple[str, int | None]:
    text = json.dumps(example_run("run_new"), indent=1)
    (folder / "run_new.run.json").write_text(text[: len(text) // 2])
    return "run_new.run.json", None


def non_utf8(folder: Path) -> tuple[str, int | None]:
    data = (
        json.dumps(example_run("run_new"), indent=1).encode().replace(b"fix-b", b"fix-\xff\xfe", 1)
    )
    (folder / "run_new.run.json").write_bytes(data)
    return "run_new.run.json", None


def unknown_kind(folder: Path) -> tuple[str, int | None]:
    write(folder / "thing.json", {"kind": "evaltui.experiment", "version": 1})
    return "thing.json", None


def unknown_version(folder: Path) -> tuple[str, int | None]:
    write(folder / "run_new.run.json", {**example_run("run_new"), "version": 2})
    return "run_new.run.json", None


def missing_field(folder: Path) -> tuple[str, int | None]:
    doc = example_run("run_new")
    del doc["artifact"]
    write(folder / "run_new.run.json", doc)
    return "run_new.run.json", None


def wrong_types(folder: Path) -> tuple[str, int | None]:
    write(
        folder / "run_new.run.json",
        {**example_run("run_new"), "params": ["x"], "metrics": {"a": "high"}},
    )
    return "run_new.run.json", None


def unknown_suite(folder: Path) -> tuple[str, int | None]:
    write(folder / "run_new.run.json", {**example_run("run_new"), "suite_id": "no-such-suite"})
    return "run_new.run.json", None


def unknown_case_ids(folder: Path) -> tuple[str, int | None]:
    doc = example_run("run_new")
    doc["cases"][2]["case_id"] = "hold_999"
    write(folder / "run_new.run.json", doc)
    return "run_new.run.json", None


def duplicate_suite_case_ids(folder: Path) -> tuple[str, int | None]:
    doc = suite_doc()
    doc["suite_id"] = "dup-suite"
    doc["splits"]["holdout"][1]["case_id"] = "hold_001"
    write(folder / "dup.suite.json", doc)
    return "dup.suite.json", None


def duplicate_results_jsonl(folder: Path) -> tuple[str, int | None]:
    rows = results_rows()
    rows.append({"case_id": "reg_002", "route": "ABSTAIN"})
    jsonl(folder / "cases.jsonl", rows)
    run_with_file(folder, "cases.jsonl")
    return "cases.jsonl", 5


def missing_referenced_file(folder: Path) -> tuple[str, int | None]:
    run_with_file(folder, "results/none.parquet")
    return "run_new.run.json", None


def corrupt_parquet(folder: Path) -> tuple[str, int | None]:
    (folder / "cases.parquet").write_bytes(b"PAR1 this is not parquet PAR1")
    run_with_file(folder, "cases.parquet")
    return "cases.parquet", None


def parquet_without_route(folder: Path) -> tuple[str, int | None]:
    pq.write_table(
        pa.table({"case_id": ["req_205"], "answer": ["SERVE"]}), folder / "cases.parquet"
    )
    run_with_file(folder, "cases.parquet")
    return "cases.parquet", None


def parquet_null_route(folder: Path) -> tuple[str, int | None]:
    rows = results_rows()
    rows[3]["route"] = None
    pq.write_table(pa.Table.from_pylist(rows), folder / "cases.parquet")
    run_with_file(folder, "cases.parquet")
    return "cases.parquet", None


def path_leaves_folder(folder: Path) -> tuple[str, int | None]:
    jsonl(folder.parent / "outside.jsonl", results_rows())
    run_with_file(folder, "../outside.jsonl")
    return "run_new.run.json", None


def absolute_path(folder: Path) -> tuple[str, int | None]:
    target = jsonl(folder.parent / "abs.jsonl", results_rows())
    run_with_file(folder, str(target.resolve()))
    return "run_new.run.json", None


def symlink_escape(folder: Path) -> tuple[str, int | None]:
    target = jsonl(folder.parent / "secret.jsonl", results_rows())
    os.symlink(target, folder / "link.jsonl")
    run_with_file(folder, "link.jsonl")
    return "run_new.run.json", None


def empty_file(folder: Path) -> tuple[str, int | None]:
    (folder / "run_new.run.json").write_text("")
    return "run_new.run.json", None


def empty_results_file(folder: Path) -> tuple[str, int | None]:
    (folder / "cases.jsonl").write_text("\n")
    run_with_file(folder, "cases.jsonl")
    return "cases.jsonl", None


def bad_jsonl_line(folder: Path) -> tuple[str, int | None]:
    text = "".join(json.dumps(r) + "\n" for r in results_rows())
    lines = text.splitlines()
    lines[2] = lines[2][:-3]  # cut the closing of line 3
    (folder / "cases.jsonl").write_text("\n".join(lines) + "\n")
    run_with_file(folder, "cases.jsonl")
    return "cases.jsonl", 3


def jsonl_route_not_a_string(folder: Path) -> tuple[str, int | None]:
    rows: list[dict] = results_rows()
    rows[1]["route"] = 1
    jsonl(folder / "cases.jsonl", rows)
    run_with_file(folder, "cases.jsonl")
    return "cases.jsonl", 2


def bad_line_in_runs_jsonl(folder: Path) -> tuple[str, int | None]:
    good = example_run("run_a")
    bad = {**example_run("run_b"), "started_at": "yesterday"}
    (folder / "batch.runs.jsonl").write_text(json.dumps(good) + "\n" + json.dumps(bad) + "\n")
    return "batch.runs.jsonl", 2


def duplicate_json_keys(folder: Path) -> tuple[str, int | None]:
    text = json.dumps(example_run("run_new"))
    text = text.replace('"artifact":', '"artifact": "x", "artifact":', 1)
    (folder / "run_new.run.json").write_text(text)
    return "run_new.run.json", None


def suite_without_splits(folder: Path) -> tuple[str, int | None]:
    write(
        folder / "s.suite.json",
        {"kind": "evaltui.suite", "version": 1, "suite_id": "s", "splits": {}},
    )
    return "s.suite.json", None


def guardrail_unknown_metric(folder: Path) -> tuple[str, int | None]:
    doc = suite_doc()
    doc["suite_id"] = "g"
    doc["guardrails"] = [{"require": "made_up_metric == 0", "status": "REJECT_X"}]
    write(folder / "g.suite.json", doc)
    return "g.suite.json", None


def changed_run_same_id(folder: Path) -> tuple[str, int | None]:
    doc = json.loads((EXAMPLE / "run_003.run.json").read_text())
    doc["metrics"]["exact_route_rate"] = 0.99
    write(folder / "run_003.run.json", doc)
    return "run_003.run.json", None


def changed_suite_same_id(folder: Path) -> tuple[str, int | None]:
    doc = suite_doc()
    doc["splits"]["holdout"][0]["expected_route"] = "ABSTAIN"
    write(folder / "ci-claim-gate-v1.suite.json", doc)
    return "ci-claim-gate-v1.suite.json", None


def metadata_not_object(folder: Path) -> tuple[str, int | None]:
    rows: list[dict] = results_rows()
    rows[3]["metadata"] = [1, 2]
    jsonl(folder / "cases.jsonl", rows)
    run_with_file(folder, "cases.jsonl")
    return "cases.jsonl", 4


BUILDERS: list[Builder] = [
    truncated_json,
    non_utf8,
    unknown_kind,
    unknown_version,
    missing_field,
    wrong_types,
    unknown_suite,
    unknown_case_ids,
    duplicate_suite_case_ids,
    duplicate_results_jsonl,
    missing_referenced_file,
    corrupt_parquet,
    parquet_without_route,
    parquet_null_route,
    path_leaves_folder,
    absolute_path,
    symlink_escape,
    empty_file,
    empty_results_file,
    bad_jsonl_line,
    jsonl_route_not_a_string,
    bad_line_in_runs_jsonl,
    duplicate_json_keys,
    suite_without_splits,
    guardrail_unknown_metric,
    changed_run_same_id,
    changed_suite_same_id,
    metadata_not_object,
]


def test_runs_jsonl_problem_names_the_line(tmp_path: Path, run_cli) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(EXAMPLE / "ci-claim-gate-v1.suite.json", folder)
    bad_line_in_runs_jsonl(folder)
    result = run_cli("load", folder, "--store", tmp_path / "s.duckdb")
    assert "batch.runs.jsonl:2: field 'started_at' is 'yesterday'" in result.err


def test_all_problems_in_one_pass(tmp_path: Path, run_cli) -> None:
    """Several broken files: every one is reported, nothing is loaded."""
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(EXAMPLE / "ci-claim-gate-v1.suite.json", folder)
    write(folder / "a.run.json", {**example_run("run_a"), "version": 9})
    write(folder / "b.run.json", {**example_run("run_b"), "suite_id": ""})
    store = tmp_path / "s.duckdb"
    result = run_cli("load", folder, "--store", store)
    assert result.code == 2
    assert "a.run.json" in result.err and "b.run.json" in result.err
    assert (
        not store.exists() or run_cli("runs", "--store", store, "--json").out.count("run_id") == 0
    )


def test_allow_outside_lets_a_reference_leave_the_folder(tmp_path: Path, run_cli) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(EXAMPLE / "ci-claim-gate-v1.suite.json", folder)
    path_leaves_folder(folder)
    store = tmp_path / "s.duckdb"
    assert run_cli("load", folder, "--store", store).code == 2
    result = run_cli("load", folder, "--store", store, "--allow-outside")
    assert result.code == 0, result.err


def test_error_lines_show_hostile_file_names_literally(tmp_path: Path, run_cli) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "evil\x1b]0;TITLE\x07.run.json").write_text("{")
    result = run_cli("load", folder, "--store", tmp_path / "s.duckdb")
    assert result.code == 2
    assert "\x1b" not in result.err and "\x07" not in result.err
    assert "evil\u241b]0;TITLE\u2407.run.json" in result.err


# -- more load kinds -------------------------------------------------------------------------------


def suite_split_parquet_column_without_json_form(folder: Path) -> tuple[str, int | None]:
    """A suite case is a JSON object: a binary (or timestamp, decimal ...) column is refused."""
    cases = suite_doc()["splits"]["regression"]
    table = pa.Table.from_pylist(cases).append_column("blob", pa.array([b"\xff"] * len(cases)))
    pq.write_table(table, folder / "regression.parquet")
    doc = suite_doc()
    doc["suite_id"] = "binary-suite"
    doc["splits"] = {"regression": "regression.parquet"}
    doc["metrics"] = [m for m in doc["metrics"] if "splits" not in m]
    write(folder / "binary.suite.json", doc)
    return "regression.parquet", None


def parquet_route_not_strings(folder: Path) -> tuple[str, int | None]:
    pq.write_table(
        pa.table({"case_id": ["req_205", "reg_002"], "route": [1, 2]}), folder / "cases.parquet"
    )
    run_with_file(folder, "cases.parquet")
    return "cases.parquet", None


def nan_in_json(folder: Path) -> tuple[str, int | None]:
    text = json.dumps(example_run("run_new"), indent=1).replace(
        '"exact_route_rate": 1.0', '"exact_route_rate": NaN'
    )
    (folder / "run_new.run.json").write_text(text)
    return "run_new.run.json", None


def symlinked_record_escape(folder: Path) -> tuple[str, int | None]:
    """A record found by walking the folder that is a symlink to a file elsewhere."""
    target = write(folder.parent / "elsewhere" / "run_x.json", example_run("run_x"))
    os.symlink(target, folder / "run_x.run.json")
    return "run_x.run.json", None


MORE_BUILDERS: list[Builder] = [
    suite_split_parquet_column_without_json_form,
    symlinked_record_escape,
    parquet_route_not_strings,
    nan_in_json,
]


def assert_refused_cleanly(
    result: CliResult, named: str, line: int | None, store: Path, before: str
) -> None:
    """Exit 2, nothing on stdout, one line per problem (the first naming the file, and the line
    if given), no traceback, and the store byte-for-byte as it was."""
    assert result.code == 2, result
    assert result.out == ""
    assert "Traceback" not in result.err
    lines = result.err.strip().splitlines()
    assert 1 <= len(lines) <= 21, result.err
    first = lines[0]
    assert named in first, first
    if line is not None:
        assert f"{named}:{line}:" in first, first
    assert digest(store) == before, "a refused input must leave the store byte-for-byte unchanged"


@pytest.mark.parametrize("build", BUILDERS + MORE_BUILDERS, ids=lambda b: b.__name__)
def test_bad_input_is_refused_cleanly(build: Builder, tmp_path: Path, run_cli) -> None:
    store = tmp_path / "store.duckdb"
    assert run_cli("load", EXAMPLE, "--store", store).code == 0
    before = digest(store)

    folder = tmp_path / "incoming"
    folder.mkdir()
    shutil.copy(EXAMPLE / "ci-claim-gate-v1.suite.json", folder)
    named, line = build(folder)

    assert_refused_cleanly(run_cli("load", folder, "--store", store), named, line, store, before)


def test_symlinks_out_of_the_folder(tmp_path: Path, run_cli) -> None:
    """A symlinked record needs --allow-outside; another symlinked .json is skipped unread."""
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(EXAMPLE / "ci-claim-gate-v1.suite.json", folder)
    symlinked_record_escape(folder)
    secret = tmp_path / "private" / "settings.json"
    write(secret, {"kind": "evaltui.run", "token": "do not read"})
    os.symlink(secret, folder / "settings.json")
    store = tmp_path / "s.duckdb"
    refused = run_cli("load", folder, "--store", store)
    assert refused.code == 2 and "run_x.run.json: is a symlink" in refused.err
    (folder / "run_x.run.json").unlink()
    loaded = run_cli("load", folder, "--store", store, "--json")
    assert loaded.code == 0, loaded.err
    assert json.loads(loaded.out)["skipped_files"] == [str(folder / "settings.json")]
    symlinked_record_escape(folder)
    allowed = run_cli("load", folder, "--store", store, "--allow-outside", "--json")
    assert allowed.code == 2  # settings.json is now read, and it is not a valid run record
    assert "settings.json" in allowed.err


# -- importers: the same promise for other tools' logs ---------------------------------------------

# Each builder lays out a damaged log under `folder`; returns (tool, source, file named, line).
ImportBuilder = Callable[[Path, Path], tuple[str, Path, str, int | None]]


def _copy_real(real_logs: Path, part: str, folder: Path) -> Path:
    target = folder / Path(part).name
    if (real_logs / part).is_dir():
        shutil.copytree(real_logs / part, target)
    else:
        shutil.copy(real_logs / part, target)
    for path in [target, *target.rglob("*")]:
        path.chmod(path.stat().st_mode | 0o200)
    return target


LM_EVAL_RUN = "lm_eval/LGAI-EXAONE__EXAONE-3.0-7.8B-Instruct"
LM_STAMP = "2024-12-23T14-45-44.695233"
INSPECT_JSON = "inspect_ai/2025-05-12T20-28-13-04-00_popularity.json"
MLFLOW_RUN = "420363470196949355/93d9b7fae4f44b6790cb4691ce429469"


def lm_eval_truncated_samples_line(real: Path, folder: Path) -> tuple[str, Path, str, int | None]:
    logs = _copy_real(real, LM_EVAL_RUN, folder)
    samples = logs / f"samples_winogrande_{LM_STAMP}.jsonl"
    lines = samples.read_text().splitlines()
    lines[3] = lines[3][: len(lines[3]) // 2]
    samples.write_text("\n".join(lines) + "\n")
    return "lm-eval", logs, samples.name, 4


def lm_eval_results_not_utf8(real: Path, folder: Path) -> tuple[str, Path, str, int | None]:
    logs = _copy_real(real, LM_EVAL_RUN, folder)
    results = logs / f"results_{LM_STAMP}.json"
    results.write_bytes(results.read_bytes().replace(b"winogrande", b"winogr\xffande", 1))
    return "lm-eval", logs, results.name, 3


def lm_eval_results_not_results(real: Path, folder: Path) -> tuple[str, Path, str, int | None]:
    logs = _copy_real(real, LM_EVAL_RUN, folder)
    results = logs / f"results_{LM_STAMP}.json"
    results.write_text(json.dumps([{"results": {}}]))
    return "lm-eval", logs, results.name, None


def inspect_sample_without_id(real: Path, folder: Path) -> tuple[str, Path, str, int | None]:
    log = _copy_real(real, INSPECT_JSON, folder)
    doc = json.loads(log.read_text())
    del doc["samples"][1]["id"]
    log.write_text(json.dumps(doc))
    return "inspect", log, log.name, None


def inspect_samples_not_an_array(real: Path, folder: Path) -> tuple[str, Path, str, int | None]:
    log = _copy_real(real, INSPECT_JSON, folder)
    doc = json.loads(log.read_text())
    doc["samples"] = {"1": doc["samples"][0]}
    log.write_text(json.dumps(doc))
    return "inspect", log, log.name, None


def inspect_truncated_archive(real: Path, folder: Path) -> tuple[str, Path, str, int | None]:
    log = _copy_real(real, "inspect_ai/log_read_sample.eval", folder)
    log.write_bytes(log.read_bytes()[:-200])
    return "inspect", log, log.name, None


def inspect_damaged_archive_entry(real: Path, folder: Path) -> tuple[str, Path, str, int | None]:
    import zipfile

    source = real / "inspect_ai" / "log_read_sample.eval"
    log = folder / "damaged.eval"
    with zipfile.ZipFile(source) as src, zipfile.ZipFile(log, "w", zipfile.ZIP_DEFLATED) as out:
        for name in src.namelist():
            data = src.read(name)
            out.writestr(name, data[: len(data) // 2] if name.startswith("samples/") else data)
    return "inspect", log, "damaged.eval [samples/1_epoch_1.json]", None


def mlflow_meta_not_yaml(real: Path, folder: Path) -> tuple[str, Path, str, int | None]:
    mlruns = _copy_real(real, "mlflow_filestore/mlruns", folder)
    (mlruns / MLFLOW_RUN / "meta.yaml").write_text("artifact_uri: [unclosed\n")
    return "mlflow", mlruns, f"{MLFLOW_RUN}/meta.yaml", 2


def mlflow_empty_predictions(real: Path, folder: Path) -> tuple[str, Path, str, int | None]:
    mlruns = _copy_real(real, "mlflow_filestore/mlruns", folder)
    (mlruns / MLFLOW_RUN / "artifacts" / "predictions.csv").write_text("")
    return "mlflow", mlruns, "predictions.csv", None


def mlflow_predictions_row_wider_than_header(
    real: Path, folder: Path
) -> tuple[str, Path, str, int | None]:
    """An unquoted comma: a row with more cells than the header (was an internal error)."""
    mlruns = _copy_real(real, "mlflow_filestore/mlruns", folder)
    (mlruns / MLFLOW_RUN / "artifacts" / "predictions.csv").write_text(
        "case_id,expected,pred\nc1,greet,greet\nc2,a, b,bye\n"
    )
    return "mlflow", mlruns, "predictions.csv", 3


def mlflow_not_a_store(real: Path, folder: Path) -> tuple[str, Path, str, int | None]:
    (folder / "mlruns").mkdir()
    (folder / "mlruns" / "notes.txt").write_text("nothing here")
    return "mlflow", folder / "mlruns", "mlruns", None


IMPORT_BUILDERS: list[ImportBuilder] = [
    lm_eval_truncated_samples_line,
    lm_eval_results_not_utf8,
    lm_eval_results_not_results,
    inspect_sample_without_id,
    inspect_samples_not_an_array,
    inspect_truncated_archive,
    inspect_damaged_archive_entry,
    mlflow_meta_not_yaml,
    mlflow_empty_predictions,
    mlflow_predictions_row_wider_than_header,
    mlflow_not_a_store,
]


@pytest.mark.parametrize("build", IMPORT_BUILDERS, ids=lambda b: b.__name__)
def test_bad_import_is_refused_cleanly(
    build: ImportBuilder, real_logs: Path, tmp_path: Path, run_cli
) -> None:
    store = tmp_path / "store.duckdb"
    assert run_cli("load", EXAMPLE, "--store", store).code == 0
    before = digest(store)
    folder = tmp_path / "logs"
    folder.mkdir()
    tool, source, named, line = build(real_logs, folder)

    result = run_cli("import", tool, source, "--store", store)
    assert_refused_cleanly(result, named, line, store, before)


# -- decision files: verify rejects them (exit 1), canary-check will not use them (exit 2) ---------


@pytest.fixture
def decision(sample_store: Path, tmp_path: Path) -> SignedDecision:
    return sign_sample_decision(sample_store, tmp_path)


def _decision_doc(d: SignedDecision) -> dict:
    return json.loads(d.decision.read_bytes())


def decision_truncated(d: SignedDecision) -> None:
    d.decision.write_bytes(d.decision.read_bytes()[:-40])


def decision_not_utf8(d: SignedDecision) -> None:
    resign(d, d.decision.read_bytes().replace(b"ci-answerer-v1", b"ci-answerer-\xff1", 1))


def decision_empty(d: SignedDecision) -> None:
    d.decision.write_bytes(b"")


def decision_duplicate_key(d: SignedDecision) -> None:
    resign(d, d.decision.read_bytes()[:-1] + b',"alias":"production"}')


def decision_not_canonical(d: SignedDecision) -> None:
    resign(d, json.dumps(_decision_doc(d), indent=2, sort_keys=True).encode())


def decision_missing_field(d: SignedDecision) -> None:
    import rfc8785

    doc = _decision_doc(d)
    del doc["rollback_artifact"]
    resign(d, rfc8785.dumps(doc))


def decision_changed_byte(d: SignedDecision) -> None:
    data = d.decision.read_bytes()
    d.decision.write_bytes(data.replace(b"ci-answerer-v1", b"ci-answerer-v9", 1))


def decision_signature_missing(d: SignedDecision) -> None:
    d.signature.unlink()


def decision_signature_garbage(d: SignedDecision) -> None:
    d.signature.write_text("-----BEGIN SSH SIGNATURE-----\n!!!!\n-----END SSH SIGNATURE-----\n")


def decision_wrong_namespace(d: SignedDecision) -> None:
    from tests.decision_support import keygen_sign

    d.signature.unlink()
    keygen_sign(d.key, d.decision, namespace="git")


def decision_unlisted_signer(d: SignedDecision) -> None:
    from tests.decision_support import make_key

    resign(d, d.decision.read_bytes(), make_key(d.folder, "mallory", comment="mallory@example.com"))


def decision_ssh_rsa_sha1(d: SignedDecision) -> None:
    from tests.decision_support import make_key, public_line, write_allowed_signers
    from tests.test_decision_sshsig import _ssh_rsa_sha1_signature

    rsa = make_key(d.folder, "id_rsa", "rsa")
    write_allowed_signers(d.allowed, f"alice@example.com {public_line(rsa)}")
    d.signature.write_text(_ssh_rsa_sha1_signature(rsa, d.decision.read_bytes()))


DECISION_BUILDERS: list[Callable[[SignedDecision], None]] = [
    decision_truncated,
    decision_not_utf8,
    decision_empty,
    decision_duplicate_key,
    decision_not_canonical,
    decision_missing_field,
    decision_changed_byte,
    decision_signature_missing,
    decision_signature_garbage,
    decision_wrong_namespace,
    decision_unlisted_signer,
    decision_ssh_rsa_sha1,
]


@pytest.mark.parametrize("damage", DECISION_BUILDERS, ids=lambda b: b.__name__)
def test_bad_decision_file_is_refused_cleanly(
    damage: Callable[[SignedDecision], None], decision: SignedDecision, sample_store: Path, run_cli
) -> None:
    damage(decision)
    before = digest(sample_store)
    observed = ("--observed", "unsafe_claim_served=0", "--observed", "unnecessary_abstention=0")
    for args, code in (
        (
            (
                "verify",
                decision.decision,
                "--allowed-signers",
                decision.allowed,
                "--store",
                sample_store,
            ),
            1,
        ),
        (("canary-check", decision.decision, *observed, "--allowed-signers", decision.allowed), 2),
    ):
        result = run_cli(*args)
        assert result.code == code, (args[0], result)
        assert "Traceback" not in result.err
        lines = result.err.strip().splitlines()
        assert len(lines) == 1, result.err
        assert str(decision.decision) in lines[0], lines[0]
    assert digest(sample_store) == before
