"""From a foreign log to a validated Batch, through the same contract code as `evaltui load`.

`prepare(tool, source)` reads the log with the tool's importer, lays the native documents out as
files would be (case lists larger than INLINE_LIMIT move to JSONL files, as a team committing the
records would keep them; importers of large logs stream such lists to those files in batches,
`common.RowSpool`, so no log is ever held whole), and validates every document with `parse_suite` / `parse_run`. The
result holds a `Batch` for `load_batch` and can write the native records to a folder (`--out`).
Because both paths use the same documents and data files, importing directly and loading the
written records give identical content: re-importing is a no-op either way.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os
import re
import shutil
import stat
import tempfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, cast

from evaltui.contract.discover import Batch
from evaltui.contract.jsonio import lone_surrogate
from evaltui.contract.model import EncodedCases
from evaltui.contract.run import parse_run
from evaltui.contract.suite import parse_suite
from evaltui.errors import EvaltuiError, InputError, InputErrors, raise_collected
from evaltui.importers.common import INLINE_LIMIT as INLINE_LIMIT  # cases kept inline at most
from evaltui.importers.common import Imported, SpilledRows, jsonl_line
from evaltui.importers.detect import refuse_foreign_file, refuse_foreign_folder
from evaltui.safe_files import write_new, write_replacing

_FILE_UNSAFE = re.compile(r"[^A-Za-z0-9_.@+-]+")


@dataclass(frozen=True, slots=True)
class ImporterSpec:
    """One `evaltui import TOOL` command, defined once: its reader, its help, its options.

    The reader lives in `module` and is imported only when the command runs, so `evaltui --help`
    stays fast and an importer's optional packages are needed only by its own command.
    """

    tool: str
    module: str  # under evaltui.importers
    function: str  # reader: (source: Path[, columns=...]) -> Imported
    short: str  # one line for `evaltui import --help`
    source_help: str  # what SOURCE may be
    takes_columns: bool = False  # the command has `--columns pred=COL,label=COL`
    path_function: str | None = None  # how SOURCE text becomes a Path, when not a plain path

    def reader(self) -> Callable[..., Imported]:
        module = importlib.import_module(f"evaltui.importers.{self.module}")
        return cast(Callable[..., Imported], getattr(module, self.function))


# The `evaltui import` commands, in help order.
IMPORTERS: dict[str, ImporterSpec] = {
    spec.tool: spec
    for spec in (
        ImporterSpec(
            "lm-eval",
            "lm_eval",
            "read_lm_eval",
            "lm-evaluation-harness results + samples (a file or a folder).",
            "lm-evaluation-harness output: a results_*.json (its samples_<task>_*.jsonl beside "
            "it), a samples file, or a folder of them.",
        ),
        ImporterSpec(
            "inspect",
            "inspect_ai",
            "read_inspect",
            "inspect_ai .eval / .json logs (a file or a folder).",
            "inspect_ai logs: a .eval archive (deflate or zstd) or a .json log, or a folder of them.",
        ),
        ImporterSpec(
            "mlflow",
            "mlflow",
            "read_mlflow",
            "MLflow file store (mlruns/) or mlflow.db with a predictions artifact.",
            "MLflow tracking data: an mlruns/ folder, the project folder holding it or mlflow.db, "
            "or the mlflow.db SQLite file.",
            path_function="source_path",
        ),
        ImporterSpec(
            "promptfoo",
            "promptfoo",
            "read_promptfoo",
            "promptfoo eval -o results.json output (a file or a folder).",
            "promptfoo output: the JSON file `promptfoo eval -o results.json` writes, or a folder "
            "of them.",
        ),
        ImporterSpec(
            "wandb",
            "wandb",
            "read_wandb",
            "Weights & Biases run folders (wandb/run-*/) or a table export.",
            "Weights & Biases data: a run folder (wandb/run-*/ or wandb/offline-run-*/), the wandb/ "
            "folder or the project folder holding it, a logged *.table.json, or a table exported "
            "as JSON or CSV.",
            takes_columns=True,
        ),
        ImporterSpec(
            "openai-evals",
            "openai_evals",
            "read_openai_evals",
            "OpenAI Evals record logs (oaieval --record_path FILE.jsonl).",
            "OpenAI Evals output: a record log `oaieval ... --record_path FILE.jsonl` writes, or a "
            "folder of them.",
        ),
    )
}
TOOLS = tuple(IMPORTERS)


def source_path(tool: str, text: str) -> Path:
    """SOURCE as typed: a path, or for MLflow also a `sqlite:///...` tracking URI."""
    spec = IMPORTERS.get(tool)
    if spec is None or spec.path_function is None:
        return Path(text)
    module = importlib.import_module(f"evaltui.importers.{spec.module}")
    return cast(Path, getattr(module, spec.path_function)(text))


def read_source(tool: str, source: Path, *, columns: Mapping[str, str] | None = None) -> Imported:
    """Run one importer on SOURCE (a file or folder); another tool's log is refused with a hint."""
    spec = IMPORTERS.get(tool)
    if spec is None:
        raise InputError(None, f"unknown tool {tool!r}; choose one of {', '.join(TOOLS)}")
    refuse_foreign_file(source, tool)
    reader = spec.reader()
    try:
        if spec.takes_columns:
            return reader(source, columns=columns)
        return reader(source)
    except InputError as exc:
        refuse_foreign_folder(source, tool, exc)
        raise


