"""SCAN: sequential scan to the first zero, tolerance-softened labels, cost k * (t_e + 1)."""

from __future__ import annotations

import pytest

from prmlabel.engine.types import ResponseView
from prmlabel.labelers import load_labeler
from prmlabel.labelers.scan import SCAN, SCANParams
from tests.labelers.driver import drive, fixed, run_synthetic

STEPS = ("a\n\n", "b\n\n", "c\n\n", "d\n\n", "e")
P = ["".join(STEPS[:t]) for t in range(len(STEPS) + 1)]  # P[t] = prefix through step t - 1


def view(steps=STEPS, correct=False, sc: float | None = 0.8) -> ResponseView:
    return ResponseView("q1", "r1", tuple(steps), correct, sc)


def test_correct_response_is_all_positive_without_rollouts():
    labels, rounds, requests = drive(SCAN().label(view(correct=True)), fixed({}))
    assert (rounds, requests) == (0, [])
    assert labels.values == [1.0] * 5 and labels.hard == [True] * 5 and labels.first_error == -1
    assert labels.extra["soft"] == [1.0] * 5 and labels.extra["self_confidence"] == 0.8


def test_incorrect_one_step_response_is_zero_without_rollouts():
    labels, rounds, requests = drive(SCAN().label(view(steps=("x = 3",))), fixed({}))
    assert (rounds, requests) == (0, [])
    assert labels.values == [0.0] and labels.hard == [False] and labels.first_error == 0
    assert labels.extra["soft"] == [0.0] and "no_zero_step" not in labels.extra


def test_scan_stops_at_first_zero_with_tolerance_two():
    # k = 8: c = 8/8, 6/8, 4/8, 0/8 -> t_e = 3 (step e never scanned). SC = 0.8, d = 2:
    #   step 0: t_e - 0 = 3 > d -> 1
    #   step 1: min(1, 0.75 / 0.8) = 0.9375
    #   step 2: min(1, 0.50 / 0.8) = 0.625
    #   step 3: 0 ; step 4: truncated (None)
    outcome = fixed({P[1]: 1.0, P[2]: 0.75, P[3]: 0.5, P[4]: 0.0})
    labels, rounds, requests = drive(SCAN().label(view()), outcome)
    assert labels.values == [1.0, 0.75, 0.5, 0.0, None]
    assert labels.hard == [True, True, True, False, None]
    assert labels.first_error == 3
    assert labels.extra["soft"] == [1.0, 0.9375, 0.625, 0.0, None]
    assert labels.extra["error_step"] == 3 and "no_zero_step" not in labels.extra
    # one prefix per round, in order: t_e + 1 = 4 rounds, k * (t_e + 1) = 32 rollouts
    assert rounds == 4
    assert [r.prefix for r in requests] == P[1:5]
    assert sum(r.k for r in requests) == 32 and all(r.offset == 0 for r in requests)


def test_zero_at_first_step_costs_one_round():
    labels, rounds, requests = drive(SCAN().label(view()), fixed({P[1]: 0.0}))
    assert labels.values == [0.0, None, None, None, None]
    assert labels.hard == [False, None, None, None, None]
    assert labels.first_error == 0 and labels.extra["soft"] == [0.0, None, None, None, None]
    assert rounds == 1 and sum(r.k for r in requests) == 8


def test_the_scan_goes_through_the_last_step():
    # SCAN rolls out the whole response too (main_datasyn.py:96): c = 4/8, 2/8, 0/8 -> t_e = 2.
    # SC = 0.5: step 0 min(1, 0.5 / 0.5) = 1.0, step 1 0.25 / 0.5 = 0.5.
    steps = ("a\n\n", "b\n\n", "c")
    scan_all = SCAN(SCANParams(scan_unconfident=True))
    outcome = fixed({"a\n\n": 0.5, "a\n\nb\n\n": 0.25, "a\n\nb\n\nc": 0.0})
    labels, rounds, requests = drive(scan_all.label(view(steps, sc=0.5)), outcome)
    assert labels.values == [0.5, 0.25, 0.0]
    assert labels.hard == [True, True, False] and labels.first_error == 2
    assert labels.extra["soft"] == [1.0, 0.5, 0.0] and "no_zero_step" not in labels.extra
    assert rounds == 3 and [r.prefix for r in requests][-1] == "a\n\nb\n\nc"


def test_no_zero_step_puts_the_error_on_the_last_step_and_says_so():
    # Even the whole response's continuations succeed once (1/8): SCAN's pred_label is the last step
    # (main_datasyn.py:96-97) and its label script drops the response (process.py:56-57).
    steps = ("a\n\n", "b\n\n", "c")
    outcome = fixed({"a\n\n": 0.5, "a\n\nb\n\n": 0.25, "a\n\nb\n\nc": 0.125})
    labels, rounds, _ = drive(SCAN().label(view(steps)), outcome)
    assert labels.values == [0.5, 0.25, 0.125] and labels.hard == [True, True, False]
    assert labels.first_error == 2 and labels.extra["no_zero_step"] is True and rounds == 3


