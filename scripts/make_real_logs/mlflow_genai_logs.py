"""Write the MLflow GenAI stores in tests/real_logs/mlflow_genai with the real tool (not run by CI).

    /work/tools-venvs/mlflow/bin/python scripts/make_real_logs/mlflow_genai_logs.py OUT_FOLDER

OUT_FOLDER/filestore/mlruns (MLFLOW_ALLOW_FILE_STORE) and OUT_FOLDER/sqlite/mlflow.db with its
artifacts, each holding three `mlflow.genai.evaluate` runs on the same six questions: the
predict functions are plain Python (no model, no network), the scorers are `@scorer` functions:
`exact_match` (a bool, case-insensitive), `brevity` (a float in [0, 1]) and `capitalised` (a
Feedback "yes"/"no" with a rationale). `genai-baseline` and `genai-candidate` answer differently;
`genai-flaky` raises on one question (its trace is an error, its scorers fail there).

Written in /home/reviewer/project so the absolute paths MLflow stores need no rewriting:

    /work/tools-venvs/mlflow/bin/python scripts/make_real_logs/mlflow_genai_logs.py /home/reviewer/project
"""

from __future__ import annotations

import os
import sqlite3
import sys
from pathlib import Path

os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
os.environ.setdefault("MLFLOW_GENAI_EVAL_MAX_WORKERS", "1")  # traces in dataset order

import mlflow
from mlflow.entities import Feedback
from mlflow.genai.scorers import scorer

QUESTIONS = [
    ("Capital of France?", "Paris"),
    ("Capital of Italy?", "Rome"),
    ("Capital of Spain?", "Madrid"),
    ("Capital of Japan?", "Tokyo"),
    ("Capital of Peru?", "Lima"),
    ("Capital of Kenya?", "Nairobi"),
]
ANSWERS = {
    "baseline": {"France": "paris", "Japan": "Kyoto"},
    "candidate": {"Italy": "rome", "Spain": "Barcelona", "Peru": "It is Lima"},
    "flaky": {"Kenya": None},  # the predict function raises on this question
}
DATA = [{"inputs": {"question": q}, "expectations": {"expected_response": a}} for q, a in QUESTIONS]


@scorer
def exact_match(outputs: str, expectations: dict) -> bool:
    return outputs.strip().lower() == str(expectations["expected_response"]).lower()


@scorer
def brevity(outputs: str) -> float:
    return round(1.0 / len(outputs.split()), 3) if outputs.split() else 0.0


@scorer
def capitalised(outputs: str) -> Feedback:
    ok = outputs[:1].isupper()
    return Feedback(
        value="yes" if ok else "no",
        rationale="starts with a capital letter" if ok else "starts in lower case",
    )


def predictor(name: str):  # type: ignore[no-untyped-def]
    table = ANSWERS[name]

    def answer(question: str) -> str:
        country = question.removeprefix("Capital of ").rstrip("?")
        if country in table and table[country] is None:
            raise TimeoutError("the model did not answer in time")
        return table.get(country) or dict(QUESTIONS)[question]

    answer.__name__ = name
    return answer


def write(tracking_uri: str) -> None:
    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_experiment("capitals-genai")
    for name in ANSWERS:
        with mlflow.start_run(run_name=f"genai-{name}"):
            mlflow.log_param("prompt_template", "Answer with the city only: {question}")
            mlflow.genai.evaluate(
                data=DATA,
                predict_fn=predictor(name),
                scorers=[exact_match, brevity, capitalised],
            )


def main() -> None:
    out = Path(sys.argv[1]).resolve()
    db = out / "sqlite" / "mlflow.db"
    (out / "filestore").mkdir(parents=True, exist_ok=True)
    (out / "sqlite").mkdir(parents=True, exist_ok=True)
    os.chdir(out / "filestore")
    write(f"file://{out / 'filestore' / 'mlruns'}")
    os.chdir(out / "sqlite")  # the SQLite backend keeps artifacts in ./mlartifacts beside mlflow.db
    write(f"sqlite:///{db}")
    # MLflow creates ~70 tables, most of them empty, in 4 KiB pages (1 MB). Rewriting the file
    # with 1 KiB pages keeps every row and table as written and makes it a third of that size.
    con = sqlite3.connect(db)
    con.execute("PRAGMA page_size = 1024")
    con.execute("VACUUM")
    con.close()


if __name__ == "__main__":
    main()
