"""Power and expected stopping n of the sequential canary test, for 1, 3 and 5-point regressions.

    python benchmarks/power_table.py [--streams 500] [--horizon 20000] [--rate 0.9] [--seed 1]

Every stream is checked after every request (the worst case for peeking). Against the baseline
rate the canary's requests are Bernoulli(rate - regression); against a control arm both arms get
one request per step. Prints a Markdown table (the one recorded in docs/statistics.md): for each
regression, the share of streams rolled back (power; for 0 points, the false-rollback rate),
promoted, or undecided within the horizon, and the mean and median number of canary requests at
the decision (streams undecided at the horizon count as the horizon).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from evaltui.review.sequential import METHOD, SequentialPlan, simulate_stopping


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--streams", type=int, default=500)
    parser.add_argument("--horizon", type=int, default=20_000)
    parser.add_argument("--control-streams", type=int, default=200)
    parser.add_argument("--control-horizon", type=int, default=5_000)
    parser.add_argument("--rate", type=float, default=0.9)
    parser.add_argument("--level", type=float, default=0.05)
    parser.add_argument("--margin", type=float, default=0.02)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    plan = SequentialPlan(args.rate, level=args.level, margin=args.margin)
    print(f"method: {METHOD}")
    print(
        f"baseline rate {args.rate}, level {args.level}, margin {args.margin}, "
        f"prior strength {plan.prior_strength:g}; a check after every request\n"
    )
    print(
        "| reference | regression | streams | horizon | rolled back | promoted | undecided "
        "| mean n | median n | seconds |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for reference, streams, horizon in (
        ("baseline rate", args.streams, args.horizon),
        ("control arm", args.control_streams, args.control_horizon),
    ):
        for points in (0, 1, 3, 5):
            rate = args.rate - points / 100
            started = time.perf_counter()
            codes, stops = simulate_stopping(
                rate,
                plan,
                streams,
                horizon,
                seed=args.seed + points,
                control_rate=args.rate if reference == "control arm" else None,
            )
            seconds = time.perf_counter() - started
            print(
                f"| {reference} | {points} pt | {streams:,} | {horizon:,} "
                f"| {np.mean(codes == 1):.3f} | {np.mean(codes == 2):.3f} "
                f"| {np.mean(codes == 0):.3f} | {stops.mean():,.0f} | {np.median(stops):,.0f} "
                f"| {seconds:.1f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
