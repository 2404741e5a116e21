"""first_low_mc: the first step whose Monte-Carlo estimate over k continuations is below 0.5 is wrong.

Steps are scanned in order, one round per step; the scan stops at the first low step, so the
steps after it stay unknown (None). A step whose continuations were all undecided is None too.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, ClassVar

from prmlabel.engine.types import LabelProgram, ResponseView, RolloutRequest, StepLabels
from prmlabel.labelers.base import final_step_outcome, first_error_of


@dataclass(frozen=True)
class FirstLowMCParams:
    k: int = 4  # continuations per step
    threshold: float = 0.5  # a step whose MC is below this is the first error


class FirstLowMC:
    name: ClassVar[str] = "first_low_mc"
    paper: ClassVar[str] = "example rule: first step with MC < 0.5 over k = 4 continuations"
    value_kind: ClassVar[str] = "probability"
    Params: ClassVar[type] = FirstLowMCParams

    def __init__(self, params: FirstLowMCParams | None = None):
        self.p = params or FirstLowMCParams()

    def params(self) -> dict[str, Any]:
        return asdict(self.p)

    def label(self, response: ResponseView) -> LabelProgram:
        m = len(response.steps)
        values: list[float | None] = [None] * m
        undecided = 0
        for t in range(1, m):  # the prefix of steps 1..t; the last step is the response's outcome
            (result,) = yield [RolloutRequest(response.prefix(t), self.p.k)]
            values[t - 1] = result.mc  # None when no continuation was decided
            undecided += result.n_undecided
            if result.mc is not None and result.mc < self.p.threshold:
                break
        else:
            if m:
                values[m - 1] = final_step_outcome(response)
        hard = [None if v is None else v >= self.p.threshold for v in values]
        extra = {"undecided_rollouts": undecided} if undecided else {}
        return StepLabels(values=values, hard=hard, first_error=first_error_of(hard), extra=extra)
