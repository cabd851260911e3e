"""Which valid signatures count toward a quorum, and how many are needed.

The rules (docs/decision-file.md, "Co-signing and quorum"):

- only signatures that pass every check a single signature passes count (namespace, algorithm,
  the bytes, allowed_signers for the file's principal, the revocation list);
- the source run's author (`tags.author` or `params.author` of the run, which the record carries
  in `evidence.source`) never counts for their own run: neither a signature under the author's
  principal nor one made with any key allowed_signers lists for the author (whatever principal
  the file claims), so the author's second key cannot make the quorum;
- distinct people: signatures are grouped by principal and by key, and principals that share a
  key count as one (one key signing as two principals, or one principal with two keys, is one
  signer);
- a decision whose status or review status is ELIGIBLE_WITH_WAIVERS needs at least 2, whatever
  quorum was asked for.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from evaltui.decision.allowed_signers import AllowedSigner, match_pattern_list

WAIVERS_STATUS = "ELIGIBLE_WITH_WAIVERS"
WAIVERS_MINIMUM = 2
AUTHOR_FIELDS = ("tags", "params")


def run_authors(record: Mapping[str, Any]) -> tuple[str, ...]:
    """The source run's author(s) as the decision records them (`evidence.source.tags.author`,
    `evidence.source.params.author`); both when they differ, none when neither is a string."""
    evidence = record.get("evidence")
    source = evidence.get("source") if isinstance(evidence, Mapping) else None
    out: list[str] = []
    if isinstance(source, Mapping):
        for field in AUTHOR_FIELDS:
            values = source.get(field)
            value = values.get("author") if isinstance(values, Mapping) else None
            if isinstance(value, str) and value.strip() and value.strip() not in out:
                out.append(value.strip())
    return tuple(out)


def needs_waiver_quorum(record: Mapping[str, Any]) -> bool:
    return WAIVERS_STATUS in (record.get("status"), record.get("review_status"))


def required_quorum(asked: int | None, record: Mapping[str, Any] | None) -> int | None:
    """The quorum to enforce: the one asked for, raised to 2 for a decision with waivers; None
    when none was asked for and the decision needs none (a plain single-signature check)."""
    if record is not None and needs_waiver_quorum(record):
        return max(asked or 1, WAIVERS_MINIMUM)
    return asked


def is_author(principal: str, authors: Sequence[str]) -> bool:
    """Case-insensitive: `Alice@Example.com` is the same person as `alice@example.com`."""
    return principal.casefold() in {a.casefold() for a in authors}


def author_key_blobs(signers: Iterable[AllowedSigner], authors: Sequence[str]) -> set[bytes]:
    """Every key allowed_signers lists for an author, in any namespace or validity window."""
    blobs: set[bytes] = set()
    for line in signers:
        if line.key is None or line.cert_authority:
            continue
        if any(match_pattern_list(a, line.principals) == 1 for a in authors):
            blobs.add(line.key.blob)
    return blobs


def count_distinct(pairs: Sequence[tuple[str, bytes]]) -> list[list[int]]:
    """Group (principal, key blob) pairs into signers: pairs that share a principal (case-folded)
    or a key are one signer. Returns the groups as lists of indexes, in first-seen order."""
    parent = list(range(len(pairs)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    first: dict[object, int] = {}
    for index, (principal, blob) in enumerate(pairs):
        for token in (("p", principal.casefold()), ("k", blob)):
            seen = first.setdefault(token, index)
            a, b = root(seen), root(index)
            if a != b:
                parent[max(a, b)] = min(a, b)
    groups: dict[int, list[int]] = {}
    for index in range(len(pairs)):
        groups.setdefault(root(index), []).append(index)
    return list(groups.values())


@dataclass(frozen=True, slots=True)
class QuorumTally:
    required: int
    asked: int | None
    authors: tuple[str, ...]
    signers: tuple[tuple[int, ...], ...]  # indexes of counted signatures, one tuple per signer

    @property
    def counted(self) -> int:
        return len(self.signers)

    @property
    def met(self) -> bool:
        return self.counted >= self.required
