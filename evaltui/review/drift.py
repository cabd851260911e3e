"""Drift of one per-case column between a reference run and a current run: PSI and JS divergence.

Counting is done by DuckDB (`histogram` with boundaries for numbers, GROUP BY for labels), for the
whole run and for every slice in one query; only the final short count vectors reach numpy.

Binning rule (docs/statistics.md, "Drift"):
* Categorical columns: one bin per label, both runs' labels together; with more than
  `max_categories` labels the most frequent ones (both runs counted together) keep their own bin
  and the rest are pooled as "(other)". Missing values are their own "(null)" bin.
* Numeric columns: bins come from the reference alone. The cut points are the distinct values of
  the reference's quantiles (`quantile_disc`, so each one is an observed value) at 1/k, ..., (k-1)/k
  for k bins; bins are right-closed, (-inf, c1], (c1, c2], ..., (c_m, +inf), the outer ones open so
  every current value lands in exactly one. When c1 is the reference minimum (a point mass at the
  bottom, e.g. a constant column) the first bin is split into "< c1" and "= c1", so a constant
  column c gets the bins "< c", "= c", "> c" and a shift either way shows. A reference with no
  values at all gets one "(any value)" bin. Missing values are their own "(null)" bin.
* PSI and JS use shares plus epsilon (1e-8), renormalised, natural log, as in seed 001.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Any, Literal

import duckdb
import numpy as np

from evaltui.errors import InputError, NotFoundError
from evaltui.plural import agree
from evaltui.plural import count as counted
from evaltui.review.paired import StatWarning
from evaltui.store.queries import RunInfo, get_runs
from evaltui.store.queries_drift import (
    case_field_types,
    case_field_types_at,
    category_counts,
    metadata_key_types,
    metadata_types_at,
    numeric_histograms,
    reference_quantiles,
    side_values,
)

EPSILON = 1e-8
DEFAULT_BINS = 10
MAX_CATEGORIES = 20
STABLE_BELOW = 0.1  # PSI < 0.1: stable
MAJOR_ABOVE = 0.25  # PSI > 0.25: major shift; in between: moderate

THRESHOLDS = (
    f"PSI < {STABLE_BELOW:g} stable · {STABLE_BELOW:g}–{MAJOR_ABOVE:g} moderate · "
    f"> {MAJOR_ABOVE:g} major"
)

Kind = Literal["categorical", "numeric"]

RESULT_COLUMNS: dict[str, Kind] = {
    "route": "categorical",
    "score": "numeric",
    "latency_ms": "numeric",
    "tokens": "numeric",
    "output": "categorical",
}
CASE_COLUMNS: dict[str, Kind] = {
    "split": "categorical",
    "slice_name": "categorical",
    "evidence_state": "categorical",
    "source": "categorical",
    "expected_route": "categorical",
    "case_id": "categorical",
}
GROUP_COLUMNS = ("slice_name", "split", "evidence_state", "source", "expected_route")
_NUMERIC_JSON = {"BIGINT", "UBIGINT", "DOUBLE", "HUGEINT", "UHUGEINT"}


# -- PSI and JS on count or share vectors ---------------------------------------------------------


def _shares(values: Sequence[float] | np.ndarray, eps: float) -> np.ndarray:
    data = np.asarray(values, dtype=np.float64)
    total = data.sum()
    if total <= 0:
        raise ValueError("a distribution needs a positive total")
    shares = data / total + eps
    return shares / shares.sum()


def psi(
    reference: Sequence[float] | np.ndarray,
    current: Sequence[float] | np.ndarray,
    eps: float = EPSILON,
) -> float:
    """Population stability index: sum of (cur - ref) * ln(cur / ref) over the bins.

    Takes counts or shares (each is normalised first); eps is added to every share and the
    shares renormalised, so an empty bin costs a large but finite term instead of infinity.
    """
    ref, cur = _shares(reference, eps), _shares(current, eps)
    return float(np.sum((cur - ref) * np.log(cur / ref)))


def js_divergence(
    reference: Sequence[float] | np.ndarray,
    current: Sequence[float] | np.ndarray,
    eps: float = EPSILON,
) -> float:
    """Jensen-Shannon divergence in nats (natural log): between 0 and ln 2."""
    p, q = _shares(reference, eps), _shares(current, eps)
    m = 0.5 * (p + q)
    return float(0.5 * np.sum(p * np.log(p / m)) + 0.5 * np.sum(q * np.log(q / m)))


def psi_reading(value: float | None) -> str:
    """The usual reading of a PSI: < 0.1 stable, 0.1-0.25 moderate, > 0.25 major."""
    if value is None:
        return "no data"
    if value < STABLE_BELOW:
        return "stable"
    if value <= MAJOR_ABOVE:
        return "moderate"
    return "major"


def noise_floor(bins: int, n_reference: int, n_current: int) -> float:
    """The PSI two samples of one unchanged distribution show on average, from sampling alone.

    For large samples PSI behaves like a chi-square statistic:
    E[PSI] ~ (bins - 1)(1/n_ref + 1/n_cur).
    """
    if bins <= 1 or n_reference <= 0 or n_current <= 0:
        return 0.0
    return (bins - 1) * (1.0 / n_reference + 1.0 / n_current)


# -- columns --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Column:
    """A per-case column drift can be measured on, and the SQL that reads it (aliases r, c)."""

    name: str
    kind: Kind
    source: Literal["results", "cases", "case field", "metadata"]
    sql: str
    params: tuple[Any, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "source": self.source}


def _pointer(key: str) -> str:
    return "/" + key.replace("~", "~0").replace("/", "~1")


def _json_column(
    name: str, source: Literal["case field", "metadata"], document: str, key: str, types: set[str]
) -> Column:
    numeric = bool(types) and types <= _NUMERIC_JSON
    if numeric:
        return Column(
            name,
            "numeric",
            source,
            f"TRY_CAST(json_extract_string({document}, ?) AS DOUBLE)",
            (_pointer(key),),
        )
    return Column(
        name, "categorical", source, f"json_extract_string({document}, ?)", (_pointer(key),)
    )


def _json_keys(
    con: duckdb.DuckDBPyConnection, reference: RunInfo, current: RunInfo
) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """Extra case fields (from the suites' case JSON) and metadata keys, with their JSON types."""
    case_fields: dict[str, set[str]] = defaultdict(set)
    for key, types in case_field_types(con, (reference.suite_id, current.suite_id)):
        case_fields[key].update(t for t in types if t != "NULL")
    metadata: dict[str, set[str]] = defaultdict(set)
    for key, types in metadata_key_types(con, (reference.run_id, current.run_id)):
        metadata[key].update(t for t in types if t != "NULL")
    for builtin in CASE_COLUMNS:
        case_fields.pop(builtin, None)
    return dict(case_fields), dict(metadata)


def drift_columns(
    con: duckdb.DuckDBPyConnection, reference_id: str, current_id: str
) -> list[Column]:
    """Every column drift can be measured on for these two runs (for a column picker)."""
    reference, current = _two_runs(con, reference_id, current_id)
    return _columns(con, reference, current)


def builtin_columns() -> tuple[Column, ...]:
    """The results and cases columns every pair has: listing them needs no query (the case
    fields and metadata keys need a scan of their JSON, seconds on 200,000-case runs)."""
    out = [Column(name, kind, "results", f"r.{name}") for name, kind in RESULT_COLUMNS.items()]
    out += [Column(name, kind, "cases", f"c.{name}") for name, kind in CASE_COLUMNS.items()]
    return tuple(out)


def _columns(con: duckdb.DuckDBPyConnection, reference: RunInfo, current: RunInfo) -> list[Column]:
    case_fields, metadata = _json_keys(con, reference, current)
    out = list(builtin_columns())
    for key in sorted(case_fields):
        bare = key if key not in RESULT_COLUMNS else f"case.{key}"
        out.append(_json_column(bare, "case field", "c.canonical", key, case_fields[key]))
    for key in sorted(metadata):
        out.append(_json_column(f"metadata.{key}", "metadata", "r.metadata", key, metadata[key]))
    return out


def resolve_column(
    con: duckdb.DuckDBPyConnection, reference: RunInfo, current: RunInfo, name: str
) -> Column:
    """The column called `name`: a results or cases column, a case field, or metadata.KEY.

    Built-in columns need no query; a case field or metadata key is looked up on its own (one
    scan of the JSON for that key), and only an unknown name lists every column.
    """
    bare = name.removeprefix("case.")  # a case field, or a cases column, named case.KEY
    builtin = {c.name: c for c in builtin_columns()}
    if name in RESULT_COLUMNS:
        return builtin[name]
    if bare in CASE_COLUMNS:
        return builtin[bare]
    if name.startswith("metadata.") and len(name) > len("metadata."):
        key = name[len("metadata.") :]
        types = _known_types(
            metadata_types_at(con, _pointer(key), (reference.run_id, current.run_id))
        )
        if types is not None:
            return _json_column(name, "metadata", "r.metadata", key, types)
    else:
        types = _known_types(
            case_field_types_at(con, _pointer(bare), (reference.suite_id, current.suite_id))
        )
        if types is not None:
            return _json_column(name, "case field", "c.canonical", bare, types)
    known = ", ".join(c.name for c in _columns(con, reference, current))
    raise NotFoundError(f"{name}: no such column for these runs; known columns: {known}")


def _known_types(types: set[str | None]) -> set[str] | None:
    """The JSON types a key takes (without NULL), or None when no row has the key at all."""
    found = {t for t in types if t is not None}
    if not found:
        return None
    return found - {"NULL"}


def _two_runs(
    con: duckdb.DuckDBPyConnection, reference_id: str, current_id: str
) -> tuple[RunInfo, RunInfo]:
    return get_runs(con, [reference_id])[0], get_runs(con, [current_id])[0]


# -- the result -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DriftBin:
    label: str  # "<= 412", "(412, 530]", "> 1200", "= 0", "SERVE", "(other)", "(null)"
    kind: Literal["range", "value", "other", "null"]
    reference_count: int
    current_count: int
    reference_share: float
    current_share: float
    low: float | None = None  # numeric bins: the bounds (None for an open end)
    high: float | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "label": self.label,
            "kind": self.kind,
            "reference_share": self.reference_share,
            "current_share": self.current_share,
            "reference_count": self.reference_count,
            "current_count": self.current_count,
        }
        if self.kind == "range":
            out["low"], out["high"] = self.low, self.high
        return out


