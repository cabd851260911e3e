"""Draft, check and sign a decision: the one sequence the CLI's `decide` and the app's decide
form share.

The steps, in the order a reviewer meets them:

* `draft_decision` (the CLI: a fresh review of the run's experiment from the store) or
  `load_decide` (the app: the draft from its pinned review, with the signing keys and the run's
  past decisions);
* `check(draft, choices)`: every choice against the draft, before any key is loaded or a
  passphrase asked for;
* `actions.signing.chosen_signer`: the signer of the key chosen (the CLI asks for a passphrase
  on a terminal between these steps, the form shows its field);
* `sign(draft, choices, signer, out_dir, ...)`: the reviewer (typed, else the key's comment),
  the record, the signature, the two files and the log line.

Each problem is an EvaltuiError whose `field` is the form field it concerns (`status`, `alias`,
`rollback_artifact`, `limitation`, `monitored_invariants`, `override`, `choice`, `reviewer`,
`key`, `key_file`, `passphrase`, `out`), or none: the CLI prints its lines and exits with its
code, the form's worker (`sign_decision`) turns it into a `SignOutcome` under that field.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import duckdb

from evaltui.actions.review import REVIEW_SETTINGS
from evaltui.actions.signing import FieldProblem, chosen_signer, reviewer_for
from evaltui.actions.verdicts import load_verdicts
from evaltui.decision.draft import CHOICE_KIND, DecisionDraft, Refusal, draft_for, prepare
from evaltui.decision.files import DecisionExists
from evaltui.decision.keys import KeyChoice, Signer, available_keys
from evaltui.decision.log import LoggedDecision, read_log
from evaltui.decision.record import (
    DecisionChoices,
    DecisionRefused,
    InvalidChoice,
    UnknownRollback,
    build_record,
    check_choices,
)
from evaltui.decision.sshsig import keygen_verify_command
from evaltui.decision.verdicts import pair_effect
from evaltui.decision.writer import WrittenDecision, sign_and_write
from evaltui.errors import EvaltuiError, InputErrors
from evaltui.review.report import Review
from evaltui.store.connection import TeamOrigin

INVARIANT_SEPARATOR = ";"  # between invariants typed on one line (the form's field)


@dataclass(frozen=True, slots=True)
class DecideData:
    """What the decide form is built from (worker side)."""

    draft: DecisionDraft
    keys: tuple[KeyChoice, ...]
    verdict: str | None  # the run's paired verdict against the baseline
    past: tuple[LoggedDecision, ...]  # earlier decisions on this run, from the log


@dataclass(frozen=True, slots=True)
class SignedDecision:
    """The two files written (and the log line) and the record they hold."""

    written: WrittenDecision
    doc: Mapping[str, Any]


def draft_decision(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    baseline: str | None = None,
    *,
    ledger_dir: Path | None = None,
) -> DecisionDraft:
    """The draft for `run_id`: its experiment reviewed against `baseline` (default: the
    experiment's earliest run) with the app's settings, as the CLI's `decide` sees it, with the
    pair's verdicts.

    Given `ledger_dir`, every reviewer's ledger is read first; a damaged one refuses the draft
    (`path:line: reason`), since the decision would silently lack what follows the damage.
    """
    if ledger_dir is not None:
        status = load_verdicts(con, ledger_dir)
        if status.problems:
            raise InputErrors(status.problems)
    return prepare(con, run_id, baseline, REVIEW_SETTINGS)


def load_decide(
    con: duckdb.DuckDBPyConnection, review: Review, run_id: str, log_path: Path
) -> DecideData:
    """The draft from the pinned review (the store is read-only while the app is open, so it is
    what a new review would say) with the pair's verdicts as loaded on `con` (`load_verdicts`
    at start, then each recorded one), the signing keys and the run's past decisions (worker
    side)."""
    if review.settings == REVIEW_SETTINGS:
        draft = draft_for(review, run_id, pair_effect(con, review, run_id))
    else:  # the evidence is always computed as `evaltui decide` computes it
        draft = prepare(con, run_id, review.baseline.run_id, REVIEW_SETTINGS)
    paired = draft.run.paired
    verdict = paired.verdict if paired is not None and paired.n else None
    try:
        entries, _problems = read_log(log_path)
    except EvaltuiError:
        entries = []
    past = tuple(e for e in entries if e.entry.get("source_run_id") == run_id)
    return DecideData(draft, tuple(available_keys()), verdict, past)


def check(draft: DecisionDraft, choices: DecisionChoices) -> None:
    """Refuse bad choices before a key is loaded or a passphrase asked for.

    Raises InvalidChoice (its field), UnknownRollback (`rollback_artifact`: the name needs the
    "outside the store" confirmation) or DecisionRefused, whose field is `choice` when only an
    explicit choice among several eligible runs is missing, else `override`.
    """
    try:
        check_choices(draft, choices)
    except DecisionRefused as exc:
        exc.field = "choice" if any(r.kind == CHOICE_KIND for r in exc.refusals) else "override"
        raise


def sign(
    draft: DecisionDraft,
    choices: DecisionChoices,
    signer: Signer,
    out_dir: Path,
    *,
    name: str | None = None,
    log_path: Path | None = None,
    team: TeamOrigin | None = None,
) -> SignedDecision:
    """Check the choices, settle the reviewer, build the record, sign it and write its two files
    under `out_dir` (never over a file), logging it at `log_path`; on a team store's cache
    (`team`), the record names the snapshot and the team's shared log gets it instead."""
    check(draft, choices)
    reviewer = reviewer_for(choices.reviewer, signer)
    record = build_record(
        draft,
        replace(choices, reviewer=reviewer),
        team_store=None if team is None else {"uri": team.uri, "snapshots": team.snapshots},
    )
    try:
        written = sign_and_write(
            record, signer, out_dir, name=name, log_path=None if team else log_path
        )
    except DecisionExists as exc:
        exc.field = "out"
        raise
    except EvaltuiError as exc:
        path = getattr(exc, "path", None)
        if path is not None and Path(path) == Path(out_dir).expanduser():
            exc.field = "out"
        raise
    if team is not None:  # the team's shared log, for every reviewer's `decisions`
        from evaltui.actions.team import log_decision

        try:
            log_decision(team.target or team.uri, record, written)
        except EvaltuiError as exc:
            warning = f"decision written, but not logged in the team store: {exc}"
            written = replace(written, warnings=(*written.warnings, warning))
    return SignedDecision(written, record.doc)


