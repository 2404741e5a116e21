"""Math-Shepherd MC: per-step estimates, hard = any correct, waves with offsets, skip_correct."""

from __future__ import annotations

import pytest

from prmlabel.engine.types import ResponseView
from prmlabel.labelers import load_labeler
from prmlabel.labelers.mc import MathShepherdMC, MCParams
from tests.labelers.driver import drive, fixed, run_synthetic

STEPS = ("a\n\n", "b\n\n", "c\n\n", "d")
P = ["".join(STEPS[:t]) for t in range(len(STEPS) + 1)]  # P[t] = prefix through step t - 1


def view(steps=STEPS, correct=False) -> ResponseView:
    return ResponseView("q1", "r1", tuple(steps), correct, 0.5)


def by_index(correct: dict[str, set[int]]):
    """Sample i of a prefix is correct iff i is in correct[prefix]: offsets matter."""

    def outcome(prefix: str, k: int, offset: int) -> list[bool]:
        return [offset + i in correct[prefix] for i in range(k)]

    return outcome


def test_soft_and_hard_labels_in_one_round():
    # k = 8: prefixes through steps 0..2 give 4/8, 2/8, 0/8; the last step is the outcome (0)
    #   soft = [0.5, 0.25, 0.0, 0.0], hard = any correct = [1, 1, 0, 0], first error = step 2
    labels, rounds, requests = drive(MathShepherdMC().label(view()), fixed({P[1]: 0.5, P[2]: 0.25, P[3]: 0.0}))
    assert labels.values == [0.5, 0.25, 0.0, 0.0]
    assert labels.hard == [True, True, False, False]
    assert labels.first_error == 2
    assert rounds == 1 and [(r.prefix, r.k, r.offset) for r in requests] == [(p, 8, 0) for p in P[1:4]]


def test_one_correct_completion_makes_a_step_good():
    # 1/8 at every prefix, correct response: soft 0.125, hard all 1, last = 1
    labels, _, _ = drive(MathShepherdMC().label(view(correct=True)), fixed({}, default=0.125))
    assert labels.values == [0.125, 0.125, 0.125, 1.0]
    assert labels.hard == [True] * 4 and labels.first_error == -1


def test_every_response_is_rolled_out_by_default_even_correct_ones():
    _, rounds, requests = drive(MathShepherdMC().label(view(correct=True)), fixed({}, default=1.0))
    assert rounds == 1 and len(requests) == 3


def test_skip_correct_labels_a_correct_response_without_rollouts():
    labels, rounds, requests = drive(MathShepherdMC(MCParams(skip_correct=True)).label(view(correct=True)), fixed({}))
    assert (rounds, requests) == (0, [])
    assert labels.values == [1.0] * 4 and labels.hard == [True] * 4 and labels.first_error == -1
    assert labels.extra == {"skipped": "correct"}
    # an incorrect response is still rolled out
    _, rounds, requests = drive(MathShepherdMC(MCParams(skip_correct=True)).label(view()), fixed({}, default=0.5))
    assert rounds == 1 and len(requests) == 3


@pytest.mark.parametrize(("correct", "value"), [(True, 1.0), (False, 0.0)])
def test_one_step_response_is_its_outcome_without_rollouts(correct, value):
    labels, rounds, requests = drive(MathShepherdMC().label(view(("x = 3",), correct)), fixed({}))
    assert (rounds, requests) == (0, [])
    assert labels.values == [value] and labels.hard == [correct] and labels.first_error == (-1 if correct else 0)


def test_waves_stop_at_the_first_correct_completion_and_continue_the_numbering():
    # k = 8 in waves of 2. Correct samples: prefix 1 -> {1}, prefix 2 -> {5}, prefix 3 -> none.
    #   round 1: all three at offset 0 (samples 0, 1): prefix 1 sees sample 1 correct -> done at 1/2
    #   round 2: prefixes 2, 3 at offset 2 (samples 2, 3): nothing
    #   round 3: prefixes 2, 3 at offset 4: prefix 2 sees sample 5 -> done at 1/6
    #   round 4: prefix 3 at offset 6: nothing -> 8 seen, 0/8
    # 16 rollouts instead of 24; hard labels as with k = 8 at once, soft values are lower bounds.
    outcome = by_index({P[1]: {1}, P[2]: {5}, P[3]: set()})
    labels, rounds, requests = drive(MathShepherdMC(MCParams(k=8, waves=2)).label(view()), outcome)
    assert labels.values == [0.5, pytest.approx(1 / 6), 0.0, 0.0]
    assert labels.hard == [True, True, False, False] and labels.first_error == 2
    assert rounds == 4
    assert [(P.index(r.prefix), r.offset, r.k) for r in requests] == [
        (1, 0, 2), (2, 0, 2), (3, 0, 2),
        (2, 2, 2), (3, 2, 2),
        (2, 4, 2), (3, 4, 2),
        (3, 6, 2),
    ]  # fmt: skip
    assert sum(r.k for r in requests) == 16


def test_last_wave_is_cut_to_k():
    # k = 5, waves of 2: offsets 0, 2, then a wave of 1 at offset 4
    labels, rounds, requests = drive(MathShepherdMC(MCParams(k=5, waves=2)).label(view()), fixed({}, default=0.0))
    assert rounds == 3 and labels.values == [0.0, 0.0, 0.0, 0.0]
    assert [(r.offset, r.k) for r in requests if r.prefix == P[1]] == [(0, 2), (2, 2), (4, 1)]


def test_registry():
    assert load_labeler("mc", {"k": 4}).params() == {"k": 4, "waves": 0, "skip_correct": False}


def test_end_to_end_hard_first_error_is_the_gold_first_error():
    # recovery 0: MC = 0 exactly from the gold error on; before it, k = 8 almost surely sees a success
    cases, stats = run_synthetic(MathShepherdMC())
    assert stats.rounds == 1
    assert all(c.labels.first_error == c.gold_first_error for c in cases)
    assert all(c.cost.rollouts == 8 * (len(c.steps) - 1) for c in cases)
