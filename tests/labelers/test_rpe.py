"""GenPRM relative progress: P_t = MC_t / MC_{t-1}, zero after a zero MC, label P_t >= eps."""

from __future__ import annotations

import pytest

from prmlabel.engine.types import ResponseView
from prmlabel.labelers import load_labeler
from prmlabel.labelers.rpe import RelativeProgress, RPEParams, adaptive_k, relative_progress
from tests.labelers.driver import drive, fixed, run_synthetic

STEPS = ("a\n\n", "b\n\n", "c\n\n", "d")
P = ["".join(STEPS[:t]) for t in range(len(STEPS) + 1)]  # P[0] = "" (the question alone)


def view(steps=STEPS, correct=False, pass_rate: float | None = 0.5) -> ResponseView:
    return ResponseView("q1", "r1", tuple(steps), correct, pass_rate)


def test_ratios_and_labels_in_one_round():
    # k = 8: MC(s_1) = 4/8, MC_0 = 4/8, MC_1 = 6/8, MC_2 = 2/8, last = outcome 0 (incorrect)
    #   P_0 = 0.5 / 0.5 = 1.0, P_1 = 0.75 / 0.5 = 1.5, P_2 = 0.25 / 0.75 = 1/3, P_3 = 0 / 0.25 = 0
    outcome = fixed({P[0]: 0.5, P[1]: 0.5, P[2]: 0.75, P[3]: 0.25})
    labels, rounds, requests = drive(RelativeProgress().label(view()), outcome)
    assert labels.values == pytest.approx([1.0, 1.5, 1 / 3, 0.0])
    assert labels.hard == [True, True, False, False]
    assert labels.first_error == 2
    assert labels.extra["mc"] == [0.5, 0.75, 0.25, 0.0] and labels.extra["mc_start"] == 0.5
    assert rounds == 1 and [r.prefix for r in requests] == P[:4] and {r.k for r in requests} == {8}


def test_correct_last_step_is_one_over_the_previous_mc():
    # same MC chain, correct response: P_3 = 1 / 0.25 = 4 (progress above 1 is kept unclipped)
    outcome = fixed({P[0]: 0.5, P[1]: 0.5, P[2]: 0.75, P[3]: 0.25})
    labels, _, _ = drive(RelativeProgress().label(view(correct=True)), outcome)
    assert labels.values[3] == 4.0 and labels.hard[3] is True


def test_after_a_zero_mc_all_later_steps_are_zero():
    # MC(s_1) = 0.5, MC_0 = 0 -> P_0 = 0; MC_1 = 2/8 (a lucky recovery) -> still 0 (and 0.25 / 0 is not
    # computed); even the correct outcome's P_3 = 1 / MC_2 stays 0.
    outcome = fixed({P[0]: 0.5, P[1]: 0.0, P[2]: 0.25, P[3]: 0.5})
    labels, _, _ = drive(RelativeProgress().label(view(correct=True)), outcome)
    assert labels.values == [0.0, 0.0, 0.0, 0.0]
    assert labels.hard == [False] * 4 and labels.first_error == 0


@pytest.mark.parametrize("correct", [True, False])
def test_question_the_completer_never_solves_is_skipped_not_labeled_wrong(correct):
    # MC(s_1) = 0: no ratio has a denominator. GenPRM skips such a question (math_shepherd_ray.py:331,
    # :346-347); labeling every step 0 would call a correct response wrong from its first step.
    outcome = fixed({P[0]: 0.0, P[1]: 0.5, P[2]: 0.5, P[3]: 0.5})
    labels, _, _ = drive(RelativeProgress().label(view(correct=correct)), outcome)
    assert labels.values == [None] * 4 and labels.hard == [None] * 4 and labels.first_error is None
    assert labels.extra["skipped"] == "zero_start" and labels.extra["undecided_steps"] == 4


