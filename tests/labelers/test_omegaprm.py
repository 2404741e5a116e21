"""OmegaPRM: binary search on hand-computed midpoints, the Q + U search on a small scripted tree, and
end to end through the real scheduler on the synthetic simulator (where the truth is known)."""

from __future__ import annotations

import math
import random

import pytest

from prmlabel.backends import Sampling
from prmlabel.backends.synthetic import SyntheticBackend
from prmlabel.engine.scheduler import Job, Scheduler
from prmlabel.engine.types import LabelProgram, ResponseView, RolloutRequest
from prmlabel.labelers import load_labeler
from prmlabel.labelers.omegaprm import OmegaPRM, OmegaPRMParams, q_value, u_value
from prmlabel.stages.label import DEFAULT_PROMPT
from prmlabel.synthetic.policy import SyntheticPolicy, gold_first_error, split_solution
from prmlabel.synthetic.problems import make_problems, parse_question
from prmlabel.text.answers import last_boxed
from prmlabel.text.steps import split_steps
from tests.labelers.driver import drive, fixed

STEPS7 = tuple(f"Step {i}\n\n" for i in range(6)) + ("Step 6",)


def view(steps: tuple[str, ...], correct: bool) -> ResponseView:
    return ResponseView(problem_id="p", response_id="r", steps=steps, is_correct=correct)


def true_mc(steps: tuple[str, ...], first_error: int) -> dict[str, float]:
    """Prefix through step t: MC 0.5 before the first error, 0 at or after it (-1: no error)."""
    return {"".join(steps[: t + 1]): 0.5 if first_error < 0 or t < first_error else 0.0 for t in range(len(steps))}


# -- binary search ---------------------------------------------------------------------------------


# lo, hi = 0, 6; mid = (lo + hi) // 2; MC > 0 -> lo = mid + 1, else hi = mid.
#   e=0: 3->0, 1->0, 0->0          e=1: 3->0, 1->0, 0->ok     e=2: 3->0, 1->ok, 2->0
#   e=3: 3->0, 1->ok, 2->ok        e=4: 3->ok, 5->0, 4->0     e=5: 3->ok, 5->0, 4->ok
#   e=6: 3->ok, 5->ok (step 6 is the response's outcome: no rollouts)
@pytest.mark.parametrize(
    ("error", "mids"),
    [(0, [3, 1, 0]), (1, [3, 1, 0]), (2, [3, 1, 2]), (3, [3, 1, 2]), (4, [3, 5, 4]), (5, [3, 5, 4]), (6, [3, 5])],
)
def test_binary_search_midpoints(error: int, mids: list[int]) -> None:
    labels, rounds, requests = drive(OmegaPRM().label(view(STEPS7, False)), fixed(true_mc(STEPS7, error)))
    assert [r.prefix for r in requests] == ["".join(STEPS7[: t + 1]) for t in mids]
    assert all(r.k == 8 and r.offset == 0 for r in requests)
    assert rounds == len(mids) <= math.ceil(math.log2(7)) + 1  # one request per round
    assert labels.first_error == error
    assert labels.hard == [True] * error + [False] + [None] * (6 - error)
    expected: list[float | None] = [None] * 7
    for t in mids:
        expected[t] = 0.5 if t < error else 0.0
    expected[6] = 0.0  # the outcome
    assert labels.values == expected
    assert labels.extra == {"mode": "binary", "estimates": [[t, expected[t]] for t in mids]}


def test_correct_response_is_searched_unless_skipped() -> None:
    # No error: 3->ok, 5->ok, and step 6 is known good (the outcome) -> -1.
    labels, rounds, requests = drive(OmegaPRM().label(view(STEPS7, True)), fixed(true_mc(STEPS7, -1)))
    assert [r.prefix for r in requests] == ["".join(STEPS7[:4]), "".join(STEPS7[:6])]
    assert labels.first_error == -1 and labels.hard == [True] * 7
    assert labels.values == [None, None, None, 0.5, None, 0.5, 1.0]
    # A right answer after a wrong step (MC 0 from step 2 on, yet the response is correct).
    labels, _, _ = drive(OmegaPRM().label(view(STEPS7, True)), fixed(true_mc(STEPS7, 2)))
    assert labels.first_error == 2 and labels.hard == [True, True, False, None, None, None, None]
    assert labels.values[6] == 1.0
    # skip_correct: all good, no rollouts; an incorrect response is still searched.
    skip = OmegaPRM(OmegaPRMParams(skip_correct=True))
    labels, rounds, requests = drive(skip.label(view(STEPS7, True)), fixed({}))
    assert (labels.values, labels.hard, labels.first_error, rounds) == ([1.0] * 7, [True] * 7, -1, 0)
    labels, _, _ = drive(skip.label(view(STEPS7, False)), fixed(true_mc(STEPS7, 4)))
    assert labels.first_error == 4


