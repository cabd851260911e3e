"""Reading MLflow tracking data without the mlflow package: the file store and the SQLite backend.

Both readers return the same `MlflowRun` records: params, latest metrics, tags, dataset inputs,
registered model versions (with their aliases) made from the run, and the run's artifact folder
when it can be found on this machine inside the project folder (the folder holding `mlruns/` or
`mlflow.db`). Artifact locations written as absolute paths elsewhere are not followed: a tracking
store from another machine must not make evaltui read arbitrary local files.
"""

from __future__ import annotations

import re
import sqlite3
import stat
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from evaltui.contract.jsonio import decode_text, read_file_bytes
from evaltui.errors import InputError
from evaltui.safe_files import open_regular

_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]+:")
SQLITE_HEADER = b"SQLite format 3\x00"
MAX_YAML_BYTES = 1 << 20  # a meta.yaml (MLflow's are a few hundred bytes)
MAX_YAML_DEPTH = 64  # nesting levels in a meta.yaml
SQLITE_TIME_LIMIT = 120.0  # seconds for all the queries reading one mlflow.db
_SQLITE_CHECK_EVERY = 10_000  # SQLite virtual-machine steps between two looks at the clock
# Everything read from an mlflow.db must be a plain table: a view (or a virtual table) named
# like one could run any query, an endless recursive one included.
SQLITE_TABLES = (
    "runs",
    "experiments",
    "params",
    "tags",
    "latest_metrics",
    "metrics",
    "inputs",
    "datasets",
    "input_tags",
    "model_versions",
    "registered_model_aliases",
)
# File store status codes (mlflow.entities.RunStatus) -> the names the SQL backend stores.
RUN_STATUS = {1: "RUNNING", 2: "SCHEDULED", 3: "FINISHED", 4: "FAILED", 5: "KILLED"}


@dataclass
class Dataset:
    name: str
    digest: str
    source: str | None = None
    profile: str | None = None
    context: str | None = None
    schema: str | None = None  # MLflow's column spec of the dataset (JSON text)


@dataclass
class ModelVersion:
    name: str
    version: int
    aliases: list[str] = field(default_factory=list)


@dataclass
class MlflowRun:
    run_id: str
    name: str | None
    experiment_id: str
    experiment: str
    status: str
    lifecycle_stage: str
    start_time_ms: int | None
    artifact_dir: Path | None
    origin: Path  # the run's folder (file store) or the database file
    params: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    datasets: list[Dataset] = field(default_factory=list)
    models: list[ModelVersion] = field(default_factory=list)


# -- file store -----------------------------------------------------------------------------------


def is_file_store(folder: Path) -> bool:
    """An `mlruns/` folder: some child folder has an experiment meta.yaml."""
    try:
        children = [c for c in folder.iterdir() if c.is_dir()]
    except OSError:
        return False
    for child in children:
        meta = child / "meta.yaml"
        if meta.is_file():
            try:
                doc = _yaml(meta)
            except InputError:
                continue
            if isinstance(doc, dict) and "experiment_id" in doc and "run_id" not in doc:
                return True
    return False


def read_file_store(root: Path) -> list[MlflowRun]:
    project = root.resolve().parent
    models = _file_store_models(root)
    runs: list[MlflowRun] = []
    for exp_dir in sorted(c for c in root.iterdir() if c.is_dir() and not c.name.startswith(".")):
        meta_path = exp_dir / "meta.yaml"
        if exp_dir.name == "models" or not meta_path.is_file():
            continue
        exp = _yaml(meta_path)
        if not isinstance(exp, dict) or "experiment_id" not in exp:
            continue
        if exp.get("lifecycle_stage") == "deleted":
            continue
        experiment = str(exp.get("name") or exp["experiment_id"])
        datasets = _file_store_datasets(exp_dir)
        for run_dir in sorted(c for c in exp_dir.iterdir() if c.is_dir()):
            run_meta_path = run_dir / "meta.yaml"
            if not run_meta_path.is_file():
                continue
            meta = _yaml(run_meta_path)
            if not isinstance(meta, dict) or not (meta.get("run_id") or meta.get("run_uuid")):
                continue
            run_id = str(meta.get("run_id") or meta.get("run_uuid"))
            status = meta.get("status")
            artifact_uri = (
                meta.get("artifact_uri") if isinstance(meta.get("artifact_uri"), str) else None
            )
            run = MlflowRun(
                run_id=run_id,
                name=_text(meta.get("run_name")),
                experiment_id=str(exp["experiment_id"]),
                experiment=experiment,
                status=RUN_STATUS.get(status, str(status))
                if isinstance(status, int)
                else str(status),
                lifecycle_stage=str(meta.get("lifecycle_stage") or "active"),
                start_time_ms=meta.get("start_time")
                if isinstance(meta.get("start_time"), int)
                else None,
                artifact_dir=_first_dir(
                    [run_dir / "artifacts", _local(artifact_uri, project)], project
                ),
                origin=run_dir,
                params=_key_files(run_dir / "params"),
                metrics=_latest_metrics(run_dir / "metrics"),
                tags=_key_files(run_dir / "tags"),
                datasets=_file_store_inputs(run_dir / "inputs", datasets),
                models=models.get(run_id, []),
            )
            runs.append(run)
    return runs