def test_undecided_outcome_and_undecided_estimate_stay_null():
    # The checker could not decide the response: SCAN cannot choose whether to scan; no rollouts.
    unknown = ResponseView("q1", "r1", STEPS, None, 0.8)
    labels, rounds, _ = drive(SCAN().label(unknown), fixed({}))
    assert rounds == 0 and labels.hard == [None] * 5 and labels.first_error is None
    assert labels.extra["skipped"] == "outcome_undecided" and labels.extra["undecided_steps"] == 5

    # Step 1's 8 continuations all failed in the backend: whether step 1 is the error is unknown.
    def outcome(prefix, k, offset):
        return {P[1]: [1, 0] * 4, P[2]: [None] * 8}[prefix]

    labels, rounds, _ = drive(SCAN().label(view()), outcome)
    assert labels.values == [0.5, None, None, None, None]
    assert labels.hard == [True, None, None, None, None] and labels.first_error is None
    assert labels.extra["undecided_rollouts"] == 8 and labels.extra["undecided_steps"] == 1 and rounds == 2


def test_tolerance_one_softens_only_the_step_before_the_error():
    # c = 2/8, 4/8, 0/8 -> t_e = 2; d = 1: step 1 = 0.5 / 0.9 = 0.5555..., step 0 = 1 (c_0 > 0).
    labeler = SCAN(SCANParams(tolerance=1))
    labels, _, _ = drive(labeler.label(view(sc=0.9)), fixed({P[1]: 0.25, P[2]: 0.5, P[3]: 0.0}))
    assert labels.extra["soft"][:3] == pytest.approx([1.0, 0.5 / 0.9, 0.0])


def test_tolerance_zero_gives_hard_labels():
    labels, _, _ = drive(SCAN(SCANParams(tolerance=0)).label(view()), fixed({P[1]: 0.25, P[2]: 0.0}))
    assert labels.extra["soft"] == [1.0, 0.0, None, None, None]


@pytest.mark.parametrize(
    ("sc", "expected"),
    [
        (0.5, 1.0),  # c / SC = 1.5 is capped at 1
        (0.0, 1.0),  # SC = 0: c > 0 before the error, the ratio is unbounded -> 1
        (None, 0.75),  # SC unknown: c unscaled
    ],
)
def test_self_confidence_edge_cases(sc, expected):
    labels, _, _ = drive(SCAN(SCANParams(scan_unconfident=True)).label(view(sc=sc)), fixed({P[1]: 0.75, P[2]: 0.0}))
    assert labels.extra["soft"][0] == expected
    assert labels.extra["self_confidence"] == sc


def test_k_and_registry():
    labeler = load_labeler("scan", {"k": 4, "min_confidence": 0.5})
    assert labeler.params() == {"k": 4, "tolerance": 2, "min_confidence": 0.5, "scan_unconfident": False}
    labels, rounds, requests = drive(labeler.label(view()), fixed({P[1]: 0.5, P[2]: 0.0}))
    assert [r.k for r in requests] == [4, 4] and labels.extra["min_confidence"] == 0.5
    with pytest.raises(ValueError, match="no parameter"):
        load_labeler("scan", {"n": 3})


def test_end_to_end_error_step_is_the_gold_first_error():
    # recovery 0: a wrong prefix never finishes correctly, so c_t = 0 exactly from the gold error on.
    cases, stats = run_synthetic(SCAN(SCANParams(scan_unconfident=True)))  # every incorrect response scanned
    incorrect = [c for c in cases if not c.is_correct]
    assert len(incorrect) >= 10
    # both kinds occur: a zero before the last step, and a slip on the last step (found by its rollouts)
    assert {c.labels.first_error == len(c.labels.values) - 1 for c in incorrect} == {True, False}
    for case in cases:
        if case.is_correct:
            assert case.labels.first_error == -1 and case.cost.rollouts == 0 and case.gold_first_error == -1
            continue
        t_e = case.labels.first_error
        assert t_e == case.gold_first_error
        assert not case.labels.extra.get("no_zero_step")  # the whole response's continuations fail too
        assert case.cost.rounds == t_e + 1
        assert case.cost.rollouts == 8 * (t_e + 1)
    # the scan is sequential: rounds = the longest scan, not the sum
    assert stats.rounds == max(c.cost.rounds for c in cases)


def test_unconfident_questions_are_not_scanned_unless_asked():
    # SC 0.5 < 0.75: no rollouts, labels unknown (never negative), first error unknown.
    labels, rounds, requests = drive(SCAN().label(view(sc=0.5)), fixed({P[1]: 0.5, P[2]: 0.0}))
    assert requests == [] and labels.first_error is None
    assert labels.hard == [None] * len(labels.hard) and labels.extra["skipped"] == "low_confidence"
    scanned, _, requests = drive(
        load_labeler("scan", {"scan_unconfident": True}).label(view(sc=0.5)), fixed({P[1]: 0.5, P[2]: 0.0})
    )
    assert len(requests) == 2 and scanned.first_error == 1
