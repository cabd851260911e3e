"""Two offline W&B runs of two 'models' that log the same evaluation table (same inputs, labels)."""

import wandb

ROWS = [
    ("q1", "Where is my parcel?", "track_order"),
    ("q2", "I want my money back", "refund"),
    ("q3", "Cancel the subscription please", "cancel"),
    ("q4", "How do I change my address?", "account"),
    ("q5", "The parcel never arrived", "track_order"),
    ("q6", "Refund the duplicate charge", "refund"),
]
PREDICTIONS = {
    "keyword-v1": ["track_order", "refund", "account", "account", "refund", "refund"],
    "keyword-v2": ["track_order", "refund", "cancel", "account", "track_order", "cancel"],
}

for model, preds in PREDICTIONS.items():
    run = wandb.init(
        project="intent-router",
        name=f"eval-{model}",
        job_type="eval",
        config={"model": model, "dataset": "intents-v1", "threshold": 0.5, "grader": "exact_match"},
    )
    table = wandb.Table(columns=["id", "text", "label", "prediction", "confidence"])
    correct = 0
    for (case_id, text, label), pred in zip(ROWS, preds, strict=True):
        table.add_data(case_id, text, label, pred, 0.9 if pred == label else 0.4)
        correct += pred == label
    run.log({"eval/predictions": table})
    run.summary["accuracy"] = correct / len(ROWS)
    run.summary["cases"] = len(ROWS)
    run.finish()
