"""Which tool wrote a log, from a bounded look at it, so an importer can refuse another tool's log.

Every importer runs `refuse_foreign_file` on a file SOURCE before reading it, and
`refuse_foreign_folder` when a folder SOURCE yields nothing for it: a log that clearly belongs to
another tool is refused with one line naming that tool and the command that reads it
("this looks like a promptfoo results file: evaltui import promptfoo results.json"), instead of
being misread or refused with a message about the wrong format.

Recognition only reads the first PREFIX_BYTES of a file (and the names in a folder), so it costs
the same whatever the log's size. A file no rule recognises is left to the importer: the hint is
only given when the evidence is specific to one tool (a key or a file layout no other tool writes).
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path

from evaltui.errors import InputError

PREFIX_BYTES = 64 * 1024
FOLDER_ENTRIES = 200  # names looked at in a folder and in each of its subfolders


@dataclass(frozen=True, slots=True)
class Guess:
    tool: str  # the `evaltui import` command that reads it
    what: str  # "a promptfoo results file"


def _keys(*names: str) -> re.Pattern[str]:
    """Any of `names` as a JSON object key."""
    return re.compile("|".join(rf'"{re.escape(name)}"\s*:' for name in names))


_PROMPTFOO = re.compile(r'^\s*\{\s*"evalId"\s*:')  # promptfoo writes it first
_PROMPTFOO_INNER = re.compile(r'"results"\s*:\s*\{\s*"version"\s*:\s*\d+\s*,\s*"timestamp"')
_LM_EVAL = _keys(
    "group_subtasks", "configs", "n-shot", "higher_is_better", "n-samples", "lm_eval_version"
)
_LM_EVAL_SAMPLE = re.compile(r'^\{"doc_id"\s*:')
_INSPECT = re.compile(r'^\s*\{\s*"version"\s*:\s*\d+\s*,\s*"status"\s*:\s*"[a-z]+"\s*,\s*"eval"')
_LIGHTEVAL = re.compile(r'^\s*\{\s*"config_general"\s*:\s*\{')
_OPENAI_EVALS = re.compile(r'^\{"spec"\s*:\s*\{.*"completion_fns"\s*:', re.S)
_WANDB_TABLE = re.compile(r'"_type"\s*:\s*"(table|joined-table|partitioned-table)"')
_PARQUET = b"PAR1"
_ZIP = b"PK\x03\x04"
_WANDB_LEVELDB = b":W&B"


def sniff_file(path: Path) -> Guess | None:
    """The tool that wrote `path`, if its first bytes say so unambiguously; None otherwise."""
    try:
        with path.open("rb") as handle:
            head = handle.read(PREFIX_BYTES)
    except OSError:
        return None  # the importer reports an unreadable file in its own words
    name = path.name
    if name.endswith(".wandb") or head.startswith(_WANDB_LEVELDB):
        return Guess("wandb", "a W&B run's binary .wandb log")
    if head.startswith(_ZIP) and name.endswith(".eval"):
        return Guess("inspect", "an inspect_ai .eval log")
    if head.startswith(_PARQUET) and name.startswith("details_"):
        return Guess("lighteval", "a lighteval details file")
    if head.startswith(b"SQLite format 3\x00") and name == "mlflow.db":
        return Guess("mlflow", "an MLflow tracking database")
    text = head.decode("utf-8", errors="replace").lstrip("\ufeff")
    # Rules anchored at the first key come first: a log's content (a sample's text, a config)
    # may mention another tool's keys further in.
    if _INSPECT.search(text):
        return Guess("inspect", "an inspect_ai log")
    if _PROMPTFOO.match(text) or _PROMPTFOO_INNER.search(text):
        return Guess("promptfoo", "a promptfoo results file")
    if _OPENAI_EVALS.match(text[:4096]):
        return Guess("openai-evals", "an OpenAI Evals record log")
    if _LM_EVAL_SAMPLE.match(text) or (
        re.match(r'\s*\{\s*"results"\s*:', text) and _LM_EVAL.search(text)
    ):
        return Guess("lm-eval", "an lm-evaluation-harness log")
    if _LIGHTEVAL.match(text):
        return Guess("lighteval", "a lighteval results file")
    if name.endswith(".table.json") or (
        re.match(r'\s*\{\s*"(columns|_type)"\s*:', text) and _WANDB_TABLE.search(text)
    ):
        return Guess("wandb", "a W&B table")
    return None


def sniff_folder(folder: Path) -> Guess | None:
    """The tool that wrote a folder, from the names of its entries (two levels, bounded)."""
    names = _names(folder)
    if not names:
        return None
    if "wandb" in names or _is_wandb_run(folder, names):
        return Guess("wandb", "a Weights & Biases folder")
    if any(re.match(r"(offline-)?run-\d{8}_\d{6}-\w+$", n) for n in names):
        return Guess("wandb", "a Weights & Biases wandb/ folder")
    if "mlruns" in names or "mlflow.db" in names:
        return Guess("mlflow", "an MLflow project folder")
    if any(n.endswith(".eval") for n in names):
        return Guess("inspect", "a folder of inspect_ai logs")
    if any(n.startswith("results_") and n.endswith(".json") for n in names) and any(
        n.startswith("samples_") and n.endswith(".jsonl") for n in names
    ):
        return Guess("lm-eval", "an lm-evaluation-harness output folder")
    if "details" in names and "results" in names:
        return Guess("lighteval", "a lighteval output folder")
    files = [folder / n for n in sorted(names) if n.endswith((".json", ".jsonl"))][:20]
    guesses = {g for g in (sniff_file(p) for p in files if p.is_file()) if g is not None}
    tools = {g.tool for g in guesses}
    if len(tools) == 1:
        return Guess(tools.pop(), "a folder of " + next(iter(guesses)).what.split(" ", 1)[1] + "s")
    return None


def _names(folder: Path) -> set[str]:
    try:
        with_entries = []
        for number, entry in enumerate(folder.iterdir()):
            if number >= FOLDER_ENTRIES:
                break
            with_entries.append(entry.name)
        return set(with_entries)
    except OSError:
        return set()


def _is_wandb_run(folder: Path, names: set[str]) -> bool:
    if any(n.startswith("run-") and n.endswith(".wandb") for n in names):
        return True
    return "files" in names and (folder / "files" / "wandb-metadata.json").is_file()


def _hint(source: Path, guess: Guess) -> str:
    from evaltui.importers.pipeline import TOOLS  # the registry imports this module

    if guess.tool not in TOOLS:
        return f"this looks like {guess.what}, which evaltui does not import yet"
    return f"this looks like {guess.what}: evaltui import {guess.tool} {shlex.quote(str(source))}"


def refuse_foreign_file(source: Path, tool: str) -> None:
    """Refuse a file SOURCE that another tool wrote, naming the command that reads it."""
    if not source.is_file():
        return
    guess = sniff_file(source)
    if guess is not None and guess.tool != tool:
        raise InputError(source, _hint(source, guess))


def refuse_foreign_folder(source: Path, tool: str, error: InputError) -> None:
    """When a folder SOURCE gave `tool` nothing to import, say which tool's folder it is."""
    if not source.is_dir() or error.path != str(source):
        return
    guess = sniff_folder(source)
    if guess is not None and guess.tool != tool:
        raise InputError(source, _hint(source, guess)) from None
