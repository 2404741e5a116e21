"""The `grounded` labeler: GroundedPRM's path aggregation, the two rules, and synthetic slips found end to end."""

from __future__ import annotations

import pytest

from prmlabel.backends.synthetic import SyntheticBackend
from prmlabel.engine.types import ResponseView
from prmlabel.labelers import available_labelers, load_labeler
from prmlabel.labelers.grounded import GroundedParams, GroundedPRM, back_up, path_value
from prmlabel.synthetic.policy import SyntheticPolicy
from tests.labelers import driver
from tests.labelers.driver import drive

# steps the tool can check: 2 + 3 = 5 holds, 5 * 4 = 21 does not, 21 - 1 = 20 holds
RIGHT, WRONG_STEP, LAST = "2 + 3 = 5\n\n", "5 * 4 = 21\n\n", "21 - 1 = 20, the answer is 20."
GOOD_CONT = ("4 * 2 = 8\n\n", True, 5)  # one simulated step, verified correct; reaches the answer
BAD_CONT = ("4 * 2 = 9\n\n", False, 5)  # one simulated step, verified wrong; wrong answer


def _view(steps: tuple[str, ...], correct: bool) -> ResponseView:
    return ResponseView("p1", "r1", steps, correct)


def test_registered_with_defaults():
    assert "grounded" in available_labelers()
    labeler = load_labeler("grounded")
    assert isinstance(labeler, GroundedPRM)
    assert labeler.params() == {"k": 4, "rule": "grounded", "gamma": 0.9, "timeout": 5.0}
    with pytest.raises(ValueError, match="rule"):
        GroundedPRM(GroundedParams(rule="nope"))


def test_path_value_by_hand():
    # path [v_t, w_1, w_2, w_3, w_4] = [+1 | +1, -1, +1, +1], F = -1.
    # drop v_t, replace w_4 by F and pop it: u = [+1, -1, +1], N = 3, 0-based j, weights (N - j)/N = 3/3, 2/3, 1/3
    # V = (1/3) * (1*3/3 - 1*2/3 + 1*1/3) = (1/3) * (2/3) = 2/9 ; final_V = 2/9 + (-1)/3 = -1/9
    assert path_value([1, 1, -1, 1, 1], -1) == pytest.approx(-1 / 9)
    # u = [+1, +1], N = 2: V = (1/2)(1*2/2 + 1*1/2) = 3/4 ; final_V = 3/4 + 1/2 = 5/4
    assert path_value([-1, 1, 1, 0], 1) == pytest.approx(5 / 4)
    # the valued step's own verdict is dropped: same path with v_t = -1 gives the same value
    assert path_value([-1, 1, -1, 1, 1], -1) == pytest.approx(-1 / 9)
    # N = 0 (one simulated step, or none): final_V = F
    assert path_value([1, 1], -1) == -1.0
    assert path_value([1], 1) == 1.0


def test_fused_values_from_continuations():
    # step 0 continuations: GOOD_CONT has one simulated step -> N = 0 -> final_V = +1; BAD_CONT -> -1
    # own_0 = mean(+1, +1, +1, -1) = 0.5 ; MC fraction 3/4; the last step's own value is the outcome +1;
    # backed up with gamma 0.9: fused_0 = 0.5 + 0.9 * 1 = 1.4, fused_1 = 1.0
    conts = {RIGHT: [GOOD_CONT, GOOD_CONT, GOOD_CONT, BAD_CONT]}
    labels, rounds, requests = drive(
        GroundedPRM().label(_view((RIGHT, LAST), True)), lambda prefix, k, offset: conts[prefix][:k]
    )
    assert rounds == 1 and [r.prefix for r in requests] == [RIGHT]
    assert labels.extra["own"] == [0.5, 1.0]
    assert labels.values == pytest.approx([1.4, 1.0])
    assert labels.hard == [True, True] and labels.first_error == -1
    assert labels.extra["mc"] == [0.75, 1.0]
    assert labels.extra["tool"] == ["correct", "correct"]
    assert labels.extra["decided_by"] == ["mc", "outcome"]


