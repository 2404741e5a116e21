"""HRM's hierarchical node compression on hand-built trees (construct_hrm_train_data.py:66-101)."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest

from prmlabel.filters.hrm_compress import HNCParams, compress_question, question_rng


def node(problem_id: str, node_id: int, parent: dict[str, Any] | None, step: str, mc: float) -> dict[str, Any]:
    """A NODES row hung under ``parent`` (None: the root)."""
    prefix = [] if parent is None else [*parent["prefix_steps"], parent["step"]] if parent["depth"] else []
    return {
        "problem_id": problem_id,
        "node_id": node_id,
        "parent_id": None if parent is None else parent["node_id"],
        "depth": 0 if parent is None else parent["depth"] + 1,
        "question": "What is 1 + 2 + 3?",
        "reference_answer": "6",
        "prefix_steps": prefix,
        "step": step,
        "visits": node_id,
        "rollouts": 8,
        "successes": round(mc * 8),
        "mc": mc,
        "q": mc / 2,
        "value_target": None,
        "value_kind": "probability",
        "terminal": False,
        "correct": None,
        "source": "root" if parent is None else "expansion",
        "response_id": None,
        "method": "omegaprm",
        "node_extra": "{}",
        "node_cost": {"rollouts": 8, "generated_tokens": 40},
        "node_provenance": {"method": "omegaprm", "seed": 0},
    }


def tree(problem_id: str = "q1") -> list[dict[str, Any]]:
    """root 0 -> 1 (children 3, 4, 5, 6) and 2 (children 10, 11, 12); 3 has children 7, 8, 9, 13.

    Node 1 is the only candidate with four children at depth >= 2 besides 3; 2 has three.
    """
    root = node(problem_id, 0, None, "", 0.5)
    n1 = node(problem_id, 1, root, "a=1.\n\n", 0.75)
    n2 = node(problem_id, 2, root, "b=2.\n\n", 0.25)
    n3 = node(problem_id, 3, n1, "c=3.\n\n", 0.625)
    rows = [root, n1, n2, n3]
    rows += [node(problem_id, i, n1, f"s{i}.\n\n", 0.5) for i in (4, 5, 6)]
    rows += [node(problem_id, i, n3, f"t{i}.\n\n", 1.0) for i in (7, 8, 9, 13)]
    rows += [node(problem_id, i, n2, f"u{i}.\n\n", 0.0) for i in (10, 11, 12)]
    return rows


def test_a_sure_coin_merges_the_first_child_of_each_candidate_with_its_parents_step():
    out = compress_question(tree(), HNCParams(p=1.0))
    assert len(out.merged) == 1  # node 1 merges child 3; 3's own children may not (3 is merged)
    merged = out.merged[0]
    assert merged["node_id"] == 14  # after the question's last node (13)
    assert merged["parent_id"] == 0 and merged["depth"] == 2  # depth counts steps: the child's text's
    assert merged["prefix_steps"] == [] and merged["step"] == "a=1.\n\nc=3.\n\n"
    assert merged["source"] == "merge"
    # the label is the child's value: the merged node's text is the child's text
    assert (merged["mc"], merged["q"], merged["rollouts"], merged["successes"]) == (0.625, 0.3125, 8, 5)
    extra = json.loads(merged["node_extra"])
    assert extra["merged_from"] == [1, 3] and extra["label_from"] == 3 and extra["rule"] == "hnc"
    assert merged["node_cost"] == {"rollouts": 0, "generated_tokens": 0}
    assert out.parents == Counter({"merged": 1, "parent_merged": 1, "few_children": 1})


def test_a_node_with_three_children_is_never_a_merge_parent():
    rows = [r for r in tree() if r["node_id"] != 13]  # node 3 keeps three children
    rows = [r for r in rows if r["node_id"] != 6]  # node 1 too
    out = compress_question(rows, HNCParams(p=1.0))
    assert out.merged == []
    assert out.parents == Counter({"few_children": 3})
    assert compress_question(rows, HNCParams(p=1.0, min_children=3)).parents["merged"] == 2


def test_deeper_merge_keeps_the_grandparents_path():
    rows = [r for r in tree() if r["node_id"] not in (4, 5, 6)]  # node 1 now has one child: 3 is the candidate
    out = compress_question(rows, HNCParams(p=1.0))
    assert [json.loads(m["node_extra"])["merged_from"] for m in out.merged] == [[3, 7]]
    merged = out.merged[0]
    assert merged["parent_id"] == 1 and merged["depth"] == 3
    assert merged["prefix_steps"] == ["a=1.\n\n"] and merged["step"] == "c=3.\n\nt7.\n\n"
    assert merged["mc"] == 1.0


def test_the_winner_is_the_first_child_whose_coin_lands_below_p():
    for seed in range(20):
        draws = question_rng(seed, "q1")
        expected = next((k for k in (3, 4, 5, 6) if draws.random() < 0.5), None)
        out = compress_question(tree(), HNCParams(seed=seed))
        merged = [json.loads(m["node_extra"])["merged_from"] for m in out.merged if m["parent_id"] == 0]
        assert merged == ([] if expected is None else [[1, expected]]), seed


def test_coin_rates_match_p_over_many_seeds():
    winners = Counter()
    for seed in range(4000):
        out = compress_question(tree(), HNCParams(seed=seed))
        first = [json.loads(m["node_extra"])["merged_from"][1] for m in out.merged if m["parent_id"] == 0]
        winners[first[0] if first else None] += 1
    # P(child k wins) = 0.5^k; P(no merge) = 0.5^4
    for key, share in {3: 0.5, 4: 0.25, 5: 0.125, 6: 0.0625, None: 0.0625}.items():
        assert winners[key] / 4000 == pytest.approx(share, abs=0.025), (key, winners)


def test_same_seed_same_merges_other_seed_other_merges():
    def run(seed: int) -> list[list[int]]:
        """Which (parent, child) pairs merge in thirty copies of the tree under thirty problem ids."""
        out = [compress_question(tree(f"q{q}"), HNCParams(seed=seed)).merged for q in range(30)]
        return [json.loads(m["node_extra"])["merged_from"] for merged in out for m in merged]

    assert run(7) == run(7)
    assert run(7) != run(8)
    # the coins depend on the problem id: thirty copies of one tree do not all merge the same child
    assert len({tuple(pair) for pair in run(7) if pair[0] == 1}) > 1


def test_no_coin_no_merge_and_every_node_adds_in_place_merges():
    out = compress_question(tree(), HNCParams(p=0.0))
    assert out.merged == [] and out.parents["coin"] == 2  # nodes 1 and 3 each lost all four flips
    out = compress_question(tree(), HNCParams(p=0.0, every_node=True))
    depth2 = sorted(r["node_id"] for r in tree() if r["depth"] >= 2)
    assert [json.loads(m["node_extra"])["merged_from"][1] for m in out.merged] == depth2
    assert {json.loads(m["node_extra"])["rule"] for m in out.merged} == {"in_place"}
    assert [m["node_id"] for m in out.merged] == list(range(14, 14 + len(depth2)))


def test_bad_params_are_refused():
    with pytest.raises(ValueError, match="probability"):
        HNCParams(p=1.5)
    with pytest.raises(ValueError, match="min_children"):
        HNCParams(min_children=0)
