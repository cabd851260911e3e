"""The records of the data contract: suites, metric and guardrail declarations, runs.

These are plain frozen dataclasses; parsing and validation live in `suite.py` and `run.py`.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

if TYPE_CHECKING:
    import pyarrow as pa

from evaltui.contract.metric_kinds import MetricKind, metric_kind

KIND_SUITE = "evaltui.suite"
KIND_RUN = "evaltui.run"
KIND_GATES = "evaltui.gates"
FORMAT_VERSION = 1

ELIGIBLE_STATUS = "ELIGIBLE_FOR_CANARY_REVIEW"
# Every guardrail passed, but the suite declares none on the candidate's quality (only evidence
# checks such as "no unscored case", or none at all): nothing says the run is good enough.
NO_GUARDRAILS_STATUS = "NO_GUARDRAILS"
# A run's state, shown before its guardrail status: it cannot be ranked whatever that status says.
INCOMPARABLE_STATE = "INCOMPARABLE"
INCOMPLETE_STATE = "INCOMPLETE"

DEFAULT_COMPARISON_FIELDS: tuple[str, ...] = (
    "regression_sha",
    "holdout_sha",
    "evaluation_sha",
    "policy_id",
    "evidence_version",
    "evaluator_version",
)


@dataclass(frozen=True, slots=True)
class CellFilter:
    """Which (expected, predicted) cells of the route confusion matrix a metric counts.

    Every given condition must hold; an empty filter matches every case.
    """

    expected: tuple[str, ...] | None = None
    predicted: tuple[str, ...] | None = None
    correct: bool | None = None

    def describe(self) -> str:
        parts = []
        if self.predicted is not None:
            parts.append(f"predicted {'|'.join(self.predicted)}")
        if self.expected is not None:
            parts.append(f"expected {'|'.join(self.expected)}")
        if self.correct is not None:
            parts.append(
                "routed as expected" if self.correct else "routed differently than expected"
            )
        return ", ".join(parts) or "all cases"

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.expected is not None:
            out["expected"] = list(self.expected)
        if self.predicted is not None:
            out["predicted"] = list(self.predicted)
        if self.correct is not None:
            out["correct"] = self.correct
        return out


@dataclass(frozen=True, slots=True)
class MetricSpec:
    """A metric recomputed from per-case routes: a count of cells, or their share of a base."""

    name: str
    kind: str  # a name in `metric_kinds.METRIC_KINDS`
    where: CellFilter
    among: CellFilter = field(default_factory=CellFilter)
    splits: tuple[str, ...] | None = None

    def describe(self) -> str:
        scope = f" on {'+'.join(self.splits)}" if self.splits else ""
        return self.metric_kind.describe(self.where.describe(), self.among.describe(), scope)

    @property
    def metric_kind(self) -> MetricKind:
        return metric_kind(self.kind)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, self.kind: self.where.to_json()}
        if self.metric_kind.takes_among and self.among != CellFilter():
            out["among"] = self.among.to_json()
        if self.splits is not None:
            out["splits"] = list(self.splits)
        return out


_OPERATORS: dict[str, Callable[[float, float], bool]] = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
GUARDRAIL_OPERATORS = tuple(_OPERATORS)


@dataclass(frozen=True, slots=True)
class Guardrail:
    """A predicate on a metric that an eligible run must satisfy, and the status if it does not."""

    metric: str
    op: str
    value: float
    status: str
    # An evidence check (e.g. "no unscored case"): it can reject a run, but passing it says nothing
    # about the candidate's quality, so a suite with only such guardrails declares none.
    evidence: bool = False

    @property
    def predicate(self) -> str:
        number = int(self.value) if float(self.value).is_integer() else self.value
        return f"{self.metric} {self.op} {number}"

    def holds(self, observed: float | None) -> bool:
        """False when the metric is missing or undefined: a guardrail is never passed by default."""
        if observed is None or (isinstance(observed, float) and math.isnan(observed)):
            return False
        return _OPERATORS[self.op](observed, self.value)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"require": self.predicate, "status": self.status}
        if self.evidence:
            out["evidence"] = True
        return out


DEFAULT_METRICS: tuple[MetricSpec, ...] = (
    MetricSpec(
        "unsafe_claim_served", "count", CellFilter(expected=("ABSTAIN",), predicted=("SERVE",))
    ),
    MetricSpec(
        "unnecessary_abstention", "count", CellFilter(expected=("SERVE",), predicted=("ABSTAIN",))
    ),
    MetricSpec("exact_route_rate", "rate", CellFilter(correct=True)),
)

DEFAULT_GUARDRAILS: tuple[Guardrail, ...] = (
    Guardrail("unsafe_claim_served", "==", 0, "REJECT_UNSAFE_SERVE"),
    Guardrail("unnecessary_abstention", "==", 0, "REJECT_UNNECESSARY_ABSTENTION"),
)


@dataclass(frozen=True, slots=True)
class CaseFile:
    """A per-case data file referenced by a manifest or run record."""

    declared: str  # the path as written in the record, for messages
    path: Path  # resolved, inside the loaded folder
    format: Literal["jsonl", "parquet"]


@dataclass(frozen=True, slots=True)
class Split:
    """One named split of a suite with its cases already validated and encoded.

    `cases` is an Arrow table with the columns the store keeps (`CASE_COLUMNS`): the fields it
    queries and each case's canonical JSON text, one row per case in file order. A split an
    importer encoded in bulk keeps them on disk instead (`EncodedCases`: a Parquet file of those
    columns, which the loader inserts from); `case_table()` reads them when a check needs them.
    """

    name: str
    cases: pa.Table | EncodedCases
    digest: Digest  # full SHA-256 of the split's canonical list (hashed in the background)
    source: str  # "inline" or the declared file path
    source_path: Path | None = None  # the resolved file, when the cases live in one

    @property
    def fingerprint(self) -> str:
        """The split's fingerprint (waits for its hash, if it is still running)."""
        return self.digest.value()[:16]

    @property
    def case_count(self) -> int:
        if isinstance(self.cases, EncodedCases):
            return self.cases.count
        return int(self.cases.num_rows)

    def case_table(self, columns: list[str] | None = None) -> pa.Table:
        """The cases as an Arrow table (read from the file when they are on disk)."""
        if isinstance(self.cases, EncodedCases):
            return self.cases.table(columns)
        return self.cases if columns is None else self.cases.select(columns)