def test_grounded_rule_tool_wrong_is_negative_and_truncates():
    steps = (RIGHT, WRONG_STEP, LAST)
    labels, _, _ = drive(GroundedPRM().label(_view(steps, True)), lambda prefix, k, offset: [GOOD_CONT] * k)
    # every continuation succeeds: own = [1, 1, 1], backed up: [1 + .9 + .81, 1 + .9, 1]
    assert labels.values == pytest.approx([2.71, 1.9, 1.0])
    assert labels.hard == [True, False, None]  # ... but the tool says step 1 is wrong; unknown after it
    assert labels.first_error == 1
    assert labels.extra["decided_by"] == ["mc", "tool", None]
    assert labels.extra["tool"] == ["correct", "wrong", "correct"]
    assert "21" in labels.extra["rationales"][1]


def test_back_up_adds_decayed_descendants_like_backpropagate():
    # mcts.py backpropagate: every ancestor at distance d gets 0.9**d * final_V. Along the response's
    # chain: fused_t = own_t + sum_d gamma^d own_{t+d}; an undecided own value adds nothing.
    assert back_up([0.5, -0.5, -1.0], 0.9) == pytest.approx([0.5 - 0.45 - 0.81, -0.5 - 0.9, -1.0])
    fused = back_up([0.5, None, -1.0], 0.9)
    assert fused[1] is None and fused[0] == pytest.approx(0.5 - 0.81) and fused[2] == -1.0
    assert back_up([0.5, -0.5, None], 0.0) == [0.5, -0.5, None]  # gamma 0: each step on its own
    with pytest.raises(ValueError, match="gamma"):
        GroundedPRM(GroundedParams(gamma=1.5))


def test_gamma_changes_the_labels():
    # step 0's own continuations mostly succeed (own_0 = 0.5), the last step is wrong (F = -1):
    # gamma 0 -> step 0 positive, error at the last step; gamma 0.9 -> 0.5 - 0.9 < 0, error at step 0
    steps = (RIGHT, "The answer is 7.")
    conts = [GOOD_CONT, GOOD_CONT, GOOD_CONT, BAD_CONT]
    alone, _, _ = drive(GroundedPRM(GroundedParams(gamma=0.0)).label(_view(steps, False)), lambda p, k, o: conts)
    assert alone.values == [0.5, -1.0] and alone.first_error == 1
    backed, _, _ = drive(GroundedPRM().label(_view(steps, False)), lambda p, k, o: conts)
    assert backed.values == pytest.approx([-0.4, -1.0]) and backed.first_error == 0


def test_a_fused_value_of_zero_is_undecided_not_an_error():
    # own_0 = mean(+1, -1) = 0 and gamma 0: GroundedPRM drops a sample holding a 0 score
    # (data_process/construct.py:69); here the step is None and counted, never a negative.
    steps = (RIGHT, LAST)
    labeler = GroundedPRM(GroundedParams(k=2, gamma=0.0))
    labels, _, _ = drive(labeler.label(_view(steps, True)), lambda p, k, o: [GOOD_CONT, BAD_CONT])
    assert labels.values == [0.0, 1.0]
    assert labels.hard == [None, True] and labels.first_error is None
    assert labels.extra["decided_by"] == [None, "outcome"]
    assert labels.extra["zero_value_steps"] == 1 and labels.extra["undecided_steps"] == 1
    # a decided wrong step after it is still the first error
    labels, _, _ = drive(labeler.label(_view(steps, False)), lambda p, k, o: [GOOD_CONT, BAD_CONT])
    assert labels.hard == [None, False] and labels.first_error == 1


