"""The `sympy` labeler: verdicts -> labels, no rollouts, and every synthetic slip found."""

from __future__ import annotations

import random

import pytest

from prmlabel.engine.types import ResponseView
from prmlabel.labelers import available_labelers, load_labeler
from prmlabel.labelers.sympy_verifier import SympyParams, SympyVerifier
from prmlabel.steps import split_steps
from prmlabel.synthetic.policy import SyntheticPolicy, gold_first_error, parse_step
from prmlabel.synthetic.problems import make_problems
from tests.labelers.driver import drive

STEPS = ("We start: 48/2 = 24.\n\n", "She has 5 apples.\n\n", "Then 3*7 = 24.\n\n", "So 24 + 1 = 25.")


def _view(steps: tuple[str, ...], correct: bool = False) -> ResponseView:
    return ResponseView("p1", "r1", steps, correct)


def _no_rollouts(prefix: str, k: int, offset: int):
    raise AssertionError("the sympy labeler must not ask for rollouts")


def test_registered_without_rollouts():
    assert "sympy" in available_labelers()
    labeler = load_labeler("sympy")
    assert isinstance(labeler, SympyVerifier)
    assert labeler.uses_rollouts is False
    assert labeler.params() == {"timeout": 5.0, "unverifiable_as": "unknown"}
    assert "2510.14942" in labeler.paper


def test_values_hard_first_error_and_extra():
    labels, rounds, requests = drive(SympyVerifier().label(_view(STEPS)), _no_rollouts)
    assert (rounds, requests) == (0, [])
    assert labels.values == [1.0, None, 0.0, 1.0]
    assert labels.hard == [True, None, False, True]
    assert labels.first_error == 2
    assert labels.extra["verdicts"] == ["correct", "unverifiable", "wrong", "correct"]
    assert labels.extra["reasons"][1] == "nothing checkable"
    assert labels.extra["reasons"][2] == "claims 3*7 = 24, but 3*7 = 21"
    assert all(labels.extra["rationales"])


def test_unverifiable_as_correct():
    labeler = load_labeler("sympy", {"unverifiable_as": "correct"})
    labels, _, _ = drive(labeler.label(_view(STEPS)), _no_rollouts)
    assert labels.values == [1.0, 1.0, 0.0, 1.0]
    assert labels.hard == [True, True, False, True]
    assert labels.first_error == 2


def test_the_outcome_is_not_used():
    """A correct response and an incorrect one with the same steps get the same labels."""
    steps = ("2 + 2 = 4.\n\n", "The answer is 4.")
    a, _, _ = drive(SympyVerifier().label(_view(steps, True)), _no_rollouts)
    b, _, _ = drive(SympyVerifier().label(_view(steps, False)), _no_rollouts)
    assert (a.values, a.hard, a.first_error) == (b.values, b.hard, b.first_error) == ([1.0, None], [True, None], -1)


@pytest.mark.parametrize("options", [{"unverifiable_as": "wrong"}, {"timeout": 0}, {"k": 8}])
def test_bad_parameters_are_refused(options):
    with pytest.raises(ValueError):
        load_labeler("sympy", options)


def test_every_synthetic_slip_is_found():
    """A slip's own arithmetic is wrong as written, and so is a recovery's (it writes the true running value
    after a wrong carried one); a step that carries a wrong value consistently is right as written. So the
    first wrong-arithmetic step is the gold first error whenever that error is an arithmetic slip."""
    policy = SyntheticPolicy(slip_rate=0.2, recovery_rate=0.3)
    rng = random.Random(11)
    labeler = SympyVerifier(SympyParams())
    slips = 0
    for row in make_problems(150, (4, 12), seed=5):
        for _ in range(2):
            steps = split_steps(policy.continue_text(row, "", rng))
            gold = gold_first_error(row, steps)
            labels, _, _ = drive(labeler.label(_view(tuple(steps))), _no_rollouts)
            parsed = parse_step(steps[gold]) if gold >= 0 else None
            if parsed is not None and parsed.has_equation:
                a, op, b = parsed.left, parsed.op, parsed.operand
                assert a is not None and b is not None
                computed = a + b if op == "+" else a - b if op == "-" else a * b
                if computed != parsed.result:  # the first error is an arithmetic slip
                    slips += 1
                    assert labels.first_error == gold, (steps, labels.extra["reasons"])
            if gold == -1:
                assert labels.first_error == -1, (steps, labels.extra["reasons"])
            assert all(v in ("correct", "wrong") for v in labels.extra["verdicts"]), labels.extra["reasons"]
    assert slips > 100
