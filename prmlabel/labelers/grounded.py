"""GroundedPRM-style labels: tool verdicts, Monte-Carlo rollouts and the outcome, fused per step.

GroundedPRM (arXiv 2510.14942; code JerryPlain/GroundedPRMCode @76ec81e, ``pipeline/MCTS/mcts.py``)
verifies every simulated step with a tool (v = +1 / -1), scores the final answer (F = +1 / -1),
aggregates a rollout path into one value for the node it starts from and adds that value, decayed by
0.9 per level, to every ancestor (``backpropagate``, mcts.py:134-165). Here the nodes are the steps of
the given response s_0..s_{M-1}, a chain (step t is an ancestor of every later step), exact
fractions / sympy (:mod:`prmlabel.verifiers.math_claims`) stand in for Wolfram Alpha, and an
unverifiable step counts 0.

Per response:

1. tool verdicts v_t of the response's own steps: +1 correct, -1 wrong, 0 unverifiable.
2. for every step t < M-1, ``k`` continuations of the prefix s_0..s_t (one round, as ``mc``). A
   continuation is split into steps (:func:`prmlabel.text.steps.split_steps`) w_1..w_n, each verified by the
   tool; F = +1 if it reaches the reference, -1 if not; a continuation whose outcome is undecided
   (``Rollout.correct is None``) has no F and is left out (counted). The path's values are
   [v_t, w_1, ..., w_n]; "replace the last by F, drop it and the first" (mcts.py:125, 137-140) leaves
   u = [w_1..w_{n-1}], N = n - 1, and with 0-based j (mcts.py:144-150)

       V       = sum_{j=0}^{N-1} (1/N) * u_j * (N - j)/N      weights N/N, (N-1)/N, ..., 1/N
       final_V = V + F/N            (N >= 1)
       final_V = F                  (N = 0: a continuation of 0 or 1 steps)

   Worked example: w = [+1, -1, +1, +1], F = -1 -> u = [+1, -1, +1], N = 3,
   V = (1/3)(1*3/3 - 1*2/3 + 1*1/3) = (1/3)(2/3) = 2/9, final_V = 2/9 - 1/3 = -1/9.
   (Reading i as 1-based over [u..., F] with N = n, as the paper's prose can be read, would weight the
   last pre-outcome step (N-i)/N and F by 0: for the example V = 1/8, final_V = -1/8. We follow the code.)
   own_t = the mean final_V over step t's decided continuations (None if none was decided); the last
   step's own value is the outcome F itself (its path is [v_{M-1}] -> N = 0 -> final_V = F; None when
   the response's outcome is undecided). The step's own v_t is dropped from the sum, as in GroundedPRM;
   it enters the labels below instead.
3. back-up (mcts.py:151-161): every step also receives its descendants' values, decayed by ``gamma``
   per level: fused_t = own_t + sum_{d >= 1} gamma^d * own_{t+d} (undecided own values add nothing;
   fused_t is None when own_t is). ``gamma = 0`` values each step from its own continuations only.
4. labels (``rule``):
   - ``grounded``: step t is negative if the tool found it wrong, else positive iff fused_t > 0,
     negative iff fused_t < 0; fused_t None or exactly 0 is undecided (None; GroundedPRM drops a
     sample holding a step score of 0, ``data_process/construct.py:69``). After the first negative step
     ``hard`` is None (GroundedPRM truncates negatives after the first non-positive step,
     construct.py:99-127). ``values`` keep every fused value.
   - ``first_wrong``: the first tool-wrong step is the first error; if there is none, the first step
     t < M-1 whose MC fraction of correct continuations is 0, else the last step if the outcome is wrong.
     Steps before the error are positive, after it None. A step whose MC is None (nothing decided), or
     an undecided outcome, met before any error, leaves it and every later step None.
   ``first_error`` is :func:`prmlabel.labelers.base.first_error_of` of ``hard``.
   ``extra``: ``tool`` (verdicts), ``rationales``, ``mc`` (fraction correct per step, None if nothing
   was decided; the last step's is the outcome 1.0 / 0.0 / None), ``own`` (own_t), ``fused``,
   ``decided_by`` (``tool`` | ``mc`` | ``outcome`` per step, None where the label is None) and the
   counts ``undecided_rollouts`` (continuations with no decided outcome), ``zero_value_steps`` (fused
   exactly 0) and ``undecided_steps`` (labels left None before the first error, or in the whole
   response when there is none), and ``contradicting_steps`` (steps whose tool verdict and fused sign
   disagree; GroundedPRM drops such samples, construct.py:54-96).

Defaults (ours; GroundedPRM instead runs 8-12 MCTS rounds of 3 children, simulation depth 5-9):
``k = 4``, ``rule = "grounded"``, ``gamma = 0.9`` (GroundedPRM's ``delay_weight``, mcts.py:154),
``timeout = 5.0`` seconds of tool time per response (all its steps and all its continuations' steps go
to the limited worker in ONE ``verify_steps`` call, the response's own steps first). Cost: k * (M - 1)
continuations per response, one round, plus one tool call.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from prmlabel.engine.types import LabelProgram, ResponseView, RolloutRequest, RolloutResult, StepLabels
from prmlabel.labelers.base import first_error_of, params_dict
from prmlabel.text.steps import split_steps
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


def back_up(own: list[float | None], gamma: float) -> list[float | None]:
    """fused_t = own_t + sum_{d>=1} gamma^d own_{t+d}: each step is an ancestor of the later ones.

    As ``MCTS.backpropagate`` adds ``0.9 ** dis * final_V`` to every ancestor of the valued node; an
    undecided (None) own value adds nothing, and a step whose own value is None stays None."""
    fused: list[float | None] = [None] * len(own)
    below = 0.0  # sum_{d>=1} gamma^(d-1) own_{t+d}, built from the last step back
    for t in range(len(own) - 1, -1, -1):
        if own[t] is not None:
            fused[t] = own[t] + gamma * below
        below = (own[t] or 0.0) + gamma * below
    return fused


class GroundedPRM:
    name: ClassVar[str] = "grounded"
    paper: ClassVar[str] = (
        "GroundedPRM (arXiv 2510.14942): tool-verified rollout paths fused with the outcome; "
        "exact fractions and sympy in place of Wolfram Alpha"
    )
    value_kind: ClassVar[str] = "score"  # values: signed fused path value, backed up with decay gamma

    def __init__(self, params: GroundedParams | None = None):
        self.p = params or GroundedParams()
        if self.p.rule not in RULES:
            raise ValueError(f"grounded: rule must be one of {', '.join(RULES)}, got {self.p.rule!r}")
        if self.p.k < 1:
            raise ValueError(f"grounded: k must be >= 1, got {self.p.k!r}")
        if not self.p.timeout > 0:
            raise ValueError(f"grounded: timeout must be positive, got {self.p.timeout!r}")
        if not 0 <= self.p.gamma <= 1:
            raise ValueError(f"grounded: gamma must be in [0, 1], got {self.p.gamma!r}")

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
        own_verdicts, rest = verdicts[:m], iter(verdicts[m:])
        tool = [tool_value(v.verdict) for v in own_verdicts]

        own: list[float | None] = []
        mc: list[float | None] = []
        undecided_rollouts = 0
        for t, result in enumerate(results):
            finals = []
            for rollout, steps in zip(result.rollouts, sims[t], strict=True):
                path = [tool[t]] + [tool_value(next(rest).verdict) for _ in steps]
                if rollout.correct is None:  # no outcome F: the path has no value (never -1)
                    undecided_rollouts += 1
                    continue
                finals.append(path_value(path, 1.0 if rollout.correct else -1.0))
            own.append(sum(finals) / len(finals) if finals else None)
            mc.append(result.mc)
        if m:
            outcome = None if response.is_correct is None else (1.0 if response.is_correct else -1.0)
            own.append(None if outcome is None else path_value([tool[m - 1]], outcome))
            mc.append(None if response.is_correct is None else 1.0 if response.is_correct else 0.0)
        fused = back_up(own, self.p.gamma)

        label = self._grounded if self.p.rule == "grounded" else self._first_wrong
        hard, decided_by = label(tool, fused, mc)
        first_error = first_error_of(hard)
        cut = first_error if first_error is not None and first_error >= 0 else m
        extra = {
            "tool": [v.verdict for v in own_verdicts],
            "rationales": [_rationale(v) for v in own_verdicts],
            "mc": mc,
            "own": own,
            "fused": list(fused),
            "decided_by": decided_by,
            "undecided_rollouts": undecided_rollouts,
            "zero_value_steps": sum(value == 0 for value in fused if value is not None),
            "undecided_steps": sum(h is None for h in hard[:cut]),
            "contradicting_steps": _contradictions(tool, fused),
        }
        return StepLabels(values=list(fused), hard=hard, first_error=first_error, extra=extra)

    @staticmethod
    def _grounded(tool: list[int], fused: list[float | None], mc: list[float | None]) -> tuple[list, list]:
        m = len(tool)
        hard: list[bool | None] = [None] * m
        decided_by: list[str | None] = [None] * m
        for t in range(m):
            by = "outcome" if t == m - 1 else "mc"
            value = fused[t]
            if tool[t] < 0:
                hard[t], decided_by[t] = False, "tool"
            elif value is None or value == 0:  # undecided: GroundedPRM drops a sample with a 0 score
                continue
            else:
                hard[t], decided_by[t] = value > 0, by
            if hard[t] is False:
                break
        return hard, decided_by

    @staticmethod
    def _first_wrong(tool: list[int], fused: list[float | None], mc: list[float | None]) -> tuple[list, list]:
        m = len(tool)
        if -1 in tool:  # the tool located the error; the steps before it are positive because of that
            error = tool.index(-1)
            hard: list[bool | None] = [True] * error + [False] + [None] * (m - error - 1)
            return hard, ["tool"] * (error + 1) + [None] * (m - error - 1)
        hard = [None] * m
        decided_by: list[str | None] = [None] * m
        for t in range(m):
            if mc[t] is None:  # nothing decided here: neither this step nor any later one is known
                break
            hard[t], decided_by[t] = mc[t] != 0, "outcome" if t == m - 1 else "mc"
            if not hard[t]:
                break
        return hard, decided_by


def _contradictions(tool: list[int], fused: list[float | None]) -> list[int]:
    """Steps whose tool verdict (+1 / -1) and fused sign disagree: GroundedPRM drops such a sample
    (``data_process/construct.py:54-96``); here they are listed so that a filter can."""
    return [t for t, (v, f) in enumerate(zip(tool, fused, strict=True)) if f is not None and v * f < 0]


def _rationale(v: StepVerdict) -> str:
    return v.rationale or v.reason
