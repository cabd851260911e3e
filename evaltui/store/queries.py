"""Reading suites and runs back out of the store as typed records.

Details of many runs are fetched with one query per table, never one query per run. A suite is
read with its gates applied (`contract/gates.py`): every review sees the declarations in force.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

import duckdb

from evaltui.contract.model import Guardrail, MetricSpec
from evaltui.contract.suite import declarations_from_json
from evaltui.errors import NotFoundError


@dataclass(frozen=True, slots=True)
class SplitInfo:
    name: str
    fingerprint: str
    case_count: int
    source: str


@dataclass(frozen=True, slots=True)
class SuiteInfo:
    suite_id: str
    description: str | None
    evaluation_sha: str
    case_count: int
    splits: tuple[SplitInfo, ...]
    metrics: tuple[MetricSpec, ...]
    guardrails: tuple[Guardrail, ...]
    comparison_fields: tuple[str, ...]
    source_path: str
    loaded_at: datetime
    # a gates file's, else the manifest's (both stored at load time); see `cluster_field()`
    cluster_field: str | None = None
    gates_path: str | None = None  # the gates file in force, if any

    @property
    def declares_guardrails(self) -> bool:
        """Does any guardrail judge the candidate's quality (not only its evidence)?"""
        return any(not g.evidence for g in self.guardrails)

    def fingerprints(self) -> dict[str, str]:
        out = {f"{s.name}_sha": s.fingerprint for s in self.splits}
        out["evaluation_sha"] = self.evaluation_sha
        return out


@dataclass(frozen=True, slots=True)
class RunInfo:
    run_id: str
    experiment: str
    artifact: str
    suite_id: str
    started_at: datetime
    result_count: int
    source_path: str
    params: Mapping[str, str]
    metrics: Mapping[str, float]
    tags: Mapping[str, str]
    artifacts: tuple[str, ...]
    incomplete: str | None = None  # the run's own reason it did not finish; None: it did


def list_suites(con: duckdb.DuckDBPyConnection) -> list[SuiteInfo]:
    return _suites(con, None)


def get_suite(con: duckdb.DuckDBPyConnection, suite_id: str) -> SuiteInfo:
    found = _suites(con, [suite_id])
    if not found:
        raise NotFoundError(f"{suite_id}: no such suite in the store (see `evaltui suites`)")
    return found[0]


def get_suites(con: duckdb.DuckDBPyConnection, suite_ids: Iterable[str]) -> dict[str, SuiteInfo]:
    return {s.suite_id: s for s in _suites(con, sorted(set(suite_ids)))}


def _suites(con: duckdb.DuckDBPyConnection, ids: list[str] | None) -> list[SuiteInfo]:
    where = "" if ids is None else "WHERE suite_id IN (SELECT unnest(?::VARCHAR[]))"
    args = [] if ids is None else [ids]
    rows = con.execute(
        f"""SELECT s.suite_id, s.description, s.evaluation_sha, s.case_count, s.metrics,
                   s.guardrails, s.comparison_fields, s.source_path, s.loaded_at,
                   g.metrics, g.guardrails, g.comparison_fields,
                   COALESCE(g.cluster_field, s.cluster_field), g.source_path
            FROM suites s LEFT JOIN gates g USING (suite_id)
            {"" if ids is None else "WHERE s." + where.removeprefix("WHERE ")}
            ORDER BY s.suite_id""",
        args,
    ).fetchall()
    splits: dict[str, list[SplitInfo]] = defaultdict(list)
    for suite_id, name, fingerprint, count, source in con.execute(
        f"""SELECT suite_id, split, fingerprint, case_count, source FROM suite_splits {where}
            ORDER BY suite_id, position""",
        args,
    ).fetchall():
        splits[suite_id].append(SplitInfo(name, fingerprint, int(count), source))
    out = []
    for (
        suite_id,
        description,
        evaluation_sha,
        case_count,
        metrics,
        guardrails,
        fields,
        path,
        at,
        gate_metrics,
        gate_guardrails,
        gate_fields,
        cluster,
        gates_path,
    ) in rows:
        metric_docs, guardrail_docs = json.loads(metrics), json.loads(guardrails)
        if gate_metrics is not None:
            replaced = {m["name"] for m in json.loads(gate_metrics)}
            metric_docs = [m for m in metric_docs if m["name"] not in replaced]
            metric_docs += json.loads(gate_metrics)
        if gate_guardrails is not None:
            # the suite's evidence checks stay; its quality guardrails give way to the gates'
            guardrail_docs = [g for g in guardrail_docs if g.get("evidence")]
            guardrail_docs += json.loads(gate_guardrails)
        if gate_fields is not None:
            fields = gate_fields
        metric_specs, guardrail_specs = declarations_from_json(
            metric_docs, guardrail_docs, f"store suite {suite_id}"
        )
        out.append(
            SuiteInfo(
                suite_id=suite_id,
                description=description,
                evaluation_sha=evaluation_sha,
                case_count=int(case_count),
                splits=tuple(splits[suite_id]),
                metrics=metric_specs,
                guardrails=guardrail_specs,
                comparison_fields=tuple(json.loads(fields)),
                source_path=path,
                loaded_at=at.replace(tzinfo=UTC),
                cluster_field=cluster,
                gates_path=gates_path,
            )
        )
    return out


