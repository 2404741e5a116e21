"""Relative Progress Estimation (RPE), GenPRM (Zhao et al., 2025, arXiv 2504.00891).

Plain MC labels a step by how often the policy can still finish from it, so a step in a hard
problem looks bad even when it is right. RPE labels a step by how much it changed that chance:

    MC(s_1)     = Pass@1 of the policy on the question (completions of the empty prefix)
    MC_t        = MC(s_t, a_t): fraction of k completions of the prefix through step t that are correct
    P_t         = MC_t / MC_{t-1}        with MC_{-1} = MC(s_1)
    y_t         = 1 if P_t >= eps else 0

GenPRM §3.2.2: "if the first erroneous step is step t' (MC(s_t') = 0), we set the MC score of the
following steps to 0", so once an MC_t in the chain is 0, every later P_t is 0. Defaults (paper §3.2,
§4.1; RyanLiu112/GenPRM @cc80f47): eps = 0.8 (ProcessBench ablation, Table 3: eps .1/.5/.8/1.0 =
73.5/73.5/75.2/72.3, hard MC labels 73.2) and K chosen by the estimated Pass@1 MC(s_1), eq. (9):
128 completions if MC(s_1) < 0.1, 64 if < 0.9, 32 otherwise.

How this maps onto prmlabel:

- MC(s_1) is estimated from completions of the question alone (the empty prefix), as the released
  code's ``completor_score`` (src/reward_generation/math_shepherd_ray.py:290-299). A question whose
  MC(s_1) is 0 is skipped there (:331, :346-347: "No effective completor answer, skip!"), so here
  every step of its responses is null (``extra["skipped"] = "zero_start"``), never 0: a correct
  response is not labeled all wrong. MC(s_1) with no decided completion: ``"start_undecided"``.
- ``k`` (default 8) is the number of completions per prefix. ``adaptive_k=True`` first draws
  ``start_k`` completions of the question (one round; the empty prefix is the same for every
  response of a problem, so the scheduler's cache draws them once), then chooses K by eq. (9) from
  that MC(s_1) and draws K completions of every step prefix (a second round). Not adaptive: all
  prefixes, the empty one included, in one round with ``k`` each. The k used is ``extra["k"]``.
- The last step's MC is the response's own outcome (its prefix is the whole answer), no rollouts,
  as in GenPRM's code (:102-107). A correct response's last P_t is then 1 / MC_{t-1} >= 1.
- P_t may exceed 1 (a step that made success more likely); ``values`` keep it unclipped.
- ``values[t] = P_t``, ``hard[t] = P_t >= eps`` for every step (RPE labels each step on its own; no
  truncation after the first error), ``first_error`` the first step decided wrong
  (:func:`~prmlabel.labelers.base.first_error_of`). ``extra["mc"]`` holds MC_0..MC_{M-1},
  ``extra["mc_start"]`` MC(s_1).
- Unknown stays unknown: an MC with no decided completion makes P_t null for its own step and the
  next (a ratio needs both), except where the zero rule decides it: a zero MC gives P = 0 whatever
  came before. Counted: ``extra["undecided_rollouts"]``, ``extra["undecided_steps"]``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from prmlabel.engine.types import LabelProgram, ResponseView, RolloutRequest, StepLabels
from prmlabel.labelers.base import final_step_outcome, first_error_of, params_dict


@dataclass(frozen=True)
class RPEParams:
    k: int = 8  # completions per prefix (when not adaptive)
    eps: float = 0.8  # label 1 iff P_t >= eps
    adaptive_k: bool = False  # GenPRM's K by the estimated Pass@1 MC(s_1): 128 / 64 / 32
    start_k: int = 32  # with adaptive_k: completions of the question alone that estimate MC(s_1)


def adaptive_k(pass_rate: float) -> int:
    """GenPRM's completions per prefix: more where the policy rarely succeeds (MC estimates are coarse)."""
    if pass_rate < 0.1:
        return 128
    if pass_rate < 0.9:
        return 64
    return 32


def relative_progress(mc: list[float | None]) -> list[float | None]:
    """P_t = mc[t + 1] / mc[t] for a chain [MC(s_1), MC_0, ..., MC_{M-1}]; 0 from the first zero MC on.

    None (no decided completion) makes the ratio unknown on both sides of it, unless a zero decides it.
    """
    progress: list[float | None] = []
    zero_seen = False
    for before, after in zip(mc, mc[1:], strict=False):
        # "After a zero MC all later 0": a zero up the chain zeroes every later step, even where a later
        # estimate is positive again (sampling noise or a lucky recovery); it also avoids dividing by 0.
        zero_seen = zero_seen or before == 0.0
        if zero_seen or after == 0.0:
            progress.append(0.0)  # 0 / MC: 0 whatever the MC before (were it 0, the zero rule gives 0)
        elif before is None or after is None:
            progress.append(None)
        else:
            progress.append(after / before)
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
        # The question alone (prefix "") gives MC(s_1); prefixes through steps 0..M-2 give MC_t.
        if self.p.adaptive_k:
            (start,) = yield [RolloutRequest(response.prefix(0), self.p.start_k)]
            results = [start]
            if start.mc and m > 1:  # K by eq. (9), and rollouts only where there is something to label
                k = adaptive_k(start.mc)
                results += yield [RolloutRequest(response.prefix(t), k) for t in range(1, m)]
            elif start.mc:
                k = adaptive_k(start.mc)
        else:
            results = yield [RolloutRequest(response.prefix(t), k) for t in range(m)]
        undecided_rollouts = sum(r.n_undecided for r in results)
        mc_start = results[0].mc
        extra: dict[str, Any] = {"mc_start": mc_start, "k": k, "undecided_rollouts": undecided_rollouts}
        if not mc_start:
            # GenPRM skips a question whose completer never solves it (math_shepherd_ray.py:331, :346-347):
            # no ratio has a denominator. Unknown, never "every step wrong".
            extra["skipped"] = "start_undecided" if mc_start is None else "zero_start"
            return StepLabels([None] * m, [None] * m, None, {**extra, "undecided_steps": m})
        mc = [r.mc for r in results] + [final_step_outcome(response)]  # [MC(s_1), MC_0, ..., MC_{M-1}]
        progress = relative_progress(mc)
        hard = [None if p is None else p >= self.p.eps for p in progress]
        extra.update({"mc": mc[1:], "undecided_steps": sum(h is None for h in hard)})
        return StepLabels(values=progress, hard=hard, first_error=first_error_of(hard), extra=extra)
