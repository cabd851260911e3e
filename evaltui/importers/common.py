"""What every importer shares: route labels, suite declarations, and native-record builders.

An importer reads a foreign log and produces native documents: dicts exactly like the JSON of a
suite manifest and a run record (cases inline). They are then validated and loaded by the same
code as `evaltui load` (see `pipeline.py`), so an imported run is held to the same contract.

Suites are named `<tool>.<task>.<digest>`, the digest being a hash of the whole manifest (cases,
metrics, guardrails, contract). Runs of the same task on the same cases therefore share one suite
and are comparable; a different set of cases is a different suite and is never silently ranked.
"""

from __future__ import annotations

import hashlib
import heapq
import itertools
import json
import math
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from evaltui.contract.fields import IDENTIFIER
from evaltui.contract.fingerprint import (
    COMBINED_FIELD,
    FINGERPRINT_DIGITS,
    canonical_case,
    digest_encoded,
    encode_case,
    split_field,
)
from evaltui.contract.jsonio import parse_json_text
from evaltui.contract.model import FORMAT_VERSION, KIND_RUN, KIND_SUITE, EncodedCases
from evaltui.contract.suite import SPLIT_NAME
from evaltui.errors import InputError
from evaltui.safe_files import open_regular

INLINE_LIMIT = 2000  # cases; larger lists are written to JSONL next to the record

# Routes an importer writes when a case has no predicted label of its own.
ROUTE_CORRECT = "CORRECT"
ROUTE_INCORRECT = "INCORRECT"
ROUTE_PARTIAL = "PARTIAL"
ROUTE_NOANSWER = "NOANSWER"
ROUTE_UNSCORED = "UNSCORED"
ROUTE_ERROR = "ERROR"
EXPECTED_UNLABELED = "UNLABELED"

EXACT_ROUTE_RATE = "exact_route_rate"

# Every imported suite declares these. No guardrail sits on exact_route_rate: a benchmark has no
# absolute pass mark, ranking against the baseline is the paired comparison's job. A run with cases
# that were never judged (a cancelled or unscored log) cannot be promoted on what it did not show.
BASE_METRICS: list[dict[str, Any]] = [
    {"name": EXACT_ROUTE_RATE, "rate": {"correct": True}},
    {"name": "unscored_cases", "count": {"predicted": [ROUTE_UNSCORED, ROUTE_ERROR]}},
]
BASE_GUARDRAILS: list[dict[str, Any]] = [
    # evidence checks: passing them says nothing about quality, so imported runs read
    # NO_GUARDRAILS until a gates file declares guardrails (docs/formats.md)
    {"require": "unscored_cases == 0", "status": "REJECT_UNSCORED", "evidence": True},
]
UNLABELED_METRIC: dict[str, Any] = {
    "name": "unlabeled_cases",
    "count": {"expected": EXPECTED_UNLABELED},
}
UNLABELED_GUARDRAIL: dict[str, Any] = {
    "require": "unlabeled_cases == 0",
    "status": "REJECT_UNLABELED",
    "evidence": True,
}

# Runs of characters `fields.IDENTIFIER` does not allow.
_ID_UNSAFE = re.compile(r"[^A-Za-z0-9_.:@/+-]+")
_SPLIT_UNSAFE = re.compile(r"[^A-Za-z0-9_]+")


@dataclass(frozen=True, slots=True)
class Skipped:
    path: Path
    reason: str

    def to_json(self) -> dict[str, str]:
        return {"path": str(self.path), "reason": self.reason}


@dataclass(slots=True)
class ImportedRun:
    doc: dict[str, Any]
    source: Path
    notes: tuple[str, ...] = ()

    @property
    def run_id(self) -> str:
        return str(self.doc["run_id"])


@dataclass(slots=True)
class ImportedSuite:
    doc: dict[str, Any]
    source: Path

    @property
    def suite_id(self) -> str:
        return str(self.doc["suite_id"])


