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

mode "search": the full OmegaPRM search. Start: estimate the root (empty prefix) and binary-search
the response (as above; it counts as a searched rollout of the root: N(root) = 1, not a selection).
Every estimated prefix becomes a state; the wrong rollouts of a state with 0 < MC < 1 join the pool.
Then, up to ``search_limit`` times or until the pool is empty: pop the (s, r) with the largest
Q + U, N(s) += 1, split r into steps as responses are split (``prmlabel.text.steps.split_steps``) and
binary-search them from s the same way (r is wrong, so its last step is known bad); the prefixes it
estimates become states and their rollouts seed the pool. No backup up the tree, as in the paper.
The response's labels are as in binary mode, with ``values`` filled from every state on its path.

Deviations, and openr's bugs avoided:
- a popped rollout is never selected again (openr re-selects it, PR #98); a rollout whose full text
  was already searched or pooled (duplicate samples, or the response itself) does not join the pool;
- len(r) is counted in tokens (openr: words); N(s) grows on selection (openr: only in MC estimation);
  Q + U is recomputed from current values at every selection (openr: stale heap priorities);
- a truncated or empty rollout never joins the pool: it has no outcome to search back from;
- steps are the split the response came with (paper: about 16 equal-length pieces).
- the search runs per response, not per question: responses of one problem share the root and its
  rollouts, and the rollout cache answers the repeats (the paper builds one tree per question).

``extra`` records ``mode``, ``estimates`` ([step, MC] pairs of the response, in search order) and,
in search mode, ``states``: one entry per prefix with a known value, in creation order,
``{"parent": i, "steps": [...], "mc": MC, "k": rollouts, "n": selections}``. Its text is the
parent's text plus the steps (the root is entry 0 with parent -1 and text ""), so each state, its
last step and its MC make one training example; ``k = 0`` marks a complete answer whose value is
its own outcome. Also ``selections`` and ``stop`` ("search_limit" or "empty_pool").
"""

from __future__ import annotations

import math
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from prmlabel.engine.types import LabelProgram, ResponseView, Rollout, RolloutRequest, RolloutResult, StepLabels
from prmlabel.labelers.base import final_step_outcome, params_dict
from prmlabel.text.steps import split_steps

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

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"omegaprm params.mode must be one of {', '.join(MODES)}, got {self.mode!r}")
        if self.k < 1:
            raise ValueError(f"omegaprm params.k must be >= 1, got {self.k}")
        if self.L <= 0 or self.alpha <= 0 or self.beta <= 0 or self.c_puct < 0:
            raise ValueError("omegaprm params.L, alpha and beta must be > 0 and c_puct >= 0")
        if self.search_limit < 0:
            raise ValueError(f"omegaprm params.search_limit must be >= 0, got {self.search_limit}")


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


@dataclass
class State:
    prefix: str
    parent: int
    steps: tuple[str, ...]  # the steps appended beyond the parent's prefix
    mc: float | None  # None: no continuation of it could be judged
    k: int  # rollouts behind mc; 0 = a complete answer valued by its own outcome
    n: int = 0  # times selected (a rollout of it binary-searched)


@dataclass(frozen=True)
class Candidate:
    state: int
    rollout: Rollout
    steps: tuple[str, ...]


class SearchTree:
    """States (every prefix with a known MC) and the pool of wrong rollouts still to search."""

    def __init__(self, p: OmegaPRMParams):
        self.p = p
        self.states: list[State] = []
        self.by_prefix: dict[str, int] = {}
        self.pool: list[Candidate] = []  # insertion order breaks ties
        self.seen: set[str] = set()  # full texts already searched or pooled

    def mc_of(self, prefix: str) -> float | None:
        i = self.by_prefix.get(prefix)
        return None if i is None else self.states[i].mc

    def add(
        self, prefix: str, parent: int, steps: Sequence[str], mc: float | None, result: RolloutResult | None
    ) -> int:
        if prefix in self.by_prefix:
            return self.by_prefix[prefix]
        i = len(self.states)
        self.states.append(State(prefix, parent, tuple(steps), mc, result.n if result else 0))
        self.by_prefix[prefix] = i
        if (
            result is not None and mc is not None and 0 < mc < 1
        ):  # only a mixed state has wrong rollouts worth searching
            for r in result.rollouts:
                r_steps = split_steps(r.text)
                if r.correct or r.finish_reason != "stop" or not r_steps or prefix + r.text in self.seen:
                    continue
                self.seen.add(prefix + r.text)
                self.pool.append(Candidate(i, r, tuple(r_steps)))
        return i

    def pop_best(self) -> Candidate:
        """argmax Q + U from current values (no stale priorities); the rollout leaves the pool for good."""
        p, states = self.p, self.states
        total = sum(s.n for s in states)

        def score(c: Candidate) -> float:
            s = states[c.state]
            return q_value(s.mc, c.rollout.completion_tokens, p.alpha, p.beta, p.L) + u_value(p.c_puct, total, s.n)

        best = max(range(len(self.pool)), key=lambda i: score(self.pool[i]))  # first max = earliest inserted
        return self.pool.pop(best)

    def search_path(self, base: int, steps: Sequence[str], last_ok: bool | None) -> PathSearch:
        """Binary-search ``steps`` continued from state ``base``; every valued prefix becomes a state."""
        prefix = self.states[base].prefix
        self.seen.add(prefix + "".join(steps))
        self.states[base].n += 1
        first_error, known_good, estimates = yield from bisect_first_error(prefix, steps, last_ok, self.p.k, self.mc_of)
        for j, mc, result in estimates:
            self.add(prefix + "".join(steps[: j + 1]), base, steps[: j + 1], mc, result)
        outcome = None if last_ok is None else (1.0 if last_ok else 0.0)
        self.add(prefix + "".join(steps), base, steps, outcome, None)
        return first_error, known_good, estimates

    def export(self) -> list[dict[str, Any]]:
        return [{"parent": s.parent, "steps": list(s.steps), "mc": s.mc, "k": s.k, "n": s.n} for s in self.states]


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
        if self.p.mode == "binary":
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

        tree = SearchTree(self.p)
        tree.seen.add(response.prefix(m))  # a root rollout that repeats the response is not searched twice
        (root,) = yield [RolloutRequest("", self.p.k)]
        tree.add("", -1, (), root.mc, root)
        # The response is the root's first searched rollout: it seeds the pool along its path.
        first_error, known_good, estimates = yield from tree.search_path(0, response.steps, response.is_correct)
        selections = 0
        while selections < self.p.search_limit and tree.pool:
            candidate = tree.pop_best()
            selections += 1
            yield from tree.search_path(candidate.state, candidate.steps, last_ok=False)
        values = [tree.mc_of(response.prefix(t + 1)) for t in range(m)]  # the search may value more of them
        extra = {
            "mode": "search",
            "estimates": [[t, mc] for t, mc, _ in estimates],
            "states": tree.export(),
            "selections": selections,
            "stop": "search_limit" if selections >= self.p.search_limit else "empty_pool",
            **_undecided(estimates),
        }
        hard = path_labels(m, first_error, known_good)
        return StepLabels(values=values, hard=hard, first_error=first_error, extra=extra)


def _undecided(estimates: list[Estimate]) -> dict[str, int]:
    """Counts for ``extra``: continuations that could not be judged, and estimates left without a value."""
    rollouts = sum(result.n_undecided for _, _, result in estimates if result is not None)
    values = sum(mc is None for _, mc, _ in estimates)
    return {"undecided_rollouts": rollouts, "undecided_estimates": values} if rollouts or values else {}
