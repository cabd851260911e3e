"""Counting words for people: `count(1, "run")` is "1 run", `count(3, "run")` is "3 runs".

One helper for the CLI, the review's messages and the app, so no screen says "1 failures".
"""

from __future__ import annotations


def count(n: int, noun: str, plural: str | None = None) -> str:
    """`n` (thousands separated) and `noun`, in the plural unless `n` is 1."""
    return f"{n:,} {agree(n, noun, plural or noun + 's')}"


def agree(n: int, one: str, many: str) -> str:
    """The word that agrees with a count of `n`: `agree(1, "is", "are")` is "is"."""
    return one if n == 1 else many