@dataclass(frozen=True, slots=True)
class SliceDrift:
    """Drift over one group of cases (a slice) or over all of them (`name` None)."""

    name: str | None
    reference_count: int
    current_count: int
    psi: float | None  # None when one run has no cases here
    js: float | None
    # "stable" | "moderate" | "major" | "absent in reference" | "absent in current" | "no data"
    reading: str
    noise_floor: float
    bins: tuple[DriftBin, ...]

    @property
    def noisy(self) -> bool:
        """Too few cases for the PSI thresholds to tell drift from sampling noise (never when
        one run has no cases here: no PSI, and a noise floor of 0)."""
        return self.noise_floor >= STABLE_BELOW

    @property
    def one_sided_bins(self) -> int:
        """Bins empty in one run but not the other: their PSI terms are set by epsilon."""
        return sum(1 for b in self.bins if (b.reference_count == 0) != (b.current_count == 0))

    def notes(self) -> str:
        """The per-slice table's note: "noisy", "2 one-sided", both, or nothing."""
        notes = ["noisy"] if self.noisy else []
        if self.one_sided_bins:
            notes.append(f"{self.one_sided_bins} one-sided")
        return ", ".join(notes)

    def to_json(self) -> dict[str, Any]:
        return {
            "slice": self.name,
            "reference_count": self.reference_count,
            "current_count": self.current_count,
            "psi": self.psi,
            "js": self.js,
            "reading": self.reading,
            "noise_floor": self.noise_floor,
            "noisy": self.noisy,
            "one_sided_bins": self.one_sided_bins,
            "bins": [b.to_json() for b in self.bins],
        }