@dataclass
class Imported:
    """Everything read from one SOURCE: native suite and run documents, and what was skipped.

    Case lists longer than INLINE_LIMIT are `SpilledRows`: JSONL files in a private scratch
    folder (`scratch()`), removed by `close()` (`pipeline.prepare` does it).
    """

    tool: str
    suites: dict[str, ImportedSuite] = field(default_factory=dict)
    runs: list[ImportedRun] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    _by_id: dict[str, ImportedRun] = field(default_factory=dict, repr=False)
    _scratch: Path | None = field(default=None, repr=False)

    def scratch(self) -> Path:
        """A private folder for spilled rows, made on first use."""
        if self._scratch is None:
            self._scratch = Path(tempfile.mkdtemp(prefix="evaltui-spill-"))
        return self._scratch

    def spool(self, source: Path, *, cases: bool) -> RowSpool:
        return RowSpool(self.scratch, source, cases=cases)

    def close(self) -> None:
        if self._scratch is not None:
            shutil.rmtree(self._scratch, ignore_errors=True)
            self._scratch = None

    def add(
        self, suite: BuiltSuite, run: dict[str, Any], source: Path, notes: Iterable[str] = ()
    ) -> None:
        other = self._by_id.get(run["run_id"])
        if other is not None:
            if _identity(other.doc) == _identity(run):
                return  # the same log twice (e.g. a copy): load it once
            raise InputError(
                source,
                f"run {run['run_id']!r} is also read, differently, from {other.source}; "
                "import the two logs separately",
            )
        known = self.suites.get(suite.suite_id)
        if known is not None and _suite_identity(known.doc) != _suite_identity(suite.doc):
            raise InputError(
                source,
                f"suite {suite.suite_id!r} is also read, differently, from {known.source}; "
                "import the two logs separately",
            )
        self.suites.setdefault(suite.suite_id, ImportedSuite(suite.doc, source))
        self._by_id[run["run_id"]] = imported = ImportedRun(run, source, tuple(notes))
        self.runs.append(imported)

    def skip(self, path: Path, reason: str) -> None:
        self.skipped.append(Skipped(path, reason))

    def require_runs(self, source: Path, what: str) -> None:
        """A SOURCE that yields no run is an error that says why each candidate file was skipped."""
        if self.runs:
            return
        if not self.skipped:
            raise InputError(source, f"nothing to import: no {what} found here")
        if len(self.skipped) == 1:
            raise InputError(self.skipped[0].path, f"nothing to import: {self.skipped[0].reason}")
        raise InputError(
            source,
            f"nothing to import: no usable {what}; {len(self.skipped)} candidates skipped "
            f"(first: {self.skipped[0].path.name}: {self.skipped[0].reason})",
        )


@contextmanager
def importing(tool: str) -> Iterator[Imported]:
    """A fresh `Imported` for one importer's run. If the import fails, its scratch folder (rows
    already spilled) is removed here; on success whoever uses the result closes it
    (`pipeline.prepare`)."""
    imported = Imported(tool)
    try:
        yield imported
    except BaseException:
        imported.close()
        raise


# -- rows too many to hold: spilled to JSONL in batches --------------------------------------------

_SPOOL_BATCH = 4096  # rows encoded and written at once
_RUN_BYTES = 8 << 20  # canonical texts sorted in memory at once, for a suite's digest
_IDENTITY = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), default=lambda o: {"spilled_rows": o.digest}
)


def _identity(doc: Mapping[str, Any]) -> str:
    """A document's canonical text, spilled rows standing for their digest (same rows, same text)."""
    return _IDENTITY.encode(doc)


def _suite_identity(doc: Mapping[str, Any]) -> str:
    """`_identity` of a suite, every split standing for its cases' digest: the same cases kept
    inline by one log and spilled or encoded in bulk by another are the same suite."""
    splits = {name: _cases_digest(cases) for name, cases in doc["splits"].items()}
    return _IDENTITY.encode({**doc, "splits": splits})


def _cases_digest(cases: list[dict[str, Any]] | SpilledRows | EncodedCases) -> str:
    """The full digest of a split's cases (`fingerprint.digest_encoded`), however they are kept."""
    if isinstance(cases, SpilledRows | EncodedCases):
        return cases.digest
    return digest_encoded((case["case_id"], canonical_case(case)) for case in cases)


def _line_encoder() -> Callable[[Mapping[str, Any]], str]:
    """`json.dumps(row, ensure_ascii=False, sort_keys=True)` with its C encoder made once.

    `json.dumps` builds a new encoder for every row (as `fingerprint.encode_case` explains); an
    lm-eval import writes two rows per document. Same settings, same text (tests hold it to
    `json.dumps`); no circular check: rows are parsed JSON and dicts built from it.
    """
    from json.encoder import c_make_encoder, encode_basestring  # type: ignore[attr-defined]

    if c_make_encoder is None:  # pragma: no cover (CPython always has it)
        return lambda row: json.dumps(row, ensure_ascii=False, sort_keys=True)
    plain = json.JSONEncoder(ensure_ascii=False, sort_keys=True)
    make = c_make_encoder(
        None,
        plain.default,
        encode_basestring,
        None,
        plain.key_separator,
        plain.item_separator,
        True,
        False,
        True,
    )
    return lambda row: "".join(make(row, 0))