@pytest.mark.parametrize("correct", [True, False])
def test_one_step_response_needs_no_rollouts(correct: bool) -> None:
    labels, rounds, _ = drive(OmegaPRM().label(view(("x = 1",), correct)), fixed({}))
    assert rounds == 0
    assert labels.values == [1.0 if correct else 0.0]
    assert labels.hard == [correct] and labels.first_error == (-1 if correct else 0)
    # The search estimates only the root (MC 1: nothing to search).
    labels, rounds, requests = drive(
        OmegaPRM(OmegaPRMParams(mode="search")).label(view(("x = 1",), correct)), fixed({"": 1.0})
    )
    assert [r.prefix for r in requests] == [""] and rounds == 1
    assert labels.hard == [correct] and labels.extra["stop"] == "empty_pool"


def test_params_are_validated_and_registered() -> None:
    with pytest.raises(ValueError, match="mode"):
        OmegaPRMParams(mode="mcts")
    with pytest.raises(ValueError, match="k"):
        OmegaPRMParams(k=0)
    labeler = load_labeler("omegaprm", {"mode": "search", "search_limit": 20})
    assert labeler.name == "omegaprm"
    assert labeler.params() == {
        "k": 8,
        "mode": "search",
        "alpha": 0.5,
        "beta": 0.9,
        "L": 500,
        "c_puct": 0.125,
        "search_limit": 20,
        "skip_correct": False,
    }


# -- Q and U ---------------------------------------------------------------------------------------


def test_q_and_u_on_hand_computed_numbers() -> None:
    assert q_value(1.0, 0, 0.5, 0.9, 500) == 1.0
    assert q_value(0.0, 500, 0.5, 0.9, 500) == pytest.approx(0.45)  # 0.5 * 0.9
    assert q_value(0.5, 1000, 0.5, 0.9, 500) == pytest.approx(0.5**0.5 * 0.81)  # 0.572756
    assert q_value(0.25, 20, 0.5, 0.9, 500) == pytest.approx(0.592103, abs=1e-6)  # 0.5**0.75 * 0.9**0.04
    assert u_value(0.125, 0, 0) == 0.0
    assert u_value(0.125, 4, 1) == pytest.approx(0.125)  # 0.125 * 2 / 2
    assert u_value(0.125, 9, 2) == pytest.approx(0.125)  # 0.125 * 3 / 3
    assert u_value(1.0, 16, 3) == pytest.approx(1.0)


# -- the search ------------------------------------------------------------------------------------

RESPONSE = ("A\n\n", "B\n\n", "C")  # incorrect; its first error is step 1


def scripted(e_tokens: int) -> dict[str, list[tuple[str, bool, int]]]:
    """k = 4 continuations per prefix: (text, correct, tokens)."""
    ok = ("x", True, 1)
    return {
        # MC 1/4. The response itself and a duplicate "P\n\nQ" do not join the pool.
        "": [ok, ("A\n\nB\n\nC", False, 3), ("P\n\nQ", False, 20), ("P\n\nQ", False, 20)],
        "A\n\nB\n\n": [("C", False, 1)] * 4,  # MC 0: nothing to search from here
        "A\n\n": [("B\n\nD", True, 2), ("E\n\nF", False, e_tokens), ok, ok],  # MC 3/4
        "A\n\nE\n\n": [("F", False, 1)] * 4,  # MC 0
        # MC 1/2. "Q" repeats the already searched "P\n\nQ"; "W\n\nV" joins the pool.
        "P\n\n": [("Q", False, 1), ok, ("W\n\nV", False, 10), ok],
        "P\n\nW\n\n": [("V", False, 1)] * 4,  # MC 0
    }


