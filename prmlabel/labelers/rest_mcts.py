"""ReST-MCTS*: an MCTS* tree per question, grown one step at a time, and its weighted value targets.

Zhang et al., 2024, "ReST-MCTS*: LLM Self-Training via Process Reward Guided Tree Search",
arXiv 2406.03816. Released code THUDM/ReST-MCTS @2d5f488, cited as file:line. Defaults are those of
the self-training generators (self_train/generation/generate_both_samples_MATH.py:90-99: 50
iterations, branch 3, exploration constant c 0.5, end gate 0.8, alpha 0.5, inf 0.9, greedy
simulation of 1 step with 1 proposal), which run the search with sample_value="full" (:47).

Search, ``iteration_limit`` rounds of (MCTS/mcts.py:128-162):

1. select (mcts.py:172-179, 224-235): from the root, while a node is expanded go to its child with
   the largest ``V(c) + c * sqrt(2 ln N(parent) / N(c))``, an unvisited child scoring ``V(c) + inf``;
   ties broken at random. A selected leaf with ``V >= end_gate`` is closed (mcts.py:165-169; in
   "full" mode the search goes on and the node is never expanded, mcts.py:135-138).
2. expand (mcts.py:182-210, 24-39): ``branch`` one-step proposals (an empty one is retried, up to 3
   tries; a repeated one is merged, :196-197), each new child valued at once (:200-201). No
   proposal at all closes the node (:192-194). A step that ends the solution closes its node
   (MCTS/task.py:263-268: "answer is" or \\boxed ends it).
3. simulate (mcts.py:147-157, greedyPolicy :73-103): from the best child, ``roll_forward_steps``
   times propose ``roll_branch`` steps, value them, follow the best; then
   ``V(child) = (1 - alpha) V(child) + alpha max(0, best value)`` and ``N(child) += 1``.
4. back up (mcts.py:213-221): each node from the expanded one to the root gets ``N += 1`` and
   ``V = sum_c V(c) N(c) / sum_c N(c)`` over its children.

Value targets (MCTS/base.py:126-154, 108-124; MCTS/task.py:476-510, 626-629). End leaves are the
unexpanded nodes closed by the search or with ``V >= end_gate`` (base.py:84-94); each is checked
against the reference (task.py:500-509). A correct end leaf has reasoning distance ``m = 1`` and
``m(parent) = min over children m + 1`` (base.py:133-137); those nodes have ``r = +1``. A wrong end
leaf and its ancestors up to the first node with an ``m`` take that node's ``m`` and ``r = -1``
(base.py:138-150). From ``V(root) = 0``, down the nodes with an ``m`` (base.py:117):

    V(child) = max(0, V(parent) + r * (1 - V(parent)) / m(child))

so the k-th step of a correct K-step path gets k / K. A tree with no correct end leaf gives no
targets (task.py:626-629). ``hard`` is the code's hard estimation ``he`` (base.py:22, 113-116):
True where r = +1 (a correct leaf lies below), False where r = -1, None where there is no target.
The paper trains its value model by regression on ``V``; ``hard`` is prmlabel's reading of ``he``.

Deviations (prmlabel's, stated on docs/labelers/rest_mcts.md):

- Node values during search. The paper values a node with its value model (a trained PRM,
  task.py:370-392); prmlabel has none at label time. A non-terminal node s at depth d is valued by
  ``value_rollouts`` full continuations, each weighted by how far it is from its answer:
  ``V^(s) = (1/n) sum_i [rollout i correct] * d / (d + R_i)``, R_i its number of steps (blank-line
  split), n the decided continuations. That is the value target s would get were rollout i the
  nearest correct path through it, so V^ estimates what the value model is trained to predict, on
  the same scale as end_gate. A terminal step is valued by its outcome (1 right, 0 wrong). With no
  continuation decided V^ is unknown: the node's ``mc`` stays null, counted (``unvalued_nodes``),
  and the search uses the code's floor ``low = 0`` (its value model always answers).
- Checking end leaves. The code asks the model to summarise an end leaf into an answer and checks
  that (task.py:487-503), even a leaf whose solution is unfinished (closed by the end gate, or with
  ``V >= end_gate``), so a partial solution can become a correct leaf with target 1. prmlabel checks
  only steps that end the solution: such a leaf is finished by the model's own completion of it (its
  first decided value continuation, already drawn), whose steps hang below it as nodes (source
  "rollout", ``finished_by_rollout``); the last is the checked leaf. A leaf with no decided
  continuation stays open (``open_leaves``, no m, null target), as does a terminal leaf whose answer
  cannot be judged (``undecided_leaves``). A node after which the model wrote only empty steps ended
  without an answer: wrong (False).
- No self-reflection call (task.py:263-309): a step ends the solution when the scheduler says it is
  terminal. Ties use a ``random.Random`` seeded by the problem id (the same tree on every run). The
  simulation's proposal is the node's one-step sample 0, which its expansion draws again (cached).

Nodes: ``q`` the search's V (null on "rollout" nodes), ``value_target`` V, ``extra`` m, r, v0 (V^),
end (why a leaf closed); one ``TreePath`` per terminal leaf; ``extra`` counts what is left null.
"""

