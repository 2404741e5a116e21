"""FoVer-style formal verification: z3 labels each formal logic step (Kamoi et al., 2025, arXiv 2505.15960).

The policy writes its proof in the formal step syntax of :mod:`prmlabel.verifiers.logic_steps`
(``fact1 & int2 -> int3: <formula>``, last ``The final answer is True|False|Unknown``). Each step is
checked on its own (local validity: cited facts as written):

    correct       cited facts ∧ ¬conclusion is unsat (z3)          value 1.0, hard True
    wrong         it is sat (a countermodel exists), a cited id    value 0.0, hard False
                  does not exist, or the final answer differs
                  from the reference (Uncertain == Unknown)
    unverifiable  not in the step syntax, a formula that does      value None, hard None
                  not parse, z3 unknown, or a timeout

No rollouts (``uses_rollouts = False``): the label stage starts no backend. The premises come from
``response.problem["meta"]``: FLDx2's ``facts_formula`` / ``hypothesis_formula`` (FoVer's problems, FLD
notation), else ``premises-FOL`` / ``conclusion-FOL`` (FOLIO, or any dataset with those fields), else a
ProntoQA ``context`` converted to FOL; a problem with none gets every step ``unverifiable: no formal
premises``.

Unknown stays unknown: ``first_error`` is the first step decided wrong; -1 only when every step was
decided right (the final-answer step included); None otherwise. FoVer itself drops a response whose check
fails (``generate_error_labels.py``: an exception -> ``continue``); here the response is kept with its
undecided steps None, and the export decides (truncate or drop, counted).

Parameters: ``timeout_ms`` (z3's limit per step, 2000), ``response_timeout`` (seconds for the whole
response, one worker call; FoVer allows 180). ``extra`` holds ``verdicts`` and ``rationales`` per step,
the counts ``checked`` (steps decided), ``unchecked`` (steps not decided), of those ``timeouts`` and
``errors`` (the checker or its worker failed), the premises' source and the z3 version.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from prmlabel.engine.types import LabelProgram, ResponseView, StepLabels
from prmlabel.labelers.base import first_error_of, params_dict
from prmlabel.verifiers.logic_steps import formal_problem
from prmlabel.verifiers.z3_check import CORRECT, UNVERIFIABLE, WRONG, StepVerdict, check_response


@dataclass(frozen=True)
class Z3Params:
    timeout_ms: int = 2000
    response_timeout: float = 30.0


class Z3Verifier:
    name: ClassVar[str] = "z3"
    paper: ClassVar[str] = (
        "FoVer: formal verification of formal-logic steps with z3 (Kamoi et al., 2025), arXiv 2505.15960"
    )
    value_kind: ClassVar[str] = "verdict"  # values: 1 right / 0 wrong / null
    uses_rollouts: ClassVar[bool] = False

    def __init__(self, params: Z3Params | None = None):
        self.p = params or Z3Params()
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
        hard: list[bool | None] = [
            True if v.verdict == CORRECT else False if v.verdict == WRONG else None for v in verdicts
        ]
        values: list[float | None] = [None if h is None else float(h) for h in hard]
        checked = sum(h is not None for h in hard)
        extra = {
            "verdicts": [v.verdict for v in verdicts],
            "rationales": [v.rationale for v in verdicts],
            "checked": checked,
            "unchecked": len(hard) - checked,
            "timeouts": sum(_cause(v) == "timeout" for v in verdicts),
            "errors": sum(_cause(v) == "error" for v in verdicts),
            "checker": _z3_version(),
            **info,
        }
        return StepLabels(values=values, hard=hard, first_error=first_error_of(hard), extra=extra)


def _cause(v: StepVerdict) -> str | None:
    """``timeout`` / ``error`` for a step the checker did not finish (a step may join several lines' reasons)."""
    if v.verdict != UNVERIFIABLE:
        return None
    parts = v.rationale.split("; ")
    if "timeout" in parts:
        return "timeout"
    return "error" if any(p.startswith("checker ") for p in parts) else None


def _z3_version() -> str:
    try:
        import z3

        return f"z3 {z3.get_version_string()}"
    except ImportError:  # pragma: no cover - z3-solver is a dependency
        return "z3 (missing)"
