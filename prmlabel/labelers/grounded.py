"""GroundedPRM-style labels: tool verdicts, Monte-Carlo rollouts and the outcome, fused per step.

GroundedPRM (arXiv 2510.14942; code JerryPlain/GroundedPRMCode @76ec81e, ``pipeline/MCTS/mcts.py``)
verifies every simulated step with a tool (v = +1 / -1), scores the final answer (F = +1 / -1) and
aggregates a rollout path into one value for the node it starts from. Here the nodes are the steps of
the given response s_0..s_{M-1}, exact fractions / sympy (:mod:`prmlabel.verifiers.math_claims`) stand
in for Wolfram Alpha, and an unverifiable step counts 0.

Per response:

1. tool verdicts v_t of the response's own steps: +1 correct, -1 wrong, 0 unverifiable.
2. for every step t < M-1, ``k`` continuations of the prefix s_0..s_t (one round, as ``mc``). A
   continuation is split into steps (:func:`prmlabel.steps.split_steps`) w_1..w_n, each verified by the
   tool; F = +1 if it reaches the reference, else -1. The path's values are [v_t, w_1, ..., w_n];
   "replace the last by F, drop it and the first" (as ``backpropagate`` does) leaves u = [w_1..w_{n-1}],
   N = n - 1, and with 0-based j (the released code's indexing)

       V       = sum_{j=0}^{N-1} (1/N) * u_j * (N - j)/N      weights N/N, (N-1)/N, ..., 1/N
       final_V = V + F/N            (N >= 1)
       final_V = F                  (N = 0: a continuation of 0 or 1 steps)

   Worked example: w = [+1, -1, +1, +1], F = -1 -> u = [+1, -1, +1], N = 3,
   V = (1/3)(1*3/3 - 1*2/3 + 1*1/3) = (1/3)(2/3) = 2/9, final_V = 2/9 - 1/3 = -1/9.
   (Reading i as 1-based over [u..., F] with N = n, as the paper's prose can be read, would weight the
   last pre-outcome step (N-i)/N and F by 0: for the example V = 1/8, final_V = -1/8. We follow the code.)
   The step's fused value is the mean final_V over its k continuations; the last step's is the outcome
   F itself (its path is [v_{M-1}] -> N = 0 -> final_V = F). The step's own v_t is always dropped from
   the sum, as in GroundedPRM; it enters the labels below instead.
3. labels (``rule``):
   - ``grounded``: step t is negative if the tool found it wrong, else positive iff fused_t > 0.
     ``first_error`` is the first negative step; after it ``hard`` is None (GroundedPRM truncates
     negatives after the first non-positive step). ``values`` keep every fused value.
   - ``first_wrong``: the first tool-wrong step is the first error; if there is none, the first step
     t < M-1 whose MC fraction of correct continuations is 0, else the last step if the outcome is wrong.
     Steps before the error are positive, after it None.
   ``extra``: ``tool`` (verdicts), ``rationales``, ``mc`` (fraction correct per step; the last step's is
   the outcome 1.0 / 0.0), ``fused`` and ``decided_by`` (``tool`` | ``mc`` | ``outcome`` per step, None
   where the label is None).

Defaults (ours; GroundedPRM instead runs 8-12 MCTS rounds of 3 children, simulation depth 5-9):
``k = 4``, ``rule = "grounded"``, ``gamma = 0.9`` (GroundedPRM's ancestor decay 0.9^d; recorded only:
each step here is valued from its own continuations, there is no tree to back up through), ``timeout =
5.0`` seconds of tool time per response (all its steps and all its continuations' steps go to the
limited worker in ONE ``verify_steps`` call, the response's own steps first). Cost: k * (M - 1)
continuations per response, one round, plus one tool call.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from prmlabel.engine.types import LabelProgram, ResponseView, RolloutRequest, RolloutResult, StepLabels
from prmlabel.labelers.base import params_dict
from prmlabel.steps import split_steps
from prmlabel.verifiers.math_claims import CORRECT, WRONG, StepVerdict, verify_steps

RULES = ("grounded", "first_wrong")


@dataclass(frozen=True)
class GroundedParams:
    k: int = 4
    rule: str = "grounded"  # grounded | first_wrong
    gamma: float = 0.9
    timeout: float = 5.0


def tool_value(verdict: str) -> int:
    """+1 correct, -1 wrong, 0 unverifiable."""
    return 1 if verdict == CORRECT else -1 if verdict == WRONG else 0


def path_value(path: list[float], outcome: float) -> float:
    """GroundedPRM's aggregated value of one rollout path.

    ``path`` = [v of the valued step, v of each simulated step...], ``outcome`` = F (+1 / -1). Mirrors
    ``MCTS.simulate`` + ``MCTS.backpropagate``: the last value is replaced by F and popped, the first is
    popped, then V = sum_j (1/N) u_j (N - j)/N over 0-based j, and final_V = V + F/N (F if N = 0).
    """
    u = list(path[1:-1])  # drop the first (the valued step) and the last (replaced by F, then popped)
    n = len(u)
    if n == 0:
        return float(outcome)
    v = sum((1 / n) * u_j * (n - j) / n for j, u_j in enumerate(u))
    return v + outcome / n


class GroundedPRM:
    name: ClassVar[str] = "grounded"
    paper: ClassVar[str] = (
        "GroundedPRM (arXiv 2510.14942): tool-verified rollout paths fused with the outcome; "
        "exact fractions and sympy in place of Wolfram Alpha"
    )
    value_kind: ClassVar[str] = "score"  # values: fused path value in [-1, 1]

    def __init__(self, params: GroundedParams | None = None):
        self.p = params or GroundedParams()
        if self.p.rule not in RULES:
            raise ValueError(f"grounded: rule must be one of {', '.join(RULES)}, got {self.p.rule!r}")
        if self.p.k < 1:
            raise ValueError(f"grounded: k must be >= 1, got {self.p.k!r}")
        if not self.p.timeout > 0:
            raise ValueError(f"grounded: timeout must be positive, got {self.p.timeout!r}")

    def params(self) -> dict[str, Any]:
        return params_dict(self.p)

    def label(self, response: ResponseView) -> LabelProgram:
        m = len(response.steps)
        results: list[RolloutResult] = []
        if m > 1:  # step t's prefix is s_0..s_t, i.e. response.prefix(t + 1); the last step is the outcome
            results = yield [RolloutRequest(response.prefix(t + 1), self.p.k) for t in range(m - 1)]
        # one tool call for the response: its own steps first, then every continuation's steps
        sims = [[split_steps(r.text) for r in result.rollouts] for result in results]
        batch = list(response.steps) + [s for per_step in sims for steps in per_step for s in steps]
        verdicts = verify_steps(batch, timeout=self.p.timeout) if batch else []
        own, rest = verdicts[:m], iter(verdicts[m:])
        tool = [tool_value(v.verdict) for v in own]

        outcome = 1.0 if response.is_correct else -1.0
        fused: list[float] = []
        mc: list[float] = []
        for t, result in enumerate(results):
            finals = []
            for rollout, steps in zip(result.rollouts, sims[t], strict=True):
                path = [tool[t]] + [tool_value(next(rest).verdict) for _ in steps]
                finals.append(path_value(path, 1.0 if rollout.correct else -1.0))
            fused.append(sum(finals) / len(finals) if finals else 0.0)
            mc.append(result.mc)
        if m:
            fused.append(path_value([tool[m - 1]], outcome))
            mc.append(1.0 if response.is_correct else 0.0)

        label = self._grounded if self.p.rule == "grounded" else self._first_wrong
        hard, decided_by, first_error = label(tool, fused, mc)
        extra = {
            "tool": [v.verdict for v in own],
            "rationales": [_rationale(v) for v in own],
            "mc": mc,
            "fused": list(fused),
            "decided_by": decided_by,
        }
        return StepLabels(values=list(fused), hard=hard, first_error=first_error, extra=extra)

    @staticmethod
    def _grounded(tool: list[int], fused: list[float], mc: list[float]) -> tuple[list, list, int]:
        m = len(tool)
        hard: list[bool | None] = [None] * m
        decided_by: list[str | None] = [None] * m
        for t in range(m):
            if tool[t] < 0:
                hard[t], decided_by[t] = False, "tool"
            else:
                hard[t], decided_by[t] = fused[t] > 0, "outcome" if t == m - 1 else "mc"
            if not hard[t]:
                return hard, decided_by, t
        return hard, decided_by, -1

    @staticmethod
    def _first_wrong(tool: list[int], fused: list[float], mc: list[float]) -> tuple[list, list, int]:
        m = len(tool)
        if -1 in tool:
            error, by = tool.index(-1), "tool"
        else:
            error = next((t for t in range(m) if mc[t] == 0), -1)
            by = "outcome" if error == m - 1 else "mc"
        if error < 0:
            hard: list[bool | None] = [True] * m
            return hard, ["mc"] * (m - 1) + ["outcome"] * (m > 0), -1
        hard = [True] * error + [False] + [None] * (m - error - 1)
        if by == "tool":  # the tool located the error; the steps before it are positive because of that
            decided = [by] * (error + 1)
        else:  # MC said the earlier steps were still recoverable
            decided = ["mc"] * error + [by]
        return hard, decided + [None] * (m - error - 1), error


def _rationale(v: StepVerdict) -> str:
    return v.rationale or v.reason
