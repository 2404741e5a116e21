"""The exact success probability of a prefix under the simulator, against the simulator's own frequency."""

from __future__ import annotations

import random

import pytest

from prmlabel.synthetic.policy import SyntheticPolicy
from prmlabel.synthetic.problems import make_problems
from prmlabel.synthetic.truth import success_probability
from prmlabel.text.answers import check_answer


@pytest.mark.parametrize(("slip", "recovery", "abandon"), [(0.1, 0.2, 0.05), (0.3, 0.0, 0.0), (0.0, 0.5, 0.1)])
def test_matches_the_simulated_frequency(slip: float, recovery: float, abandon: float) -> None:
    policy = SyntheticPolicy(slip, recovery, abandon)
    row = make_problems(1, (5, 5), seed=3)[0]
    rng = random.Random(0)
    right = "Step 1: 13 * 6 = 78\n\n"
    wrong = "Step 1: 13 * 6 = 77\n\n"
    for prefix in ("", right, wrong):
        p = success_probability(row, prefix, policy)
        n = 3000
        hits = sum(
            bool(check_answer(prefix + policy.continue_text(row, prefix, rng), row["reference_answer"]).is_correct)
            for _ in range(n)
        )
        assert p is not None and abs(hits / n - p) < 0.03, (prefix, p, hits / n)
    assert success_probability(row, wrong, SyntheticPolicy(0.1, 0.0, 0.0)) == 0.0  # no recovery: lost for good


def test_a_stated_answer_and_a_foreign_prefix() -> None:
    policy = SyntheticPolicy()
    row = make_problems(1, (1, 1), seed=0)[0]
    answer = row["reference_answer"]
    done = "Step 1: 9 - 35 = {v} The answer is \\boxed{{{v}}}."
    assert success_probability(row, done.format(v=answer), policy) == 1.0
    assert success_probability(row, done.format(v=-25), policy) == 0.0
    assert success_probability(row, "I think we should start with a picture\n\n", policy) is None