def run_search(e_tokens: int = 50, **params) -> tuple:
    table = scripted(e_tokens)

    def outcome(prefix: str, k: int, offset: int) -> list[tuple[str, bool, int]]:
        assert k == 4 and offset == 0
        return table[prefix]

    labeler = OmegaPRM(OmegaPRMParams(k=4, mode="search", **params))
    return drive(labeler.label(view(RESPONSE, False)), outcome)


def test_search_selects_by_q_plus_u_and_never_reselects() -> None:
    # Start: root MC 1/4 (N(root) = 1 for the response), response: "A\n\nB\n\n" MC 0, "A\n\n" MC 3/4.
    # Pool: c1 = (root, "P\n\nQ", 20 tokens), c2 = ("A\n\n", "E\n\nF", 50 tokens); sum N = 1.
    #   c1: 0.5**0.75 * 0.9**0.04 + 0.125 * 1 / 2 = 0.5921 + 0.0625 = 0.6546
    #   c2: 0.5**0.25 * 0.9**0.10 + 0.125 * 1 / 1 = 0.8321 + 0.1250 = 0.9571  -> c2, then c1 (the only one),
    # whose search adds c3 = ("P\n\n", "W\n\nV"), then c3; the pool is empty.
    labels, rounds, requests = run_search()
    assert [r.prefix for r in requests] == ["", "A\n\nB\n\n", "A\n\n", "A\n\nE\n\n", "P\n\n", "P\n\nW\n\n"]
    assert rounds == 6
    assert labels.first_error == 1 and labels.hard == [True, False, None]
    assert labels.values == [0.75, 0.0, 0.0]
    extra = labels.extra
    assert (extra["mode"], extra["selections"], extra["stop"]) == ("search", 3, "empty_pool")
    assert extra["estimates"] == [[1, 0.0], [0, 0.75]]
    assert extra["states"] == [
        {"parent": -1, "steps": [], "mc": 0.25, "k": 4, "n": 2},
        {"parent": 0, "steps": ["A\n\n", "B\n\n"], "mc": 0.0, "k": 4, "n": 0},
        {"parent": 0, "steps": ["A\n\n"], "mc": 0.75, "k": 4, "n": 1},
        {"parent": 0, "steps": ["A\n\n", "B\n\n", "C"], "mc": 0.0, "k": 0, "n": 0},  # the response's outcome
        {"parent": 2, "steps": ["E\n\n"], "mc": 0.0, "k": 4, "n": 0},
        {"parent": 2, "steps": ["E\n\n", "F"], "mc": 0.0, "k": 0, "n": 0},
        {"parent": 0, "steps": ["P\n\n"], "mc": 0.5, "k": 4, "n": 1},
        {"parent": 0, "steps": ["P\n\n", "Q"], "mc": 0.0, "k": 0, "n": 0},
        {"parent": 6, "steps": ["W\n\n"], "mc": 0.0, "k": 4, "n": 0},
        {"parent": 6, "steps": ["W\n\n", "V"], "mc": 0.0, "k": 0, "n": 0},
    ]
    # One searched path per complete answer (k = 0): the response plus each selection, none twice.
    assert sum(s["k"] == 0 for s in extra["states"]) == 1 + extra["selections"]


def test_search_order_follows_length() -> None:
    # "E\n\nF" now 5000 tokens: c2 = 0.8409 * 0.9**10 + 0.125 = 0.4182 < c1 = 0.6546 -> c1 first.
    # Then sum N = 2: c2 = 0.2932 + 0.125 * sqrt(2) / 1 = 0.4700; c3 = 0.5**0.5 * 0.9**0.02 + 0.1768 = 0.8824.
    _, _, requests = run_search(e_tokens=5000)
    assert [r.prefix for r in requests] == ["", "A\n\nB\n\n", "A\n\n", "P\n\n", "P\n\nW\n\n", "A\n\nE\n\n"]


def test_search_limit_stops_the_search() -> None:
    labels, _, requests = run_search(search_limit=1)
    assert [r.prefix for r in requests] == ["", "A\n\nB\n\n", "A\n\n", "A\n\nE\n\n"]
    assert (labels.extra["selections"], labels.extra["stop"]) == (1, "search_limit")
    labels, _, requests = run_search(search_limit=0)
    assert [r.prefix for r in requests] == ["", "A\n\nB\n\n", "A\n\n"]
    assert (labels.extra["selections"], labels.extra["stop"]) == (0, "search_limit")
    assert labels.first_error == 1  # the response's labels do not depend on the search


