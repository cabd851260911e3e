"""The store's tables.

Times are stored as naive UTC TIMESTAMPs (TIMESTAMPTZ would drag in pytz on every fetch).

Per-case results are one wide table without indexes: runs are inserted one after another, so each
run's rows are contiguous and DuckDB's zone maps skip other runs' row groups on `run_id = ?`.
Indexes would slow a ten-million-row load for no gain in the set-based queries evaltui runs.

`result_sets` summarises each run's results as one bitstring per route label over the suite's
cases, `suite_sets` each suite's cases per (split, expected route) the same way, and
`result_cells` counts each run's cases per (split, expected route, route) (see `case_sets.py`):
reviews read those, not the ten million rows.

`runs.results_digest` is a digest of each run's per-case results (case, route, score, output),
computed in bulk at load time, so runs with identical results are found by a join (copied
evidence). `runs.incomplete` is the run's own reason it did not finish (NULL: it did). `gates`
holds the review declarations of gates files, one row per suite (see `contract/gates.py`).
`suites.cluster_field` is the manifest's `cluster_field`, stored at load time so a review never
reads the manifest file again (it may have moved, changed, or be on another machine).

`cases.canonical` is compressed with zstd (DuckDB's default, dictionary + FSST, cost twice as
much to insert and made a larger file) and `cases.case_id` not at all: ids are unique, so
dictionary + FSST only cost a million-case load 0.05 s and 0.1 s of CPU, and a case lookup by id
is twice as fast on plain text, for ~10 MB more per million cases (docs/performance.md). Stores
made before keep their choices (`CREATE TABLE IF NOT EXISTS`; nothing a query sees differs).
"""

from __future__ import annotations

# 2: suite_sets, result_sets, result_cells; 3: gates, runs.incomplete, runs.results_digest;
# 4: suites.cluster_field (a version-3 store is migrated when opened for writing: connection.py)
SCHEMA_VERSION = "4"

DDL = """
CREATE TABLE IF NOT EXISTS meta (
    key VARCHAR PRIMARY KEY,
    value VARCHAR NOT NULL
);
CREATE TABLE IF NOT EXISTS suites (
    suite_id VARCHAR PRIMARY KEY,
    description VARCHAR,
    evaluation_sha VARCHAR NOT NULL,
    content_sha VARCHAR NOT NULL,
    case_count BIGINT NOT NULL,
    metrics JSON NOT NULL,
    guardrails JSON NOT NULL,
    comparison_fields JSON NOT NULL,
    source_path VARCHAR NOT NULL,
    loaded_at TIMESTAMP NOT NULL,
    cluster_field VARCHAR
);
CREATE TABLE IF NOT EXISTS suite_splits (
    suite_id VARCHAR NOT NULL,
    split VARCHAR NOT NULL,
    position INTEGER NOT NULL,
    fingerprint VARCHAR NOT NULL,
    case_count BIGINT NOT NULL,
    source VARCHAR NOT NULL,
    PRIMARY KEY (suite_id, split)
);
CREATE TABLE IF NOT EXISTS cases (
    suite_id VARCHAR NOT NULL,
    split VARCHAR NOT NULL,
    case_id VARCHAR NOT NULL USING COMPRESSION uncompressed,
    expected_route VARCHAR NOT NULL,
    slice_name VARCHAR,
    evidence_state VARCHAR,
    source VARCHAR,
    canonical VARCHAR NOT NULL USING COMPRESSION zstd
);
CREATE TABLE IF NOT EXISTS runs (
    run_id VARCHAR PRIMARY KEY,
    experiment VARCHAR NOT NULL,
    artifact VARCHAR NOT NULL,
    suite_id VARCHAR NOT NULL,
    started_at TIMESTAMP NOT NULL,
    content_sha VARCHAR NOT NULL,
    source_path VARCHAR NOT NULL,
    result_count BIGINT NOT NULL,
    loaded_at TIMESTAMP NOT NULL,
    incomplete VARCHAR,
    results_digest VARCHAR
);
CREATE TABLE IF NOT EXISTS gates (
    suite_id VARCHAR PRIMARY KEY,
    content_sha VARCHAR NOT NULL,
    metrics JSON,
    guardrails JSON,
    comparison_fields JSON,
    cluster_field VARCHAR,
    source_path VARCHAR NOT NULL,
    loaded_at TIMESTAMP NOT NULL
);
CREATE TABLE IF NOT EXISTS run_params (
    run_id VARCHAR NOT NULL,
    key VARCHAR NOT NULL,
    value VARCHAR NOT NULL
);
CREATE TABLE IF NOT EXISTS run_metrics (
    run_id VARCHAR NOT NULL,
    key VARCHAR NOT NULL,
    value DOUBLE NOT NULL
);
CREATE TABLE IF NOT EXISTS run_tags (
    run_id VARCHAR NOT NULL,
    key VARCHAR NOT NULL,
    value VARCHAR NOT NULL
);
CREATE TABLE IF NOT EXISTS run_artifacts (
    run_id VARCHAR NOT NULL,
    position INTEGER NOT NULL,
    path VARCHAR NOT NULL
);
CREATE TABLE IF NOT EXISTS results (
    run_id VARCHAR NOT NULL,
    case_id VARCHAR,
    route VARCHAR,
    score DOUBLE,
    latency_ms DOUBLE,
    tokens BIGINT,
    output VARCHAR,
    metadata JSON
);
CREATE TABLE IF NOT EXISTS suite_sets (
    suite_id VARCHAR NOT NULL,
    split VARCHAR NOT NULL,
    expected_route VARCHAR NOT NULL,
    cases BIT NOT NULL
);
CREATE TABLE IF NOT EXISTS result_cells (
    run_id VARCHAR NOT NULL,
    split VARCHAR NOT NULL,
    expected_route VARCHAR NOT NULL,
    route VARCHAR NOT NULL,
    cases BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS result_sets (
    run_id VARCHAR NOT NULL,
    route VARCHAR NOT NULL,
    cases BIT NOT NULL
);
"""

RUN_DETAIL_TABLES = (
    "run_params",
    "run_metrics",
    "run_tags",
    "run_artifacts",
    "results",
    "result_sets",
    "result_cells",
)
