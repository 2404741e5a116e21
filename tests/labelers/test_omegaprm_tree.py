"""OmegaPRM's per-question search: the question filter, Q + U selection on a scripted tree worked out by
hand, the node tree it leaves, the budgets, and end to end through the real scheduler on the simulator."""

from __future__ import annotations

import random

import pytest

from prmlabel.backends import Sampling
from prmlabel.backends.synthetic import SyntheticBackend
from prmlabel.engine.scheduler import Job, Scheduler
from prmlabel.engine.types import QuestionView, ResponseView, TreeLabels
from prmlabel.labelers.omegaprm import OmegaPRM, OmegaPRMParams
from prmlabel.stages.label import DEFAULT_PROMPT
from prmlabel.stages.label_trees import check_tree
from prmlabel.synthetic.policy import SyntheticPolicy, gold_first_error, split_solution
from prmlabel.synthetic.problems import make_problems
from prmlabel.text.answers import check_answer
from prmlabel.text.steps import split_steps
from tests.labelers.driver import drive

RESPONSE = ("A\n\n", "B\n\n", "C")  # incorrect; its first error is step 1
OK = ("x", True, 1)


def question(*responses: ResponseView) -> QuestionView:
    return QuestionView(problem_id="p", problem={"question": "q"}, responses=responses)


def wrong_response(tokens: int = 3) -> ResponseView:
    return ResponseView(problem_id="p", response_id="r", steps=RESPONSE, is_correct=False, tokens=tokens)


def scripted(e_tokens: int) -> dict[str, list[tuple[str, bool | None, int]]]:
    """k = 4 continuations per prefix: (text, correct, tokens)."""
    return {
        # MC 1/4. The first repeats the response (not pooled twice); "P\n\nQ" twice (pooled once).
        "": [OK, ("A\n\nB\n\nC", False, 3), ("P\n\nQ", False, 20), ("P\n\nQ", False, 20)],
        "A\n\nB\n\n": [("C", False, 1)] * 4,  # MC 0: nothing to search from here
        "A\n\n": [("B\n\nD", True, 2), ("E\n\nF", False, e_tokens), OK, OK],  # MC 3/4
        "A\n\nE\n\n": [("F", False, 1)] * 4,  # MC 0
        # MC 1/2. "Q" repeats the already searched "P\n\nQ"; "W\n\nV" joins the pool.
        "P\n\n": [("Q", False, 1), OK, ("W\n\nV", False, 10), OK],
        "P\n\nW\n\n": [("V", False, 1)] * 4,  # MC 0
    }


def run_search(e_tokens: int = 50, table: dict | None = None, **params) -> tuple[TreeLabels, int, list]:
    table = table or scripted(e_tokens)

    def outcome(prefix: str, k: int, offset: int) -> list[tuple[str, bool | None, int]]:
        assert offset == 0 and k == 4
        return table[prefix]

    p = OmegaPRMParams(k=4, mode="search", filter_rollouts=0, split="double_newline", **params)
    return drive(OmegaPRM(p).label_question(question(wrong_response())), outcome)


def test_search_selects_by_q_plus_u_and_builds_a_prefix_tree() -> None:
    # Root MC 1/4; pool: the response (3 tokens), then "P\n\nQ" (20 tokens); sum N = 0, so U = 0:
    #   response: 0.5**0.75 * 0.9**(3/500) = 0.5942 > "P\n\nQ": 0.5**0.75 * 0.9**(20/500) = 0.5921.
    # Its search: "A\n\nB\n\n" MC 0, "A\n\n" MC 3/4 -> first error 1; "E\n\nF" (50 tokens) joins the pool.
    # sum N = 1: "P\n\nQ" 0.5921 + 0.125 * 1 / 2 = 0.6546 < "E\n\nF" 0.5**0.25 * 0.9**0.1 + 0.125 = 0.9571.
    # Then "P\n\nQ" (adds "W\n\nV"), then "W\n\nV"; the pool is empty.
    result, rounds, requests = run_search()
    assert [r.prefix for r in requests] == ["", "A\n\nB\n\n", "A\n\n", "A\n\nE\n\n", "P\n\n", "P\n\nW\n\n"]
    assert rounds == 6
    assert result.dropped is None
    assert (result.extra["selections"], result.extra["stop"]) == (4, "empty_pool")
    check_tree("p", result.nodes)
    rows = [(n.node_id, n.parent_id, n.step, n.mc, n.terminal, n.correct, n.source) for n in result.nodes]
    assert rows == [
        (0, None, "", 0.25, False, None, "root"),
        (1, 0, "x", 1.0, True, True, "rollout"),  # a right rollout of the root: a value-1 leaf
        (2, 0, "A\n\n", 0.75, False, None, "response"),
        (3, 2, "B\n\nD", 1.0, True, True, "rollout"),
        (4, 2, "x", 1.0, True, True, "rollout"),  # the second "x" is the same prefix: one node
        (5, 2, "B\n\n", 0.0, False, None, "response"),
        (6, 5, "C", 0.0, True, False, "response"),  # the response's own outcome
        (7, 2, "E\n\n", 0.0, False, None, "rollout"),
        (8, 7, "F", 0.0, True, False, "rollout"),
        (9, 0, "P\n\n", 0.5, False, None, "rollout"),
        (10, 9, "x", 1.0, True, True, "rollout"),
        (11, 9, "Q", 0.0, True, False, "rollout"),
        (12, 9, "W\n\n", 0.0, False, None, "rollout"),
        (13, 12, "V", 0.0, True, False, "rollout"),
    ]
    nodes = result.nodes
    assert [n.visits for n in nodes if n.visits] == [2, 1, 1]  # root twice, "A\n\n" and "P\n\n" once
    assert nodes[5].prefix_steps == ("A\n\n",) and nodes[5].depth == 2 and nodes[6].text == "A\n\nB\n\nC"
    assert (nodes[2].rollouts, nodes[2].successes) == (4, 3)
    labels = result.responses["r"]
    assert labels.first_error == 1 and labels.hard == [True, False, None]
    assert labels.values == [0.75, 0.0, 0.0] and labels.extra["searched"]