@dataclass(frozen=True, slots=True)
class RunSide:
    run_id: str
    artifact: str
    suite_id: str
    count: int  # cases with results (the rows compared)

    def to_json(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "artifact": self.artifact,
            "suite_id": self.suite_id,
            "count": self.count,
        }


@dataclass(frozen=True, slots=True)
class DriftResult:
    reference: RunSide
    current: RunSide
    column: Column
    epsilon: float
    bins_requested: int
    max_categories: int
    cut_points: tuple[float, ...]  # numeric: the reference cut points used; () for labels
    overall: SliceDrift
    slice_column: str
    per_slice: tuple[SliceDrift, ...]
    warnings: tuple[StatWarning, ...]

    @property
    def psi(self) -> float | None:
        return self.overall.psi

    @property
    def js(self) -> float | None:
        return self.overall.js

    @property
    def reading(self) -> str:
        return self.overall.reading

    @property
    def bins(self) -> tuple[DriftBin, ...]:
        return self.overall.bins

    def slice(self, name: str | None) -> SliceDrift:
        """The drift of one slice (None: all cases)."""
        if name is None:
            return self.overall
        for entry in self.per_slice:
            if entry.name == name:
                return entry
        raise NotFoundError(f"{name}: no such {self.slice_column} in these runs")

    def to_json(self) -> dict[str, Any]:
        return {
            "reference": self.reference.to_json(),
            "current": self.current.to_json(),
            "column": self.column.name,
            "kind": self.column.kind,
            "source": self.column.source,
            "psi": self.psi,
            "js": self.js,
            "reading": self.reading,
            "epsilon": self.epsilon,
            "log": "natural",
            "thresholds": {"stable_below": STABLE_BELOW, "major_above": MAJOR_ABOVE},
            "noise_floor": self.overall.noise_floor,
            "binning": {
                "rule": (
                    "reference quantiles, right-closed, open outer bins"
                    if self.column.kind == "numeric"
                    else f"one bin per label, at most {self.max_categories} then (other)"
                ),
                "bins_requested": self.bins_requested,
                "max_categories": self.max_categories,
                "cut_points": list(self.cut_points),
            },
            "bins": [b.to_json() for b in self.bins],
            "slice_column": self.slice_column,
            "per_slice": [s.to_json() for s in self.per_slice],
            "warnings": [w.to_json() for w in self.warnings],
        }


