"""ReST-MCTS* (prmlabel/labelers/rest_mcts.py): the search driven by hand, then end to end on the simulator."""

from __future__ import annotations

import math

import pytest

from prmlabel.backends import Sampling
from prmlabel.backends.synthetic import SyntheticBackend
from prmlabel.engine.scheduler import Job, Scheduler
from prmlabel.engine.types import QuestionView
from prmlabel.labelers import load_labeler
from prmlabel.labelers.rest_mcts import RestMCTS, RestMCTSParams
from prmlabel.stages.label import DEFAULT_PROMPT
from prmlabel.synthetic.problems import make_problems
from tests.labelers.tree_driver import drive_tree

VIEW = QuestionView("q", {"question": "?", "reference_answer": "7", "domain": "math", "meta": {}})
WRONG = ("z", False)
RIGHT = "The answer is \\boxed{7}."


def test_defaults_are_the_released_self_training_ones() -> None:
    # self_train/generation/generate_both_samples_MATH.py:90-99
    p = load_labeler("rest_mcts").params()
    assert (p["iteration_limit"], p["branch"], p["exploration_constant"], p["end_gate"], p["alpha"]) == (
        50,
        3,
        0.5,
        0.8,
        0.5,
    )
    assert (p["inf"], p["roll_forward_steps"], p["roll_branch"]) == (0.9, 1, 1)
    assert RestMCTS.per_question is True and RestMCTS.value_kind == "probability"
    with pytest.raises(ValueError):
        RestMCTSParams(branch=0)


def test_expands_one_step_at_a_time_and_values_children_in_one_round() -> None:
    steps = {
        "": [("a\n\n", False, None), ("b\n\n", False, None), ("c " + RIGHT, True, True)],
        "a\n\n": [("a2 " + RIGHT, True, True)] * 3,
    }
    labeler = RestMCTS(RestMCTSParams(iteration_limit=2))
    _, rounds = drive_tree(labeler.label_question(VIEW), steps, {}, WRONG)
    assert [(r.prefix, r.k, r.one_step, r.offset) for r in rounds[0]] == [("", 3, True, 0)]
    # the two open children's values together; the terminal child is valued by its own outcome
    assert [(r.prefix, r.k, r.one_step) for r in rounds[1]] == [("a\n\n", 4, False), ("b\n\n", 4, False)]


def test_no_correct_leaf_gives_no_targets() -> None:
    steps = {"": [("b " + "The answer is \\boxed{5}.", True, False)] * 3}
    labels, _ = drive_tree(RestMCTS().label_question(VIEW), steps, {}, WRONG)
    assert labels.extra["no_correct_leaf"] is True and labels.extra["wrong_leaves"] == 1
    assert all(node.value_target is None for node in labels.nodes)
    (path,) = labels.paths
    assert path.is_correct is False
    assert path.labels.values == [None] and path.labels.hard == [None] and path.labels.first_error is None


def test_undecided_answer_is_never_correct() -> None:
    steps = {
        "": [("a\n\n", False, None), ("u The answer is \\boxed{x}.", True, None)],
        "a\n\n": [(RIGHT, True, True)] * 2,
    }
    labels, _ = drive_tree(RestMCTS(RestMCTSParams(branch=2)).label_question(VIEW), steps, {}, WRONG)
    undecided = next(n for n in labels.nodes if n.step.startswith("u "))
    assert undecided.correct is None and undecided.value_target is None and undecided.extra["r"] is None
    assert labels.extra["undecided_leaves"] == 1 and labels.extra["unvalued_nodes"] == 1
    path = next(p for p in labels.paths if p.node_ids[-1] == undecided.node_id)
    assert path.is_correct is None and path.labels.values == [None] and path.labels.first_error is None
    right = next(p for p in labels.paths if p.is_correct)
    assert right.labels.values == [0.5, 1.0]  # k / K on the correct 2-step path


def test_empty_steps_are_retried_then_close_the_node_as_wrong() -> None:
    empty = ("", True, False)
    steps = {
        "": [("a\n\n", False, None), empty, ("b\n\n", False, None)],  # slot 2 empty, retried at offset 2
        "a\n\n": [empty] * 6,  # 3 tries of 2 slots: nothing
        "b\n\n": [(RIGHT, True, True)] * 2,
    }
    labels, rounds = drive_tree(RestMCTS(RestMCTSParams(branch=2)).label_question(VIEW), steps, {}, WRONG)
    assert [(r.prefix, r.k, r.offset) for r in rounds[1] if r.one_step] == [("", 1, 2)]
    a = next(n for n in labels.nodes if n.step == "a\n\n")
    assert a.terminal is True and a.correct is False and a.extra["end"] == "no_step"
    assert labels.extra["empty_steps"] == 1 + 6
    assert not any(n.step == "" for n in labels.nodes[1:])
    # a: wrong end leaf under the root (m = 3 from b's 2-step correct path): max(0, 0 - 1/3) = 0
    assert a.value_target == 0.0 and a.extra["m"] == 3
    assert [p.labels.hard for p in labels.paths if p.node_ids[-1] == a.node_id] == [[False]]


