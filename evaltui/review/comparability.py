"""The comparison contract: which runs may be ranked against the baseline, and why not.

Two runs are comparable when they ran on the same suite and every contract field (run params such
as `evaluator_version` or `holdout_sha`) is equal. Fingerprint fields are also compared as
recomputed from the cases each run actually has results for, so a run cannot become comparable by
copying the baseline's claims. An incomparable run is reported with every differing field.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from evaltui.store.queries import RunInfo


@dataclass(frozen=True, slots=True)
class Difference:
    field: str
    baseline: str | None
    value: str | None
    source: str  # "run" (suite_id), "params" (as logged) or "recomputed" (from the results)

    def to_json(self) -> dict[str, Any]:
        return {
            "field": self.field,
            "baseline": self.baseline,
            "value": self.value,
            "source": self.source,
        }

    def describe(self) -> str:
        def show(v: str | None) -> str:
            return "(missing)" if v is None else v

        suffix = " (recomputed)" if self.source == "recomputed" else ""
        return f"{self.field}{suffix}: {show(self.baseline)} -> {show(self.value)}"


def contract_values(run: RunInfo, fields: tuple[str, ...]) -> dict[str, str | None]:
    """The run's claimed value for each contract field (None when it did not log one)."""
    return {name: run.params.get(name) for name in fields}


def audit_contract(
    baseline: RunInfo,
    run: RunInfo,
    fields: tuple[str, ...],
    baseline_fingerprints: Mapping[str, str],
    run_fingerprints: Mapping[str, str],
) -> tuple[Difference, ...]:
    """Every way `run` breaks the baseline's contract; empty means comparable."""
    differences: list[Difference] = []
    if run.suite_id != baseline.suite_id:
        differences.append(Difference("suite_id", baseline.suite_id, run.suite_id, "run"))
    for name in fields:
        mine, theirs = run.params.get(name), baseline.params.get(name)
        if mine != theirs:
            differences.append(Difference(name, theirs, mine, "params"))
    if run.suite_id == baseline.suite_id:
        claimed_apart = {d.field for d in differences}
        for name in fields:
            if name not in baseline_fingerprints or name in claimed_apart:
                continue
            mine, theirs = run_fingerprints.get(name), baseline_fingerprints.get(name)
            if mine != theirs:
                differences.append(Difference(name, theirs, mine, "recomputed"))
    return tuple(differences)


def short_reason(differences: tuple[Difference, ...]) -> str:
    """One line for a list row: which fields differ."""
    if not differences:
        return ""
    names: list[str] = []
    for d in differences:
        label = f"{d.field}*" if d.source == "recomputed" else d.field
        if label not in names:
            names.append(label)
    return "differs: " + ", ".join(names)