class EncodedFile:
    """A split an importer encoded in bulk (`EncodedCases`), as the JSON Lines file `--out`
    writes: made only when asked for (from the canonical texts, `jsonl_line` per case: the bytes
    the per-row spool writes), never for an import that only loads."""

    def __init__(self, cases: EncodedCases, scratch: Callable[[], Path]) -> None:
        self.cases = cases
        self._scratch = scratch
        self._path: Path | None = None

    def path(self) -> Path:
        if self._path is None:
            handle, name = tempfile.mkstemp(suffix=".jsonl", dir=self._scratch())
            import pyarrow.parquet as pq

            with os.fdopen(handle, "wb") as out, pq.ParquetFile(self.cases.path) as cases:
                for batch in cases.iter_batches(batch_size=65_536, columns=["canonical"]):
                    texts = batch.column(0).to_pylist()
                    out.write(
                        "".join(jsonl_line(json.loads(text)) for text in texts).encode("utf-8")
                    )
            self._path = Path(name)
        return self._path


DataFile = bytes | Path | EncodedFile


@dataclass(frozen=True, slots=True)
class NativeRecord:
    """One native record as it would be written: the document, its file name, its data files."""

    kind: str  # "suite" or "run"
    record_id: str
    doc: dict[str, Any]
    filename: str
    source: Path
    # a Path: a spilled JSONL (or Parquet) file; an EncodedFile: a split encoded in bulk
    data: dict[str, DataFile] = field(default_factory=dict)

    def encoded(self) -> dict[str, EncodedCases]:
        """The splits encoded in bulk, by file name (`parse_suite` takes them as they are)."""
        return {n: d.cases for n, d in self.data.items() if isinstance(d, EncodedFile)}

    def text(self) -> bytes:
        return (json.dumps(self.doc, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


@dataclass
class Prepared:
    imported: Imported
    records: list[NativeRecord]
    batch: Batch

    def write(self, folder: Path, *, overwrite: bool = False) -> list[Path]:
        """Write the native records (and their data files) into `folder`."""
        return write_records(self.records, folder, overwrite=overwrite)


@contextmanager
def prepare(
    tool: str, source: Path, *, columns: Mapping[str, str] | None = None
) -> Iterator[Prepared]:
    """Read SOURCE and validate its native records; the Batch is usable inside the block."""
    imported = read_source(tool, source, columns=columns)
    try:
        records = native_records(imported)
        with tempfile.TemporaryDirectory(prefix="evaltui-import-") as tmp:
            folder = Path(tmp)
            for record in records:
                for name, data in record.data.items():
                    if isinstance(data, Path):
                        _place(data, folder / name)
                    elif isinstance(data, bytes):  # a fresh private folder, still never followed
                        write_new(folder / name, data)
            yield Prepared(imported, records, build_batch(records, folder))
    finally:
        imported.close()


def _place(spilled: Path, target: Path) -> None:
    """A spilled JSONL file under its record's name: a hard link when possible, else a copy."""
    try:
        os.link(spilled, target, follow_symlinks=False)
    except OSError:
        shutil.copyfile(spilled, target, follow_symlinks=False)


def native_records(imported: Imported) -> list[NativeRecord]:
    suite_stems = record_stems([suite.suite_id for suite in imported.suites.values()])
    run_stems = record_stems([run.run_id for run in imported.runs])
    records = []
    for suite in imported.suites.values():
        stem = suite_stems[suite.suite_id]
        doc = dict(suite.doc)
        data: dict[str, DataFile] = {}
        doc["splits"] = {
            split: _cases_or_file(cases, f"{stem}.{split}.jsonl", data, imported.scratch)
            for split, cases in doc["splits"].items()
        }
        records.append(
            NativeRecord("suite", suite.suite_id, doc, f"{stem}.suite.json", suite.source, data)
        )
    for run in imported.runs:
        stem = run_stems[run.run_id]
        doc = dict(run.doc)
        data = {}
        doc["cases"] = _cases_or_file(doc["cases"], f"{stem}.cases.jsonl", data, imported.scratch)
        records.append(NativeRecord("run", run.run_id, doc, f"{stem}.run.json", run.source, data))
    _refuse_shared_names(records)
    return records


def record_stems(record_ids: list[str]) -> dict[str, str]:
    """Each id's file stem; ids whose plain stems collide all get a suffix from their own hash.

    `file_stem` maps several ids to one stem (`inspect:a:b_c` and `inspect:a_b:c` both become
    `inspect_a_b_c`); writing both under it would lose one. The suffix depends only on the id,
    so the names are the same whatever order the logs are read in.
    """
    plain = {record_id: file_stem(record_id) for record_id in record_ids}
    uses: dict[str, int] = {}
    for stem in plain.values():
        uses[stem] = uses.get(stem, 0) + 1
    return {
        record_id: stem if uses[stem] == 1 else f"{stem}-{_id_hash(record_id)}"
        for record_id, stem in plain.items()
    }


def _id_hash(record_id: str) -> str:
    return hashlib.sha256(record_id.encode("utf-8", "surrogatepass")).hexdigest()[:10]


def _refuse_shared_names(records: list[NativeRecord]) -> None:
    """Never two files under one name (a suite split named like a run's case file, say)."""
    owners: dict[str, NativeRecord] = {}
    errors = []
    for record in records:
        for name in (record.filename, *record.data):
            first = owners.setdefault(name, record)
            if first is not record:
                errors.append(
                    InputError(
                        record.source,
                        f"{record.kind} {record.record_id!r} would be written to {name!r}, "
                        f"as {first.kind} {first.record_id!r} from {first.source} is; "
                        "import the two logs separately",
                    )
                )
    raise_collected(errors)


def _cases_or_file(
    cases: list[dict[str, Any]] | SpilledRows | EncodedCases,
    name: str,
    data: dict[str, DataFile],
    scratch: Callable[[], Path],
) -> list[dict[str, Any]] | str:
    """The cases inline, or (more than INLINE_LIMIT) the name of the JSONL file added to `data`
    (a Parquet file's name when the importer wrote one)."""
    if isinstance(cases, EncodedCases):
        data[name] = EncodedFile(cases, scratch)
        return name
    if isinstance(cases, SpilledRows):
        if cases.format != "jsonl":
            name = name.removesuffix(".jsonl") + f".{cases.format}"
        data[name] = cases.path
        return name
    if len(cases) <= INLINE_LIMIT:
        return cases
    data[name] = jsonl_bytes(cases)
    return name


def build_batch(records: list[NativeRecord], folder: Path) -> Batch:
    """Validate every record as `evaltui load` would; messages name the log each came from."""
    batch = Batch()
    errors: list[InputError] = []
    for record in records:
        # A JSON round trip makes the document exactly what a written file would hold.
        path = folder / record.filename
        text = json.dumps(record.doc, ensure_ascii=False)
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate: a file name that is not UTF-8, say
            where = lone_surrogate(record.doc) or "a value"
            errors.append(
                InputError(
                    record.source,
                    f"{record.kind} {record.record_id!r}: {where} is not valid UTF-8 text "
                    "(a file or folder name that is not UTF-8? rename it)",
                )
            )
            continue
        doc = json.loads(text)
        try:
            if record.kind == "suite":
                suite = parse_suite(doc, path, folder, encoded=record.encoded())
                batch.suites.append(replace(suite, path=record.source))
            else:
                batch.runs.append(replace(parse_run(doc, path, folder), path=record.source))
        except InputErrors as exc:
            errors.extend(_from_source(e, record, path) for e in exc.errors)
        except InputError as exc:
            errors.append(_from_source(exc, record, path))
        except EvaltuiError as exc:
            errors.append(InputError(record.source, str(exc)))
    raise_collected(errors)
    return batch


def _from_source(error: InputError, record: NativeRecord, path: Path) -> InputError:
    """A problem in a generated document is reported against the log it came from."""
    if error.path == str(path):
        return InputError(record.source, f"{record.kind} {record.record_id!r}: {error.message}")
    return error


def write_records(
    records: list[NativeRecord], folder: Path, *, overwrite: bool = False
) -> list[Path]:
    """Write records atomically; an existing file with other content is refused unless `overwrite`."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(folder, f"cannot create the output folder: {exc.strerror}") from None
    planned: list[tuple[Path, bytes | Path]] = []
    for record in records:
        planned.extend(
            (folder / name, data.path() if isinstance(data, EncodedFile) else data)
            for name, data in record.data.items()
        )
        planned.append((folder / record.filename, record.text()))
    unchanged = {path for path, data in planned if _same_content(path, data)}
    clashes = [
        InputError(
            path,
            "already exists with other content; choose another --out folder (or pass --replace)",
        )
        for path, _data in planned
        if not overwrite and path not in unchanged and path.exists()
    ]
    raise_collected(clashes)
    written = []
    for path, data in planned:
        if path in unchanged:
            written.append(path)
            continue
        if isinstance(data, Path):
            _copy_replacing(data, path)
        else:
            write_replacing(path, data)
        written.append(path)
    return written


def _same_content(path: Path, data: bytes | Path) -> bool:
    """Whether the regular file at `path` already holds `data` (a spilled file compared in chunks)."""
    if not isinstance(data, Path):
        return _content(path) == data
    try:
        if not stat.S_ISREG(os.lstat(path).st_mode) or path.stat().st_size != data.stat().st_size:
            return False
        with path.open("rb") as old, data.open("rb") as new:
            while True:
                chunk = new.read(1 << 20)
                if chunk != old.read(1 << 20):
                    return False
                if not chunk:
                    return True
    except OSError:
        return False


def _copy_replacing(source: Path, path: Path) -> None:
    """`write_replacing` for a spilled file: a private temp copy beside `path`, then a rename."""
    if path.is_symlink() or (path.exists() and not path.is_file()):
        write_replacing(path, b"")  # refuses a symlink or special file with its own message
    handle, name = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    temp = Path(name)
    try:
        with os.fdopen(handle, "wb") as out, source.open("rb") as data:
            shutil.copyfileobj(data, out, 1 << 20)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temp, 0o644)
        os.replace(temp, path)
    except OSError as exc:
        temp.unlink(missing_ok=True)
        raise InputError(path, f"cannot write: {exc.strerror}") from None


def _content(path: Path) -> bytes | None:
    """The bytes of a regular file at `path` (never through a symlink, never a FIFO), else None."""
    try:
        if not stat.S_ISREG(os.lstat(path).st_mode):
            return None
        return path.read_bytes()
    except OSError:
        return None


def file_stem(record_id: str) -> str:
    return _FILE_UNSAFE.sub("_", record_id).strip("._") or "record"


def jsonl_bytes(rows: list[dict[str, Any]]) -> bytes:
    return "".join(jsonl_line(row) for row in rows).encode("utf-8")
