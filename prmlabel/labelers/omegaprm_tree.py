"""OmegaPRM's search as published: one tree per question, grown by MCTS over a pool of wrong rollouts.

Luo et al., 2024, arXiv 2406.06592, Sec. 3.3; openr's data/omegaPRM_v2/omegaprm.py
is the public reimplementation read beside it (``OmegaPRM.run``, ``monte_carlo_estimation``,
``binary_search_incorrect_step``, ``add_correct_rollout_to_tree``). Top to bottom:

0. Question filter (the paper's data setup as our notes give it; its section is unconfirmed):
   ``filter_rollouts`` (32) continuations of the empty prefix; a question whose decided ones are all
   right or all wrong is left out (``TreeLabels.dropped``, counted). The first ``k`` of them are the
   root's MC estimate (samples are numbered per prefix: no extra cost).
1. The root is a state. Every state s with an estimate keeps its rollouts: with 0 < MC(s) < 1 its
   wrong finished ones join the pool; with MC(s) > 0 its right ones become leaves (value 1), as
   openr's ``add_correct_rollout_to_tree`` does. The question's input responses are rollouts of the
   root too, under the same rule: a wrong one joins the pool when 0 < MC(root) < 1, a right one is a
   leaf (prmlabel's seeding; the paper starts from the root's rollouts alone).
2. Until ``search_limit`` selections, the ``rollout_budget`` (openr), or an empty pool: pop
   argmax Q(s, r) + U(s) (recomputed from current values), N(s) += 1, cut r into steps and
   binary-search them from s: estimate the midpoint prefix with k rollouts; MC > 0 -> the error is to
   the right, MC = 0 -> at or to the left. Each estimated prefix is a new state (chained along r by
   depth, so the states form a prefix tree); r itself ends as a wrong leaf (value 0, its outcome).

        Q(s, r) = alpha ** (1 - MC(s)) * beta ** (len(r) / L)      len(r) in tokens
        U(s)    = c_puct * sqrt(sum_i N(s_i)) / (1 + N(s))

   No value is backed up the tree (the paper updates only the selected state's statistics).
   ``parallel`` > 1 (prmlabel's option; 1, the paper's loop, by default) pops that many best
   candidates at once (each pop already counts in N(s), as a virtual visit) and searches them side by
   side, so a round carries more requests per tree; which rollouts are searched can then differ.
3. Every node is a training example (prefix, MC). An input response's labels: its binary search's
   labels if it was selected (steps before the first error good, the error bad, after it unknown);
   a right response is all good (it is itself a successful continuation of each of its prefixes, so
   every prefix has MC > 0); a wrong one not selected gets the values the tree holds for its
   prefixes (MC > 0 good, MC = 0 bad, unknown null) and its outcome on the last step.

Unknown stays unknown: an MC is over decided continuations only (None when none was decided); a
midpoint with none decided stops that path's search; a rollout whose outcome is undecided, cut at
``max_tokens`` or empty never joins the pool and is never a leaf of either value.
"""

from __future__ import annotations

from collections.abc import Generator, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from prmlabel.engine.types import (
    Node,
    QuestionView,
    ResponseView,
    Rollout,
    RolloutRequest,
    RolloutResult,
    StepLabels,
    TreeLabels,
    TreeProgram,
)
from prmlabel.labelers.base import first_error_of, hard_of
from prmlabel.labelers.omegaprm import OmegaPRMParams, PathSearch, bisect_first_error, path_labels, q_value, u_value
from prmlabel.text.steps import StepSplit, split_steps


@dataclass(frozen=True)
class Candidate:
    """A wrong rollout r of state s, waiting in the pool."""

    state: int  # node id of s
    steps: tuple[str, ...]
    tokens: int
    response_id: str | None = None  # an input response seeded here


