"""Relative Progress Estimation (RPE), GenPRM (Zhao et al., 2025, arXiv 2504.00891).

Plain MC labels a step by how often the policy can still finish from it, so a step in a hard
problem looks bad even when it is right. RPE labels a step by how much it changed that chance:

    MC(s_1)     = Pass@1 of the policy on the question (completions of the empty prefix)
    MC_t        = MC(s_t, a_t): fraction of k completions of the prefix through step t that are correct
    P_t         = MC_t / MC_{t-1}        with MC_{-1} = MC(s_1)
    y_t         = 1 if P_t >= eps else 0

GenPRM: "after a zero MC all later 0", so once any MC in the chain (including MC(s_1)) is 0, every
later P_t is 0; this also settles the division by zero. Defaults (RyanLiu112/GenPRM @cc80f47): eps = 0.8
(ProcessBench ablation: eps .1/.5/.8/1.0 = 73.5/73.5/75.2/72.3, hard MC labels 73.2) and K chosen by
Pass@1: 128 completions if Pass@1 < 0.1, 64 if < 0.9, 32 otherwise.

How this maps onto prmlabel:

- ``k`` (default 8) is the number of completions per prefix. ``adaptive_k=True`` picks GenPRM's K
  from ``response.problem_pass_rate`` (the fraction of the problem's responses in the input that are
  correct) as the Pass@1 proxy, before any rollout; unknown pass rate falls back to ``k``. The k used
  is ``extra["k"]``. The default is not adaptive because 32-128 completions per step is GenPRM's
  budget for a 23K-sample set, far above what most runs can afford.
- All prefixes (the empty one and steps 1..M-1) are requested in ONE round. The empty prefix is the
  same for every response of a problem, so the scheduler's cache draws its samples once.
- The last step's MC is the response's own outcome (its prefix is the whole answer), no rollouts,
  as in GenPRM's code. A correct response's last P_t is then 1 / MC_{t-1} >= 1, an incorrect one's 0.
- P_t may exceed 1 (a step that made success more likely); ``values`` keep it unclipped.
- ``values[t] = P_t``, ``hard[t] = P_t >= eps`` for every step (RPE labels each step on its own; no
  truncation after the first error), ``first_error`` the first step with P_t < eps.
  ``extra["mc"]`` holds MC_0..MC_{M-1} (one per step), ``extra["mc_start"]`` MC(s_1).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from prmlabel.engine.types import LabelProgram, ResponseView, RolloutRequest, StepLabels
from prmlabel.labelers.base import final_step_outcome, params_dict


@dataclass(frozen=True)
class RPEParams:
    k: int = 8  # completions per prefix (when not adaptive)
    eps: float = 0.8  # label 1 iff P_t >= eps
    adaptive_k: bool = False  # GenPRM's K by Pass@1: 128 / 64 / 32


def adaptive_k(pass_rate: float) -> int:
    """GenPRM's completions per prefix: more where the policy rarely succeeds (MC estimates are coarse)."""
    if pass_rate < 0.1:
        return 128
    if pass_rate < 0.9:
        return 64
    return 32


def relative_progress(mc: list[float]) -> list[float]:
    """P_t = mc[t + 1] / mc[t] for a chain [MC(s_1), MC_0, ..., MC_{M-1}]; 0 from the first zero MC on."""
    progress: list[float] = []
    zero_seen = False
    for before, after in zip(mc, mc[1:], strict=False):
        # "After a zero MC all later 0": a zero up the chain zeroes every later step, even where a later
        # estimate is positive again (sampling noise or a lucky recovery); it also avoids dividing by 0.
        zero_seen = zero_seen or before == 0.0
        progress.append(0.0 if zero_seen else after / before)
    return progress


class RelativeProgress:
    name: ClassVar[str] = "rpe"
    paper: ClassVar[str] = "GenPRM relative progress estimation (Zhao et al., 2025), arXiv 2504.00891"
    value_kind: ClassVar[str] = "ratio"  # values: P_t = MC_t / MC_{t-1}, may exceed 1

    def __init__(self, params: RPEParams | None = None):
        self.p = params or RPEParams()
        if self.p.k < 1:
            raise ValueError(f"rpe needs k >= 1, got {self.p.k}")

    def params(self) -> dict[str, Any]:
        return params_dict(self.p)

    def label(self, response: ResponseView) -> LabelProgram:
        m = len(response.steps)
        k = self.p.k
        if self.p.adaptive_k and response.problem_pass_rate is not None:
            k = adaptive_k(response.problem_pass_rate)
        # The question alone (prefix "") gives MC(s_1); prefixes through steps 0..M-2 give MC_t.
        prefixes = [response.prefix(t) for t in range(m)]
        results = yield [RolloutRequest(prefix, k) for prefix in prefixes]
        mc = [r.mc for r in results] + [final_step_outcome(response)]  # [MC(s_1), MC_0, ..., MC_{M-1}]
        progress = relative_progress(mc)
        hard = [p >= self.p.eps for p in progress]
        first_error = next((t for t, h in enumerate(hard) if not h), -1)
        return StepLabels(
            values=list(progress),
            hard=list(hard),
            first_error=first_error,
            extra={"mc": mc[1:], "mc_start": mc[0], "k": k, "pass_rate": response.problem_pass_rate},
        )
