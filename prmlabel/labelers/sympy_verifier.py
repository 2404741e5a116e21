"""Tool-verified arithmetic: each step's own equality claims checked exactly (sympy / exact fractions).

GroundedPRM (arXiv 2510.14942) verifies every step with an external math tool (Wolfram Alpha) instead
of estimating its value from rollouts; this labeler is that tool step on its own, with exact rational
arithmetic and sympy standing in for Wolfram Alpha (:mod:`prmlabel.verifiers.math_claims`). Per step:

    correct       at least one claim (48/2 = 24, <<48/2=24>>, a = b = c, 25% of 80 = 20,
                  (x+1)^2 = x^2 + 2x + 1) and all hold                   value 1.0, hard True
    wrong         some claim fails (3*7 = 24)                             value 0.0, hard False
    unverifiable  nothing checkable, or a time / size limit stopped it   value None, hard None

Unknown stays unknown: a step the tool could not decide is None, never "right". ``first_error`` is the
first ``wrong`` step; -1 only when every step was decided right; None otherwise (a response of prose steps,
or right arithmetic followed by a step nothing could check, has no known first error). The outcome
(``is_correct``) is NOT used: the verifier judges only what the steps claim, so a response whose
arithmetic is right but whose reasoning is wrong gets no ``wrong`` step; the ``grounded`` labeler fuses
these verdicts with rollouts and the outcome. No rollouts (``uses_rollouts = False``): the label stage
starts no backend.

Parameters: ``timeout`` (seconds for the whole response: all its steps go to the limited worker in one
call). ``extra`` holds per step ``verdicts``, ``reasons`` (``claims 3*7 = 24, but 3*7 = 21``, ``48/2 = 24
holds``, ``nothing checkable``, ``limit``) and ``rationales``, and the counts ``checked`` (steps decided),
``unchecked`` (steps not decided), of those ``timeouts`` (a time limit stopped the check) and ``errors``
(the worker died: memory, crash).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from prmlabel.engine.types import LabelProgram, ResponseView, StepLabels
from prmlabel.labelers.base import first_error_of, params_dict
from prmlabel.verifiers.math_claims import CORRECT, LIMIT, WRONG, StepVerdict, verify_steps

_TIMEOUT_NOTES = ("the time budget was spent", "the worker stopped: timeout")
_ERROR_NOTE = "the worker stopped:"


@dataclass(frozen=True)
class SympyParams:
    timeout: float = 5.0


class SympyVerifier:
    name: ClassVar[str] = "sympy"
    paper: ClassVar[str] = (
        "GroundedPRM-style tool verification of each step's arithmetic (arXiv 2510.14942), "
        "exact fractions and sympy in place of Wolfram Alpha"
    )
    value_kind: ClassVar[str] = "verdict"  # values: 1 right / 0 wrong / null
    uses_rollouts: ClassVar[bool] = False

    def __init__(self, params: SympyParams | None = None):
        self.p = params or SympyParams()
        if not self.p.timeout > 0:
            raise ValueError(f"sympy: timeout must be positive, got {self.p.timeout!r}")

    def params(self) -> dict[str, Any]:
        return params_dict(self.p)

    def label(self, response: ResponseView) -> LabelProgram:
        yield from ()  # a generator that never asks for rollouts: the first next() returns the labels
        return self.check(response)

    def check(self, response: ResponseView) -> StepLabels:
        return labels_from_verdicts(verify_steps(list(response.steps), timeout=self.p.timeout))


def _undecided_cause(v: StepVerdict) -> str | None:
    """``timeout`` / ``error`` for a check a limit stopped; None for anything else."""
    if v.reason != LIMIT:
        return None
    if any(note in v.rationale for note in _TIMEOUT_NOTES):
        return "timeout"
    return "error" if _ERROR_NOTE in v.rationale else None


def labels_from_verdicts(verdicts: list[StepVerdict]) -> StepLabels:
    """Verdicts -> labels (separate so a caller that batches many responses can reuse it)."""
    hard: list[bool | None] = [
        True if v.verdict == CORRECT else False if v.verdict == WRONG else None for v in verdicts
    ]
    values: list[float | None] = [None if h is None else float(h) for h in hard]
    causes = [_undecided_cause(v) for v in verdicts]
    checked = sum(h is not None for h in hard)
    extra = {
        "verdicts": [v.verdict for v in verdicts],
        "reasons": [v.reason for v in verdicts],
        "rationales": [v.rationale for v in verdicts],
        "checked": checked,
        "unchecked": len(hard) - checked,
        "timeouts": causes.count("timeout"),
        "errors": causes.count("error"),
    }
    return StepLabels(values=values, hard=hard, first_error=first_error_of(hard), extra=extra)
