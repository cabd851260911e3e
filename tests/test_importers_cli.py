"""`evaltui import`: writing native records (--out), loading them, and the output."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from evaltui.importers.pipeline import INLINE_LIMIT
from evaltui.store.connection import Store
from tests.importer_support import EXAONE_DIR, EXAONE_RESULTS, EXAONE_SAMPLES, tree_bytes


def test_out_writes_records_that_load_as_the_same_runs(
    real_logs: Path, run_cli, tmp_path: Path
) -> None:
    store, out = tmp_path / "s.duckdb", tmp_path / "records"
    result = run_cli(
        "import", "inspect", real_logs / "inspect_ai", "--store", store, "--out", out, "--json"
    )
    assert result.code == 0, result.err
    data = json.loads(result.out)
    names = sorted(p.name for p in out.iterdir())
    assert sum(n.endswith(".run.json") for n in names) == 5
    assert sum(n.endswith(".suite.json") for n in names) == 4
    assert sorted(Path(p).name for p in data["written"]) == names
    # The written records are the imported ones: loading them changes nothing.
    loaded = run_cli("load", out, "--store", store, "--json")
    assert loaded.code == 0, loaded.err
    summary = json.loads(loaded.out)
    assert summary["runs_added"] == [] and len(summary["runs_unchanged"]) == 5
    assert len(summary["suites_unchanged"]) == 4
    # And the same import again writes identical files.
    before = tree_bytes(out)
    again = run_cli("import", "inspect", real_logs / "inspect_ai", "--store", store, "--out", out)
    assert again.code == 0, again.err
    assert tree_bytes(out) == before


def test_no_load_only_writes(real_logs: Path, run_cli, tmp_path: Path) -> None:
    store, out = tmp_path / "s.duckdb", tmp_path / "records"
    result = run_cli(
        "import", "lm-eval", real_logs / "lm_eval", "--store", store, "--out", out, "--no-load"
    )
    assert result.code == 0, result.err
    assert not store.exists()
    assert len(list(out.glob("*.run.json"))) == 2 and len(list(out.glob("*.suite.json"))) == 1
    loaded = run_cli("load", out, "--store", store, "--json")
    assert loaded.code == 0, loaded.err
    assert json.loads(loaded.out)["result_rows"] == 20


def test_no_load_needs_out(real_logs: Path, run_cli, tmp_path: Path) -> None:
    result = run_cli("import", "lm-eval", real_logs / "lm_eval", "--no-load")
    assert result.code == 2 and "--no-load only makes sense with --out" in result.err


def test_out_refuses_to_overwrite_other_content(real_logs: Path, run_cli, tmp_path: Path) -> None:
    out = tmp_path / "records"
    first = run_cli("import", "lm-eval", real_logs / "lm_eval", "--out", out, "--no-load")
    assert first.code == 0, first.err
    victim = next(out.glob("*.suite.json"))
    victim.write_text("{}")
    result = run_cli("import", "lm-eval", real_logs / "lm_eval", "--out", out, "--no-load")
    assert result.code == 2 and victim.name in result.err and "already exists" in result.err
    assert victim.read_text() == "{}"


def test_large_runs_keep_cases_in_jsonl(real_logs: Path, run_cli, tmp_path: Path) -> None:
    """More cases than INLINE_LIMIT go to JSONL files, in the store path and in --out alike."""
    source = tmp_path / "big"
    source.mkdir()
    original = real_logs / "lm_eval" / EXAONE_DIR
    shutil.copy(original / EXAONE_RESULTS, source)
    rows = [json.loads(line) for line in (original / EXAONE_SAMPLES).read_text().splitlines()]
    count = INLINE_LIMIT + 500
    big = [
        {**rows[i % 10], "doc_id": i, "doc_hash": f"{i:064x}", "exact_match": float(i % 3 == 0)}
        for i in range(count)
    ]
    (source / EXAONE_SAMPLES).write_text("".join(json.dumps(r) + "\n" for r in big))
    store, out = tmp_path / "s.duckdb", tmp_path / "records"
    result = run_cli("import", "lm-eval", source, "--store", store, "--out", out, "--json")
    assert result.code == 0, result.err
    run_file = next(out.glob("*.run.json"))
    suite_file = next(out.glob("*.suite.json"))
    assert json.loads(run_file.read_text())["cases"].endswith(".cases.jsonl")
    assert all(isinstance(v, str) for v in json.loads(suite_file.read_text())["splits"].values())
    assert len(list(out.glob("*.jsonl"))) == 2
    with Store.open(store, read_only=True) as opened:
        n, rate = opened.con.execute(
            "SELECT count(*), avg((route = 'CORRECT')::INT) FROM results"
        ).fetchone()
    assert n == count and abs(rate - sum(1 for i in range(count) if i % 3 == 0) / count) < 1e-12
    loaded = run_cli("load", out, "--store", store, "--json")
    assert json.loads(loaded.out)["runs_unchanged"] == [json.loads(result.out)["runs"][0]["run_id"]]


def test_human_output_names_runs_and_the_store(real_logs: Path, run_cli, tmp_path: Path) -> None:
    result = run_cli(
        "import", "mlflow", real_logs / "mlflow_filestore", "--store", tmp_path / "s.duckdb"
    )
    assert result.code == 0, result.err
    assert "mlflow: 1 run, 1 suite" in result.out
    assert "models:/router/1" in result.out
    assert "loaded 1 suite, 1 run (1 case results) into" in result.out


def test_unknown_tool_is_a_usage_error(run_cli, tmp_path: Path) -> None:
    result = run_cli("import", "wandb", tmp_path)
    assert result.code == 2 and "wandb" in result.err


def test_missing_source_is_one_line(run_cli, tmp_path: Path) -> None:
    for tool in ("lm-eval", "inspect", "mlflow"):
        result = run_cli("import", tool, tmp_path / "nope", "--store", tmp_path / "s.duckdb")
        assert result.code == 2
        assert result.err.strip().splitlines() == [
            f"evaltui: {tmp_path / 'nope'}: no such file or folder"
        ]


def test_store_option_before_the_tool(real_logs: Path, run_cli, tmp_path: Path) -> None:
    store = tmp_path / "s.duckdb"
    result = run_cli("--store", store, "import", "lm-eval", real_logs / "lm_eval", "--json")
    assert result.code == 0, result.err
    assert json.loads(result.out)["store"] == str(store) and store.exists()
