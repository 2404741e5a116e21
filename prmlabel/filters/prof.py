"""PROF: the process-consistency filter over groups of responses to one problem.

Ye et al., "Beyond Correctness: Harmonizing Process and Outcome Rewards through RL Training"
(PROF, 2025), arXiv 2509.03403. Each response gets a consistency score between its step values
v_t in [0, 1] (here the labeler's per-step estimates, unknown steps skipped) and its outcome
r in {0, 1}:

    score = mean_t (2 v_t - 1) (2 r - 1)

High when the steps look right and the answer is right, or the steps look wrong and the answer is
wrong. In each group (the responses of one problem) k responses are removed, split so that the
correct/incorrect balance moves toward even:

    n_pos_remove = min(k, round((#pos - #neg + k) / 2))      (clipped to [0, #pos])
    n_neg_remove = k - n_pos_remove                          (clipped to [0, #neg])

and within each class the lowest-scoring responses go. Python's round (half to even) is used, as
in the paper's Python code. k is a parameter (default 2; the paper's value per group size is
unconfirmed). Groups of k or fewer responses are left alone rather than emptied.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass
from typing import Any, ClassVar

from prmlabel.filters.base import Candidate


@dataclass(frozen=True)
class PROFParams:
    k: int = 2  # responses removed per group
    source: str = "values"  # "values" (the labeler's estimates) or "labels_final" (after earlier filters)


class PROFFilter:
    name: ClassVar[str] = "prof"
    paper: ClassVar[str] = "PROF, Beyond Correctness (Ye et al., 2025), arXiv 2509.03403"

    def __init__(self, params: PROFParams):
        if params.k < 0:
            raise ValueError(f"prof: k must be >= 0, got {params.k}")
        if params.source not in ("values", "labels_final"):
            raise ValueError(f"prof: source must be 'values' or 'labels_final', got {params.source!r}")
        self.p = params

    def params(self) -> dict[str, Any]:
        return asdict(self.p)

    def apply(self, candidates: list[Candidate]) -> None:
        groups: dict[str, list[Candidate]] = defaultdict(list)
        for c in candidates:
            if c.keep:
                groups[c.problem_id].append(c)
        for group in groups.values():
            scores = {c.response_id: consistency(self._values(c), bool(c.row["is_correct"])) for c in group}
            for c in group:
                c.extra["prof"] = {"score": scores[c.response_id]}
            if len(group) <= self.p.k:
                continue
            pos = [c for c in group if c.row["is_correct"]]
            neg = [c for c in group if not c.row["is_correct"]]
            n_pos, n_neg = removal_counts(len(pos), len(neg), self.p.k)
            for cls, n in ((pos, n_pos), (neg, n_neg)):
                # Lowest consistency first; ties by response id so the choice does not depend on order.
                cls.sort(key=lambda c: (_sortable(scores[c.response_id]), c.response_id))
                for c in cls[:n]:
                    c.drop("prof:low_consistency")
        for c in candidates:
            if c.keep and "prof" in c.extra:
                c.keep_as("prof:kept")

    def _values(self, c: Candidate) -> list[float | None]:
        return list(c.row.get("values") or []) if self.p.source == "values" else list(c.labels_final)


def consistency(values: list[float | None], correct: bool) -> float | None:
    """mean_t (2 v_t - 1)(2 r - 1) over the steps with a value; None if no step has one."""
    known = [v for v in values if v is not None]
    if not known:
        return None
    sign = 1.0 if correct else -1.0
    return sum((2.0 * v - 1.0) * sign for v in known) / len(known)


def removal_counts(n_pos: int, n_neg: int, k: int) -> tuple[int, int]:
    """(correct, incorrect) responses to remove from a group, moving it toward balance."""
    remove_pos = max(0, min(k, round((n_pos - n_neg + k) / 2), n_pos))
    remove_neg = max(0, min(k - remove_pos, n_neg))
    return remove_pos, remove_neg


def _sortable(score: float | None) -> float:
    return float("-inf") if score is None else score  # no estimate: least consistent
