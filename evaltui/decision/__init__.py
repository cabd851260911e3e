"""Signed decision files: the record, its canonical bytes, SSHSIG signatures, verification.

The flow the CLI and the app share::

    draft = prepare(con, run_id, baseline_id)           # facts + refusals, nothing decided yet
    record = build_record(draft, DecisionChoices(...))  # InvalidChoice / DecisionRefused
    signer = load_signer(key_path, passphrase)          # PassphraseRequired -> ask, call again
    written = sign_and_write(record, signer, out_dir, log_path=log_path_for_store(store))
    verification = verify_decision(path, allowed_signers, con=con)

Names are loaded lazily (PEP 562) so importing this package does not import `cryptography`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "prepare": "draft",
    "draft_for": "draft",
    "DecisionDraft": "draft",
    "Refusal": "draft",
    "build_record": "record",
    "check_choices": "record",
    "DecisionChoices": "record",
    "DecisionRecord": "record",
    "DecisionRefused": "record",
    "InvalidChoice": "record",
    "SCHEMA": "record",
    "DEFAULT_ALIAS": "record",
    "DEFAULT_STATUS": "record",
    "load_signer": "keys",
    "available_keys": "keys",
    "KeyChoice": "keys",
    "Signer": "keys",
    "PublicKey": "keys",
    "SigningKeyError": "keys",
    "KeyNotFound": "keys",
    "PassphraseRequired": "keys",
    "WrongPassphrase": "keys",
    "KeyPermissionsTooOpen": "keys",
    "UnsupportedKey": "keys",
    "sign_and_write": "writer",
    "WrittenDecision": "writer",
    "DecisionExists": "files",
    "verify_decision": "verify",
    "Verification": "verify",
    "apply_stop_rule": "canary",
    "read_decision": "canary",
    "CanaryVerdict": "canary",
    "log_path_for_store": "log",
    "read_log": "log",
    "LoggedDecision": "log",
    "NAMESPACE": "sshsig",
}

__all__ = [
    "DEFAULT_ALIAS",
    "DEFAULT_STATUS",
    "NAMESPACE",
    "SCHEMA",
    "CanaryVerdict",
    "DecisionChoices",
    "DecisionDraft",
    "DecisionExists",
    "DecisionRecord",
    "DecisionRefused",
    "InvalidChoice",
    "KeyChoice",
    "KeyNotFound",
    "KeyPermissionsTooOpen",
    "LoggedDecision",
    "PassphraseRequired",
    "PublicKey",
    "Refusal",
    "Signer",
    "SigningKeyError",
    "UnsupportedKey",
    "Verification",
    "WrittenDecision",
    "WrongPassphrase",
    "apply_stop_rule",
    "available_keys",
    "build_record",
    "check_choices",
    "draft_for",
    "load_signer",
    "log_path_for_store",
    "prepare",
    "read_decision",
    "read_log",
    "sign_and_write",
    "verify_decision",
]

if TYPE_CHECKING:
    from evaltui.decision.canary import CanaryVerdict, apply_stop_rule, read_decision
    from evaltui.decision.draft import DecisionDraft, Refusal, draft_for, prepare
    from evaltui.decision.files import DecisionExists
    from evaltui.decision.keys import (
        KeyChoice,
        KeyNotFound,
        KeyPermissionsTooOpen,
        PassphraseRequired,
        PublicKey,
        Signer,
        SigningKeyError,
        UnsupportedKey,
        WrongPassphrase,
        available_keys,
        load_signer,
    )
    from evaltui.decision.log import LoggedDecision, log_path_for_store, read_log
    from evaltui.decision.record import (
        DEFAULT_ALIAS,
        DEFAULT_STATUS,
        SCHEMA,
        DecisionChoices,
        DecisionRecord,
        DecisionRefused,
        InvalidChoice,
        build_record,
        check_choices,
    )
    from evaltui.decision.sshsig import NAMESPACE
    from evaltui.decision.verify import Verification, verify_decision
    from evaltui.decision.writer import WrittenDecision, sign_and_write


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'evaltui.decision' has no attribute {name!r}")
    return getattr(importlib.import_module(f"evaltui.decision.{module}"), name)
