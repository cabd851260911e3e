"""Gates files (`*.gates.json`, kind `evaltui.gates`): review declarations for any suite.

A suite is frozen once loaded, and an imported suite declares only evidence checks. A gates file
declares, after the fact, the metrics, guardrails, comparison fields and cluster field a suite is
reviewed with. Every field but `suite_id` is optional; a field left out keeps the suite's own.
Whether the named suite exists and the guardrails' metrics are declared is checked by the store,
which knows the suite (`store.loader`).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from evaltui.contract.fields import IDENTIFIER, Record
from evaltui.contract.model import FORMAT_VERSION, KIND_GATES, Gates
from evaltui.contract.suite import parse_declarations
from evaltui.errors import raise_collected
from evaltui.plural import count

FIELDS = ("kind", "version", "suite_id", "metrics", "guardrails", "comparison_fields")
OPTIONAL_FIELDS = ("cluster_field", "description")


def parse_gates(doc: Any, path: Path) -> Gates:
    """Validate a gates record; raise InputError(s) naming the file on any problem."""
    rec = Record(doc, path, what="gates record")
    rec.check_kind(KIND_GATES, (FORMAT_VERSION,))
    suite_id = rec.string("suite_id", identifier=True)
    metrics, guardrails = parse_declarations(rec)
    comparison = rec.string_list("comparison_fields")
    cluster = rec.string("cluster_field", required=False) or None
    if cluster is not None and not IDENTIFIER.fullmatch(cluster):
        rec.fail(f"field 'cluster_field' is {cluster!r}: name a case field such as 'document_id'")
    unknown = set(rec.doc) - set(FIELDS) - set(OPTIONAL_FIELDS)
    if unknown:
        rec.fail(f"{count(len(unknown), 'unknown field')}: {', '.join(sorted(unknown))}")
    if not any(rec.has(k) for k in ("metrics", "guardrails", "comparison_fields", "cluster_field")):
        rec.fail(
            "declares nothing: give at least one of metrics, guardrails, comparison_fields, "
            "cluster_field"
        )
    raise_collected(rec.errors)
    identity = {
        "suite_id": suite_id,
        "metrics": None if metrics is None else [m.to_json() for m in metrics],
        "guardrails": None if guardrails is None else [g.to_json() for g in guardrails],
        "comparison_fields": None if comparison is None else list(comparison),
        "cluster_field": cluster,
    }
    content_sha = hashlib.sha256(
        json.dumps(identity, sort_keys=True, separators=(",", ":")).encode()
    ).hexdigest()
    return Gates(suite_id, metrics, guardrails, comparison, cluster, content_sha, path)