def test_undecided_estimates_leave_both_ratios_unknown_but_a_zero_decides():
    # MC_1 has no decided continuation: P_1 = MC_1 / MC_0 and P_2 = MC_2 / MC_1 are unknown; a correct
    # response's last step is the outcome 1. Worked: chain [0.5, 0.5, ?, 0.5, 1] -> [1, ?, ?, 2].
    def outcome(prefix, k, offset):
        return [None] * k if prefix == P[2] else [1, 0] * (k // 2)

    labels, _, _ = drive(RelativeProgress().label(view(correct=True)), outcome)
    assert labels.values == [1.0, None, None, 2.0] and labels.hard == [True, None, None, True]
    assert labels.first_error is None and labels.extra["undecided_rollouts"] == 8
    assert labels.extra["undecided_steps"] == 2
    # A zero after an unknown: 0 / MC is 0 whatever MC was (and were it 0, the zero rule gives 0).
    assert relative_progress([0.5, None, 0.0, 0.5]) == [None, 0.0, 0.0]


def test_eps_boundary_is_inclusive():
    # MC(s_1) = 5/8, MC_0 = 4/8: P_0 = 0.5 / 0.625 = 0.8 exactly -> label 1 at eps = 0.8
    outcome = fixed({P[0]: 0.625, P[1]: 0.5, P[2]: 0.5, P[3]: 0.5})
    labels, _, _ = drive(RelativeProgress().label(view(correct=True)), outcome)
    assert labels.values[0] == 0.8 and labels.hard == [True, True, True, True] and labels.first_error == -1
    stricter, _, _ = drive(RelativeProgress(RPEParams(eps=0.81)).label(view(correct=True)), outcome)
    assert stricter.hard[0] is False and stricter.first_error == 0


@pytest.mark.parametrize(("correct", "expected"), [(True, 4.0), (False, 0.0)])
def test_one_step_response_still_needs_the_question_estimate(correct, expected):
    # MC(s_1) = 2/8; the only step is the outcome: P_0 = 1 / 0.25 = 4 or 0 / 0.25 = 0
    labels, rounds, requests = drive(RelativeProgress().label(view(("x",), correct)), fixed({"": 0.25}))
    assert [r.prefix for r in requests] == [""] and rounds == 1
    assert labels.values == [expected] and labels.hard == [correct]


@pytest.mark.parametrize(("mc_start", "k"), [(0.05, 128), (0.1, 64), (0.5, 64), (0.85, 64), (0.9, 32), (1.0, 32)])
def test_adaptive_k_from_the_estimated_pass_at_1(mc_start, k):
    # Eq. (9): K from MC(s_1), estimated first from start_k completions of the question alone.
    labeler = RelativeProgress(RPEParams(adaptive_k=True, start_k=20))
    labels, rounds, requests = drive(labeler.label(view()), fixed({P[0]: mc_start}, default=0.5))
    assert rounds == 2 and requests[0].prefix == "" and requests[0].k == 20
    assert {r.k for r in requests[1:]} == {k} and labels.extra["k"] == k == adaptive_k(mc_start)


def test_adaptive_k_spends_nothing_more_where_the_question_is_never_solved():
    labeler = RelativeProgress(RPEParams(adaptive_k=True))
    labels, rounds, requests = drive(labeler.label(view()), fixed({P[0]: 0.0}))
    assert rounds == 1 and [r.k for r in requests] == [32] and labels.extra["skipped"] == "zero_start"


def test_relative_progress_chain():
    assert relative_progress([1.0, 0.5, 0.5, 1.0]) == [0.5, 1.0, 2.0]
    assert relative_progress([0.5, 0.0, 0.5]) == [0.0, 0.0]
    assert relative_progress([0.5]) == []


def test_registry():
    labeler = load_labeler("rpe", {"eps": 0.5})
    assert labeler.params() == {"k": 8, "eps": 0.5, "adaptive_k": False, "start_k": 32}


def test_end_to_end_zero_from_the_gold_first_error_on():
    # k = 32 so that the ratio's sampling noise rarely crosses eps before the error (at k = 8 it often does)
    cases, stats = run_synthetic(RelativeProgress(RPEParams(k=32)))
    assert stats.rounds == 1  # every prefix of every response in one backend round
    incorrect = [c for c in cases if not c.is_correct]
    assert len(incorrect) >= 10
    for case in incorrect:
        gold = case.gold_first_error
        # recovery 0: MC is exactly 0 from the gold error on, so P is 0 there and after
        assert case.labels.values[gold:] == [0.0] * (len(case.steps) - gold)
        assert case.labels.first_error <= gold
    for case in cases:
        if case.is_correct:
            assert case.labels.hard[-1] is True  # P_last = 1 / MC_{M-2} >= 1
    agree = sum(c.labels.first_error == c.gold_first_error for c in cases)
    assert agree >= 0.9 * len(cases)
