"""The application layer's review operations name the input an error concerns."""

from __future__ import annotations

from pathlib import Path

import pytest

from evaltui.actions.review import compare_runs, open_experiment
from evaltui.errors import NotFoundError
from evaltui.review.paired import PairedSettings
from evaltui.store.connection import Store


def test_an_unknown_baseline_is_an_error_on_the_baseline_field(sample_store: Path) -> None:
    with Store.open(sample_store, read_only=True) as store:
        with pytest.raises(NotFoundError) as found:
            compare_runs(store.con, "no-such-run", None, PairedSettings())
        assert found.value.field == "baseline"
        with pytest.raises(NotFoundError) as found:
            open_experiment(store.con, None, "no-such-run", Path("none.jsonl"), PairedSettings())
        assert found.value.field == "baseline"
        assert "no-such-run" in str(found.value)


def test_an_unknown_candidate_is_an_error_on_the_runs_field(sample_store: Path) -> None:
    with Store.open(sample_store, read_only=True) as store:
        with pytest.raises(NotFoundError) as found:
            compare_runs(store.con, "sr-prod-v3.4", ["no-such-run"], PairedSettings())
        assert found.value.field == "runs"


def test_open_experiment_reviews_the_baselines_experiment(sample_store: Path) -> None:
    with Store.open(sample_store, read_only=True) as store:
        opened = open_experiment(
            store.con, None, "sr-prod-v3.4", Path("none.jsonl"), PairedSettings()
        )
    assert opened.review is not None
    assert opened.review.baseline.run_id == "sr-prod-v3.4"
    assert any(name == opened.review.baseline.run.experiment for name, _ in opened.experiments)


def test_opening_the_app_on_unknown_names_errs_on_their_fields(sample_store: Path) -> None:
    from evaltui.actions.store import check_start, open_store
    from evaltui.errors import InputError

    with open_store(sample_store, read_only=True) as store:
        with pytest.raises(NotFoundError) as missing:
            check_start(store, experiment="no-such-experiment", baseline=None)
        assert missing.value.field == "experiment"
        with pytest.raises(NotFoundError) as missing:
            check_start(store, experiment=None, baseline="no-such-run")
        assert missing.value.field == "baseline"
        with pytest.raises(InputError) as wrong:
            check_start(store, experiment="ci-claim-gate-repair", baseline="sr-prod-v3.4")
        assert wrong.value.field == "baseline"
        check_start(store, experiment="support-router-q4", baseline="sr-prod-v3.4")


def test_a_field_set_by_a_subclass_before_init_survives() -> None:
    """InvalidChoice names its form field before calling up; the base must not reset it."""
    from evaltui.decision.record import InvalidChoice

    error = InvalidChoice("rollback_artifact", "is required")
    assert error.field == "rollback_artifact"
    assert str(error) == "rollback_artifact: is required"
    assert NotFoundError("x").field is None