# -- computing it ---------------------------------------------------------------------------------


def drift(
    con: duckdb.DuckDBPyConnection,
    reference_id: str,
    current_id: str,
    column: str,
    *,
    bins: int = DEFAULT_BINS,
    by: str = "slice_name",
    epsilon: float = EPSILON,
    max_categories: int = MAX_CATEGORIES,
) -> DriftResult:
    """Reference vs current distribution of `column`, overall and per `by` group (slice)."""
    if bins < 2:
        raise InputError(None, f"--bins must be at least 2, not {bins}")
    if by not in GROUP_COLUMNS:
        raise InputError(None, f"--by must be one of {', '.join(GROUP_COLUMNS)}, not {by!r}")
    reference, current = _two_runs(con, reference_id, current_id)
    col = resolve_column(con, reference, current, column)
    values_sql, values_params = _values(col, by, reference, current)
    warnings: list[StatWarning] = []
    cut_points: tuple[float, ...] = ()
    if col.kind == "numeric":
        cut_points, point_mass, ref_min, ref_max = _cut_points(con, values_sql, values_params, bins)
        groups = _numeric_counts(con, values_sql, values_params, cut_points, point_mass)
        if ref_min is None:
            warnings.append(
                StatWarning(
                    "no_reference_values",
                    f"the reference has no values of {col.name}: its bins cannot come from it, "
                    "so all values share one bin",
                )
            )
        elif ref_min == ref_max:
            warnings.append(
                StatWarning(
                    "constant_reference",
                    f"{col.name} is constant ({_fmt(ref_min)}) in the reference: bins are "
                    f"< {_fmt(ref_min)}, = {_fmt(ref_min)} and > {_fmt(ref_min)}",
                )
            )
    else:
        groups, distinct = _categorical_counts(con, values_sql, values_params, max_categories)
        if distinct > max_categories:
            warnings.append(
                StatWarning(
                    "categories_capped",
                    f"{distinct} distinct values: the {max_categories} most frequent keep "
                    "their own bin, the rest are pooled as (other)",
                )
            )
    groups = _drop_empty_null_bin(groups)
    overall = _slice_drift(None, groups.get(("overall", None), []), epsilon)
    per_slice = tuple(
        _slice_drift(name, counts, epsilon)
        for (scope, name), counts in sorted(groups.items(), key=lambda kv: _slice_order(kv[0]))
        if scope == "slice"
    )
    warnings += _drift_warnings(reference, current, overall, per_slice, by, epsilon)
    return DriftResult(
        reference=RunSide(
            reference.run_id, reference.artifact, reference.suite_id, overall.reference_count
        ),
        current=RunSide(current.run_id, current.artifact, current.suite_id, overall.current_count),
        column=col,
        epsilon=epsilon,
        bins_requested=bins,
        max_categories=max_categories,
        cut_points=cut_points,
        overall=overall,
        slice_column=by,
        per_slice=per_slice,
        warnings=tuple(warnings),
    )


def _drop_empty_null_bin(
    groups: dict[tuple[str, str | None], list[_Bin]],
) -> dict[tuple[str, str | None], list[_Bin]]:
    """The "(null)" bin is shown only when some value is missing in either run."""
    overall = groups.get(("overall", None), [])
    if any(b.kind == "null" and (b.reference or b.current) for b in overall):
        return groups
    return {key: [b for b in bins if b.kind != "null"] for key, bins in groups.items()}


