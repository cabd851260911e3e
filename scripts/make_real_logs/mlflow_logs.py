"""Write the MLflow stores in tests/real_logs/mlflow_generated with the real tool (not run by CI).

    /work/tools-venvs/mlflow/bin/python scripts/make_real_logs/mlflow_logs.py OUT_FOLDER

OUT_FOLDER/filestore/mlruns (MLFLOW_ALLOW_FILE_STORE) and OUT_FOLDER/sqlite/mlflow.db with its
artifacts, each holding the same runs:
- two `mlflow.evaluate` runs on the same questions (static predictions, a `correct` metric that
  judges case-insensitively), with different predictions;
- a run whose predictions are a `log_table` under another name (recorded by the
  `mlflow.loggedArtifacts` tag) and a run with a `predictions.parquet` artifact.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")

import mlflow
import pandas as pd
from mlflow.metrics import MetricValue, make_metric

QUESTIONS = [
    ("q1", "Capital of France?", "Paris"),
    ("q2", "Capital of Italy?", "Rome"),
    ("q3", "Capital of Spain?", "Madrid"),
    ("q4", "Capital of Japan?", "Tokyo"),
    ("q5", "Capital of Peru?", "Lima"),
    ("q6", "Capital of Kenya?", "Nairobi"),
]
ANSWERS = {
    "baseline": ["paris", "Rome", "Madrid", "Kyoto", "Lima", "Nairobi"],
    "candidate": ["Paris", "rome", "Barcelona", "Tokyo", "Lima", "Mombasa"],
}


def _correct(predictions, targets, metrics):  # type: ignore[no-untyped-def]
    scores = [
        1.0 if str(p).strip().lower() == str(t).strip().lower() else 0.0
        for p, t in zip(predictions, targets, strict=True)
    ]
    return MetricValue(scores=scores, aggregate_results={"mean": sum(scores) / len(scores)})


CORRECT = make_metric(eval_fn=_correct, greater_is_better=True, name="correct")


def frame(answers: list[str]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": [q[0] for q in QUESTIONS],
            "inputs": [q[1] for q in QUESTIONS],
            "ground_truth": [q[2] for q in QUESTIONS],
            "prediction": answers,
        }
    )


def write(tracking_uri: str) -> None:
    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_experiment("capitals")
    for name, answers in ANSWERS.items():
        with mlflow.start_run(run_name=f"evaluate-{name}"):
            mlflow.log_param("prompt_template", "Answer with the city only: {question}")
            mlflow.evaluate(
                data=frame(answers),
                predictions="prediction",
                targets="ground_truth",
                extra_metrics=[CORRECT],
                evaluators="default",
            )
    with mlflow.start_run(run_name="table-under-another-name"):
        mlflow.log_param("judge", "case-insensitive match")
        mlflow.log_table(frame(ANSWERS["baseline"]), artifact_file="eval/answers.json")
    with mlflow.start_run(run_name="parquet"):
        mlflow.log_param("judge", "case-insensitive match")
        path = Path("predictions.parquet")
        frame(ANSWERS["candidate"]).to_parquet(path, index=False)
        mlflow.log_artifact(str(path))
        path.unlink()


def main() -> None:
    out = Path(sys.argv[1]).resolve()
    (out / "filestore").mkdir(parents=True, exist_ok=True)
    (out / "sqlite").mkdir(parents=True, exist_ok=True)
    os.chdir(out / "filestore")
    write(f"file://{out / 'filestore' / 'mlruns'}")
    os.chdir(out / "sqlite")  # the SQLite backend keeps artifacts in ./mlartifacts beside mlflow.db
    write(f"sqlite:///{out / 'sqlite' / 'mlflow.db'}")


if __name__ == "__main__":
    main()