from __future__ import annotations

import math
import random
from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Any, ClassVar

from prmlabel.engine.types import (
    Node,
    QuestionView,
    Rollout,
    RolloutRequest,
    RolloutResult,
    StepLabels,
    TreeLabels,
    TreePath,
    TreeProgram,
)
from prmlabel.labelers.base import first_error_of, params_dict
from prmlabel.text.steps import split_steps

TRIES = 3  # tries per proposal slot before an empty one is given up (mcts.py:14, 28)
Sub = Generator[list[RolloutRequest], list[RolloutResult], Any]


@dataclass(frozen=True)
class RestMCTSParams:
    iteration_limit: int = 50
    branch: int = 3
    exploration_constant: float = 0.5
    end_gate: float = 0.8
    alpha: float = 0.5
    inf: float = 0.9
    roll_forward_steps: int = 1
    roll_branch: int = 1
    value_rollouts: int = 4  # prmlabel's stand-in for the value model: continuations per node value

    def __post_init__(self) -> None:
        if min(self.iteration_limit, self.branch, self.roll_branch, self.value_rollouts) < 1:
            raise ValueError("rest_mcts params iteration_limit, branch, roll_branch, value_rollouts must be >= 1")
        if self.roll_forward_steps < 0 or self.exploration_constant < 0:
            raise ValueError("rest_mcts params roll_forward_steps and exploration_constant must be >= 0")
        if not 0.0 <= self.alpha <= 1.0:
            raise ValueError(f"rest_mcts params.alpha must be in [0, 1], got {self.alpha}")


@dataclass
class _State:
    """The search's view of a node: its value V, children, and whether/why it is closed."""

    V: float = 0.0
    children: list[int] = field(default_factory=list)
    expanded: bool = False
    closed: str | None = None  # "answer" (the step ends the solution), "gate", "no_step"


