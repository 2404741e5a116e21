"""Math-Shepherd: per-step Monte-Carlo estimation (Wang et al., 2023, arXiv 2312.08935).

For every step t of a response with steps s_1..s_M, sample N completions from the prefix
s_1..s_t and check each final answer against the reference:

    soft (SE):  y_t = (# completions reaching the reference) / N
    hard (HE):  y_t = 1 if any completion reaches the reference, else 0

Paper: N = 8 completions per step (completer LLemma-7B). Cost O(N * M) per response. The last
step's prefix is the whole response, so its value is the response's own outcome (no rollouts).
``first_error`` is the first step whose hard label is 0.

Undecided (prmlabel's rule, not the paper's: it assumes every completion can be judged): a
continuation that failed in the backend or whose answer the checker cannot decide is left out of
the estimate (y_t over the decided ones) and counted in ``extra["undecided_rollouts"]``; a step
with no decided continuation is None (unknown), never 0.

Options: ``k`` (N), ``waves`` (0 = off; else sample in waves of this size and stop a step at the
first correct completion: same hard label, fewer rollouts, but then the soft value is only a
lower bound, so ``values`` hold the fraction seen so far and provenance records the waves),
``skip_correct`` (Math-Shepherd labels every response; True skips rollouts for correct responses
and labels all their steps 1, as SCAN does; the Qwen paper does not say it skips them).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from prmlabel.engine.types import LabelProgram, ResponseView, RolloutRequest, StepLabels
from prmlabel.labelers.base import final_step_outcome, first_error_of, hard_of, params_dict


@dataclass(frozen=True)
class MCParams:
    k: int = 8
    waves: int = 0
    skip_correct: bool = False


class MathShepherdMC:
    name: ClassVar[str] = "mc"
    paper: ClassVar[str] = "Math-Shepherd (Wang et al., 2023), arXiv 2312.08935"
    value_kind: ClassVar[str] = "probability"  # values: fraction of completions that reach the reference

    def __init__(self, params: MCParams | None = None):
        self.p = params or MCParams()

    def params(self) -> dict[str, Any]:
        return params_dict(self.p)

    def label(self, response: ResponseView) -> LabelProgram:
        m = len(response.steps)
        if self.p.skip_correct and response.is_correct:
            return StepLabels(values=[1.0] * m, hard=[True] * m, first_error=-1, extra={"skipped": "correct"})
        steps = range(1, m)  # prefixes s_1..s_t for t < M; the last step is the outcome
        undecided = 0  # continuations that failed in the backend or could not be judged
        if not steps:
            values: list[float | None] = []
        elif self.p.waves <= 0:
            results = yield [RolloutRequest(response.prefix(t), self.p.k) for t in steps]
            values = [r.mc for r in results]
            undecided = sum(r.n_undecided for r in results)
        else:
            seen = {t: 0 for t in steps}  # samples drawn
            decided = {t: 0 for t in steps}
            correct = {t: 0 for t in steps}
            while open_steps := [t for t in steps if correct[t] == 0 and seen[t] < self.p.k]:
                wave = [
                    RolloutRequest(response.prefix(t), min(self.p.waves, self.p.k - seen[t]), seen[t])
                    for t in open_steps
                ]
                results = yield wave
                for t, result in zip(open_steps, results, strict=True):
                    seen[t] += result.n
                    decided[t] += result.n_decided
                    correct[t] += result.n_correct
            values = [correct[t] / decided[t] if decided[t] else None for t in steps]
            undecided = sum(seen[t] - decided[t] for t in steps)
        values.append(final_step_outcome(response))
        hard = [hard_of(v) for v in values]
        extra = {"undecided_rollouts": undecided} if undecided else {}
        return StepLabels(values=list(values), hard=hard, first_error=first_error_of(hard), extra=extra)
