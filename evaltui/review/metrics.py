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
    """Metric values from their (numerator, denominator) counts, as each one's kind defines them
    (`contract.metric_kinds`: a count is its numerator, a rate the share, None over no cases)."""
    return {spec.name: spec.metric_kind.value(*counts.get(spec.name, (0, 0))) for spec in metrics}