def test_empty_pool_stops_early() -> None:
    # Every estimate is 0 or 1, so no state has wrong rollouts worth searching.
    mc = {"": 1.0, **true_mc(STEPS7, 4)}
    mc = {p: (1.0 if v > 0 else 0.0) for p, v in mc.items()}
    labels, rounds, requests = drive(OmegaPRM(OmegaPRMParams(mode="search")).label(view(STEPS7, False)), fixed(mc))
    assert [r.prefix for r in requests] == ["", *("".join(STEPS7[: t + 1]) for t in (3, 5, 4))]
    assert (labels.extra["selections"], labels.extra["stop"]) == (0, "empty_pool")
    assert labels.first_error == 4 and rounds == 4


# -- end to end: the real scheduler on the simulator -----------------------------------------------


def synthetic_jobs(labeler: OmegaPRM, count: int, seed: int = 0) -> list[tuple[Job, dict, tuple[str, ...]]]:
    policy = SyntheticPolicy(slip_rate=0.15, recovery_rate=0.0)
    out = []
    for i, row in enumerate(make_problems(count, (3, 6), seed=seed)):
        text = policy.solve(row, random.Random(f"omegaprm-test:{i}"))
        steps = tuple(split_steps(text))
        response = ResponseView(row["problem_id"], "r0", steps, last_boxed(text) == row["reference_answer"])
        job = Job(
            question=DEFAULT_PROMPT["template"].replace("{question}", row["question"]),
            reference=row["reference_answer"],
            domain="math",
            program=labeler.label(response),
        )
        out.append((job, row, steps))
    return out


def run_jobs(jobs: list[Job]):
    backend = SyntheticBackend(slip_rate=0.15, recovery_rate=0.0)
    return Scheduler(backend, Sampling(temperature=0.7, max_tokens=256), seed=0, model_key="test").run(jobs)


def test_binary_search_recovers_the_gold_first_error_in_log_rounds() -> None:
    # recovery 0: MC = 0 exactly after the first error; k = 16 keeps a correct prefix's MC above 0.
    labeled = synthetic_jobs(OmegaPRM(OmegaPRMParams(k=16)), 40)
    stats = run_jobs([job for job, _, _ in labeled])
    incorrect = 0
    for job, row, steps in labeled:
        assert job.error is None and job.result is not None
        assert job.result.first_error == gold_first_error(row, list(steps))
        incorrect += job.result.first_error >= 0
    assert incorrect >= 10
    max_steps = max(len(steps) for _, _, steps in labeled)
    assert stats.rounds <= math.ceil(math.log2(max_steps)) + 2  # batched across responses, not one per response


def tap(program: LabelProgram, log: list[RolloutRequest]) -> LabelProgram:
    """The same program, recording every request it makes."""
    try:
        batch = next(program)
        while True:
            log.extend(batch)
            batch = program.send((yield batch))
    except StopIteration as stop:
        return stop.value


def test_search_end_to_end_on_known_truth() -> None:
    labeler = OmegaPRM(OmegaPRMParams(k=16, mode="search", search_limit=5))
    labeled = synthetic_jobs(labeler, 12, seed=1)
    logs: list[list[RolloutRequest]] = []
    for job, _, _ in labeled:
        logs.append([])
        job.program = tap(job.program, logs[-1])
    run_jobs([job for job, _, _ in labeled])
    for (job, row, steps), log in zip(labeled, logs, strict=True):
        assert job.error is None and job.result is not None
        labels = job.result
        assert labels.first_error == gold_first_error(row, list(steps))
        prefixes = [r.prefix for r in log]
        assert len(prefixes) == len(set(prefixes))  # no prefix estimated twice, no rollout searched twice
        states = labels.extra["states"]
        assert labels.extra["selections"] <= 5
        assert sum(s["k"] == 0 for s in states) == 1 + labels.extra["selections"]
        texts: list[str] = []
        problem = parse_question(row["question"])
        for s in states:
            texts.append((texts[s["parent"]] if s["parent"] >= 0 else "") + "".join(s["steps"]))
            if s["k"] and texts[-1]:
                assert texts[-1] in prefixes
                # recovery 0: a prefix can reach the answer only if its steps are right
                right = gold_first_error(problem, split_solution(texts[-1])) == -1
                assert (s["mc"] > 0) == right
        assert len(texts) == len(set(texts))
