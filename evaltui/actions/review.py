"""Open an experiment's review: the experiments in the store and one of them audited.

The app opens on the experiment of the most recent decision logged on the store; the CLI's
`compare` names its baseline. Either way the review is `review.report.review_runs`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb

from evaltui.decision.log import read_log
from evaltui.errors import EvaltuiError, NotFoundError
from evaltui.review.noninferiority import DEFAULT_MARGIN
from evaltui.review.paired import PairedSettings
from evaltui.review.report import Review, complete_review, default_baseline, review_runs
from evaltui.store.queries import RunInfo, experiments, get_run

# How the app reviews, and what every decision's evidence is computed with (the app's decide form
# drafts from the app's review, `evaltui decide` from a fresh one with these): the paired
# statistics with the margin the canary's sequential test defaults to, so every pair says whether
# the candidate is shown not worse by more than 2 points. `compare` asks for a margin (--margin).
REVIEW_SETTINGS = PairedSettings(margin=DEFAULT_MARGIN)


@dataclass(frozen=True, slots=True)
class ExperimentReview:
    """The store's experiments (name, run count) and the review opened, if the store has runs."""

    experiments: list[tuple[str, int]]
    review: Review | None


def first_experiment(names: list[str], log_path: Path) -> str:
    """The experiment to open when none is asked for.

    The experiment of the most recent decision logged on this store (the reviewer carries on
    where they signed last), else the first by name: a stable choice that adding runs to another
    experiment does not change. `names` must not be empty.
    """
    try:
        logged, _ = read_log(log_path)
    except EvaltuiError:  # an unreadable log is reported where the log is shown, not here
        logged = []
    known = set(names)
    for entry in reversed(logged):
        experiment = entry.entry.get("experiment")
        if isinstance(experiment, str) and experiment in known:
            return experiment
    return min(names)


def open_experiment(
    con: duckdb.DuckDBPyConnection,
    experiment: str | None,
    baseline: str | None,
    log_path: Path,
    settings: PairedSettings,
    *,
    defer_bootstrap: bool = False,
) -> ExperimentReview:
    """The experiments in the store and the review of one of them.

    `baseline` (a run id) picks the experiment and the baseline; else `experiment` (or the one
    `first_experiment` picks) is reviewed against its default baseline. An unknown baseline is a
    NotFoundError on the field `baseline`. With `defer_bootstrap` the review may be `pending`:
    `finish_review` completes it (the app shows the runs before 500 bootstraps are done).
    """
    names = experiments(con)
    if not names:
        return ExperimentReview(names, None)
    if baseline is not None:
        experiment = run_of(con, baseline, "baseline").experiment
    experiment = experiment or first_experiment([name for name, _ in names], log_path)
    baseline = baseline or default_baseline(con, experiment)
    review = review_runs(con, baseline, settings=settings, defer_bootstrap=defer_bootstrap)
    return ExperimentReview(names, review)


def finish_review(con: duckdb.DuckDBPyConnection, review: Review) -> Review:
    """A pending review's bootstraps and what rests on them (no query: `con` is unused)."""
    return complete_review(review)


def compare_runs(
    con: duckdb.DuckDBPyConnection,
    baseline: str,
    runs: list[str] | None,
    settings: PairedSettings,
) -> Review:
    """`baseline` against `runs` (default: every run of its experiment), as `compare` shows it."""
    try:
        return review_runs(con, baseline, runs, settings)
    except NotFoundError as error:  # name the input the unknown id came from
        error.field = "baseline" if str(error).startswith(f"{baseline}:") else "runs"
        raise


def run_of(con: duckdb.DuckDBPyConnection, run_id: str, field: str) -> RunInfo:
    """`get_run`, with the input named on the error when the run does not exist."""
    try:
        return get_run(con, run_id)
    except NotFoundError as error:
        error.field = field
        raise