def verify_command(written: WrittenDecision) -> str:
    """The plain-OpenSSH check of the written files."""
    return keygen_verify_command(written.reviewer, written.sig_path, written.json_path)


def parse_invariants(text: str) -> tuple[str, ...]:
    """Invariants typed on one line, separated by INVARIANT_SEPARATOR."""
    return tuple(part.strip() for part in text.split(INVARIANT_SEPARATOR) if part.strip())


# -- the form's worker ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SignRequest:
    draft: DecisionDraft
    choices: DecisionChoices
    key: KeyChoice | None  # None: the key file `key_path`
    key_path: Path | None
    passphrase: str | None
    out_dir: Path
    log_path: Path
    team: TeamOrigin | None = None  # a team store's cache: record its snapshot, log it there


@dataclass(frozen=True, slots=True)
class SignOutcome:
    """A written decision, or the problem and the form field it belongs to (None: the form)."""

    written: WrittenDecision | None = None
    doc: Mapping[str, Any] | None = None
    field: str | None = None
    message: str = ""
    refusals: tuple[Refusal, ...] = ()
    unknown_rollback: bool = False  # the rollback target needs the "outside the store" tick


def sign_decision(con: duckdb.DuckDBPyConnection, request: SignRequest) -> SignOutcome:
    """`check`, `chosen_signer` and `sign` for the form, each problem under its field (worker
    side; `con` is not needed)."""
    del con
    draft, choices = request.draft, request.choices
    try:
        check(draft, choices)  # refuse before asking for a passphrase
        signer = chosen_signer(request.key, request.key_path, request.passphrase)
        signed = sign(
            draft,
            choices,
            signer,
            request.out_dir,
            log_path=request.log_path,
            team=request.team,
        )
    except UnknownRollback as exc:
        return SignOutcome(
            field=exc.field,
            message=f"{exc.name!r} is not the artifact of any run in this experiment: check the "
            "name, or tick the box below if it really is outside the store",
            unknown_rollback=True,
        )
    except InvalidChoice as exc:
        return SignOutcome(field=exc.field, message=exc.message.removeprefix(f"{exc.field}: "))
    except DecisionRefused as exc:
        if exc.field == "choice":
            return SignOutcome(
                field="choice",
                message="tick the box (space) to choose this run explicitly; the other eligible "
                "runs are recorded as considered",
                refusals=exc.refusals,
            )
        return SignOutcome(field="override", message=exc.hint, refusals=exc.refusals)
    except FieldProblem as problem:
        return SignOutcome(field=problem.field, message=problem.message)
    except DecisionExists as exc:
        return SignOutcome(field="out", message=str(exc))
    except EvaltuiError as exc:
        field = "out" if exc.field == "out" else None
        return SignOutcome(field=field, message=" / ".join(exc.lines()))
    return SignOutcome(written=signed.written, doc=signed.doc)
