"""Reading suites and runs back out of the store as typed records.

Details of many runs are fetched with one query per table, never one query per run.
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
        f"""SELECT suite_id, description, evaluation_sha, case_count, metrics, guardrails,
                   comparison_fields, source_path, loaded_at
            FROM suites {where} ORDER BY suite_id""",
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
    ) in rows:
        metric_specs, guardrail_specs = declarations_from_json(
            json.loads(metrics), json.loads(guardrails), f"store suite {suite_id}"
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
            )
        )
    return out


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
        f"""SELECT run_id, experiment, artifact, suite_id, started_at, result_count, source_path
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
        )
        for run_id, experiment_name, artifact, suite, started, count, source in rows
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
