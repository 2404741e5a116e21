"""Process advantage labels, "Rewarding Progress" (Setlur et al., 2024, arXiv 2410.08146).

A step's reward should measure progress: how much it changed the chance of finishing correctly,
measured under a prover policy mu distinct from the policy pi that wrote the response. With
Q^pi_t the fraction of k completions of the prefix through step t that are correct (Q^pi_{-1}
from the question alone), the prover Best-of-K(pi) has the closed form

    Q^mu_t = 1 - (1 - Q^pi_t)^K                      (Best-of-K succeeds if any of K tries does)
    A^mu_t = Q^mu_t - Q^mu_{t-1}                     (the step's advantage under the prover)
    effective reward_t = Q^pi_t + alpha * A^mu_t     (what the paper's PAV-guided search scores)

Paper defaults: n_mc = 20 completions per prefix, K = 4 (the best prover for their policies),
alpha = 0.5 (search with 2B/9B policies; 0.2 for 27B). Cost: k * M rollouts, one round.

How this maps onto prmlabel:

- ``values[t] = A^mu_t``, the dense per-step reward the paper trains its verifier on.
  ``extra["q"]`` holds Q^pi_t per step, ``extra["q_start"]`` Q^pi_{-1}, ``extra["q_prover"]``
  Q^mu_t and ``extra["effective"]`` Q^pi_t + alpha * A^mu_t.
- The paper has no hard labels or first error; a PRM dataset needs both, so we decide:
  ``hard[t] = A^mu_t >= -threshold`` (the step did not lose more than ``threshold`` of the prover's
  success) and ``first_error`` = the first step with a False hard label. Every step is labeled
  (advantages are per step; there is no truncation after a bad one).
- ``threshold`` defaults to 0.05, not 0: near Q^pi = 1 the prover is saturated (Best-of-4 at 0.95 vs
  0.90 differs by 1e-4), so with k = 20 the sign of a small advantage is sampling noise. On the
  synthetic end-to-end set of tests/labelers/test_pav.py (120 responses, slip 0.05), threshold 0
  gave 76 of 102 correct responses a "first error"; 0.05 gave none and kept every gold first error.
  0.05 forgives about one lost sample in 20 where the prover is not saturated. ``params.threshold=0`` is the literal
  "any negative advantage" reading.
- Where the prover cannot succeed before or after a step (Q^pi = 0 on both sides) the advantage is
  0, but it tells nothing about the step: the prover cannot tell good steps from bad ones there
  (the paper's point about provers that are too weak). Its value stays 0.0 and its hard label is
  null (``extra["no_signal_steps"]``), so an incorrect response to a question the policy never
  solves gets first error null, not the false "no error" (-1) a zero advantage would give.
- Unknown stays unknown: a Q^pi with no decided completion (or an outcome the checker could not
  decide, for the last step) makes the advantage of its own step and of the next one null.
  Counted: ``extra["undecided_rollouts"]``, ``extra["undecided_steps"]``.
- The last step's Q^pi is the response's own outcome (its prefix is the whole answer), no rollouts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from prmlabel.engine.types import LabelProgram, ResponseView, RolloutRequest, StepLabels
from prmlabel.labelers.base import final_step_outcome, first_error_of, params_dict


@dataclass(frozen=True)
class PAVParams:
    k: int = 20  # n_mc: completions per prefix estimating Q^pi
    prover_k: int = 4  # K of the Best-of-K prover
    alpha: float = 0.5  # weight of the advantage in the effective reward (recorded in extra)
    threshold: float = 0.05  # a step is bad when its advantage is below -threshold (see the docstring)


def best_of_k(q: float, k: int) -> float:
    """Success probability of Best-of-K sampling from a policy that succeeds with probability q."""
    return 1.0 - (1.0 - q) ** k


class ProcessAdvantage:
    name: ClassVar[str] = "pav"
    paper: ClassVar[str] = "Rewarding Progress: process advantage verifiers (Setlur et al., 2024), arXiv 2410.08146"
    value_kind: ClassVar[str] = "advantage"  # values: A^mu_t, signed change in the prover's success

    def __init__(self, params: PAVParams | None = None):
        self.p = params or PAVParams()
        if self.p.k < 1 or self.p.prover_k < 1:
            raise ValueError(f"pav needs k >= 1 and prover_k >= 1, got k={self.p.k}, prover_k={self.p.prover_k}")

    def params(self) -> dict[str, Any]:
        return params_dict(self.p)

    def label(self, response: ResponseView) -> LabelProgram:
        m = len(response.steps)
        # The question alone (prefix "") gives Q_{-1}; prefixes through steps 0..M-2 give Q_t.
        results = yield [RolloutRequest(response.prefix(t), self.p.k) for t in range(m)]
        q = [r.mc for r in results] + [final_step_outcome(response)]  # [Q_{-1}, Q_0, ..., Q_{M-1}]
        prover = [None if v is None else best_of_k(v, self.p.prover_k) for v in q]
        pairs = list(zip(prover, prover[1:], strict=False))
        advantage = [None if a is None or b is None else b - a for a, b in pairs]
        no_signal = [a == 0.0 and b == 0.0 for a, b in pairs]  # the prover fails on both sides
        hard: list[bool | None] = [
            None if adv is None or blind else adv >= -self.p.threshold
            for adv, blind in zip(advantage, no_signal, strict=True)
        ]
        effective = [
            None if qt is None or adv is None else qt + self.p.alpha * adv
            for qt, adv in zip(q[1:], advantage, strict=True)
        ]
        extra = {
            "q": q[1:],
            "q_start": q[0],
            "q_prover": prover[1:],
            "effective": effective,
            "undecided_rollouts": sum(r.n_undecided for r in results),
            "undecided_steps": sum(adv is None for adv in advantage),
            "no_signal_steps": sum(no_signal),
        }
        return StepLabels(values=advantage, hard=hard, first_error=first_error_of(hard), extra=extra)
