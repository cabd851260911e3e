"""A hostile review for terminal-safety tests: every untrusted field carries escape sequences.

The strings are what an attacker who controls a model output, a log or a file name would use
against a reviewer's terminal: an OSC title change, an OSC 52 clipboard write, a CSI clear-screen,
the 8-bit CSI, Rich markup that would make a hyperlink, bidi overrides, and a 1 MB single line.
`terminal_problems()` finds any of them (or any other control character) in captured output.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

OSC_TITLE = "\x1b]0;T\x07"
OSC52 = "\x1b]52;c;SGVsbG8=\x07"
CSI_CLEAR = "\x1b[2J"
C1_CSI = "\x9b31m"
LINK = "[link=https://x]y[/link]"
BIDI = "\u202eevil\u202c"
HOSTILE = f"A{OSC_TITLE} B{OSC52} C{CSI_CLEAR} D{C1_CSI} E{LINK} F{BIDI} G"
BIG = "Z" * 1_000_000  # one 1 MB line

# How the sanitizer shows them (placeholders instead of control characters).
SHOWN_TITLE = "\u241b]0;T\u2407"
SHOWN_OSC52 = "\u241b]52;c;SGVsbG8=\u2407"
SHOWN_CLEAR = "\u241b[2J"
SHOWN_C1 = "\u27e89B\u27e931m"
SHOWN_BIDI = "\u27e8RLO\u27e9evil\u27e8PDF\u27e9"

# Any C0/C1 control but line feed, DEL, and the bidi controls the sanitizer replaces.
_FORBIDDEN = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
# Rich's own styling on a color terminal: Select Graphic Rendition, nothing else.
SGR = re.compile("\x1b\\[[0-9;]*m")


def terminal_problems(text: str, *, styled: bool = False) -> list[str]:
    """Control characters in `text` with some context; `styled` allows Rich's SGR sequences."""
    if styled:
        text = SGR.sub("", text)
    return [repr(text[max(0, m.start() - 30) : m.end() + 10]) for m in _FORBIDDEN.finditer(text)][
        :5
    ]


SUITE_ID = "hostile-suite"
CASE_IDS = ("c1", f"c2{HOSTILE}", "c3")


def hostile_suite() -> dict[str, Any]:
    cases = [
        {
            "case_id": CASE_IDS[0],
            "expected_route": "SERVE",
            "slice_name": f"slice {HOSTILE}",
            "evidence_state": HOSTILE,
            "source": HOSTILE,
            "input": HOSTILE + BIG,
        },
        {"case_id": CASE_IDS[1], "expected_route": f"ABSTAIN{HOSTILE}", "slice_name": "plain"},
        {"case_id": CASE_IDS[2], "expected_route": "SERVE", "slice_name": "plain"},
    ]
    return {
        "kind": "evaltui.suite",
        "version": 1,
        "suite_id": SUITE_ID,
        "description": HOSTILE,
        "splits": {"main": cases},
        "metrics": [
            {"name": "unsafe", "count": {"predicted": "SERVE", "expected": f"ABSTAIN{HOSTILE}"}},
            {"name": "exact_route_rate", "rate": {"correct": True}},
        ],
        "guardrails": [{"require": "unsafe == 0", "status": "REJECT_UNSAFE"}],
        "comparison_fields": [f"policy{HOSTILE}", f"long{HOSTILE}", "evaluation_sha"],
    }


def hostile_run(run_id: str, started: str, routes: tuple[str, str, str]) -> dict[str, Any]:
    return {
        "kind": "evaltui.run",
        "version": 1,
        "run_id": run_id,
        "experiment": f"exp {HOSTILE}",
        "artifact": f"artifact-{run_id} {HOSTILE}",
        "suite_id": SUITE_ID,
        "started_at": started,
        "params": {f"policy{HOSTILE}": HOSTILE, f"long{HOSTILE}": BIG},
        "metrics": {f"m{HOSTILE}": 1, "unsafe": 0},
        "tags": {f"tag{HOSTILE}": HOSTILE},
        "artifacts": [HOSTILE, BIG],
        "cases": [
            {
                "case_id": case_id,
                "route": route,
                "output": HOSTILE + BIG,
                "metadata": {f"k{HOSTILE}": HOSTILE},
                "score": 0.25 * (i + 1),
                "latency_ms": 100.0 * (i + 1),
                "tokens": 10 * (i + 1),
            }
            for i, (case_id, route) in enumerate(zip(CASE_IDS, routes, strict=True))
        ],
    }


RUNS = (
    ("base", "2026-01-01T00:00:00Z", ("SERVE", f"ABSTAIN{HOSTILE}", "SERVE")),
    ("cand", "2026-01-02T00:00:00Z", (f"ABSTAIN{HOSTILE}", f"SERVE{HOSTILE}", f"X{HOSTILE}")),
    ("cand2", "2026-01-03T00:00:00Z", ("SERVE", f"ABSTAIN{HOSTILE}", "SERVE")),
)
EXPERIMENT = f"exp {HOSTILE}"


def write_hostile_review(folder: Path) -> Path:
    """A suite and three runs whose every free-text field is hostile; returns `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "hostile.suite.json").write_text(json.dumps(hostile_suite()), encoding="utf-8")
    for run_id, started, routes in RUNS:
        doc = hostile_run(run_id, started, routes)
        (folder / f"{run_id}.run.json").write_text(json.dumps(doc), encoding="utf-8")
    return folder
