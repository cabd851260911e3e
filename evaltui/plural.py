"""Counting words for people: `count(1, "run")` is "1 run", `count(3, "run")` is "3 runs".

One helper for the CLI, the review's messages and the app, so no screen says "1 failures".
"""

from __future__ import annotations


def count(n: int, noun: str, plural: str | None = None) -> str:
    """`n` (thousands separated) and `noun`, in the plural unless `n` is 1."""
    return f"{n:,} {noun if n == 1 else (plural or noun + 's')}"
