"""evaltui: a keyboard-first terminal reviewer for evaluation runs.

The package is layered: `contract` (formats, validation, fingerprints) -> `store` (DuckDB schema,
loading, queries) -> `review` (comparability, guardrails, evidence, statistics) and `decision`
(record, signing) -> `cli` and `tui`. Importing `evaltui` itself loads nothing heavy.
"""

__version__ = "0.1.0"
