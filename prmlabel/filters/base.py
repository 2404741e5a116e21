"""What every filter shares: a candidate row with its decision, and the filter protocol.

A filter sees every candidate of the run at once (balancing and PROF need whole groups or the whole
set), changes only candidates that are still kept, and records why: ``keep``, ``reason`` and
per-filter notes in ``extra``. Dropped rows are never removed: the stage writes them with
``keep = false`` so that every input row is accounted for and DuckDB can ask why.
Filters know nothing of paths, shards or backends.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol


@dataclass
class Candidate:
    """One labeled response and the decision so far.

    ``row`` is the labels row (read-only for filters). ``labels_final`` covers
    ``steps[:len(labels_final)]``; None marks an unknown label (never a negative).
    """

    row: dict[str, Any]
    labels_final: list[float | None]
    label_kind: str = "hard"  # "hard" (0/1) or "soft" (probabilities in [0, 1]: only from value_kind "probability")
    keep: bool = True
    reason: str = "kept"
    weight: float = 1.0
    chain: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def response_id(self) -> str:
        return str(self.row["response_id"])

    @property
    def problem_id(self) -> str:
        return str(self.row["problem_id"])

    @property
    def first_error(self) -> int | None:
        return self.row.get("first_error")

    def drop(self, reason: str) -> None:
        self.keep = False
        self.reason = reason

    def keep_as(self, reason: str) -> None:
        """Record why a filter kept the row; a chain's reasons join with '+' (consensus:agree+dedup:unique)."""
        self.reason = reason if self.reason == "kept" else f"{self.reason}+{reason}"


class Filter(Protocol):
    name: ClassVar[str]
    paper: ClassVar[str]

    def apply(self, candidates: list[Candidate]) -> None: ...

    def params(self) -> dict[str, Any]: ...


def initial_labels(row: dict[str, Any]) -> list[float | None]:
    """A labels row's hard labels as floats (1.0, 0.0, None), the starting point of every chain."""
    return [None if h is None else float(bool(h)) for h in (row.get("hard") or [])]


def path_labels(first_error: int, num_steps: int) -> list[float | None]:
    """Hard labels of a path whose first wrong step is ``first_error`` (-1: none); later steps dropped."""
    if first_error < 0:
        return [1.0] * num_steps
    return [1.0] * first_error + [0.0]


def is_positive(candidate: Candidate) -> bool:
    """The positive class of balancing: no final label is 0 (a soft label 0.25 is not a wrong step;
    SCAN's and the hard rules' wrong step is exactly 0)."""
    return not any(v == 0.0 for v in candidate.labels_final if v is not None)


def stable_rank(seed: int, *parts: str) -> str:
    """A seeded order that depends on the row, not on where it sits in the input or which shard holds it."""
    return hashlib.sha256(":".join([str(seed), *parts]).encode()).hexdigest()
