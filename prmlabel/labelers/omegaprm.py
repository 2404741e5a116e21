"""OmegaPRM: binary search for the first error, and a tree search over rollouts to find more of them.

Luo et al., 2024, "Improve Mathematical Reasoning in Language Models by Automated Process
Supervision", arXiv 2406.06592 (no official code; openr has a reimplementation).

A state s is a prefix (the question plus the steps written so far); a rollout r is a completion of s.

    MC(s)   = (# of k rollouts of s that reach the reference answer) / k
    Q(s, r) = alpha ** (1 - MC(s)) * beta ** (len(r) / L)          len(r) in tokens
    U(s)    = c_puct * sqrt(sum_i N(s_i)) / (1 + N(s))              N(s): selections of s
    select    argmax over the pool of Q(s, r) + U(s)

Paper defaults: k = 8, alpha = 0.5, beta = 0.9, L = 500, c_puct = 0.125, search limit 100.

mode "binary": find the first error of the response's own steps 0..M-1. The first error lies in
[lo, hi]; estimate the prefix through step mid = (lo + hi) // 2: MC > 0 means the prefix through mid
is still fine (go right: lo = mid + 1), MC = 0 means the error is at or before mid (hi = mid). The
last step's prefix is the whole response, so its value is the response's outcome (no rollouts). One
request per round: the search is sequential per response, and the scheduler batches across
responses, so a shard takes about ceil(log2(M)) rounds and a response costs k * ceil(log2(M)) rollouts.
Labels: steps before the first error are good (hard True), the first error is bad (False), steps
after it are unknown (None, never a negative); ``values`` hold the estimated MCs and the outcome.
Undecided (prmlabel's rule; the paper assumes every rollout can be judged): an MC is taken over the
decided continuations only; a midpoint with none decided, or a response whose outcome the checker
could not decide, stops the search: first_error None, the steps already shown good stay good.
A correct response runs the same search (a right answer can follow a wrong step): its last step is
known good, so the search either finds a step with MC = 0 or reports none (-1). ``skip_correct``
labels a correct response's steps all good without rollouts, as OmegaPRM only searches wrong ones.

mode "search" (the ``omegaprm`` recipe): the paper's search, one tree per question, in
:mod:`prmlabel.labelers.omegaprm_tree`; it writes every node of the tree (``nodes/``) and labels each
input response from the tree. Extra parameters: ``filter_rollouts`` (the paper's question filter: 32
rollouts, questions all right or all wrong are left out), ``rollout_budget`` (openr's cap on rollouts
per question; None in the paper), ``split`` (how a rollout is cut into steps: the paper's ~16 equal
pieces), ``search_limit`` (selections per question).

``extra`` records ``mode`` and ``estimates`` ([step, MC] pairs of the response, in search order).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from prmlabel.engine.types import (
    LabelProgram,
    QuestionView,
    ResponseView,
    RolloutRequest,
    RolloutResult,
    StepLabels,
    TreeProgram,
)
from prmlabel.labelers.base import final_step_outcome, params_dict
from prmlabel.text.steps import StepSplit

MODES = ("binary", "search")

# (step index on the path, MC (None: no continuation decided), the result behind it or None when the
# prefix's MC was already known)
Estimate = tuple[int, float | None, RolloutResult | None]
# (first error: -1 none, None unknown; the steps before ``known_good`` are known right; estimates)
PathSearch = Generator[list[RolloutRequest], list[RolloutResult], tuple[int | None, int, list[Estimate]]]


@dataclass(frozen=True)
class OmegaPRMParams:
    k: int = 8
    mode: str = "binary"
    alpha: float = 0.5
    beta: float = 0.9
    L: int = 500
    c_puct: float = 0.125
    search_limit: int = 100
    skip_correct: bool = False
    filter_rollouts: int = 32  # search mode: the question filter's rollouts (0: no filter)
    rollout_budget: int | None = None  # search mode: openr's cap on rollouts per question (None: no cap)
    split: str = "pieces:16"  # search mode: how a rollout is cut into steps (the paper's ~16 pieces)
    parallel: int = 1  # search mode: selections searched side by side per round (1: the paper's, one at a time)

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"omegaprm params.mode must be one of {', '.join(MODES)}, got {self.mode!r}")
        if self.k < 1:
            raise ValueError(f"omegaprm params.k must be >= 1, got {self.k}")
        if self.L <= 0 or self.alpha <= 0 or self.beta <= 0 or self.c_puct < 0:
            raise ValueError("omegaprm params.L, alpha and beta must be > 0 and c_puct >= 0")
        if self.search_limit < 0:
            raise ValueError(f"omegaprm params.search_limit must be >= 0, got {self.search_limit}")
        if self.parallel < 1:
            raise ValueError(f"omegaprm params.parallel must be >= 1, got {self.parallel}")
        if self.filter_rollouts < 0 or (self.rollout_budget is not None and self.rollout_budget < 0):
            raise ValueError("omegaprm params.filter_rollouts and rollout_budget must be >= 0")
        StepSplit.parse(self.split)  # a bad split is an error now, not in the middle of a search


def q_value(mc: float, length: float, alpha: float, beta: float, L: float) -> float:
    """Q(s, r): high for a wrong rollout of a state that usually succeeds (likely a subtle error) and short."""
    return alpha ** (1.0 - mc) * beta ** (length / L)


def u_value(c_puct: float, total_visits: int, visits: int) -> float:
    """U(s): PUCT exploration bonus, shrinking as the state is selected more often."""
    return c_puct * math.sqrt(total_visits) / (1 + visits)


def bisect_first_error(
    base: str, steps: Sequence[str], last_ok: bool | None, k: int, known: Callable[[str], float | None]
) -> PathSearch:
    """Binary-search the first step of ``base + steps`` whose prefix has MC = 0; -1 if none.

    The last step's value is the path's own outcome (``last_ok``; None when it could not be judged);
    a prefix ``known`` already has a value costs no rollouts. Yields one request per round. When a
    midpoint's estimate is undecided (no continuation could be judged) or the outcome is, the search
    stops there: the first error is None (unknown) and only the steps before ``lo`` are known right.
    """
    if not steps:
        return -1, 0, []
    lo, hi = 0, len(steps) - 1  # the first error, if any, is in lo..hi; step hi's value is known
    estimates: list[Estimate] = []
    while lo < hi:
        mid = (lo + hi) // 2
        prefix = base + "".join(steps[: mid + 1])
        mc = known(prefix)
        result = None
        if mc is None:
            (result,) = yield [RolloutRequest(prefix, k)]
            mc = result.mc
        estimates.append((mid, mc, result))
        if mc is None:
            return None, lo, estimates
        if mc > 0:
            lo = mid + 1
        else:
            hi = mid
    # lo < last: step lo was estimated at 0. lo == last: the outcome decides.
    if lo < len(steps) - 1 or last_ok is False:
        return lo, lo, estimates
    if last_ok is None:
        return None, lo, estimates
    return -1, len(steps), estimates


def path_labels(m: int, first_error: int | None, known_good: int) -> list[bool | None]:
    """Good before the first error, bad at it, unknown after it (never an invented negative).

    With the first error unknown, the ``known_good`` leading steps are good and the rest unknown."""
    if first_error is None:
        return [True] * known_good + [None] * (m - known_good)
    if first_error < 0:
        return [True] * m
    return [True] * first_error + [False] + [None] * (m - first_error - 1)


class OmegaPRM:
    name: ClassVar[str] = "omegaprm"
    paper: ClassVar[str] = "OmegaPRM (Luo et al., 2024), arXiv 2406.06592"
    value_kind: ClassVar[str] = "probability"  # values: MC estimates of the prefix's success

    def __init__(self, params: OmegaPRMParams | None = None):
        self.p = params or OmegaPRMParams()

    def params(self) -> dict[str, Any]:
        return params_dict(self.p)

    def label(self, response: ResponseView) -> LabelProgram:
        m = len(response.steps)
        if m == 0:
            return StepLabels(values=[], hard=[], first_error=-1, extra={"skipped": "no steps"})
        if self.p.skip_correct and response.is_correct:
            return StepLabels(values=[1.0] * m, hard=[True] * m, first_error=-1, extra={"skipped": "correct"})
        if self.p.mode == "binary":  # search mode never comes here: the stage calls label_question
            first_error, known_good, estimates = yield from bisect_first_error(
                "", response.steps, response.is_correct, self.p.k, lambda prefix: None
            )
            values: list[float | None] = [None] * m
            for t, mc, _ in estimates:
                values[t] = mc
            values[-1] = final_step_outcome(response)
            extra: dict[str, Any] = {"mode": "binary", "estimates": [[t, mc] for t, mc, _ in estimates]}
            extra.update(_undecided(estimates))
            hard = path_labels(m, first_error, known_good)
            return StepLabels(values=values, hard=hard, first_error=first_error, extra=extra)

        raise ValueError("omegaprm mode=search labels a whole question at once (label_question)")

    @property
    def per_question(self) -> bool:
        """Search mode grows one tree per question: the label stage calls :meth:`label_question`."""
        return self.p.mode == "search"

    def label_question(self, question: QuestionView) -> TreeProgram:
        from prmlabel.labelers.omegaprm_tree import search_question  # it builds on this module's rule

        return search_question(self.p, question)


def _undecided(estimates: list[Estimate]) -> dict[str, int]:
    """Counts for ``extra``: continuations that could not be judged, and estimates left without a value."""
    rollouts = sum(result.n_undecided for _, _, result in estimates if result is not None)
    values = sum(mc is None for _, mc, _ in estimates)
    return {"undecided_rollouts": rollouts, "undecided_estimates": values} if rollouts or values else {}
