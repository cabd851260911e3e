"""Write the inspect_ai logs in tests/real_logs/generated/inspect_ai with the real tool (not run by CI).

Run with an environment that has inspect_ai (see README.md beside this script):
    /work/tools-venvs/inspect/bin/python scripts/make_real_logs/inspect_logs.py OUT_FOLDER
Every log uses the `mockllm/model` model, answering "Default output from mockllm/model" with its
token usage given (else mockllm counts tokens with a tiktoken encoding it would download), and a
local JSON dataset, so nothing leaves the machine.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from inspect_ai import Epochs, Task, eval, task
from inspect_ai.dataset import json_dataset
from inspect_ai.model import Model, ModelOutput, ModelUsage, get_model
from inspect_ai.scorer import (
    CORRECT,
    INCORRECT,
    Score,
    Target,
    accuracy,
    includes,
    match,
    mean,
    scorer,
)
from inspect_ai.solver import Generate, TaskState, generate, solver

HERE = Path(__file__).resolve().parent
DATASET = HERE / "inspect_questions.jsonl"
ANSWER = "Default output from mockllm/model"


def mock_model() -> Model:
    def outputs():  # type: ignore[no-untyped-def]
        while True:
            output = ModelOutput.from_content(model="mockllm/model", content=ANSWER)
            output.usage = ModelUsage(input_tokens=12, output_tokens=5, total_tokens=17)
            yield output

    return get_model("mockllm/model", custom_outputs=outputs())


_ATTEMPTS: dict[str, int] = {}


@scorer(metrics=[accuracy()])
def flaky_match():  # type: ignore[no-untyped-def]
    """Correct when the output ends with the target; samples marked flaky only on epoch 1."""

    async def score(state: TaskState, target: Target) -> Score:
        text = state.output.completion.strip()
        right = text.endswith(target.text)
        if state.metadata.get("flaky") and state.epoch != 1:
            right = not right
        return Score(value=CORRECT if right else INCORRECT, answer=text.split("/")[-1])

    return score


@scorer(metrics={"*": [mean()]})
def judge_panel():  # type: ignore[no-untyped-def]
    """A dict-valued scorer (two judges' grades), the kind inspect reduces key by key."""

    async def score(state: TaskState, target: Target) -> Score:
        right = state.output.completion.strip().endswith(target.text)
        return Score(value={"fluency": 1.0, "relevance": 1.0 if right else 0.0})

    return score


@solver
def fail_after(count: int):  # type: ignore[no-untyped-def]
    """Raise on every sample after the first `count` (to stop an eval part way)."""

    async def solve(state: TaskState, generate: Generate) -> TaskState:
        if int(str(state.sample_id).removeprefix("q")) > count:
            raise RuntimeError("the serving endpoint went away")
        return await generate(state)

    return solve


@solver
def fail_first_attempt(every: int):  # type: ignore[no-untyped-def]
    """Raise the first time each `every`-th sample runs (inspect retries it)."""

    async def solve(state: TaskState, generate: Generate) -> TaskState:
        key = f"{state.sample_id}:{state.epoch}"
        _ATTEMPTS[key] = _ATTEMPTS.get(key, 0) + 1
        if int(str(state.sample_id).removeprefix("q")) % every == 0 and _ATTEMPTS[key] == 1:
            raise RuntimeError("transient failure")
        return await generate(state)

    return solve


@solver
def slow(seconds: float):  # type: ignore[no-untyped-def]
    async def solve(state: TaskState, generate: Generate) -> TaskState:
        time.sleep(seconds)
        return await generate(state)

    return solve


@task
def router_qa(
    grader: str = "flaky_match", stop_after: int = 0, retry_every: int = 0, pause: float = 0.0
):  # type: ignore[no-untyped-def]
    scorers = {
        "flaky_match": [flaky_match()],
        "includes": [includes()],
        "match": [match(location="end")],
        "dict_first": [judge_panel(), flaky_match()],
    }[grader]
    plan = [generate()]
    if stop_after:
        plan = [fail_after(stop_after)]
    elif retry_every:
        plan = [fail_first_attempt(retry_every)]
    elif pause:
        plan = [slow(pause)]
    return Task(
        dataset=json_dataset(str(DATASET)),
        solver=plan,
        scorer=scorers,
        version=1,
    )


def run(out: Path, name: str, **kwargs: object) -> None:
    task_args = kwargs.pop("task_args", {})
    [log] = eval(
        router_qa(**task_args),  # type: ignore[arg-type]
        model=mock_model(),
        log_dir=str(out / name),
        display="none",
        **kwargs,  # type: ignore[arg-type]
    )
    print(name, log.status, log.location)


def killed(out: Path) -> None:
    """An eval killed part way: started in a child process, which is killed after some samples."""
    folder = out / "killed"
    child = subprocess.Popen(
        [sys.executable, __file__, str(out), "--slow-child"], start_new_session=True
    )
    time.sleep(float(os.environ.get("KILL_AFTER", "25")))
    os.killpg(child.pid, signal.SIGKILL)
    child.wait()
    print("killed", sorted(p.name for p in folder.glob("*")))


def main() -> None:
    out = Path(sys.argv[1])
    if "--slow-child" in sys.argv:
        eval(
            router_qa(pause=1.0),
            model=mock_model(),
            log_dir=str(out / "killed"),
            display="none",
            max_samples=1,
            log_buffer=1,
        )
        return
    run(out, "plain")
    run(out, "includes", task_args={"grader": "includes"})
    run(out, "epochs_mean_at_least_1", epochs=Epochs(2, ["mean", "at_least_1"]))
    run(out, "epochs_max", epochs=Epochs(2, "max"))
    run(out, "dict_first", task_args={"grader": "dict_first"})
    run(out, "no_samples", log_samples=False)
    run(out, "retries", task_args={"retry_every": 4}, retry_on_error=1)
    run(out, "stopped", task_args={"stop_after": 14}, max_samples=1, fail_on_error=True)
    killed(out)
    # The plain log converted to the JSON format by inspect's own command.
    [plain] = (out / "plain").glob("*.eval")
    inspect = Path(sys.executable).with_name("inspect")
    subprocess.run(
        [
            str(inspect),
            "log",
            "convert",
            "--to",
            "json",
            "--output-dir",
            str(out / "converted"),
            str(plain),
        ],
        check=True,
    )


if __name__ == "__main__":
    main()
