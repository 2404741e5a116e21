"""The small request types that labelers speak; a labeler imports nothing else from the engine.

A labeler is a per-response state machine: a generator that yields a list of
:class:`RolloutRequest` ("k continuations of this prefix"), receives one :class:`RolloutResult`
per request, and finally returns :class:`StepLabels`. The scheduler runs every response's
generator side by side, so the backend sees one batch per round.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class RolloutRequest:
    """k continuations of ``prefix`` (the assistant's own partial answer, e.g. ``"".join(steps[:t])``).

    Sample i of the request is the prefix's sample ``offset + i``: samples are numbered per prefix,
    so a later request for more samples (waves, a second estimate) continues the numbering instead
    of drawing the same completions again, and any labeler asking for sample j of a prefix gets the
    same completion (which is what lets estimates be cached and shared).

    With ``question`` set the request is for answers to that prompt instead (see the field).
    """

    prefix: str
    k: int
    offset: int = 0
    # A fresh prompt instead of the job's question: "k answers to this user message, from an empty
    # assistant turn" (a judge's critique). ``prefix`` must then be empty; the answers are not checked
    # against the reference (``Rollout.correct`` is False) and get no system prompt. They are cached,
    # seeded and costed exactly like continuations, keyed by this text.
    question: str | None = None


@dataclass(frozen=True)
class Rollout:
    """One continuation: its text, whether it reaches the reference answer, its cost.

    ``correct`` is None when the continuation could not be judged: the backend failed
    (``finish_reason == "error"``: an error, a prompt over the context limit) or the answer checker
    could not decide (a parse failure or timeout). Such a sample is left out of every estimate and
    counted; it is never a success or a failure. An empty or truncated (``length``) completion is
    decided: the policy did not reach the answer, so it is False.

    An answer to a fresh prompt (``RolloutRequest.question``) is never checked: ``correct`` is False."""

    text: str
    correct: bool | None
    finish_reason: str
    completion_tokens: int
    prompt_tokens: int = 0


@dataclass(frozen=True)
class RolloutResult:
    request: RolloutRequest
    rollouts: tuple[Rollout, ...]

    @property
    def n(self) -> int:
        return len(self.rollouts)

    @property
    def n_correct(self) -> int:
        return sum(r.correct is True for r in self.rollouts)

    @property
    def n_decided(self) -> int:
        """Continuations whose outcome is known (right or wrong)."""
        return sum(r.correct is not None for r in self.rollouts)

    @property
    def n_undecided(self) -> int:
        """Continuations that failed in the backend or whose answer could not be judged."""
        return self.n - self.n_decided

    @property
    def mc(self) -> float | None:
        """Monte-Carlo value: the fraction of decided continuations that reach the reference answer.

        None when no continuation was decided: "no result" is unknown, never a value of 0."""
        decided = self.n_decided
        return self.n_correct / decided if decided else None


@dataclass(frozen=True)
class ResponseView:
    """What a labeler may know of a response: its steps and outcome, never paths or backends.

    ``problem_pass_rate`` is the fraction of this problem's responses (in the input) that are
    correct: SCAN's self-confidence and GenPRM's Pass@1 proxy. ``problem`` is the problem itself as a
    plain dict (``question``, ``reference_answer``, ``domain``, parsed ``meta``) for verifiers that
    check steps against the problem's premises (e.g. FOLIO's ``premises-FOL``).
    """

    problem_id: str
    response_id: str
    steps: tuple[str, ...]
    is_correct: bool | None  # None: the answer checker could not decide the response's outcome
    problem_pass_rate: float | None = None
    problem: dict[str, Any] | None = field(default=None, hash=False)  # a dict: left out of the hash

    def prefix(self, t: int) -> str:
        """The text of the first ``t`` steps (steps partition the response, separators included)."""
        return "".join(self.steps[:t])


@dataclass
class StepLabels:
    """A labeler's verdict on one response.

    ``values[t]`` is the step's estimate (an MC value, a ratio, an advantage), ``hard[t]`` its 0/1
    label; None where a step was not decided (unknown stays unknown: never a negative).
    ``first_error`` is the first step decided wrong; -1 only when every step was decided right; None
    otherwise (e.g. every judge critique was unparseable, or no step held anything a verifier could
    check): unknown, never "no error". :func:`prmlabel.labelers.base.first_error_of` computes it.
    """

    values: list[float | None]
    hard: list[bool | None]
    first_error: int | None
    extra: dict[str, Any] = field(default_factory=dict)


LabelProgram = Generator[list[RolloutRequest], list[RolloutResult], StepLabels]
