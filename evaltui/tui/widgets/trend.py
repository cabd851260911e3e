"""A metric across an experiment's runs, oldest first: a sparkline and one bar per run.

The bars start at the lowest value shown, not at 0, so a step of 0.01 between two rates near 0.97
is visible; the line under them says so, and every row prints its value (and, for rates, its
Wilson interval), so nothing is read off a bar alone. The reference and the current run of the
drift screen are marked with words, which survive NO_COLOR.

The widget only draws a `MetricTrend` (from `evaltui.review.trend.metric_trend`, computed in a
worker); run ids come from the data and go through `text.plain`.
"""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from evaltui.bars import span_bar
from evaltui.plural import count
from evaltui.review.trend import MetricTrend, TrendPoint
from evaltui.tui.stats_text import level
from evaltui.tui.text import NONE, fit, number, plain, signed

SPARK = "▁▂▃▄▅▆▇█"
BAR = 16


def sparkline(values: list[float | None]) -> str:
    """One cell per value, eight heights between the lowest and the highest; `·` for none."""
    known = [v for v in values if v is not None]
    if not known:
        return ""
    low, high = min(known), max(known)
    out = []
    for v in values:
        if v is None:
            out.append("·")
        elif high == low:
            out.append(SPARK[3])
        else:
            out.append(SPARK[round((v - low) / (high - low) * (len(SPARK) - 1))])
    return "".join(out)


def _interval(point: TrendPoint) -> str:
    rate = point.rate
    if rate is None or rate.interval is None:
        return ""
    return f"[{rate.interval.low:.3f}, {rate.interval.high:.3f}]"


def _confidence(trend: MetricTrend) -> float | None:
    for p in trend.points:
        if p.rate is not None and p.rate.interval is not None:
            return p.rate.interval.confidence
    return None


def trend_text(
    trend: MetricTrend | None,
    *,
    reference: str | None = None,
    current: str | None = None,
    width: int = 80,
) -> Text:
    if trend is None:
        return Text("computing the trend…", style="italic")
    values = [p.value for p in trend.line]
    out = Text()
    out.append("TREND", style="bold underline")
    out.append(" ")
    out.append(plain(trend.metric, limit=60), style="bold")
    out.append(f" · {count(len(trend.points), 'run')}, oldest first · {trend.source}")
    left_out = len(trend.points) - len(trend.line)
    if left_out:
        out.append(f" · {left_out} not comparable, left out of the line", style="bold")
    out.append("\n")
    known = [v for v in values if v is not None]
    if not known:
        out.append(f"{NONE} no run has a value for this metric\n", style="dim")
    else:
        out.append(sparkline(values), style="bold")
        change = trend.change
        if change is not None:
            out.append(f"  first → last {signed(change)}")
        out.append("\n")
        low, high = min(known), max(known)
        id_width = max(8, min(20, max(len(plain(p.run_id)) for p in trend.points)))
        ci_width = 14 if trend.has_interval else 0
        bar_width = max(6, min(BAR, width - (11 + id_width + 1 + 8 + ci_width + 1 + 12)))
        for p in trend.points:
            marks = []
            if p.run_id == reference:
                marks.append("reference")
            if p.run_id == current:
                marks.append("current")
            row = Text(f"{p.started_at:%Y-%m-%d} ", style="" if p.comparable else "dim")
            row.append(fit(plain(p.run_id), id_width, middle=True), style="bold" if marks else "")
            row.append(" ")
            if not p.comparable:
                row.append(fit("≠ " + plain(p.differs.removeprefix("differs: ")), bar_width))
            elif p.value is None:
                row.append(fit(NONE, bar_width))
            else:
                row.append(fit(span_bar(p.value, low, high, bar_width), bar_width))
            row.append(f" {fit(number(p.value), 7, 'right')}")
            if ci_width:
                row.append(f" {fit(_interval(p), ci_width)}")
            if marks:
                row.append(" ◂ " + " & ".join(marks), style="bold")
            out.append_text(row)
            out.append("\n")
        out.append(
            f"bars from the lowest ({number(low)}) to the highest ({number(high)}), not from 0",
            style="dim",
        )
        confidence = _confidence(trend)
        if confidence is not None:
            out.append(f" · [ ] {level(confidence)} Wilson", style="dim")
        out.append("\n")
    for w in trend.warnings:
        out.append(f"⚠ {w.code}: ", style="bold")
        out.append(plain(w.message, limit=400))
        out.append("\n")
    out.rstrip()
    return out


class TrendView(Widget):
    """The trend of one metric; `show()` draws another."""

    DEFAULT_CSS = """
    TrendView {
        height: auto;
        width: 1fr;
    }
    """

    trend: reactive[MetricTrend | None] = reactive(None, layout=True)

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.reference: str | None = None
        self.current: str | None = None

    def show(
        self, trend: MetricTrend | None, *, reference: str | None, current: str | None
    ) -> None:
        self.reference, self.current = reference, current
        self.trend = trend
        self.refresh(layout=True)

    def render(self) -> Text:
        return trend_text(
            self.trend,
            reference=self.reference,
            current=self.current,
            width=self.content_size.width or 80,
        )
