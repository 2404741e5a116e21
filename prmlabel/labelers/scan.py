"""SCAN: Self-Denoising Monte Carlo Annotation (Ding et al., 2025, arXiv 2509.16548).

The policy labels its own responses, and only where it is confident. Self-confidence of a question
is the policy's pass rate on it,

    SC(q) = (# correct responses) / (# responses)       (SCAN: 128 responses; keep SC >= 0.75)

Correct responses are labeled positive at every step with no rollouts. An incorrect response is
scanned from its first step: for step t, k completions of the prefix s_1..s_t give

    c_t = (# completions reaching the reference) / k

and the scan stops at the first t with c_t = 0, the error step t_e. Labels, with tolerance d:

    y_t = 0                      if t = t_e
    y_t = min(1, c_t / SC(q))    if t_e - d <= t < t_e      (the d steps just before the error)
    y_t = 1                      if t < t_e - d
    steps after t_e are truncated (no label)

Defaults, as in yyDing1/SCAN-PRM @463c201: k = 8, d = 2, SC threshold 0.75. An incorrect one-step
response is labeled 0 without rollouts. Cost <= k * (t_e + 1) rollouts per incorrect response, in
t_e + 1 rounds (one prefix per round: the scan is sequential by design).

How this maps onto prmlabel:

- ``values`` hold c_t for the scanned steps (None after t_e), ``hard`` is True before t_e, False at
  t_e, None after (unknown, never a negative); the tolerance-softened labels are ``extra["soft"]``.
- SC(q) is ``response.problem_pass_rate`` (the fraction of the problem's responses in the input that
  are correct), recorded as ``extra["self_confidence"]``. As in SCAN, an incorrect response of a
  question with SC < ``min_confidence`` is not scanned: its labels are unknown (first error null,
  ``extra["skipped"] = "low_confidence"``) and the filter stage drops the question.
  ``scan_unconfident=True`` scans them anyway, so one run can be filtered at several thresholds.
- The last step's prefix is the whole response, so its value is the response's own outcome (0 for an
  incorrect response) and costs nothing. SCAN's code does roll the whole response out, but a
  continuation of a finished answer almost never states a new correct one, so its c_last is ~0 and
  such responses keep t_e = last step. We therefore also set t_e = last step when no earlier prefix
  has c_t = 0, and mark it ``extra["no_zero_step"] = True`` (the zero came from the outcome, not from
  rollouts): SCAN drops incorrect responses whose scan finds no zero, and a filter that wants the
  strict reading can drop these rows.
- SC unknown (None, a response labeled outside ``prmlabel label``): the d steps keep c_t unscaled.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from prmlabel.engine.types import LabelProgram, ResponseView, RolloutRequest, StepLabels
from prmlabel.labelers.base import final_step_outcome, params_dict


@dataclass(frozen=True)
class SCANParams:
    k: int = 8  # completions per scanned prefix
    tolerance: int = 2  # d: steps before t_e whose label is softened to min(1, c_t / SC)
    min_confidence: float = 0.75  # questions with SC below it are not scanned (the filter drops them)
    scan_unconfident: bool = False  # True: scan them anyway, to filter one run at several thresholds


class SCAN:
    name: ClassVar[str] = "scan"
    paper: ClassVar[str] = "SCAN: Self-Denoising Monte Carlo Annotation (Ding et al., 2025), arXiv 2509.16548"
    value_kind: ClassVar[str] = "probability"  # values: c_t, fraction of completions correct

    def __init__(self, params: SCANParams | None = None):
        self.p = params or SCANParams()
        if self.p.k < 1:
            raise ValueError(f"scan needs k >= 1, got {self.p.k}")
        if self.p.tolerance < 0:
            raise ValueError(f"scan needs tolerance >= 0, got {self.p.tolerance}")

    def params(self) -> dict[str, Any]:
        return params_dict(self.p)

    def label(self, response: ResponseView) -> LabelProgram:
        m = len(response.steps)
        sc = response.problem_pass_rate
        extra: dict[str, Any] = {"self_confidence": sc, "min_confidence": self.p.min_confidence}
        if response.is_correct:
            # A correct response is trusted whole: SCAN spends no rollouts on it.
            return StepLabels([1.0] * m, [True] * m, -1, {**extra, "soft": [1.0] * m, "skipped": "correct"})
        if sc is not None and sc < self.p.min_confidence and not self.p.scan_unconfident:
            # SCAN keeps only confident questions before it annotates; scanning the others would
            # spend most of the rollouts on rows the filter drops. Unknown, never negative.
            return StepLabels([None] * m, [None] * m, None, {**extra, "skipped": "low_confidence"})
        # Sequential scan: one prefix per round, stop at the first prefix no completion can save.
        c: list[float] = []
        for t in range(m - 1):
            (result,) = yield [RolloutRequest(response.prefix(t + 1), self.p.k)]
            c.append(result.mc)
            if result.mc == 0.0:
                break
        no_zero = not c or c[-1] > 0.0
        if no_zero:
            # No prefix before the last scored 0 (or a one-step response): the last step is the
            # outcome, 0 for an incorrect response, so the error is placed on the last step.
            c.append(final_step_outcome(response))
        t_e = len(c) - 1
        if m > 1 and no_zero:
            extra["no_zero_step"] = True
        extra["soft"] = self._soft(c, sc) + [None] * (m - t_e - 1)
        extra["error_step"] = t_e
        values: list[float | None] = [*c, *([None] * (m - t_e - 1))]
        hard: list[bool | None] = [True] * t_e + [False] + [None] * (m - t_e - 1)
        return StepLabels(values=values, hard=hard, first_error=t_e, extra=extra)

    def _soft(self, c: list[float], sc: float | None) -> list[float]:
        """SCAN's tolerance labels for steps 0..t_e, where ``c[t_e] == 0`` and every earlier c_t > 0."""
        t_e = len(c) - 1
        soft = [1.0] * t_e + [0.0]
        for t in range(max(0, t_e - self.p.tolerance), t_e):
            # c_t / SC: a prefix that keeps the policy's usual success rate is fully positive; one
            # near the error that only sometimes recovers is uncertain. SC = 0 leaves the label 1
            # (c_t > 0 here); SC unknown leaves c_t unscaled.
            if sc is None:
                soft[t] = min(1.0, c[t])
            elif sc <= 0.0:
                soft[t] = 1.0
            else:
                soft[t] = min(1.0, c[t] / sc)
        return soft