def test_search_order_follows_length() -> None:
    # "E\n\nF" now 5000 tokens: 0.8409 * 0.9**10 + 0.125 = 0.4182 < "P\n\nQ" 0.6546 -> "P\n\nQ" first.
    # Then sum N = 2: "E\n\nF" 0.2932 + 0.125 * sqrt(2) = 0.4700 < "W\n\nV" 0.5**0.5 * 0.9**0.02 + 0.1768 = 0.8824.
    _, _, requests = run_search(e_tokens=5000)
    assert [r.prefix for r in requests] == ["", "A\n\nB\n\n", "A\n\n", "P\n\n", "P\n\nW\n\n", "A\n\nE\n\n"]


def test_search_limit_and_rollout_budget_stop_the_search() -> None:
    result, _, requests = run_search(search_limit=1)
    assert [r.prefix for r in requests] == ["", "A\n\nB\n\n", "A\n\n"]
    assert (result.extra["selections"], result.extra["stop"]) == (1, "search_limit")
    assert result.responses["r"].first_error == 1
    # openr's budget: 4 (root) + 8 (the response's search) = 12 rollouts asked; a budget of 12 stops there.
    result, _, requests = run_search(search_limit=100, rollout_budget=12)
    assert len(requests) == 3 and result.extra["stop"] == "rollout_budget"
    assert result.extra["rollouts_asked"] == 12 and result.extra["pool_left"] == 2


def test_unselected_response_keeps_only_what_the_tree_knows() -> None:
    # search_limit 0: nothing is searched; the response's steps have no values but its outcome.
    result, _, _ = run_search(search_limit=0)
    labels = result.responses["r"]
    assert labels.values == [None, None, 0.0] and labels.hard == [None, None, False]
    assert labels.first_error == 2 and not labels.extra["searched"]  # the first step *decided* wrong


@pytest.mark.parametrize(
    ("outcomes", "kept"),
    [
        ([True] * 31 + [False], True),
        ([False] * 32, False),  # all wrong: left out
        ([True] * 32, False),  # all right: left out
        ([True] + [None] * 31, False),  # one decided, right: all decided right, left out
        ([None] * 32, False),  # none decided: nothing known, left out
    ],
)
def test_question_filter(outcomes: list[bool | None], kept: bool) -> None:
    def outcome(prefix: str, k: int, offset: int) -> list:
        assert prefix == "" and k == 32  # one request: the first k of the 32 are the root's estimate
        return [("y", c, 1) for c in outcomes]

    p = OmegaPRMParams(k=8, mode="search", search_limit=0, split="double_newline")
    result, rounds, _ = drive(OmegaPRM(p).label_question(question(wrong_response())), outcome)
    assert rounds == 1
    assert (result.dropped is None) == kept
    if not kept:
        assert "question filter" in result.dropped and result.nodes == [] and result.responses == {}
    else:
        assert result.nodes[0].mc == 1.0  # the first 8 of the 32 are all right
    assert result.extra["filter"]["decided"] == sum(c is not None for c in outcomes)