@dataclass
class Tree:
    p: OmegaPRMParams
    nodes: list[Node] = field(default_factory=list)
    by_text: dict[str, int] = field(default_factory=dict)  # prefix text -> node id (states and leaves)
    pool: list[Candidate] = field(default_factory=list)  # insertion order breaks ties
    seen: set[str] = field(default_factory=set)  # full texts already pooled or searched
    rollouts: int = 0  # continuations asked for (openr's rollout budget counts these)

    @cached_property
    def steps_split(self) -> StepSplit:
        return StepSplit.parse(self.p.split)  # parsed once per tree, not per rollout

    def mc_of(self, text: str) -> float | None:
        i = self.by_text.get(text)
        return None if i is None else self.nodes[i].mc

    def add(
        self,
        parent: int | None,
        steps: Sequence[str],
        source: str,
        result: RolloutResult | None = None,
        outcome: bool | None = None,
        response_id: str | None = None,
        keep: bool = True,
    ) -> int:
        """A state estimated by ``result``, or (``result`` None) a complete answer valued by ``outcome``.

        ``keep``: the state's rollouts join the pool or the tree now (see :meth:`keep_rollouts`)."""
        base = self.nodes[parent] if parent is not None else None
        prefix_steps = (*base.prefix_steps, base.step) if base is not None and base.node_id else ()
        text = (base.text if base is not None else "") + "".join(steps)
        if text in self.by_text:  # the prefix is already a node: the tree shares it
            return self.by_text[text]
        node = Node(
            node_id=len(self.nodes),
            parent_id=parent,
            prefix_steps=prefix_steps,
            step="".join(steps),
            depth=(base.depth + len(steps)) if base is not None else 0,
            source=source,
            response_id=response_id,
        )
        if result is not None:
            node.rollouts, node.successes, node.mc = result.n_decided, result.n_correct, result.mc
            node.tokens = sum(r.completion_tokens for r in result.rollouts)
            if result.n_undecided:
                node.extra["undecided_rollouts"] = result.n_undecided
        else:
            node.terminal, node.correct = True, outcome
            node.mc = None if outcome is None else float(outcome)
        self.nodes.append(node)
        self.by_text[text] = node.node_id
        if keep and result is not None:
            self.keep_rollouts(node.node_id, result)
        return node.node_id

    def keep_rollouts(self, state: int, result: RolloutResult) -> None:
        mc = self.nodes[state].mc
        if mc is None:
            return
        for r in result.rollouts:
            if not usable(r):
                continue
            text = self.nodes[state].text + r.text
            if r.correct and mc > 0:  # openr: right rollouts of a state join the tree as value-1 leaves
                self.add(state, self.split(r.text), "rollout", outcome=True)
            elif r.correct is False and 0 < mc < 1 and text not in self.seen:
                self.seen.add(text)
                self.pool.append(Candidate(state, self.split(r.text), r.completion_tokens))

    def split(self, text: str) -> tuple[str, ...]:
        return tuple(split_steps(text, self.steps_split))

    def pop_best(self) -> Candidate:
        """argmax Q + U from current values (no stale priorities); the rollout leaves the pool for good."""
        p, nodes = self.p, self.nodes
        total = sum(n.visits for n in nodes)

        def score(c: Candidate) -> float:
            s = nodes[c.state]
            assert s.mc is not None
            return q_value(s.mc, c.tokens, p.alpha, p.beta, p.L) + u_value(p.c_puct, total, s.visits)

        best = max(range(len(self.pool)), key=lambda i: score(self.pool[i]))  # first max = earliest inserted
        candidate = self.pool.pop(best)
        state = nodes[candidate.state]
        state.visits += 1
        state.q = q_value(state.mc or 0.0, candidate.tokens, p.alpha, p.beta, p.L)  # Q of its last selection
        return candidate

    def search(self, c: Candidate) -> PathSearch:
        """Binary-search the wrong rollout ``c`` from its state; every estimate becomes a chained state."""
        base = self.nodes[c.state].text
        self.seen.add(base + "".join(c.steps))
        found = yield from bisect_first_error(base, c.steps, False, self.p.k, self._known_and_counted)
        first_error, known_good, estimates = found
        parent = c.state
        for j, _mc, result in sorted(estimates, key=lambda e: e[0]):
            done = len(self.nodes[parent].text) - len(base)  # steps of c already below ``parent``
            taken = _steps_in(c.steps, done)
            if result is None:  # an earlier path made this prefix a node already
                parent = self.by_text[base + "".join(c.steps[: j + 1])]
                continue
            source = "response" if c.response_id else "rollout"
            parent = self.add(parent, c.steps[taken : j + 1], source, result, response_id=c.response_id)
        taken = _steps_in(c.steps, len(self.nodes[parent].text) - len(base))
        source = "response" if c.response_id else "rollout"
        self.add(parent, c.steps[taken:], source, outcome=False, response_id=c.response_id)
        return first_error, known_good, estimates

    def _known_and_counted(self, prefix: str) -> float | None:
        mc = self.mc_of(prefix)
        if mc is None:
            self.rollouts += self.p.k  # bisect_first_error asks for k continuations of it next
        return mc


def _steps_in(steps: Sequence[str], chars: int) -> int:
    """How many leading ``steps`` make up the first ``chars`` characters."""
    total = 0
    for i, step in enumerate(steps):
        if total >= chars:
            return i
        total += len(step)
    return len(steps)


def usable(r: Rollout) -> bool:
    """A finished, non-empty, decided rollout: only such a one has an outcome to search back from."""
    return r.finish_reason == "stop" and bool(r.text.strip()) and r.correct is not None


