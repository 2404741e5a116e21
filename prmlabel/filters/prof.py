"""PROF: the process-consistency filter over groups of responses to one problem.

Ye et al., "Beyond Correctness: Harmonizing Process and Outcome Rewards through RL Training"
(PROF, 2025), arXiv 2509.03403; released code amazon-science/PROF-GRPO @8164ec2, read here from
``prof_grpo/prof_grpo_both/prof_ray_trainer.py`` (the trainer ``scripts/run_prof_grpo.sh`` runs)
and ``prof_grpo/blend_grpo/prof_ray_trainer.py``.

Score (``compute_verify_step_level_score``, prof_grpo_both:1377-1433): each response's step values
v_t in [0, 1] (the PRM's step probabilities; here the labeler's ``values``) and its outcome r in
{0, 1}:

    score = mean_t 2 (v_t - c) (2 r - 1)

with c = the mean of every step value of the batch (``center="batch_mean"``, prof_grpo_both:1401-1407;
the batch is here every kept row of the input) or c = 0.5 (``center="half"``, the paper's formula and
blend_grpo:1407). Steps with no value (None: undecided) are left out of the mean and of c, as the
trainer leaves out padding (-99). A response none of whose steps has a value has **no score**
(the trainer writes 0.0 for it, :1431, and its length penalty below puts it first in line): here it
is ranked below every scored response of its class, removed before them, and counted
(``unscored`` in the notes, reason ``prof:no_score`` when removed).

Length penalty (``filter_trajectories``, prof_grpo_both:1450): critic = score - ``length_penalty``
if the response has fewer than 2 or more than 30 steps (``len_step_reward_coef = 10.0`` in
``scripts/run_prof_grpo.sh:19``; 0 in the config default).

Removal per group (the responses of one problem, :1458-1510): n = min(k, group size) responses go
(``prof_filter = 4`` with n = 8 responses in ``scripts/run_prof_grpo.sh:18,21``; so a group of k
or fewer is removed whole, as the trainer does), split so the correct/incorrect balance moves toward
even:

    n_pos_remove = min(n, round((#pos - #neg + n) / 2))      (Python round: half to even)
    the rest of n from the incorrect responses

and within each class the lowest critic goes first (ties by response id). A response whose outcome
is undecided (``is_correct`` None) is neither positive nor negative: the trainer keeps only r = 1
and r = 0 (:1471-1472, others fall out of its kept list); here it is dropped as
``prof:outcome_undecided``, counted, and not part of the group.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass
from typing import Any, ClassVar

from prmlabel.filters.base import Candidate

CENTERS = ("batch_mean", "half")
PROBABILITY_KINDS = (None, "probability", "verdict")  # values that (2 v - 1) can read
MIN_STEPS, MAX_STEPS = 2, 30  # prof_ray_trainer.py: (len_seg < 2) or (len_seg > 30)


@dataclass(frozen=True)
class PROFParams:
    k: int = 4  # responses removed per group (run_prof_grpo.sh: prof_filter=4, n=8)
    center: str = "batch_mean"  # batch_mean (the released trainer) | half (the paper's 2 v - 1)
    length_penalty: float = 10.0  # subtracted from the score of a response of < 2 or > 30 steps
    source: str = "values"  # "values" (the labeler's estimates) or "labels_final" (after earlier filters)


class PROFFilter:
    name: ClassVar[str] = "prof"
    paper: ClassVar[str] = "PROF, Beyond Correctness (Ye et al., 2025), arXiv 2509.03403"

    def __init__(self, params: PROFParams):
        if params.k < 0:
            raise ValueError(f"prof: k must be >= 0, got {params.k}")
        if params.source not in ("values", "labels_final"):
            raise ValueError(f"prof: source must be 'values' or 'labels_final', got {params.source!r}")
        if params.center not in CENTERS:
            raise ValueError(f"prof: center must be one of {', '.join(CENTERS)}, got {params.center!r}")
        self.p = params

    def params(self) -> dict[str, Any]:
        return asdict(self.p)

    def apply(self, candidates: list[Candidate]) -> None:
        groups: dict[str, list[Candidate]] = defaultdict(list)
        for c in candidates:
            if not c.keep:
                continue
            kind = c.row.get("value_kind") if self.p.source == "values" else None
            if kind not in PROBABILITY_KINDS:
                raise ValueError(
                    f"prof: the values of method {c.row.get('method')!r} are {kind}s, not step probabilities; "
                    "PROF's score (2 v - 1)(2 r - 1) needs probabilities"
                )
            if c.row["is_correct"] is None:
                c.extra["prof"] = {"score": None}
                c.drop("prof:outcome_undecided")
                continue
            groups[c.problem_id].append(c)
        center = 0.5 if self.p.center == "half" else self._batch_mean(groups)
        for group in groups.values():
            scores = {c.response_id: consistency(self._values(c), bool(c.row["is_correct"]), center) for c in group}
            critic = {c.response_id: self._critic(scores[c.response_id], c) for c in group}
            unscored = sum(score is None for score in scores.values())
            for c in group:
                c.extra["prof"] = {"score": scores[c.response_id], "center": center, "unscored": unscored}
            pos = [c for c in group if c.row["is_correct"]]
            neg = [c for c in group if not c.row["is_correct"]]
            n_pos, n_neg = removal_counts(len(pos), len(neg), self.p.k)
            for cls, n in ((pos, n_pos), (neg, n_neg)):
                # Lowest critic first (no score: lowest of all); ties by response id, never by input order.
                cls.sort(key=lambda c: (_sortable(critic[c.response_id]), c.response_id))
                for c in cls[:n]:
                    c.drop("prof:no_score" if scores[c.response_id] is None else "prof:low_consistency")
        for c in candidates:
            if c.keep and "prof" in c.extra:
                c.keep_as("prof:kept")

    def _values(self, c: Candidate) -> list[float | None]:
        return list(c.row.get("values") or []) if self.p.source == "values" else list(c.labels_final)

    def _batch_mean(self, groups: dict[str, list[Candidate]]) -> float:
        known = [v for group in groups.values() for c in group for v in self._values(c) if v is not None]
        return sum(known) / len(known) if known else 0.5

    def _critic(self, score: float | None, c: Candidate) -> float | None:
        steps = len(c.row.get("steps") or [])
        if score is None:
            return None
        return score - self.p.length_penalty * (steps < MIN_STEPS or steps > MAX_STEPS)


def consistency(values: list[float | None], correct: bool, center: float = 0.5) -> float | None:
    """mean_t 2 (v_t - center)(2 r - 1) over the steps with a value; None if no step has one."""
    known = [v for v in values if v is not None]
    if not known:
        return None
    sign = 1.0 if correct else -1.0
    return sum(2.0 * (v - center) * sign for v in known) / len(known)


def removal_counts(n_pos: int, n_neg: int, k: int) -> tuple[int, int]:
    """(correct, incorrect) responses to remove from a group, as ``filter_trajectories`` does.

    n = min(k, group size); n_pos_remove = min(n, round((n_pos - n_neg + n) / 2)), at most n_pos;
    the rest of n comes from the incorrect responses, at most n_neg."""
    n = min(k, n_pos + n_neg)
    remove_pos = max(0, min(n, round((n_pos - n_neg + n) / 2), n_pos))
    remove_neg = max(0, min(n - remove_pos, n_neg))
    return remove_pos, remove_neg


def _sortable(score: float | None) -> float:
    return float("-inf") if score is None else score  # no score: removed first in its class
