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
    # Exactly the next step after ``prefix``: the backend stops at the job's step delimiter (one-step
    # expansion, as tree searches grow a tree). Sample j of a one-step request is cached and seeded
    # apart from sample j of a full continuation of the same prefix. See :class:`Rollout` ``terminal``.
    one_step: bool = False


@dataclass(frozen=True)
class Rollout:
    """One continuation: its text, whether it reaches the reference answer, its cost.

    ``correct`` is None when the continuation could not be judged: the backend failed
    (``finish_reason == "error"``: an error, a prompt over the context limit) or the answer checker
    could not decide (a parse failure or timeout). Such a sample is left out of every estimate and
    counted; it is never a success or a failure. An empty or truncated (``length``) completion is
    decided: the policy did not reach the answer, so it is False.

    An answer to a fresh prompt (``RolloutRequest.question``) is never checked: ``correct`` is False.

    A one-step sample (``RolloutRequest.one_step``) is one step: ``text`` ends with the step delimiter
    unless the step ends the solution, so ``prefix + text`` is again a prefix of whole steps.
    ``terminal`` is True when the step ends the solution: it states a final answer, the model ended
    it (end of sequence, an empty step), or it was cut at ``max_tokens`` (``length``) or failed
    (``error``). Only a terminal step is checked: ``correct`` is None on a non-terminal one (not an
    undecided outcome: there is no outcome yet). A full continuation is always terminal."""

    text: str
    correct: bool | None
    finish_reason: str
    completion_tokens: int
    prompt_tokens: int = 0
    terminal: bool = True


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
    tokens: int | None = None  # the response's generated tokens (OmegaPRM's len(r)), when known

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


# -- trees: labelers that grow one search tree per question ---------------------------------------


@dataclass(frozen=True)
class QuestionView:
    """What a tree labeler may know of a question: the problem and every response of it in the shard."""

    problem_id: str
    problem: dict[str, Any] = field(hash=False)  # question, reference_answer, domain, parsed meta
    responses: tuple[ResponseView, ...] = ()


@dataclass
class Node:
    """One node of a question's search tree: a prefix with what the search learned about it.

    ``node_id`` numbers nodes per question in creation order (the root is 0, with ``parent_id``
    None). ``prefix_steps`` are the steps from the root to the parent; ``step`` the text this node
    adds (one step for a one-step expansion; a binary search's jump may add several pieces, joined).
    ``depth`` counts steps from the root. ``rollouts``/``successes`` are the decided continuations
    behind ``mc`` (None: none decided or none drawn); ``q`` the search's own value of the node where
    the method keeps one; ``value_target`` the training target the method defines (ReST-MCTS*'s
    weighted value); ``terminal``/``correct`` mark a leaf that ends the solution and whether its
    answer is right (None: not checked or undecidable). ``source`` says how the node was made
    ("root", "response", "rollout", "expansion", "merge"); ``response_id`` the input response it
    lies on, if any. ``tokens`` are the generated tokens spent on it; ``extra`` anything else (JSON).
    """

    node_id: int
    parent_id: int | None
    prefix_steps: tuple[str, ...]
    step: str
    depth: int
    visits: int = 0
    rollouts: int = 0
    successes: int = 0
    mc: float | None = None
    q: float | None = None
    value_target: float | None = None
    terminal: bool = False
    correct: bool | None = None
    source: str = "expansion"
    response_id: str | None = None
    tokens: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def text(self) -> str:
        """The whole prefix through this node."""
        return "".join(self.prefix_steps) + self.step


@dataclass
class TreePath:
    """A root-to-leaf path read off the tree, labeled as a new response (e.g. ReST-MCTS*'s traces)."""

    path_id: str  # unique within the question, e.g. "leaf-17"
    steps: tuple[str, ...]
    is_correct: bool | None
    labels: StepLabels
    node_ids: tuple[int, ...]  # the tree's nodes along the path, root excluded, one per step


@dataclass
class TreeLabels:
    """A tree labeler's result for one question.

    ``responses`` labels input responses by ``response_id`` (one the labeler leaves out is written as
    produced by the tree, with no labels row); ``paths`` are new labeled responses read off the tree;
    ``dropped`` leaves the whole question out with this reason (e.g. OmegaPRM's question filter),
    counted as rejected rows; ``extra`` is question-level (stop reason, budget used)."""

    nodes: list[Node]
    responses: dict[str, StepLabels] = field(default_factory=dict)
    paths: list[TreePath] = field(default_factory=list)
    dropped: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


TreeProgram = Generator[list[RolloutRequest], list[RolloutResult], TreeLabels]
"""A tree labeler's program over one question: requests in, results back, :class:`TreeLabels` out."""