def _group_name(value: object) -> str:
    return "(none)" if value is None else str(value)


def _slice_order(key: tuple[str, str | None]) -> tuple[int, str]:
    return (1, "") if key[1] is None else (0, key[1])


def _values(col: Column, by: str, reference: RunInfo, current: RunInfo) -> tuple[str, list[Any]]:
    """SQL of (side, grp, x) rows: one per case result of either run."""
    sides = tuple(
        (side, run.suite_id, run.run_id)
        for side, run in (("reference", reference), ("current", current))
    )
    return side_values(col.sql, col.params, col.kind == "numeric", by, sides)


def _cut_points(
    con: duckdb.DuckDBPyConnection, values_sql: str, params: list[Any], bins: int
) -> tuple[tuple[float, ...], bool, float | None, float | None]:
    levels = [i / bins for i in range(1, bins)]
    quantiles, low, high = reference_quantiles(con, values_sql, params, levels)
    if low is None:
        return (), False, None, None
    cuts = tuple(sorted({float(q) for q in quantiles}))
    return cuts, cuts[0] == float(low), float(low), float(high)


def _numeric_counts(
    con: duckdb.DuckDBPyConnection,
    values_sql: str,
    params: list[Any],
    cut_points: tuple[float, ...],
    point_mass: bool,
) -> dict[tuple[str, str | None], list[_Bin]]:
    boundaries = list(cut_points)
    if point_mass:
        boundaries.insert(0, math.nextafter(cut_points[0], -math.inf))
    rows = numeric_histograms(con, values_sql, params, boundaries)
    template = _numeric_bins(cut_points, point_mass)
    edges = set(boundaries)
    out: dict[tuple[str, str | None], dict[str, list[int]]] = defaultdict(
        lambda: {"reference": [0] * len(template), "current": [0] * len(template)}
    )
    for side, grp, overall, hist, nulls in rows:
        key = ("overall", None) if overall else ("slice", _group_name(grp))
        counts = out[key][side]
        if boundaries:
            hist = hist or {}  # NULL when every value of the group is missing
            for i, boundary in enumerate(boundaries):
                counts[i] += int(hist.get(boundary, 0))
            counts[len(boundaries)] += int(sum(v for k, v in hist.items() if k not in edges))
        else:
            counts[0] += int(hist)
        counts[-1] += int(nulls)
    return {key: _with_counts(template, sides) for key, sides in out.items()}


@dataclass(frozen=True, slots=True)
class _Bin:
    label: str
    kind: Literal["range", "value", "other", "null"]
    low: float | None = None
    high: float | None = None
    reference: int = 0
    current: int = 0


def _numeric_bins(cut_points: tuple[float, ...], point_mass: bool) -> list[_Bin]:
    """Bin templates in histogram order, then "(null)" last."""
    if not cut_points:
        return [_Bin("(any value)", "range"), _Bin("(null)", "null")]
    out = []
    first = cut_points[0]
    if point_mass:
        out.append(_Bin(f"< {_fmt(first)}", "range", None, first))
        out.append(_Bin(f"= {_fmt(first)}", "range", first, first))
    else:
        out.append(_Bin(f"<= {_fmt(first)}", "range", None, first))
    for low, high in pairwise(cut_points):
        out.append(_Bin(f"({_fmt(low)}, {_fmt(high)}]", "range", low, high))
    out.append(_Bin(f"> {_fmt(cut_points[-1])}", "range", cut_points[-1], None))
    out.append(_Bin("(null)", "null"))
    return out


def _with_counts(template: list[_Bin], sides: dict[str, list[int]]) -> list[_Bin]:
    return [
        _Bin(b.label, b.kind, b.low, b.high, sides["reference"][i], sides["current"][i])
        for i, b in enumerate(template)
    ]


