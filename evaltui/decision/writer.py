"""Sign a decision record and write NAME.decision.json and NAME.decision.json.sig: `sign_and_write`.

The signature is made (and checked) before anything touches the disk, so a key problem writes
nothing. The JSON file goes first, then the signature; if the signature cannot be written the
JSON file just created is removed again, so a half decision is never left behind. Then the
decision is appended to the log.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from evaltui.decision.files import DecisionExists, decision_paths, write_new
from evaltui.decision.keys import Signer
from evaltui.decision.log import append_entry
from evaltui.decision.record import DecisionRecord
from evaltui.decision.sshsig import NAMESPACE, sign
from evaltui.errors import EvaltuiError, InputError

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


@dataclass(frozen=True, slots=True)
class WrittenDecision:
    decision_id: str
    json_path: Path
    sig_path: Path
    sha256: str  # of the signed bytes
    signer_fingerprint: str
    signer_key_type: str
    signer_source: str
    reviewer: str
    log_path: Path | None
    warnings: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "decision_id": self.decision_id,
            "decision": str(self.json_path),
            "signature": str(self.sig_path),
            "sha256": self.sha256,
            "reviewer": self.reviewer,
            "signer": {
                "fingerprint": self.signer_fingerprint,
                "key_type": self.signer_key_type,
                "source": self.signer_source,
            },
            "namespace": NAMESPACE,
            "log": None if self.log_path is None else str(self.log_path),
            "warnings": list(self.warnings),
        }


def sign_and_write(
    record: DecisionRecord,
    signer: Signer,
    out_dir: Path,
    *,
    name: str | None = None,
    log_path: Path | None = None,
) -> WrittenDecision:
    """Sign `record` and write its two files under `out_dir` (never replacing any file).

    `name` is the file stem (default: the decision id). A failure to append to the log does not
    undo the decision (the signed files are the decision); it comes back as a warning.
    """
    stem = name or record.name
    if not _NAME.fullmatch(stem):
        raise InputError(None, f"decision name {stem!r} must use letters, digits, '.', '_' and '-'")
    out_dir = Path(out_dir).expanduser()
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(out_dir, f"cannot create the output folder: {exc.strerror}") from None
    json_path, sig_path = decision_paths(out_dir, stem)
    for path in (json_path, sig_path):
        if path.exists() or path.is_symlink():
            raise DecisionExists(
                path, "already exists; decision files are never overwritten (choose another name)"
            )
    signature = sign(record.data, signer).encode("ascii")
    write_new(json_path, record.data)
    try:
        write_new(sig_path, signature)
    except BaseException:
        _remove_if_ours(json_path, record.data)
        raise
    written_log: Path | None = None
    warnings: list[str] = []
    doc = record.doc
    if log_path is not None:
        entry = log_entry(record, json_path, sig_path, signer.public_key.fingerprint)
        try:
            append_entry(log_path, entry)
            written_log = log_path
        except EvaltuiError as exc:
            warnings.append(f"decision written, but not logged: {exc}")
    return WrittenDecision(
        decision_id=record.decision_id,
        json_path=json_path,
        sig_path=sig_path,
        sha256=hashlib.sha256(record.data).hexdigest(),
        signer_fingerprint=signer.public_key.fingerprint,
        signer_key_type=signer.public_key.key_type,
        signer_source=signer.source,
        reviewer=str(doc["reviewer"]),
        log_path=written_log,
        warnings=tuple(warnings),
    )


def log_entry(
    record: DecisionRecord, json_path: Path, sig_path: Path, signer_fingerprint: str
) -> dict[str, Any]:
    """The decision log's line for a decision written at `json_path` (local or team log)."""
    doc = record.doc
    return {
        "decision_id": record.decision_id,
        "decided_at": doc["decided_at"],
        "reviewer": doc["reviewer"],
        "experiment": doc["experiment"],
        "source_run_id": doc["source_run_id"],
        "artifact": doc["artifact"],
        "alias": doc["alias"],
        "status": doc["status"],
        "review_status": doc["review_status"],
        "rollback_artifact": doc["rollback_artifact"],
        "override": doc["override"],
        "json_path": str(json_path.resolve()),
        "sig_path": str(sig_path.resolve()),
        "sha256": hashlib.sha256(record.data).hexdigest(),
        "signer": signer_fingerprint,
        "logged_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def _remove_if_ours(path: Path, data: bytes) -> None:
    try:
        if path.read_bytes() == data:
            os.unlink(path)
    except OSError:
        pass
