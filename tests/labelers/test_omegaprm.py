"""OmegaPRM: binary search on hand-computed midpoints, the Q + U search on a small scripted tree, and
end to end through the real scheduler on the synthetic simulator (where the truth is known)."""

from __future__ import annotations

import math
import random

import pytest

from prmlabel.backends import Sampling
from prmlabel.backends.synthetic import SyntheticBackend
from prmlabel.engine.scheduler import Job, Scheduler
from prmlabel.engine.types import ResponseView
from prmlabel.labelers import load_labeler
from prmlabel.labelers.omegaprm import OmegaPRM, OmegaPRMParams, q_value, u_value
from prmlabel.stages.label import DEFAULT_PROMPT
from prmlabel.synthetic.policy import SyntheticPolicy, gold_first_error
from prmlabel.synthetic.problems import make_problems
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
        "filter_rollouts": 32,
        "rollout_budget": None,
        "split": "pieces:16",
        "parallel": 1,
    }
    assert labeler.per_question and not load_labeler("omegaprm").per_question  # search: one tree per question
    with pytest.raises(ValueError, match="parallel"):
        OmegaPRMParams(parallel=0)
    with pytest.raises(ValueError, match="split"):
        OmegaPRMParams(split="nonsense:3")


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