def test_undecided_continuations_and_outcome_are_left_out():
    steps = (RIGHT, "Then we think.\n\n", LAST)
    undecided = ("4 * 2 = 8\n\n", None, 5)
    table = {RIGHT: [GOOD_CONT, undecided], RIGHT + steps[1]: [undecided, undecided]}
    labeler = GroundedPRM(GroundedParams(k=2, gamma=0.0))
    labels, _, _ = drive(labeler.label(_view(steps, None)), lambda p, k, o: table[p])
    # step 0: one decided continuation (+1); step 1: none -> None; last: the outcome is undecided -> None
    assert labels.extra["own"] == [1.0, None, None] and labels.extra["mc"] == [1.0, None, None]
    assert labels.hard == [True, None, None] and labels.first_error is None
    assert labels.extra["undecided_rollouts"] == 3 and labels.extra["undecided_steps"] == 2
    fw = GroundedPRM(GroundedParams(k=2, gamma=0.0, rule="first_wrong"))
    labels, _, _ = drive(fw.label(_view(steps, None)), lambda p, k, o: table[p])
    assert labels.hard == [True, None, None] and labels.first_error is None


def test_first_wrong_tool_beats_positive_mc():
    steps = (RIGHT, WRONG_STEP, LAST)
    labeler = GroundedPRM(GroundedParams(rule="first_wrong"))
    labels, _, _ = drive(labeler.label(_view(steps, True)), lambda prefix, k, offset: [GOOD_CONT] * k)
    assert labels.extra["mc"] == [1.0, 1.0, 1.0]  # MC says every step is fine
    assert labels.first_error == 1  # the tool wins
    assert labels.hard == [True, False, None]
    assert labels.extra["decided_by"] == ["tool", "tool", None]


def test_first_wrong_falls_back_to_mc_zero_then_outcome():
    steps = (RIGHT, "Then we think.\n\n", "More thinking.\n\n", "The answer is 7.")  # no tool-wrong step
    mc = {"".join(steps[:1]): GOOD_CONT, "".join(steps[:2]): BAD_CONT, "".join(steps[:3]): BAD_CONT}
    labeler = GroundedPRM(GroundedParams(rule="first_wrong", k=2))
    labels, _, _ = drive(labeler.label(_view(steps, False)), lambda prefix, k, offset: [mc[prefix]] * k)
    assert labels.extra["tool"] == ["correct", "unverifiable", "unverifiable", "unverifiable"]
    assert labels.extra["mc"] == [1.0, 0.0, 0.0, 0.0]
    assert labels.first_error == 1
    assert labels.hard == [True, False, None, None]
    assert labels.extra["decided_by"] == ["mc", "mc", None, None]
    # every continuation correct: no MC zero, so the wrong outcome puts the error on the last step
    labels, _, _ = drive(labeler.label(_view(steps, False)), lambda prefix, k, offset: [GOOD_CONT] * k)
    assert labels.first_error == 3
    assert labels.hard == [True, True, True, False]
    assert labels.extra["decided_by"] == ["mc", "mc", "mc", "outcome"]


def test_single_step_response_needs_no_rollouts():
    labels, rounds, _ = drive(GroundedPRM().label(_view((LAST,), False)), lambda p, k, o: [True] * k)
    assert rounds == 0
    assert labels.values == [-1.0] and labels.hard == [False] and labels.first_error == 0
    assert labels.extra["decided_by"] == ["outcome"]


def test_synthetic_first_wrong_finds_every_slip(monkeypatch):
    """Real Scheduler + SyntheticBackend, slip 0.2 and recovery 0.3 (run_synthetic fixes recovery at 0,
    so both the response policy and the backend are swapped for ones with recovery 0.3)."""
    monkeypatch.setattr(driver, "SyntheticPolicy", lambda slip_rate, recovery_rate: SyntheticPolicy(slip_rate, 0.3))
    monkeypatch.setattr(
        driver,
        "SyntheticBackend",
        lambda slip_rate, recovery_rate: SyntheticBackend(slip_rate=slip_rate, recovery_rate=0.3),
    )
    labeler = GroundedPRM(GroundedParams(rule="first_wrong", k=2))
    cases, stats = driver.run_synthetic(labeler, problems=6, responses=4, slip_rate=0.2, seed=1)
    incorrect = [c for c in cases if not c.is_correct]
    assert len(cases) == 24 and incorrect
    for case in incorrect:
        assert case.labels.first_error == case.gold_first_error, (case.steps, case.labels)
        assert case.labels.extra["decided_by"][case.gold_first_error] == "tool"
    assert stats.rounds == 1 and stats.rollouts_used > 0
