"""What the importer tests share: the lm-eval log they edit, and running an import to success or refusal."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

EXAONE_DIR = "LGAI-EXAONE__EXAONE-3.0-7.8B-Instruct"  # under real-logs/lm_eval
EXAONE_STAMP = "2024-12-23T14-45-44.695233"
EXAONE_RESULTS = f"results_{EXAONE_STAMP}.json"
EXAONE_SAMPLES = f"samples_winogrande_{EXAONE_STAMP}.jsonl"


def imported(run_cli: Any, tool: str, source: Path | str, store: Path, *extra: str) -> dict:
    """`evaltui import TOOL SOURCE --json` succeeded; its report."""
    result = run_cli("import", tool, source, "--store", store, "--json", *extra)
    assert result.code == 0, result.err
    return json.loads(result.out)


def refused(run_cli: Any, tool: str, source: Path, store: Path) -> str:
    """`evaltui import TOOL SOURCE` was refused (exit 2) in one line, before opening the store."""
    result = run_cli("import", tool, source, "--store", store)
    assert result.code == 2, result.out
    lines = result.err.strip().splitlines()
    assert len(lines) == 1, result.err
    assert not store.exists()  # refused before the store was opened
    return lines[0]


def tree_bytes(folder: Path) -> dict[str, bytes]:
    """Every file under `folder` by relative path, with its bytes."""
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()
    }