def cluster_field(con: duckdb.DuckDBPyConnection, suite_id: str) -> str | None:
    """The case field clustering the suite's cases: a gates file's, else the manifest's, as
    stored at load time (None: cases are independent)."""
    row = con.execute(
        """SELECT COALESCE((SELECT cluster_field FROM gates WHERE suite_id = $id),
                           (SELECT cluster_field FROM suites WHERE suite_id = $id))""",
        {"id": suite_id},
    ).fetchone()
    return row[0] if row else None


def copies(con: duckdb.DuckDBPyConnection, run_ids: Iterable[str]) -> dict[str, list[RunCopy]]:
    """For each given run, the runs of another artifact in the store with identical per-case
    results (the same digest, `schema.py`), oldest first. One join, whatever the number of runs."""
    out: dict[str, list[RunCopy]] = defaultdict(list)
    for run_id, other, artifact, experiment in con.execute(
        """SELECT r.run_id, o.run_id, o.artifact, o.experiment
           FROM runs r JOIN runs o
             ON o.results_digest = r.results_digest AND o.suite_id = r.suite_id
            AND o.artifact <> r.artifact AND o.run_id <> r.run_id
           WHERE r.run_id IN (SELECT unnest(?::VARCHAR[]))
           ORDER BY r.run_id, o.started_at, o.run_id""",
        [list(run_ids)],
    ).fetchall():
        out[run_id].append(RunCopy(other, artifact, experiment))
    return dict(out)


@dataclass(frozen=True, slots=True)
class RunCopy:
    """A run of another artifact whose per-case results are identical to a run's."""

    run_id: str
    artifact: str
    experiment: str


def list_runs(
    con: duckdb.DuckDBPyConnection,
    *,
    experiment: str | None = None,
    suite_id: str | None = None,
    run_ids: Iterable[str] | None = None,
) -> list[RunInfo]:
    """Runs in time order (oldest first), with params, metrics, tags and artifacts."""
    clauses: list[str] = []
    args: list[object] = []
    if experiment is not None:
        clauses.append("experiment = ?")
        args.append(experiment)
    if suite_id is not None:
        clauses.append("suite_id = ?")
        args.append(suite_id)
    if run_ids is not None:
        clauses.append("run_id IN (SELECT unnest(?::VARCHAR[]))")
        args.append(list(run_ids))
    where = ("WHERE " + " AND ".join(clauses)) if clauses else ""
    rows = con.execute(
        f"""SELECT run_id, experiment, artifact, suite_id, started_at, result_count, source_path,
                   incomplete
            FROM runs {where} ORDER BY started_at, run_id""",
        args,
    ).fetchall()
    ids = [r[0] for r in rows]
    params = _pairs(con, "run_params", ids)
    metrics = _pairs(con, "run_metrics", ids)
    tags = _pairs(con, "run_tags", ids)
    artifacts: dict[str, list[str]] = defaultdict(list)
    for run_id, path in con.execute(
        "SELECT run_id, path FROM run_artifacts WHERE run_id IN (SELECT unnest(?::VARCHAR[])) "
        "ORDER BY run_id, position",
        [ids],
    ).fetchall():
        artifacts[run_id].append(path)
    return [
        RunInfo(
            run_id=run_id,
            experiment=experiment_name,
            artifact=artifact,
            suite_id=suite,
            started_at=started.replace(tzinfo=UTC),
            result_count=int(count),
            source_path=source,
            params=params.get(run_id, {}),
            metrics=metrics.get(run_id, {}),
            tags=tags.get(run_id, {}),
            artifacts=tuple(artifacts.get(run_id, ())),
            incomplete=incomplete,
        )
        for run_id, experiment_name, artifact, suite, started, count, source, incomplete in rows
    ]


def get_run(con: duckdb.DuckDBPyConnection, run_id: str) -> RunInfo:
    found = list_runs(con, run_ids=[run_id])
    if not found:
        raise NotFoundError(f"{run_id}: no such run in the store (see `evaltui runs`)")
    return found[0]


def get_runs(con: duckdb.DuckDBPyConnection, run_ids: Iterable[str]) -> list[RunInfo]:
    """The named runs in the order given; an unknown id is a NotFoundError."""
    wanted = list(dict.fromkeys(run_ids))
    found = {r.run_id: r for r in list_runs(con, run_ids=wanted)}
    missing = [r for r in wanted if r not in found]
    if missing:
        raise NotFoundError(f"{missing[0]}: no such run in the store (see `evaltui runs`)")
    return [found[r] for r in wanted]


def experiments(con: duckdb.DuckDBPyConnection) -> list[tuple[str, int]]:
    """Experiments with their run counts, most recently active first."""
    return [
        (name, int(count))
        for name, count in con.execute(
            "SELECT experiment, count(*) FROM runs GROUP BY experiment ORDER BY max(started_at) DESC"
        ).fetchall()
    ]


def _pairs(con: duckdb.DuckDBPyConnection, table: str, ids: list[str]) -> dict[str, dict]:
    out: dict[str, dict] = defaultdict(dict)
    for run_id, key, value in con.execute(
        f"SELECT run_id, key, value FROM {table} WHERE run_id IN (SELECT unnest(?::VARCHAR[])) "
        "ORDER BY run_id, key",
        [ids],
    ).fetchall():
        out[run_id][key] = value
    return out