class _Tree:
    def __init__(self, problem_id: str) -> None:
        self.nodes: list[Node] = []
        self.states: list[_State] = []
        self.rng = random.Random(f"rest_mcts:{problem_id}")
        self.counts = {"empty_steps": 0, "duplicate_steps": 0}  # in expansions (the simulation's are not kept)
        self.finish: dict[int, Rollout] = {}  # a valued node's first decided continuation

    def add(self, parent: Node | None, rollout: Rollout | None) -> Node:
        if parent is None:
            node = Node(0, None, (), "", 0, source="root")
        else:
            node = Node(
                len(self.nodes),
                parent.node_id,
                (*parent.prefix_steps, parent.step) if parent.parent_id is not None else (),
                rollout.text,
                parent.depth + 1,
                terminal=rollout.terminal,
                correct=rollout.correct if rollout.terminal else None,
                tokens=rollout.completion_tokens,
            )
            self.states[parent.node_id].children.append(node.node_id)
        self.nodes.append(node)
        state = _State()
        if node.terminal:
            state.closed = "answer"
        self.states.append(state)
        return node

    def best_child(self, node: Node, c: float, inf: float) -> Node:
        parent_visits = max(self.nodes[node.node_id].visits, 1)
        best, ties = -math.inf, []
        for child_id in self.states[node.node_id].children:
            child, value = self.nodes[child_id], self.states[child_id].V
            if child.visits > 0:
                score = value + c * math.sqrt(2 * math.log(parent_visits) / child.visits)
            else:
                score = value + inf
            if score > best:
                best, ties = score, [child]
            elif score == best:
                ties.append(child)
        return self.rng.choice(ties)

    def back_up(self, node: Node | None) -> None:
        while node is not None:
            node.visits += 1
            state = self.states[node.node_id]
            if state.expanded:
                kids = [(self.states[i].V, self.nodes[i].visits) for i in state.children]
                total = sum(n for _, n in kids)
                if total > 0:
                    state.V = sum(v * n for v, n in kids) / total
            node = None if node.parent_id is None else self.nodes[node.parent_id]


def _progress_value(result: RolloutResult, depth: int) -> float | None:
    """V^(s): decided continuations, each correct one weighted d / (d + its steps); None if none decided."""
    decided = [r for r in result.rollouts if r.correct is not None]
    if not decided:
        return None
    won = sum(depth / (depth + max(1, len(split_steps(r.text)))) for r in decided if r.correct is True)
    return won / len(decided)


def _propose(prefix: str, n: int) -> Sub:
    """Up to ``n`` non-empty one-step proposals: samples 0..n-1, an empty one retried (TRIES per slot)."""
    got: list[Rollout] = []
    empties: list[Rollout] = []
    want, offset = n, 0
    for _ in range(TRIES):
        (result,) = yield [RolloutRequest(prefix, k=want, one_step=True, offset=offset)]
        offset += want
        fresh = [r for r in result.rollouts if r.text.strip()]
        empties += [r for r in result.rollouts if not r.text.strip()]
        got += fresh
        want -= len(fresh)
        if want == 0:
            break
    return got, empties


