"""The runs screen: an experiment's runs audited against a pinned baseline.

Opening, switching experiment and pinning another baseline all re-run the whole review (contract
audit, recomputed metrics, guardrails, evidence, paired counts) in a worker; the table keeps the
cursor on the run it was on. The paired bootstraps (one per candidate, most of the cost with
hundreds of runs) follow in a second worker: the panel shows … until they are in, and a pair
action asked for meanwhile waits for them.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import DataTable, Input, Static

from evaltui.actions.review import (
    REVIEW_SETTINGS,
    ExperimentReview,
    finish_review,
    open_experiment,
)
from evaltui.decision.log import log_path_for_store
from evaltui.plural import count
from evaltui.review.report import Review
from evaltui.tui.pair_actions import (
    PAIR_ACTIONS,
    PairContext,
    failure_bindings,
    open_at_failure,
    pair_action,
    pair_bindings,
)
from evaltui.tui.screens.base import ReviewScreen
from evaltui.tui.screens.choice import Choice, ChoiceModal
from evaltui.tui.text import safe
from evaltui.tui.widgets.keys_footer import KeysFooter
from evaltui.tui.widgets.run_panel import RunPanel
from evaltui.tui.widgets.runs_table import RunsTable
from evaltui.tui.widgets.search import SearchBox

# The app reviews with the same margin the canary's sequential test defaults to: every pair
# header then says whether the candidate is shown not worse by more than 2 points (and a decision
# signed here records the same evidence as `evaltui decide`).
APP_SETTINGS = REVIEW_SETTINGS


class RunsScreen(ReviewScreen):
    """Runs of one experiment, baseline pinned on top; `enter` opens the side-by-side panes."""

    HELP_TITLE = "runs"
    HELP_TEXT = (
        "The baseline (B) is pinned on top; comparable runs are ranked (eligible first, then by "
        "their paired exact-route delta); runs whose comparison contract differs are grayed, "
        "never ranked, and say which fields differ (* = recomputed from the results). ⚑ counts "
        "evidence flags: claims the per-case results do not support."
    )

    BINDINGS: ClassVar[list[BindingType]] = [
        *pair_bindings(),
        *failure_bindings(show=False),
        Binding(
            "b",
            "pin_baseline",
            "baseline",
            tooltip="pin the highlighted run as the baseline: re-audit all",
            id="baseline",
        ),
        Binding(
            "e",
            "choose_experiment",
            "experiment",
            tooltip="review another experiment (ctrl+p lists them too)",
            id="experiment",
        ),
        Binding(
            "L",
            "app.decisions",
            "decisions",
            tooltip="past decisions: the append-only log of signed decisions on this store",
            id="decisions",
        ),
        Binding(
            "slash",
            "search",
            "search",
            key_display="/",
            show=False,
            tooltip="search the runs (id, artifact, status, contract): filters as you type",
            id="search",
        ),
        Binding(
            "escape",
            "clear_search",
            "clear search",
            key_display="esc",
            show=False,
            tooltip="clear the search: every run again",
            id="clear_search",
        ),
        Binding(
            "y",
            "copy_run",
            "copy id",
            show=False,
            tooltip="copy the highlighted run's id",
            id="copy_id",
        ),
        Binding(
            "r",
            "reload",
            "reload",
            show=False,
            tooltip="read the store again and re-audit",
            id="reload",
        ),
    ]
    AUTO_FOCUS = "#runs"

    def __init__(self, *, experiment: str | None = None, baseline: str | None = None) -> None:
        super().__init__()
        self.experiment = experiment
        self.baseline = baseline
        self.review: Review | None = None
        self.experiment_list: list[tuple[str, int]] = []
        # a pair action asked for while the review's statistics were pending: run when complete
        self._after_statistics: Callable[[], None] | None = None

    def compose(self) -> ComposeResult:
        yield Static(Text("evaltui · opening the store…"), id="title", classes="title")
        yield SearchBox(placeholder="search runs", id="runs-search")
        yield RunsTable(id="runs")
        yield RunPanel(id="panel")
        yield KeysFooter()

    def on_mount(self) -> None:
        self.reload()

    # -- data ---------------------------------------------------------------------------------

    def reload(self, keep: str | None = None) -> None:
        self.loading_note("auditing runs…")
        self.set_loading(True)
        self._after_statistics = None
        self.fetch(
            lambda data: self.show_runs(data, keep),
            # the runs first; the bootstraps follow in another worker (`statistics_done`)
            partial(open_experiment, defer_bootstrap=True),
            self.experiment,
            self.baseline,
            log_path_for_store(self.review_app.store.path),
            APP_SETTINGS,
            group="review",
        )

    def set_loading(self, loading: bool) -> None:
        """Textual's loading indicator over the list and the panel while the review is built."""
        self.query_one(RunsTable).loading = loading
        self.query_one(RunPanel).loading = loading

    def loading_note(self, note: str) -> None:
        title = self.query_one("#title", Static)
        title.update(Text.assemble(self.title_text(), ("  " + note, "italic")))

    def show_runs(self, data: ExperimentReview, keep: str | None) -> None:
        self.set_loading(False)
        self.experiment_list = data.experiments
        self.review = data.review
        table = self.query_one(RunsTable)
        if data.review is None:
            self.query_one("#title", Static).update(Text("evaltui · the store has no runs yet"))
            self.query_one(RunPanel).show_text(
                "Load runs with `evaltui load PATH` (or open them directly: `evaltui PATH`)."
            )
            return
        self.experiment = data.review.baseline.run.experiment
        self.baseline = data.review.baseline.run_id
        self.query_one("#title", Static).update(self.title_text())
        table.show_review(data.review, keep=keep, query=self.query_text)
        self.show_panel()
        if not isinstance(self.focused, SearchBox):  # the loading indicator took the focus
            table.focus()
        self.refresh_bindings()  # the footer shows the table's keys again
        if data.review.pending:
            quick = data.review
            self.fetch(
                lambda full: self.statistics_done(quick, full),
                finish_review,
                quick,
                group="review-statistics",
            )

    def statistics_done(self, quick: Review, full: Review) -> None:
        """The pending review's bootstraps are in: the same runs, every figure now final."""
        if self.review is not quick:  # reloaded meanwhile: a newer review is on its way
            return
        self.review = full
        self.query_one(RunsTable).use_review(full)
        self.query_one("#title", Static).update(self.title_text())
        self.show_panel()
        then, self._after_statistics = self._after_statistics, None
        if then is not None and self.is_current:
            then()

    def title_text(self) -> Text:
        if self.review is None:
            return Text("evaltui")
        base = self.review.baseline
        total = 1 + len(self.review.runs)
        incomparable = sum(1 for r in self.review.runs if not r.comparable)
        found: list[Text | str] = []
        if self.query_text:
            shown = len(self.query_one(RunsTable).order)
            found = [" · search “", safe(self.query_text, limit=30), f"”: {shown} of {total}"]
        return Text.assemble(
            safe(base.run.experiment, "bold", limit=60),
            " · baseline ",
            safe(base.run_id, "bold", limit=60),
            *found,
            f" · {count(total, 'run')}",
            f", {incomparable} not comparable" if incomparable else "",
            " · suite ",
            safe(self.review.suite.suite_id, limit=60),
        )

    def fetch_failed(self, error: BaseException | None) -> None:
        self.set_loading(False)
        self.query_one("#title", Static).update(self.title_text())

    # -- search ---------------------------------------------------------------------------------

    @property
    def query_text(self) -> str:
        return self.query_one("#runs-search", SearchBox).value

    def action_search(self) -> None:
        self.query_one("#runs-search", SearchBox).open()

    @on(Input.Changed, "#runs-search")
    def search_changed(self) -> None:
        if self.review is None:
            return
        table = self.query_one(RunsTable)
        keep = table.highlighted.run_id if table.highlighted else None
        table.show_review(self.review, keep=keep, query=self.query_text)
        self.query_one("#title", Static).update(self.title_text())
        self.show_panel()

    @on(SearchBox.Closed, "#runs-search")
    def search_closed(self) -> None:
        self.query_one(RunsTable).focus()

    def action_clear_search(self) -> None:
        box = self.query_one("#runs-search", SearchBox)
        if box.value:
            box.action_clear()

    def action_copy_run(self) -> None:
        highlighted = self.query_one(RunsTable).highlighted
        self.copy_id("run id", highlighted.run_id if highlighted else None)

    # -- events and actions ----------------------------------------------------------------------

    @on(DataTable.RowHighlighted, "#runs")
    def show_panel(self) -> None:
        highlighted = self.query_one(RunsTable).highlighted
        if self.review is not None and highlighted is not None:
            self.query_one(RunPanel).show(self.review, highlighted)
        elif self.review is not None:
            self.query_one(RunPanel).show_text("No run matches the search (esc clears it).")

    @on(DataTable.RowSelected, "#runs")
    def open_side_by_side(self) -> None:
        self.action_pair("compare")

    def on_resize(self) -> None:
        if self.review is not None:
            table = self.query_one(RunsTable)
            keep = table.highlighted.run_id if table.highlighted else None
            table.show_review(self.review, keep=keep, query=self.query_text)

    def pair_context(self) -> PairContext | None:
        highlighted = self.query_one(RunsTable).highlighted
        if self.review is None or highlighted is None:
            return None
        return PairContext(self.review, highlighted)

    def statistics_pending(self, then: Callable[[], None]) -> bool:
        """While the bootstraps are computed, hold a pair action until they are in (a pair
        screen shows the verdict and the interval); True when `then` was held."""
        if self.review is None or not self.review.pending:
            return False
        self._after_statistics = then
        self.loading_note("computing intervals…")
        return True

    def action_pair(self, name: str) -> None:
        if self.statistics_pending(lambda: self.action_pair(name)):
            return
        context = self.pair_context()
        if context is not None:
            self.app.push_screen(pair_action(name).open(context))

    def action_failures(self, step: int) -> None:
        if self.statistics_pending(lambda: self.action_failures(step)):
            return
        context = self.pair_context()
        if context is not None:
            self.app.push_screen(open_at_failure(context, step))

    def action_pin_baseline(self) -> None:
        highlighted = self.query_one(RunsTable).highlighted
        if highlighted is None or highlighted.is_baseline:
            return
        self.baseline = highlighted.run_id
        self.notify(
            f"baseline: {safe(highlighted.run_id).plain}; re-auditing every run", markup=False
        )
        self.reload(keep=highlighted.run_id)

    def action_reload(self) -> None:
        highlighted = self.query_one(RunsTable).highlighted
        self.reload(keep=highlighted.run_id if highlighted else None)
        team = self.review_app.store.team
        if team is not None:  # a team store's cache: has anyone published since?
            from evaltui.actions.team import newer_snapshot

            self.fetch(self.tell_newer, newer_snapshot, team, group="team-snapshot")

    def tell_newer(self, newer: bool) -> None:
        team = self.review_app.store.team
        if newer and team is not None:
            self.notify(
                f"{team.uri} has a newer snapshot; this app keeps reviewing the one it opened. "
                "Quit (q) and open the store again to review the new runs.",
                title="team store",
                markup=False,
                timeout=10,
            )
        elif team is not None:
            self.notify("the team store has no newer snapshot", markup=False)

    def action_choose_experiment(self) -> None:
        if not self.experiment_list:
            return
        choices = [
            Choice(name, Text.assemble(safe(name), f"  ({count(runs, 'run')})"))
            for name, runs in self.experiment_list
        ]
        self.app.push_screen(
            ChoiceModal("experiment", choices, current=self.experiment), self.switch_experiment
        )

    def switch_experiment(self, name: str | None) -> None:
        if name is None or name == self.experiment:
            return
        self.experiment, self.baseline = name, None
        self.reload()

    def select_run(self, run_id: str) -> None:
        table = self.query_one(RunsTable)
        for index, r in enumerate(table.order):
            if r.run_id == run_id:
                table.move_cursor(row=index)

    def palette_commands(self) -> list[tuple[str, str, Callable[[], Any]]]:
        commands: list[tuple[str, str, Callable[[], Any]]] = []
        for action in PAIR_ACTIONS:
            commands.append(
                (
                    f"Open {action.description}",
                    f"{action.description} of the highlighted run",
                    partial(self.action_pair, action.name),
                )
            )
        commands.append(
            (
                "Pin baseline",
                "Audit every run against the highlighted run",
                self.action_pin_baseline,
            )
        )
        for name, runs in self.experiment_list:
            commands.append(
                (
                    f"Experiment: {safe(name).plain}",
                    count(runs, "run"),
                    partial(self.switch_experiment, name),
                )
            )
        if self.review is not None:
            for r in (self.review.baseline, *self.review.runs):
                commands.append(
                    (
                        f"Run: {safe(r.run_id).plain}",
                        safe(r.state_label).plain,  # INCOMPARABLE first, never "eligible"
                        partial(self.select_run, r.run_id),
                    )
                )
        return commands
