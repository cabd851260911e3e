"""Each importer refuses another tool's log with a hint naming the command that reads it.

The promptfoo and W&B logs are real (tests/real_logs). The lm-eval, inspect_ai, lighteval and
OpenAI Evals snippets below are made here: the first bytes of each tool's format as its writers
lay them out (key order included), which is all that recognition reads.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from evaltui.importers.detect import PREFIX_BYTES, sniff_file, sniff_folder
from tests.conftest import REPO
from tests.importer_support import refused

LOGS = REPO / "tests" / "real_logs"
PROMPTFOO = LOGS / "promptfoo" / "results.json"
WANDB = LOGS / "wandb" / "wandb"
RUN_LOG = WANDB / "offline-run-20261206_031800-kat5i6y4" / "run-kat5i6y4.wandb"
TABLE = LOGS / "wandb" / "export" / "keyword-v2.table.json"

MADE_UP = {
    "lm-eval": (
        '{\n  "results": {\n    "winogrande": {"alias": "winogrande"}\n  },\n'
        '  "group_subtasks": {"winogrande": []},\n  "configs": {}\n}\n'
    ),
    "inspect": '{\n  "version": 2,\n  "status": "success",\n  "eval": {"task": "popularity"}\n}\n',
    "lighteval": '{"config_general": {"lighteval_sha": "abc", "model_name": "gpt2"}, "results": {}}',
    "openai-evals": (
        '{"spec": {"completion_fns": ["dummy"], "eval_name": "test-match.s1.simple-v0", '
        '"run_id": "230101000000ABCDEFGH"}}\n{"final_report": {"accuracy": 1.0}}\n'
    ),
}


@pytest.mark.parametrize(
    ("path", "tool"),
    [(PROMPTFOO, "promptfoo"), (RUN_LOG, "wandb"), (TABLE, "wandb")],
)
def test_real_logs_are_recognised(path: Path, tool: str) -> None:
    guess = sniff_file(path)
    assert guess is not None and guess.tool == tool


@pytest.mark.parametrize("tool", sorted(MADE_UP))
def test_format_heads_are_recognised(tool: str, tmp_path: Path) -> None:
    path = tmp_path / "log.json"
    path.write_text(MADE_UP[tool], encoding="utf-8")
    guess = sniff_file(path)
    assert guess is not None and guess.tool == tool


def test_a_plain_json_file_is_not_claimed(tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    path.write_text('{"results": {"a": 1}, "note": "evalId: not a key here"}', encoding="utf-8")
    assert sniff_file(path) is None


def test_only_the_first_bytes_are_read(tmp_path: Path) -> None:
    path = tmp_path / "big.json"
    path.write_bytes(b'{"pad": "' + b"x" * PREFIX_BYTES + b'", "evalId": "e", "results": {}}')
    assert sniff_file(path) is None  # the key lies past the prefix: nothing is claimed


def test_wandb_logs_are_named_to_other_importers(run_cli, tmp_path: Path) -> None:
    store = tmp_path / "s.duckdb"
    line = refused(run_cli, "lm-eval", RUN_LOG, store)
    assert line.endswith(
        f"this looks like a W&B run's binary .wandb log: evaltui import wandb {RUN_LOG}"
    )
    line = refused(run_cli, "promptfoo", TABLE, store)
    assert "this looks like a W&B table: evaltui import wandb" in line
    for tool in ("promptfoo", "mlflow", "inspect"):
        line = refused(run_cli, tool, WANDB, store)
        assert (
            f"this looks like a Weights & Biases wandb/ folder: evaltui import wandb {WANDB}"
            in line
        )


def test_wandb_refuses_a_promptfoo_folder_with_a_hint(run_cli, tmp_path: Path) -> None:
    line = refused(run_cli, "wandb", LOGS / "promptfoo", tmp_path / "s.duckdb")
    assert "this looks like a folder of promptfoo results files: evaltui import promptfoo" in line


def test_tools_evaltui_does_not_import_are_named_as_such(run_cli, tmp_path: Path) -> None:
    path = tmp_path / "results_2025.json"
    path.write_text(MADE_UP["lighteval"], encoding="utf-8")
    line = refused(run_cli, "lm-eval", path, tmp_path / "s.duckdb")
    assert line.endswith(
        "this looks like a lighteval results file, which evaltui does not import yet"
    )


def test_a_tools_own_folder_is_recognised(tmp_path: Path) -> None:
    guess = sniff_folder(WANDB.parent)
    assert guess is not None and guess.tool == "wandb"
    assert sniff_folder(tmp_path) is None