class RestMCTS:
    name: ClassVar[str] = "rest_mcts"
    paper: ClassVar[str] = "ReST-MCTS* (Zhang et al., 2024), arXiv 2406.03816; THUDM/ReST-MCTS"
    value_kind: ClassVar[str] = "probability"
    Params: ClassVar[type] = RestMCTSParams
    per_question: ClassVar[bool] = True
    step_delimiter: ClassVar[str] = "\n\n"  # one-step proposals stop here; continuations are split here

    def __init__(self, params: RestMCTSParams | None = None) -> None:
        self.p = params or RestMCTSParams()

    def params(self) -> dict[str, Any]:
        return params_dict(self.p)

    def label_question(self, question: QuestionView) -> TreeProgram:
        return self._search(question)

    # -- the search --------------------------------------------------------------------------------
    def _search(self, question: QuestionView) -> TreeProgram:
        p, tree = self.p, _Tree(question.problem_id)
        root = tree.add(None, None)
        for _ in range(p.iteration_limit):
            node = root
            while tree.states[node.node_id].expanded:
                node = tree.best_child(node, p.exploration_constant, p.inf)
            state = tree.states[node.node_id]
            if state.closed is None and state.V >= p.end_gate and node is not root:
                state.closed = "gate"
            if state.closed is None:
                yield from self._expand(tree, node)
                if state.expanded:
                    yield from self._simulate(tree, tree.best_child(node, p.exploration_constant, p.inf))
            tree.back_up(node)
        return _labels(tree, p)

    def _values(self, items: list[tuple[str, int, Rollout]]) -> Sub:
        """Value each (text, depth, step) at once: a terminal step by its outcome, others by V^."""
        values: list[float | None] = [None] * len(items)
        results: list[RolloutResult | None] = [None] * len(items)
        asks = [i for i, (_, _, step) in enumerate(items) if not step.terminal]
        for i, (_, _, step) in enumerate(items):
            if step.terminal and step.correct is not None:
                values[i] = 1.0 if step.correct else 0.0
        if asks:
            answers = yield [RolloutRequest(items[i][0], k=self.p.value_rollouts) for i in asks]
            for i, result in zip(asks, answers, strict=True):
                results[i] = result
                values[i] = _progress_value(result, items[i][1])
        return values, results

    def _expand(self, tree: _Tree, node: Node) -> Sub:
        state = tree.states[node.node_id]
        got, empties = yield from _propose(node.text, self.p.branch)
        tree.counts["empty_steps"] += len(empties)
        if not got:  # the model only ended the solution here, without an answer (mcts.py:192-194)
            state.closed = "no_step"
            node.terminal = True
            node.correct = False if all(r.correct is False for r in empties) else None
            return
        made: list[tuple[Node, Rollout]] = []
        for step in got:
            if any(tree.nodes[i].step == step.text for i in state.children):
                tree.counts["duplicate_steps"] += 1
                continue
            made.append((tree.add(node, step), step))
        values, results = yield from self._values([(c.text, c.depth, step) for c, step in made])
        for (child, _), value, result in zip(made, values, results, strict=True):
            tree.states[child.node_id].V = 0.0 if value is None else value
            child.extra["v0"] = value
            if result is not None:
                child.rollouts, child.successes, child.mc = result.n_decided, result.n_correct, result.mc
                child.tokens += sum(r.completion_tokens for r in result.rollouts)
                decided = [r for r in result.rollouts if r.correct is not None]
                if decided:
                    tree.finish[child.node_id] = decided[0]
        state.expanded = True

    def _simulate(self, tree: _Tree, roll: Node) -> Sub:
        p, state = self.p, tree.states[roll.node_id]
        best = state.V
        if state.closed is None:  # greedyPolicy (mcts.py:73-103): low = 0 is the floor
            best, prefix, depth = 0.0, roll.text, roll.depth
            for _ in range(p.roll_forward_steps):
                got, _ = yield from _propose(prefix, p.roll_branch)
                if not got:
                    break
                depth += 1
                values, _ = yield from self._values([(prefix + s.text, depth, s) for s in got])
                scores = [0.0 if v is None else v for v in values]
                pick = max(range(len(got)), key=lambda i: scores[i])  # first maximum, as numpy.argmax
                prefix += got[pick].text
                best = max(best, scores[pick])
                if got[pick].terminal:
                    break
        state.V = state.V * (1 - p.alpha) + best * p.alpha
        roll.visits += 1


def _finish_open_ends(tree: _Tree, p: RestMCTSParams) -> int:
    """Finish each unfinished end leaf with its first decided continuation, as nodes; return how many.

    The code asks the model to summarise such a leaf into an answer and checks that (task.py:487-503);
    here the model's own completion of the leaf, already drawn to value it, is that answer: its steps
    hang below the leaf (source "rollout") and its last step is the checked, terminal leaf."""
    finished = 0
    for node, state in list(zip(tree.nodes, tree.states, strict=True)):
        if node.parent_id is None or node.terminal or state.children:
            continue
        if state.closed != "gate" and state.V < p.end_gate:
            continue
        rollout = tree.finish.get(node.node_id)
        if rollout is None:
            continue  # no decided continuation: the leaf stays open (undecided)
        finished += 1
        steps = split_steps(rollout.text)
        if not steps:  # the model stopped right there, without an answer
            node.terminal, node.correct = True, False if rollout.correct is False else None
            continue
        parent = node
        for j, text in enumerate(steps):
            last = j == len(steps) - 1
            parent = tree.add(parent, Rollout(text, rollout.correct if last else None, "stop", 0, terminal=last))
            parent.source = "rollout"
    return finished