def _categorical_counts(
    con: duckdb.DuckDBPyConnection, values_sql: str, params: list[Any], max_categories: int
) -> tuple[dict[tuple[str, str | None], list[_Bin]], int]:
    rows = category_counts(con, values_sql, params, max_categories)
    distinct = int(rows[0][6]) if rows else 0
    found: dict[tuple[str, str | None], dict[tuple[str, str | None], dict[str, int]]] = defaultdict(
        lambda: defaultdict(lambda: {"reference": 0, "current": 0})
    )
    for side, grp, overall, kind, label, count, _ in rows:
        key = ("overall", None) if overall else ("slice", _group_name(grp))
        found[key][(kind, label)][side] += int(count)
    totals = found.get(("overall", None), {})
    # one bin order for every slice: values by reference count, then current count, then label
    values = sorted(
        (k for k in totals if k[0] == "value"),
        key=lambda k: (-totals[k]["reference"], -totals[k]["current"], k[1] or ""),
    )
    extra: list[tuple[str, str | None]] = [("other", None), ("null", None)]
    order = values + [k for k in extra if k in totals]
    out: dict[tuple[str, str | None], list[_Bin]] = {}
    for scope, bins in found.items():
        out[scope] = [
            _Bin(
                label if kind == "value" and label is not None else f"({kind})",
                "value" if kind == "value" else ("other" if kind == "other" else "null"),
                reference=bins[(kind, label)]["reference"] if (kind, label) in bins else 0,
                current=bins[(kind, label)]["current"] if (kind, label) in bins else 0,
            )
            for kind, label in order
        ]
    return out, distinct


def _slice_drift(name: str | None, bins: list[_Bin], epsilon: float) -> SliceDrift:
    ref = np.array([b.reference for b in bins], dtype=np.float64)
    cur = np.array([b.current for b in bins], dtype=np.float64)
    n_ref, n_cur = int(ref.sum()), int(cur.sum())
    ref_share = ref / n_ref if n_ref else np.zeros_like(ref)
    cur_share = cur / n_cur if n_cur else np.zeros_like(cur)
    out_bins = tuple(
        DriftBin(b.label, b.kind, b.reference, b.current, float(rs), float(cs), b.low, b.high)
        for b, rs, cs in zip(bins, ref_share, cur_share, strict=True)
    )
    used = int(np.count_nonzero(ref + cur))
    value_psi: float | None = None
    value_js: float | None = None
    if n_ref and n_cur:
        value_psi, value_js = psi(ref, cur, epsilon), js_divergence(ref, cur, epsilon)
        reading = psi_reading(value_psi)
    else:
        reading = "absent in reference" if n_cur else ("absent in current" if n_ref else "no data")
    return SliceDrift(
        name=name,
        reference_count=n_ref,
        current_count=n_cur,
        psi=value_psi,
        js=value_js,
        reading=reading,
        noise_floor=noise_floor(used, n_ref, n_cur),
        bins=out_bins,
    )


def _drift_warnings(
    reference: RunInfo,
    current: RunInfo,
    overall: SliceDrift,
    per_slice: tuple[SliceDrift, ...],
    by: str,
    epsilon: float,
) -> list[StatWarning]:
    out = []
    if reference.suite_id != current.suite_id:
        out.append(
            StatWarning(
                "different_suites",
                f"the runs are on different suites ({reference.suite_id}, {current.suite_id}): "
                "a shift may come from the cases rather than the candidate",
            )
        )
    if overall.noisy:
        out.append(
            StatWarning(
                "noisy",
                f"with {overall.reference_count} and {overall.current_count} values, sampling "
                f"alone gives a PSI near {overall.noise_floor:.3f}: the thresholds cannot tell "
                "drift from noise here",
            )
        )
    counts = {
        "reference": [b.reference_count for b in overall.bins],
        "current": [b.current_count for b in overall.bins],
    }
    for code, side, other, empty_in in (
        ("unseen_in_reference", "current", "reference", "the reference"),
        ("vanished_in_current", "reference", "current", "the current run"),
    ):
        one_sided = [i for i, n in enumerate(counts[side]) if n and not counts[other][i]]
        if one_sided:
            labels = ", ".join(overall.bins[i].label for i in one_sided[:5])
            moved = sum(counts[side][i] for i in one_sided)
            out.append(
                StatWarning(
                    code,
                    f"{counted(moved, side + ' value')} {agree(moved, 'falls', 'fall')} in bins "
                    f"empty in {empty_in} ({labels}); with epsilon {epsilon:g} each such bin "
                    "adds about share x ln(share / epsilon) to PSI",
                )
            )
    noisy = [s for s in per_slice if s.noisy]
    if noisy:
        out.append(
            StatWarning(
                "noisy_slices",
                f"{counted(len(noisy), f'{by} group')} {agree(len(noisy), 'has', 'have')} "
                "too few cases for the PSI thresholds to mean "
                f"much (marked noisy): {', '.join(str(s.name) for s in noisy[:5])}"
                + (" ..." if len(noisy) > 5 else ""),
            )
        )
    return out


def _fmt(value: float) -> str:
    """A bin bound for a label: integers as integers, others with six significant digits."""
    if float(value).is_integer() and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.6g}"
