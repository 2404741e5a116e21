"""FoVer-style formal verification: z3 labels each formal logic step (Kamoi et al., 2025, arXiv 2505.15960).

The policy writes its proof in the formal step syntax of :mod:`prmlabel.verifiers.logic_steps`
(``fact1 & int2 -> int3: <formula>``, last ``The final answer is True|False|Unknown``). Each step is
checked on its own (local validity: cited facts as written):

    correct       cited facts ∧ ¬conclusion is unsat (z3)          value 1.0, hard True
    wrong         it is sat (a countermodel exists), a cited id    value 0.0, hard False
                  does not exist, or the final answer differs
                  from the reference (Uncertain == Unknown)
    unverifiable  not in the step syntax, a formula that does      per ``unverifiable_as``
                  not parse, z3 unknown, or a timeout

No rollouts (``uses_rollouts = False``): the label stage starts no backend. The premises come from
``response.problem["meta"]``: ``premises-FOL`` / ``conclusion-FOL`` (FOLIO, or any dataset with those
fields), else a ProntoQA ``context`` converted to FOL; a problem with neither gets every step
``unverifiable: no formal premises``.

Parameters: ``timeout_ms`` (z3's limit per step, 2000), ``response_timeout`` (seconds for the whole
response, one worker call; FoVer allows 180), ``unverifiable_as`` (``unknown`` -> None, the default;
``wrong`` -> 0; ``correct`` -> 1). ``first_error`` is the first step whose hard label is False.
``extra`` holds ``verdicts`` and ``rationales`` per step, the premises' source and the z3 version.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from prmlabel.engine.types import LabelProgram, ResponseView, StepLabels
from prmlabel.labelers.base import params_dict
from prmlabel.verifiers.logic_steps import formal_problem
from prmlabel.verifiers.z3_check import CORRECT, UNVERIFIABLE, WRONG, StepVerdict, check_response

_AS = {"unknown": (None, None), "wrong": (0.0, False), "correct": (1.0, True)}


@dataclass(frozen=True)
class Z3Params:
    timeout_ms: int = 2000
    response_timeout: float = 30.0
    unverifiable_as: str = "unknown"  # unknown | wrong | correct


class Z3Verifier:
    name: ClassVar[str] = "z3"
    paper: ClassVar[str] = (
        "FoVer: formal verification of formal-logic steps with z3 (Kamoi et al., 2025), arXiv 2505.15960"
    )
    uses_rollouts: ClassVar[bool] = False

    def __init__(self, params: Z3Params | None = None):
        self.p = params or Z3Params()
        if self.p.unverifiable_as not in _AS:
            raise ValueError(f"z3: unverifiable_as must be one of {', '.join(_AS)}, got {self.p.unverifiable_as!r}")
        if self.p.timeout_ms < 1 or self.p.response_timeout <= 0:
            raise ValueError("z3: timeout_ms and response_timeout must be positive")

    def params(self) -> dict[str, Any]:
        return params_dict(self.p)

    def label(self, response: ResponseView) -> LabelProgram:
        yield from ()  # a generator that never asks for rollouts: the first next() returns the labels
        return self.check(response)

    def verdicts(self, response: ResponseView) -> tuple[list[StepVerdict], dict[str, Any]]:
        """Per-step verdicts and what the labels should record about the premises."""
        problem = response.problem or {}
        formal = formal_problem(problem)
        if formal is None:
            return [StepVerdict(UNVERIFIABLE, "no formal premises") for _ in response.steps], {"premises": None}
        verdicts = check_response(
            list(formal.premises),
            formal.hypothesis,
            list(response.steps),
            problem.get("reference_answer"),
            timeout_ms=self.p.timeout_ms,
            response_timeout=self.p.response_timeout,
        )
        info = {
            "premises": formal.source,
            "n_premises": len(formal.premises),
            "n_premises_formal": sum(p is not None for p in formal.premises),
        }
        return verdicts, info

    def check(self, response: ResponseView) -> StepLabels:
        verdicts, info = self.verdicts(response)
        values: list[float | None] = []
        hard: list[bool | None] = []
        for v in verdicts:
            if v.verdict == CORRECT:
                value, h = 1.0, True
            elif v.verdict == WRONG:
                value, h = 0.0, False
            else:
                value, h = _AS[self.p.unverifiable_as]
            values.append(value)
            hard.append(h)
        first_error = next((t for t, h in enumerate(hard) if h is False), -1)
        extra = {
            "verdicts": [v.verdict for v in verdicts],
            "rationales": [v.rationale for v in verdicts],
            "checker": _z3_version(),
            **info,
        }
        return StepLabels(values=values, hard=hard, first_error=first_error, extra=extra)


def _z3_version() -> str:
    try:
        import z3

        return f"z3 {z3.get_version_string()}"
    except ImportError:  # pragma: no cover - z3-solver is a dependency
        return "z3 (missing)"
