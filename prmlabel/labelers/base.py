"""What every labeler shares: a name, its paper, its parameters with the paper's defaults, and a
``label(response)`` program (see :mod:`prmlabel.engine.types`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, fields
from typing import Any, ClassVar, Protocol

from prmlabel.engine.types import LabelProgram, ResponseView

# What a labeler's ``values`` are. probability: in [0, 1], a chance of reaching the reference (MC);
# verdict: 1 right / 0 wrong (a checker or judge); ratio: a ratio of probabilities, may exceed 1
# (RPE); advantage: a signed change of a probability (PAV); score: a signed fused score (GroundedPRM).
VALUE_KINDS = ("probability", "verdict", "ratio", "advantage", "score")


class Labeler(Protocol):
    """``uses_rollouts = False`` (a verifier) means the label stage starts no backend for it.

    ``value_kind`` says what ``values`` are, so an export knows whether it may write them as step
    probabilities: one of :data:`VALUE_KINDS` (docs/output.md)."""

    name: ClassVar[str]
    paper: ClassVar[str]
    value_kind: ClassVar[str]

    def label(self, response: ResponseView) -> LabelProgram: ...

    def params(self) -> dict[str, Any]: ...


def build_params(params_cls: type, options: dict[str, Any], method: str) -> Any:
    """Instantiate a labeler's params dataclass from config options, naming unknown keys."""
    known = {f.name for f in fields(params_cls)}
    unknown = sorted(set(options) - known)
    if unknown:
        raise ValueError(
            f"--method {method} has no parameter(s) {', '.join(unknown)}; "
            f"its parameters are: {', '.join(sorted(known))}"
        )
    return params_cls(**options)


def params_dict(params: Any) -> dict[str, Any]:
    return asdict(params)


def final_step_outcome(response: ResponseView) -> float | None:
    """The last step's value is the response's own outcome: its prefix is the whole answer.

    None when the answer checker could not decide the outcome (never read as wrong)."""
    if response.is_correct is None:
        return None
    return 1.0 if response.is_correct else 0.0


def hard_of(value: float | None, threshold: float = 0.0) -> bool | None:
    """A step's hard label from its value: right when above ``threshold``; None stays None."""
    return None if value is None else value > threshold


def first_error_of(hard: Sequence[bool | None]) -> int | None:
    """The first step decided wrong; -1 only when every step was decided right; None otherwise.

    An undecided step before the first wrong one does not hide it: the wrong step is still the first
    one *decided* wrong, and the undecided one stays null in the step labels. With no step decided
    wrong and one undecided, nothing is known: None, never "no error".
    """
    for t, label in enumerate(hard):
        if label is False:
            return t
    return -1 if all(label is True for label in hard) else None