_encode_line = _line_encoder()


def jsonl_line(row: Mapping[str, Any]) -> str:
    """One row of a native JSONL case file, as `evaltui import --out` writes it."""
    return _encode_line(row) + "\n"


@dataclass(frozen=True, slots=True)
class SpilledRows:
    """More rows than INLINE_LIMIT, written to `path` as JSONL (`jsonl_line` per row), or as a
    Parquet file of result columns (`format`).

    `digest` identifies the content: for suite cases the full SHA-256 the fingerprint is cut from
    (`fingerprint.digest_encoded`), for run results the SHA-256 of the file.
    """

    path: Path
    count: int
    digest: str
    format: str = "jsonl"  # or "parquet" (lm-eval's fast path writes its results so)

    def __len__(self) -> int:
        return self.count


class RowSpool:
    """Rows collected one by one: kept as a list up to INLINE_LIMIT, then streamed to a JSONL file.

    For suite cases (`cases=True`) each spilled case is also encoded canonically; the digest is
    `digest_encoded`'s, computed by an external merge sort: (id, text) pairs are sorted in runs of
    about _RUN_BYTES, written to scratch files and merged (Python's stable sort, then a stable
    merge: equal ids keep their order, exactly as one `sorted` over them all). Memory holds one
    run, never all the cases or their encodings.
    """

    def __init__(self, scratch: Callable[[], Path], source: Path, *, cases: bool) -> None:
        self._scratch = scratch
        self._source = source
        self._cases = cases
        self._rows: list[dict[str, Any]] = []
        self._count = 0
        self._lines: list[str] = []
        self._pairs: list[tuple[str, str]] = []
        self._pair_bytes = 0
        self._runs: list[Path] = []
        self._handle: Any = None
        self._sha = hashlib.sha256()
        self.path: Path | None = None

    def __len__(self) -> int:
        return self._count

    def add(self, row: dict[str, Any]) -> None:
        self._count += 1
        if self._handle is None:
            self._rows.append(row)
            if len(self._rows) > INLINE_LIMIT:
                self._open()
                rows, self._rows = self._rows, []
                for kept in rows:
                    self._encode(kept)
            return
        self._encode(row)

    def finish(self) -> list[dict[str, Any]] | SpilledRows:
        """The rows: a list when few, else the spilled file with its digest."""
        if self._handle is None:
            return self._rows
        self._flush()
        self._handle.close()
        assert self.path is not None
        if not self._cases:
            return SpilledRows(self.path, self._count, self._sha.hexdigest())
        return SpilledRows(self.path, self._count, self._sorted_digest())

    def _open(self) -> None:
        handle, name = tempfile.mkstemp(suffix=".jsonl", dir=self._scratch())
        self.path = Path(name)
        self._handle = os.fdopen(handle, "wb")

    def _encode(self, row: dict[str, Any]) -> None:
        self._lines.append(jsonl_line(row))
        if self._cases:
            text = encode_case(row)
            self._pairs.append((row["case_id"], text))
            self._pair_bytes += len(text)
            if self._pair_bytes > _RUN_BYTES:
                self._write_run()
        if len(self._lines) >= _SPOOL_BATCH:
            self._flush()

    def _flush(self) -> None:
        if not self._lines:
            return
        text = "".join(self._lines)
        self._lines = []
        try:
            data = text.encode("utf-8")
        except UnicodeEncodeError:
            raise InputError(
                self._source,
                "a value is not valid UTF-8 text (a lone surrogate; a file or folder name that "
                "is not UTF-8? rename it)",
            ) from None
        self._handle.write(data)
        if not self._cases:
            self._sha.update(data)

    def _write_run(self) -> None:
        """Sort the pairs held so far by id and write them as one run: `"id"<TAB>text` lines."""
        self._pairs.sort(key=_first)
        handle, name = tempfile.mkstemp(suffix=".run", dir=self._scratch())
        with os.fdopen(handle, "w", encoding="ascii") as out:
            out.writelines(f"{json.dumps(key)}\t{text}\n" for key, text in self._pairs)
        self._runs.append(Path(name))
        self._pairs, self._pair_bytes = [], 0

    def _sorted_digest(self) -> str:
        """SHA-256 of `[` + the canonical texts in case id order, joined by `,` + `]`."""
        if self._runs and self._pairs:
            self._write_run()
        if self._runs:
            ordered: Iterator[tuple[str, str]] = heapq.merge(
                *(_read_run(path) for path in self._runs), key=_first
            )
        else:
            ordered = iter(sorted(self._pairs, key=_first))
        digest = hashlib.sha256(b"[")
        first = True
        while batch := [text for _key, text in itertools.islice(ordered, _SPOOL_BATCH)]:
            joined = ",".join(batch)
            digest.update((joined if first else "," + joined).encode("ascii"))
            first = False
        digest.update(b"]")
        for path in self._runs:
            path.unlink(missing_ok=True)
        self._pairs, self._runs = [], []
        return digest.hexdigest()


