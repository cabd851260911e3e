"""One offline W&B run whose log spans several 32 KiB blocks: a 40 KB config value (a record split
into first/middle/last chunks), 30 history steps, and the same table key logged at two steps."""

import wandb

run = wandb.init(
    project="intent-router",
    name="eval-long",
    config={"model": "keyword-v3", "notes_blob": "x" * 40_000},
)
for step in range(30):
    run.log({"loss": 1.0 / (step + 1)})
rows = [("q1", "Where is my parcel?", "track_order"), ("q2", "I want my money back", "refund")]
first = wandb.Table(
    columns=["id", "text", "label", "prediction"],
    data=[[i, t, label, "other"] for i, t, label in rows],
)
run.log({"eval/predictions": first})
final = wandb.Table(
    columns=["id", "text", "label", "prediction"],
    data=[[i, t, label, label] for i, t, label in rows],
)
run.log({"eval/predictions": final})
run.summary["accuracy"] = 1.0
run.config.update({"late_key": "set after the first steps"})
run.finish()
