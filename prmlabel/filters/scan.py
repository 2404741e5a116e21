"""SCAN denoising: keep confident questions, soften labels near the error, balance the classes.

Ding et al., "SCAN: Self-Denoising Monte Carlo Annotation for Robust Process Reward Learning"
(2025), arXiv 2509.16548; code yyDing1/SCAN-PRM @463c201. Input: labels of ``--method scan``
(``values`` = c_t, the fraction of k completions of the prefix s_1..s_t that reach the reference,
up to the first zero t_e).

1. Questions: self-confidence SC(q) = fraction of the question's responses that are correct; keep
   questions with SC(q) >= min_confidence (0.75).
2. Correct responses: every step positive.
3. Incorrect responses: with tolerance distance d,

       y_t = 0                      t = t_e
       y_t = min(1, c_t / SC(q))    t_e - d <= t < t_e
       y_t = 1                      t < t_e - d
       (steps after t_e truncated)

   An incorrect response whose scan found no zero step is dropped (``drop_no_zero_step``; see below).
4. Balance positives and negatives 1:1 by seeded random subsampling (``balance``).

Incorrect responses whose scan found no zero step: SCAN's code scans through the last step
(``src/eval_prm/main_datasyn.py:96-97``) and its label script then drops a response with no zero
estimate (``dataset/SCAN-Base/process.py:56-57``). The ``scan`` labeler marks such a response
``no_zero_step``; ``drop_no_zero_step`` (default true) drops it here too.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any, ClassVar

from prmlabel.filters.balance import BalanceFilter, BalanceParams
from prmlabel.filters.base import Candidate


@dataclass(frozen=True)
class ScanDenoiseParams:
    tolerance: int = 2  # d (SCAN code: 2)
    min_confidence: float = 0.75  # keep questions with SC(q) >= this
    drop_no_zero_step: bool = True  # SCAN's process.py:56-57: drop incorrect responses whose scan found no zero
    balance: bool = True  # 1:1 positives and negatives after denoising
    seed: int = 0


class ScanDenoiseFilter:
    name: ClassVar[str] = "scan"
    paper: ClassVar[str] = "SCAN: Self-Denoising Monte Carlo Annotation (Ding et al., 2025), arXiv 2509.16548"

    def __init__(self, params: ScanDenoiseParams):
        if params.tolerance < 0:
            raise ValueError(f"scan filter: tolerance must be >= 0, got {params.tolerance}")
        self.p = params

    def params(self) -> dict[str, Any]:
        return asdict(self.p)

    def apply(self, candidates: list[Candidate]) -> None:
        confidence = self_confidence(candidates)
        for c in candidates:
            if not c.keep:
                continue
            sc = confidence.get(c.problem_id)
            c.extra["scan"] = {"self_confidence": sc, "tolerance": self.p.tolerance}
            if sc is None:  # no response of the question has a decided outcome
                c.drop("scan:confidence_unknown")
                continue
            if sc < self.p.min_confidence:
                c.drop("scan:low_confidence")
                continue
            steps = len(c.row["steps"])
            if c.row["is_correct"] is None:  # neither SCAN's correct nor its incorrect branch applies
                c.drop("scan:outcome_undecided")
                continue
            if c.row["is_correct"]:
                c.labels_final, c.label_kind = [1.0] * steps, "soft"
                c.keep_as("scan:correct")
                continue
            extra = json.loads(c.row.get("label_extra") or "{}")
            t_e = c.first_error
            if t_e is None or t_e < 0:
                # scan labels always name t_e for an incorrect response; other labels may not
                c.drop("scan:no_error_step")
                continue
            if self.p.drop_no_zero_step and extra.get("no_zero_step"):
                c.drop("scan:no_zero_step")
                continue
            c.labels_final = soft_labels(list(c.row["values"] or []), t_e, sc, self.p.tolerance)
            c.label_kind = "soft"
            c.keep_as("scan:denoised")
        if self.p.balance:
            BalanceFilter(BalanceParams(seed=self.p.seed), prefix="scan").apply(candidates)


def self_confidence(candidates: list[Candidate]) -> dict[str, float | None]:
    """SC(q) per problem: the recorded ``self_confidence`` of the scan labels where present (the pass
    rate over every response of the label stage's input), else the pass rate of the rows here over
    the responses whose outcome was decided (an undecided one is neither; None if none was decided)."""
    recorded: dict[str, float] = {}
    counts: dict[str, list[int]] = {}
    for c in candidates:
        extra = json.loads(c.row.get("label_extra") or "{}")
        if extra.get("self_confidence") is not None:
            recorded.setdefault(c.problem_id, float(extra["self_confidence"]))
        n = counts.setdefault(c.problem_id, [0, 0])
        if c.row["is_correct"] is not None:
            n[0] += bool(c.row["is_correct"])
            n[1] += 1
    return {pid: recorded.get(pid, ok / decided if decided else None) for pid, (ok, decided) in counts.items()}


def soft_labels(values: list[float | None], t_e: int, sc: float, tolerance: int) -> list[float | None]:
    """SCAN's tolerance labels for an incorrect response whose first zero estimate is step ``t_e``.

    ``min(1, c_t / SC)`` for the ``tolerance`` steps before t_e (dataset/SCAN-*/process.py:62-66); at
    SC = 0 (reachable only below SCAN's 0.75 confidence cut, process.py:35, where SCAN's code would
    divide by zero) the formula's limit for c_t > 0 is 1, as the ``scan`` labeler gives. An
    undecided c_t (None) leaves that step's label None; so does a c_t of 0 at SC = 0 (0/0)."""
    labels: list[float | None] = []
    for t in range(t_e):
        c_t = values[t] if t < len(values) else None
        if t >= t_e - tolerance:
            if c_t is None:
                labels.append(None)
            elif sc > 0:
                labels.append(min(1.0, c_t / sc))
            else:
                labels.append(1.0 if c_t > 0 else None)
        elif t < len(values) and values[t] is None:
            labels.append(None)  # the scan decided nothing here: unknown, never 1
        else:
            labels.append(1.0)
    return labels + [0.0]