def test_end_gate_closes_a_node_which_its_own_continuation_then_finishes() -> None:
    steps = {"": [("a\n\n", False, None)] * 3, "a\n\n": [(RIGHT, True, True)] * 3}
    values = {"a\n\n": [("x\n\n" + RIGHT, True)] * 4}  # V^(a) = 1/(1+2); the simulated answer lifts it to 2/3
    params = RestMCTSParams(end_gate=0.6)
    labels, rounds = drive_tree(RestMCTS(params).label_question(VIEW), steps, values)
    a = labels.nodes[1]
    assert math.isclose(a.q, 2 / 3) and a.extra["end"] == "gate"
    # never expanded: the only one-step request for a is the simulation's single proposal
    assert [r.k for rnd in rounds for r in rnd if r.one_step and r.prefix == "a\n\n"] == [1]
    # finished by its first decided continuation (2 steps), the last one terminal and checked
    assert [(n.step, n.source, n.terminal, n.correct) for n in labels.nodes[2:]] == [
        ("x\n\n", "rollout", False, None),
        (RIGHT, "rollout", True, True),
    ]
    (path,) = labels.paths
    assert path.labels.values == pytest.approx([1 / 3, 2 / 3, 1.0]) and path.labels.first_error == -1
    assert labels.extra["finished_by_rollout"] == 1 and labels.extra["open_leaves"] == 0


def test_gated_node_without_a_decided_continuation_stays_open() -> None:
    steps = {"": [("a\n\n", False, None)] * 3, "a\n\n": [(RIGHT, True, True)] * 3}
    values = {"a\n\n": [("x", None)] * 4}  # nothing decided: V^ unknown, the search uses 0
    labels, _ = drive_tree(RestMCTS(RestMCTSParams(end_gate=0.5)).label_question(VIEW), steps, values)
    a = labels.nodes[1]
    assert a.mc is None and a.extra["v0"] is None and a.extra["end"] == "gate"
    assert len(labels.nodes) == 2 and not labels.paths and a.value_target is None
    assert labels.extra["open_leaves"] == 1 and labels.extra["unvalued_nodes"] == 1
    assert labels.extra["no_correct_leaf"] is True


def test_same_tree_every_run() -> None:
    steps = {
        "": [("a\n\n", False, None), ("b\n\n", False, None), ("c\n\n", False, None)],
        "a\n\n": [(RIGHT, True, True)] * 3,
        "b\n\n": [("wrong \\boxed{1}", True, False)] * 3,
        "c\n\n": [(RIGHT, True, True)] * 3,
    }
    runs = [drive_tree(RestMCTS().label_question(VIEW), steps, {}, WRONG)[0] for _ in range(2)]
    assert [(n.node_id, n.parent_id, n.step, n.visits, n.q) for n in runs[0].nodes] == [
        (n.node_id, n.parent_id, n.step, n.visits, n.q) for n in runs[1].nodes
    ]


def test_end_to_end_on_the_simulator_through_the_scheduler() -> None:
    labeler = load_labeler("rest_mcts", {"iteration_limit": 20})
    rows = make_problems(4, (3, 4), 3)
    jobs = [
        Job(
            question=DEFAULT_PROMPT["template"].replace("{question}", row["question"]),
            reference=row["reference_answer"],
            domain="math",
            program=labeler.label_question(QuestionView(row["problem_id"], dict(row))),
        )
        for row in rows
    ]
    stats = Scheduler(
        SyntheticBackend(slip_rate=0.2, recovery_rate=0.0), Sampling(0.7, 1.0, 1024, ()), seed=0, model_key="t"
    ).run(jobs)
    assert stats.backend_calls > 0
    correct_paths = 0
    for job in jobs:
        assert job.error is None, job.error
        labels = job.result
        ids = {n.node_id for n in labels.nodes}
        assert len(labels.nodes) > 1
        assert all(n.parent_id in ids for n in labels.nodes if n.node_id != 0)
        assert all(n.value_target is None or 0.0 <= n.value_target <= 1.0 for n in labels.nodes)
        for path in labels.paths:
            leaf = labels.nodes[path.node_ids[-1]]
            assert leaf.terminal and path.is_correct is leaf.correct
            if path.is_correct:  # a correct leaf's target is 1 and targets rise along its path
                correct_paths += 1
                assert path.labels.values[-1] == 1.0 and path.labels.first_error == -1
                assert path.labels.values == sorted(path.labels.values)
    assert correct_paths > 0