def _first(pair: tuple[str, str]) -> str:
    return pair[0]


def _read_run(path: Path) -> Iterator[tuple[str, str]]:
    with path.open(encoding="ascii") as lines:
        for line in lines:
            key, _tab, text = line.rstrip("\n").partition("\t")
            yield json.loads(key), text


# -- building native documents --------------------------------------------------------------------


def slug(text: str, fallback: str = "task") -> str:
    """A string usable inside suite and run ids (letters, digits and _ . : @ / + -)."""
    cleaned = _ID_UNSAFE.sub("-", text.strip()).strip("-")
    if not cleaned:
        return fallback
    return cleaned if IDENTIFIER.fullmatch(cleaned) else "_" + cleaned


def split_name(text: Any) -> str | None:
    """`text` made a valid split name (letters, digits and _), or None if it cannot be one."""
    if not isinstance(text, str):
        return None
    cleaned = _SPLIT_UNSAFE.sub("_", text).strip("_")
    if SPLIT_NAME.fullmatch(cleaned) and split_field(cleaned) != COMBINED_FIELD:
        return cleaned
    return None


@dataclass(frozen=True, slots=True)
class BuiltSuite:
    """A suite manifest built by an importer, with the fingerprints of its cases."""

    doc: dict[str, Any]
    fingerprints: dict[str, str]  # `split_field(split)` and `COMBINED_FIELD`

    @property
    def suite_id(self) -> str:
        return str(self.doc["suite_id"])


def suite_doc(
    tool: str,
    task: str,
    split: str,
    cases: list[dict[str, Any]] | SpilledRows | EncodedCases,
    *,
    description: str,
    comparison_fields: list[str],
    metrics: list[dict[str, Any]] | None = None,
    guardrails: list[dict[str, Any]] | None = None,
) -> BuiltSuite:
    """A one-split suite manifest whose id ends in a digest of everything it declares.

    Each case is encoded once; the encodings give the split's fingerprint (the contract's own
    definition, `evaltui.contract.fingerprint`) and, with the declarations, the id's digest.
    """
    cases_digest = _cases_digest(cases)
    declarations: dict[str, Any] = {
        "kind": KIND_SUITE,
        "version": FORMAT_VERSION,
        "description": description,
        "metrics": metrics if metrics is not None else BASE_METRICS,
        "guardrails": guardrails if guardrails is not None else BASE_GUARDRAILS,
        "comparison_fields": comparison_fields,
    }
    identity = {**declarations, "splits": {split: cases_digest}}
    digest = hashlib.sha256(canonical_case(identity).encode("ascii")).hexdigest()[:12]
    doc = {"suite_id": f"{tool}.{slug(task)}.{digest}", **declarations, "splits": {split: cases}}
    fingerprint = cases_digest[:FINGERPRINT_DIGITS]
    return BuiltSuite(doc, {split_field(split): fingerprint, COMBINED_FIELD: fingerprint})


def run_doc(
    *,
    run_id: str,
    experiment: str,
    artifact: str,
    suite: BuiltSuite,
    started_at: datetime,
    params: Mapping[str, Any],
    metrics: Mapping[str, Any],
    tags: Mapping[str, Any],
    cases: list[dict[str, Any]] | SpilledRows,
    artifacts: Iterable[str] = (),
    incomplete: str | None = None,
) -> dict[str, Any]:
    """A run record; null or non-finite values are dropped.

    Params gain the suite's fingerprints as the run's claims, unless the log already claims a value
    under that name (a hard-coded `evaluation_sha` stays what the run said, and is checked).
    `incomplete` (one line: why the log is not a finished run) is written only when given.
    """
    doc: dict[str, Any] = {
        "kind": KIND_RUN,
        "version": FORMAT_VERSION,
        "run_id": run_id,
        "experiment": experiment,
        "artifact": artifact,
        "suite_id": suite.suite_id,
        "started_at": started_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "params": {**suite.fingerprints, **clean_values(params)},
        "metrics": clean_metrics(metrics),
        "tags": clean_values(tags),
        "artifacts": [a for a in artifacts if a],
        "cases": cases,
    }
    if incomplete:
        doc["incomplete"] = incomplete
    return doc


