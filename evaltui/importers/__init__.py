"""Importers: other tools' evaluation logs become native suites and runs.

`pipeline.prepare(tool, source)` is the entry point; one module per tool (`lm_eval`,
`inspect_ai`, `mlflow` with its store readers in `mlflow_store`), shared builders in `common`,
and `zipread` for zip archives with zstd entries. See docs/importers.md.
"""
