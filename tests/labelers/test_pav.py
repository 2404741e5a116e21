"""PAV: advantages of the Best-of-K prover, A_t = BoK(Q_t) - BoK(Q_{t-1}), hard = A_t >= -threshold."""

from __future__ import annotations

import pytest

from prmlabel.engine.types import ResponseView
from prmlabel.labelers import load_labeler
from prmlabel.labelers.pav import PAVParams, ProcessAdvantage, best_of_k
from tests.labelers.driver import drive, fixed, run_synthetic

STEPS = ("a\n\n", "b\n\n", "c")
P = ["".join(STEPS[:t]) for t in range(len(STEPS) + 1)]  # P[0] = "" (the question alone)


def view(steps=STEPS, correct=False) -> ResponseView:
    return ResponseView("q1", "r1", tuple(steps), correct, 0.5)


def test_advantages_effective_reward_and_labels():
    # k = 4, K = 4: Q_-1 = 2/4, Q_0 = 3/4, Q_1 = 1/4, Q_2 = outcome 0
    #   BoK: 1 - 0.5^4 = 0.9375, 1 - 0.25^4 = 0.99609375, 1 - 0.75^4 = 0.68359375, 0
    #   A_0 = 0.99609375 - 0.9375 = 0.05859375
    #   A_1 = 0.68359375 - 0.99609375 = -0.3125
    #   A_2 = 0 - 0.68359375 = -0.68359375
    #   effective (alpha 0.5): 0.75 + 0.029296875, 0.25 - 0.15625, 0 - 0.341796875
    labeler = ProcessAdvantage(PAVParams(k=4))
    labels, rounds, requests = drive(labeler.label(view()), fixed({P[0]: 0.5, P[1]: 0.75, P[2]: 0.25}))
    assert labels.values == [0.05859375, -0.3125, -0.68359375]
    assert labels.hard == [True, False, False] and labels.first_error == 1
    assert labels.extra["q"] == [0.75, 0.25, 0.0] and labels.extra["q_start"] == 0.5
    assert labels.extra["q_prover"] == [0.99609375, 0.68359375, 0.0]
    assert labels.extra["effective"] == [0.779296875, 0.09375, -0.341796875]
    assert rounds == 1 and [r.prefix for r in requests] == P[:3] and {r.k for r in requests} == {4}


def test_threshold_forgives_a_small_loss_where_the_prover_is_saturated():
    # Q_-1 = 1, Q_0 = 3/4: A_0 = 0.99609375 - 1 = -0.00390625; Q_1 = 3/4, correct outcome: A_2 > 0
    outcome = fixed({P[0]: 1.0, P[1]: 0.75, P[2]: 0.75})
    default, _, _ = drive(ProcessAdvantage(PAVParams(k=4)).label(view(correct=True)), outcome)
    assert default.values[0] == -0.00390625 and default.hard == [True, True, True] and default.first_error == -1
    strict, _, _ = drive(ProcessAdvantage(PAVParams(k=4, threshold=0.0)).label(view(correct=True)), outcome)
    assert strict.hard == [False, True, True] and strict.first_error == 0


def test_unsolvable_question_has_no_progress_and_no_first_error():
    # Q = 0 everywhere: every advantage is 0, but the prover never succeeds on either side of any step,
    # so it cannot tell good steps from bad: hard labels null, first error null (not a false -1).
    labels, _, _ = drive(ProcessAdvantage().label(view()), fixed({}, default=0.0))
    assert labels.values == [0.0, 0.0, 0.0] and labels.hard == [None] * 3 and labels.first_error is None
    assert labels.extra["no_signal_steps"] == 3


def test_undecided_estimate_leaves_both_advantages_unknown():
    # Q_0 has no decided continuation: A_0 = Q_0 - Q_-1 and A_1 = Q_1 - Q_0 are unknown.
    def outcome(prefix, k, offset):
        return [None] * k if prefix == "a\n\n" else [1, 0] * (k // 2)

    labels, _, _ = drive(ProcessAdvantage(PAVParams(k=4, prover_k=1)).label(view()), outcome)
    assert labels.values[:2] == [None, None] and labels.hard[:2] == [None, None]
    assert labels.extra["undecided_rollouts"] == 4 and labels.extra["undecided_steps"] == 2


@pytest.mark.parametrize(("correct", "advantage"), [(True, 0.0625), (False, -0.9375)])
def test_one_step_response(correct, advantage):
    # k = 20: Q_-1 = 10/20 -> BoK 0.9375; the step is the outcome (BoK 1 or 0)
    labels, rounds, requests = drive(ProcessAdvantage().label(view(("x",), correct)), fixed({"": 0.5}))
    assert [(r.prefix, r.k) for r in requests] == [("", 20)] and rounds == 1
    assert labels.values == [advantage] and labels.first_error == (-1 if correct else 0)


def test_prover_k_one_is_the_policy_itself():
    # K = 1: A_t = Q_t - Q_{t-1} = 0.25, -0.5, -0.25
    labeler = ProcessAdvantage(PAVParams(k=4, prover_k=1, threshold=0.0))
    labels, _, _ = drive(labeler.label(view()), fixed({P[0]: 0.5, P[1]: 0.75, P[2]: 0.25}))
    assert labels.values == [0.25, -0.5, -0.25]
    assert best_of_k(0.5, 1) == 0.5 and best_of_k(0.5, 2) == 0.75


def test_registry():
    assert load_labeler("pav", {}).params() == {"k": 20, "prover_k": 4, "alpha": 0.5, "threshold": 0.05}


def test_end_to_end_first_error_is_the_gold_first_error():
    cases, stats = run_synthetic(ProcessAdvantage())
    assert stats.rounds == 1
    incorrect = [c for c in cases if not c.is_correct]
    assert len(incorrect) >= 10
    for case in incorrect:
        gold = case.gold_first_error
        # recovery 0: Q drops to exactly 0 at the gold error, then stays 0 (advantage 0)
        assert case.labels.values[gold] < -0.05 and case.labels.hard[gold] is False
        assert case.labels.values[gold + 1 :] == [0.0] * (len(case.steps) - gold - 1)
        assert case.labels.extra["q"][gold:] == [0.0] * (len(case.steps) - gold)
    agree = sum(c.labels.first_error == c.gold_first_error for c in cases)
    assert agree >= 0.95 * len(cases)
