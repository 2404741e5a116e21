"""What every labeler shares: a name, its paper, its parameters with the paper's defaults, and a
``label(response)`` program (see :mod:`prmlabel.engine.types`)."""

from __future__ import annotations

from dataclasses import asdict, fields
from typing import Any, ClassVar, Protocol

from prmlabel.engine.types import LabelProgram, ResponseView


class Labeler(Protocol):
    """``uses_rollouts = False`` (a verifier) means the label stage starts no backend for it."""

    name: ClassVar[str]
    paper: ClassVar[str]

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


def final_step_outcome(response: ResponseView) -> float:
    """The last step's value is the response's own outcome: its prefix is the whole answer."""
    return 1.0 if response.is_correct else 0.0