def _labels(tree: _Tree, p: RestMCTSParams) -> TreeLabels:
    """Reasoning distances, value targets, hard labels (he) and one path per terminal leaf."""
    finished = _finish_open_ends(tree, p)
    nodes, states = tree.nodes, tree.states
    ends = [
        n.node_id
        for n, s in zip(nodes, states, strict=True)
        if n.parent_id is not None and not s.children and (n.terminal or s.closed is not None or s.V >= p.end_gate)
    ]
    outcome = {i: nodes[i].correct if nodes[i].terminal else None for i in ends}
    m: dict[int, int] = {i: 1 for i in ends if outcome[i] is True}
    for node in reversed(nodes):  # children come after their parents
        below = [m[c] for c in states[node.node_id].children if c in m]
        if below and node.node_id not in m:
            m[node.node_id] = min(below) + 1
    good = set(m)  # r = +1: a correct end leaf lies at or below
    for leaf in (i for i in ends if outcome[i] is False):
        up = nodes[leaf].parent_id
        while up is not None and up not in m:
            up = nodes[up].parent_id
        if up is None:
            continue
        at: int | None = leaf
        while at is not None and at not in m:
            m[at] = m[up]
            at = nodes[at].parent_id
    target: dict[int, float] = {0: 0.0}
    for node in nodes[1:]:  # parents first: creation order
        if node.node_id in m and node.parent_id in target:
            r = 1 if node.node_id in good else -1
            v_parent = target[node.parent_id]
            target[node.node_id] = max(0.0, v_parent + r * (1 - v_parent) / m[node.node_id])
    hard = {i: i in good for i in target if i != 0}
    for node, state in zip(nodes, states, strict=True):
        node.q = state.V if node.source != "rollout" else None
        node.value_target = target.get(node.node_id) if node.parent_id is not None else None
        r = None if node.node_id not in hard else (1 if hard[node.node_id] else -1)
        node.extra.update(m=m.get(node.node_id), r=r, end=state.closed)
    paths = [_path(nodes, leaf, outcome[leaf], target, hard) for leaf in ends if nodes[leaf].terminal]
    extra = {
        "iterations": p.iteration_limit,
        "nodes": len(nodes),
        "end_leaves": len(ends),
        "correct_leaves": sum(outcome[i] is True for i in ends),
        "wrong_leaves": sum(outcome[i] is False for i in ends),
        "undecided_leaves": sum(outcome[i] is None and nodes[i].terminal for i in ends),
        "open_leaves": sum(not nodes[i].terminal for i in ends),
        "finished_by_rollout": finished,
        "targets": len(target) - 1,
        "null_targets": len(nodes) - len(target),
        "no_correct_leaf": not good,
        "unvalued_nodes": sum(n.source == "expansion" and n.extra.get("v0") is None for n in nodes),
        **tree.counts,
    }
    return TreeLabels(nodes=nodes, paths=paths, extra=extra)


def _path(
    nodes: list[Node], leaf: int, is_correct: bool | None, target: dict[int, float], hard: dict[int, bool]
) -> TreePath:
    """The root-to-leaf path as a labeled response: values are the targets, hard the he flags."""
    ids: list[int] = []
    at: int | None = leaf
    while at:  # the root (0) is no step
        ids.append(at)
        at = nodes[at].parent_id
    ids.reverse()
    labels_hard = [hard.get(i) for i in ids]
    labels = StepLabels([target.get(i) for i in ids], labels_hard, first_error_of(labels_hard))
    return TreePath(f"leaf-{leaf}", tuple(nodes[i].step for i in ids), is_correct, labels, tuple(ids))
