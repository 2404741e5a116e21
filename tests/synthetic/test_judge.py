"""Judge simulator: observed accuracy matches the setting; verdicts depend only on (seed, key)."""

from __future__ import annotations

import math
import random

import pytest

from prmlabel.synthetic.judge import SyntheticJudge
from prmlabel.synthetic.policy import SyntheticPolicy, gold_first_error, split_solution
from prmlabel.synthetic.problems import make_problems, problem_from_row


def _responses(n: int) -> list[tuple[object, list[str]]]:
    problems = [problem_from_row(r) for r in make_problems(n, (2, 6), seed=1)]
    policy = SyntheticPolicy(slip_rate=0.2, recovery_rate=0.2)
    return [(p, split_solution(policy.solve(p, random.Random(i)))) for i, p in enumerate(problems)]


@pytest.mark.parametrize("accuracy", [0.6, 0.9])
def test_observed_accuracy_matches_setting(accuracy: float) -> None:
    judge = SyntheticJudge(accuracy=accuracy, seed=4)
    data = _responses(3000)
    hits = sum(judge.first_error(p, s, key=f"r{i}") == gold_first_error(p, s) for i, (p, s) in enumerate(data))
    se = math.sqrt(accuracy * (1 - accuracy) / len(data))
    assert abs(hits / len(data) - accuracy) < 5 * se


def test_wrong_verdicts_are_valid_and_never_gold() -> None:
    judge = SyntheticJudge(accuracy=0.0, seed=0)
    for i, (p, steps) in enumerate(_responses(300)):
        verdict = judge.first_error(p, steps, key=str(i))
        assert verdict != gold_first_error(p, steps)
        assert -1 <= verdict < len(steps)


def test_deterministic_by_key_and_seed() -> None:
    data = _responses(200)
    a, b = SyntheticJudge(0.5, seed=1), SyntheticJudge(0.5, seed=1)
    first = [a.first_error(p, s, key=f"k{i}") for i, (p, s) in enumerate(data)]
    # Reversed call order, fresh instance: verdicts depend on the key, not on order.
    second = [b.first_error(p, s, key=f"k{i}") for i, (p, s) in reversed(list(enumerate(data)))][::-1]
    assert first == second
    other = [SyntheticJudge(0.5, seed=2).first_error(p, s, key=f"k{i}") for i, (p, s) in enumerate(data)]
    assert other != first


def test_perfect_judge_and_empty_response() -> None:
    judge = SyntheticJudge(accuracy=1.0)
    for i, (p, s) in enumerate(_responses(100)):
        assert judge.first_error(p, s, key=str(i)) == gold_first_error(p, s)
    p = _responses(1)[0][0]
    assert SyntheticJudge(accuracy=0.0).first_error(p, [], key="x") == -1


def test_bad_accuracy() -> None:
    with pytest.raises(ValueError):
        SyntheticJudge(accuracy=1.5)
