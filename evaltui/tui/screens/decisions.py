"""Past decisions: the append-only log next to the store, newest first, and one in full.

`decision.read_log` reads `<store>.decisions.jsonl` in a worker and says for each decision
whether its file is still there with the bytes that were signed (`ok`, `missing`, `changed`);
the same worker counts each decision's signature files (its own and co-signatures beside it,
`decision.signatures`). The log is an index; the signed files are the record, so the detail shows
the command that checks them with plain OpenSSH. Every field comes from a file and is shown
through `safe()`. `C` co-signs the highlighted decision (the co-sign modal, cosign.py).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

from rich.table import Table
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import DataTable, Input, Static

from evaltui.actions.decisions import DecisionLog, decision_json_path, load_log
from evaltui.decision.cosign import CoSignature
from evaltui.decision.log import LoggedDecision, log_path_for_store
from evaltui.decision.sshsig import keygen_verify_command
from evaltui.plural import count
from evaltui.tui.screens.base import ReviewScreen
from evaltui.tui.text import NONE, clip, elide, plain, safe
from evaltui.tui.widgets.keys_footer import KeysFooter
from evaltui.tui.widgets.list_keys import movement_bindings
from evaltui.tui.widgets.pane import ScrollPane
from evaltui.tui.widgets.search import SearchBox, matches

STATE_WORDS = {
    "ok": "ok",
    "missing": "MISSING",
    "changed": "CHANGED",
}
STATE_HELP = {
    "ok": "the decision file is where it was written, byte for byte",
    "missing": "the decision file is no longer where it was written",
    "changed": "the decision file no longer holds the bytes that were signed",
}


def check_command(entry: dict[str, Any]) -> str:
    reviewer = str(entry.get("reviewer", "REVIEWER"))
    sig = str(entry.get("sig_path", "NAME.decision.json.sig"))
    doc = str(entry.get("json_path", "NAME.decision.json"))
    return keygen_verify_command(reviewer, sig, doc)


def detail(logged: LoggedDecision, signatures: int | None = None) -> Table:
    """One logged decision, label and value per row (long paths fold inside their column)."""
    entry = logged.entry
    grid = Table.grid(padding=(0, 1))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column(overflow="fold")

    def row(label: str, value: object, style: str = "") -> None:
        grid.add_row(label, safe(NONE if value is None else value, style, limit=2000))

    row("decision", entry.get("decision_id"))
    row("decided", f"{entry.get('decided_at')} by {entry.get('reviewer')}")
    row("run", f"{entry.get('source_run_id')} ({entry.get('experiment')})")
    row("artifact", f"{entry.get('artifact')} -> {entry.get('alias')}")
    row("status", f"{entry.get('status')} (review: {entry.get('review_status')})")
    row("rollback", entry.get("rollback_artifact"))
    if entry.get("override"):
        row("OVERRIDE", entry.get("override"), "bold")
    state = STATE_WORDS.get(logged.state, logged.state)
    row("file", f"{state}: {STATE_HELP.get(logged.state, '')}")
    row("json", entry.get("json_path"))
    row("signature", entry.get("sig_path"))
    if signatures is not None:
        row(
            "signatures",
            f"{count(signatures, 'file')}: the decider's and co-signatures "
            "(NAME.decision.json.REVIEWER.sig beside it); C co-signs",
        )
    row("signer", entry.get("signer"))
    row("sha256", entry.get("sha256"))
    row("check", check_command(entry))
    return grid


class LogTable(DataTable[Text], inherit_bindings=False):
    """The logged decisions, one row each; only the keys that move between rows."""

    HELP_NAME = "decisions list"
    BINDINGS: ClassVar[list[BindingType]] = [
        *movement_bindings("next decision", "previous decision", "newest", "oldest"),
    ]


BACK = "back to the runs (with a search open: clear it first)"
COSIGN = "co-sign the highlighted decision with your key (another reviewer's signature beside it)"
SEARCH = "search the decisions (run, status, reviewer, artifact, id): filters as you type"


def entry_matches(logged: LoggedDecision, query: str) -> bool:
    entry = logged.entry
    fields = ("decision_id", "source_run_id", "status", "reviewer", "artifact", "experiment")
    return matches(query, (*(entry.get(f) for f in fields), STATE_WORDS.get(logged.state)))


class DecisionsScreen(ReviewScreen):
    """Every decision logged on this store, newest first; the highlighted one in full below."""

    HELP_TITLE = "past decisions"
    HELP_TEXT = (
        "Decisions are append-only: each signed decision adds one line to the log next to the "
        "store (STORE.decisions.jsonl). The file column says whether the decision file is still "
        "where it was written with the bytes that were signed (ok), gone (MISSING) or altered "
        "(CHANGED). The sigs column counts the decision's signature files: its own and every "
        "co-signature beside it (C co-signs the highlighted decision; `evaltui verify --quorum K` "
        "counts the valid ones). A deployment trusts the signed files, not this list: check them "
        "with the ssh-keygen command shown."
    )
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "back", key_display="esc", tooltip=BACK, id="back"),
        Binding("r", "reload", "reload", tooltip="read the log again", id="reload"),
        Binding("slash", "search", "search", key_display="/", tooltip=SEARCH, id="search"),
        Binding(
            "y",
            "copy_run",
            "copy id",
            show=False,
            tooltip="copy the decided run's id",
            id="copy_id",
        ),
        Binding("C", "cosign", "co-sign", tooltip=COSIGN, id="cosign"),
    ]
    AUTO_FOCUS = "#decisions"

    def __init__(self) -> None:
        super().__init__()
        self.decision_log: DecisionLog | None = None
        self.shown: list[LoggedDecision] = []  # the entries in the table (the search's matches)

    def compose(self) -> ComposeResult:
        yield Static(Text("past decisions · reading the log…"), classes="title", id="log-title")
        yield SearchBox(placeholder="search decisions", id="log-search")
        yield LogTable(id="decisions", cursor_type="row", zebra_stripes=False)
        with ScrollPane(id="decision-detail"):
            yield Static(id="decision-text")
        yield KeysFooter()

    @property
    def log_path(self) -> Path:
        return log_path_for_store(self.review_app.store.path).absolute()

    def on_mount(self) -> None:
        self.action_reload()

    def action_reload(self) -> None:
        self.fetch(self.show_log, load_log, self.log_path, self.review_app.store.team, group="log")

    def show_log(self, log: DecisionLog) -> None:
        self.decision_log = log
        self.fill_table()
        for problem in log.problems:
            self.notify(plain(problem, limit=300), severity="warning", markup=False)

    def fill_table(self) -> None:
        log = self.decision_log
        if log is None:
            return
        query = self.query_one("#log-search", SearchBox).value
        self.shown = [e for e in log.entries if entry_matches(e, query)]
        total = f"{count(len(log.entries), 'decision')} logged"
        found: list[Text | str] = [f" · {total}"]
        if query:
            found = [" · search “", safe(query, limit=30), f"”: {len(self.shown)} of {total}"]
        self.query_one("#log-title", Static).update(
            Text.assemble(("past decisions", "bold"), *found, " · ", safe(log.path, limit=200))
        )
        table = self.query_one("#decisions", LogTable)
        index_in_log = {id(e): i for i, e in enumerate(log.entries)}
        table.clear(columns=True)
        for name, width in (
            ("decided (UTC)", 16),
            ("run", 15),
            ("status", 20),
            ("ovr", 3),
            ("file", 7),
            ("sigs", 4),
        ):
            table.add_column(Text(name, style="bold"), width=width, key=name)
        for index, logged in enumerate(self.shown):
            entry = logged.entry
            decided = str(entry.get("decided_at") or NONE).replace("T", " ")[:16]
            cells = [
                Text(plain(decided)),
                Text(elide(plain(entry.get("source_run_id") or NONE), 15)),
                Text(clip(plain(entry.get("status") or NONE), 20)),
                Text("yes" if entry.get("override") else "", style="bold"),
                Text(
                    STATE_WORDS.get(logged.state, plain(logged.state)),
                    style="" if logged.state == "ok" else "bold",
                ),
                Text(str(log.signatures[index_in_log[id(logged)]]) if log.signatures else NONE),
            ]
            table.add_row(*cells, key=str(index))
        text = self.query_one("#decision-text", Static)
        if not log.entries:
            text.update(
                Text.assemble(
                    "No decision logged on this store yet. ",
                    ("D", "bold"),
                    " on a run (runs or side-by-side screen) writes one.",
                )
            )
        elif not self.shown:
            text.update(Text("No decision matches the search (esc clears it)."))
        else:
            self.show_detail()

    @property
    def highlighted(self) -> LoggedDecision | None:
        if not self.shown:
            return None
        table = self.query_one("#decisions", LogTable)
        return self.shown[min(max(table.cursor_row, 0), len(self.shown) - 1)]

    @on(DataTable.RowHighlighted, "#decisions")
    def show_detail(self) -> None:
        logged = self.highlighted
        if logged is not None:
            count_ = (
                None if self.decision_log is None else self.decision_log.signature_count(logged)
            )
            self.query_one("#decision-text", Static).update(detail(logged, count_))

    def action_search(self) -> None:
        self.query_one("#log-search", SearchBox).open()

    @on(Input.Changed, "#log-search")
    def search_changed(self) -> None:
        self.fill_table()

    @on(SearchBox.Closed, "#log-search")
    def search_closed(self) -> None:
        self.query_one("#decisions", LogTable).focus()

    def action_back(self) -> None:
        box = self.query_one("#log-search", SearchBox)
        if box.value:
            box.action_clear()
        else:
            self.app.pop_screen()

    def action_copy_run(self) -> None:
        logged = self.highlighted
        run_id = None if logged is None else logged.entry.get("source_run_id")
        self.copy_id("run id", None if run_id is None else str(run_id))

    def action_cosign(self) -> None:
        from evaltui.tui.screens.cosign import CosignModal

        logged = self.highlighted
        path = None if logged is None else decision_json_path(logged)
        if logged is None or path is None:
            self.notify("no decision to co-sign", markup=False, timeout=3)
            return
        if logged.state != "ok":
            self.notify(
                "not co-signing: the decision file is "
                + STATE_WORDS.get(logged.state, plain(logged.state)),
                severity="warning",
                markup=False,
            )
            return
        self.app.push_screen(CosignModal(path), self.cosigned)

    def cosigned(self, written: CoSignature | None) -> None:
        if written is not None:
            self.notify(
                "co-signature written: " + plain(str(written.sig_path), limit=300),
                markup=False,
                timeout=6,
            )
            self.action_reload()

    def palette_commands(self) -> list[tuple[str, str, Callable[[], Any]]]:
        return [
            ("Co-sign the decision", "Add your signature beside it", self.action_cosign),
            ("Reload the decision log", "Read the log again", self.action_reload),
            ("Search the decisions", "Filter the list as you type", self.action_search),
        ]
