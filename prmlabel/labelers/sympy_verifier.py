"""Tool-verified arithmetic: each step's own equality claims checked exactly (sympy / exact fractions).

GroundedPRM (arXiv 2510.14942) verifies every step with an external math tool (Wolfram Alpha) instead
of estimating its value from rollouts; this labeler is that tool step on its own, with exact rational
arithmetic and sympy standing in for Wolfram Alpha (:mod:`prmlabel.verifiers.math_claims`). Per step:

    correct       at least one claim (48/2 = 24, <<48/2=24>>, a = b = c, 25% of 80 = 20,
                  (x+1)^2 = x^2 + 2x + 1) and all hold                   value 1.0, hard True
    wrong         some claim fails (3*7 = 24)                             value 0.0, hard False
    unverifiable  nothing checkable, or a time / size limit stopped it   per ``unverifiable_as``

``first_error`` is the first ``wrong`` step (-1 if none). The outcome (``is_correct``) is NOT used: the
verifier judges only what the steps claim, so a response whose arithmetic is right but whose reasoning
is wrong gets no ``wrong`` step; the ``grounded`` labeler fuses these verdicts with rollouts and the
outcome. No rollouts (``uses_rollouts = False``): the label stage starts no backend.

Parameters: ``timeout`` (seconds for the whole response: all its steps go to the limited worker in one
call), ``unverifiable_as`` (``unknown``: value and hard label None, the default; ``correct``: 1.0 / True).
``extra`` holds per step ``verdicts``, ``reasons`` (``claims 3*7 = 24, but 3*7 = 21``, ``48/2 = 24 holds``,
``nothing checkable``, ``limit``) and ``rationales`` (every claim checked and how it held).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from prmlabel.engine.types import LabelProgram, ResponseView, StepLabels
from prmlabel.labelers.base import params_dict
from prmlabel.verifiers.math_claims import CORRECT, WRONG, StepVerdict, verify_steps

_AS = {"unknown": (None, None), "correct": (1.0, True)}


@dataclass(frozen=True)
class SympyParams:
    timeout: float = 5.0
    unverifiable_as: str = "unknown"  # unknown | correct


class SympyVerifier:
    name: ClassVar[str] = "sympy"
    paper: ClassVar[str] = (
        "GroundedPRM-style tool verification of each step's arithmetic (arXiv 2510.14942), "
        "exact fractions and sympy in place of Wolfram Alpha"
    )
    uses_rollouts: ClassVar[bool] = False

    def __init__(self, params: SympyParams | None = None):
        self.p = params or SympyParams()
        if self.p.unverifiable_as not in _AS:
            raise ValueError(f"sympy: unverifiable_as must be one of {', '.join(_AS)}, got {self.p.unverifiable_as!r}")
        if not self.p.timeout > 0:
            raise ValueError(f"sympy: timeout must be positive, got {self.p.timeout!r}")

    def params(self) -> dict[str, Any]:
        return params_dict(self.p)

    def label(self, response: ResponseView) -> LabelProgram:
        yield from ()  # a generator that never asks for rollouts: the first next() returns the labels
        return self.check(response)

    def check(self, response: ResponseView) -> StepLabels:
        return labels_from_verdicts(verify_steps(list(response.steps), timeout=self.p.timeout), self.p)


def labels_from_verdicts(verdicts: list[StepVerdict], params: SympyParams) -> StepLabels:
    """Verdicts -> labels (separate so a caller that batches many responses can reuse it)."""
    values: list[float | None] = []
    hard: list[bool | None] = []
    for v in verdicts:
        if v.verdict == CORRECT:
            value, h = 1.0, True
        elif v.verdict == WRONG:
            value, h = 0.0, False
        else:
            value, h = _AS[params.unverifiable_as]
        values.append(value)
        hard.append(h)
    first_error = next((t for t, v in enumerate(verdicts) if v.verdict == WRONG), -1)
    extra = {
        "verdicts": [v.verdict for v in verdicts],
        "reasons": [v.reason for v in verdicts],
        "rationales": [v.rationale for v in verdicts],
    }
    return StepLabels(values=values, hard=hard, first_error=first_error, extra=extra)