def _files_under(folder: Path) -> list[Path]:
    """Every file under `folder` (none if it is missing), in path order."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.rglob("*") if p.is_file())


def _key_files(folder: Path) -> dict[str, str]:
    """params/ and tags/: one file per key (keys with '/' are nested folders), the value inside."""
    return {
        path.relative_to(folder).as_posix(): decode_text(read_file_bytes(path), path)
        for path in _files_under(folder)
    }


def _latest_metrics(folder: Path) -> dict[str, float]:
    """metrics/: lines `timestamp value [step]`; the latest is the one with the highest (step, time)."""
    out: dict[str, float] = {}
    for path in _files_under(folder):
        best: tuple[int, int, float] | None = None
        for number, line in enumerate(
            decode_text(read_file_bytes(path), path).splitlines(), start=1
        ):
            parts = line.split()
            if not parts:
                continue
            try:
                timestamp, value = int(parts[0]), float(parts[1])
                step = int(parts[2]) if len(parts) > 2 else 0
            except (ValueError, IndexError):
                raise InputError(
                    path, "not an MLflow metric line (expected 'timestamp value step')", number
                ) from None
            if value != value:  # NaN
                continue
            if best is None or (step, timestamp) >= best[:2]:
                best = (step, timestamp, value)
        if best is not None:
            out[path.relative_to(folder).as_posix()] = best[2]
    return out


def _child_metas(folder: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    """(child folder name, its meta.yaml) for each child of `folder` whose meta.yaml is a mapping."""
    if not folder.is_dir():
        return
    for meta_path in sorted(folder.glob("*/meta.yaml")):
        doc = _yaml(meta_path)
        if isinstance(doc, dict):
            yield meta_path.parent.name, doc


def _file_store_datasets(exp_dir: Path) -> dict[str, Dataset]:
    return {
        name: Dataset(
            name=str(doc["name"]),
            digest=str(doc.get("digest") or ""),
            source=_text(doc.get("source")),
            profile=_text(doc.get("profile")),
            schema=_text(doc.get("schema")),
        )
        for name, doc in _child_metas(exp_dir / "datasets")
        if doc.get("name") is not None
    }


def _file_store_inputs(folder: Path, datasets: dict[str, Dataset]) -> list[Dataset]:
    out: list[Dataset] = []
    for _name, doc in _child_metas(folder):
        if doc.get("source_type") != "DATASET":
            continue
        found = datasets.get(str(doc.get("source_id")))
        if found is not None:
            tags: dict[str, Any] = doc["tags"] if isinstance(doc.get("tags"), dict) else {}
            out.append(replace(found, context=_text(tags.get("mlflow.data.context"))))
    return out


def _file_store_models(root: Path) -> dict[str, list[ModelVersion]]:
    """Registered model versions by the run they came from, with the aliases pointing at them."""
    out: dict[str, list[ModelVersion]] = {}
    models = root / "models"
    if not models.is_dir():
        return out
    for model_dir in sorted(c for c in models.iterdir() if c.is_dir()):
        loaded = _yaml(model_dir / "meta.yaml") if (model_dir / "meta.yaml").is_file() else None
        meta: dict[str, Any] = loaded if isinstance(loaded, dict) else {}
        name = str(meta.get("name") or model_dir.name)
        aliases: dict[int, list[str]] = {}
        declared = meta.get("aliases")
        if isinstance(declared, dict):
            for alias, version in declared.items():
                _add_alias(aliases, str(alias), version)
        alias_dir = model_dir / "aliases"
        if alias_dir.is_dir():
            for alias_file in sorted(alias_dir.iterdir()):
                _add_alias(
                    aliases,
                    alias_file.name,
                    decode_text(read_file_bytes(alias_file), alias_file).strip(),
                )
        for version_meta in sorted(model_dir.glob("version-*/meta.yaml")):
            doc = _yaml(version_meta)
            if not isinstance(doc, dict) or not doc.get("run_id"):
                continue
            try:
                version = int(doc.get("version") or version_meta.parent.name.split("-", 1)[1])
            except ValueError:
                continue
            out.setdefault(str(doc["run_id"]), []).append(
                ModelVersion(name, version, sorted(aliases.get(version, [])))
            )
    return out


def _add_alias(aliases: dict[int, list[str]], alias: str, version: Any) -> None:
    try:
        number = int(version)
    except (TypeError, ValueError):
        return
    if alias not in aliases.setdefault(number, []):
        aliases[number].append(alias)


# -- SQLite backend -------------------------------------------------------------------------------


def is_sqlite(path: Path) -> bool:
    try:
        with open_regular(path) as handle:  # never blocks on a FIFO
            return handle.read(len(SQLITE_HEADER)) == SQLITE_HEADER
    except (OSError, InputError):
        return False


def read_sqlite(db: Path) -> list[MlflowRun]:
    project = db.resolve().parent
    _require_regular(db)
    try:
        con = sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise InputError(db, f"cannot open the SQLite database: {exc}") from None
    try:
        con.execute("PRAGMA trusted_schema = OFF")
        with time_limited(con, db, SQLITE_TIME_LIMIT):
            return _read_sqlite(con, db, project)
    except sqlite3.DatabaseError as exc:
        raise InputError(db, f"cannot read the MLflow database: {exc}") from None
    finally:
        con.close()


class time_limited:
    """Interrupt every query of `con` once `seconds` have passed (SQLite's progress handler)."""

    def __init__(self, con: sqlite3.Connection, db: Path, seconds: float) -> None:
        self.con, self.db, self.seconds = con, db, seconds
        self.deadline = 0.0
        self.expired = False

    def _tick(self) -> int:
        if time.monotonic() > self.deadline:
            self.expired = True
            return 1  # non-zero: SQLite stops the query with "interrupted"
        return 0

    def __enter__(self) -> time_limited:
        self.deadline = time.monotonic() + self.seconds
        self.con.set_progress_handler(self._tick, _SQLITE_CHECK_EVERY)
        return self

    def __exit__(self, kind: object, exc: object, traceback: object) -> None:
        self.con.set_progress_handler(None, 0)
        if self.expired and isinstance(exc, sqlite3.OperationalError):
            raise InputError(
                self.db,
                f"reading the database took more than {self.seconds:g}s; refusing it "
                "(is it an MLflow tracking database?)",
            ) from None


def _require_regular(db: Path) -> None:
    """A database is a regular file (a FIFO or device would block or never end)."""
    try:
        info = db.stat()
    except OSError as exc:
        raise InputError(db, f"cannot open the SQLite database: {exc.strerror}") from None
    if not stat.S_ISREG(info.st_mode):
        raise InputError(db, "is not a regular file; refusing it")


def _read_sqlite(con: sqlite3.Connection, db: Path, project: Path) -> list[MlflowRun]:
    tables = check_plain_tables(con, db, SQLITE_TABLES)
    if not {"runs", "experiments"} <= tables:
        raise InputError(db, "not an MLflow tracking database (no 'runs' and 'experiments' tables)")
    runs: dict[str, MlflowRun] = {}
    for row in con.execute(
        """SELECT r.run_uuid, r.name, r.experiment_id, e.name, r.status, r.lifecycle_stage,
                  r.start_time, r.artifact_uri, e.lifecycle_stage
           FROM runs r LEFT JOIN experiments e ON e.experiment_id = r.experiment_id
           ORDER BY r.start_time, r.run_uuid"""
    ):
        run_id, name, exp_id, exp_name, status, stage, start, uri, exp_stage = row
        if exp_stage == "deleted":
            stage = "deleted"
        runs[run_id] = MlflowRun(
            run_id=str(run_id),
            name=name,
            experiment_id=str(exp_id),
            experiment=str(exp_name or exp_id),
            status=str(status),
            lifecycle_stage=str(stage or "active"),
            start_time_ms=start if isinstance(start, int) else None,
            artifact_dir=_sqlite_artifacts(uri, project, str(exp_id), str(run_id)),
            origin=db,
        )
    for run_id, key, value in con.execute("SELECT run_uuid, key, value FROM params ORDER BY key"):
        if run_id in runs:
            runs[run_id].params[key] = value
    for run_id, key, value in con.execute("SELECT run_uuid, key, value FROM tags ORDER BY key"):
        if run_id in runs and value is not None:
            runs[run_id].tags[key] = value
    for run_id, key, value in _sqlite_latest_metrics(con, tables):
        if run_id in runs:
            runs[run_id].metrics[key] = _metric(db, key, value)
    if {"inputs", "datasets"} <= tables:
        context = (
            "(SELECT value FROM input_tags t WHERE t.input_uuid = i.input_uuid "
            "AND t.name = 'mlflow.data.context')"
            if "input_tags" in tables
            else "NULL"
        )
        for row in con.execute(
            f"""SELECT i.destination_id, d.name, d.digest, d.dataset_source,
                       d.dataset_profile, {context}, d.dataset_schema
                FROM inputs i JOIN datasets d ON d.dataset_uuid = i.source_id
                WHERE i.source_type = 'DATASET' AND i.destination_type = 'RUN'
                ORDER BY d.name, d.digest"""
        ):
            if row[0] in runs:
                runs[row[0]].datasets.append(Dataset(*map(_opt_str, row[1:])))  # type: ignore[arg-type]
    if "model_versions" in tables:
        aliases: dict[tuple[str, int], list[str]] = {}
        if "registered_model_aliases" in tables:
            for name, alias, version in con.execute(
                "SELECT name, alias, version FROM registered_model_aliases ORDER BY alias"
            ):
                aliases.setdefault((name, _version(db, version)), []).append(alias)
        for name, version, run_id in con.execute(
            "SELECT name, version, run_id FROM model_versions ORDER BY name, version"
        ):
            if run_id in runs:
                number = _version(db, version)
                runs[run_id].models.append(
                    ModelVersion(name, number, aliases.get((name, number), []))
                )
    return list(runs.values())


def check_plain_tables(con: sqlite3.Connection, db: Path, names: tuple[str, ...]) -> set[str]:
    """The database's tables; refused if any of `names` is a view or a virtual table."""
    kinds = {
        str(name): (str(kind), str(sql or ""))
        for name, kind, sql in con.execute(
            "SELECT name, type, sql FROM sqlite_master WHERE type IN ('table', 'view')"
        )
    }
    for name in names:
        kind, sql = kinds.get(name, ("table", ""))
        if kind != "table" or sql.lstrip().upper().startswith("CREATE VIRTUAL"):
            raise InputError(
                db,
                f"{name!r} is a {kind if kind != 'table' else 'virtual table'}, "
                "not a table; not an MLflow tracking database",
            )
    return {name for name, (kind, _sql) in kinds.items() if kind == "table"}


def _sqlite_latest_metrics(
    con: sqlite3.Connection, tables: set[str]
) -> list[tuple[str, str, float]]:
    if "latest_metrics" in tables:
        return con.execute(
            "SELECT run_uuid, key, value FROM latest_metrics WHERE NOT is_nan ORDER BY key"
        ).fetchall()
    if "metrics" not in tables:
        return []
    # Older databases: the latest value is the one with the highest (step, timestamp).
    return con.execute(
        """SELECT run_uuid, key, value FROM (
               SELECT run_uuid, key, value, row_number() OVER (
                   PARTITION BY run_uuid, key ORDER BY step DESC, timestamp DESC, value DESC) AS n
               FROM metrics WHERE NOT is_nan)
           WHERE n = 1 ORDER BY key"""
    ).fetchall()


def _sqlite_artifacts(uri: Any, project: Path, experiment_id: str, run_id: str) -> Path | None:
    candidates: list[Path | None] = []
    if isinstance(uri, str) and uri.startswith("mlflow-artifacts:"):
        rest = urlparse(uri).path.lstrip("/")
        candidates.append(project / "mlartifacts" / rest)
    else:
        candidates.append(_local(uri, project))
    candidates += [
        project / "mlartifacts" / experiment_id / run_id / "artifacts",
        project / "mlruns" / experiment_id / run_id / "artifacts",
    ]
    return _first_dir(candidates, project)


# -- helpers ----------------------------------------------------------------------------------------


def local_dir(uri: Any, project: Path) -> Path | None:
    """The folder an artifact URI names, if it is on this machine inside `project`."""
    return _first_dir([_local(uri, project)], project)


def _local(uri: Any, project: Path) -> Path | None:
    """A local path from an artifact URI (plain path or file://), relative ones against the project."""
    if not isinstance(uri, str) or not uri:
        return None
    if uri.startswith("file:"):
        path = Path(unquote(urlparse(uri).path))
    elif _SCHEME.match(uri):
        return None  # s3://, dbfs:, mlflow-artifacts: ... are not on this machine
    else:
        path = Path(uri)
    return path if path.is_absolute() else project / path


def _first_dir(candidates: list[Path | None], project: Path) -> Path | None:
    for candidate in candidates:
        if candidate is None:
            continue
        try:
            resolved = candidate.resolve()
        except (OSError, RuntimeError):
            continue
        if resolved.is_dir() and resolved.is_relative_to(project):
            return resolved
    return None


def read_yaml(path: Path) -> Any:
    """A YAML file MLflow wrote (1 MiB at most, no aliases, nesting limited)."""
    return _yaml(path)


def _yaml(path: Path) -> Any:
    import yaml

    try:
        text = decode_text(read_file_bytes(path, limit=MAX_YAML_BYTES), path)
        return yaml.load(text, Loader=_limited_loader())
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        raise InputError(
            path, f"invalid YAML: {getattr(exc, 'problem', None) or exc}", line
        ) from None


_LOADER: Any = None


def _limited_loader() -> Any:
    """PyYAML's SafeLoader without aliases and with nesting limited to MAX_YAML_DEPTH.

    MLflow writes flat meta.yaml files: no anchors, a few levels at most. Refusing aliases stops
    a "billion laughs" file (a few lines that expand to gigabytes); the depth limit stops a
    20,000-deep list from exhausting the recursion of PyYAML's composer.
    """
    global _LOADER
    if _LOADER is not None:
        return _LOADER
    import yaml
    from yaml.events import AliasEvent, CollectionStartEvent

    class LimitedLoader(yaml.SafeLoader):
        depth = 0

        def compose_node(self, parent: Any, index: Any) -> Any:
            if self.check_event(AliasEvent):
                event = self.peek_event()
                raise yaml.composer.ComposerError(
                    None, None, "YAML aliases are not allowed in MLflow metadata", event.start_mark
                )
            nested = self.check_event(CollectionStartEvent)
            if nested:
                self.depth += 1
                if self.depth > MAX_YAML_DEPTH:
                    event = self.peek_event()
                    raise yaml.composer.ComposerError(
                        None,
                        None,
                        f"nested more than {MAX_YAML_DEPTH} levels deep",
                        event.start_mark,
                    )
            try:
                return super().compose_node(parent, index)
            finally:
                if nested:
                    self.depth -= 1

    _LOADER = LimitedLoader
    return _LOADER


def _version(db: Path, value: Any) -> int:
    """A model version number as MLflow stores it (an integer); anything else is refused."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 1 << 63:
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) < 19:
        return int(value)
    raise InputError(db, f"model_versions.version is {value!r}, expected a whole number")


def _metric(db: Path, key: Any, value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError, OverflowError):
        raise InputError(db, f"metric {key!r} has value {value!r}, expected a number") from None


def _text(value: Any) -> str | None:
    if value is None or value == "":
        return None
    return value if isinstance(value, str) else str(value)


def _opt_str(value: Any) -> str | None:
    return None if value is None else str(value)
