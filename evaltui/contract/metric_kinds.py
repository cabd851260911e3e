"""Metric kinds, defined once: what a suite may declare besides a metric's name.

A suite declares a metric as `{"name": ..., KIND: <cell filter>, ...}`. The kind decides how the
metric's (numerator, denominator) counts become a value, whether it takes an `among` filter (its
base), how far a logged value may sit from the recomputed one, and whether it is reported with
a Wilson interval. The suite parser, the metric model, the review's counting and the surfaces
all ask this registry instead of branching on the kind's name.

Adding a kind: write its `MetricKind` here and add it to `METRIC_KINDS` (docs/architecture.md).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

Number = int | float


def _count_value(numerator: int, denominator: int) -> Number | None:
    del denominator
    return numerator


def _share(numerator: int, denominator: int) -> Number | None:
    # integer division in IEEE doubles, as SQL would do it; no value over no cases
    return numerator / denominator if denominator else None


@dataclass(frozen=True, slots=True)
class MetricKind:
    name: str  # the key that declares it in a suite's metric
    value: Callable[[int, int], Number | None]  # (numerator, denominator) -> the metric's value
    takes_among: bool  # an `among` filter narrows its denominator
    tolerance: float  # a logged value this close to the recomputed one agrees with it
    has_interval: bool  # reported with a Wilson interval (a proportion)
    template: str  # what it measures: `{where}`, `{among}` and `{scope}` are filled in

    def describe(self, where: str, among: str, scope: str) -> str:
        return self.template.format(where=where, among=among, scope=scope)


COUNT = MetricKind(
    name="count",
    value=_count_value,
    takes_among=False,
    tolerance=1e-9,
    has_interval=False,
    template="count of cases {where}{scope}",
)
RATE = MetricKind(
    name="rate",
    value=_share,
    takes_among=True,
    tolerance=1e-3,  # logged rates are often rounded to three decimals
    has_interval=True,
    template="share of {among} that are {where}{scope}",
)

METRIC_KINDS: dict[str, MetricKind] = {kind.name: kind for kind in (COUNT, RATE)}


def metric_kind(name: str) -> MetricKind:
    """The kind a parsed suite declared (the parser only accepts names in `METRIC_KINDS`)."""
    return METRIC_KINDS[name]
