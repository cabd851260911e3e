#!/bin/sh
# Write the lm-evaluation-harness logs in tests/real_logs/lm_eval_generated with the real tool
# (not run by CI). Usage: scripts/make_real_logs/lm_eval_logs.sh OUT_FOLDER
# LM_EVAL defaults to /work/tools-venvs/lmeval/bin/lm_eval (lm_eval 0.4.13 from PyPI).
# `--model dummy` answers "lol" to generations and random log-likelihoods; the task reads the
# local lm_eval_questions.jsonl, so nothing leaves the machine.
set -eu
out=$(realpath -m "$1")
lm_eval=${LM_EVAL:-/work/tools-venvs/lmeval/bin/lm_eval}
cd "$(dirname "$0")"
export HF_DATASETS_OFFLINE=1 HF_HUB_OFFLINE=1
# The same task name and documents, judged two ways: log-likelihood acc, exact_match of a generation.
"$lm_eval" --model dummy --tasks mini_route --include_path lm_eval_tasks/multiple_choice \
    --output_path "$out/multiple_choice" --log_samples
"$lm_eval" --model dummy --tasks mini_route --include_path lm_eval_tasks/generate \
    --output_path "$out/generate" --log_samples
# --output_path NAME.json: lm_eval writes NAME_<time>.json beside samples_<task>_<time>.jsonl.
for seed in 1 2; do
    "$lm_eval" --model dummy --tasks mini_route --include_path lm_eval_tasks/multiple_choice \
        --output_path "$out/named/my_results.json" --log_samples --seed "$seed"
done