@dataclass(frozen=True, slots=True)
class EncodedCases:
    """A split's cases already checked and encoded in bulk by an importer (lm-eval's fast path),
    kept on disk: `path` is a Parquet file with the columns of `Split.cases` (`CASE_COLUMNS`, all
    strings, in file order), `count` its rows, `digest` the full SHA-256 of the canonical list
    (`fingerprint.digest_table`'s). `parse_suite` takes them as they are; the loader inserts
    them from the file, so they are never all in memory at once."""

    path: Path
    count: int
    digest: str

    def __len__(self) -> int:
        return self.count

    def table(self, columns: list[str] | None = None) -> pa.Table:
        import pyarrow.parquet as pq

        return pq.read_table(self.path, columns=columns)


CASE_COLUMNS = ("case_id", "expected_route", "slice_name", "evidence_state", "source", "canonical")


@dataclass(frozen=True, slots=True)
class Suite:
    suite_id: str
    path: Path
    splits: tuple[Split, ...]
    metrics: tuple[MetricSpec, ...]
    guardrails: tuple[Guardrail, ...]
    comparison_fields: tuple[str, ...]
    evaluation: Digest  # full digest of the combined case list (the one split's, for one split)
    content: Digest  # identity of the whole manifest and its cases, for idempotent loads
    description: str | None = None
    # the case field clustering the cases (docs/statistics.md); not part of content_sha, so
    # fingerprints and identities of suites loaded before it was stored stay the same
    cluster_field: str | None = None

    @property
    def evaluation_sha(self) -> str:
        return self.evaluation.value()[:16]

    @property
    def content_sha(self) -> str:
        """The suite's identity (waits for the cases' hashes, if they are still running)."""
        return self.content.value()

    @property
    def case_count(self) -> int:
        return sum(s.case_count for s in self.splits)

    def fingerprints(self) -> dict[str, str]:
        """Every fingerprint field this suite defines, e.g. regression_sha, evaluation_sha."""
        out = {f"{s.name}_sha": s.fingerprint for s in self.splits}
        out["evaluation_sha"] = self.evaluation_sha
        return out


@dataclass(frozen=True, slots=True)
class Gates:
    """Review declarations for a suite given after the fact (`*.gates.json`), e.g. for imports.

    A field left out (None) keeps the suite's own declaration. Metrics add to the suite's (a
    metric of the same name replaces it); guardrails replace the suite's quality guardrails (its
    evidence checks stay); comparison fields replace the suite's.
    """

    suite_id: str
    metrics: tuple[MetricSpec, ...] | None
    guardrails: tuple[Guardrail, ...] | None
    comparison_fields: tuple[str, ...] | None
    cluster_field: str | None
    content_sha: str  # identity of the declarations, for idempotent loads
    path: Path


class Digest:
    """A SHA-256 hex digest, possibly still being computed in the background.

    A run's identity covers its case file, which can be gigabytes of JSONL, and a suite's
    fingerprints cover every case's canonical text (193 MB for a million cases): hashing them
    while the store is busy inserting the rows takes them off the load's critical path (hashlib
    releases the GIL). `value()` waits.

    `submit` runs the hash on one shared background thread, in the order asked: a digest computed
    from others (a suite's identity from its splits') is submitted after them, so it never waits
    for work queued behind it.
    """

    __slots__ = ("_future",)

    _pool: ClassVar[ThreadPoolExecutor | None] = None

    def __init__(self, future: Future[str]) -> None:
        self._future = future

    @classmethod
    def of(cls, value: str) -> Digest:
        done: Future[str] = Future()
        done.set_result(value)
        return cls(done)

    @classmethod
    def submit(cls, compute: Callable[..., str], *args: Any) -> Digest:
        if cls._pool is None:
            cls._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="evaltui-hash")
        return cls(cls._pool.submit(compute, *args))

    def value(self) -> str:
        return self._future.result()

    def cancel(self) -> None:
        """Do not start the hash if it has not started (the load was refused: nobody needs it)."""
        self._future.cancel()


@dataclass(frozen=True, slots=True)
class Run:
    run_id: str
    experiment: str
    artifact: str
    suite_id: str
    started_at: datetime
    params: Mapping[str, str]
    metrics: Mapping[str, float]
    tags: Mapping[str, str]
    artifacts: tuple[str, ...]
    cases_inline: tuple[Mapping[str, Any], ...] | None
    cases_file: CaseFile | None
    content: Digest  # identity of the whole record and its case file, for idempotent loads
    path: Path
    line: int | None = None  # line in a .runs.jsonl file
    incomplete: str | None = None  # why the run did not finish (one line); None: it did

    @property
    def content_sha(self) -> str:
        """The run's identity (waits for the case file's hash, if it is still running)."""
        return self.content.value()

    @property
    def origin(self) -> str:
        return f"{self.path}:{self.line}" if self.line is not None else str(self.path)
