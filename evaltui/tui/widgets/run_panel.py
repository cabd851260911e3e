"""What the runs screen says about the highlighted run, below the table: why it may not be
ranked (each differing field, both values), what its evidence flags say, its guardrails, metrics
(recomputed, and the logged value where it differs), its paired statistics against the baseline
(counts, the difference with its interval, McNemar and Holm-adjusted p, the verdict and the
warnings) and, when other runs repeat its artifact, their spread."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import Static

from evaltui.plural import count
from evaltui.review.report import Review, RunReview
from evaltui.tui.pair_actions import paired_figures
from evaltui.tui.stats_text import PENDING, WARNING_MARK, compact, spread, verdict_style
from evaltui.tui.text import NONE, number, safe
from evaltui.tui.widgets.pane import ScrollPane

HEADING = "bold"
WARN = "bold"


def run_summary(review: Review, r: RunReview) -> Text:
    """The highlighted run's story, one fact per line, every untrusted value sanitized."""
    base = review.baseline
    out = Text()

    def line(*parts: Text | str | tuple[str, str]) -> None:
        out.append_text(Text.assemble(*parts))
        out.append("\n")

    cases = f"{r.coverage.covered:,}/{count(r.coverage.total, 'case')}"
    line(
        safe(r.run_id, "bold"),
        "  ",
        safe(r.run.artifact),
        "  ",
        safe(r.run.started_at.strftime("%Y-%m-%d %H:%M")),
        "  ",
        cases,
    )
    if r.is_baseline:
        line(
            ("BASELINE", HEADING),
            " every other run is audited against this one (",
            ("b", "bold"),
            " pins another)",
        )
    elif r.comparable:
        line(
            ("comparable", HEADING),
            " with baseline ",
            safe(base.run_id),
            ": every contract field is equal",
        )
    else:
        line(("NOT COMPARABLE", WARN), " with baseline ", safe(base.run_id), " (never ranked):")
        for d in r.differences:
            line("  ", safe(d.describe(), limit=300))
    if r.evidence:
        line(("EVIDENCE FLAGS", WARN), " (claims its results do not support):")
        for flag in r.evidence:
            line("  ⚑ ", safe(flag.message, limit=300))
    figures = paired_figures(r)
    verdict: list[Text | str | tuple[str, str]] = []
    if figures is not None:
        verdict = ["  · vs baseline: ", (figures.verdict, verdict_style(figures.verdict))]
    state: list[Text | str | tuple[str, str]] = []
    if r.state != r.status:  # INCOMPARABLE / INCOMPLETE first, the guardrail status grayed
        state = [safe(r.state, "bold"), " "]
    status_style = "dim" if state else ("bold" if not r.eligible else "")
    line(("status ", HEADING), *state, safe(r.status, status_style), *verdict)
    if r.run.incomplete is not None:
        line(("  did not finish: ", "bold"), safe(r.run.incomplete, limit=300))
    for outcome in r.verdict.outcomes:
        mark = "✓" if outcome.passed else "✗"
        line(f"  {mark} ", safe(outcome.predicate), f"  (observed {number(outcome.observed)})")
    metric_parts: list[Text | str] = []
    for spec in review.suites[r.run.suite_id].metrics:
        value = r.metrics_recomputed.get(spec.name)
        logged = r.run.metrics.get(spec.name)
        text = Text.assemble(safe(spec.name), " ", number(value))
        if r.logged_differs(spec.name):
            text.append(f" (logged {number(logged)})", style="bold")
        metric_parts.append(text)
    if metric_parts:
        out.append("metrics ", style=HEADING)
        out.append_text(Text(" · ").join(metric_parts))  # type: ignore[arg-type]
        out.append("\n")
    if not r.is_baseline and r.paired is not None:
        p = r.paired
        line(
            ("paired ", HEADING),
            f"on {p.n:,} shared cases: fixed {p.fixed:,} · broken {p.broken:,}",
            f" · both wrong {p.both_wrong:,}",
        )
        if figures is not None:
            line("  ", compact(figures, review.settings.confidence, count_warnings=False))
            if figures.pending:
                line(
                    "  ", (f"{PENDING} computing the interval, the verdict and the warnings", "dim")
                )
            if figures.holm_p is not None and figures.family_size > 1:
                line("  ", (review.adjustment_note, "dim"))
            for warning in figures.warnings:
                line(f"  {WARNING_MARK} ", safe(warning.message, limit=400))
    elif not r.is_baseline:
        line(("paired ", HEADING), f"{NONE} (another suite: no shared cases)")
    for group in review.repeats:
        if r.run_id in group.run_ids:
            others = [x for x in group.run_ids if x != r.run_id]
            line(
                ("repeats ", HEADING),
                f"{count(len(group.run_ids), 'comparable run')} of this artifact (with ",
                safe(", ".join(others), limit=200),
                ")",
            )
            if group.delta is not None:
                line("  Δ exact over repeats: ", spread(group.delta, sign=True))
            for warning in group.warnings:
                line(f"  {WARNING_MARK} ", safe(warning.message, limit=400))
    if r.run.tags:
        tags = " · ".join(f"{k}={v}" for k, v in r.run.tags.items())
        line(("tags ", HEADING), safe(tags, limit=300))
    out.rstrip()
    return out


class RunPanel(ScrollPane):
    """The highlighted run's summary; focus it (tab) to scroll when it is longer than its room."""

    HELP_NAME = "run summary"

    def compose(self) -> ComposeResult:
        yield Static(id="run-summary")

    def show(self, review: Review, r: RunReview) -> None:
        self.query_one("#run-summary", Static).update(run_summary(review, r))
        self.scroll_home(animate=False)

    def show_text(self, text: str) -> None:
        self.query_one("#run-summary", Static).update(Text(text))
