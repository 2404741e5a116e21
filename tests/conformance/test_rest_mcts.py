"""ReST-MCTS*'s value targets (arXiv 2406.03816; THUDM/ReST-MCTS MCTS/base.py:108-154) on a hand-built tree.

tests/data/conformance/rest_mcts/tree.json scripts every one-step proposal and continuation of a
small question: a correct 3-step path, a wrong branch off its first step and a wrong answer off the
root. The search (50 iterations) expands every open node whatever order it picks, so the final tree
is the one written down, and each node's reasoning distance m, sign r and target
V = max(0, V(parent) + r (1 - V(parent)) / m) are worked out by hand in the table (``working``).
"""

from __future__ import annotations

import math

from prmlabel.engine.types import QuestionView
from prmlabel.labelers.rest_mcts import RestMCTS, RestMCTSParams
from tests.conformance.helpers import load_cases
from tests.labelers.tree_driver import drive_tree

TABLE = load_cases("rest_mcts", "tree.json")


def _run():
    steps = {prefix: [tuple(s) for s in rows] for prefix, rows in TABLE["steps"].items()}
    values = {prefix: [tuple(c) for c in rows] for prefix, rows in TABLE["values"].items()}
    labeler = RestMCTS(RestMCTSParams(**TABLE["params"]))
    view = QuestionView("q", {"question": "?", "reference_answer": "7", "domain": "math", "meta": {}})
    return drive_tree(labeler.label_question(view), steps, values, tuple(TABLE["default_continuation"]))


def test_node_targets_match_the_hand_worked_tree() -> None:
    labels, _ = _run()
    by_text = {node.text: node for node in labels.nodes if node.parent_id is not None}
    assert sorted(by_text) == sorted(row["text"] for row in TABLE["nodes"])
    for row in TABLE["nodes"]:
        node = by_text[row["text"]]
        assert math.isclose(node.value_target, row["target"], abs_tol=1e-12), row["working"]
        assert node.extra["m"] == row["m"] and node.extra["r"] == row["r"], row["working"]
        assert math.isclose(node.extra["v0"], row["v0"], abs_tol=1e-12), row["working"]
    root = labels.nodes[0]
    assert root.parent_id is None and root.value_target is None  # V(root) = 0 is no training example


def test_paths_carry_targets_and_the_he_flags() -> None:
    labels, _ = _run()
    by_leaf = {labels.nodes[path.node_ids[-1]].text: path for path in labels.paths}
    assert sorted(by_leaf) == sorted(row["leaf"] for row in TABLE["paths"])
    for row in TABLE["paths"]:
        path = by_leaf[row["leaf"]]
        assert path.is_correct is row["is_correct"]
        assert all(math.isclose(a, b, abs_tol=1e-12) for a, b in zip(path.labels.values, row["values"], strict=True))
        assert path.labels.hard == row["hard"]
        assert path.labels.first_error == row["first_error"]
        assert "".join(path.steps) == row["leaf"]


def test_counts() -> None:
    labels, _ = _run()
    for key, value in TABLE["extra"].items():
        assert labels.extra[key] == value, key
    assert labels.extra["no_correct_leaf"] is False
