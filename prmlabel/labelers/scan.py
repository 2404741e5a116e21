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
- The scan goes through the last step, whose prefix is the whole response, as SCAN's code does
  (src/eval_prm/main_datasyn.py:96): its continuations almost never state a new correct answer, so
  c_last is ~0 and t_e = last step. If even that estimate is positive, t_e is still the last step
  (main_datasyn.py:96-97) and ``extra["no_zero_step"] = True``: SCAN's label script drops such
  responses (dataset/SCAN-Base/process.py:56-57), the filter's ``drop_no_zero_step`` does here.
- Unknown stays unknown: a response whose outcome the checker could not decide is not scanned (every
  step null, ``skipped = "outcome_undecided"``); an estimate with no decided continuation stops the
  scan with that step and the later ones null and first error null (``undecided_steps``). Undecided
  continuations are left out of c_t and counted in ``extra["undecided_rollouts"]``.
- SC unknown (None, a response labeled outside ``prmlabel label``): the d steps keep c_t unscaled.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from prmlabel.engine.types import LabelProgram, ResponseView, RolloutRequest, StepLabels
from prmlabel.labelers.base import first_error_of, params_dict


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
        if response.is_correct is None:
            # SCAN chooses by the outcome whether to scan at all; an outcome the checker could not decide
            # leaves every step unknown (no rollouts spent), never all-positive or all-negative.
            extra.update({"skipped": "outcome_undecided", "undecided_steps": m})
            return StepLabels([None] * m, [None] * m, None, extra)
        if response.is_correct:
            # A correct response is trusted whole: SCAN spends no rollouts on it (main_datasyn.py:33-34).
            return StepLabels([1.0] * m, [True] * m, -1, {**extra, "soft": [1.0] * m, "skipped": "correct"})
        if sc is not None and sc < self.p.min_confidence and not self.p.scan_unconfident:
            # SCAN keeps only confident questions before it annotates; scanning the others would
            # spend most of the rollouts on rows the filter drops. Unknown, never negative.
            return StepLabels([None] * m, [None] * m, None, {**extra, "skipped": "low_confidence"})
        if m == 1:
            # An incorrect one-step response is labeled 0 without rollouts (main_datasyn.py:35-36).
            return StepLabels([0.0], [False], 0, {**extra, "soft": [0.0], "error_step": 0, "skipped": "one_step"})
        # Sequential scan: one prefix per round, through the last step (main_datasyn.py:96), stopping
        # at the first prefix no completion can save. An estimate with no decided rollout stops it too:
        # whether that step was the error is unknown, so it and every later step stay null.
        c: list[float | None] = []
        undecided_rollouts = 0
        for t in range(m):
            (result,) = yield [RolloutRequest(response.prefix(t + 1), self.p.k)]
            undecided_rollouts += result.n_undecided
            c.append(result.mc)
            if result.mc is None or result.mc == 0.0:
                break
        extra["undecided_rollouts"] = undecided_rollouts
        if c[-1] is None:
            t = len(c) - 1
            extra["undecided_steps"] = 1
            values_u: list[float | None] = [*c[:t], *([None] * (m - t))]
            hard_u: list[bool | None] = [True] * t + [None] * (m - t)
            return StepLabels(values_u, hard_u, None, {**extra, "soft": [None] * m, "error_step": None})
        decided = [v for v in c if v is not None]
        if decided[-1] > 0.0:
            # Even the whole response's continuations reach the answer sometimes: SCAN still puts the
            # error on the last step (main_datasyn.py:96-97) and its label script drops the response
            # (dataset/SCAN-Base/process.py:56-57); the filter does with drop_no_zero_step.
            extra["no_zero_step"] = True
        t_e = len(decided) - 1
        extra["soft"] = self._soft(decided, sc) + [None] * (m - t_e - 1)
        extra["error_step"] = t_e
        values: list[float | None] = [*decided, *([None] * (m - t_e - 1))]
        hard: list[bool | None] = [True] * t_e + [False] + [None] * (m - t_e - 1)
        return StepLabels(values=values, hard=hard, first_error=first_error_of(hard), extra=extra)

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