def search_question(p: OmegaPRMParams, question: QuestionView) -> TreeProgram:
    tree = Tree(p)
    first_n = max(p.filter_rollouts, p.k)
    (first,) = yield [RolloutRequest("", first_n)]
    tree.rollouts += first_n
    extra: dict[str, Any] = {}
    if p.filter_rollouts:
        sample = RolloutResult(first.request, first.rollouts[: p.filter_rollouts])
        extra["filter"] = {"rollouts": sample.n, "decided": sample.n_decided, "correct": sample.n_correct}
        if sample.n_decided == 0 or sample.n_correct in (0, sample.n_decided):
            reason = (
                f"question filter: {sample.n_correct} of {sample.n_decided} decided rollouts (of "
                f"{sample.n}) reach the reference; OmegaPRM keeps questions with both outcomes"
            )
            return TreeLabels(nodes=[], dropped=reason, extra=extra)
    estimate = RolloutResult(RolloutRequest("", p.k), first.rollouts[: p.k])
    root = tree.add(None, [], "root", estimate, keep=False)
    for response in question.responses:  # the question's responses are rollouts of the root too
        _seed(tree, root, response)
    tree.keep_rollouts(root, estimate)  # after the responses: a repeat of one is not pooled twice
    searched: dict[str, tuple[int | None, int]] = {}
    selections = 0

    def may_select() -> bool:
        return (
            selections < p.search_limit
            and bool(tree.pool)
            and (p.rollout_budget is None or tree.rollouts < p.rollout_budget)
        )

    while may_select():
        # One selection at a time (the paper); with ``parallel`` > 1, the next best are popped too (their
        # N(s) already counts, so U spreads them over states) and searched side by side in one round.
        batch: list[Candidate] = []
        while may_select() and len(batch) < p.parallel:
            batch.append(tree.pop_best())
            selections += 1
        found = yield from side_by_side([tree.search(c) for c in batch])
        for candidate, (first_error, known_good, _) in zip(batch, found, strict=True):
            if candidate.response_id is not None:
                searched[candidate.response_id] = (first_error, known_good)
    if selections >= p.search_limit:
        stop = "search_limit"
    elif tree.pool:
        stop = "rollout_budget"
    else:
        stop = "empty_pool"
    extra.update(selections=selections, stop=stop, rollouts_asked=tree.rollouts, pool_left=len(tree.pool))
    labels = {r.response_id: _response_labels(tree, r, searched.get(r.response_id)) for r in question.responses}
    return TreeLabels(nodes=tree.nodes, responses=labels, extra=extra)


def side_by_side(searches: list[PathSearch]) -> Generator[list[RolloutRequest], list[RolloutResult], list[Any]]:
    """Run path searches in lockstep: each round yields all their requests at once, in order."""
    results: list[Any] = [None] * len(searches)
    pending: dict[int, list[RolloutRequest]] = {}
    for i, search in enumerate(searches):
        try:
            pending[i] = next(search)
        except StopIteration as stop:
            results[i] = stop.value
    while pending:
        order = list(pending)
        replies = yield [request for i in order for request in pending[i]]
        at = 0
        for i in order:
            part, at = replies[at : at + len(pending[i])], at + len(pending[i])
            try:
                pending[i] = searches[i].send(part)
            except StopIteration as stop:
                results[i] = stop.value
                del pending[i]
    return results


def _seed(tree: Tree, root: int, response: ResponseView) -> None:
    """A response is a rollout of the root: pooled by the root's rule (wrong, and 0 < MC(root) < 1)."""
    text = "".join(response.steps)
    mc = tree.nodes[root].mc
    if response.is_correct:
        tree.add(root, list(response.steps), "response", outcome=True, response_id=response.response_id)
    elif response.is_correct is False and mc is not None and 0 < mc < 1 and text not in tree.seen:
        tree.seen.add(text)
        tokens = response.tokens if response.tokens is not None else len(text.split())
        tree.pool.append(Candidate(root, tuple(response.steps), tokens, response.response_id))


def _response_labels(tree: Tree, response: ResponseView, searched: tuple[int | None, int] | None) -> StepLabels:
    m = len(response.steps)
    values = [tree.mc_of(response.prefix(t + 1)) for t in range(m)]
    values[-1] = None if response.is_correct is None else float(response.is_correct)
    if searched is not None:
        first_error, known_good = searched
        hard = path_labels(m, first_error, known_good)
        return StepLabels(values, hard, first_error, {"searched": True})
    if response.is_correct:
        # The response itself is a continuation of each of its prefixes that reached the answer: every
        # prefix has MC > 0, good by OmegaPRM's rule. The paper never searches a right rollout.
        return StepLabels(values, [True] * m, -1, {"searched": False, "good_by": "own outcome"})
    hard = [hard_of(v) for v in values]
    return StepLabels(values, hard, first_error_of(hard), {"searched": False})
