"""HRM's hierarchical node compression (HNC): merge two consecutive steps of a tree into one node.

Paper: Wang et al. 2025, "Towards Hierarchical Multi-Step Reward Models for Enhanced Reasoning in
Large Language Models" (HRM, arXiv 2503.13551). Released code: tengwang0318/hierarchial_reward_model,
``self-training/construct_hrm_train_data.py`` (commit cc638d0), ``split_node`` lines 66-101:

- The tree is walked breadth first from the root (lines 67-71, 99), children in their order.
- A node P is a candidate when it has at least 4 children (``len(node.children) >= 4``, line 79), its
  children are at depth >= 2 (``child.height >= 2``, line 78: P is not the root) and P is not itself
  a merged node (``child.parent.visited is False``, line 78).
- P's children are offered in order, each with probability 0.5 (``random.random() < 0.5``, line 80);
  the first that wins is merged and no other child of P is (``have_changed_one_child``, lines 74, 83).
- The merged child C's last two steps become one: previous_answer[:-2] + [step(P) + step(C)]
  (lines 85-92, concatenated with nothing between them), one level up (``height - 1``, line 91),
  reattached to its grandparent (lines 94-95).
- Its label is C's own value: C keeps its subtree, and ``assign_score_for_every_nodes`` (lines
  104-158) labels every node with (correct leaves below) / (leaves below), which for C is unchanged.

Here, with tree nodes as rows of the ``nodes/`` table (``prmlabel.contract.schema.NODES``), a merged
node M of child C (parent P, grandparent G) is::

    M.parent_id = G.node_id       M.prefix_steps = P.prefix_steps  (G's path)     M.step = P.step + C.step
    M.depth = C.depth  (NODES' depth counts steps from the root and M's text is C's text; the release's
                        ``height - 1``, line 91, counts nodes, which here is M's parent being G)
    M.{visits, rollouts, successes, mc, q, value_target, terminal, correct} = C's (the tree's value of
    the same text: prefix + step of M is prefix + step of C)

so M's full text equals C's. Every input node is left as is (the release rewires P's children and
relabels P without C's leaves; see docs/recipes/hrm.md for the differences). ``every_node`` adds the
release's second kind of merged example, ``merge_without_splitting`` (lines 211-216, 237-242): the
same two-step merge for every node at depth >= 2, same label. The release draws from the unseeded
global ``random``; here each question has its own ``random.Random`` seeded from (seed, problem_id).
"""

from __future__ import annotations

import json
import random
from collections import Counter, defaultdict, deque
from dataclasses import dataclass, field
from typing import Any

from prmlabel.runtime.seeds import derive_seed

# Columns a merged node takes from the child it was made of: the tree's value of the same text.
COPIED = (
    "problem_id",
    "question",
    "reference_answer",
    "visits",
    "rollouts",
    "successes",
    "mc",
    "q",
    "value_target",
    "value_kind",
    "terminal",
    "correct",
    "response_id",
    "method",
    "node_provenance",
)


@dataclass(frozen=True)
class HNCParams:
    min_children: int = 4  # construct_hrm_train_data.py:79, len(node.children) >= 4
    p: float = 0.5  # :80, random.random() < 0.5 per child until one is merged
    every_node: bool = False  # :211-216 merge_without_splitting: also merge every depth >= 2 node in place
    seed: int = 0

    def __post_init__(self) -> None:
        if self.min_children < 1:
            raise ValueError(f"params.min_children must be at least 1, not {self.min_children}")
        if not 0.0 <= self.p <= 1.0:
            raise ValueError(f"params.p is a probability in [0, 1], not {self.p}")


@dataclass
class Compression:
    """One question's merged nodes and, for every non-root node with children, why it was or was not
    the parent of a merge (``merged``, ``few_children``, ``coin``, ``parent_merged``)."""

    merged: list[dict[str, Any]] = field(default_factory=list)
    parents: Counter[str] = field(default_factory=Counter)


def question_rng(seed: int, problem_id: str) -> random.Random:
    """The question's own coin: the same draws whatever shard, order or run it is processed in."""
    return random.Random(derive_seed(seed, "hrm_compress", problem_id))


def compress_question(nodes: list[dict[str, Any]], params: HNCParams) -> Compression:
    """HNC over one question's tree (NODES rows); new node ids follow the question's largest."""
    out = Compression()
    if not nodes:
        return out
    by_id = {int(n["node_id"]): n for n in nodes}
    children: dict[int, list[int]] = defaultdict(list)
    for node_id, node in sorted(by_id.items()):
        if node.get("parent_id") is not None and int(node["parent_id"]) in by_id:
            children[int(node["parent_id"])].append(node_id)
    rng = question_rng(params.seed, str(nodes[0]["problem_id"]))
    next_id = max(by_id) + 1
    merged_children: set[int] = set()
    roots = [i for i, n in sorted(by_id.items()) if n.get("parent_id") is None]
    queue: deque[int] = deque(roots)
    while queue:  # breadth first, like split_node (lines 67-71, 99)
        parent_id = queue.popleft()
        kids = children.get(parent_id, [])
        queue.extend(kids)
        parent = by_id[parent_id]
        if not kids or parent.get("parent_id") is None:
            continue  # a leaf, or the root (its children are at depth 1: line 78 wants >= 2)
        if parent_id in merged_children:
            out.parents["parent_merged"] += 1  # line 78: child.parent.visited is False
        elif len(kids) < params.min_children:
            out.parents["few_children"] += 1  # line 79
        else:
            winner = next((k for k in kids if rng.random() < params.p), None)  # line 80, first win only
            if winner is None:
                out.parents["coin"] += 1
            else:
                out.parents["merged"] += 1
                merged_children.add(winner)
                out.merged.append(_merged(by_id, winner, next_id, "hnc", params))
                next_id += 1
    if params.every_node:
        for node_id, node in sorted(by_id.items()):
            parent_id = node.get("parent_id")
            if node_id in merged_children or parent_id is None or int(parent_id) not in by_id:
                continue
            if by_id[int(parent_id)].get("parent_id") is None:
                continue  # depth 1: one step, nothing to merge (line 211: len(previous_answer) >= 2)
            out.merged.append(_merged(by_id, node_id, next_id, "in_place", params))
            next_id += 1
    return out


def _merged(by_id: dict[int, dict[str, Any]], child_id: int, node_id: int, rule: str, params: HNCParams) -> dict:
    """The node made of ``child_id``'s parent step and its own, hung under the grandparent."""
    child = by_id[child_id]
    parent = by_id[int(child["parent_id"])]
    row = {key: child.get(key) for key in COPIED}
    extra = {
        "merged_from": [int(parent["node_id"]), child_id],
        "label_from": child_id,
        "rule": rule,
        "hnc": {"min_children": params.min_children, "p": params.p, "seed": params.seed},
    }
    row.update(
        node_id=node_id,
        parent_id=parent["parent_id"],
        depth=child.get("depth"),  # steps from the root: M's text is C's (the release's height - 1 is parent_id here)
        prefix_steps=list(parent.get("prefix_steps") or []),
        step=(parent.get("step") or "") + (child.get("step") or ""),
        source="merge",
        node_extra=json.dumps(extra, sort_keys=True),
        node_cost={"rollouts": 0, "generated_tokens": 0},  # no generation: two existing steps joined
    )
    return row