def test_undecided_and_truncated_rollouts_never_join_the_tree() -> None:
    table = scripted(50)
    table[""] = [OK, ("U\n\nV", None, 3), ("P\n\nQ", False, 20), ("", False, 0)]
    result, _, requests = run_search(table=table)
    texts = {n.text for n in result.nodes}
    assert "U\n\nV" not in texts and "" in texts  # "" is the root itself, not the empty rollout
    assert result.nodes[0].mc == 1 / 3 and result.nodes[0].extra["undecided_rollouts"] == 1


# -- end to end: the real scheduler on the simulator -----------------------------------------------


def test_search_end_to_end_on_known_truth() -> None:
    # recovery 0: a prefix reaches the answer only if its steps are right, so MC > 0 <=> no wrong step.
    policy = SyntheticPolicy(slip_rate=0.15, recovery_rate=0.0)
    labeler = OmegaPRM(OmegaPRMParams(k=16, mode="search", search_limit=8, split="double_newline"))
    jobs = []
    for row in make_problems(10, (3, 6), seed=1):
        responses = []
        for j in range(4):
            text = policy.solve(row, random.Random(f"omegaprm-tree:{row['problem_id']}:{j}"))
            correct = check_answer(text, row["reference_answer"], "math").is_correct
            responses.append(ResponseView(row["problem_id"], f"r{j}", tuple(split_steps(text)), correct))
        view = QuestionView(row["problem_id"], dict(row), tuple(responses))
        jobs.append(
            Job(
                question=DEFAULT_PROMPT["template"].replace("{question}", row["question"]),
                reference=row["reference_answer"],
                domain="math",
                program=labeler.label_question(view),
                payload=row,
            )
        )
    backend = SyntheticBackend(slip_rate=0.15, recovery_rate=0.0)
    stats = Scheduler(backend, Sampling(temperature=0.7, max_tokens=256), seed=0, model_key="t").run(jobs)
    kept = 0
    for job in jobs:
        assert job.error is None and isinstance(job.result, TreeLabels)
        if job.result.dropped:
            continue
        kept += 1
        nodes = job.result.nodes
        check_tree(job.group, nodes)
        assert len(nodes) > 1 and len({n.text for n in nodes}) == len(nodes)
        for node in nodes[1:]:
            truth = gold_first_error(job.payload, split_solution(node.text)) == -1
            if node.terminal:
                assert node.correct == (truth and node.text.rstrip().endswith("}."))
            elif node.mc is not None:
                assert (node.mc > 0) == truth
        for response in job.result.responses.values():
            if response.extra["searched"]:
                assert response.first_error is not None
    assert kept >= 5
    assert stats.rounds < sum(len(j.result.nodes) for j in jobs if j.result.nodes)  # trees share rounds


def test_a_root_that_never_succeeds_pools_nothing_not_even_the_responses() -> None:
    # Without the filter, a question whose root has MC 0 has no mixed state: the paper's pool stays empty.
    table = {"": [("y", False, 1)] * 4}
    result, rounds, _ = run_search(table=table)
    assert rounds == 1 and result.extra["stop"] == "empty_pool" and len(result.nodes) == 1
    assert result.responses["r"].values == [None, None, 0.0]


def test_parallel_selections_search_side_by_side_in_fewer_rounds() -> None:
    one, rounds_one, requests_one = run_search()
    two, rounds_two, requests_two = run_search(parallel=2)
    # Round 2 searches the response and "P\n\nQ" together; round 4 "E\n\nF" and "W\n\nV".
    assert [r.prefix for r in requests_two] == ["", "A\n\nB\n\n", "P\n\n", "A\n\n", "A\n\nE\n\n", "P\n\nW\n\n"]
    assert (rounds_one, rounds_two) == (6, 4)
    check_tree("p", two.nodes)
    assert sorted(n.text for n in two.nodes) == sorted(
        n.text for n in one.nodes
    )  # the same tree, built in another order
    assert two.responses["r"].first_error == 1 and two.extra["selections"] == 4


def test_a_right_response_is_good_by_its_own_outcome() -> None:
    right = ResponseView(problem_id="p", response_id="ok", steps=("A\n\n", "B\n\n", "D"), is_correct=True)
    p = OmegaPRMParams(k=4, mode="search", filter_rollouts=0, split="double_newline", search_limit=0)
    result, _, _ = drive(OmegaPRM(p).label_question(question(right)), lambda prefix, k, offset: scripted(50)[prefix])
    labels = result.responses["ok"]
    assert labels.hard == [True, True, True] and labels.first_error == -1
    assert labels.values == [None, None, 1.0] and labels.extra["good_by"] == "own outcome"  # no invented MC
