"""`evaltui decide`, `cosign`, `verify`, `canary-check` and `decisions`: signed decision files.

The decision layer (and `cryptography` with it) is imported inside the commands, so the other
commands start without it.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich.text import Text

from evaltui.cli.options import (
    STORE,
    current_wait,
    from_settings,
    json_option,
    open_store,
    say_waiting,
    store_option,
    wait_option,
)
from evaltui.cli.render import ERROR_LINE_LIMIT, console, emit_json, safe, table
from evaltui.errors import CheckFailed, InputError
from evaltui.plural import count as counted
from evaltui.sanitize import visible
from evaltui.settings import (
    ALLOWED_SIGNERS_ENV,
    PASSPHRASE_ENV,
    REVIEWER_ENV,
    SIGNING_KEY_ENV,
    STORE_ENV,
    key_passphrase,
)
from evaltui.store.connection import Store, resolve_store_path

if TYPE_CHECKING:
    from evaltui.decision.keys import Signer
    from evaltui.decision.verify import Verification


# The signer's options, shared by `decide` and `cosign` (defaults from the settings: flags win).
key_option = click.option(
    "--key",
    type=click.Path(dir_okay=False, path_type=Path),
    default=from_settings("signing_key"),
    help="SSH private key (or a .pub of a key in ssh-agent). Default: the agent's only key, "
    f"else ~/.ssh/id_*. Env {SIGNING_KEY_ENV}, config `signing_key`.",
)
reviewer_option = click.option(
    "--reviewer",
    default=from_settings("reviewer"),
    help="Your principal in allowed_signers (default: the key's comment; "
    f"env {REVIEWER_ENV}, config `reviewer`).",
)
passphrase_file_option = click.option(
    "--passphrase-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help=f"Read the key's passphrase from this file (or env {PASSPHRASE_ENV}; "
    "asked for on a terminal).",
)
no_agent_option = click.option(
    "--no-agent", is_flag=True, help="Do not sign through ssh-agent even if SSH_AUTH_SOCK is set."
)


@click.command("decide")
@click.argument("run")
@click.option(
    "--rollback",
    "rollback",
    required=True,
    help="Artifact to roll back to (required): one of the experiment's run artifacts, or any "
    "name with --rollback-external.",
)
@click.option(
    "--rollback-external",
    is_flag=True,
    help="Confirm that the --rollback name is outside the store (e.g. the version in "
    "production); without it an unknown name is refused, so a typo is never signed.",
)
@click.option("--limitation", required=True, help="What the evidence does not support (required).")
@click.option("--baseline", help="Baseline run (default: the experiment's earliest run).")
@click.option(
    "--alias", default="canary_candidate", show_default=True, help="Alias the artifact gets."
)
@click.option(
    "--status", default="APPROVED_FOR_CANARY", show_default=True, help="The decision's status."
)
@click.option(
    "--invariant",
    "invariants",
    multiple=True,
    help="Monitored invariant `metric OP number` (repeatable; default: the suite's guardrails).",
)
@click.option(
    "--override",
    help="Decide on an incomparable, gate-failing or flagged run; the reason is recorded.",
)
@key_option
@reviewer_option
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    help="Folder for the files (default: here).",
)
@click.option("--name", help="File name stem (default: the decision id).")
@passphrase_file_option
@no_agent_option
@store_option
@json_option
def decide_command(
    run: str,
    rollback: str,
    rollback_external: bool,
    limitation: str,
    baseline: str | None,
    alias: str,
    status: str,
    invariants: tuple[str, ...],
    override: str | None,
    key: Path | None,
    reviewer: str | None,
    out: Path,
    name: str | None,
    passphrase_file: Path | None,
    no_agent: bool,
    store_path: Path | None,
    as_json: bool,
) -> None:
    """Sign a decision on RUN: NAME.decision.json and NAME.decision.json.sig, never overwritten.

    Refuses a run that is incomparable with the baseline, fails a guardrail or has evidence flags,
    unless --override REASON is given. Naming RUN is the explicit choice when several are eligible.
    """
    from evaltui.actions.decide import check, draft_decision, sign, verify_command
    from evaltui.decision.log import log_path_for_store
    from evaltui.decision.record import DecisionChoices, DecisionRefused

    choices = DecisionChoices(
        rollback_artifact=rollback,
        rollback_external=rollback_external,
        limitation=limitation,
        reviewer=reviewer or "",
        alias=alias,
        status=status,
        monitored_invariants=invariants or None,
        override=override,
        chosen_explicitly=True,
    )
    from evaltui.actions.verdicts import ledger_dir_for

    with open_store(store_path, read_only=True) as store:
        draft = draft_decision(store.con, run, baseline, ledger_dir=ledger_dir_for(store.path))
        resolved_store = store.path
        team = store.team  # a team store's cache: the decision records its snapshot
    try:  # refuse before asking for a passphrase
        check(draft, choices)
    except DecisionRefused as exc:  # naming RUN is an explicit choice: only an override answers
        raise DecisionRefused(
            exc.refusals,
            "pass --override REASON to decide anyway (the reason is recorded in the file)",
        ) from None
    signer = _load_signer(key, passphrase_file, use_agent=not no_agent)
    with _reviewer_option_named():
        signed = sign(
            draft,
            choices,
            signer,
            out,
            name=name,
            log_path=log_path_for_store(resolved_store),
            team=team,
        )
    written = signed.written
    for warning in written.warnings:
        click.echo(f"evaltui: warning: {visible(warning, limit=ERROR_LINE_LIMIT)}", err=True)
    if as_json:
        emit_json(written.to_json())
        return
    doc = signed.doc
    show = console()
    show.print(Text.assemble("wrote ", safe(written.json_path)))
    show.print(Text.assemble("wrote ", safe(written.sig_path)))
    show.print(
        Text.assemble(
            "  ",
            safe(doc["source_run_id"]),
            " (",
            safe(doc["artifact"]),
            ") -> ",
            safe(doc["alias"]),
            ", ",
            safe(doc["status"]),
            "; rollback ",
            safe(doc["rollback_artifact"]),
            "" if doc["override"] is None else "; OVERRIDE recorded",
        )
    )
    effect = draft.verdicts
    if effect is not None and effect.applied:
        show.print(
            safe(
                f"  verdicts: {counted(len(effect.waivers), 'waiver')}, "
                f"{counted(len(effect.relabels), 'relabel')}; "
                f"{effect.raw.status} before them, {effect.status} after"
            )
        )
    if draft.other_eligible:
        show.print(
            safe(f"  also eligible, recorded as considered: {', '.join(draft.other_eligible)}")
        )
    show.print(
        safe(
            f"  signed as {written.reviewer} with {signer.public_key.describe()} "
            f"({written.signer_source})"
        )
    )
    show.print(safe(f"  check: {verify_command(written)}", limit=1000))


def _load_signer(key: Path | None, passphrase_file: Path | None, *, use_agent: bool) -> Signer:
    """The signer of --key (default: the agent's only key, else ~/.ssh/id_*), its passphrase
    from --passphrase-file, the environment or, on a terminal, a prompt."""
    from evaltui.actions.signing import PassphraseNeeded, chosen_signer

    passphrase: str | None = None
    if passphrase_file is not None:
        try:
            passphrase = passphrase_file.read_text(encoding="utf-8").splitlines()[0]
        except (OSError, UnicodeDecodeError, IndexError):
            raise InputError(
                passphrase_file, "cannot read a passphrase from this file (first line)"
            ) from None
    else:
        passphrase = key_passphrase()
    try:
        return chosen_signer(None, key, passphrase, use_agent=use_agent)
    except PassphraseNeeded as need:
        if not (sys.stdin.isatty() and sys.stderr.isatty()):
            raise InputError(
                need.path,
                "this key is protected by a passphrase: pass --passphrase-file FILE, set "
                f"{PASSPHRASE_ENV}, add the key to ssh-agent (ssh-add), or run in a terminal "
                "to be asked",
            ) from None
        asked = click.prompt(
            f"passphrase for {need.path}", hide_input=True, err=True, default="", show_default=False
        )
        return chosen_signer(None, need.path, asked, use_agent=use_agent)


@contextmanager
def _reviewer_option_named() -> Iterator[None]:
    """A missing reviewer, in the words of the command line (its option and variable)."""
    from evaltui.actions.signing import FieldProblem

    try:
        yield
    except FieldProblem as problem:
        if problem.field != "reviewer":
            raise
        raise InputError(
            None,
            "--reviewer is required: name the principal your key is listed under in "
            f"allowed_signers (or set {REVIEWER_ENV}); the key has no one-word comment to use "
            "instead",
            field="reviewer",
        ) from None


QUORUM_HELP = (
    "Require K valid signatures by distinct reviewers (the decision's own and co-signatures "
    "beside it); the run's author never counts. A decision with waivers needs at least 2."
)


@click.command("cosign")
@click.argument("decision", type=click.Path(dir_okay=False, path_type=Path))
@key_option
@reviewer_option
@click.option(
    "--allowed-signers",
    type=click.Path(dir_okay=False, path_type=Path),
    default=from_settings("allowed_signers"),
    help="Refuse unless the decision's own signature verifies against this file, and your key "
    f"is listed for you in it (env {ALLOWED_SIGNERS_ENV}, config `allowed_signers`).",
)
@click.option(
    "--revoked",
    type=click.Path(dir_okay=False, path_type=Path),
    help="With --allowed-signers: refuse a decision signed by a key revoked here.",
)
@passphrase_file_option
@no_agent_option
@json_option
def cosign_command(
    decision: Path,
    key: Path | None,
    reviewer: str | None,
    allowed_signers: Path | None,
    revoked: Path | None,
    passphrase_file: Path | None,
    no_agent: bool,
    as_json: bool,
) -> None:
    """Add your signature to DECISION as NAME.decision.json.REVIEWER.sig, beside it.

    The decision's bytes never change and no file is overwritten; each signature file verifies on
    its own with ssh-keygen -Y verify. Refused (exit 2, nothing written) when the decision's own
    signature does not hold, when you or your key already signed it, or when you are the run's
    author. `verify --quorum K` counts the signatures.
    """
    from evaltui.actions.cosign import check_cosigner, cosign_as

    if revoked is not None and allowed_signers is None:
        raise click.UsageError("--revoked checks the decision's signer: give --allowed-signers too")
    principal = check_cosigner(reviewer or "")  # refused before a passphrase is asked for
    signer = _load_signer(key, passphrase_file, use_agent=not no_agent)
    with _reviewer_option_named():
        written = cosign_as(
            decision, signer, principal, allowed_signers=allowed_signers, revoked=revoked
        )
    if as_json:
        emit_json(written.to_json())
        return
    show = console()
    show.print(Text.assemble("wrote ", safe(written.sig_path, limit=1000)))
    show.print(
        safe(
            f"  co-signed as {written.reviewer} with {signer.public_key.describe()} "
            f"({written.signer_source}); the decision now has "
            f"{counted(written.signatures, 'signature file')}",
            limit=1000,
        )
    )
    show.print(safe(f"  check: {written.check_command}", limit=1000))


@click.command("verify")
@click.argument("decision", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--allowed-signers",
    type=click.Path(dir_okay=False, path_type=Path),
    default=from_settings("allowed_signers"),
    help=f"OpenSSH allowed_signers file (env {ALLOWED_SIGNERS_ENV}, config `allowed_signers`); "
    "required.",
)
@click.option(
    "--signature",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Signature file (default: DECISION.sig).",
)
@click.option(
    "--revoked",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Refuse keys revoked by this KRL or public-key list (as ssh-keygen -Y verify -r).",
)
@click.option(
    "--store",
    "store_path",
    type=STORE,
    default=from_settings("store"),
    metavar="PATH|URI",
    help=f"Also replay the decision against this store (env {STORE_ENV}, config `store`); a "
    "team store replays the snapshot the decision was made on.",
)
@click.option("--quorum", type=click.IntRange(min=1), metavar="K", help=QUORUM_HELP)
@wait_option
@json_option
def verify_command(
    decision: Path,
    allowed_signers: Path | None,
    signature: Path | None,
    revoked: Path | None,
    store_path: Path | None,
    quorum: int | None,
    as_json: bool,
) -> None:
    """Check a decision file: signature, signer, canonical bytes, fields, and with --store a replay.

    Exit 0 valid, 1 rejected (the reason on stderr), 2 bad usage.
    """
    from evaltui.actions.verdicts import ledger_dir_for, read_verdicts
    from evaltui.decision.verify import verify_decision

    if allowed_signers is None:
        raise click.UsageError(
            f"name the trusted signers with --allowed-signers FILE (or {ALLOWED_SIGNERS_ENV})"
        )
    if store_path is not None:
        with _replay_store(decision, store_path) as store:
            result = verify_decision(
                decision,
                allowed_signers,
                signature_path=signature,
                con=store.con,
                revoked=revoked,
                quorum=quorum,
                ledger_dir=ledger_dir_for(store.path),
                read_verdicts=read_verdicts,
            )
    else:
        result = verify_decision(
            decision, allowed_signers, signature_path=signature, revoked=revoked, quorum=quorum
        )
    if as_json:
        emit_json(result.to_json())
    else:
        rows = [
            (
                safe(
                    c.status.upper(), "bold" if c.failed else ("dim" if c.status == "skip" else "")
                ),
                safe(c.name),
                safe(c.message, limit=400),
            )
            for c in result.checks
        ]
        show = console()
        show.print(table(None, ("result", "check", "detail"), rows))
        if result.quorum is not None:
            show.print(
                table(None, ("signature", "principal", "counts", "detail"), _quorum_rows(result))
            )
        if result.valid:
            show.print(Text.assemble(("VALID ", "bold"), safe(decision)))
    if not result.valid:
        raise CheckFailed(f"{visible(decision)}: rejected: {visible(result.reason)}")


def _replay_store(decision: Path, store_path: Path | str) -> Store:
    """The store to replay on: a team store at the snapshot the decision recorded (else its
    current one, with a warning), a local store as it is."""
    from evaltui.actions.store import is_team_store

    if not is_team_store(store_path):
        return Store.open(
            Path(store_path), read_only=True, wait=current_wait(), on_wait=say_waiting
        )
    from evaltui.decision.canary import read_decision

    doc = read_decision(decision)  # the replay's snapshot; the signature is checked after
    recorded = doc.get("team_store") if isinstance(doc, dict) else None
    if not isinstance(recorded, dict) or not isinstance(recorded.get("snapshots"), dict):
        click.echo(
            f"evaltui: warning: {visible(decision)} was not decided on a team store; "
            "replaying against its current snapshot",
            err=True,
        )
        return open_store(store_path, read_only=True)
    return open_store(store_path, read_only=True, snapshots=recorded["snapshots"])


def _quorum_rows(result: Verification) -> list[tuple[Text, Text, Text, Text]]:
    rows = []
    for sig in result.signatures:
        if sig.counted:
            counts, detail = "yes", "valid"
        else:
            counts, detail = "no", sig.note or (sig.reason or "not valid")
        rows.append(
            (
                safe(sig.path.name, limit=400),
                safe(sig.principal or "?", limit=200),
                safe(counts, "" if sig.counted else "bold"),
                safe(detail, limit=400),
            )
        )
    return rows


@click.command("canary-check")
@click.argument("decision", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--observed",
    multiple=True,
    metavar="METRIC=VALUE",
    help="An observed canary value; repeat the option for each metric "
    "(--observed a=0 --observed b=1).",
)
@click.option(
    "--stream",
    type=click.Path(dir_okay=False, path_type=Path),
    help="JSONL stream of canary outcomes, one object a line: "
    '{"arm": "canary"|"control", "metric": NAME, "value": 0|1} or with "successes": K, "n": N.',
)
@click.option(
    "--allowed-signers",
    type=click.Path(dir_okay=False, path_type=Path),
    default=from_settings("allowed_signers"),
    help="Verify the decision's signature against this file first "
    f"(env {ALLOWED_SIGNERS_ENV}, config `allowed_signers`).",
)
@click.option(
    "--unverified",
    is_flag=True,
    help="Apply the rule without checking the signature (say so explicitly; not for pipelines).",
)
@click.option(
    "--revoked",
    type=click.Path(dir_okay=False, path_type=Path),
    help="With --allowed-signers: refuse keys revoked by this KRL or public-key list.",
)
@click.option(
    "--quorum",
    type=click.IntRange(min=1),
    metavar="K",
    help="With --allowed-signers: " + QUORUM_HELP,
)
@json_option
def canary_check_command(
    decision: Path,
    observed: tuple[str, ...],
    stream: Path | None,
    allowed_signers: Path | None,
    unverified: bool,
    revoked: Path | None,
    quorum: int | None,
    as_json: bool,
) -> None:
    """Apply DECISION's canary stop rule to observed values or to a stream of outcomes.

    Prints CONTINUE_CANARY_MONITORING or PROMOTE_CANARY (exit 0) or ROLL_BACK_TO:<rollback
    artifact> (exit 1). With --stream, monitored rates get the anytime-valid sequential test
    signed in the decision (checking after every line keeps its level) and other invariants roll
    back at their first breaking event. The signature is checked first (--allowed-signers);
    without it the command refuses unless --unverified is given.
    """
    from evaltui.decision.canary import apply_stop_rule, parse_observed, read_decision
    from evaltui.decision.verify import verify_decision

    if bool(observed) == (stream is not None):
        raise click.UsageError("give either --observed METRIC=VALUE (repeatable) or --stream FILE")
    if allowed_signers is None and not unverified:
        raise click.UsageError(
            "name the trusted signers with --allowed-signers FILE (or "
            f"{ALLOWED_SIGNERS_ENV}), or pass --unverified to apply an unchecked rule"
        )
    if revoked is not None and allowed_signers is None:
        raise click.UsageError("--revoked checks the signer: give --allowed-signers too")
    if quorum is not None and allowed_signers is None:
        raise click.UsageError("--quorum counts verified signatures: give --allowed-signers too")
    values = parse_observed(observed) if observed else {}
    if allowed_signers is None:
        doc = read_decision(decision)
        click.echo(
            f"evaltui: warning: {visible(decision)}: signature not checked (--unverified); "
            "the rule applied is whatever the file says",
            err=True,
        )
    else:  # the rule comes from the bytes whose signature was checked, not from a second read
        result = verify_decision(decision, allowed_signers, revoked=revoked, quorum=quorum)
        if not result.valid or result.record is None:
            raise InputError(
                decision, f"not applying the stop rule: the decision is rejected: {result.reason}"
            )
        doc = result.record
    if stream is not None:
        _check_stream(decision, doc, stream, as_json, verified=allowed_signers is not None)
        return
    verdict = apply_stop_rule(doc, values)
    if as_json:
        emit_json(
            {
                "decision": str(decision),
                "verified": allowed_signers is not None,
                **verdict.to_json(),
            }
        )
    else:
        click.echo(visible(verdict.action))
    if verdict.rollback:
        broken = "; ".join(
            f"{r.predicate} broken (observed {r.observed:g})" for r in verdict.broken
        )
        raise CheckFailed(visible(broken))


def _check_stream(
    decision: Path, doc: dict, stream: Path, as_json: bool, *, verified: bool
) -> None:
    from evaltui.decision.canary_stream import check_stream

    verdict = check_stream(doc, stream)
    if as_json:
        emit_json(
            {
                "decision": str(decision),
                "stream": str(stream),
                "verified": verified,
                **verdict.to_json(),
            }
        )
    else:
        click.echo(visible(verdict.action))
        for line in verdict.evidence():
            click.echo("  " + visible(line, limit=ERROR_LINE_LIMIT))
    if verdict.rollback:
        where = "" if verdict.line is None else f"{visible(stream)}:{verdict.line}: "
        raise CheckFailed(where + visible(verdict.reason))


@click.command("decisions")
@store_option
@json_option
def decisions_command(store_path: Path | None, as_json: bool) -> None:
    """Past decisions made on this store (the append-only log, newest first), with the state of
    their files."""
    from evaltui.actions.store import is_team_store
    from evaltui.decision.log import LoggedDecision, log_path_for_store, read_log

    if is_team_store(store_path):
        from evaltui.actions.store import store_target
        from evaltui.actions.team import team_decisions

        where, found = team_decisions(store_target(store_path) or "")
        entries = [LoggedDecision(entry, 0, str(entry["state"])) for entry in found]
    else:
        log_path = log_path_for_store(resolve_store_path(store_path))
        where = str(log_path)
        entries, problems = read_log(log_path)
        for problem in problems:
            click.echo(f"evaltui: warning: {visible(problem, limit=ERROR_LINE_LIMIT)}", err=True)
    entries = entries[::-1]  # newest first, as the app lists them
    if as_json:
        emit_json({"log": where, "decisions": [e.to_json() for e in entries]})
        return
    show = console()
    if not entries:
        show.print(safe(f"no decisions logged yet ({where})"))
        return
    rows = [
        (
            safe(e.entry.get("decided_at")),
            safe(e.entry.get("source_run_id")),
            safe(e.entry.get("artifact")),
            safe(e.entry.get("status")),
            safe(e.entry.get("rollback_artifact")),
            safe(e.entry.get("reviewer")),
            safe("yes" if e.entry.get("override") else ""),
            safe(e.state, "" if e.state == "ok" else "bold"),
            safe(e.entry.get("json_path"), limit=400),
        )
        for e in entries
    ]
    show.print(
        table(
            None,
            (
                "decided_at",
                "run",
                "artifact",
                "status",
                "rollback",
                "reviewer",
                "override",
                "file",
                "path",
            ),
            rows,
        )
    )
