"""A suite's declared metrics from their counts.

Metrics are never taken from what a run logged: their (numerator, denominator) counts come from
the routes the run produced and the suite's expected routes (`cells.metric_counts_from_cells`,
over the runs' case sets), and are turned into values here.
"""

from __future__ import annotations

from evaltui.contract.model import MetricSpec

Number = int | float


def metric_values(
    metrics: tuple[MetricSpec, ...], counts: dict[str, tuple[int, int]]
) -> dict[str, Number | None]:
    """Metric values from their (numerator, denominator) counts: a count is its numerator, a
    rate the share (None over no cases). Integer division in IEEE doubles, as SQL would do it."""
    out: dict[str, Number | None] = {}
    for spec in metrics:
        numerator, denominator = counts.get(spec.name, (0, 0))
        if spec.kind == "count":
            out[spec.name] = numerator
        else:
            out[spec.name] = numerator / denominator if denominator else None
    return out
