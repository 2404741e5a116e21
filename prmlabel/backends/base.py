"""The one protocol every policy engine implements.

A request asks for ``k`` continuations of ``prefix`` written as the assistant's own answer to
``question`` (the chat template renders the question; the prefix is never put into the user turn).
Sub-request ``i`` of a request uses seed ``seed + i``, as vLLM does with ``n > 1``, so a request's
completions are reproducible one by one.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Protocol, runtime_checkable


@dataclass(frozen=True)
class Sampling:
    """Sampling settings; ``max_tokens`` is always explicit (vLLM's own default is 16).

    ``stop`` belongs to the request: a batch may mix requests with different stop strings (a one-step
    request stops at the step delimiter, a rollout beside it does not), and every backend honours each
    request's own list.
    """

    temperature: float = 0.7
    top_p: float = 1.0
    max_tokens: int = 1024
    stop: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["stop"] = list(self.stop)
        return d


@dataclass(frozen=True)
class GenerationRequest:
    question: str
    prefix: str
    k: int
    sampling: Sampling
    seed: int
    system: str | None = None


@dataclass(frozen=True)
class Completion:
    """One continuation. ``text`` excludes the prefix; ``finish_reason`` is ``stop`` or ``length``
    (or ``error``), and a ``length``-truncated or empty completion never counts as correct.

    ``stop_reason`` says what ended a ``stop`` completion: the stop string of ``sampling.stop`` that
    was matched (``text`` then ends just before it: stop strings are never part of the text), ``"eos"``
    when the model ended the text itself (its end-of-sequence / end-of-turn token), or None when the
    backend cannot tell the two apart (and always for ``length`` and ``error``). A one-step request
    (stop strings holding the step delimiter) needs it: a step ended by ``"eos"`` is the last one.
    What each backend can tell: see its module docstring.
    """

    text: str
    finish_reason: str
    prompt_tokens: int
    completion_tokens: int
    stop_reason: str | None = None


@dataclass
class GenerationResult:
    completions: list[Completion]
    seconds: float = 0.0

    @property
    def prompt_tokens(self) -> int:
        return sum(c.prompt_tokens for c in self.completions)

    @property
    def completion_tokens(self) -> int:
        return sum(c.completion_tokens for c in self.completions)


@dataclass
class Usage:
    requests: int = 0
    completions: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)


@runtime_checkable
class Backend(Protocol):
    """A policy engine. ``generate`` answers a batch of requests in order."""

    name: str

    def generate(self, requests: list[GenerationRequest]) -> list[GenerationResult]: ...

    def provenance(self) -> dict[str, str]:
        """Model name, file hash or revision, engine version: written into every output row."""
        ...

    def close(self) -> None: ...