def digest_text(text: str) -> str:
    """A short SHA-256 of `text` (16 hex digits), for evaluator digests in run params."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def clean_values(values: Mapping[str, Any]) -> dict[str, str]:
    """Params and tags as strings: nulls dropped, structures as compact JSON."""
    out: dict[str, str] = {}
    for key, value in values.items():
        if value is None or key == "":
            continue
        if isinstance(value, float) and not math.isfinite(value):
            continue
        out[str(key)] = value if isinstance(value, str) else compact(value)
    return out


def clean_metrics(values: Mapping[str, Any]) -> dict[str, float]:
    out: dict[str, float] = {}
    for key, value in values.items():
        number = as_number(value)
        if number is not None and key:
            out[str(key)] = number
    return out


def as_number(value: Any) -> float | None:
    """A finite float from a number (not a bool) or a numeric string; None otherwise."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) else None


def compact(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def short_label(value: Any, limit: int = 64) -> str | None:
    """`value` stripped, if it reads as a label (one short line); None if it does not."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    if not text or len(text) > limit or "\n" in text or "\r" in text:
        return None
    return text


def as_object(value: Any) -> dict[str, Any]:
    """`value` if it is a JSON object, else an empty one (for optional parts of a foreign log)."""
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list[Any]:
    """`value` if it is a JSON array, else an empty one."""
    return value if isinstance(value, list) else []


# The start time of a run whose log gives none (or none that is a usable time).
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def from_unix(seconds: float) -> datetime | None:
    """The time of a Unix timestamp; None if it is outside the years 1-9999."""
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (ValueError, OverflowError, OSError):
        return None


def parse_time(text: Any) -> datetime | None:
    """An ISO 8601 time (naive ones taken as UTC); None if it is not one or has no UTC equivalent."""
    if not isinstance(text, str) or not text:
        return None
    try:
        value = datetime.fromisoformat(text)
        value = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        value.astimezone(UTC)  # year 1 or 9999 shifted out of range by its offset
    except (ValueError, OverflowError):
        return None
    return value


# -- reading foreign files ------------------------------------------------------------------------


def walk_files(folder: Path) -> list[Path]:
    """Every file under `folder`, in name order, without entering dot-folders."""
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        found.extend(Path(dirpath) / name for name in sorted(filenames) if not name.startswith("."))
    return found


def require_source(source: Path) -> None:
    if not source.exists():
        raise InputError(source, "no such file or folder")


# For a file already read once through `parse_json_text` (lenient): the same values, C speed.
_CHECKED = json.JSONDecoder(parse_constant=lambda _name: None)


def stream_jsonl(
    path: Path, *, strict: bool = True, checked: bool = False
) -> Iterator[tuple[int, Any]]:
    """`jsonio.iter_jsonl`, one line in memory at a time: (line number, value) per non-blank line.

    The same values and messages (a bad byte is named by its offset in the file), but the file is
    never read whole, so a samples file of any size costs the memory of its longest line.
    `checked=True` (with `strict=False`) is for a second pass over a file the first pass has read
    without an error: repeated keys, long integers and lone surrogates were refused then, so the
    plain decoder gives the same values, without the per-object checks.
    """
    if checked and not strict:
        with open_regular(path) as handle:
            for number, raw in enumerate(handle, start=1):
                text = raw.decode("utf-8-sig" if number == 1 else "utf-8")
                if text.strip():
                    yield number, _CHECKED.decode(text)
        return
    with open_regular(path) as handle:
        offset = 0
        seen = False
        for number, raw in enumerate(handle, start=1):
            try:
                text = raw.decode("utf-8-sig" if number == 1 else "utf-8")
            except UnicodeDecodeError as exc:
                raise InputError(
                    path,
                    f"not valid UTF-8 (byte {offset + exc.start}); save the file as UTF-8",
                    number,
                ) from None
            offset += len(raw)
            if text.endswith("\n"):
                text = text[:-1]
            if text.strip():
                seen = True
                yield number, parse_json_text(text, path, line_offset=number, strict=strict)
        if not seen:
            raise InputError(path, "file is empty")
